//! The omflow-server binary driven like Pacemaker drives it, against the stand-in Booster Agent
//! and OMFLOW Server from `tests/standin/omflow`.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use testkit::omflow::{alive, expect, run, with, Omflow, RECURRING};
use testkit::AgentRun;

const AGENT: &str = env!("CARGO_BIN_EXE_omflow-server");

fn agent() -> &'static Path {
    Path::new(AGENT)
}

fn act(o: &Omflow, action: &str) -> AgentRun {
    run(agent(), action, o, &o.server_params(), &[])
}

fn recurring(o: &Omflow, level: &str) -> AgentRun {
    run(agent(), "monitor", o, &o.server_params(), &[RECURRING, ("OCF_CHECK_LEVEL", level)])
}

fn booster(o: &Omflow, action: &str) {
    let out = Command::new(o.root.join("Booster/omflow_booster_service")).arg(action).output().unwrap();
    assert!(out.status.success(), "booster {action}: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn rc_matrix_and_the_server_reports_the_booster_it_uses() {
    let o = Omflow::create("matrix", &[]);
    expect(&act(&o, "monitor"), 7, "probe before start");
    expect(&recurring(&o, "0"), 7, "monitor before start");
    expect(&act(&o, "stop"), 0, "stop of a stopped agent");
    booster(&o, "start");
    let r = act(&o, "start");
    expect(&r, 0, "start");
    // start returned only once the OMFLOW Server answers.
    assert_eq!(o.server_get("/").as_deref(), Some("ok\n"));
    expect(&recurring(&o, "0"), 0, "monitor");
    expect(&recurring(&o, "10"), 0, "monitor with probe_url");
    expect(&act(&o, "start"), 0, "second start is a no-op");
    assert!(
        testkit::wait_until(Duration::from_secs(5), || o
            .server_get("/booster")
            .is_some_and(|b| b.contains("\"booster\": \"booster-one\""))),
        "{:?}",
        o.server_get("/booster")
    );
    let servers = o.processes("Server");
    assert_eq!(servers.len(), 1, "{servers:?}");
    expect(&act(&o, "stop"), 0, "stop");
    assert!(o.processes("BoosterAgent").is_empty() && o.processes("Server").is_empty(), "{:?}", o.all_processes());
    expect(&act(&o, "monitor"), 7, "probe after stop");
    expect(&act(&o, "stop"), 0, "stop is idempotent");
    booster(&o, "stop");
}

#[test]
fn stop_removes_a_server_the_agent_left_behind_outside_its_process_tree() {
    // The agent exits on SIGTERM without stopping the server, which daemonized away from it.
    let o = Omflow::create("detached", &["AGENT_STOPS_SERVER=0", "SERVER_DETACH=1"]);
    expect(&act(&o, "start"), 0, "start");
    let servers = o.processes("Server");
    assert_eq!(servers.len(), 1, "{servers:?}");
    let r = act(&o, "stop");
    expect(&r, 0, "stop");
    assert!(!alive(servers[0]), "the detached OMFLOW Server survived stop:\n{}", r.stderr);
    assert!(o.all_processes().is_empty(), "{:?}", o.all_processes());

    // server_match only names processes: without it the launch ID still finds the server.
    expect(&act(&o, "start"), 0, "start");
    let servers = o.processes("Server");
    let no_match = with(&o.server_params(), &[("server_match", "")]);
    expect(&run(agent(), "stop", &o, &no_match, &[]), 0, "stop without server_match");
    assert!(servers.iter().all(|pid| !alive(*pid)), "the detached server survived a stop without server_match");
    assert!(o.all_processes().is_empty(), "{:?}", o.all_processes());
    expect(&act(&o, "monitor"), 7, "probe after stop");
}

#[test]
fn a_hung_stop_script_and_an_agent_that_ignores_sigterm_finish_inside_the_timeout() {
    let o = Omflow::create("hung", &["AGENT_IGNORE_TERM=1", "AGENT_STOP_HANG=1", "SERVER_IGNORE_TERM=1"]);
    expect(&act(&o, "start"), 0, "start");
    let before = o.all_processes();
    assert!(before.len() >= 2, "{before:?}");
    let r = run(agent(), "stop", &o, &o.server_params(), &[("OCF_RESKEY_CRM_meta_timeout", "9000")]);
    expect(&r, 0, "stop");
    assert!(r.elapsed < Duration::from_secs(9), "{:?}", r.elapsed);
    assert!(r.stderr.contains("SIGKILL"), "{}", r.stderr);
    for pid in before {
        assert!(!alive(pid), "pid {pid} survived");
    }
}

#[test]
fn a_killed_agent_is_restarted_cleanly_and_a_hung_status_is_bounded() {
    let o = Omflow::create("killed", &[]);
    expect(&act(&o, "start"), 0, "start");
    for pid in o.processes("BoosterAgent") {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL).unwrap();
    }
    assert!(testkit::wait_until(Duration::from_secs(5), || o.processes("BoosterAgent").is_empty()));
    let r = recurring(&o, "0");
    expect(&r, 1, "agent gone, server orphaned");
    let old_server = o.processes("Server");
    // Pacemaker's recovery: stop, start.
    expect(&act(&o, "stop"), 0, "stop");
    expect(&act(&o, "start"), 0, "start");
    assert!(old_server.iter().all(|p| !alive(*p)));
    expect(&recurring(&o, "10"), 0, "monitor after recovery");

    o.set("AGENT_STATUS_HANG=1");
    let r = run(agent(), "monitor", &o, &o.server_params(), &[RECURRING, ("OCF_RESKEY_CRM_meta_timeout", "4000")]);
    expect(&r, 1, "hung status");
    assert!(r.elapsed < Duration::from_secs(4), "{:?}", r.elapsed);
    assert!(r.exit_reason().is_some_and(|e| e.contains("status did not finish")), "{:?}", r.exit_reason());
    expect(&act(&o, "stop"), 0, "stop does not need status");
    assert!(o.all_processes().is_empty(), "{:?}", o.all_processes());
}

