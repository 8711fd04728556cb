//! The omflow-booster binary driven like Pacemaker drives it, against the stand-in OMFLOW Booster
//! from `tests/standin/omflow`, with a fake crm_attribute that records the promotion scores.

use std::path::Path;
use std::time::{Duration, Instant};

use testkit::omflow::{alive, expect, fake_db, hold_port, run, with, Omflow, RECURRING};
use testkit::AgentRun;

const AGENT: &str = env!("CARGO_BIN_EXE_omflow-booster");

fn agent() -> &'static Path {
    Path::new(AGENT)
}

fn act(o: &Omflow, action: &str) -> AgentRun {
    run(agent(), action, o, &o.booster_params(), &[])
}

fn recurring(o: &Omflow) -> AgentRun {
    run(agent(), "monitor", o, &o.booster_params(), &[RECURRING, ("OCF_RESKEY_CRM_meta_role", "Unpromoted")])
}

fn started(name: &str, switches: &[&str]) -> Omflow {
    let o = Omflow::create(name, switches);
    expect(&act(&o, "start"), 0, "start");
    o
}

#[test]
fn rc_matrix_stopped_started_promoted_demoted_stopped_with_scores() {
    let o = Omflow::create("matrix", &[]);
    expect(&act(&o, "monitor"), 7, "probe before start");
    expect(&recurring(&o), 7, "monitor before start");
    expect(&act(&o, "stop"), 0, "stop of a stopped Booster");
    o.clear_crm_calls();

    let r = act(&o, "start");
    expect(&r, 0, "start");
    assert_eq!(o.booster_role().as_deref(), Some("standby"), "start runs demote_cmd");
    assert!(o.crm_calls().contains("--promotion=booster --lifetime reboot --update 5"), "{}", o.crm_calls());
    expect(&recurring(&o), 0, "monitor while unpromoted");
    expect(&act(&o, "start"), 0, "second start is a no-op");

    o.clear_crm_calls();
    expect(&act(&o, "promote"), 0, "promote");
    assert_eq!(o.booster_role().as_deref(), Some("active"), "promote runs promote_cmd");
    assert!(o.crm_calls().contains("--update 10"), "{}", o.crm_calls());
    expect(&recurring(&o), 8, "monitor while promoted");
    expect(&act(&o, "promote"), 0, "promote is idempotent");

    // Probes re-publish the score like ocf:pacemaker:Stateful; recurring monitors do not.
    o.clear_crm_calls();
    expect(&recurring(&o), 8, "recurring monitor");
    assert!(o.crm_calls().is_empty(), "{}", o.crm_calls());
    let r = run(agent(), "monitor", &o, &o.booster_params(), &[("OCF_RESKEY_CRM_meta_on_node", "n1")]);
    expect(&r, 8, "probe while promoted");
    assert!(o.crm_calls().contains("--node n1 --update 10"), "{}", o.crm_calls());

    o.clear_crm_calls();
    expect(&act(&o, "demote"), 0, "demote");
    assert_eq!(o.booster_role().as_deref(), Some("standby"));
    assert!(o.crm_calls().contains("--update 5"), "{}", o.crm_calls());
    expect(&recurring(&o), 0, "monitor after demote");
    expect(&act(&o, "demote"), 0, "demote is idempotent");

    expect(&act(&o, "promote"), 0, "promote again");
    o.clear_crm_calls();
    let r = act(&o, "stop");
    expect(&r, 0, "stop while promoted");
    assert!(o.crm_calls().contains("--delete"), "stop deletes the score: {}", o.crm_calls());
    assert!(o.processes("Booster").is_empty(), "left: {:?}", o.processes("Booster"));
    expect(&act(&o, "monitor"), 7, "probe after stop");
    expect(&recurring(&o), 7, "monitor after stop");
    expect(&act(&o, "stop"), 0, "stop is idempotent");
}

#[test]
fn start_comes_up_unpromoted_even_if_the_booster_remembers_being_active() {
    let o = Omflow::create("unpromoted", &[]);
    std::fs::write(o.root.join("Booster/run/role"), "active\n").unwrap();
    expect(&act(&o, "start"), 0, "start");
    assert_eq!(o.booster_role().as_deref(), Some("standby"));
    expect(&recurring(&o), 0, "Pacemaker sees an unpromoted instance");
    expect(&act(&o, "stop"), 0, "stop");
}

