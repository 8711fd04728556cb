//! The Booster's crash watcher (`watcher`, on by default; only with `pidfile`, the Booster's main
//! process) driven through the real agent against the stand-in OMFLOW Booster, with the fake
//! `crm_resource` of testkit recording every report: started after start, one per resource, none
//! without a PID file or with watcher=false, gone after stop, quiet through promote and demote
//! (their site commands may restart the Booster) and armed again after them, one report when
//! the Booster is killed.

use std::fs;
use std::path::Path;
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use testkit::omflow::{alive, expect, run, with, Omflow, RECURRING};
use testkit::{wait_until, AgentRun};

const AGENT: &str = env!("CARGO_BIN_EXE_omflow-booster");
const ON_NODE: (&str, &str) = ("OCF_RESKEY_CRM_meta_on_node", "node-a");
/// What Pacemaker 2.1 passes to an instance of a promotable clone (see agent.rs).
const PROMOTABLE: &[(&str, &str)] = &[
    ("OCF_RESKEY_CRM_meta_clone", "0"),
    ("OCF_RESKEY_CRM_meta_clone_max", "2"),
    ("OCF_RESKEY_CRM_meta_promoted_max", "1"),
    ("OCF_RESKEY_CRM_meta_promoted_node_max", "1"),
    ON_NODE,
];

/// The Booster's parameters with its PID file (the stand-in writes `run/booster.pid`).
fn params(o: &Omflow, more: &[(&str, &str)]) -> Vec<(String, String)> {
    let pidfile = o.path("Booster/run/booster.pid");
    let mut all = vec![("pidfile", pidfile.as_str())];
    all.extend_from_slice(more);
    with(&o.booster_params(), &all)
}

fn plain(o: &Omflow, action: &str, more: &[(&str, &str)]) -> AgentRun {
    run(Path::new(AGENT), action, o, &params(o, more), &[ON_NODE])
}

fn promotable(o: &Omflow, action: &str, extra: &[(&str, &str)]) -> AgentRun {
    let env: Vec<(&str, &str)> = PROMOTABLE.iter().chain(extra).copied().collect();
    run(Path::new(AGENT), action, o, &params(o, &[]), &env)
}

/// The recorded watcher and the process it watches.
fn record(o: &Omflow) -> Option<(i32, i32)> {
    let text = fs::read_to_string(o.sandbox.path().join("run/omflow-booster/booster/watcher")).ok()?;
    let fields: Vec<i32> = text.split_whitespace().filter_map(|f| f.parse().ok()).collect();
    Some((fields[0], fields[2]))
}

fn live_record(o: &Omflow) -> Option<(i32, i32)> {
    record(o).filter(|(watcher, _)| alive(*watcher))
}

fn booster_pid(o: &Omflow) -> i32 {
    fs::read_to_string(o.path("Booster/run/booster.pid")).unwrap().trim().parse().unwrap()
}

fn reports(o: &Omflow) -> Vec<String> {
    o.crm_resource().reports()
}

#[test]
fn a_booster_with_a_pid_file_is_watched_and_a_kill_is_reported_once() {
    let o = Omflow::create("booster-watch", &[]);
    expect(&plain(&o, "start", &[]), 0, "start");
    let (watcher, watched) = live_record(&o).expect("start left a watcher");
    assert_eq!(watched, booster_pid(&o), "it watches the PID file's Booster");
    expect(&plain(&o, "monitor", &[]), 0, "probe");
    expect(&run(Path::new(AGENT), "monitor", &o, &params(&o, &[]), &[ON_NODE, RECURRING]), 0, "recurring monitor");
    assert_eq!(live_record(&o).map(|r| r.0), Some(watcher), "one watcher per resource");

    kill(Pid::from_raw(watched), Signal::SIGKILL).unwrap();
    assert!(wait_until(Duration::from_secs(5), || !reports(&o).is_empty()), "no report: {:?}", o.crm_resource().calls());
    assert_eq!(reports(&o), ["--fail --resource booster --node node-a"]);
    assert!(wait_until(Duration::from_secs(5), || !alive(watcher)), "the watcher exits after its report");

    expect(&plain(&o, "stop", &[]), 0, "stop after the crash");
    expect(&plain(&o, "start", &[]), 0, "start again");
    let (second, _) = live_record(&o).expect("a new watcher");
    assert_ne!(second, watcher);
    expect(&plain(&o, "stop", &[]), 0, "stop");
    assert!(!alive(second), "stop ended the watcher");
    assert_eq!(record(&o), None, "stop forgot the watcher");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(reports(&o).len(), 1, "a normal stop is never reported: {:?}", o.crm_resource().calls());
}

#[test]
fn no_watcher_without_a_pid_file_or_with_watcher_false() {
    let o = Omflow::create("booster-nowatch", &[]);
    let no_pidfile = run(Path::new(AGENT), "start", &o, &o.booster_params(), &[ON_NODE]);
    expect(&no_pidfile, 0, "start without pidfile");
    assert_eq!(live_record(&o), None, "no main process to watch");
    expect(&plain(&o, "stop", &[]), 0, "stop");

    expect(&plain(&o, "start", &[("watcher", "false")]), 0, "start with watcher=false");
    assert_eq!(live_record(&o), None);
    // A monitor with the watcher on arms one; one with watcher=false ends it.
    expect(&plain(&o, "monitor", &[]), 0, "monitor, watcher on");
    let (watcher, _) = live_record(&o).expect("the monitor armed a watcher");
    expect(&plain(&o, "monitor", &[("watcher", "false")]), 0, "monitor, watcher off");
    assert!(wait_until(Duration::from_secs(3), || !alive(watcher)), "watcher=false ends the watcher left running");
    expect(&plain(&o, "stop", &[]), 0, "stop");
    assert_eq!(reports(&o), Vec::<String>::new());
}

#[test]
fn promote_and_demote_stand_the_watcher_down_and_arm_it_again() {
    let o = Omflow::create("booster-watch-roles", &[]);
    expect(&promotable(&o, "start", &[]), 0, "start");
    let (first, _) = live_record(&o).expect("a watcher after start");
    expect(&promotable(&o, "promote", &[]), 0, "promote");
    assert!(!alive(first), "promote ended the watcher before promote_cmd");
    let (after_promote, watched) = live_record(&o).expect("armed again after promote");
    assert_eq!(watched, booster_pid(&o));
    expect(&promotable(&o, "demote", &[]), 0, "demote");
    assert!(!alive(after_promote), "demote ended the watcher before demote_cmd");
    let (after_demote, _) = live_record(&o).expect("armed again after demote");
    expect(&promotable(&o, "stop", &[]), 0, "stop");
    assert!(!alive(after_demote), "stop ended the watcher");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(reports(&o), Vec::<String>::new(), "no report through promote, demote and stop");
}
