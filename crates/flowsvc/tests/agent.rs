//! The flowsvc binary driven like Pacemaker drives it, against the stand-in ASTERIA Warp from
//! `tests/standin/warp`. Each test asserts exit codes, exit reasons and side effects.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use testkit::{run_agent, AgentRun, Sandbox, Warp};

mod fakecrm;
use fakecrm::FakeCrm;

const AGENT: &str = env!("CARGO_BIN_EXE_flowsvc");
const PRODUCT_USER: &str = "mwhatest";

fn agent() -> &'static Path {
    Path::new(AGENT)
}

/// Runs the agent with its per-boot state (`/run/mwha`) in the sandbox of the install folder,
/// so parallel tests never share a launch scope, and with a fake `crm_resource` there, so a
/// watcher never reaches a real cluster.
fn agent_run(action: &str, params: &[(&str, &str)], extra: &[(&str, &str)]) -> AgentRun {
    let sandbox = params.iter().find(|(k, _)| *k == "install_dir").and_then(|(_, dir)| Path::new(dir).parent());
    let sandbox = sandbox.filter(|d| d.starts_with(std::env::temp_dir()) && d.is_dir());
    let run_dir = sandbox.map(|d| d.join("run").display().to_string());
    let crm = sandbox.map(|d| FakeCrm::in_dir(d).hook());
    let mut env: Vec<(&str, &str)> = extra.to_vec();
    if let Some(dir) = &run_dir {
        env.push(("MWHA_RUN_DIR", dir));
    }
    if let Some((hook, program)) = &crm {
        env.push((hook, program));
    }
    run_agent(agent(), action, "warp", params, &env)
}

fn run(action: &str, params: &[(&str, &str)]) -> AgentRun {
    agent_run(action, params, &[])
}

fn recurring_monitor(params: &[(&str, &str)]) -> AgentRun {
    agent_run("monitor", params, &[("OCF_RESKEY_CRM_meta_interval", "10000")])
}

fn with_level(level: &str, params: &[(&str, &str)]) -> AgentRun {
    agent_run("monitor", params, &[("OCF_RESKEY_CRM_meta_interval", "10000"), ("OCF_CHECK_LEVEL", level)])
}

fn expect(run: &AgentRun, code: i32, what: &str) {
    assert_eq!(run.code, code, "{what}: expected rc {code}\n--- stderr\n{}--- stdout\n{}", run.stderr, run.stdout);
}

fn alive(pid: i32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| !s.rsplit_once(')').is_some_and(|(_, r)| r.trim_start().starts_with('Z')))
}

fn uid_of(pid: i32) -> Option<u32> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|l| l.strip_prefix("Uid:"))?.split_whitespace().next()?.parse().ok()
}

struct Started {
    sandbox: Sandbox,
    warp: Warp,
}

impl Started {
    fn install(&self) -> String {
        self.warp.install_dir.display().to_string()
    }
}

fn started(name: &str, owner: Option<&str>, switches: &[&str]) -> Started {
    let sandbox = Sandbox::new(name);
    let warp = Warp::create(&sandbox, "warp", owner, switches);
    let install = warp.install_dir.display().to_string();
    let url = warp.probe_url();
    let r = run("start", &[("install_dir", &install), ("probe_url", &url)]);
    expect(&r, 0, "start");
    Started { sandbox, warp }
}

#[test]
fn start_monitor_stop_cycle_with_probe_and_fsctrl() {
    let s = started("cycle", None, &[]);
    let install = s.install();
    let p = [("install_dir", install.as_str())];
    expect(&run("monitor", &p), 0, "probe while running");
    expect(&with_level("10", &p), 0, "fsctrl status");
    let url = s.warp.probe_url();
    expect(&with_level("20", &[("install_dir", &install), ("probe_url", &url)]), 0, "probe_url");
    expect(&run("start", &p), 0, "second start is a no-op");
    let main = s.warp.main_pid().unwrap();
    expect(&run("stop", &p), 0, "stop");
    assert!(!alive(main));
    assert!(s.warp.processes().is_empty(), "left: {:?}", s.warp.processes());
    assert!(!s.warp.pidfile().exists(), "stale PID file removed");
    expect(&run("monitor", &p), 7, "probe after stop");
    expect(&recurring_monitor(&p), 7, "monitor after stop");
    expect(&run("stop", &p), 0, "stop is idempotent");
}

