//! The binary on logs recorded from the lab (tests/fixtures/README.md): Pacemaker 2.1.5, two
//! nodes, the scenarios of tests/fixtures/record.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

fn fixture(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name).to_str().unwrap().to_string()
}

fn run(args: &[&str]) -> Output {
    let mut all = vec!["--year", "2026"];
    all.extend_from_slice(args);
    Command::new(env!("CARGO_BIN_EXE_mwha-timeline")).args(&all).output().unwrap()
}

fn text(args: &[&str]) -> String {
    let o = run(args);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    String::from_utf8(o.stdout).unwrap()
}

fn json(args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.push("--json");
    let o = run(&all);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    serde_json::from_slice(&o.stdout).unwrap()
}

/// (at_ms, node, kind, resource, rc, duration_ms) of an event.
type Row = (i64, String, String, String, Option<i64>, Option<i64>);

fn events(incident: &Value) -> Vec<Row> {
    incident["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["at_ms"].as_i64().unwrap(),
                e["node"].as_str().unwrap().to_string(),
                e["kind"].as_str().unwrap().to_string(),
                e["resource"].as_str().unwrap_or("-").to_string(),
                e["rc"].as_i64(),
                e["duration_ms"].as_i64(),
            )
        })
        .collect()
}

fn ev(
    at: i64,
    node: &str,
    kind: &str,
    rsc: &str,
    rc: Option<i64>,
    ms: Option<i64>,
) -> (i64, String, String, String, Option<i64>, Option<i64>) {
    (at, node.to_string(), kind.to_string(), rsc.to_string(), rc, ms)
}

const FAILOVER: &str = "\
Incident 1: 2026-12-01 23:33:17.179 (first sign: monitor of s failed on n2)
         +0 ms  n2  monitor failed s   not running rc=7
        +36 ms      detected           Unexpected result (not running) was recorded for monitor of s on n2 at Dec 1 23:33:17 2026
        +60 ms  n2  stop s             failed: Timed Out after 2s (Resource agent did not complete within 2s) rc=1 (2012 ms)
      +2128 ms  n2  fencing requested  reboot
      +4340 ms  n2  node lost          seen by n1
      +4344 ms  n1  start s            ok (3023 ms)
      +4348 ms  n2  fencing done       OK (2220 ms) by n1
      +7388 ms  n1  end                last start: s
  fault → detected 36 ms, detected → first start 4308 ms, starts 3044 ms, total 7388 ms

Incident 2: 2026-12-01 23:33:40.099 (first sign: node n1 lost)
         +0 ms  n1  node lost          seen by n2
        +68 ms      detected           Cluster node n1 will be fenced: peer is no longer part of the cluster
        +80 ms  n1  fencing requested  reboot
        +84 ms  n2  start lab-fence    ok (100 ms)
      +2944 ms  n1  fencing done       OK (2864 ms) by n2
      +2944 ms  n2  start s            ok (3027 ms)
      +2952 ms  n2  start d            ok (22 ms)
      +3012 ms  n2  start vip          ok (69 ms)
      +5992 ms  n2  end                last start: s
  fault → detected 68 ms, detected → first start 16 ms, starts 5908 ms, total 5992 ms
";

#[test]
fn failover_both_nodes_logs() {
    // A stop that timed out on n2 (n2 fenced, s restarted on n1), then n1 crashed (lab kill):
    // n2 fenced it and started everything.
    assert_eq!(text(&["--log", &fixture("failover-n1.log"), "--log", &fixture("failover-n2.log")]), FAILOVER);
    // The order the logs are given in does not matter.
    assert_eq!(text(&["--log", &fixture("failover-n2.log"), "--log", &fixture("failover-n1.log")]), FAILOVER);
}

