//! The crash watcher (`watcher=true`, ocf::watch) driven through the real agent against the
//! stand-in Warp, with a fake `crm_resource` (tests/fakecrm) that records every call: started
//! after start, one per resource, gone after stop, no report for a normal stop, a stopped cluster
//! management or a product restarted by someone else, one report within a second of a kill -9.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use testkit::{alive, run_agent, wait_until, AgentRun, Sandbox, Warp};

mod fakecrm;
use fakecrm::FakeCrm;

const AGENT: &str = env!("CARGO_BIN_EXE_flowsvc");
const NODE: &str = "node-a";

struct Rig {
    sandbox: Sandbox,
    warp: Warp,
    crm: FakeCrm,
}

impl Rig {
    fn new(name: &str, switches: &[&str]) -> Rig {
        let sandbox = Sandbox::new(name);
        let warp = Warp::create(&sandbox, "warp", None, switches);
        let crm = FakeCrm::in_dir(sandbox.path());
        Rig { sandbox, warp, crm }
    }

    fn run_dir(&self) -> PathBuf {
        self.sandbox.path().join("run")
    }

    /// The agent as Pacemaker runs it on node-a, its state and `crm_resource` in the sandbox.
    fn run(&self, action: &str, params: &[(&str, &str)], extra: &[(&str, &str)]) -> AgentRun {
        let install = self.warp.install_dir.display().to_string();
        let run_dir = self.run_dir().display().to_string();
        let (hook, crm) = self.crm.hook();
        // The watcher is on by default; these tests say so anyway (a later "watcher" wins).
        let mut all = vec![("install_dir", install.as_str()), ("watcher", "true")];
        all.extend_from_slice(params);
        let mut env = vec![("MWHA_RUN_DIR", run_dir.as_str()), (hook, crm.as_str()), ("OCF_RESKEY_CRM_meta_on_node", NODE)];
        env.extend_from_slice(extra);
        run_agent(Path::new(AGENT), action, "warp", &all, &env)
    }

    fn expect(&self, action: &str, params: &[(&str, &str)], extra: &[(&str, &str)], code: i32) -> AgentRun {
        let r = self.run(action, params, extra);
        assert_eq!(r.code, code, "{action}: expected rc {code}\n--- stderr\n{}", r.stderr);
        r
    }

    fn start(&self, params: &[(&str, &str)]) {
        self.expect("start", params, &[], 0);
    }

    fn recurring_monitor(&self) -> AgentRun {
        self.run("monitor", &[], &[("OCF_RESKEY_CRM_meta_interval", "10000")])
    }

    /// The watcher the record names (`WATCHER_PID WATCHER_START MAIN_PID MAIN_START`) and the
    /// main process it watches.
    fn record(&self) -> Option<(i32, i32)> {
        let text = fs::read_to_string(self.run_dir().join("flowsvc/warp/watcher")).ok()?;
        let fields: Vec<i32> = text.split_whitespace().filter_map(|f| f.parse().ok()).collect();
        Some((fields[0], fields[2]))
    }

    /// Live watchers started for this sandbox (their environment names its run directory).
    fn watchers(&self) -> Vec<i32> {
        let needle = format!("MWHA_RUN_DIR={}", self.run_dir().display());
        let mut found = Vec::new();
        for entry in fs::read_dir("/proc").unwrap().flatten() {
            let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else { continue };
            let is_watcher = cmdline(pid).get(1).is_some_and(|a| a == "__watch");
            let ours = fs::read(format!("/proc/{pid}/environ")).is_ok_and(|e| e.split(|b| *b == 0).any(|v| v == needle.as_bytes()));
            if is_watcher && ours && alive(pid) {
                found.push(pid);
            }
        }
        found
    }

    fn main_pid(&self) -> i32 {
        self.warp.main_pid().expect("a PID file")
    }
}

fn cmdline(pid: i32) -> Vec<String> {
    let raw = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    raw.split(|b| *b == 0).filter(|a| !a.is_empty()).map(|a| String::from_utf8_lossy(a).into_owned()).collect()
}

fn kill9(pid: i32) {
    kill(Pid::from_raw(pid), Signal::SIGKILL).unwrap();
}

/// Fields 5 and 6 of /proc/<pid>/stat: process group and session.
fn group_and_session(pid: i32) -> (i32, i32) {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let rest: Vec<&str> = stat.rsplit_once(')').unwrap().1.split_whitespace().collect();
    (rest[2].parse().unwrap(), rest[3].parse().unwrap())
}

