//! The mwha-alert binary run the way Pacemaker runs it: a recorded Pacemaker 2.1.5 environment
//! plus the recipient and its options, a syslog socket of the test's own (`MWHA_SYSLOG_SOCKET`).
//! Each test asserts the exit code, what reached the file and syslog, and the time taken:
//! an alert agent must never hold Pacemaker up, whatever happens to its log directory.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use testkit::{have, is_root, require, Sandbox};

const AGENT: &str = env!("CARGO_BIN_EXE_mwha-alert");
const RECORDED: &str = include_str!("../src/fixtures/alerts-2.1.5.env");

/// The environment of one recorded section of `alerts-2.1.5.env`.
fn recorded(name: &str) -> BTreeMap<String, String> {
    let mut vars = BTreeMap::new();
    let mut inside = false;
    for line in RECORDED.lines() {
        if let Some(header) = line.strip_prefix("#- ") {
            inside = header.split(':').next() == Some(name);
        } else if inside {
            if let Some((k, v)) = line.split_once('=') {
                vars.insert(k.to_string(), v.to_string());
            }
        }
    }
    assert!(!vars.is_empty(), "no recorded section {name}");
    vars
}

/// A syslog daemon of the test's own: a datagram socket in the sandbox.
struct Syslog {
    socket: UnixDatagram,
    path: PathBuf,
}

impl Syslog {
    fn new(sandbox: &Sandbox) -> Syslog {
        let path = sandbox.path().join("log.sock");
        let socket = UnixDatagram::bind(&path).expect("binding a test syslog socket");
        socket.set_nonblocking(true).expect("non-blocking");
        // The agent may run as another user in some tests.
        fs::set_permissions(&path, fs::Permissions::from_mode(0o666)).expect("chmod socket");
        Syslog { socket, path }
    }

    fn records(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut buf = [0u8; 8192];
        while let Ok(n) = self.socket.recv(&mut buf) {
            out.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
        out
    }
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
    elapsed: Duration,
}

/// Runs the agent with a recorded event, the recipient, options, and the test's syslog.
fn run_with(program: &[&str], event: &str, recipient: &str, options: &[(&str, &str)], syslog: &Path) -> Run {
    let mut vars = recorded(event);
    for prefix in ["CRM_alert_recipient", "CRM_notify_recipient"] {
        vars.insert(prefix.to_string(), recipient.to_string());
    }
    let mut cmd = Command::new(program[0]);
    cmd.args(&program[1..]).env_clear().envs(&vars).env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin").env("MWHA_SYSLOG_SOCKET", syslog);
    // The lab and CI have no cluster on the host: never ask one, unless the test says so.
    if !options.iter().any(|(k, _)| *k == "query_cluster") {
        cmd.env("query_cluster", "false");
    }
    // Nor the host's /run/mwha/alert: a state directory beside the test's syslog socket.
    if !options.iter().any(|(k, _)| *k == "state_dir") {
        cmd.env("state_dir", syslog.with_file_name("state"));
    }
    cmd.envs(options.iter().copied());
    let started = Instant::now();
    let out = cmd.output().expect("running mwha-alert");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        elapsed: started.elapsed(),
    }
}

fn run(event: &str, recipient: &str, options: &[(&str, &str)], syslog: &Path) -> Run {
    run_with(&[AGENT], event, recipient, options, syslog)
}

fn expect(run: &Run, code: i32, what: &str) {
    assert_eq!(run.code, code, "{what}: expected exit {code}\n--- stderr\n{}--- stdout\n{}", run.stderr, run.stdout);
    assert!(run.elapsed < Duration::from_secs(3), "{what}: took {:?}", run.elapsed);
}

fn lines(path: &Path) -> Vec<String> {
    fs::read_to_string(path).unwrap_or_default().lines().map(str::to_string).collect()
}

#[test]
fn a_file_recipient_gets_one_line_per_event() {
    let sandbox = Sandbox::new("alert-file");
    let syslog = Syslog::new(&sandbox);
    let log = sandbox.path().join("alerts.log");
    let log_s = log.to_str().unwrap();
    expect(&run("monitor-not-running", log_s, &[], &syslog.path), 0, "monitor failure");
    expect(&run("monitor-cancelled", log_s, &[], &syslog.path), 0, "cancelled monitor");
    expect(&run("stop-ok", log_s, &[], &syslog.path), 0, "stop");
    assert_eq!(
        lines(&log),
        [
            "2026-11-25T21:23:53.624Z n1 MWHA1001E Resource d is unavailable on n1: monitor (every 2s) returned 7 (not running)",
            "2026-11-25T21:23:53.676Z n1 MWHA1013I Resource d stopped on n1",
        ]
        .map(|l| l.replacen(" n1 ", &format!(" {} ", hostname()), 1))
    );
    assert!(syslog.records().is_empty());
}