#[test]
fn pid_reuse_unrelated_process_is_never_running_and_never_signalled() {
    let sandbox = Sandbox::new("reuse");
    let warp = Warp::create(&sandbox, "warp", None, &[]);
    let mut unrelated = std::process::Command::new("sleep").arg("600").spawn().unwrap();
    let pid = unrelated.id() as i32;
    fs::write(warp.pidfile(), format!("{pid}\n")).unwrap();
    let install = warp.install_dir.display().to_string();
    let p = [("install_dir", install.as_str())];
    // After a reboot the probe is what finds a stale PID file naming someone else's process.
    expect(&run("monitor", &p), 7, "probe with a reused PID");
    let r = recurring_monitor(&p);
    assert_ne!(r.code, 0, "a reused PID never reads as running: {}", r.stderr);
    assert!(r.exit_reason().unwrap().contains("reused PID"), "{:?}", r.exit_reason());
    expect(&run("stop", &p), 0, "stop");
    assert!(alive(pid), "the unrelated process was signalled");
    assert!(!warp.pidfile().exists(), "stale PID file removed on stop");
    unrelated.kill().unwrap();
    let _ = unrelated.wait();
}

#[test]
fn pid_reuse_by_a_process_born_after_the_pid_file() {
    let sandbox = Sandbox::new("reuse2");
    let warp = Warp::create(&sandbox, "warp", None, &[]);
    fs::write(warp.pidfile(), "1234567\n").unwrap();
    std::thread::sleep(Duration::from_millis(300));
    // Looks like the product (mentions install_dir) but was born after the PID file.
    let script = warp.install_dir.join("server/lib/lookalike.py");
    let mut lookalike = std::process::Command::new("python3").args(["-c", "import time; time.sleep(600)"]).arg(&script).spawn().unwrap();
    let pid = lookalike.id() as i32;
    // Right after exec the kernel may still show an empty command line for a moment.
    let script_s = script.display().to_string();
    assert!(testkit::wait_until(Duration::from_secs(5), || fs::read(format!("/proc/{pid}/cmdline"))
        .is_ok_and(|c| String::from_utf8_lossy(&c).contains(&script_s))));
    let mtime = fs::metadata(warp.pidfile()).unwrap().modified().unwrap();
    fs::write(warp.pidfile(), format!("{pid}\n")).unwrap();
    fs::File::options().write(true).open(warp.pidfile()).unwrap().set_modified(mtime).unwrap();
    let install = warp.install_dir.display().to_string();
    let r = recurring_monitor(&[("install_dir", &install)]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("after the PID file was written"), "{}", r.stderr);
    lookalike.kill().unwrap();
    let _ = lookalike.wait();
}

#[test]
fn hung_stop_ignoring_fsstop_and_sigterm_finishes_inside_the_timeout() {
    // In the foreground the main process keeps console_log as its stdout, where JVMs dump.
    let s = started("hung", None, &["IGNORE_TERM=1", "STOP_HANG=1", "FOREGROUND=1"]);
    let install = s.install();
    let before = s.warp.processes();
    assert!(before.len() >= 4, "main + 3 children: {before:?}");
    let r = agent_run("stop", &[("install_dir", &install), ("thread_dump", "true")], &[("OCF_RESKEY_CRM_meta_timeout", "12000")]);
    expect(&r, 0, "stop of a product that ignores fsstop and SIGTERM");
    assert!(r.elapsed < Duration::from_secs(12), "stop took {:?} of a 12 s timeout", r.elapsed);
    assert!(r.stderr.contains("SIGKILL"), "{}", r.stderr);
    // Forensics: what each stuck process was doing, logged before SIGKILL.
    assert!(r.stderr.contains("[MWHA6002W] still running after SIGTERM, before SIGKILL: pid"), "{}", r.stderr);
    assert!(r.stderr.contains("wchan"), "{}", r.stderr);
    // thread_dump=true: SIGQUIT first, so the "JVMs" wrote their dumps to the console log.
    let console = fs::read_to_string(s.warp.data_dir.join("log/flowsvc-console.log")).unwrap();
    assert!(console.contains("Full thread dump"), "{console}");
    for pid in before {
        assert!(!alive(pid), "pid {pid} survived");
    }
    assert!(s.warp.processes().is_empty());
    drop(s.sandbox);
}