#[test]
fn failover_json() {
    let doc = json(&["--log", &fixture("failover-n1.log"), "--log", &fixture("failover-n2.log")]);
    let incidents = doc["incidents"].as_array().unwrap();
    assert_eq!(incidents.len(), 2);
    assert_eq!(incidents[0]["start"], "2026-12-01T23:33:17.179");
    assert_eq!(
        events(&incidents[0]),
        [
            ev(0, "n2", "monitor-failed", "s", Some(7), None),
            ev(60, "n2", "stop", "s", Some(1), Some(2012)),
            ev(2128, "n2", "fence", "-", None, Some(2220)),
            ev(4340, "n2", "node-lost", "-", None, None),
            ev(4344, "n1", "start", "s", Some(0), Some(3023)),
        ]
    );
    let crash = &incidents[1];
    assert_eq!(crash["start"], "2026-12-01T23:33:40.099");
    assert_eq!(crash["first_sign"]["kind"], "node-lost");
    assert_eq!(crash["detected_ms"], 68);
    assert_eq!(crash["end_ms"], 5992);
    assert_eq!(
        crash["totals"],
        serde_json::json!({"fault_to_detected_ms": 68, "detected_to_first_start_ms": 16, "starts_ms": 5908, "total_ms": 5992})
    );
    let fence = &crash["events"][1];
    assert_eq!(
        (fence["kind"].as_str(), fence["action"].as_str(), fence["result"].as_str(), fence["ok"].as_bool(), fence["by"].as_str()),
        (Some("fence"), Some("reboot"), Some("OK"), Some(true), Some("n2")),
        "fencing: requested, done, by whom"
    );
    let vip = crash["events"].as_array().unwrap().iter().find(|e| e["resource"] == "vip").unwrap();
    assert_eq!((vip["duration_source"].as_str(), vip["call"].as_i64()), (Some("executor"), Some(23)));
    assert_eq!(doc["skipped_lines"].as_i64(), Some(4), "the resource agents' own lines (no node name) are skipped");
}

#[test]
fn the_survivors_log_alone() {
    // n2 was fenced in the middle: its log has the failure, then nothing until it boots again.
    let out = text(&["--log", &fixture("failover-n2.log")]);
    assert!(
        out.starts_with(
            "Incident 1: 2026-12-01 23:33:17.179 (first sign: monitor of s failed on n2)
         +0 ms  n2  monitor failed s  not running rc=7
        +68 ms      detected          first action: stop s
        +68 ms  n2  stop s            failed: Timed Out after 2s (Resource agent did not complete within 2s) (2012 ms)
  fault → detected 68 ms, detected → first start none, starts none, total none
"
        ),
        "{out}"
    );
    assert!(out.ends_with(&FAILOVER[FAILOVER.find("\nIncident 2").unwrap()..]), "{out}");
}

#[test]
fn the_fault_time_of_the_test_and_a_mark() {
    let doc = json(&[
        "--log",
        &fixture("failover-n2.log"),
        "--since",
        "2026-12-01 23:33:30",
        "--fault",
        "2026-12-01 23:33:38.010",
        "--mark",
        "2026-12-01 23:33:43.400=service answered again",
    ]);
    let crash = &doc["incidents"][0];
    assert_eq!(doc["incidents"].as_array().unwrap().len(), 1);
    assert_eq!(crash["start"], "2026-12-01T23:33:38.010");
    assert_eq!(crash["fault_given"], true);
    assert_eq!(crash["first_sign"]["time"], "2026-12-01T23:33:40.099");
    assert_eq!(crash["events"][0]["at_ms"], 2089);
    assert_eq!(crash["totals"]["fault_to_detected_ms"], 2157);
    assert_eq!(crash["totals"]["total_ms"], 8081);
    assert_eq!(crash["marks"][0]["at_ms"], 5390);
}

