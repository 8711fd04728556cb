//! A placeholder left from an example (`identity_paths="<from warp-fixup inspect --compare>"`)
//! run through the warp-fixup binary as Pacemaker runs it: every action that reads the
//! parameters refuses it with 6 and an exit reason saying what to put there; stop succeeds.

use std::path::Path;

use testkit::{run_agent, AgentRun, Sandbox, Warp};

const BIN: &str = env!("CARGO_BIN_EXE_warp-fixup");
const PLACEHOLDER: &str = "<from warp-fixup inspect --compare>";

fn ocf(sandbox: &Sandbox, action: &str, params: &[(&str, &str)], extra: &[(&str, &str)]) -> AgentRun {
    let run_dir = sandbox.path().join("run").display().to_string();
    let mut env: Vec<(&str, &str)> = vec![("MWHA_RUN_DIR", &run_dir)];
    env.extend(extra);
    run_agent(Path::new(BIN), action, "warp-identity", params, &env)
}

fn expect_rc(run: &AgentRun, code: i32, what: &str) {
    assert_eq!(run.code, code, "{what}: expected rc {code}\n--- stderr\n{}--- stdout\n{}", run.stderr, run.stdout);
}

#[test]
fn a_placeholder_is_refused_with_6_by_every_action_but_stop() {
    let sandbox = Sandbox::new("placeholder");
    let warp = Warp::create(&sandbox, "warp", None, &[]);
    let data = warp.data_dir.display().to_string();
    let store = sandbox.path().join("store").display().to_string();
    let params = [("data_dir", data.as_str()), ("store", store.as_str()), ("identity_paths", PLACEHOLDER)];
    let reason = "warp-identity: identity_paths is a placeholder (<from warp-fixup inspect --compare>): put the site's value there";

    for (action, extra) in
        [("validate-all", &[][..]), ("start", &[]), ("monitor", &[]), ("monitor", &[("OCF_RESKEY_CRM_meta_interval", "30000")])]
    {
        let run = ocf(&sandbox, action, &params, extra);
        expect_rc(&run, 6, action);
        assert_eq!(run.exit_reason(), Some(reason), "{action}: {}", run.stderr);
        assert_eq!(run.stderr.matches("ocf-exit-reason:").count(), 1, "{action}: one exit reason\n{}", run.stderr);
    }

    // Nothing can run with it (start refuses it): stop succeeds, says why, and gives no reason.
    let stop = ocf(&sandbox, "stop", &params, &[]);
    expect_rc(&stop, 0, "stop");
    assert_eq!(stop.exit_reason(), None, "{}", stop.stderr);
    assert!(stop.stderr.contains("stop with invalid parameters (identity_paths is a placeholder"), "{}", stop.stderr);

    // meta-data reads no parameter.
    expect_rc(&ocf(&sandbox, "meta-data", &params, &[]), 0, "meta-data");
}
