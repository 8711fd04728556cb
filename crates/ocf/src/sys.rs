//! Every `unsafe` call of the project, each with its SAFETY argument.

use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::Command;

use nix::unistd::{Gid, Uid};

/// Credentials a child takes on between fork and exec.
#[derive(Debug, Clone)]
pub(crate) struct Creds {
    pub uid: Uid,
    pub gid: Gid,
    pub groups: Vec<Gid>,
}

/// Arranges for the child to start a new session (`setsid`, for daemons that must outlive the
/// agent and leave its process group) and to drop to `creds` (setgroups, setgid, setuid, in that
/// order, so no root group survives).
pub(crate) fn prepare_child(cmd: &mut Command, creds: Option<Creds>, new_session: bool) {
    let change_ids = creds.filter(|c| !(Uid::effective() == c.uid && Gid::effective() == c.gid && !Uid::effective().is_root()));
    // SAFETY: the closure runs in the forked child before exec. It only makes async-signal-safe
    // system calls (setsid, setgroups, setgid, setuid) on data prepared before the fork, and
    // allocates nothing (nix's error conversion is a plain errno copy).
    unsafe {
        cmd.pre_exec(move || {
            if new_session {
                nix::unistd::setsid()?;
            }
            if let Some(c) = &change_ids {
                nix::unistd::setgroups(&c.groups)?;
                nix::unistd::setgid(c.gid)?;
                nix::unistd::setuid(c.uid)?;
            }
            Ok(())
        });
    }
}

/// A pidfd for `pid` (`pidfd_open(2)`, Linux 5.3): it refers to that process and no other even
/// if the PID is reused, and polls readable once the process has exited. nix 0.29 has no wrapper.
pub(crate) fn pidfd_open(pid: i32) -> io::Result<OwnedFd> {
    // SAFETY: pidfd_open takes two integers (a PID and flags 0) and returns a new descriptor or
    // -1 with errno set; it reads and writes no memory of ours.
    let fd = unsafe { nix::libc::syscall(nix::libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    let fd = RawFd::try_from(fd).map_err(|_| io::Error::other("pidfd_open returned an impossible descriptor"))?;
    // SAFETY: the kernel just created `fd` for us: it is open and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}