#[test]
fn one_resource_in_japanese() {
    let out = text(&["--log", &fixture("failover-n1.log"), "--log", &fixture("failover-n2.log"), "--resource", "vip", "--lang", "ja"]);
    let expected = "\
インシデント 1：2026-12-01 23:33:40.099 (最初の兆候：ノード n1 の消失)
         +0 ms  n1  ノード消失        ログ n2
        +68 ms      検知              Cluster node n1 will be fenced: peer is no longer part of the cluster
        +80 ms  n1  フェンシング要求  reboot
      +2944 ms  n1  フェンシング完了  OK (2864 ms) 実行ノード n2
      +3012 ms  n2  起動 vip          成功 (69 ms)
      +3092 ms  n2  終了              最後の起動：vip
  障害 → 検知 68 ms、検知 → 最初の起動 2944 ms、起動 80 ms、合計 3092 ms
";
    assert_eq!(out, expected);
}

#[test]
fn no_fencing_monitor_failures_and_a_blocked_stop() {
    // Fencing off: d's monitor finds it gone, vip gets crm_resource --fail, s's stop times out
    // (and stays blocked: without fencing nothing else may start it).
    let doc = json(&["--log", &fixture("no-fencing-n1.log"), "--log", &fixture("no-fencing-n2.log")]);
    let incidents = doc["incidents"].as_array().unwrap();
    assert_eq!(incidents.len(), 3);
    assert_eq!(
        events(&incidents[0]),
        [
            ev(0, "n1", "monitor-failed", "d", Some(7), None),
            ev(72, "n1", "stop", "vip", Some(0), Some(66)),
            ev(148, "n1", "stop", "d", Some(0), Some(16)),
            ev(176, "n1", "start", "d", Some(0), Some(25)),
            ev(236, "n1", "start", "vip", Some(0), Some(117)),
        ]
    );
    assert_eq!(
        incidents[1]["first_sign"],
        serde_json::json!({"kind": "failure-reported", "node": "n1", "resource": "vip", "time": "2026-12-01T23:20:48.543"})
    );
    assert_eq!(incidents[1]["events"][0]["result"], "error (Simulated failure)");
    // crm_resource --fail (the crash watcher's report) is told apart from a failed monitor.
    let out = text(&["--log", &fixture("no-fencing-n1.log"), "--log", &fixture("no-fencing-n2.log")]);
    assert!(out.contains("(first sign: failure of vip reported on n1)"), "{out}");
    assert!(
        out.contains("failure reported vip  error (Simulated failure) rc=1 (crm_resource --fail: the mwha watcher or an admin)"),
        "{out}"
    );
    assert_eq!(events(&incidents[2]), [ev(0, "n2", "monitor-failed", "s", Some(7), None), ev(40, "n2", "stop", "s", Some(1), Some(2010))]);
    assert_eq!(
        incidents[2]["totals"],
        serde_json::json!({"fault_to_detected_ms": 24, "detected_to_first_start_ms": null, "starts_ms": null, "total_ms": null})
    );
}

#[test]
fn a_rotated_and_compressed_first_half_reads_like_the_whole_log() {
    let whole = std::fs::read(fixture("failover-n2.log")).unwrap();
    let cut = whole.len() / 2 + whole[whole.len() / 2..].iter().position(|&b| b == b'\n').unwrap() + 1;
    let dir = std::env::temp_dir().join(format!("mwha-timeline-rotated-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (old, new) = (dir.join("pacemaker.log-20261201.gz"), dir.join("pacemaker.log"));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&whole[..cut]).unwrap();
    std::fs::write(&old, gz.finish().unwrap()).unwrap();
    std::fs::write(&new, &whole[cut..]).unwrap();
    let split = text(&["--log", new.to_str().unwrap(), "--log", old.to_str().unwrap()]);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(split, text(&["--log", &fixture("failover-n2.log")]));
}

#[test]
fn the_cibs_operation_history_keeps_what_the_log_timed() {
    let (n1, n2, cib) = (fixture("failover-n1.log"), fixture("failover-n2.log"), fixture("failover-n2-cib-status.xml"));
    assert_eq!(text(&["--log", &n1, "--log", &n2, "--cib-file", &cib]), FAILOVER);
}
