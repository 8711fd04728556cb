//! Hostile input for sharedfs: whatever is planted at the level-20 probe name on the share (a
//! hard link or a symlink to a victim, a FIFO, someone else's file) is refused and left alone,
//! and nothing is written through it; only a leftover probe file of ours is removed.
//! Each test mounts its own tmpfs (root) and undoes it on drop.

use std::fs;
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use testkit::{have, is_root, require, run_agent, AgentRun};

const AGENT: &str = env!("CARGO_BIN_EXE_sharedfs");
/// `CRM_meta_on_node` of every run, so the probe file's name is known.
const NODE: &str = "n1";
const PROBE: &str = ".sharedfs-probe.n1.fs";
const PRECIOUS: &str = "root:x:0:0:root:/root:/bin/bash\n";

/// A tmpfs share with a started resource on it; unmounted and removed on drop.
struct Share {
    lab: PathBuf,
    dir: PathBuf,
}

impl Share {
    fn new(name: &str) -> Option<Share> {
        if !require("root and mount", is_root() && have("mount") && have("umount")) {
            return None;
        }
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let lab = std::env::temp_dir().join(format!(
            "mwha-sharedfs-hostile-{name}-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::SeqCst)
        ));
        let dir = lab.join("share");
        fs::create_dir_all(&dir).unwrap();
        let status = Command::new("mount").args(["-t", "tmpfs", "-o", "size=1m", "src-hostile"]).arg(&dir).status().unwrap();
        assert!(status.success(), "mounting a tmpfs at {}", dir.display());
        let share = Share { lab, dir };
        expect(&share.run("start", &[]), 0, "start on a clean share");
        Some(share)
    }

    fn probe(&self) -> PathBuf {
        self.dir.join(PROBE)
    }

    /// A root-only file outside the share.
    fn victim(&self) -> PathBuf {
        let victim = self.lab.join("victim");
        fs::write(&victim, PRECIOUS).unwrap();
        fs::set_permissions(&victim, fs::Permissions::from_mode(0o600)).unwrap();
        victim
    }

    fn run(&self, action: &str, extra: &[(&str, &str)]) -> AgentRun {
        let run_dir = self.lab.join("run");
        let mut env = vec![("MWHA_RUN_DIR", run_dir.to_str().unwrap()), ("OCF_RESKEY_CRM_meta_on_node", NODE)];
        env.extend_from_slice(extra);
        run_agent(Path::new(AGENT), action, "fs", &[("directory", self.dir.to_str().unwrap())], &env)
    }

    fn monitor_20(&self) -> AgentRun {
        self.run("monitor", &[("OCF_RESKEY_CRM_meta_interval", "10000"), ("OCF_CHECK_LEVEL", "20")])
    }
}

impl Drop for Share {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.dir).status();
        // Never delete through a mount that could not be undone.
        let still_mounted = fs::read_to_string("/proc/self/mountinfo").is_ok_and(|t| t.contains(&self.lab.display().to_string()));
        if !still_mounted {
            let _ = fs::remove_dir_all(&self.lab);
        }
    }
}

fn expect(run: &AgentRun, code: i32, what: &str) {
    assert_eq!(run.code, code, "{what}: expected rc {code}\n--- stderr\n{}--- stdout\n{}", run.stderr, run.stdout);
}

/// Fails (1) naming the probe file, with `why` in the logged error.
fn expect_refused(run: &AgentRun, why: &str, what: &str) {
    expect(run, 1, what);
    let reason = run.exit_reason().unwrap_or_default();
    assert!(reason.contains(&format!("probe file {PROBE}")), "{what}: exit reason {reason:?} does not name the probe file");
    assert!(run.stderr.contains(&format!("probe file {PROBE} {why}")), "{what}: {why:?} not logged\n{}", run.stderr);
    assert!(run.elapsed < Duration::from_secs(5), "{what}: took {:?}", run.elapsed);
}

#[test]
fn a_hard_link_at_the_probe_name_is_refused_and_its_other_name_untouched() {
    let Some(share) = Share::new("hardlink") else { return };
    // Hard links stay within a filesystem: the victim is on the share.
    let victim = share.dir.join("etc-shadow");
    fs::write(&victim, PRECIOUS).unwrap();
    fs::hard_link(&victim, share.probe()).unwrap();
    expect_refused(&share.monitor_20(), "has 2 hard links: refused, not written through", "level 20 with a planted hard link");
    assert_eq!(fs::read_to_string(&victim).unwrap(), PRECIOUS, "the victim was overwritten");
    assert_eq!(fs::metadata(&victim).unwrap().nlink(), 2, "the planted link is left alone");
    expect_refused(&share.run("start", &[]), "has 2 hard links", "start with a planted hard link");
    expect(&share.run("monitor", &[("OCF_RESKEY_CRM_meta_interval", "10000")]), 7, "the failed start is not started");
}

#[test]
fn a_symlink_at_the_probe_name_is_refused_and_not_followed() {
    let Some(share) = Share::new("symlink") else { return };
    let victim = share.victim();
    symlink(&victim, share.probe()).unwrap();
    expect_refused(&share.monitor_20(), "is a symbolic link: refused, not written through", "a link to a root-only file");
    assert_eq!(fs::read_to_string(&victim).unwrap(), PRECIOUS, "written through the link");
    assert!(fs::symlink_metadata(share.probe()).unwrap().file_type().is_symlink(), "the link is left alone");

    fs::remove_file(share.probe()).unwrap();
    let target = share.lab.join("created-through-the-link");
    symlink(&target, share.probe()).unwrap();
    expect_refused(&share.monitor_20(), "is a symbolic link", "a dangling link");
    assert!(!target.exists(), "the dangling link's target was created");
}

#[test]
fn a_fifo_or_a_foreign_file_at_the_probe_name_is_refused_without_waiting() {
    let Some(share) = Share::new("foreign") else { return };
    nix::unistd::mkfifo(&share.probe(), nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    expect_refused(&share.monitor_20(), "is not a regular file", "a FIFO");
    fs::remove_file(share.probe()).unwrap();

    // Another user's file, even one that looks like a probe, is not ours to remove or rewrite.
    fs::write(share.probe(), format!("sharedfs probe {PROBE} pid 1 at 1\n")).unwrap();
    std::os::unix::fs::chown(share.probe(), Some(65534), Some(65534)).unwrap();
    expect_refused(&share.monitor_20(), "is owned by uid 65534", "someone else's file");
    assert_eq!(fs::read_to_string(share.probe()).unwrap(), format!("sharedfs probe {PROBE} pid 1 at 1\n"));
    fs::remove_file(share.probe()).unwrap();

    fs::write(share.probe(), PRECIOUS).unwrap();
    expect_refused(&share.monitor_20(), "holds something other than a probe", "a file of ours that is no probe");
    assert_eq!(fs::read_to_string(share.probe()).unwrap(), PRECIOUS);
}

#[test]
fn a_probe_file_left_by_a_killed_check_is_removed() {
    let Some(share) = Share::new("stale") else { return };
    // Killed after the create (empty), during the write (partial) and before the remove (whole).
    for left in [String::new(), "sharedfs probe .sharedfs-".to_string(), format!("sharedfs probe {PROBE} pid 4242 at 1700000000\n")] {
        fs::write(share.probe(), &left).unwrap();
        fs::set_permissions(share.probe(), fs::Permissions::from_mode(0o600)).unwrap();
        expect(&share.monitor_20(), 0, &format!("level 20 after a check left {left:?}"));
        assert!(!share.probe().exists(), "the leftover {left:?} and the new probe file are gone");
    }
}