#[test]
fn a_failed_promoted_booster_is_9_an_unpromoted_one_1_and_the_score_is_withdrawn() {
    let o = started("failed", &[]);
    expect(&act(&o, "promote"), 0, "promote");
    // A status that hangs: the monitor answers within its own timeout.
    o.set("BOOSTER_STATUS_HANG=1");
    o.clear_crm_calls();
    let r = run(agent(), "monitor", &o, &o.booster_params(), &[RECURRING, ("OCF_RESKEY_CRM_meta_timeout", "4000")]);
    expect(&r, 9, "promoted with a hung status");
    assert!(r.elapsed < Duration::from_secs(4), "{:?}", r.elapsed);
    assert!(r.exit_reason().is_some_and(|e| e.contains("status did not finish")), "{:?}", r.exit_reason());
    assert!(o.crm_calls().contains("--delete"), "{}", o.crm_calls());
    expect(&act(&o, "demote"), 0, "demote of a failed promoted instance");
    let r = run(agent(), "monitor", &o, &o.booster_params(), &[RECURRING, ("OCF_RESKEY_CRM_meta_timeout", "4000")]);
    expect(&r, 1, "unpromoted with a hung status");
    expect(&act(&o, "stop"), 0, "stop does not need status");
    assert!(o.processes("Booster").is_empty());

    // A promoted Booster whose process died: stopped (7), like ocf:pacemaker:Stateful.
    o.set("BOOSTER_STATUS_HANG=0");
    expect(&act(&o, "start"), 0, "start");
    expect(&act(&o, "promote"), 0, "promote");
    for pid in o.processes("Booster") {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL).unwrap();
    }
    assert!(testkit::wait_until(Duration::from_secs(5), || o.processes("Booster").is_empty()));
    expect(&recurring(&o), 7, "promoted Booster killed");
    expect(&act(&o, "stop"), 0, "stop");
}

#[test]
fn promote_is_refused_when_db_check_fails_or_the_booster_is_unhealthy() {
    let o = started("refuse", &[]);
    let closed = format!("tcp://127.0.0.1:{}", testkit::free_port());
    let params = with(&o.booster_params(), &[("db_check", &closed)]);
    let r = run(agent(), "promote", &o, &params, &[]);
    expect(&r, 1, "promote with the database down");
    assert!(r.exit_reason().is_some_and(|e| e.starts_with("booster: refusing to promote: db_check failed")), "{:?}", r.exit_reason());
    assert_eq!(o.booster_role().as_deref(), Some("standby"), "promote_cmd must not run");
    expect(&run(agent(), "monitor", &o, &params, &[RECURRING]), 0, "still unpromoted");
    // Depth 10 checks the database too.
    let r = run(agent(), "monitor", &o, &params, &[RECURRING, ("OCF_CHECK_LEVEL", "10")]);
    expect(&r, 1, "depth 10 with the database down");
    assert!(r.exit_reason().is_some_and(|e| e.contains("db_check")), "{:?}", r.exit_reason());

    let (db, url) = fake_db();
    let params = with(&o.booster_params(), &[("db_check", &url)]);
    expect(&run(agent(), "promote", &o, &params, &[]), 0, "promote with the database up");
    expect(&run(agent(), "monitor", &o, &params, &[RECURRING, ("OCF_CHECK_LEVEL", "10")]), 8, "depth 10 promoted");
    drop(db);
    expect(&run(agent(), "monitor", &o, &params, &[RECURRING, ("OCF_CHECK_LEVEL", "10")]), 9, "depth 10 promoted, database gone");
    expect(&act(&o, "demote"), 0, "demote");

    // A promote_cmd that fails fails the promote.
    o.set("BOOSTER_ROLE_HOOK_FAIL=1");
    let r = act(&o, "promote");
    expect(&r, 1, "promote_cmd fails");
    assert!(r.exit_reason().is_some_and(|e| e.contains("promote_cmd exited 1")), "{:?}", r.exit_reason());
    o.set("BOOSTER_ROLE_HOOK_FAIL=0");
    expect(&act(&o, "stop"), 0, "stop");
    let r = act(&o, "promote");
    expect(&r, 1, "promote of a stopped Booster");
    assert!(r.exit_reason().is_some_and(|e| e.contains("not healthy")), "{:?}", r.exit_reason());
}

