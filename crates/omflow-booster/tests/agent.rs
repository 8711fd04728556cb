//! The omflow-booster binary driven like Pacemaker drives it, against the stand-in OMFLOW Booster
//! from `tests/standin/omflow`, with a fake crm_attribute that records the promotion scores.
//!
//! Two layouts: the plain primitive (the vendor's, and the default: no clone variables) and an
//! instance of a promotable clone (`PROMOTABLE`, what Pacemaker 2.1 passes to one). The tests up to
//! `plain_…` drive the promotable mode; those from there on the plain primitive.

use std::path::Path;
use std::time::{Duration, Instant};

use testkit::omflow::{alive, expect, fake_db, hold_port, run, with, Omflow, RECURRING};
use testkit::AgentRun;

const AGENT: &str = env!("CARGO_BIN_EXE_omflow-booster");

/// The clone meta-attributes Pacemaker 2.1 passes to every action of a promotable clone's instance
/// (`cts/scheduler/exp`; no `CRM_meta_promotable` among them).
const PROMOTABLE: &[(&str, &str)] = &[
    ("OCF_RESKEY_CRM_meta_clone", "0"),
    ("OCF_RESKEY_CRM_meta_clone_max", "2"),
    ("OCF_RESKEY_CRM_meta_clone_node_max", "1"),
    ("OCF_RESKEY_CRM_meta_globally_unique", "false"),
    ("OCF_RESKEY_CRM_meta_notify", "true"),
    ("OCF_RESKEY_CRM_meta_promoted_max", "1"),
    ("OCF_RESKEY_CRM_meta_promoted_node_max", "1"),
    ("OCF_RESKEY_CRM_meta_master_max", "1"),
    ("OCF_RESKEY_CRM_meta_master_node_max", "1"),
];

fn agent() -> &'static Path {
    Path::new(AGENT)
}

/// One action of the promotable clone's instance.
fn run_p(action: &str, o: &Omflow, params: &[(String, String)], extra: &[(&str, &str)]) -> AgentRun {
    let env: Vec<(&str, &str)> = PROMOTABLE.iter().chain(extra).copied().collect();
    run(agent(), action, o, params, &env)
}

fn act(o: &Omflow, action: &str) -> AgentRun {
    run_p(action, o, &o.booster_params(), &[])
}

fn recurring(o: &Omflow) -> AgentRun {
    run_p("monitor", o, &o.booster_params(), &[RECURRING, ("OCF_RESKEY_CRM_meta_role", "Unpromoted")])
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
    let r = run_p("monitor", &o, &o.booster_params(), &[("OCF_RESKEY_CRM_meta_on_node", "n1")]);
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
    let r = run_p("monitor", &o, &o.booster_params(), &[RECURRING, ("OCF_RESKEY_CRM_meta_timeout", "4000")]);
    expect(&r, 9, "promoted with a hung status");
    assert!(r.elapsed < Duration::from_secs(4), "{:?}", r.elapsed);
    assert!(r.exit_reason().is_some_and(|e| e.contains("status did not finish")), "{:?}", r.exit_reason());
    assert!(o.crm_calls().contains("--delete"), "{}", o.crm_calls());
    expect(&act(&o, "demote"), 0, "demote of a failed promoted instance");
    let r = run_p("monitor", &o, &o.booster_params(), &[RECURRING, ("OCF_RESKEY_CRM_meta_timeout", "4000")]);
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

/// At a cold start the promote may come while the database is still starting: it waits for it
/// within half its timeout instead of failing at once.
#[test]
fn promote_waits_for_a_database_that_is_still_starting() {
    let o = started("db-late", &[]);
    let port = testkit::free_port();
    let url = format!("tcp://127.0.0.1:{port}");
    let params = with(&o.booster_params(), &[("db_check", &url)]);
    let database = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(2));
        std::net::TcpListener::bind(("127.0.0.1", port)).expect("the database's port")
    });
    let r = run_p("promote", &o, &params, &[("OCF_RESKEY_CRM_meta_timeout", "20000")]);
    let _database = database.join().unwrap();
    expect(&r, 0, "promote while the database comes up");
    assert!(r.elapsed >= Duration::from_secs(2), "it waited for the database: {:?}", r.elapsed);
    assert!(r.stderr.contains("the database answers"), "{}", r.stderr);
    expect(&act(&o, "stop"), 0, "stop");
}

