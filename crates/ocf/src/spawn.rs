//! Running the product's commands: as its OS user, with a clean explicit environment, never
//! through a shell.
//!
//! - [`detached`]: a daemon that outlives the agent (new session, stdin `/dev/null`, output
//!   appended to a log file), so Pacemaker's process-group kill of the agent never hits it and
//!   it never holds the agent's pipes.
//! - [`bounded`]: a command whose output we want, in its own process group, killed with that
//!   group at the deadline; we stop reading pipes at the deadline even if a grandchild holds them.

use std::ffi::{CString, OsString};
use std::fs::OpenOptions;
use std::io::Read;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use nix::sys::signal::{killpg, Signal};
use nix::sys::wait::{waitid, Id, WaitPidFlag};
use nix::unistd::{Gid, Pid, Uid, User};

use crate::deadline::Deadline;
use crate::exit::OcfError;
use crate::sys::{prepare_child, Creds};

/// An OS user resolved before any fork: ids, supplementary groups (initgroups), home.
#[derive(Debug, Clone)]
pub struct RunAs {
    name: String,
    uid: Uid,
    gid: Gid,
    groups: Vec<Gid>,
    home: PathBuf,
    shell: PathBuf,
}

impl RunAs {
    /// Looks the user up by name; an unknown user is an error on this node (2).
    pub fn by_name(name: &str) -> Result<RunAs> {
        let user = User::from_name(name)
            .with_context(|| format!("looking up user {name}"))?
            .ok_or_else(|| OcfError::args(format!("user {name} does not exist on this node")))?;
        Self::from_user(user)
    }

    /// Only the uid of a user (no group list: cheap enough for every monitor).
    pub fn uid_of(name: &str) -> Option<u32> {
        User::from_name(name).ok().flatten().map(|u| u.uid.as_raw())
    }

    /// The owner of `path` (the default user of most products); the `stat` is bounded, as
    /// the path may be on a share that hangs.
    pub fn owner_of(path: &Path, deadline: &Deadline) -> Result<RunAs> {
        let owned = path.to_path_buf();
        let meta = crate::fsio::bounded(deadline, &format!("reading the owner of {}", path.display()), move || std::fs::metadata(owned))?;
        let uid = meta.with_context(|| format!("reading owner of {}", path.display()))?.uid();
        let user = User::from_uid(Uid::from_raw(uid))
            .context("looking up owner")?
            .ok_or_else(|| OcfError::args(format!("owner uid {uid} of {} has no user name", path.display())))?;
        Self::from_user(user)
    }

    fn from_user(user: User) -> Result<RunAs> {
        let cname = CString::new(user.name.as_str()).context("user name contains NUL")?;
        let groups = nix::unistd::getgrouplist(&cname, user.gid).with_context(|| format!("reading groups of {}", user.name))?;
        Ok(RunAs { name: user.name, uid: user.uid, gid: user.gid, groups, home: user.dir, shell: user.shell })
    }

    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn uid(&self) -> u32 {
        self.uid.as_raw()
    }

    /// The whole environment the product gets: no variable of Pacemaker's leaks through
    /// except locale and time zone.
    fn environment(&self) -> Vec<(OsString, OsString)> {
        let mut env: Vec<(OsString, OsString)> = vec![
            ("HOME".into(), self.home.clone().into()),
            ("USER".into(), self.name.clone().into()),
            ("LOGNAME".into(), self.name.clone().into()),
            ("SHELL".into(), self.shell.clone().into()),
            ("PATH".into(), "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into()),
        ];
        for keep in ["LANG", "LC_ALL", "TZ"] {
            if let Some(v) = std::env::var_os(keep) {
                env.push((keep.into(), v));
            }
        }
        env
    }

    fn creds(&self) -> Creds {
        Creds { uid: self.uid, gid: self.gid, groups: self.groups.clone() }
    }
}

/// A program and its arguments, each passed to exec as is.
#[derive(Debug, Clone)]
pub struct CommandLine {
    pub program: PathBuf,
    pub args: Vec<OsString>,
    pub cwd: Option<PathBuf>,
    /// Added on top of the user's clean environment.
    pub env: Vec<(OsString, OsString)>,
}

impl CommandLine {
    pub fn new(program: impl Into<PathBuf>) -> CommandLine {
        CommandLine { program: program.into(), args: Vec::new(), cwd: None, env: Vec::new() }
    }
    pub fn arg(mut self, arg: impl Into<OsString>) -> CommandLine {
        self.args.push(arg.into());
        self
    }
    pub fn cwd(mut self, dir: impl Into<PathBuf>) -> CommandLine {
        self.cwd = Some(dir.into());
        self
    }
    pub fn envs(mut self, env: Vec<(OsString, OsString)>) -> CommandLine {
        self.env = env;
        self
    }
    /// One more variable, after (and so above) those already given.
    pub fn env(mut self, (name, value): (OsString, OsString)) -> CommandLine {
        self.env.push((name, value));
        self
    }