#[test]
fn start_waits_for_the_server_and_fails_within_the_timeout_when_it_never_answers() {
    let o = Omflow::create("slow", &["SERVER_START_DELAY=2"]);
    let started = Instant::now();
    expect(&act(&o, "start"), 0, "start");
    assert!(started.elapsed() >= Duration::from_secs(2), "{:?}", started.elapsed());
    assert_eq!(o.server_get("/").as_deref(), Some("ok\n"));
    expect(&act(&o, "stop"), 0, "stop");

    let o = Omflow::create("broken", &["SERVER_HTTP_STATUS=500"]);
    let r = run(agent(), "start", &o, &o.server_params(), &[("OCF_RESKEY_CRM_meta_timeout", "4000")]);
    expect(&r, 1, "a server that answers 500");
    assert!(r.elapsed < Duration::from_secs(4), "{:?}", r.elapsed);
    assert!(r.exit_reason().is_some_and(|e| e.contains("HTTP 500")), "{:?}", r.exit_reason());
    expect(&act(&o, "stop"), 0, "stop after a failed start");

    let o = Omflow::create("agentfail", &["AGENT_START_FAIL=1"]);
    let r = act(&o, "start");
    expect(&r, 1, "an agent that exits at start");
    assert!(r.elapsed < Duration::from_secs(10), "{:?}", r.elapsed);
    assert!(r.exit_reason().is_some_and(|e| e.contains("exited during start")), "{:?}", r.exit_reason());
    assert!(o.all_processes().is_empty(), "{:?}", o.all_processes());
}

#[test]
fn missing_install_bad_parameters_and_meta_data() {
    let o = Omflow::create("missing", &[]);
    let params = with(&o.server_params(), &[("service_script", "/nonexistent/svc"), ("install_dir", "/nonexistent")]);
    let r = run(agent(), "monitor", &o, &params, &[]);
    expect(&r, 7, "probe on a node without the agent");
    expect(&run(agent(), "monitor", &o, &params, &[RECURRING]), 1, "recurring monitor without the agent");
    expect(&run(agent(), "validate-all", &o, &params, &[]), 5, "validate without the agent");
    expect(&run(agent(), "start", &o, &params, &[]), 5, "start without the agent");
    expect(&run(agent(), "stop", &o, &params, &[]), 0, "stop without the agent");
    let broad = o.root.display().to_string();
    let r = run(agent(), "validate-all", &o, &with(&o.server_params(), &[("server_match", &broad)]), &[]);
    expect(&r, 6, "server_match covering the whole OMFLOW folder");
    expect(&act(&o, "validate-all"), 0, "validate-all");
    expect(&act(&o, "promote"), 3, "not promotable");
    let r = testkit::run_agent(agent(), "meta-data", "server", &[], &[]);
    expect(&r, 0, "meta-data");
    assert!(r.stdout.starts_with("<?xml") && r.stderr.is_empty(), "{}", r.stderr);
}

#[test]
fn a_probe_url_that_times_out_is_tolerated_as_configured() {
    // An OMFLOW Server address that accepts connections and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", silent.local_addr().unwrap());
    let o = Omflow::create("probe-timeout", &[]);
    booster(&o, "start");
    expect(&act(&o, "start"), 0, "start");
    let params = with(&o.server_params(), &[("probe_url", &url), ("check_timeouts_tolerated", "1")]);
    let deep = [RECURRING, ("OCF_CHECK_LEVEL", "10"), ("OCF_RESKEY_CRM_meta_timeout", "3000")];
    let r = run(agent(), "monitor", &o, &params, &deep);
    expect(&r, 0, "first timeout of probe_url: tolerated");
    assert!(r.stderr.contains("MWHA6003W") && r.stderr.contains("probe_url"), "{}", r.stderr);
    let r = run(agent(), "monitor", &o, &params, &deep);
    expect(&r, 1, "second timeout in a row: a failure");
    let strict = with(&o.server_params(), &[("probe_url", &url)]);
    expect(&run(agent(), "monitor", &o, &strict, &deep), 1, "check_timeouts_tolerated=0: fails at once");
    expect(&act(&o, "stop"), 0, "stop");
    booster(&o, "stop");
}
