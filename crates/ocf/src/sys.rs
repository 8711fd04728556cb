//! Every `unsafe` call of the project, each with its SAFETY argument.

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
