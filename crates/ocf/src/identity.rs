//! Process identity: whether a PID really is the product, and references to processes that
//! stay valid only as long as the same process lives.
//!
//! A PID named by the product's PID file counts as the product's main process when `/proc/<pid>`
//! exists (not a zombie), it runs as the product's user, its command line or executable refers
//! to the product's directory, and it started no later than its PID file was written (a process
//! born after its PID file holds a reused PID). The command-line check only confirms the PID
//! file's claim; on its own a mention of the directory never makes a process the product's
//! (see [`crate::escalate`]).
//! Invariant: nothing is signalled through this module; [`ProcRef`] is what `escalate` signals,
//! and it re-checks the start time first.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::pidfile::PidFileState;
use crate::proc::{self, Stat};

/// A process, named by PID and start time so a reused PID never matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProcRef {
    pub pid: i32,
    pub starttime: u64,
}

impl ProcRef {
    pub fn of(stat: &Stat) -> ProcRef {
        ProcRef { pid: stat.pid, starttime: stat.starttime }
    }

    /// Still the same, non-zombie process.
    pub fn is_alive(&self) -> bool {
        proc::read_stat(self.pid).is_some_and(|s| s.starttime == self.starttime && s.state != 'Z' && s.state != 'X')
    }
}

/// How to confirm a PID file's claim: the main process mentions the product's directory.
#[derive(Debug, Clone)]
pub struct ProductMatch {
    dir: PathBuf,
}

impl ProductMatch {
    pub fn new(dir: &Path) -> ProductMatch {
        ProductMatch { dir: dir.to_path_buf() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether a command line or executable refers to the directory: an argument contains the
    /// directory followed by `/` or the end of a path (so `/opt/warp` does not match
    /// `/opt/warp2`), or the executable lies under it.
    pub fn matches(&self, cmdline: &[String], exe: Option<&Path>) -> bool {
        let dir = self.dir.to_string_lossy();
        let dir = dir.trim_end_matches('/');
        if dir.is_empty() {
            return false;
        }
        let in_arg = cmdline.iter().any(|arg| {
            arg.match_indices(dir).any(|(at, _)| {
                let next = arg[at + dir.len()..].chars().next();
                matches!(next, None | Some('/' | ':' | ';' | ' ' | '"' | '\'' | ','))
            })
        });
        in_arg || exe.is_some_and(|e| e.starts_with(&self.dir))
    }

    pub fn matches_pid(&self, pid: i32) -> bool {
        self.matches(&proc::read_cmdline(pid), proc::read_exe(pid).as_deref())
    }
}

/// The verdict on a PID file's claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PidCheck {
    Verified(ProcRef),
    /// No such process (or a zombie).
    Gone,
    /// A live process that does not mention the product: a reused PID.
    NotProduct,
    /// A live process of another user: never the product's.
    OtherUser {
        uid: Option<u32>,
    },
    /// A live process that started after the PID file was written: a reused PID.
    BornAfterPidFile {
        started_after_by: Duration,
    },
}

impl PidCheck {
    pub fn verified(&self) -> Option<ProcRef> {
        match self {
            PidCheck::Verified(p) => Some(*p),
            PidCheck::Gone | PidCheck::NotProduct | PidCheck::OtherUser { .. } | PidCheck::BornAfterPidFile { .. } => None,
        }
    }
}

/// The product's main process according to its PID file: the PID-file → verify step of every
/// agent whose product writes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MainProcess {
    Running(ProcRef),
    /// No PID file: cleanly stopped.
    NoPidFile,
    /// A PID file that names no live product process: the main process died, or the PID was
    /// reused (`pid` set: the file is a claim that may be removed), or the file is not a PID
    /// file at all (`pid` unset: it is never removed).
    Stale {
        pid: Option<i32>,
        why: String,
    },
}

/// Reads the verdict on `state` (as read from `path`) for a product recognised by `product`,
/// running as `uid` when known.
pub fn main_process(path: &Path, state: &std::io::Result<PidFileState>, product: &ProductMatch, uid: Option<u32>) -> MainProcess {
    let stale = |pid, why| MainProcess::Stale { pid, why };
    match state {
        Ok(PidFileState::Missing) => MainProcess::NoPidFile,
        Ok(PidFileState::Garbage(why)) => stale(None, format!("{} is unusable: it {why}", path.display())),
        Err(e) => stale(None, format!("cannot read {}: {e}", path.display())),
        Ok(PidFileState::Claim { pid, written }) => match verify(*pid, *written, product, uid) {
            PidCheck::Verified(main) => MainProcess::Running(main),
            PidCheck::Gone => stale(Some(*pid), format!("pid {pid} from the PID file is gone")),
            PidCheck::NotProduct => stale(Some(*pid), format!("pid {pid} from the PID file is not the product (reused PID)")),
            PidCheck::OtherUser { uid: actual } => stale(
                Some(*pid),
                format!(
                    "pid {pid} from the PID file runs as uid {}, not as the product's user (reused PID)",
                    actual.map_or("?".into(), |u| u.to_string())
                ),
            ),
            PidCheck::BornAfterPidFile { started_after_by } => stale(
                Some(*pid),
                format!("pid {pid} started {:.1}s after the PID file was written (reused PID)", started_after_by.as_secs_f64()),
            ),
        },
    }
}