#[test]
fn the_watcher_comes_with_start_and_goes_with_stop_and_a_normal_stop_is_not_reported() {
    let rig = Rig::new("watch-cycle", &[]);
    let url = rig.warp.probe_url();
    rig.start(&[("probe_url", &url)]);
    let (watcher, watched) = rig.record().expect("start recorded a watcher");
    assert_eq!(watched, rig.main_pid(), "it watches the main process");
    assert_eq!(rig.watchers(), [watcher]);

    // Detached like a daemon: its own session and group, cwd /, stdio /dev/null, nothing open on
    // the product's folders, a clean environment, a command line without the install folder.
    assert_eq!(cmdline(watcher)[1..], ["__watch", "warp"]);
    assert_eq!(group_and_session(watcher), (watcher, watcher));
    assert_eq!(fs::read_link(format!("/proc/{watcher}/cwd")).unwrap(), Path::new("/"));
    for entry in fs::read_dir(format!("/proc/{watcher}/fd")).unwrap().flatten() {
        let target = fs::read_link(entry.path()).unwrap_or_default();
        assert!(!target.starts_with(rig.sandbox.path()), "fd {:?} -> {}", entry.file_name(), target.display());
        if ["0", "1", "2"].contains(&entry.file_name().to_str().unwrap()) {
            assert_eq!(target, Path::new("/dev/null"), "fd {:?}", entry.file_name());
        }
    }
    let environ = fs::read(format!("/proc/{watcher}/environ")).unwrap();
    let names: Vec<String> = environ
        .split(|b| *b == 0)
        .filter_map(|v| v.split(|b| *b == b'=').next())
        .map(|n| String::from_utf8_lossy(n).into_owned())
        .filter(|n| !n.is_empty())
        .collect();
    // The test hooks pass on only in test builds.
    let allowed = [
        "PATH",
        "LANG",
        "LC_ALL",
        "TZ",
        "HA_LOGFACILITY",
        "HA_LOGFILE",
        "HA_debug",
        "OCF_RESOURCE_INSTANCE",
        "MWHA_RUN_DIR",
        "MWHA_CRM_RESOURCE",
    ];
    assert!(names.iter().all(|n| allowed.contains(&n.as_str()) || n.starts_with("MWHA_WATCH_")), "{names:?}");
    assert!(names.contains(&"MWHA_WATCH_MAIN".to_string()), "{names:?}");
    assert!(!rig.warp.processes().contains(&watcher), "the watcher's command line mentions the install folder");

    // One watcher per resource: another start, a probe and a recurring monitor keep it.
    rig.start(&[]);
    rig.expect("monitor", &[], &[], 0);
    assert_eq!(rig.recurring_monitor().code, 0);
    assert_eq!(rig.record().map(|r| r.0), Some(watcher));
    assert_eq!(rig.watchers(), [watcher]);

    let main = rig.main_pid();
    rig.expect("stop", &[], &[], 0);
    assert!(!alive(main));
    assert!(!alive(watcher), "stop ended the watcher");
    assert!(rig.watchers().is_empty());
    assert_eq!(rig.record(), None, "stop forgot the watcher");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(rig.crm.reports(), Vec::<String>::new(), "a normal stop is never reported");
    rig.expect("monitor", &[], &[], 7);
    assert!(rig.watchers().is_empty(), "a probe of a stopped service starts no watcher");
}

#[test]
fn a_killed_main_process_is_reported_once_within_a_second() {
    let rig = Rig::new("watch-kill", &[]);
    rig.start(&[]);
    let (watcher, _) = rig.record().unwrap();
    let main = rig.main_pid();
    kill9(main);
    let killed = Instant::now();
    assert!(wait_until(Duration::from_secs(5), || !rig.crm.reports().is_empty()), "no report: {:?}", rig.crm.calls());
    let took = killed.elapsed();
    assert!(took < Duration::from_secs(1), "reported {took:?} after the kill");
    assert_eq!(rig.crm.reports(), ["--fail --resource warp --node node-a"]);
    assert!(wait_until(Duration::from_secs(5), || !alive(watcher)), "the watcher exits after its report");
    // The monitor stays the truth; stop and a new start bring a new watcher, and only one report.
    assert_eq!(rig.recurring_monitor().code, 1);
    rig.expect("stop", &[], &[], 0);
    assert!(rig.warp.processes().is_empty(), "left: {:?}", rig.warp.processes());
    rig.start(&[]);
    let (second, _) = rig.record().unwrap();
    assert_ne!(second, watcher);
    rig.expect("stop", &[], &[], 0);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(rig.crm.reports().len(), 1, "{:?}", rig.crm.calls());
}