#[test]
fn a_missing_log_directory_is_reported_to_syslog_quickly_and_fails_the_run() {
    let sandbox = Sandbox::new("alert-missing");
    let syslog = Syslog::new(&sandbox);
    let log = sandbox.path().join("missing/alerts.log");
    // With query_cluster on, too: the CIB query of a failure must not slow the report down.
    let r = run("monitor-not-running", log.to_str().unwrap(), &[("query_cluster", "true")], &syslog.path);
    expect(&r, 1, "missing directory");
    let records = syslog.records();
    assert_eq!(records.len(), 1, "{records:?}");
    let record = &records[0];
    assert!(record.starts_with("<27>mwha-alert["), "daemon.err: {record}");
    assert!(record.contains("MWHA9001E Could not write to "), "{record}");
    assert!(record.contains("No such file or directory"), "{record}");
    assert!(
        record.contains("MWHA1001E Resource d is unavailable on n1: monitor (every 2s) returned 7 (not running)"),
        "the line itself: {record}"
    );
}

#[test]
fn a_full_disk_is_reported_to_syslog() {
    if !require("root and unshare (a full tmpfs)", is_root() && have("unshare")) {
        return;
    }
    let sandbox = Sandbox::new("alert-full");
    let syslog = Syslog::new(&sandbox);
    let dir = sandbox.path().join("full");
    fs::create_dir(&dir).unwrap();
    // A tmpfs filled up, in the agent's private mount namespace (/dev/full is a device: refused).
    let script = "mount -t tmpfs -o size=64k full \"$1\" && { cat /dev/zero > \"$1/filler\" 2>/dev/null; shift && exec \"$@\"; }";
    let r = run_with(
        &["/usr/bin/unshare", "-m", "--propagation", "private", "/bin/sh", "-c", script, "sh", dir.to_str().unwrap(), AGENT],
        "node-lost-majority",
        dir.join("alerts.log").to_str().unwrap(),
        &[],
        &syslog.path,
    );
    expect(&r, 1, "ENOSPC");
    let records = syslog.records();
    assert!(
        records.iter().any(|r| r.contains("No space left on device") && r.contains("MWHA2001W Node n3 left the cluster")),
        "{records:?}"
    );
}

#[test]
fn a_read_only_log_directory_is_reported_to_syslog() {
    if !require("root and unshare (a read-only bind mount)", is_root() && have("unshare")) {
        return;
    }
    let sandbox = Sandbox::new("alert-ro");
    let syslog = Syslog::new(&sandbox);
    let dir = sandbox.path().join("ro");
    fs::create_dir(&dir).unwrap();
    let log = dir.join("alerts.log");
    let dir_s = dir.to_str().unwrap();
    // The mount exists only in the agent's private mount namespace.
    let script = "mount --bind \"$1\" \"$1\" && mount -o remount,bind,ro \"$1\" && shift && exec \"$@\"";
    let r = run_with(
        &["/usr/bin/unshare", "-m", "--propagation", "private", "/bin/sh", "-c", script, "sh", dir_s, AGENT],
        "start-failed",
        log.to_str().unwrap(),
        &[],
        &syslog.path,
    );
    expect(&r, 1, "read-only directory");
    let records = syslog.records();
    assert!(
        records.iter().any(|r| r.contains("Read-only file system") && r.contains("MWHA1002E Resource e could not be started")),
        "{records:?}\n{}",
        r.stderr
    );
    assert!(!log.exists());
}

#[test]
fn when_syslog_fails_too_the_line_goes_to_stderr() {
    let sandbox = Sandbox::new("alert-nosyslog");
    let r = run("monitor-timeout", sandbox.path().join("missing/a.log").to_str().unwrap(), &[], &sandbox.path().join("no.sock"));
    expect(&r, 1, "no syslog");
    assert!(
        r.stderr.contains("MWHA9001E")
            && r.stderr.contains("MWHA1001E Resource t is unavailable on n3: monitor (every 3s) timed out after 2.0s"),
        "{}",
        r.stderr
    );
}