/// Slack for clock-tick rounding of the start time (CLK_TCK is 100 Hz: 10 ms).
const START_SLACK: Duration = Duration::from_millis(50);

/// Checks the claim of a PID file written at `written` that `pid` is the product's main
/// process, running as `uid` (when the product's user is known).
pub fn verify(pid: i32, written: SystemTime, product: &ProductMatch, uid: Option<u32>) -> PidCheck {
    let Some(stat) = proc::read_stat(pid) else { return PidCheck::Gone };
    if stat.state == 'Z' || stat.state == 'X' {
        return PidCheck::Gone;
    }
    if let Some(uid) = uid {
        let actual = proc::read_uid(pid);
        if actual != Some(uid) {
            return PidCheck::OtherUser { uid: actual };
        }
    }
    if !product.matches_pid(pid) {
        return PidCheck::NotProduct;
    }
    if let Some(started) = start_time(&stat) {
        if let Ok(after) = started.duration_since(written) {
            if after > START_SLACK {
                return PidCheck::BornAfterPidFile { started_after_by: after };
            }
        }
    }
    PidCheck::Verified(ProcRef::of(&stat))
}

/// The wall-clock time a process started: boot-relative start ticks moved onto the realtime
/// clock through `CLOCK_BOOTTIME`, which is precise to the tick (unlike `btime`, whole seconds).
pub fn start_time(stat: &Stat) -> Option<SystemTime> {
    use nix::time::{clock_gettime, ClockId};
    let ticks_per_sec = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK).ok().flatten()? as u64;
    let since_boot = Duration::from_secs(stat.starttime / ticks_per_sec)
        + Duration::from_nanos((stat.starttime % ticks_per_sec) * 1_000_000_000 / ticks_per_sec);
    let boot_now = clock_gettime(ClockId::CLOCK_BOOTTIME).ok()?;
    let boot_now = Duration::new(boot_now.tv_sec() as u64, boot_now.tv_nsec() as u32);
    let age = boot_now.checked_sub(since_boot)?;
    SystemTime::now().checked_sub(age)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn product_directory_must_match_on_a_path_boundary() {
        let m = ProductMatch::new(Path::new("/opt/warp"));
        assert!(m.matches(&args(&["python3", "/opt/warp/server/lib/main.py"]), None));
        assert!(m.matches(&args(&["java", "-Dinstall.dir=/opt/warp"]), None));
        assert!(m.matches(&args(&["java", "-cp", "/opt/warp/lib/a.jar:/opt/warp/lib/b.jar"]), None));
        assert!(!m.matches(&args(&["python3", "/opt/warp2/main.py"]), None));
        assert!(!m.matches(&args(&["sleep", "1000"]), Some(Path::new("/usr/bin/sleep"))));
        assert!(m.matches(&args(&["x"]), Some(Path::new("/opt/warp/boot/bin/flowsvc"))));
    }

    #[test]
    fn this_process_started_before_now_and_after_boot() {
        let stat = proc::read_stat(std::process::id() as i32).unwrap();
        let started = start_time(&stat).unwrap();
        let age = SystemTime::now().duration_since(started).unwrap();
        assert!(age < Duration::from_secs(3600), "{age:?}");
        let me = ProcRef::of(&stat);
        assert!(me.is_alive());
        assert!(!ProcRef { starttime: me.starttime + 1, ..me }.is_alive());
    }

    #[test]
    fn a_process_born_after_the_pid_file_is_not_the_product() {
        let me = std::process::id() as i32;
        let exe = std::env::current_exe().unwrap();
        let product = ProductMatch::new(exe.parent().unwrap());
        let long_ago = SystemTime::now() - Duration::from_secs(86_400 * 365);
        let uid = Some(nix::unistd::getuid().as_raw());
        assert!(matches!(verify(me, long_ago, &product, uid), PidCheck::BornAfterPidFile { .. }));
        assert!(matches!(verify(me, SystemTime::now(), &product, uid), PidCheck::Verified(_)));
        assert_eq!(verify(me, SystemTime::now(), &ProductMatch::new(Path::new("/nonexistent/x")), uid), PidCheck::NotProduct);
        let other = uid.map(|u| u + 1);
        assert_eq!(verify(me, SystemTime::now(), &product, other), PidCheck::OtherUser { uid });
    }
}
