//! The launch scope: proof that a process was started by this resource's agent, which a
//! bystander cannot have by accident.
//!
//! At start the agent draws a random 128-bit launch ID, records it under `/run/mwha/<agent>/
//! <instance>/scope` with the uid the product runs as, and puts `MWHA_LAUNCH_ID=<id>` into the
//! environment of the command it starts. Every process of the product inherits it: children that
//! call `setsid` or double-fork away from the main process keep it, because the environment is
//! copied across `fork` and `exec` (the technique of Jenkins' ProcessTreeKiller). The kernel
//! shows it in `/proc/<pid>/environ`, which only the process's owner and root can read.
//!
//! Why not a cgroup: on cgroup v1/hybrid hosts (this project's CI among them) `/sys/fs/cgroup` is
//! a tmpfs that systemd owns, and a process moved into a cgroup of ours leaves the cgroup of
//! `pacemaker.service`; the launch ID works on every host, inside containers and in the lab's
//! PID namespaces, and it costs one `read` of an environment block per candidate process, paid
//! only on stop and when the main process is gone (never on a depth-0 monitor of a running
//! product).
//!
//! A process the product starts with an emptied environment (`env -i`, `su -`) loses the ID; it
//! is then found only as a descendant of the main process (see [`crate::escalate`]).
//!
//! Invariant: a launch ID is evidence only together with the recorded uid: a process of another
//! user is never the product's, whatever its environment says.

use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::MetadataExt;

use crate::state::StateDir;

/// The environment variable that carries the launch ID into the product's processes.
pub const LAUNCH_ID_VAR: &str = "MWHA_LAUNCH_ID";
/// The state file that records the scope.
const SCOPE_FILE: &str = "scope";
/// An environment block is at most ARG_MAX-ish; reading more would be a hostile process.
const ENVIRON_LIMIT: u64 = 1 << 20;

/// The scope a resource's product was started in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaunchScope {
    id: String,
    uid: u32,
}

impl LaunchScope {
    /// A new scope for a product about to be started as `uid`, recorded in `state` (replacing an
    /// older one: the caller has stopped what that one held).
    pub fn create(state: &StateDir, uid: u32) -> io::Result<LaunchScope> {
        let scope = LaunchScope { id: random_id()?, uid };
        state.write(SCOPE_FILE, &format!("{}\n{}\n", scope.id, scope.uid))?;
        Ok(scope)
    }

    /// The recorded scope, if any (none after a reboot, or before the first start).
    pub fn load(state: &StateDir) -> Option<LaunchScope> {
        let text = state.read(SCOPE_FILE).ok().flatten()?;
        parse(&text)
    }

    /// Forgets the scope (after a stop that left nothing).
    pub fn forget(state: &StateDir) -> io::Result<()> {
        state.remove(SCOPE_FILE)
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// The uid the product was started as.
    pub fn uid(&self) -> u32 {
        self.uid
    }

    /// The variable to add to the environment of the commands that start the product.
    pub fn env(&self) -> (std::ffi::OsString, std::ffi::OsString) {
        (LAUNCH_ID_VAR.into(), self.id.clone().into())
    }

    /// Whether `pid` runs as the scope's uid and carries the launch ID in its environment.
    pub fn holds(&self, pid: i32) -> bool {
        let Ok(file) = File::open(format!("/proc/{pid}/environ")) else { return false };
        // The owner of /proc/<pid>/environ is the process's effective uid (dumpable processes).
        if file.metadata().map(|m| m.uid()).ok() != Some(self.uid) {
            return false;
        }
        let mut block = Vec::new();
        if file.take(ENVIRON_LIMIT).read_to_end(&mut block).is_err() {
            return false;
        }
        environ_has(&block, LAUNCH_ID_VAR, &self.id)
    }
}

fn parse(text: &str) -> Option<LaunchScope> {
    let mut lines = text.lines();
    let id = lines.next()?.trim();
    let uid = lines.next()?.trim().parse().ok()?;
    (id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit())).then(|| LaunchScope { id: id.to_string(), uid })
}

/// Whether a NUL-separated environment block holds exactly `name=value`.
pub fn environ_has(block: &[u8], name: &str, value: &str) -> bool {
    let want = format!("{name}={value}");
    block.split(|b| *b == 0).any(|entry| entry == want.as_bytes())
}

/// 128 random bits in hex, from the kernel's generator.
fn random_id() -> io::Result<String> {
    let mut bytes = [0u8; 16];
    File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_entry_counts() {
        let id = "0123456789abcdef0123456789abcdef";
        let block = format!("PATH=/bin\0{LAUNCH_ID_VAR}={id}\0HOME=/\0");
        assert!(environ_has(block.as_bytes(), LAUNCH_ID_VAR, id));
        // A value that merely contains or mentions the ID is not the scope's.
        for other in [format!("X_{LAUNCH_ID_VAR}={id}\0"), format!("{LAUNCH_ID_VAR}={id}0\0"), format!("NOTE={LAUNCH_ID_VAR}={id}\0")] {
            assert!(!environ_has(other.as_bytes(), LAUNCH_ID_VAR, id), "{other:?}");
        }
    }

    #[test]
    fn the_record_round_trips_and_garbage_is_no_scope() {
        let id = random_id().unwrap();
        assert_eq!(id.len(), 32);
        assert_ne!(id, random_id().unwrap());
        assert_eq!(parse(&format!("{id}\n1001\n")), Some(LaunchScope { id: id.clone(), uid: 1001 }));
        for bad in ["", "abc\n0\n", &format!("{id}\n"), &format!("{id}\nroot\n"), "../../etc\n0\n"] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_child_started_with_the_id_is_held_and_this_process_is_not() {
        let scope = LaunchScope { id: random_id().unwrap(), uid: nix::unistd::geteuid().as_raw() };
        let (k, v) = scope.env();
        let mut child = std::process::Command::new("sleep").arg("30").env(k, v).spawn().unwrap();
        // Right after exec the kernel may not have laid out the new environment yet (it reads
        // empty for a moment): wait for it.
        let end = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while !scope.holds(child.id() as i32) && std::time::Instant::now() < end {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(scope.holds(child.id() as i32));
        assert!(!scope.holds(std::process::id() as i32));
        let other_uid = LaunchScope { uid: scope.uid + 1, ..scope.clone() };
        assert!(!other_uid.holds(child.id() as i32), "another user's process is never held");
        child.kill().unwrap();
        child.wait().unwrap();
    }
}