#[test]
fn no_recipient_means_syslog() {
    let sandbox = Sandbox::new("alert-syslog");
    let syslog = Syslog::new(&sandbox);
    expect(&run("node-member", "", &[], &syslog.path), 0, "empty recipient");
    expect(&run("fencing-failed", "syslog", &[("syslog_facility", "local3")], &syslog.path), 0, "syslog recipient");
    let records = syslog.records();
    assert_eq!(records.len(), 2, "{records:?}");
    assert!(
        records[0].starts_with("<30>mwha-alert[")
            && records[0].ends_with(&format!("]: MWHA2002I Node n1 joined the cluster (seen from {})", hostname())),
        "{records:?}"
    );
    assert!(
        records[1].starts_with("<154>") && records[1].contains("MWHA3002C Fencing (reboot) of node n2 failed with rc -62"),
        "local3.crit: {records:?}"
    );
}

#[test]
fn recipient_options_select_severities_and_ids() {
    let sandbox = Sandbox::new("alert-filter");
    let syslog = Syslog::new(&sandbox);
    let log = sandbox.path().join("errors.log");
    let log_s = log.to_str().unwrap();
    expect(&run("start-ok", log_s, &[("severity", "warning")], &syslog.path), 0, "info filtered");
    expect(&run("node-lost-majority", log_s, &[("severity", "warning"), ("exclude_ids", "MWHA2001W")], &syslog.path), 0, "excluded");
    expect(&run("start-failed", log_s, &[("severity", "warning")], &syslog.path), 0, "error kept");
    expect(&run("stop-ok", log_s, &[("ids", "MWHA1013I")], &syslog.path), 0, "ID kept");
    let got = lines(&log);
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(got[0].contains(" MWHA1002E ") && got[1].contains(" MWHA1013I "), "{got:?}");
}

#[test]
fn a_bad_option_is_reported_and_the_event_still_delivered() {
    let sandbox = Sandbox::new("alert-badopt");
    let syslog = Syslog::new(&sandbox);
    let log = sandbox.path().join("alerts.log");
    let r = run("promote-ok", log.to_str().unwrap(), &[("severity", "loud")], &syslog.path);
    expect(&r, 2, "bad severity");
    let got = lines(&log);
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(got[0].ends_with("MWHA9002E Invalid alert option severity=loud: expected info, warning, error or critical"), "{got:?}");
    assert!(got[1].ends_with("MWHA1021I Resource st promoted to primary on n2"), "{got:?}");
    let r = run("promote-ok", "alerts.log", &[], &syslog.path);
    expect(&r, 2, "relative recipient");
    assert!(syslog.records().iter().any(|r| r.contains("MWHA9002E Invalid alert option recipient=alerts.log")));
}

