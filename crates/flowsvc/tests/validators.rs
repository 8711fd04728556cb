//! The meta-data against the validators admins' tools use (xmllint with ocf-tester's DTD and
//! pcs's RNG, and ocf-tester itself), plus negative controls proving the validators bite.

use std::fs;
use std::os::unix::fs::PermissionsExt;

use testkit::metadata::{
    assert_checked_in, assert_metadata_valid, assert_validators_reject_broken, metadata_of, ocf_tester, ocf_tester_present, reachable_copy,
    with_reload_agent,
};
use testkit::{Sandbox, Warp};

const AGENT: &str = env!("CARGO_BIN_EXE_flowsvc");

#[test]
fn metadata_validates_against_the_dtd_and_the_pcs_schema() {
    assert_metadata_valid(AGENT);
}

#[test]
fn the_validators_reject_broken_metadata() {
    assert_validators_reject_broken(AGENT);
}

#[test]
fn checked_in_metadata_matches_the_binary() {
    assert_checked_in("ocf/flowsvc.xml", &metadata_of(AGENT));
}

#[test]
fn ocf_tester_passes() {
    if !ocf_tester_present() {
        return;
    }
    let sandbox = Sandbox::new("ocft");
    let warp = Warp::create(&sandbox, "warp", None, &[]);
    let agent = reachable_copy(&sandbox, AGENT, "flowsvc");
    let options = [format!("install_dir={}", warp.install_dir.display()), format!("probe_url={}", warp.probe_url())];
    ocf_tester(&agent, "warp", &options, &[("MWHA_RUN_DIR", &sandbox.path().join("run"))]).assert_passed_all_tests();
    assert!(warp.processes().is_empty(), "ocf-tester left processes: {:?}", warp.processes());
}

#[test]
fn ocf_tester_fails_an_agent_with_broken_metadata() {
    if !ocf_tester_present() {
        return;
    }
    let sandbox = Sandbox::new("ocft-neg");
    let xml_path = sandbox.path().join("broken.xml");
    fs::write(&xml_path, with_reload_agent(&metadata_of(AGENT))).unwrap();
    fs::set_permissions(&xml_path, fs::Permissions::from_mode(0o644)).unwrap();
    // A stub agent: the broken meta-data, and the real flowsvc for everything else.
    let real = reachable_copy(&sandbox, AGENT, "flowsvc-real");
    let stub = sandbox.path().join("flowsvc-broken");
    fs::write(
        &stub,
        format!("#!/bin/sh\nif [ \"$1\" = meta-data ]; then cat '{}'; exit 0; fi\nexec '{}' \"$@\"\n", xml_path.display(), real.display()),
    )
    .unwrap();
    fs::set_permissions(&stub, fs::Permissions::from_mode(0o755)).unwrap();
    let warp = Warp::create(&sandbox, "warp", None, &[]);
    let run_dir = sandbox.path().join("run");
    let run = ocf_tester(&stub, "warp", &[format!("install_dir={}", warp.install_dir.display())], &[("MWHA_RUN_DIR", &run_dir)]);
    assert!(!run.success, "ocf-tester accepted broken meta-data:\n{}", run.text);
    assert!(run.text.contains("does not conform to ra-api-1.dtd") || run.text.contains("failed"), "{}", run.text);
}
