//! The meta-data against the validators admins' tools use (xmllint with ocf-tester's DTD and
//! pcs's RNG), the checked-in copy under ocf/, and ocf-tester itself including promote/demote
//! (run without clone variables or a cluster: score publishing must be best effort).

use testkit::metadata::{
    assert_checked_in, assert_metadata_valid, assert_validators_reject_broken, metadata_of, ocf_tester, ocf_tester_present, reachable_copy,
};
use testkit::omflow::{fake_db, Omflow};

const AGENT: &str = env!("CARGO_BIN_EXE_omflow-booster");

#[test]
fn metadata_validates_against_the_dtd_and_the_pcs_schema() {
    assert_metadata_valid(AGENT);
    // Negative control: the validators bite.
    assert_validators_reject_broken(AGENT);
}

#[test]
fn checked_in_metadata_matches_the_binary() {
    assert_checked_in("ocf/omflow-booster.xml", &metadata_of(AGENT));
}

#[test]
fn ocf_tester_passes_with_promote_and_demote() {
    if !ocf_tester_present() {
        return;
    }
    let o = Omflow::create("ocft", &[]);
    let (_db, db_url) = fake_db();
    let mut options: Vec<String> = o.booster_params().iter().map(|(k, v)| format!("{k}={v}")).collect();
    options.push(format!("db_check={db_url}"));
    // The per-boot state goes to the sandbox; crm_attribute is the real one (no cluster here).
    let agent = reachable_copy(&o.sandbox, AGENT, "omflow-booster");
    let run = ocf_tester(&agent, "booster", &options, &[("MWHA_RUN_DIR", &o.sandbox.path().join("run"))]);
    run.assert_passed_all_tests();
    assert!(!run.text.contains("partially supports") && !run.text.contains("does not support the promote"), "{}", run.text);
    assert!(o.all_processes().is_empty(), "ocf-tester left processes: {:?}", o.all_processes());
}