/// An action script that records its argv and environment, then exits with `$EXIT` or sleeps.
fn action_script(sandbox: &Sandbox, name: &str, body: &str) -> PathBuf {
    let path = sandbox.path().join(name);
    fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[test]
fn an_action_runs_with_the_event_in_its_environment() {
    let sandbox = Sandbox::new("alert-action");
    let syslog = Syslog::new(&sandbox);
    let log = sandbox.path().join("alerts.log");
    let seen = sandbox.path().join("seen");
    let script = action_script(&sandbox, "listeners", &format!("{{ echo \"$*\"; env | sort; }} > {}", seen.display()));
    let command = format!("{} pause --all", script.display());
    let state = sandbox.path().join("state");
    let r = run(
        "monitor-not-running",
        log.to_str().unwrap(),
        &[("action_unavailable", &command), ("state_dir", state.to_str().unwrap())],
        &syslog.path,
    );
    expect(&r, 0, "action");
    let env = fs::read_to_string(&seen).unwrap();
    assert!(env.starts_with("pause --all\n"), "{env}");
    for expected in [
        "MWHA_ALERT_ID=MWHA1001E",
        "MWHA_ALERT_EVENT=unavailable",
        "MWHA_ALERT_RESOURCE=d",
        "MWHA_ALERT_NODE=n1",
        "CRM_alert_rc=7",
        "PATH=",
    ] {
        assert!(env.lines().any(|l| l == expected || (expected.ends_with('=') && l.starts_with(expected))), "{expected} missing:\n{env}");
    }
    assert!(!env.contains("query_cluster") && !env.contains("MWHA_SYSLOG_SOCKET"), "clean environment:\n{env}");
    let got = lines(&log);
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(got[1].contains(&format!("MWHA5001I Action for MWHA1001E on {} completed: {command} (exited 0 in ", hostname())), "{got:?}");

    // The same event seen by a second recipient's process: the action does not run again.
    fs::remove_file(&seen).unwrap();
    let other = sandbox.path().join("other.log");
    expect(
        &run(
            "monitor-not-running",
            other.to_str().unwrap(),
            &[("action_unavailable", &command), ("state_dir", state.to_str().unwrap())],
            &syslog.path,
        ),
        0,
        "second recipient",
    );
    assert!(!seen.exists(), "the action ran twice for one event");
    assert_eq!(lines(&other).len(), 1);
    // A message of another class does not run it.
    expect(
        &run("stop-ok", other.to_str().unwrap(), &[("action_unavailable", &command), ("state_dir", state.to_str().unwrap())], &syslog.path),
        0,
        "stop",
    );
    assert!(!seen.exists());
}

#[test]
fn a_hung_action_is_killed_at_its_timeout_and_fails_the_run() {
    let sandbox = Sandbox::new("alert-hung");
    let syslog = Syslog::new(&sandbox);
    let log = sandbox.path().join("alerts.log");
    let script = action_script(&sandbox, "hang", "sleep 60 & sleep 60");
    let r = run(
        "start-ok-after-move",
        log.to_str().unwrap(),
        &[("action_available", script.to_str().unwrap()), ("action_timeout", "1s")],
        &syslog.path,
    );
    expect(&r, 3, "hung action");
    let got = lines(&log);
    assert!(got[0].contains("MWHA1011I Resource d started on n2"), "{got:?}");
    assert!(got[1].contains("MWHA5002E Action for MWHA1011I") && got[1].contains("did not finish within 1.0s"), "{got:?}");
    assert!(sandbox.processes().is_empty(), "the action's process group was killed");
    let failing = action_script(&sandbox, "fail", "echo cannot reach listener >&2; exit 4");
    let r = run("start-ok", log.to_str().unwrap(), &[("action_available", failing.to_str().unwrap())], &syslog.path);
    expect(&r, 3, "failing action");
    assert!(lines(&log).last().unwrap().ends_with(": cannot reach listener"), "{:?}", lines(&log));
}

#[test]
fn print_catalogue_and_misuse() {
    let sandbox = Sandbox::new("alert-print");
    let syslog = Syslog::new(&sandbox);
    let r = run_with(&[AGENT, "--print"], "attribute", "/nonexistent/x.log", &[], &syslog.path);
    expect(&r, 0, "--print");
    assert!(r.stdout.ends_with("MWHA4001I Node attribute master-st on n2 is now 10\n"), "{}", r.stdout);
    let md = Command::new(AGENT).arg("--catalogue-md").output().unwrap();
    let docs = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/messages.md")).unwrap();
    assert_eq!(String::from_utf8_lossy(&md.stdout), docs);
    let bare = Command::new(AGENT).env_clear().output().unwrap();
    assert_eq!(bare.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bare.stderr).contains("no CRM_alert_kind"));
}

fn hostname() -> String {
    nix::unistd::gethostname().unwrap().to_string_lossy().into_owned()
}