#[test]
fn promote_is_refused_when_db_check_fails_or_the_booster_is_unhealthy() {
    let o = started("refuse", &[]);
    let closed = format!("tcp://127.0.0.1:{}", testkit::free_port());
    let params = with(&o.booster_params(), &[("db_check", &closed)]);
    let r = run_p("promote", &o, &params, &[("OCF_RESKEY_CRM_meta_timeout", "6000")]);
    expect(&r, 1, "promote with the database down");
    assert!(r.elapsed < Duration::from_secs(6), "inside the promote's timeout: {:?}", r.elapsed);
    assert!(r.exit_reason().is_some_and(|e| e.starts_with("booster: refusing to promote: db_check failed")), "{:?}", r.exit_reason());
    assert_eq!(o.booster_role().as_deref(), Some("standby"), "promote_cmd must not run");
    expect(&run_p("monitor", &o, &params, &[RECURRING]), 0, "still unpromoted");
    // Depth 10 checks the database too.
    let r = run_p("monitor", &o, &params, &[RECURRING, ("OCF_CHECK_LEVEL", "10")]);
    expect(&r, 1, "depth 10 with the database down");
    assert!(r.exit_reason().is_some_and(|e| e.contains("db_check")), "{:?}", r.exit_reason());

    let (db, url) = fake_db();
    let params = with(&o.booster_params(), &[("db_check", &url)]);
    expect(&run_p("promote", &o, &params, &[]), 0, "promote with the database up");
    expect(&run_p("monitor", &o, &params, &[RECURRING, ("OCF_CHECK_LEVEL", "10")]), 8, "depth 10 promoted");
    drop(db);
    expect(&run_p("monitor", &o, &params, &[RECURRING, ("OCF_CHECK_LEVEL", "10")]), 9, "depth 10 promoted, database gone");
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
    let r = run_p("stop", &o, &o.booster_params(), &[("OCF_RESKEY_CRM_meta_timeout", "10000")]);
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
    let r = run_p("start", &o, &o.booster_params(), &[("OCF_RESKEY_CRM_meta_timeout", "4000")]);
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
    let r = run_p(
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
        let env: Vec<(&str, &str)> = PROMOTABLE.iter().copied().chain([("MWHA_RUN_DIR", run_dir.as_str())]).collect();
        testkit::run_agent(agent(), action, "booster", &p, &env)
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
    let r = run_p("monitor", &o, &params, &[]);
    expect(&r, 7, "probe on a node without the Booster");
    assert!(r.exit_reason().is_none());
    expect(&run_p("monitor", &o, &params, &[RECURRING]), 1, "recurring monitor without the Booster");
    expect(&run_p("validate-all", &o, &params, &[]), 5, "validate without the Booster");
    expect(&run_p("start", &o, &params, &[]), 5, "start without the Booster");
    expect(&run_p("stop", &o, &params, &[]), 0, "stop without the Booster");
    let r = run_p("validate-all", &o, &with(&o.booster_params(), &[("promote_cmd", "booster-role active")]), &[]);
    expect(&r, 6, "relative promote_cmd");
    assert_eq!(r.exit_reason(), Some("booster: promote_cmd: the program must be an absolute path, not \"booster-role\""));
    expect(&run_p("validate-all", &o, &with(&o.booster_params(), &[("port", "99999")]), &[]), 6, "bad port");
    expect(&run_p("validate-all", &o, &with(&o.booster_params(), &[("user", "no-such-user-mwha")]), &[]), 2, "unknown user");
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
    expect(&run_p("start", &o, &params, &[]), 0, "start");
    let r = run_p("promote", &o, &params, &[]);
    expect(&r, 1, "promote_cmd gets 'active;touch' as one argument");
    assert!(!marker.exists(), "a parameter reached a shell");
    expect(&run_p("stop", &o, &params, &[]), 0, "stop");
}

#[test]
fn a_db_check_that_times_out_is_tolerated_as_configured() {
    // A database address that accepts connections and never answers (the HTTP check hangs).
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", silent.local_addr().unwrap());
    let o = started("db-timeout", &[]);
    let params = with(&o.booster_params(), &[("db_check", &url), ("check_timeouts_tolerated", "1")]);
    let deep = [RECURRING, ("OCF_CHECK_LEVEL", "10"), ("OCF_RESKEY_CRM_meta_timeout", "3000"), ("OCF_RESKEY_CRM_meta_role", "Unpromoted")];
    let r = run_p("monitor", &o, &params, &deep);
    expect(&r, 0, "first timeout of db_check: tolerated");
    assert!(r.stderr.contains("MWHA6003W") && r.stderr.contains("db_check"), "{}", r.stderr);
    let r = run_p("monitor", &o, &params, &deep);
    expect(&r, 1, "second timeout in a row: a failure");
    assert!(r.exit_reason().is_some_and(|e| e.contains("db_check")), "{:?}", r.exit_reason());
    let strict = with(&o.booster_params(), &[("db_check", &url)]);
    expect(&run_p("monitor", &o, &strict, &deep), 1, "check_timeouts_tolerated=0: fails at once");
    expect(&act(&o, "stop"), 0, "stop");
}

// The plain primitive: the vendor's layout, where the two Boosters pair and choose the Active one.

/// The vendor's layout configures no role switch: no promote_cmd/demote_cmd.
fn vendor_params(o: &Omflow) -> Vec<(String, String)> {
    o.booster_params().into_iter().filter(|(k, _)| k != "promote_cmd" && k != "demote_cmd").collect()
}

fn plain(o: &Omflow, action: &str) -> AgentRun {
    run(agent(), action, o, &vendor_params(o), &[])
}

fn plain_recurring(o: &Omflow) -> AgentRun {
    run(agent(), "monitor", o, &vendor_params(o), &[RECURRING])
}

#[test]
fn plain_primitive_starts_monitors_and_stops_without_any_promotion_call() {
    let o = Omflow::create("plain", &[]);
    expect(&plain(&o, "monitor"), 7, "probe before start");
    expect(&plain_recurring(&o), 7, "monitor before start");
    expect(&plain(&o, "stop"), 0, "stop of a stopped Booster");

    let r = plain(&o, "start");
    expect(&r, 0, "start");
    assert!(r.exit_reason().is_none(), "{:?}", r.exit_reason());
    expect(&plain_recurring(&o), 0, "monitor of a running Booster");
    expect(&plain(&o, "monitor"), 0, "probe of a running Booster: 0, never 8");
    expect(&plain(&o, "start"), 0, "second start is a no-op");
    expect(&plain(&o, "validate-all"), 0, "validate-all");
    expect(&plain(&o, "notify"), 0, "notify");

    // Pacemaker never promotes a primitive; by hand (crm_resource --force-promote) it is 3.
    for action in ["promote", "demote"] {
        let r = plain(&o, action);
        expect(&r, 3, action);
        assert!(r.exit_reason().is_some_and(|e| e.contains("only for a promotable clone")), "{:?}", r.exit_reason());
    }
    expect(&plain_recurring(&o), 0, "still running, still not promoted");

    let r = plain(&o, "stop");
    expect(&r, 0, "stop");
    assert!(o.processes("Booster").is_empty(), "left: {:?}", o.processes("Booster"));
    expect(&plain_recurring(&o), 7, "monitor after stop");
    expect(&plain(&o, "monitor"), 7, "probe after stop");
    expect(&plain(&o, "stop"), 0, "stop is idempotent");

    // Not one crm_attribute call: no score published, none deleted.
    assert_eq!(o.crm_calls(), "", "a plain primitive called crm_attribute");
    assert_eq!(o.booster_role(), None, "nothing switched the Booster's role");
}

#[test]
fn plain_primitive_fails_with_1_never_9_and_ignores_the_role_hooks() {
    // A role recorded by an earlier promotable configuration of the same resource, and the
    // hooks still set: neither counts for a plain primitive.
    let o = Omflow::create("plain-failed", &[]);
    expect(&act(&o, "start"), 0, "start as a promotable instance");
    expect(&act(&o, "promote"), 0, "promote");
    assert_eq!(o.booster_role().as_deref(), Some("active"));
    o.clear_crm_calls();

    let with_hooks = |action: &str, extra: &[(&str, &str)]| run(agent(), action, &o, &o.booster_params(), extra);
    expect(&with_hooks("monitor", &[RECURRING]), 0, "plain monitor of a Booster promoted earlier: 0, not 8");
    let r = with_hooks("start", &[]);
    expect(&r, 0, "plain start");
    assert!(r.stderr.contains("demote_cmd is set but runs only in a promotable clone"), "{}", r.stderr);
    assert_eq!(o.booster_role().as_deref(), Some("active"), "demote_cmd must not run");

    o.set("BOOSTER_STATUS_HANG=1");
    let r = with_hooks("monitor", &[RECURRING, ("OCF_RESKEY_CRM_meta_timeout", "4000")]);
    expect(&r, 1, "a hung status: 1, never 9");
    assert!(r.exit_reason().is_some_and(|e| e.contains("status did not finish")), "{:?}", r.exit_reason());
    expect(&with_hooks("stop", &[]), 0, "stop does not need status");
    assert!(o.processes("Booster").is_empty());

    o.set("BOOSTER_STATUS_HANG=0");
    expect(&plain(&o, "start"), 0, "start");
    for pid in o.processes("Booster") {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL).unwrap();
    }
    assert!(testkit::wait_until(Duration::from_secs(5), || o.processes("Booster").is_empty()));
    expect(&plain_recurring(&o), 7, "a Booster that died");
    expect(&plain(&o, "stop"), 0, "stop");
    assert_eq!(o.crm_calls(), "", "a plain primitive called crm_attribute");
}

