//! The warp-fixup binary driven like Pacemaker drives it (argv[1] = action, OCF_RESKEY_*
//! parameters, nothing else in the environment) against a stand-in data folder.

mod support;

use std::fs;
use std::path::Path;

use support::*;
use testkit::{run_agent, AgentRun};

/// Runs an action with the node's parameters; `MWHA_RUN_DIR` keeps the "started" marker in the
/// sandbox.
fn ocf(node: &Node, action: &str, params: &[(&str, &str)], extra: &[(&str, &str)]) -> AgentRun {
    let run_dir = node.sandbox.path().join("run").display().to_string();
    let mut env: Vec<(&str, &str)> = vec![("MWHA_RUN_DIR", &run_dir)];
    env.extend(extra);
    run_agent(Path::new(BIN), action, "fixup", params, &env)
}

fn params(node: &Node) -> Vec<(&'static str, String)> {
    vec![("data_dir", node.data_str()), ("store", node.store_str()), ("identity_paths", IDENTITY_PATHS.to_string())]
}

fn action(node: &Node, action: &str) -> AgentRun {
    with(node, action, &[])
}

fn with(node: &Node, action: &str, overrides: &[(&'static str, &str)]) -> AgentRun {
    let mut p: Vec<(&str, String)> = params(node);
    for (k, v) in overrides {
        p.retain(|(name, _)| name != k);
        if !v.is_empty() {
            p.push((k, v.to_string()));
        }
    }
    let p: Vec<(&str, &str)> = p.iter().map(|(k, v)| (*k, v.as_str())).collect();
    ocf(node, action, &p, &[])
}

fn recurring_monitor(node: &Node) -> AgentRun {
    let p: Vec<(&str, String)> = params(node);
    let p: Vec<(&str, &str)> = p.iter().map(|(k, v)| (*k, v.as_str())).collect();
    ocf(node, "monitor", &p, &[("OCF_RESKEY_CRM_meta_interval", "30000")])
}

fn expect_rc(run: &AgentRun, code: i32, what: &str) {
    assert_eq!(run.code, code, "{what}: expected rc {code}\n--- stderr\n{}--- stdout\n{}", run.stderr, run.stdout);
}

#[test]
fn start_fixes_the_identity_monitor_watches_it_stop_forgets() {
    if !root() {
        return;
    }
    let node = Node::captured("agent-cycle");
    expect_rc(&action(&node, "monitor"), 7, "probe before start");
    expect_rc(&recurring_monitor(&node), 7, "monitor before start");
    node.overwrite_with_other_node();
    let start = action(&node, "start");
    expect_rc(&start, 0, "start");
    assert!(start.stderr.contains("previous server.xconf kept as"), "{}", start.stderr);
    assert_eq!(fs::read_to_string(node.xconf()).unwrap(), OWN_XCONF);
    assert_eq!(fs::read_to_string(node.license()).unwrap(), OWN_LICENSE);
    expect_rc(&recurring_monitor(&node), 0, "monitor after start");
    expect_rc(&action(&node, "monitor"), 0, "probe after start");
    let again = action(&node, "start");
    expect_rc(&again, 0, "second start");
    assert!(again.stderr.contains("nothing written"), "{}", again.stderr);

    // The other node's sync lands while the resource runs: monitor says what drifted.
    fs::write(node.xconf(), OTHER_XCONF).unwrap();
    let drift = recurring_monitor(&node);
    expect_rc(&drift, 1, "monitor after drift");
    let reason = drift.exit_reason().unwrap();
    assert!(reason.starts_with("fixup: ") && reason.contains("/server/serverId") && reason.contains("node2-id"), "{reason}");
    assert!(reason.len() <= 128);
    fs::write(node.xconf(), OWN_XCONF).unwrap();
    fs::write(node.license(), OTHER_LICENSE).unwrap();
    let drift = recurring_monitor(&node);
    expect_rc(&drift, 1, "monitor after a license drift");
    assert!(drift.exit_reason().unwrap().contains("license file license.key differs"), "{:?}", drift.exit_reason());

    expect_rc(&action(&node, "stop"), 0, "stop");
    expect_rc(&recurring_monitor(&node), 7, "monitor after stop");
    expect_rc(&action(&node, "monitor"), 7, "probe after stop");
    expect_rc(&action(&node, "stop"), 0, "stop is idempotent");
}

#[test]
fn start_sweeps_leftovers_before_the_flow_service() {
    if !root() {
        return;
    }
    let node = Node::captured("agent-sweep");
    let work = node.data.join("work");
    fs::create_dir_all(&work).unwrap();
    fs::write(work.join("half.tmp"), "half").unwrap();
    fs::File::options()
        .write(true)
        .open(work.join("half.tmp"))
        .unwrap()
        .set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(7200))
        .unwrap();
    fs::write(work.join("fresh.tmp"), "fresh").unwrap();
    let dirs = work.display().to_string();
    let start = with(&node, "start", &[("sweep_dirs", &dirs), ("sweep_age", "1h")]);
    expect_rc(&start, 0, "start with a sweep");
    assert!(start.stderr.contains("quarantined 1 file(s), 4 bytes, oldest 2h00m"), "{}", start.stderr);
    assert!(!work.join("half.tmp").exists() && work.join("fresh.tmp").exists());
    assert_eq!(node.quarantined().len(), 1);
}

#[test]
fn refusals_fail_the_start_and_write_nothing() {
    if !root() {
        return;
    }
    let node = Node::captured("agent-refuse");
    node.overwrite_with_other_node();
    std::os::unix::fs::symlink("/etc/passwd", node.license_dir().join("evil.key")).unwrap();
    let before = snapshot(&node.data);
    let start = action(&node, "start");
    expect_rc(&start, 1, "start with a symlink in the license folder");
    assert!(start.exit_reason().unwrap().contains("is a symlink"), "{:?}", start.exit_reason());
    assert_eq!(snapshot(&node.data), before);
    expect_rc(&recurring_monitor(&node), 7, "a failed start did not record started");
}

#[test]
fn probes_and_missing_things() {
    let node = Node::new("agent-missing");
    let absent = node.sandbox.path().join("not-mounted").display().to_string();
    let probe = with(&node, "monitor", &[("data_dir", &absent)]);
    expect_rc(&probe, 7, "probe without data_dir");
    assert!(probe.exit_reason().is_none());
    expect_rc(&with(&node, "stop", &[("data_dir", &absent)]), 0, "stop without data_dir");
    expect_rc(&with(&node, "start", &[("data_dir", &absent)]), 5, "start without data_dir");
    // The store is missing on this node: 5, never 6 (it may exist on the other node).
    let validate = action(&node, "validate-all");
    expect_rc(&validate, 5, "validate without a store");
    assert!(validate.exit_reason().unwrap().contains("does not exist on this node"), "{:?}", validate.exit_reason());
    expect_rc(&action(&node, "start"), 5, "start without a store");
    expect_rc(&action(&node, "monitor"), 7, "probe without a store: not started");
}

#[test]
fn validate_all_is_6_only_for_parameter_syntax() {
    if !root() {
        return;
    }
    let node = Node::captured("agent-validate");
    expect_rc(&action(&node, "validate-all"), 0, "validate");
    for (name, value, why) in [
        ("data_dir", "relative/data", "data_dir must be an absolute path"),
        ("identity_paths", "server/serverId", "must start with /"),
        ("identity_paths", "/server[@a=1]", "must be quoted"),
        ("sweep_age", "1w", "sweep_age"),
        ("sweep_action", "shred", "sweep_action"),
        ("sweep_interval", "often", "sweep_interval"),
        ("identity_mode", "both", "identity_mode must be values or whole-file"),
        ("sweep_dirs", "tmp", "absolute"),
        ("store", "store", "store must be an absolute path"),
        ("identity_paths", "", "identity_paths is required"),
    ] {
        let run = with(&node, "validate-all", &[(name, value)]);
        expect_rc(&run, 6, &format!("{name}={value:?}"));
        assert!(run.exit_reason().unwrap().contains(why), "{name}: {:?}", run.exit_reason());
    }
    // A store captured with other identity paths is this node's problem (5).
    expect_rc(&with(&node, "validate-all", &[("identity_paths", "/server/@version")]), 5, "path not in the store");
    // A store captured before whole copies were kept serves values, not whole-file (5).
    node.strip_xconf_copy();
    expect_rc(&action(&node, "validate-all"), 0, "validate of an old store (values)");
    let run = with(&node, "validate-all", &[("identity_mode", "whole-file")]);
    expect_rc(&run, 5, "validate of an old store (whole-file)");
    assert!(run.exit_reason().unwrap().contains("holds no copy of server.xconf"), "{:?}", run.exit_reason());
    expect(&node.cli(&["capture"], &[]), 0, "capture completes the store");
    expect_rc(&with(&node, "validate-all", &[("identity_mode", "whole-file")]), 0, "validate (whole-file)");
    // A damaged store fails validation with the reason.
    fs::write(node.store.join("license/license.key"), "TAMPERED").unwrap();
    let run = action(&node, "validate-all");
    expect_rc(&run, 1, "tampered store");
    assert!(run.exit_reason().unwrap().contains("does not match its manifest"), "{:?}", run.exit_reason());
}

#[test]
fn meta_data_and_usage_need_nothing() {
    let node = Node::new("agent-meta");
    let meta = ocf(&node, "meta-data", &[], &[("OCF_OUTPUT_FORMAT", "text")]);
    expect_rc(&meta, 0, "meta-data");
    assert!(meta.stdout.starts_with("<?xml") && meta.stdout.contains("<resource-agent name=\"warp-fixup\""), "{}", meta.stdout);
    assert!(meta.stderr.is_empty(), "{}", meta.stderr);
    let usage = ocf(&node, "usage", &[], &[]);
    expect_rc(&usage, 0, "usage");
    assert!(usage.stdout.contains("start|stop|monitor|validate-all|meta-data"), "{}", usage.stdout);
    expect_rc(&action(&node, "promote"), 3, "promote is not implemented");
}

fn recurring_with(node: &Node, overrides: &[(&'static str, &str)]) -> AgentRun {
    let mut p: Vec<(&str, String)> = params(node);
    for (k, v) in overrides {
        p.retain(|(name, _)| name != k);
        p.push((k, v.to_string()));
    }
    let p: Vec<(&str, &str)> = p.iter().map(|(k, v)| (*k, v.as_str())).collect();
    ocf(node, "monitor", &p, &[("OCF_RESKEY_CRM_meta_interval", "30000")])
}

#[test]
fn whole_file_mode_start_restores_the_copy_and_monitor_reports_any_difference() {
    if !root() {
        return;
    }
    let node = Node::new("agent-whole");
    let own = OWN_XCONF.replace("</server>", "  <port>21381</port>\n</server>");
    fs::write(node.xconf(), &own).unwrap();
    expect(&node.cli(&["capture"], &[]), 0, "capture");
    let whole = [("identity_mode", "whole-file")];
    expect_rc(&with(&node, "validate-all", &whole), 0, "validate-all");
    let synced = own.replace("standin-id", "node2-id").replace("standin-name", "node2").replace("21381", "21999");
    fs::write(node.xconf(), &synced).unwrap();
    expect_rc(&with(&node, "start", &whole), 0, "start");
    assert_eq!(fs::read_to_string(node.xconf()).unwrap(), own, "the store's copy, byte for byte");
    expect_rc(&recurring_with(&node, &whole), 0, "monitor after start");

    // A setting changed since the capture (here, or brought by a sync): whole-file reports it,
    // values mode does not look at it.
    fs::write(node.xconf(), own.replace("21381", "21999")).unwrap();
    let drift = recurring_with(&node, &whole);
    expect_rc(&drift, 1, "whole-file monitor after a setting changed");
    let reason = drift.exit_reason().unwrap();
    assert!(reason.contains("not the store's copy") && reason.contains("/server/port"), "{reason}");
    expect_rc(&recurring_monitor(&node), 0, "values monitor ignores settings besides the identity");
    // An identity value comes first in the reason.
    fs::write(node.xconf(), &synced).unwrap();
    let drift = recurring_with(&node, &whole);
    expect_rc(&drift, 1, "whole-file monitor after a sync");
    assert!(drift.exit_reason().unwrap().contains("/server/serverId is \"node2-id\""), "{:?}", drift.exit_reason());
    expect_rc(&with(&node, "start", &whole), 0, "start again");
    assert_eq!(fs::read_to_string(node.xconf()).unwrap(), own);
    expect_rc(&with(&node, "validate-all", &[("identity_mode", "whole")]), 6, "a bad mode");
}

/// An old file in `dir`, as a flow interrupted by a switch-over leaves it.
fn leftover(dir: &Path, name: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    fs::write(&path, "half").unwrap();
    let file = fs::File::options().write(true).open(&path).unwrap();
    file.set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(7200)).unwrap();
    path
}

#[test]
fn a_running_resource_sweeps_every_sweep_interval_and_never_on_a_probe() {
    if !root() {
        return;
    }
    let node = Node::captured("agent-interval");
    let work = node.data.join("work");
    fs::create_dir_all(&work).unwrap();
    let dirs = work.display().to_string();
    let hourly = [("sweep_dirs", dirs.as_str()), ("sweep_interval", "1h")];
    let every_second = [("sweep_dirs", dirs.as_str()), ("sweep_interval", "1")];
    let first = leftover(&work, "first.tmp");
    let start = with(&node, "start", &hourly);
    expect_rc(&start, 0, "start");
    assert!(!first.exists(), "start sweeps");
    let last_sweep = node.sandbox.path().join("run/warp-fixup/fixup/last-sweep");
    assert!(last_sweep.is_file(), "the time of the sweep is recorded under the run folder");

    // Within the interval: two recurring monitors, no sweep.
    let second = leftover(&work, "second.tmp");
    for round in 0..2 {
        let monitor = recurring_with(&node, &hourly);
        expect_rc(&monitor, 0, "monitor within the interval");
        assert!(second.exists() && !monitor.stderr.contains("sweep of"), "round {round}: swept within the interval\n{}", monitor.stderr);
    }
    // Past the interval: a probe still never sweeps; the next recurring monitor does, once.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let probe = with(&node, "monitor", &every_second);
    expect_rc(&probe, 0, "probe");
    assert!(second.exists(), "a probe never sweeps\n{}", probe.stderr);
    let monitor = recurring_with(&node, &every_second);
    expect_rc(&monitor, 0, "monitor past the interval");
    assert!(!second.exists(), "swept\n{}", monitor.stderr);
    assert!(monitor.stderr.contains("quarantined 1 file(s)"), "{}", monitor.stderr);
    let third = leftover(&work, "third.tmp");
    let monitor = recurring_with(&node, &[("sweep_dirs", dirs.as_str()), ("sweep_interval", "1h")]);
    expect_rc(&monitor, 0, "monitor right after a sweep");
    assert!(third.exists(), "swept twice within the interval\n{}", monitor.stderr);
    // 0: only at start.
    fs::remove_file(&last_sweep).unwrap();
    let monitor = recurring_with(&node, &[("sweep_dirs", dirs.as_str()), ("sweep_interval", "0")]);
    expect_rc(&monitor, 0, "monitor with sweep_interval=0");
    assert!(third.exists(), "sweep_interval=0 sweeps only at start\n{}", monitor.stderr);
    assert_eq!(node.quarantined().len(), 2);

    // A sweep that fails is a warning: the monitor still reports running, and it is tried once
    // per interval.
    let elsewhere = node.sandbox.path().join("elsewhere");
    fs::create_dir_all(elsewhere.join("work")).unwrap();
    let held = leftover(&elsewhere.join("work"), "held.tmp");
    std::os::unix::fs::symlink(&elsewhere, node.data.join("linked")).unwrap();
    let linked = node.data.join("linked/work").display().to_string();
    let failing = [("sweep_dirs", linked.as_str()), ("sweep_interval", "1")];
    let monitor = recurring_with(&node, &failing);
    expect_rc(&monitor, 0, "monitor whose sweep fails");
    assert!(monitor.stderr.contains("sweep:") && monitor.stderr.contains("is a symlink"), "{}", monitor.stderr);
    assert!(monitor.exit_reason().is_none(), "{:?}", monitor.exit_reason());
    assert!(held.exists(), "nothing reached through the link");
    let again = recurring_with(&node, &failing);
    expect_rc(&again, 0, "the next monitor");
    assert!(!again.stderr.contains("sweep:"), "a failed sweep is not retried within the interval\n{}", again.stderr);
}