#[test]
fn killed_main_process_leaves_orphans_that_stop_removes() {
    let s = started("orphans", None, &[]);
    let install = s.install();
    let p = [("install_dir", install.as_str())];
    let main = s.warp.main_pid().unwrap();
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(main), nix::sys::signal::Signal::SIGKILL).unwrap();
    assert!(testkit::wait_until(Duration::from_secs(5), || !alive(main)));
    let r = recurring_monitor(&p);
    expect(&r, 1, "recurring monitor after kill -9 of the main process");
    assert!(r.exit_reason().unwrap().starts_with("warp: "), "{:?}", r.exit_reason());
    // The java children live on without their parent: a probe must not call that "stopped".
    expect(&run("monitor", &p), 1, "probe with orphaned children");
    expect(&run("stop", &p), 0, "stop");
    assert!(s.warp.processes().is_empty(), "left: {:?}", s.warp.processes());
    expect(&run("monitor", &p), 7, "probe after stop");
}

#[test]
fn a_dead_child_is_restarted_by_the_main_process_and_is_not_a_failure() {
    let s = started("child", None, &[]);
    let install = s.install();
    let p = [("install_dir", install.as_str())];
    let child = s.warp.child_pid("FlowService").unwrap();
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child), nix::sys::signal::Signal::SIGKILL).unwrap();
    expect(&recurring_monitor(&p), 0, "monitor right after a child died");
    assert!(testkit::wait_until(Duration::from_secs(5), || s.warp.child_pid("FlowService").is_some_and(|c| c != child)));
    expect(&recurring_monitor(&p), 0, "monitor after the restart");
    expect(&run("stop", &p), 0, "stop");
}

#[test]
fn depth_10_reports_a_stopped_service_and_a_hung_fsctrl_within_the_budget() {
    let s = started("depth", None, &[]);
    let install = s.install();
    s.warp.set("SERVICE_DOWN=Schedule");
    let r = with_level("10", &[("install_dir", &install), ("services", "FlowService Schedule")]);
    expect(&r, 1, "a stopped service");
    assert!(r.exit_reason().unwrap().contains("fsctrl status Schedule"), "{:?}", r.exit_reason());
    s.warp.set("SERVICE_DOWN=");
    s.warp.set("FSCTRL_HANG=1");
    let r = agent_run(
        "monitor",
        &[("install_dir", &install)],
        &[("OCF_RESKEY_CRM_meta_interval", "10000"), ("OCF_CHECK_LEVEL", "10"), ("OCF_RESKEY_CRM_meta_timeout", "5000")],
    );
    expect(&r, 1, "a hung fsctrl");
    assert!(r.elapsed < Duration::from_secs(5), "{:?}", r.elapsed);
    assert!(r.exit_reason().unwrap().contains("did not finish"), "{:?}", r.exit_reason());
    expect(&run("stop", &[("install_dir", &install)]), 0, "stop");
}

#[test]
fn foreground_flowsvc_and_a_slow_start() {
    let s = started("fg", None, &["FOREGROUND=1", "START_DELAY=2", "HTTP_DELAY=1"]);
    let install = s.install();
    expect(&recurring_monitor(&[("install_dir", &install)]), 0, "running");
    expect(&run("stop", &[("install_dir", &install)]), 0, "stop");
    assert!(s.warp.processes().is_empty());
}

