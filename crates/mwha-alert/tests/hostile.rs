//! Hostile recipients and event text for mwha-alert: a recipient path that is a symbolic link
//! (to a file the agent must not touch, or dangling), a hard link, a FIFO or a device is never
//! written, opened through or created, and the line goes to syslog instead, quickly; text that
//! a log viewer would break into lines never does.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::os::unix::fs::{symlink, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use testkit::Sandbox;

const AGENT: &str = env!("CARGO_BIN_EXE_mwha-alert");
const RECORDED: &str = include_str!("../src/fixtures/alerts-2.1.5.env");
const PRECIOUS: &str = "root:$6$salt$hash:19000:0:99999:7:::\n";
/// The line of the `monitor-not-running` event, without its timestamp and node.
const LINE: &str = "MWHA1001E Resource d is unavailable on n1: monitor (every 2s) returned 7 (not running)";

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

struct Run {
    code: i32,
    stderr: String,
    elapsed: Duration,
    syslog: Vec<String>,
}

/// Runs the agent for the recorded `monitor-not-running` event with `recipient`, `extra`
/// variables on top, and a syslog socket of the test's own.
fn run(sandbox: &Sandbox, recipient: &Path, extra: &[(&str, &str)]) -> Run {
    let socket_path = sandbox.path().join("log.sock");
    let _ = fs::remove_file(&socket_path);
    let socket = UnixDatagram::bind(&socket_path).expect("binding a test syslog socket");
    socket.set_nonblocking(true).unwrap();
    let mut vars = recorded("monitor-not-running");
    for key in ["CRM_alert_recipient", "CRM_notify_recipient"] {
        vars.insert(key.to_string(), recipient.to_str().unwrap().to_string());
    }
    let started = Instant::now();
    let out = Command::new(AGENT)
        .env_clear()
        .envs(&vars)
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("MWHA_SYSLOG_SOCKET", &socket_path)
        .env("query_cluster", "false")
        .envs(extra.iter().copied())
        .output()
        .expect("running mwha-alert");
    let elapsed = started.elapsed();
    let mut syslog = Vec::new();
    let mut buf = [0u8; 8192];
    while let Ok(n) = socket.recv(&mut buf) {
        syslog.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    Run { code: out.status.code().unwrap_or(-1), stderr: String::from_utf8_lossy(&out.stderr).into_owned(), elapsed, syslog }
}

/// Not delivered (exit 1), quickly, and reported to syslog with `why` and the line itself.
fn expect_refused(run: &Run, recipient: &Path, why: &str, what: &str) {
    assert_eq!(run.code, 1, "{what}: expected exit 1\n{}", run.stderr);
    assert!(run.elapsed < Duration::from_secs(2), "{what}: took {:?}", run.elapsed);
    let expected = format!("MWHA9001E Could not write to {}: {why}; the message was: ", recipient.display());
    assert!(run.syslog.iter().any(|r| r.contains(&expected) && r.ends_with(LINE)), "{what}: no {expected:?} in {:?}", run.syslog);
}

/// A file only its owner may read or write, outside the log directory.
fn victim(sandbox: &Sandbox) -> PathBuf {
    let victim = sandbox.path().join("shadow");
    fs::write(&victim, PRECIOUS).unwrap();
    fs::set_permissions(&victim, fs::Permissions::from_mode(0o600)).unwrap();
    victim
}

#[test]
fn a_symlink_to_a_root_only_file_is_not_followed() {
    let sandbox = Sandbox::new("alert-hostile-link");
    let victim = victim(&sandbox);
    let link = sandbox.path().join("alerts.log");
    symlink(&victim, &link).unwrap();
    expect_refused(&run(&sandbox, &link, &[]), &link, "is a symbolic link: not followed", "a link to a root-only file");
    assert_eq!(fs::read_to_string(&victim).unwrap(), PRECIOUS, "appended through the link");
}

#[test]
fn a_dangling_symlink_does_not_create_its_target() {
    let sandbox = Sandbox::new("alert-hostile-dangling");
    let target = sandbox.path().join("etc-cron.d-evil");
    let link = sandbox.path().join("alerts.log");
    symlink(&target, &link).unwrap();
    expect_refused(&run(&sandbox, &link, &[]), &link, "is a symbolic link: not followed", "a dangling link");
    assert!(!target.exists(), "the link's target was created");
}

#[test]
fn a_hard_link_to_another_file_is_not_written() {
    let sandbox = Sandbox::new("alert-hostile-hardlink");
    let victim = victim(&sandbox);
    let log = sandbox.path().join("alerts.log");
    fs::hard_link(&victim, &log).unwrap();
    expect_refused(&run(&sandbox, &log, &[]), &log, "has 2 hard links: not written", "a hard link");
    assert_eq!(fs::read_to_string(&victim).unwrap(), PRECIOUS, "appended through the other name");
}

#[test]
fn a_fifo_neither_blocks_nor_is_written() {
    let sandbox = Sandbox::new("alert-hostile-fifo");
    let fifo = sandbox.path().join("alerts.log");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    expect_refused(&run(&sandbox, &fifo, &[]), &fifo, "is a FIFO, not a plain file: not written", "a FIFO without a reader");
    // With a reader the open would succeed: the type is what refuses it.
    let mut reader = fs::OpenOptions::new().read(true).custom_flags(nix::libc::O_NONBLOCK).open(&fifo).unwrap();
    expect_refused(&run(&sandbox, &fifo, &[]), &fifo, "is a FIFO, not a plain file: not written", "a FIFO with a reader");
    let mut got = Vec::new();
    let _ = reader.read_to_end(&mut got);
    assert!(got.is_empty(), "written to the FIFO: {:?}", String::from_utf8_lossy(&got));
}

#[test]
fn a_device_is_not_opened() {
    let sandbox = Sandbox::new("alert-hostile-device");
    for device in ["/dev/null", "/dev/full"] {
        let device = Path::new(device);
        expect_refused(&run(&sandbox, device, &[]), device, "is a device, not a plain file: not written", "a device");
    }
}

#[test]
fn a_plain_file_gets_the_line_appended() {
    let sandbox = Sandbox::new("alert-hostile-plain");
    let log = sandbox.path().join("alerts.log");
    fs::write(&log, "earlier line\n").unwrap();
    let r = run(&sandbox, &log, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let text = fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text:?}");
    assert!(lines[0] == "earlier line" && lines[1].ends_with(LINE), "{text:?}");
    assert!(r.syslog.is_empty(), "{:?}", r.syslog);
    // A new file is created with at most rw-r-----.
    let fresh = sandbox.path().join("fresh.log");
    assert_eq!(run(&sandbox, &fresh, &[]).code, 0);
    let mode = fs::metadata(&fresh).unwrap().mode();
    assert_eq!(mode & 0o777 & !0o640, 0, "mode {mode:o}");
}

#[test]
fn line_separators_in_event_text_never_start_a_line() {
    let sandbox = Sandbox::new("alert-hostile-separators");
    let log = sandbox.path().join("alerts.log");
    let forged = "not running\u{2028}MWHA0000I forged\u{2029}MWHA0000I forged\u{85}MWHA0000I forged\u{0B}\u{0C}\rMWHA0000I forged";
    let r = run(&sandbox, &log, &[("CRM_alert_desc", forged), ("CRM_notify_desc", forged)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let text = fs::read_to_string(&log).unwrap();
    assert_eq!(text.matches('\n').count(), 1, "{text:?}");
    let separators = ['\r', '\u{0B}', '\u{0C}', '\u{85}', '\u{2028}', '\u{2029}'];
    assert!(!text.trim_end_matches('\n').contains(separators), "a line separator reached the file: {text:?}");
    assert!(text.contains("returned 7 (not running MWHA0000I forged MWHA0000I forged"), "{text:?}");
}

/// `failure_threshold`'s count file is ours: a symbolic link planted in its place is neither read
/// through nor written through (the failure is then reported as usual), and a garbled or foreign
/// file only restarts the count.
#[test]
fn a_planted_failure_count_file_is_neither_followed_nor_trusted() {
    let sandbox = Sandbox::new("alert-hostile-failures");
    let state = sandbox.path().join("state");
    fs::create_dir(&state).unwrap();
    let victim = victim(&sandbox);
    symlink(&victim, state.join("failures")).unwrap();
    let log = sandbox.path().join("alerts.log");
    let state_s = state.to_str().unwrap();
    let r = run(&sandbox, &log, &[("failure_threshold", "3"), ("state_dir", state_s)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.elapsed < Duration::from_secs(3), "{:?}", r.elapsed);
    assert!(fs::read_to_string(&log).unwrap().ends_with(&format!("{LINE}\n")), "reported as usual");
    assert_eq!(fs::read_to_string(&victim).unwrap(), PRECIOUS, "written through the link");
    assert!(fs::symlink_metadata(state.join("failures")).unwrap().file_type().is_symlink(), "the link was replaced");

    // A file claiming a huge count, from another boot: ignored, the row starts at 1.
    fs::remove_file(state.join("failures")).unwrap();
    fs::write(state.join("failures"), "mwha-alert-failures 1 not-this-boot\nn1\td\t99\t0\t0\t0\t0\t-\n").unwrap();
    let r = run(&sandbox, &log, &[("failure_threshold", "3"), ("state_dir", state_s)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let text = fs::read_to_string(&log).unwrap();
    assert!(text.lines().last().unwrap().contains(" MWHA1007W Resource d failed on n1 (1 of 3 "), "{text}");
}

/// The memory of what the cluster started is ours too: a symbolic link planted in its place is
/// neither read through (a planted record would hide a resource running outside the cluster)
/// nor written through, and a file too big to be ours is not read; the probe's MWHA1005W is
/// written as usual, quickly.
#[test]
fn a_planted_started_file_is_neither_followed_nor_trusted() {
    let sandbox = Sandbox::new("alert-hostile-started");
    let state = sandbox.path().join("state");
    fs::create_dir(&state).unwrap();
    let planted = "mwha-alert-started 1 whatever\nn1\td\t1\t0\n";
    let victim = sandbox.path().join("started-elsewhere");
    fs::write(&victim, planted).unwrap();
    symlink(&victim, state.join("started")).unwrap();
    let log = sandbox.path().join("alerts.log");
    let state_s = state.to_str().unwrap();
    let as_start = [("CRM_alert_task", "start"), ("CRM_alert_interval", "0"), ("CRM_alert_target_rc", "0"), ("CRM_alert_rc", "0")];
    let as_probe = [("CRM_alert_task", "monitor"), ("CRM_alert_interval", "0"), ("CRM_alert_target_rc", "7"), ("CRM_alert_rc", "0")];
    let unexpected = "MWHA1005W Resource d was found running on n1 where the cluster had not started it";
    for (what, event) in [("a start", &as_start), ("a probe", &as_probe)] {
        let mut extra = event.to_vec();
        extra.extend([("CRM_alert_desc", "ok"), ("state_dir", state_s)]);
        let r = run(&sandbox, &log, &extra);
        assert_eq!(r.code, 0, "{what}: {}", r.stderr);
        assert!(r.elapsed < Duration::from_secs(3), "{what}: {:?}", r.elapsed);
        assert!(r.stderr.contains("is a symlink"), "{what}: Pacemaker's log says why: {}", r.stderr);
    }
    assert!(fs::read_to_string(&log).unwrap().ends_with(&format!("{unexpected}\n")), "the probe is reported");
    assert_eq!(fs::read_to_string(&victim).unwrap(), planted, "written through the link");
    assert!(fs::symlink_metadata(state.join("started")).unwrap().file_type().is_symlink(), "the link was replaced");

    // A file bigger than the agent ever writes: not read, so the probe is reported.
    fs::remove_file(state.join("started")).unwrap();
    fs::write(state.join("started"), "n1\td\t1\t0\n".repeat(200_000)).unwrap();
    let mut extra = as_probe.to_vec();
    extra.push(("state_dir", state_s));
    let r = run(&sandbox, &log, &extra);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("read at most"), "{}", r.stderr);
    assert_eq!(fs::read_to_string(&log).unwrap().matches(unexpected).count(), 2, "the probe is reported again");
}
