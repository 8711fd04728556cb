//! The little per-node state the agent keeps, in `state_dir` (default `/run/mwha/alert`, a
//! tmpfs: forgotten at reboot). Every read-modify-write holds an exclusive `flock` on
//! `state_dir/lock`, because Pacemaker runs one agent per event and recipient concurrently
//! (a cut-off node sees two "lost" events at the same moment and must report one quorum loss).
//!
//! - `quorum`: `<boot id> <0|1>`, the last quorum state seen, to report changes only.
//! - `actions/<key>`: one file per (event, command) that ran, so an action configured on the
//!   alert (and so seen by every recipient's process) runs once per event.
//!
//! The agent runs as hacluster and cannot create `/run/mwha`; packaging creates the directory
//! (tmpfiles.d). Without it the agent still writes every line; it only loses these two features.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};
use nix::fcntl::{Flock, FlockArg};

use ocf::deadline::Deadline;

use crate::classify::QuorumChange;

/// How long action claims are kept.
const CLAIM_TTL: Duration = Duration::from_secs(3600);

#[derive(Debug)]
pub struct StateDir {
    dir: PathBuf,
}

impl StateDir {
    /// Opens (or creates, if its parent exists) the state directory; an error when it cannot
    /// be used.
    pub fn open(dir: &Path) -> Result<StateDir> {
        match fs::DirBuilder::new().mode(0o750).create(dir) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e).with_context(|| format!("creating {}", dir.display())),
        }
        Ok(StateDir { dir: dir.to_path_buf() })
    }

    /// Runs `work` holding the directory's lock (waiting at most until `deadline`).
    fn locked<T>(&self, deadline: &Deadline, work: impl FnOnce() -> Result<T>) -> Result<T> {
        let path = self.dir.join("lock");
        let mut file = Some(
            OpenOptions::new().create(true).append(true).mode(0o640).open(&path).with_context(|| format!("opening {}", path.display()))?,
        );
        let lock = deadline.wait_for(&format!("the lock on {}", path.display()), Duration::from_millis(20), || {
            let f = file.take().expect("invariant: the file is put back after every failed attempt");
            match Flock::lock(f, FlockArg::LockExclusiveNonblock) {
                Ok(lock) => Ok(Some(lock)),
                Err((f, nix::errno::Errno::EWOULDBLOCK)) => {
                    file = Some(f);
                    Ok(None)
                }
                Err((_, e)) => Err(anyhow::anyhow!("locking {}: {e}", path.display())),
            }
        })?;
        let result = work();
        drop(lock);
        result
    }

    /// Records the current quorum state and says whether it changed. Without an earlier record
    /// from this boot, only a missing quorum is news.
    pub fn quorum_change(&self, quorate: bool, boot_id: &str, deadline: &Deadline) -> Result<Option<QuorumChange>> {
        self.locked(deadline, || {
            let path = self.dir.join("quorum");
            let before = match fs::read_to_string(&path) {
                Ok(text) => parse_quorum(&text, boot_id),
                Err(e) if e.kind() == io::ErrorKind::NotFound => None,
                Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
            };
            if before != Some(quorate) {
                let tmp = self.dir.join(".quorum.tmp");
                fs::write(&tmp, format!("{boot_id} {}\n", u8::from(quorate))).with_context(|| format!("writing {}", tmp.display()))?;
                fs::rename(&tmp, &path).with_context(|| format!("renaming {}", tmp.display()))?;
            }
            Ok(transition(before, quorate))
        })
    }

    /// True the first time `key` is claimed (within an hour); false for every later claim.
    pub fn claim(&self, key: &str, deadline: &Deadline) -> Result<bool> {
        self.locked(deadline, || {
            let dir = self.dir.join("actions");
            match fs::DirBuilder::new().mode(0o750).create(&dir) {
                Err(e) if e.kind() != io::ErrorKind::AlreadyExists => return Err(e).with_context(|| format!("creating {}", dir.display())),
                _ => {}
            }
            prune(&dir);
            match OpenOptions::new().write(true).create_new(true).mode(0o640).open(dir.join(key)) {
                Ok(mut f) => {
                    let _ = f.write_all(b"");
                    Ok(true)
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
                Err(e) => Err(e).with_context(|| format!("creating {}", dir.join(key).display())),
            }
        })
    }
}

fn parse_quorum(text: &str, boot_id: &str) -> Option<bool> {
    let (boot, state) = text.trim().split_once(' ')?;
    if boot != boot_id {
        return None; // written before a reboot
    }
    match state {
        "1" => Some(true),
        "0" => Some(false),
        _ => None,
    }
}

fn transition(before: Option<bool>, now: bool) -> Option<QuorumChange> {
    match (before, now) {
        (Some(true) | None, false) => Some(QuorumChange::Lost),
        (Some(false), true) => Some(QuorumChange::Regained),
        _ => None,
    }
}

/// Removes claims older than an hour; errors are ignored (the next run retries).
fn prune(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    let now = SystemTime::now();
    for entry in entries.flatten() {
        let old = entry.metadata().and_then(|m| m.modified()).is_ok_and(|t| now.duration_since(t).unwrap_or_default() > CLAIM_TTL);
        if old {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// This boot's ID (`/proc/sys/kernel/random/boot_id`), so state from before a reboot on a
/// persistent `state_dir` is ignored.
pub fn boot_id() -> String {
    fs::read_to_string("/proc/sys/kernel/random/boot_id").map(|s| s.trim().to_string()).unwrap_or_else(|_| "unknown".to_string())
}

/// A stable key for (event, command): FNV-1a of the parts, in hex.
pub fn key(parts: &[&str]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.bytes().chain(std::iter::once(0)) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("mwha-alert-state-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn quorum_changes_are_reported_once() {
        let dir = temp("quorum");
        let s = StateDir::open(&dir).unwrap();
        let d = Deadline::after(Duration::from_secs(5));
        assert_eq!(s.quorum_change(true, "boot1", &d).unwrap(), None);
        assert_eq!(s.quorum_change(false, "boot1", &d).unwrap(), Some(QuorumChange::Lost));
        assert_eq!(s.quorum_change(false, "boot1", &d).unwrap(), None);
        assert_eq!(s.quorum_change(true, "boot1", &d).unwrap(), Some(QuorumChange::Regained));
        // After a reboot the old record means nothing; a missing quorum is news.
        assert_eq!(s.quorum_change(false, "boot2", &d).unwrap(), Some(QuorumChange::Lost));
        let _ = fs::remove_dir_all(dir);
    }

    #[test]
    fn concurrent_claims_of_one_key_succeed_once() {
        let dir = temp("claims");
        let _ = StateDir::open(&dir).unwrap();
        let k = key(&["resource", "d", "monitor", "1795641567", "248822", "/usr/local/bin/pause"]);
        let winners: usize = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    let (dir, k) = (dir.clone(), k.clone());
                    scope.spawn(move || StateDir::open(&dir).unwrap().claim(&k, &Deadline::after(Duration::from_secs(5))).unwrap())
                })
                .collect();
            handles.into_iter().map(|h| usize::from(h.join().unwrap())).sum()
        });
        assert_eq!(winners, 1);
        assert_ne!(key(&["a", "bc"]), key(&["ab", "c"]));
        let _ = fs::remove_dir_all(dir);
    }

    #[test]
    fn a_missing_parent_is_an_error() {
        assert!(StateDir::open(Path::new("/nonexistent-mwha/alert")).is_err());
    }
}