/// `lang=ja`: the same line, with the same time, node and ID, in Japanese; one line of UTF-8.
#[test]
fn lang_ja_writes_the_same_line_in_japanese() {
    let sandbox = Sandbox::new("alert-ja");
    let syslog = Syslog::new(&sandbox);
    let en = sandbox.path().join("en.log");
    let ja = sandbox.path().join("ja.log");
    expect(&run("monitor-not-running", en.to_str().unwrap(), &[], &syslog.path), 0, "lang=en");
    expect(&run("monitor-not-running", ja.to_str().unwrap(), &[("lang", "ja")], &syslog.path), 0, "lang=ja");
    let bytes = fs::read(&ja).unwrap();
    let text = String::from_utf8(bytes).expect("UTF-8");
    assert_eq!(text.matches('\n').count(), 1, "one line: {text:?}");
    assert!(text.ends_with('\n'));
    let line = text.trim_end_matches('\n');
    let english = lines(&en).remove(0);
    let head = |l: &str| l.splitn(4, ' ').take(3).collect::<Vec<_>>().join(" ");
    assert_eq!(head(line), head(&english), "time, node and ID");
    assert!(head(line).ends_with(" MWHA1001E"), "{line}");
    assert!(
        line.ends_with(" MWHA1001E リソース d がノード n1 で使用不可になりました: monitor (2s 間隔) の戻り値 7 (not running)"),
        "{line}"
    );

    // Routing by severity and ID is the same in both languages.
    let routed = sandbox.path().join("routed.log");
    let r = |event: &str, options: &[(&str, &str)]| run(event, routed.to_str().unwrap(), options, &syslog.path);
    expect(&r("monitor-not-running", &[("lang", "ja"), ("ids", "MWHA1013I")]), 0, "filtered out by ids");
    expect(&r("stop-ok", &[("lang", "ja"), ("ids", "MWHA1013I")]), 0, "kept by ids");
    expect(&r("start-ok", &[("lang", "ja"), ("severity", "warning")]), 0, "filtered out by severity");
    expect(&r("node-lost-majority", &[("lang", "ja"), ("severity", "warning")]), 0, "kept by severity");
    let got = lines(&routed);
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(got[0].ends_with(" MWHA1013I リソース d がノード n1 で停止しました"), "{got:?}");
    assert!(got[1].ends_with(&format!(" MWHA2001W ノード n3 がクラスターから離脱しました ({} で検知)", hostname())), "{got:?}");

    // syslog recipients get the Japanese text too, with the same syslog severity.
    expect(&run("fencing-failed", "syslog", &[("lang", "ja")], &syslog.path), 0, "syslog");
    let records = syslog.records();
    assert_eq!(records.len(), 1, "{records:?}");
    assert!(records[0].starts_with("<26>mwha-alert["), "daemon.crit: {records:?}");
    assert!(
        records[0].contains("]: MWHA3002C ノード n2 のフェンシング (reboot) が rc -62 で失敗しました: Operation reboot of n2"),
        "{records:?}"
    );
}

#[test]
fn an_unknown_lang_is_a_bad_option_and_the_event_is_still_delivered_in_english() {
    let sandbox = Sandbox::new("alert-badlang");
    let syslog = Syslog::new(&sandbox);
    let log = sandbox.path().join("alerts.log");
    let r = run("promote-ok", log.to_str().unwrap(), &[("lang", "jp")], &syslog.path);
    expect(&r, 2, "bad lang");
    let got = lines(&log);
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(got[0].ends_with("MWHA9002E Invalid alert option lang=jp: expected en or ja"), "{got:?}");
    assert!(got[1].ends_with("MWHA1021I Resource st promoted to primary on n2"), "{got:?}");
    assert!(r.stderr.contains("MWHA9002E Invalid alert option lang=jp"), "Pacemaker's log gets it: {}", r.stderr);
    // With lang=ja, another bad option is reported in Japanese (and in English on stderr).
    let ja = sandbox.path().join("ja.log");
    let r = run("promote-ok", ja.to_str().unwrap(), &[("lang", "ja"), ("severity", "loud")], &syslog.path);
    expect(&r, 2, "bad severity, lang=ja");
    let got = lines(&ja);
    assert!(
        got[0].ends_with(
            "MWHA9002E アラートオプション severity=loud が不正です: info、warning、error、critical のいずれかを指定してください"
        ),
        "{got:?}"
    );
    assert!(got[1].ends_with("MWHA1021I リソース st がノード n2 でプライマリーに昇格しました"), "{got:?}");
    assert!(r.stderr.contains("MWHA9002E Invalid alert option severity=loud: expected info"), "{}", r.stderr);
}

