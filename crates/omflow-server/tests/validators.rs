//! The meta-data against the validators admins' tools use (xmllint with ocf-tester's DTD and
//! pcs's RNG), the checked-in copy under ocf/, and ocf-tester itself (a plain clone: no
//! promote/demote).

use testkit::metadata::{
    assert_checked_in, assert_metadata_valid, assert_validators_reject_broken, metadata_of, ocf_tester, ocf_tester_present, reachable_copy,
};
use testkit::omflow::Omflow;

const AGENT: &str = env!("CARGO_BIN_EXE_omflow-server");

#[test]
fn metadata_validates_against_the_dtd_and_the_pcs_schema() {
    assert_metadata_valid(AGENT);
    // Negative control: the validators bite.
    assert_validators_reject_broken(AGENT);
}

#[test]
fn checked_in_metadata_matches_the_binary() {
    assert_checked_in("ocf/omflow-server.xml", &metadata_of(AGENT));
}

#[test]
fn ocf_tester_passes() {
    if !ocf_tester_present() {
        return;
    }
    let o = Omflow::create("ocft", &[]);
    let options: Vec<String> = o.server_params().iter().map(|(k, v)| format!("{k}={v}")).collect();
    let run_dir = o.sandbox.path().join("run");
    ocf_tester(&reachable_copy(&o.sandbox, AGENT, "omflow-server"), "server", &options, &[("MWHA_RUN_DIR", &run_dir)])
        .assert_passed_all_tests();
    assert!(o.all_processes().is_empty(), "ocf-tester left processes: {:?}", o.all_processes());
}