#[test]
fn stop_kills_the_boosters_workers_and_never_a_stranger_on_its_port() {
    // A stray process holding the port, started by someone else: not the Booster's, whatever
    // port it holds. It is reported, never signalled.
    let o = Omflow::create("holder", &[]);
    let mut stray = hold_port(o.booster_port, o.sandbox.path());
    let r = act(&o, "monitor");
    expect(&r, 7, "probe: status says stopped, the port holder is not the Booster's");
    assert!(r.stderr.contains("not the Booster's"), "{}", r.stderr);
    let r = act(&o, "stop");
    expect(&r, 0, "stop");
    assert!(r.stderr.contains("not signalled"), "{}", r.stderr);
    assert!(stray.try_wait().unwrap().is_none(), "a stranger holding the port was signalled by stop");
    let r = act(&o, "start");
    assert_ne!(r.code, 0, "start cannot succeed while a stranger holds the port");
    stray.kill().unwrap();
    let _ = stray.wait();

    // A Booster that ignores its stop script and SIGTERM, with a detached worker that inherited
    // the listening socket under another command line.
    let o = started("worker", &["BOOSTER_WORKER=1", "BOOSTER_IGNORE_TERM=1", "BOOSTER_STOP_HANG=1"]);
    let before = o.all_processes();
    assert!(before.len() >= 2, "booster + worker: {before:?}");
    let worker = before.iter().copied().find(|pid| !o.processes("Booster").contains(pid)).expect("a worker without install_dir");
    let r = run(agent(), "stop", &o, &o.booster_params(), &[("OCF_RESKEY_CRM_meta_timeout", "10000")]);
    expect(&r, 0, "stop of a Booster that ignores stop and SIGTERM");
    assert!(r.elapsed < Duration::from_secs(10), "{:?}", r.elapsed);
    assert!(r.stderr.contains("SIGKILL"), "{}", r.stderr);
    for pid in before {
        assert!(!alive(pid), "pid {pid} survived (worker {worker})");
    }
    expect(&act(&o, "monitor"), 7, "probe after stop");
}

#[test]
fn slow_start_waits_for_the_port_and_a_failed_start_is_1_quickly() {
    let o = Omflow::create("slow", &["BOOSTER_START_DELAY=2"]);
    let started = Instant::now();
    expect(&act(&o, "start"), 0, "slow start");
    assert!(started.elapsed() >= Duration::from_secs(2), "{:?}", started.elapsed());
    assert!(std::net::TcpStream::connect(("127.0.0.1", o.booster_port)).is_ok());
    expect(&act(&o, "stop"), 0, "stop");

    let o = Omflow::create("fail", &["BOOSTER_START_FAIL=1"]);
    let r = act(&o, "start");
    expect(&r, 1, "a Booster that exits at start");
    assert!(r.elapsed < Duration::from_secs(10), "{:?}", r.elapsed);
    assert!(r.exit_reason().is_some_and(|e| e.contains("exited during start")), "{:?}", r.exit_reason());
    expect(&act(&o, "stop"), 0, "stop after a failed start");

    // A start that never answers is bounded by the op timeout.
    let o = Omflow::create("never", &["BOOSTER_START_DELAY=60"]);
    let r = run(agent(), "start", &o, &o.booster_params(), &[("OCF_RESKEY_CRM_meta_timeout", "4000")]);
    expect(&r, 1, "a Booster that never listens");
    assert!(r.elapsed < Duration::from_secs(4), "{:?}", r.elapsed);
    assert!(r.exit_reason().is_some_and(|e| e.starts_with("booster: ")), "{:?}", r.exit_reason());
    assert!(r.stderr.contains("waiting for the Booster to answer"), "{}", r.stderr);
    expect(&act(&o, "stop"), 0, "stop");
    assert!(o.all_processes().is_empty());
}

#[test]
fn notify_logs_the_peers_and_always_returns_0() {
    let o = Omflow::create("notify", &[]);
    let r = run(
        agent(),
        "notify",
        &o,
        &o.booster_params(),
        &[
            ("OCF_RESKEY_CRM_meta_notify_type", "post"),
            ("OCF_RESKEY_CRM_meta_notify_operation", "promote"),
            ("OCF_RESKEY_CRM_meta_notify_promote_resource", "booster:1"),
            ("OCF_RESKEY_CRM_meta_notify_promote_uname", "n2"),
        ],
    );
    expect(&r, 0, "notify");
    assert!(r.stderr.contains("post-promote promote=[booster:1 on n2]"), "{}", r.stderr);
    expect(&act(&o, "notify"), 0, "notify without variables (ocf-tester)");
}