#[test]
fn lang_ja_reports_a_lost_line_and_actions_in_japanese() {
    let sandbox = Sandbox::new("alert-ja-lost");
    let syslog = Syslog::new(&sandbox);
    let r = run("monitor-not-running", sandbox.path().join("missing/a.log").to_str().unwrap(), &[("lang", "ja")], &syslog.path);
    expect(&r, 1, "missing directory");
    let records = syslog.records();
    assert_eq!(records.len(), 1, "{records:?}");
    assert!(records[0].contains("MWHA9001E ") && records[0].contains(" に書き込めませんでした: "), "{records:?}");
    assert!(
        records[0].contains("。元のメッセージ: ") && records[0].contains("MWHA1001E リソース d がノード n1 で使用不可になりました"),
        "{records:?}"
    );

    let log = sandbox.path().join("alerts.log");
    let seen = sandbox.path().join("seen");
    let script = action_script(&sandbox, "notify", &format!("env | sort > {}", seen.display()));
    let command = script.display().to_string();
    let r = run(
        "monitor-not-running",
        log.to_str().unwrap(),
        &[("lang", "ja"), ("action_unavailable", &command), ("state_dir", sandbox.path().join("state").to_str().unwrap())],
        &syslog.path,
    );
    expect(&r, 0, "action, lang=ja");
    let got = lines(&log);
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(
        got[1].contains(&format!("MWHA5001I ノード {} で MWHA1001E のアクションが完了しました: {command} (終了コード 0、", hostname())),
        "{got:?}"
    );
    let env = fs::read_to_string(&seen).unwrap();
    assert!(env.lines().any(|l| l == "MWHA_ALERT_ID=MWHA1001E"), "{env}");
    assert!(env.lines().any(|l| l == "MWHA_ALERT_EVENT=unavailable"), "{env}");
    assert!(env.lines().any(|l| l == format!("MWHA_ALERT_LINE={}", got[0])), "the line as written:\n{env}");
}

