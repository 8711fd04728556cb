//! Depth 10 while the main process restarts a child (guide: プロセス監視 (2): the main process
//! restarts a child that dies). The stand-in's fsctrl reports the child `stopped` until the main
//! process has started it again (`CHILD_RESTART_DELAY`), then `starting` for a while
//! (`CHILD_START_DELAY`): monitor must wait that out within `child_restart_grace`, fail a child
//! that stays down within its budget, and fail at once when the main process is gone.

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use testkit::{run_agent, AgentRun, Sandbox, Warp};

mod fakecrm;
use fakecrm::FakeCrm;

const AGENT: &str = env!("CARGO_BIN_EXE_flowsvc");

/// The agent with its `/run/mwha` state and a fake `crm_resource` in the sandbox (as agent.rs).
fn agent_run(sandbox: &Path, action: &str, params: &[(&str, &str)], extra: &[(&str, &str)]) -> AgentRun {
    let run_dir = sandbox.join("run").display().to_string();
    let (hook, program) = FakeCrm::in_dir(sandbox).hook();
    let mut env: Vec<(&str, &str)> = vec![("MWHA_RUN_DIR", &run_dir), (hook, &program)];
    env.extend(extra);
    run_agent(Path::new(AGENT), action, "warp", params, &env)
}

/// A recurring monitor at OCF_CHECK_LEVEL 10 with a `timeout_ms` op timeout.
fn depth_10(sandbox: &Path, params: &[(&str, &str)], timeout_ms: &str) -> AgentRun {
    agent_run(
        sandbox,
        "monitor",
        params,
        &[("OCF_RESKEY_CRM_meta_interval", "15000"), ("OCF_CHECK_LEVEL", "10"), ("OCF_RESKEY_CRM_meta_timeout", timeout_ms)],
    )
}

fn expect(run: &AgentRun, code: i32, what: &str) {
    assert_eq!(run.code, code, "{what}: expected rc {code} after {:?}\n--- stderr\n{}--- stdout\n{}", run.elapsed, run.stderr, run.stdout);
}

struct Running {
    sandbox: Sandbox,
    warp: Warp,
    install: String,
}

fn started(name: &str, switches: &[&str]) -> Running {
    let sandbox = Sandbox::new(name);
    let warp = Warp::create(&sandbox, "warp", None, switches);
    let install = warp.install_dir.display().to_string();
    expect(&agent_run(sandbox.path(), "start", &[("install_dir", &install)], &[]), 0, "start");
    Running { sandbox, warp, install }
}

impl Running {
    /// The stand-in's own answer, as the agent would get it: `fsctrl status [NAME]`'s exit code.
    fn fsctrl_status(&self, name: Option<&str>) -> i32 {
        let out = Command::new(self.warp.install_dir.join("server/bin/fsctrl")).arg("status").args(name).output().unwrap();
        out.status.code().unwrap_or(-1)
    }

    /// Kills the child service `name` and returns its PID once fsctrl reports it down.
    fn kill_child(&self, name: &str) -> i32 {
        let child = self.warp.child_pid(name).expect("the child runs");
        kill(Pid::from_raw(child), Signal::SIGKILL).unwrap();
        assert!(testkit::wait_until(Duration::from_secs(5), || !testkit::alive(child)));
        child
    }

    /// Waits until the main process has restarted `name` and fsctrl reports it running.
    fn wait_restarted(&self, name: &str, old: i32) {
        let back = testkit::wait_until(Duration::from_secs(15), || {
            self.warp.child_pid(name).is_some_and(|pid| pid != old) && self.fsctrl_status(Some(name)) == 0
        });
        assert!(back, "{name} was not restarted");
    }

    /// How often the stand-in's fsctrl was asked for `name` (its log has one line per call).
    fn fsctrl_calls(&self, name: &str) -> usize {
        let log = fs::read_to_string(self.warp.data_dir.join("log/standin.log")).unwrap_or_default();
        log.lines().filter(|l| l.contains(" fsctrl pid=") && l.ends_with(&format!("called: status {name}"))).count()
    }

    fn stop(&self) {
        expect(&agent_run(self.sandbox.path(), "stop", &[("install_dir", &self.install)], &[]), 0, "stop");
        assert!(self.warp.processes().is_empty(), "left: {:?}", self.warp.processes());
    }
}