#[test]
fn scores_are_best_effort_without_a_cluster() {
    let o = Omflow::create("nocluster", &[]);
    let mut params = o.booster_params();
    params.retain(|(k, _)| k != "promote_cmd");
    // No MWHA_CRM_ATTRIBUTE: the real crm_attribute, which cannot reach a cluster here.
    let plain = |action: &str| {
        let p: Vec<(&str, &str)> = params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let run_dir = o.sandbox.path().join("run").display().to_string();
        testkit::run_agent(agent(), action, "booster", &p, &[("MWHA_RUN_DIR", run_dir.as_str())])
    };
    for (action, code) in [("start", 0), ("promote", 0), ("monitor", 8), ("demote", 0), ("stop", 0)] {
        let r = plain(action);
        expect(&r, code, action);
        assert!(r.elapsed < Duration::from_secs(10), "{action}: {:?}", r.elapsed);
    }
}

#[test]
fn missing_install_bad_parameters_and_meta_data() {
    let o = Omflow::create("missing", &[]);
    let params = with(&o.booster_params(), &[("service_script", "/nonexistent/omflow_booster_service"), ("install_dir", "/nonexistent")]);
    let r = run(agent(), "monitor", &o, &params, &[]);
    expect(&r, 7, "probe on a node without the Booster");
    assert!(r.exit_reason().is_none());
    expect(&run(agent(), "monitor", &o, &params, &[RECURRING]), 1, "recurring monitor without the Booster");
    expect(&run(agent(), "validate-all", &o, &params, &[]), 5, "validate without the Booster");
    expect(&run(agent(), "start", &o, &params, &[]), 5, "start without the Booster");
    expect(&run(agent(), "stop", &o, &params, &[]), 0, "stop without the Booster");
    let r = run(agent(), "validate-all", &o, &with(&o.booster_params(), &[("promote_cmd", "booster-role active")]), &[]);
    expect(&r, 6, "relative promote_cmd");
    assert_eq!(r.exit_reason(), Some("booster: promote_cmd: the program must be an absolute path, not \"booster-role\""));
    expect(&run(agent(), "validate-all", &o, &with(&o.booster_params(), &[("port", "99999")]), &[]), 6, "bad port");
    expect(&run(agent(), "validate-all", &o, &with(&o.booster_params(), &[("user", "no-such-user-mwha")]), &[]), 2, "unknown user");
    expect(&act(&o, "validate-all"), 0, "validate-all");
    expect(&act(&o, "frobnicate"), 3, "unknown action");
    let r = testkit::run_agent(agent(), "meta-data", "booster", &[], &[("OCF_OUTPUT_FORMAT", "text")]);
    expect(&r, 0, "meta-data");
    assert!(r.stdout.starts_with("<?xml") && r.stderr.is_empty(), "{}", r.stderr);
}

#[test]
fn shell_metacharacters_in_commands_are_literal() {
    let o = Omflow::create("meta", &[]);
    let marker = o.sandbox.path().join("pwned");
    let evil = format!("{} active;touch {}", o.path("Booster/bin/booster-role"), marker.display());
    let params = with(&o.booster_params(), &[("promote_cmd", &evil)]);
    expect(&run(agent(), "start", &o, &params, &[]), 0, "start");
    let r = run(agent(), "promote", &o, &params, &[]);
    expect(&r, 1, "promote_cmd gets 'active;touch' as one argument");
    assert!(!marker.exists(), "a parameter reached a shell");
    expect(&run(agent(), "stop", &o, &params, &[]), 0, "stop");
}

#[test]
fn a_db_check_that_times_out_is_tolerated_as_configured() {
    // A database address that accepts connections and never answers (the HTTP check hangs).
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", silent.local_addr().unwrap());
    let o = started("db-timeout", &[]);
    let params = with(&o.booster_params(), &[("db_check", &url), ("check_timeouts_tolerated", "1")]);
    let deep = [RECURRING, ("OCF_CHECK_LEVEL", "10"), ("OCF_RESKEY_CRM_meta_timeout", "3000"), ("OCF_RESKEY_CRM_meta_role", "Unpromoted")];
    let r = run(agent(), "monitor", &o, &params, &deep);
    expect(&r, 0, "first timeout of db_check: tolerated");
    assert!(r.stderr.contains("MWHA6003W") && r.stderr.contains("db_check"), "{}", r.stderr);
    let r = run(agent(), "monitor", &o, &params, &deep);
    expect(&r, 1, "second timeout in a row: a failure");
    assert!(r.exit_reason().is_some_and(|e| e.contains("db_check")), "{:?}", r.exit_reason());
    let strict = with(&o.booster_params(), &[("db_check", &url)]);
    expect(&run(agent(), "monitor", &o, &strict, &deep), 1, "check_timeouts_tolerated=0: fails at once");
    expect(&act(&o, "stop"), 0, "stop");
}