#[test]
fn a_start_that_fails_returns_1_quickly_with_a_reason() {
    for (mode, switch) in [("daemon", "FOREGROUND=0"), ("foreground", "FOREGROUND=1")] {
        for fail in ["START_FAIL=1", "START_FAIL=after_pid"] {
            let sandbox = Sandbox::new("fail");
            let warp = Warp::create(&sandbox, "warp", None, &[switch, fail]);
            let install = warp.install_dir.display().to_string();
            let r = run("start", &[("install_dir", &install)]);
            expect(&r, 1, &format!("{mode} {fail}"));
            assert!(r.elapsed < Duration::from_secs(10), "{mode} {fail}: {:?}", r.elapsed);
            assert!(r.exit_reason().is_some_and(|e| e.starts_with("warp: ")), "{}", r.stderr);
            expect(&run("stop", &[("install_dir", &install)]), 0, "stop after a failed start");
        }
    }
}

#[test]
fn product_runs_as_its_non_root_user_with_a_clean_environment() {
    if !testkit::require("root (to create and switch to a product user)", testkit::is_root()) {
        return;
    }
    assert!(testkit::ensure_user(PRODUCT_USER));
    let uid = nix::unistd::User::from_name(PRODUCT_USER).unwrap().unwrap().uid.as_raw();
    // Default user = owner of install_dir.
    let s = started("user", Some(PRODUCT_USER), &[]);
    let main = s.warp.main_pid().unwrap();
    for pid in s.warp.processes() {
        assert_eq!(uid_of(pid), Some(uid), "pid {pid}");
    }
    let environ = fs::read(format!("/proc/{main}/environ")).unwrap();
    let environ = String::from_utf8_lossy(&environ);
    assert!(environ.contains(&format!("USER={PRODUCT_USER}")), "{environ}");
    assert!(!environ.contains("OCF_RESKEY"), "{environ}");
    let status = fs::read_to_string(format!("/proc/{main}/status")).unwrap();
    let groups = status.lines().find(|l| l.starts_with("Groups:")).unwrap();
    assert!(!groups.split_whitespace().any(|g| g == "0"), "root group kept: {groups}");
    let install = s.install();
    expect(&run("stop", &[("install_dir", &install)]), 0, "stop");
    // An explicit user that does not exist is wrong on this node (2).
    let r = run("validate-all", &[("install_dir", &install), ("user", "no-such-user-mwha")]);
    expect(&r, 2, "unknown user");
}

#[test]
fn shell_metacharacters_in_parameters_are_literal() {
    let sandbox = Sandbox::new("meta");
    let marker = sandbox.path().join("pwned");
    let evil = format!("{}/a;touch {}", sandbox.path().display(), marker.display());
    for action in ["validate-all", "monitor", "start", "stop"] {
        let _ = run(action, &[("install_dir", &evil), ("user", "root")]);
    }
    // A real install whose name contains metacharacters works, literally.
    let warp = Warp::create(&sandbox, "w $(touch x);`touch y`|z", None, &[]);
    let install = warp.install_dir.display().to_string();
    expect(&run("start", &[("install_dir", &install), ("environment", &format!("X=$(touch${{IFS}}{})", marker.display()))]), 0, "start");
    expect(&recurring_monitor(&[("install_dir", &install)]), 0, "monitor");
    expect(&run("stop", &[("install_dir", &install)]), 0, "stop");
    assert!(!marker.exists(), "a parameter reached a shell");
    let stray: Vec<PathBuf> = ["x", "y"].iter().map(|n| warp.install_dir.join(n)).filter(|p| p.exists()).collect();
    assert!(stray.is_empty(), "{stray:?}");
}

#[test]
fn missing_install_probe_is_7_validate_is_5_bad_params_are_6() {
    let p = [("install_dir", "/nonexistent/mwha/warp")];
    let r = run("monitor", &p);
    expect(&r, 7, "probe without install_dir");
    assert!(r.exit_reason().is_none());
    expect(&run("stop", &p), 0, "stop without install_dir");
    expect(&run("validate-all", &p), 5, "validate without install_dir");
    expect(&run("start", &p), 5, "start without install_dir");
    expect(&recurring_monitor(&p), 1, "recurring monitor after the folder vanished");
    let r = run("validate-all", &[("install_dir", "relative/warp")]);
    expect(&r, 6, "relative install_dir");
    assert_eq!(r.exit_reason(), Some("warp: install_dir must be an absolute path, not \"relative/warp\""));
    expect(&run("monitor", &[]), 6, "missing install_dir");
    expect(&run("frobnicate", &p), 3, "unknown action");
}

