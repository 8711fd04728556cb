//! The binary on small synthetic logs: options, several logs, gzip, exit codes, the man page.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mwha-timeline"))
}

struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let dir = std::env::temp_dir().join(format!("mwha-timeline-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Dir(dir)
    }

    fn write(&self, name: &str, lines: &[&str]) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, lines.iter().map(|l| format!("{}\n", detail(l))).collect::<String>()).unwrap();
        path
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// "22:14:05.100 n2 pacemaker-controld notice: msg" → a detail-log line of Dec 01.
fn detail(short: &str) -> String {
    let mut p = short.splitn(4, ' ');
    let (ts, host, daemon, rest) = (p.next().unwrap(), p.next().unwrap(), p.next().unwrap(), p.next().unwrap());
    let (prio, msg) = rest.split_once(": ").unwrap();
    format!("Dec 01 {ts} {host} {daemon:<20}[42] (some_function) \t{prio}: {msg}")
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn arg(p: &Path) -> &str {
    p.to_str().unwrap()
}

const N2: &[&str] = &[
    "22:14:05.100 n2 pacemaker-controld notice: Node n1 state is now lost | nodeid=1 previous=member source=crm_reconnect_lrm",
    "22:14:07.200 n2 pacemaker-schedulerd notice: Actions: Start      d     ( n2 )",
    "22:14:07.210 n2 pacemaker-controld notice: Initiating start operation d_start_0 locally on n2 | action 6",
    "22:14:07.234 n2 pacemaker-execd info: d start (call 20, PID 999) exited with status 0 (execution time 24ms)",
    "22:14:07.235 n2 pacemaker-controld notice: Result of start operation for d on n2: ok | CIB update 30, graph action confirmed; call=20 key=d_start_0 rc=0",
    "22:14:07.240 n2 pacemaker-controld notice: Initiating start operation vip_start_0 on n3 | action 7",
    "22:14:07.400 n2 pacemaker-controld info: Transition 1 action 7 (vip_start_0 on n3) confirmed: ok | rc=0 call-id=5",
    "22:20:00.000 n2 pacemaker-controld notice: Result of monitor operation for d on n2: not running | call=22 key=d_monitor_10000 rc=7",
    "22:20:00.100 n2 pacemaker-controld notice: Initiating stop operation d_stop_0 locally on n2 | action 2",
    "22:20:00.150 n2 pacemaker-controld notice: Result of stop operation for d on n2: ok | call=23 key=d_stop_0 rc=0",
    "22:20:00.160 n2 pacemaker-controld notice: Initiating start operation d_start_0 locally on n2 | action 3",
    "22:20:00.190 n2 pacemaker-controld notice: Result of start operation for d on n2: ok | call=24 key=d_start_0 rc=0",
];

const N3: &[&str] = &[
    "22:14:05.101 n3 pacemaker-attrd notice: Node n1 state is now lost | nodeid=1 previous=member source=crm_update_peer_proc",
    "22:14:07.250 n3 pacemaker-execd info: executing - rsc:vip action:start call_id:5",
    "22:14:07.390 n3 pacemaker-execd info: vip start (call 5, PID 7) exited with status 0 (execution time 140ms)",
    "22:14:07.391 n3 pacemaker-controld notice: Result of start operation for vip on n3: ok | call=5 key=vip_start_0 rc=0",
];

#[test]
fn two_nodes_logs_merge_into_one_timeline_per_incident() {
    let d = Dir::new("merge");
    let (n2, n3) = (d.write("n2.log", N2), d.write("n3.log", N3));
    let o = run(&["--log", arg(&n2), "--log", arg(&n3), "--year", "2025"]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let text = stdout(&o);
    assert!(text.starts_with("Incident 1: 2025-12-01 22:14:05.100 (first sign: node n1 lost)\n"), "{text}");
    assert!(text.contains("  n1  node lost  seen by n2,n3\n"), "{text}");
    assert!(text.contains("      +2140 ms  n3  start vip  ok (140 ms)\n"), "{text}");
    assert!(text.contains("      +2291 ms  n3  end        last start: vip\n"), "{text}");
    assert!(text.contains("\nIncident 2: 2025-12-01 22:20:00.000 (first sign: monitor of d failed on n2)\n"), "{text}");
    assert_eq!(text.matches("Incident ").count(), 2);
}

#[test]
fn json_output() {
    let d = Dir::new("json");
    let (n2, n3) = (d.write("n2.log", N2), d.write("n3.log", N3));
    let o = run(&["--log", arg(&n2), "--log", arg(&n3), "--year", "2025", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let incidents = doc["incidents"].as_array().unwrap();
    assert_eq!(incidents.len(), 2);
    assert_eq!(incidents[0]["start"], "2025-12-01T22:14:05.100");
    let events = incidents[0]["events"].as_array().unwrap();
    let kinds: Vec<_> = events.iter().map(|e| (e["kind"].as_str().unwrap(), e["at_ms"].as_i64().unwrap())).collect();
    assert_eq!(kinds, [("node-lost", 0), ("start", 2110), ("start", 2140)]);
    assert_eq!(events[2]["node"], "n3");
    assert_eq!(events[2]["resource"], "vip");
    assert_eq!(events[2]["rc"], 0);
    assert_eq!(events[2]["duration_ms"], 140);
    assert_eq!(incidents[0]["totals"]["total_ms"], 2291, "the end of vip's start as n3 logged it");
    assert_eq!(doc["skipped_lines"], 0);
}

#[test]
fn since_until_resource_and_japanese() {
    let d = Dir::new("filters");
    let n2 = d.write("n2.log", N2);
    let o = run(&["--log", arg(&n2), "--year", "2025", "--since", "2025-12-01 22:15"]);
    let text = stdout(&o);
    assert!(text.starts_with("Incident 1: 2025-12-01 22:20:00.000 (first sign: monitor of d failed on n2)"), "{text}");
    assert_eq!(text.matches("Incident ").count(), 1);

    let o = run(&["--log", arg(&n2), "--year", "2025", "--until", "2025-12-01 22:15", "--resource", "vip"]);
    let text = stdout(&o);
    assert!(text.contains("start vip") && !text.contains("start d "), "{text}");

    let o = run(&["--log", arg(&n2), "--year", "2025", "--resource", "nothing"]);
    assert_eq!(o.status.code(), Some(1), "no incident: exit 1");
    assert!(stdout(&o).starts_with("No incident found ("));

    let o = run(&["--log", arg(&n2), "--year", "2025", "--lang", "ja", "--until", "2025-12-01 22:15"]);
    let text = stdout(&o);
    assert!(text.starts_with("インシデント 1：2025-12-01 22:14:05.100 (最初の兆候：ノード n1 の消失)\n"), "{text}");
    assert!(text.contains("      +2140 ms  n3  起動 vip    成功 (160 ms)\n"), "{text}");
    assert!(text.contains("障害 → 検知 2100 ms、検知 → 最初の起動 10 ms、起動 190 ms、合計 2300 ms"), "{text}");
}

#[test]
fn fault_and_marks_from_the_caller() {
    let d = Dir::new("fault");
    let n2 = d.write("n2.log", N2);
    let o = run(&[
        "--log",
        arg(&n2),
        "--year",
        "2025",
        "--fault",
        "2025-12-01 22:14:03.100",
        "--mark",
        "2025-12-01 22:14:07.600=service answered again",
        "--json",
    ]);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let first = &doc["incidents"][0];
    assert_eq!(first["start"], "2025-12-01T22:14:03.100");
    assert_eq!(first["fault_given"], true);
    assert_eq!(first["events"][0]["at_ms"], 2000);
    assert_eq!(first["totals"]["fault_to_detected_ms"], 4100);
    assert_eq!(first["marks"][0], serde_json::json!({"at_ms": 4500, "label": "service answered again"}));
    assert_eq!(doc["incidents"][1]["fault_given"], false);
}

#[test]
fn gzip_rotated_logs_and_unknown_lines() {
    let d = Dir::new("gz");
    let plain: String = N2.iter().map(|l| format!("{}\n", detail(l))).collect();
    let mut text = String::from("garbage line\nSet r/w permissions for uid=189, gid=189 on /var/log/pacemaker/pacemaker.log\n");
    text.push_str(&plain);
    text.push_str("Dec 01 22:14:07.9");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(text.as_bytes()).unwrap();
    let rotated = d.0.join("pacemaker.log-20251202.gz");
    std::fs::write(&rotated, gz.finish().unwrap()).unwrap();
    let o = run(&["--log", arg(&rotated), "--year", "2025", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["incidents"].as_array().unwrap().len(), 2);
    assert_eq!(doc["skipped_lines"], 3);
}

#[test]
fn errors_and_the_man_page() {
    let o = run(&["--log", "/nonexistent/pacemaker.log"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("cannot open /nonexistent/pacemaker.log"));
    let o = run(&["--since", "yesterday"]);
    assert_eq!(o.status.code(), Some(2));
    let o = run(&["--lang", "fr"]);
    assert_eq!(o.status.code(), Some(2));
    // --cib without a reachable cluster: the logs alone, and a warning.
    let d = Dir::new("cib");
    let n2 = d.write("n2.log", N2);
    let o = run(&["--log", arg(&n2), "--year", "2025", "--cib"]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let o = run(&["--log", arg(&n2), "--cib-file", "/nonexistent/cib.xml"]);
    assert_eq!(o.status.code(), Some(2));
    // packaging/build: `BIN man-cli`, a page with a .TH line naming the section.
    let o = run(&["man-cli"]);
    assert_eq!(o.status.code(), Some(0));
    let man = stdout(&o);
    assert!(man.lines().any(|l| l.starts_with(".TH mwha-timeline 8")), "{man}");
    for option in ["\\-\\-log", "\\-\\-since", "\\-\\-resource", "\\-\\-lang", "\\-\\-json"] {
        assert!(man.contains(option), "{option} in the man page");
    }
    // groff without preconv reads Latin-1: every non-ASCII character is an escape (→ is \[u2192]).
    assert!(man.is_ascii(), "{man}");
    assert!(man.contains("fault \\[u2192] detected"), "{man}");
}