    /// For logs: the argv, quoted.
    pub fn display(&self) -> String {
        std::iter::once(self.program.as_os_str())
            .chain(self.args.iter().map(OsString::as_os_str))
            .map(|a| format!("{:?}", a.to_string_lossy()))
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn command(&self, run_as: Option<&RunAs>) -> Command {
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args).env_clear().stdin(Stdio::null());
        if let Some(user) = run_as {
            cmd.envs(user.environment());
        } else {
            cmd.env("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
            for keep in ["LANG", "LC_ALL", "TZ", "HOME"] {
                if let Some(v) = std::env::var_os(keep) {
                    cmd.env(keep, v);
                }
            }
        }
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
        if let Some(dir) = &self.cwd {
            cmd.current_dir(dir);
        }
        cmd
    }
}

/// A daemon launcher we started; it may stay in the foreground or exit after forking.
#[derive(Debug)]
pub struct Launched {
    child: Child,
    exited: Option<ExitStatus>,
}

impl Launched {
    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// The launcher's exit status, once it has exited (reaps it).
    pub fn exit_status(&mut self) -> Option<ExitStatus> {
        if self.exited.is_none() {
            self.exited = self.child.try_wait().ok().flatten();
        }
        self.exited
    }
}

/// Starts `cmd` as `run_as` in a new session with stdin from /dev/null and stdout/stderr
/// appended to `log` (created owned by the user, mode 0640; opened under the deadline, as it
/// may live on a share).
pub fn detached(run_as: &RunAs, cmd: &CommandLine, log: &Path, deadline: &Deadline) -> Result<Launched> {
    let path = log.to_path_buf();
    let file = crate::fsio::bounded(deadline, &format!("opening console log {}", log.display()), move || {
        OpenOptions::new().create(true).append(true).mode(0o640).open(path)
    })?
    .with_context(|| format!("opening console log {}", log.display()))?;
    if file.metadata().map(|m| m.uid() != run_as.uid()).unwrap_or(false) && Uid::effective().is_root() {
        let _ = nix::unistd::fchown(std::os::fd::AsRawFd::as_raw_fd(&file), Some(run_as.uid), Some(run_as.gid));
    }
    let err = file.try_clone().context("duplicating console log handle")?;
    let mut command = cmd.command(Some(run_as));
    command.stdout(file).stderr(err);
    prepare_child(&mut command, Some(run_as.creds()), true);
    let child = command.spawn().with_context(|| format!("starting {} as {}", cmd.display(), run_as.name))?;
    crate::debug!("started {} as {} (pid {})", cmd.display(), run_as.name, child.id());
    Ok(Launched { child, exited: None })
}

/// What a bounded command did.
#[derive(Debug)]
pub struct Finished {
    /// `None` when it was killed at the deadline.
    pub status: Option<ExitStatus>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Finished {
    pub fn success(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }

    /// `Ok` when it exited 0; otherwise an error naming `what`, the outcome and the last line
    /// of output. A command killed at its deadline gives a [`crate::deadline::TimedOut`].
    pub fn check(&self, what: &str) -> Result<()> {
        match self.status {
            None => Err(crate::deadline::TimedOut::error(what, self.elapsed)),
            Some(s) if s.success() => Ok(()),
            Some(_) => Err(anyhow::anyhow!("{what} {}: {}", self.describe(), self.last_line())),
        }
    }

    /// "exited 3", "killed by signal 9", "timed out": for reasons and logs.
    pub fn describe(&self) -> String {
        match self.status {
            None => format!("did not finish within {:.1}s", self.elapsed.as_secs_f64()),
            Some(s) => match (s.code(), s.signal()) {
                (Some(c), _) => format!("exited {c}"),
                (None, Some(sig)) => format!("killed by signal {sig}"),
                (None, None) => "ended".to_string(),
            },
        }
    }

    /// The last line of output, for exit reasons.
    pub fn last_line(&self) -> &str {
        [&self.stderr, &self.stdout].iter().flat_map(|s| s.lines().rev()).find(|l| !l.trim().is_empty()).unwrap_or("").trim()
    }
}

const OUTPUT_LIMIT: u64 = 64 * 1024;

/// Runs `cmd` (as `run_as`, or as ourselves) in its own process group, capturing output. At the
/// deadline the whole group gets SIGKILL and the result says it timed out.
pub fn bounded(run_as: Option<&RunAs>, cmd: &CommandLine, deadline: &Deadline) -> Result<Finished> {
    let started = Instant::now();
    let mut command = cmd.command(run_as);
    command.stdout(Stdio::piped()).stderr(Stdio::piped()).process_group(0);
    prepare_child(&mut command, run_as.map(RunAs::creds), false);
    let mut child = command.spawn().with_context(|| format!("running {}", cmd.display()))?;
    let pid = Pid::from_raw(child.id() as i32);
    let out_rx = drain(child.stdout.take());
    let err_rx = drain(child.stderr.take());

    // Watch for exit without reaping, so the PID and its group stay ours until we decide.
    let (exit_tx, exit_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = waitid(Id::Pid(pid), WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT);
        let _ = exit_tx.send(());
    });
    let finished_in_time = exit_rx.recv_timeout(deadline.remaining()).is_ok();
    let status = if finished_in_time {
        child.wait().ok()
    } else {
        let group: Vec<i32> = crate::proc::ProcessTable::scan().stats.values().filter(|s| s.pgrp == pid.as_raw()).map(|s| s.pid).collect();
        crate::forensics::log_stuck(&group, &format!("{} abandoned at its deadline", cmd.display()));
        let _ = killpg(pid, Signal::SIGKILL);
        // Reap if it dies promptly; a child stuck in uninterruptible sleep is left behind.
        if exit_rx.recv_timeout(Duration::from_millis(500)).is_ok() {
            let _ = child.wait();
        }
        None
    };
    // After exit, give the pipes a moment; a forked daemon may hold them forever.
    let grace = Duration::from_millis(100);
    let stdout = out_rx.recv_timeout(grace).unwrap_or_default();
    let stderr = err_rx.recv_timeout(grace).unwrap_or_default();
    let finished = Finished { status, stdout, stderr, elapsed: started.elapsed() };
    crate::debug!("{} {} in {:.3}s", cmd.display(), finished.describe(), finished.elapsed.as_secs_f64());
    Ok(finished)
}

fn drain(pipe: Option<impl Read + Send + 'static>) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    if let Some(pipe) = pipe {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = pipe.take(OUTPUT_LIMIT).read_to_end(&mut buf);
            let _ = tx.send(String::from_utf8_lossy(&buf).into_owned());
        });
    }
    rx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_captures_output_and_status() {
        let d = Deadline::after(Duration::from_secs(10));
        let f = bounded(None, &CommandLine::new("/bin/sh").arg("-c").arg("echo out; echo err >&2; exit 3"), &d).unwrap();
        assert_eq!(f.status.and_then(|s| s.code()), Some(3));
        assert_eq!(f.stdout, "out\n");
        assert_eq!(f.last_line(), "err");
        assert_eq!(f.describe(), "exited 3");
    }

    #[test]
    fn bounded_kills_the_group_at_the_deadline_even_if_a_grandchild_holds_the_pipe() {
        let d = Deadline::after(Duration::from_millis(300));
        let started = Instant::now();
        let f = bounded(None, &CommandLine::new("/bin/sh").arg("-c").arg("sleep 30 & sleep 30"), &d).unwrap();
        assert!(f.status.is_none());
        assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
    }

    #[test]
    fn environment_is_clean() {
        // cargo runs tests with CARGO_* and the test harness's variables: none may pass.
        assert!(std::env::vars().any(|(k, _)| k.starts_with("CARGO")), "the test runs under cargo");
        let d = Deadline::after(Duration::from_secs(10));
        let f = bounded(None, &CommandLine::new("/usr/bin/env"), &d).unwrap();
        let names: Vec<&str> = f.stdout.lines().filter_map(|l| l.split_once('=').map(|(k, _)| k)).collect();
        assert!(names.iter().all(|n| ["PATH", "LANG", "LC_ALL", "TZ", "HOME"].contains(n)), "{names:?}");
        assert!(names.contains(&"PATH"));
    }
}