#[test]
fn meta_data_needs_no_parameters_and_ignores_output_format() {
    let r = agent_run("meta-data", &[], &[("OCF_OUTPUT_FORMAT", "text")]);
    expect(&r, 0, "meta-data");
    assert!(r.stdout.starts_with("<?xml"), "{}", r.stdout);
    assert!(r.stderr.is_empty(), "{}", r.stderr);
    let r = agent_run("--version", &[], &[]);
    assert_eq!(r.stdout.trim(), format!("flowsvc {}", env!("CARGO_PKG_VERSION")));
}

#[test]
fn a_check_creeping_toward_its_timeout_logs_the_delay_warning() {
    let s = started("slow", None, &["FSCTRL_DELAY=1"]);
    let install = s.install();
    let r = agent_run(
        "monitor",
        &[("install_dir", &install), ("warn_ratio", "0.3")],
        &[("OCF_RESKEY_CRM_meta_interval", "10000"), ("OCF_CHECK_LEVEL", "10"), ("OCF_RESKEY_CRM_meta_timeout", "3000")],
    );
    expect(&r, 0, "a slow but successful check");
    assert!(r.stderr.contains("[MWHA6001W] fsctrl status took 1."), "{}", r.stderr);
    assert!(r.stderr.contains("of a 3 s monitor"), "{}", r.stderr);
    let quick = with_level("0", &[("install_dir", &install), ("warn_ratio", "0.3")]);
    assert!(!quick.stderr.contains("MWHA6001W"), "{}", quick.stderr);
    expect(&run("monitor", &[("install_dir", &install), ("warn_ratio", "2")]), 6, "warn_ratio above 1");
    expect(&run("stop", &[("install_dir", &install)]), 0, "stop");
}

#[test]
fn deep_check_timeouts_are_tolerated_up_to_the_configured_count() {
    let s = started("tolerate", None, &[]);
    let install = s.install();
    let run_dir = s.sandbox.path().join("run");
    let run_dir = run_dir.display().to_string();
    let check = || {
        agent_run(
            "monitor",
            &[("install_dir", &install), ("check_timeouts_tolerated", "1")],
            &[
                ("OCF_RESKEY_CRM_meta_interval", "10000"),
                ("OCF_CHECK_LEVEL", "10"),
                ("OCF_RESKEY_CRM_meta_timeout", "3000"),
                ("MWHA_RUN_DIR", &run_dir),
            ],
        )
    };
    s.warp.set("FSCTRL_HANG=1");
    let first = check();
    expect(&first, 0, "first timeout, tolerated");
    assert!(first.stderr.contains("[MWHA6003W] fsctrl status timed out (1 of 1 tolerated in a row)"), "{}", first.stderr);
    let second = check();
    expect(&second, 1, "second timeout in a row");
    assert!(second.exit_reason().unwrap().contains("fsctrl status did not finish"), "{:?}", second.exit_reason());
    s.warp.set("FSCTRL_HANG=0");
    expect(&check(), 0, "a successful check resets the count");
    s.warp.set("FSCTRL_HANG=1");
    expect(&check(), 0, "tolerated again after the reset");
    s.warp.set("SERVICE_DOWN=FlowService");
    s.warp.set("FSCTRL_HANG=0");
    // A check that fails (not a timeout) fails at once.
    let failed = agent_run(
        "monitor",
        &[("install_dir", &install), ("check_timeouts_tolerated", "5"), ("services", "FlowService")],
        &[("OCF_RESKEY_CRM_meta_interval", "10000"), ("OCF_CHECK_LEVEL", "10"), ("MWHA_RUN_DIR", &run_dir)],
    );
    expect(&failed, 1, "a failed check is not a timeout");
    expect(&run("stop", &[("install_dir", &install)]), 0, "stop");
}