#[test]
fn no_report_when_the_cluster_does_not_manage_the_resource() {
    let rig = Rig::new("watch-unmanaged", &[]);
    rig.start(&[]);
    let (watcher, _) = rig.record().unwrap();
    // Maintenance mode, maintenance=true or is-managed=false: crm_resource shows managed="false".
    rig.crm.set_managed(false);
    kill9(rig.main_pid());
    assert!(wait_until(Duration::from_secs(5), || !alive(watcher)));
    assert!(rig.crm.calls().iter().any(|c| c.starts_with("--resource warp --query-xml")), "{:?}", rig.crm.calls());
    assert_eq!(rig.crm.reports(), Vec::<String>::new());
    rig.expect("stop", &[], &[], 0);
}

#[test]
fn a_product_restarted_by_someone_else_is_not_reported_and_the_monitor_watches_the_new_one() {
    let rig = Rig::new("watch-replaced", &[]);
    rig.start(&[]);
    let (watcher, old_main) = rig.record().unwrap();
    // Someone starts a new main process by hand (no HTTP: the old one holds the port); it
    // rewrites the PID file, then the old one dies.
    rig.warp.set("HTTP_PORT=0");
    let main_py = rig.warp.install_dir.join("server/lib/warpmain.py");
    let mut by_hand =
        Command::new("python3").arg(&main_py).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let new_main = by_hand.id() as i32;
    assert!(wait_until(Duration::from_secs(5), || rig.warp.main_pid() == Some(new_main)));
    kill9(old_main);
    assert!(wait_until(Duration::from_secs(5), || !alive(watcher)));
    assert_eq!(rig.crm.reports(), Vec::<String>::new(), "a replaced product is not a failure");
    // The monitor finds the new main process running and watches it.
    assert_eq!(rig.recurring_monitor().code, 0);
    let (second, watched) = rig.record().unwrap();
    assert_eq!(watched, new_main);
    assert!(alive(second) && second != watcher);
    rig.expect("stop", &[], &[], 0);
    assert!(!alive(second));
    let _ = by_hand.wait();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(rig.crm.reports(), Vec::<String>::new());
}

#[test]
fn a_killed_watcher_costs_only_speed_and_a_monitor_brings_it_back() {
    let rig = Rig::new("watch-rearm", &[]);
    rig.start(&[]);
    let (first, _) = rig.record().unwrap();
    kill9(first);
    assert!(wait_until(Duration::from_secs(5), || !alive(first)));
    assert_eq!(rig.recurring_monitor().code, 0, "the service still runs");
    let (second, _) = rig.record().unwrap();
    assert!(second != first && alive(second));
    // A probe (after a cluster restart, a cleanup) re-arms too.
    kill9(second);
    assert!(wait_until(Duration::from_secs(5), || !alive(second)));
    rig.expect("monitor", &[], &[], 0);
    let (third, _) = rig.record().unwrap();
    assert!(third != second && alive(third));
    assert_eq!(rig.watchers(), [third]);
    kill9(rig.main_pid());
    assert!(wait_until(Duration::from_secs(5), || rig.crm.reports().len() == 1), "{:?}", rig.crm.calls());
    rig.expect("stop", &[], &[], 0);
}

#[test]
fn watcher_false_leaves_no_watcher_and_ends_one_left_running() {
    let rig = Rig::new("watch-off", &[]);
    rig.start(&[]);
    let (watcher, _) = rig.record().unwrap();
    // A start with watcher=false of a running service ends the watcher left from before.
    rig.start(&[("watcher", "false")]);
    assert!(!alive(watcher));
    assert!(rig.watchers().is_empty());
    assert_eq!(rig.run("monitor", &[("watcher", "false")], &[("OCF_RESKEY_CRM_meta_interval", "10000")]).code, 0);
    assert!(rig.watchers().is_empty(), "a monitor with watcher=false starts none");
    kill9(rig.main_pid());
    std::thread::sleep(Duration::from_millis(500));
    assert!(rig.crm.calls().is_empty(), "{:?}", rig.crm.calls());
    assert_eq!(rig.run("monitor", &[("watcher", "false")], &[("OCF_RESKEY_CRM_meta_interval", "10000")]).code, 1, "the monitor finds it");
    rig.expect("stop", &[("watcher", "false")], &[], 0);
    assert!(rig.warp.processes().is_empty());
}
