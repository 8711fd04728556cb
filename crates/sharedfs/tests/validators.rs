//! The meta-data against the validators admins' tools use (xmllint with ocf-tester's DTD and
//! pcs's RNG), the checked-in copy in ocf/sharedfs.xml, and ocf-tester on a real tmpfs mount.

use std::fs;
use std::path::Path;
use std::process::Command;

use testkit::metadata::{
    assert_checked_in, assert_metadata_valid, assert_validators_reject_broken, metadata_of, ocf_tester, reachable_copy,
};
use testkit::{have, is_root, require, Sandbox};

const AGENT: &str = env!("CARGO_BIN_EXE_sharedfs");

#[test]
fn metadata_validates_against_the_dtd_and_the_pcs_schema() {
    assert_metadata_valid(AGENT);
    // Negative control: the same validators bite on this agent's XML.
    assert_validators_reject_broken(AGENT);
}

#[test]
fn checked_in_metadata_matches_the_binary() {
    assert_checked_in("ocf/sharedfs.xml", &metadata_of(AGENT));
}

/// Undoes the tmpfs mount even when the test fails.
struct Mounted<'a>(&'a Path);

impl Drop for Mounted<'_> {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.0).status();
    }
}

#[test]
fn ocf_tester_passes() {
    if !require("ocf-tester (as root, with mount)", have("ocf-tester") && is_root() && have("mount")) {
        return;
    }
    let sandbox = Sandbox::new("sharedfs-ocft");
    let agent = reachable_copy(&sandbox, AGENT, "sharedfs");
    let share = sandbox.path().join("share");
    fs::create_dir(&share).unwrap();
    let status = Command::new("mount").args(["-t", "tmpfs", "-o", "size=1m", "ocft-share"]).arg(&share).status().unwrap();
    assert!(status.success(), "mounting a tmpfs");
    let mounted = Mounted(&share);
    let options = [format!("directory={}", share.display()), "source=ocft-share".into(), "fstype=tmpfs".into(), "min_free=1%".into()];
    ocf_tester(&agent, "shared", &options, &[("MWHA_RUN_DIR", &sandbox.path().join("run"))]).assert_passed_all_tests();
    assert!(fs::read_dir(&share).unwrap().next().is_none(), "ocf-tester's starts left files on the share");
    drop(mounted);
}