#[test]
fn a_child_restarted_by_the_main_process_within_the_grace_is_not_a_failure() {
    // Down for about 2.5 s after its death: 1.5 s until the main process restarts it, 1 s starting.
    let s = started("restart", &["CHILD_RESTART_DELAY=1.5", "CHILD_START_DELAY=1", "FSCTRL_WHOLE_DOWN_EXIT=1"]);
    let install = s.install.as_str();
    for (what, services, asked) in [("one service", Some("FlowService"), Some("FlowService")), ("the whole service", None, None)] {
        let child = s.kill_child("FlowService");
        assert_eq!(s.fsctrl_status(asked), 1, "{what}: the stand-in reports the dead child down");
        let mut params = vec![("install_dir", install), ("child_restart_grace", "8s")];
        params.extend(services.map(|names| ("services", names)));
        let r = depth_10(s.sandbox.path(), &params, "20000");
        expect(&r, 0, &format!("{what}: depth 10 while the main process restarts the child"));
        assert!(r.elapsed >= Duration::from_secs(1), "{what}: it waited for the restart: {:?}", r.elapsed);
        let label = services.map_or("fsctrl status".to_string(), |n| format!("fsctrl status {n}"));
        assert!(r.stderr.contains("runs and restarts dead children: asking again for up to"), "{what}: {}", r.stderr);
        assert!(r.stderr.contains(&format!("{label} answers running again")), "{what}: {}", r.stderr);
        assert!(r.exit_reason().is_none(), "{what}: {:?}", r.exit_reason());
        s.wait_restarted("FlowService", child);
    }
    s.stop();
}

#[test]
fn a_child_that_stays_down_fails_depth_10_after_the_grace_within_the_budget() {
    // The main process would restart it only after 10 minutes: down for the whole test.
    let s = started("staysdown", &["CHILD_RESTART_DELAY=600"]);
    let install = s.install.as_str();
    s.kill_child("FlowService");
    let depth_0 = agent_run(s.sandbox.path(), "monitor", &[("install_dir", install)], &[("OCF_RESKEY_CRM_meta_interval", "15000")]);
    expect(&depth_0, 0, "depth 0: the main process runs");

    let service = [("install_dir", install), ("services", "FlowService"), ("child_restart_grace", "2s")];
    let r = depth_10(s.sandbox.path(), &service, "20000");
    expect(&r, 1, "a child still down after the grace");
    assert!(r.elapsed >= Duration::from_secs(2) && r.elapsed < Duration::from_secs(8), "{:?}", r.elapsed);
    let reason = r.exit_reason().unwrap();
    assert!(reason.starts_with("warp: fsctrl status FlowService exited 1") && reason.contains("s later)"), "{reason}");
    assert!(reason.len() <= 128, "{reason}");

    // 0: reported at once, as before the grace existed.
    let r = depth_10(s.sandbox.path(), &[("install_dir", install), ("services", "FlowService"), ("child_restart_grace", "0")], "20000");
    expect(&r, 1, "no grace");
    assert!(r.elapsed < Duration::from_secs(2), "{:?}", r.elapsed);
    assert!(!r.stderr.contains("asking again"), "{}", r.stderr);

    // A grace longer than the op: cut to the op's budget, and a failure, never a tolerated timeout.
    let long = [("install_dir", install), ("services", "FlowService"), ("child_restart_grace", "60s"), ("check_timeouts_tolerated", "3")];
    let r = depth_10(s.sandbox.path(), &long, "6000");
    expect(&r, 1, "a grace longer than the monitor timeout");
    assert!(r.elapsed < Duration::from_secs(6), "inside the 6 s timeout: {:?}", r.elapsed);
    assert!(r.elapsed >= Duration::from_secs(3), "it used the budget: {:?}", r.elapsed);
    assert!(!r.stderr.contains("MWHA6003W"), "{}", r.stderr);
    s.stop();
}

#[test]
fn the_main_process_gone_during_the_grace_fails_at_once() {
    let s = started("maingone", &["CHILD_RESTART_DELAY=600"]);
    let main = s.warp.main_pid().unwrap();
    s.kill_child("FlowService");
    let sandbox = s.sandbox.path().to_path_buf();
    let install = s.install.clone();
    let monitor = std::thread::spawn(move || {
        depth_10(&sandbox, &[("install_dir", &install), ("services", "FlowService"), ("child_restart_grace", "30s")], "20000")
    });
    // Once the agent has asked twice it is waiting for the restart: then the main process dies.
    assert!(testkit::wait_until(Duration::from_secs(10), || s.fsctrl_calls("FlowService") >= 2), "the agent asked again");
    kill(Pid::from_raw(main), Signal::SIGKILL).unwrap();
    let r = monitor.join().unwrap();
    expect(&r, 1, "the main process died while the child was down");
    assert!(r.elapsed < Duration::from_secs(10), "not the 30 s grace: {:?}", r.elapsed);
    let reason = r.exit_reason().unwrap();
    assert!(reason.contains(&format!("the main process (pid {main}) is gone")), "{reason}");
    s.stop();
}
