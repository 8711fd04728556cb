//! The meta-data against the validators admins' tools use (xmllint with ocf-tester's DTD and
//! pcs's RNG), the checked-in copy under ocf/, and ocf-tester itself: as a plain primitive (the
//! vendor's layout; ocf-tester sets no clone variables) and, with `CRM_meta_promoted_max=1` as
//! Pacemaker passes it to a promotable clone's instance, including promote/demote (without a
//! cluster: score publishing must be best effort).

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
    // ocf-tester exports every -o as OCF_RESKEY_<name>: the promotable clone's instance.
    options.push("CRM_meta_promoted_max=1".into());
    // The per-boot state goes to the sandbox; crm_attribute is the real one (no cluster here).
    let agent = reachable_copy(&o.sandbox, AGENT, "omflow-booster");
    let run = ocf_tester(&agent, "booster", &options, &[("MWHA_RUN_DIR", &o.sandbox.path().join("run"))]);
    run.assert_passed_all_tests();
    assert!(!run.text.contains("partially supports") && !run.text.contains("does not support the promote"), "{}", run.text);
    assert!(o.all_processes().is_empty(), "ocf-tester left processes: {:?}", o.all_processes());
}

#[test]
fn ocf_tester_passes_as_a_plain_primitive_without_promote_or_demote() {
    if !ocf_tester_present() {
        return;
    }
    let o = Omflow::create("ocft-plain", &[]);
    let options: Vec<String> =
        o.booster_params().iter().filter(|(k, _)| k != "promote_cmd" && k != "demote_cmd").map(|(k, v)| format!("{k}={v}")).collect();
    let agent = reachable_copy(&o.sandbox, AGENT, "omflow-booster");
    let run = ocf_tester(&agent, "booster", &options, &[("MWHA_RUN_DIR", &o.sandbox.path().join("run"))]);
    run.assert_passed_all_tests();
    // promote and demote answer 3 (not implemented) in a plain primitive.
    assert!(run.text.contains("does not support promotable clones"), "{}", run.text);
    assert!(o.all_processes().is_empty(), "ocf-tester left processes: {:?}", o.all_processes());
}
