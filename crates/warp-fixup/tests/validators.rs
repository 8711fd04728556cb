//! The meta-data against the validators admins' tools use (xmllint with ocf-tester's DTD and
//! pcs's RNG), the checked-in copy in `ocf/warp-fixup.xml`, and ocf-tester on a captured store.

mod support;

use std::fs;

use support::*;
use testkit::metadata::{
    assert_checked_in, assert_metadata_valid, assert_validators_reject_broken, metadata_of, ocf_tester, ocf_tester_present, reachable_copy,
};

#[test]
fn metadata_validates_against_the_dtd_and_the_pcs_schema() {
    assert_metadata_valid(BIN);
    // Negative control: the validators bite.
    assert_validators_reject_broken(BIN);
}

#[test]
fn checked_in_metadata_matches_the_binary() {
    assert_checked_in("ocf/warp-fixup.xml", &metadata_of(BIN));
}

#[test]
fn ocf_tester_passes() {
    if !ocf_tester_present() || !root() {
        return;
    }
    let node = Node::captured("ocft");
    node.overwrite_with_other_node();
    let agent = reachable_copy(&node.sandbox, BIN, "warp-fixup");
    let options =
        [format!("data_dir={}", node.data_str()), format!("store={}", node.store_str()), format!("identity_paths={IDENTITY_PATHS}")];
    ocf_tester(&agent, "fixup", &options, &[("MWHA_RUN_DIR", &node.sandbox.path().join("run"))]).assert_passed_all_tests();
    assert_eq!(fs::read_to_string(node.xconf()).unwrap(), OWN_XCONF, "the starts put the identity back");
}