#[test]
fn a_stranger_on_the_port_is_named_by_start_and_monitor_and_never_signalled() {
    // The vendor's guide has the OMFLOW Server open port 5169 too: a holder that is not the
    // Booster's is named (pid and program), never signalled, and never fails a stop.
    let o = Omflow::create("stranger", &[]);
    let mut stray = hold_port(o.booster_port, o.sandbox.path());
    let holder = format!("port {} is held by pid {} (", o.booster_port, stray.id());

    let r = plain(&o, "monitor");
    expect(&r, 7, "probe: the stranger is not a failed Booster");
    assert!(r.stderr.contains(&holder) && r.stderr.contains("python3"), "{}", r.stderr);

    let r = plain_recurring(&o);
    expect(&r, 1, "recurring monitor: the Booster is down and cannot come back");
    let reason = r.exit_reason().unwrap_or_default().to_string();
    assert!(reason.starts_with("booster: not running: ") && reason.contains(&holder) && reason.contains("python3"), "{reason}");

    let r = plain(&o, "start");
    expect(&r, 1, "start while a stranger holds the port");
    let reason = r.exit_reason().unwrap_or_default().to_string();
    assert!(reason.starts_with(&format!("booster: not starting: {holder}")) && reason.contains("python3"), "{reason}");
    assert!(o.processes("Booster").is_empty(), "start launched the Booster anyway");

    let r = plain(&o, "stop");
    expect(&r, 0, "stop: the stranger does not fail it");
    assert!(r.stderr.contains(&holder) && r.stderr.contains("not signalled"), "{}", r.stderr);
    assert!(stray.try_wait().unwrap().is_none(), "the stranger was signalled");

    // The same in the promotable mode: the recurring monitor names it too (1 unpromoted).
    let r = run_p("monitor", &o, &o.booster_params(), &[RECURRING, ("OCF_RESKEY_CRM_meta_role", "Unpromoted")]);
    expect(&r, 1, "promotable recurring monitor");
    assert!(r.exit_reason().is_some_and(|e| e.contains(&holder)), "{:?}", r.exit_reason());
    assert!(stray.try_wait().unwrap().is_none(), "the stranger was signalled");

    stray.kill().unwrap();
    let _ = stray.wait();
    assert!(testkit::wait_until(Duration::from_secs(5), || std::net::TcpStream::connect(("127.0.0.1", o.booster_port)).is_err()));
    expect(&plain(&o, "start"), 0, "start once the port is free");
    expect(&plain(&o, "stop"), 0, "stop");
}