#[test]
fn the_japanese_catalogue_is_printed_and_equals_the_docs() {
    let md = Command::new(AGENT).args(["--catalogue-md", "ja"]).output().unwrap();
    assert_eq!(md.status.code(), Some(0));
    let docs = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/messages.ja.md")).unwrap();
    assert_eq!(String::from_utf8(md.stdout).expect("UTF-8"), docs);
    let en = Command::new(AGENT).args(["--catalogue-md", "en"]).output().unwrap();
    assert!(String::from_utf8_lossy(&en.stdout).starts_with("# mwha-alert messages\n"));
    let bad = Command::new(AGENT).args(["--catalogue-md", "fr"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
    let help = Command::new(AGENT).arg("--help").output().unwrap();
    assert!(String::from_utf8_lossy(&help.stdout).contains("  lang "), "--help lists lang");
}

/// The options that make a recorded event happen at `second` (Pacemaker's event time): the
/// failure count orders events by it.
fn at(second: i64) -> [(&'static str, String); 2] {
    [("CRM_alert_timestamp_epoch", (1_795_650_000 + second).to_string()), ("CRM_alert_timestamp_usec", "250000".to_string())]
}

/// `failure_threshold=3` (WebSphere's failureThreshold): the first two monitor failures of d on
/// n1 in a row are MWHA1007W warnings and run no action; the third is MWHA1001E and runs
/// `action_unavailable` once; a successful start of d on n1 resets the count; every recipient's
/// process of one event gets the same count and the event is counted once.
#[test]
fn failure_threshold_holds_the_unavailable_line_and_action_until_the_nth_failure_in_a_row() {
    let sandbox = Sandbox::new("alert-threshold");
    let syslog = Syslog::new(&sandbox);
    let log = sandbox.path().join("alerts.log");
    let other = sandbox.path().join("other.log");
    let ran = sandbox.path().join("ran");
    let script = action_script(&sandbox, "pause", &format!("echo \"$MWHA_ALERT_ID\" >> {}", ran.display()));
    let state = sandbox.path().join("state");
    let (script_s, state_s) = (script.to_str().unwrap(), state.to_str().unwrap());
    let event = |name: &str, second: i64, recipient: &Path| {
        let when = at(second);
        let options = [
            ("failure_threshold", "3"),
            ("action_unavailable", script_s),
            ("state_dir", state_s),
            (when[0].0, when[0].1.as_str()),
            (when[1].0, when[1].1.as_str()),
        ];
        let r = run(name, recipient.to_str().unwrap(), &options, &syslog.path);
        expect(&r, 0, &format!("{name} at {second}"));
    };
    let warning = |n: u32| {
        format!(" MWHA1007W Resource d failed on n1 ({n} of 3 failures in a row before it counts as unavailable): monitor (every 2s) returned 7 (not running)")
    };
    let unavailable = " MWHA1001E Resource d is unavailable on n1: monitor (every 2s) returned 7 (not running)";

    event("monitor-not-running", 1, &log);
    event("monitor-not-running", 1, &other); // the same event, another recipient
    event("monitor-not-running", 2, &log);
    assert!(!ran.exists(), "no action below the threshold");
    event("monitor-not-running", 3, &log);
    event("monitor-not-running", 3, &other);
    let got = lines(&log);
    assert_eq!(got.len(), 4, "{got:?}");
    assert!(got[0].ends_with(&warning(1)) && got[1].ends_with(&warning(2)), "{got:?}");
    assert!(got[2].ends_with(unavailable), "the 3rd failure in a row: {got:?}");
    assert!(got[3].contains(" MWHA5001I Action for MWHA1001E on "), "{got:?}");
    let theirs = lines(&other);
    assert!(theirs[0].ends_with(&warning(1)) && theirs[1].ends_with(unavailable), "the other recipient: {theirs:?}");
    assert_eq!(fs::read_to_string(&ran).unwrap(), "MWHA1001E\n", "action_unavailable ran once, at the 3rd failure");

    // d available again on n1: the row starts over.
    event("start-ok", 4, &log);
    assert!(lines(&log).last().unwrap().ends_with(" MWHA1011I Resource d started on n1"), "{:?}", lines(&log));
    event("monitor-not-running", 5, &log);
    assert!(lines(&log).last().unwrap().ends_with(&warning(1)), "{:?}", lines(&log));
    assert_eq!(fs::read_to_string(&ran).unwrap(), "MWHA1001E\n");
}

/// Pacemaker runs one process per event and recipient, all at once: 6 failure events seen by
/// 2 recipients are 12 concurrent processes; the lock under `state_dir` loses no count and counts
/// each event once, so both recipients get the same count for each event.
#[test]
fn concurrent_alert_processes_count_each_failure_once() {
    let sandbox = Sandbox::new("alert-threshold-concurrent");
    let syslog = Syslog::new(&sandbox);
    let state = sandbox.path().join("state");
    let logs = [sandbox.path().join("a.log"), sandbox.path().join("b.log")];
    let command = |second: i64, log: &Path| {
        let mut cmd = Command::new(AGENT);
        let mut vars = recorded("monitor-not-running");
        vars.insert("CRM_alert_recipient".into(), log.to_str().unwrap().into());
        cmd.env_clear().envs(&vars).env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin").env("MWHA_SYSLOG_SOCKET", &syslog.path);
        cmd.env("query_cluster", "false").env("failure_threshold", "10").env("state_dir", &state);
        cmd.envs(at(second).iter().map(|(k, v)| (*k, v.as_str())));
        cmd
    };
    let started = Instant::now();
    let children: Vec<_> =
        (1..=6).flat_map(|s| logs.iter().map(move |log| (s, log))).map(|(s, log)| command(s, log).spawn().unwrap()).collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    }
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    // count by event time, per recipient
    let counts = |log: &Path| -> BTreeMap<String, u32> {
        lines(log)
            .iter()
            .map(|l| {
                let stamp = l.split(' ').next().unwrap().to_string();
                let n = l.split(" failed on n1 (").nth(1).and_then(|rest| rest.split(' ').next()).and_then(|n| n.parse().ok());
                (stamp, n.unwrap_or_else(|| panic!("not a MWHA1007W line: {l}")))
            })
            .collect()
    };
    let (a, b) = (counts(&logs[0]), counts(&logs[1]));
    assert_eq!(a.len(), 6, "{a:?}");
    assert_eq!(a, b, "both recipients' processes of an event got the same count");
    let mut places: Vec<u32> = a.values().copied().collect();
    places.sort_unstable();
    assert_eq!(places, [1, 2, 3, 4, 5, 6], "no count lost, none counted twice: {a:?}");
    let out = command(7, &logs[0]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(lines(&logs[0]).last().unwrap().contains(" (7 of 10 failures in a row "), "{:?}", lines(&logs[0]));
}

/// When the count cannot be kept (no state directory, or its lock held by a hung process), the
/// failure is reported as usual, quickly: `failure_threshold` never hides a failure.
#[test]
fn without_a_usable_count_a_failure_is_reported_as_usual() {
    let sandbox = Sandbox::new("alert-threshold-nostate");
    let syslog = Syslog::new(&sandbox);
    let log = sandbox.path().join("alerts.log");
    let unavailable = " MWHA1001E Resource d is unavailable on n1: monitor (every 2s) returned 7 (not running)";
    let missing = sandbox.path().join("missing/state");
    let r = run(
        "monitor-not-running",
        log.to_str().unwrap(),
        &[("failure_threshold", "3"), ("state_dir", missing.to_str().unwrap())],
        &syslog.path,
    );
    expect(&r, 0, "no state directory");
    assert!(lines(&log).last().unwrap().ends_with(unavailable), "{:?}", lines(&log));
    assert!(r.stderr.contains("not counted (failure_threshold), so reported as usual"), "Pacemaker's log says why: {}", r.stderr);

    let state = sandbox.path().join("state");
    fs::create_dir(&state).unwrap();
    let holder = fs::OpenOptions::new().create(true).append(true).open(state.join("lock")).unwrap();
    let _held = nix::fcntl::Flock::lock(holder, nix::fcntl::FlockArg::LockExclusiveNonblock).map_err(|(_, e)| e).unwrap();
    let r = run(
        "monitor-not-running",
        log.to_str().unwrap(),
        &[("failure_threshold", "3"), ("state_dir", state.to_str().unwrap())],
        &syslog.path,
    );
    // The lock is waited for 2 s at most (then the line goes out as usual), well inside the run's 20 s.
    assert_eq!(r.code, 0, "lock held elsewhere\n{}", r.stderr);
    assert!(r.elapsed < Duration::from_secs(6), "lock held elsewhere: took {:?}", r.elapsed);
    assert!(lines(&log).last().unwrap().ends_with(unavailable), "{:?}", lines(&log));
    assert!(r.stderr.contains("timed out after"), "{}", r.stderr);
}

/// A probe of d on n1 that found it running, as Pacemaker runs one after `pcs resource cleanup d`
/// (the recorded start's environment, a monitor of interval 0 expecting rc 7).
const PROBE_FOUND_RUNNING: [(&str, &str); 6] = [
    ("CRM_alert_task", "monitor"),
    ("CRM_alert_interval", "0"),
    ("CRM_alert_target_rc", "7"),
    ("CRM_alert_rc", "0"),
    ("CRM_alert_timestamp_epoch", "1795649000"),
    ("CRM_alert_timestamp_usec", "250000"),
];

/// A cleanup's probe finds running what the cluster started on that node: no MWHA1005W (a
/// debug line in Pacemaker's log). After the cluster stopped it, or without the memory (no
/// `state_dir`), the probe's MWHA1005W is written as before, and Pacemaker's log says why.
#[test]
fn a_cleanups_probe_of_what_the_cluster_started_gives_no_false_alarm() {
    let sandbox = Sandbox::new("alert-cleanup-probe");
    let syslog = Syslog::new(&sandbox);
    let log = sandbox.path().join("alerts.log");
    // The recorded start names the host's Pacemaker log: the test's own instead, with debug lines.
    let pm_log = sandbox.path().join("pacemaker.log");
    let run_in = |state: &Path, extra: &[(&str, &str)]| {
        let mut options = vec![("state_dir", state.to_str().unwrap()), ("HA_LOGFILE", pm_log.to_str().unwrap()), ("HA_debug", "1")];
        options.extend_from_slice(extra);
        let r = run("start-ok", log.to_str().unwrap(), &options, &syslog.path);
        expect(&r, 0, &format!("{extra:?}"));
    };
    let (state, missing) = (sandbox.path().join("state"), sandbox.path().join("missing/state"));
    let stop = [("CRM_alert_task", "stop"), ("CRM_alert_timestamp_epoch", "1795641833")];
    let unexpected = format!(
        "2026-11-25T23:23:20.250Z {} MWHA1005W Resource d was found running on n1 where the cluster had not started it",
        hostname()
    );

    run_in(&state, &[]);
    run_in(&state, &PROBE_FOUND_RUNNING);
    assert_eq!(lines(&log).len(), 1, "only the start's line: {:?}", lines(&log));
    assert!(lines(&log)[0].ends_with(" MWHA1011I Resource d started on n1"), "{:?}", lines(&log));
    let debug = fs::read_to_string(&pm_log).unwrap_or_default();
    assert!(debug.contains("DEBUG: the probe found d running on n1, where the cluster started it: no MWHA1005W"), "{debug}");

    run_in(&state, &stop);
    run_in(&state, &PROBE_FOUND_RUNNING);
    assert_eq!(lines(&log).last().unwrap(), &unexpected, "{:?}", lines(&log));

    // Without a state directory nothing is remembered: the start is reported, and so is the probe.
    run_in(&missing, &[]);
    run_in(&missing, &PROBE_FOUND_RUNNING);
    assert_eq!(lines(&log).last().unwrap(), &unexpected, "{:?}", lines(&log));
    let why = fs::read_to_string(&pm_log).unwrap();
    assert!(why.contains("(monitor of d), so a probe that finds one running is reported as MWHA1005W: creating "), "{why}");
}
