//! An init-style service script, `SCRIPT {start|stop|status}`, as the product ships it: run as
//! the product user (or as root, like an init system would), from its folder, with a clean
//! environment, never through a shell, and always under a deadline (a `status` that hangs is a
//! known failure mode of such scripts).
//!
//! What `status` prints and returns is product-specific and often undocumented: exit 0 means
//! running, anything else means not running (LSB: 3), unless the admin gives a text that a
//! running service's output must contain (for scripts that always exit 0).

use std::path::PathBuf;

use anyhow::{Context, Result};
use ocf::deadline::Deadline;
use ocf::spawn::{self, CommandLine, Finished, RunAs};

#[derive(Debug, Clone)]
pub struct ServiceScript {
    pub script: PathBuf,
    /// Working directory (the product folder), when it exists.
    pub cwd: Option<PathBuf>,
    /// `None`: run as the agent (root).
    pub run_as: Option<RunAs>,
    /// When set, `status` counts as running only if its output contains this text.
    pub running_text: Option<String>,
}

/// What `SCRIPT status` said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScriptStatus {
    Running,
    /// The evidence, e.g. `status exited 3: omflow booster is not running`.
    NotRunning(String),
    /// No answer within the budget (killed), or it could not be run.
    Unknown(String),
}

impl ServiceScript {
    pub fn command(&self, action: &str) -> CommandLine {
        let mut cmd = CommandLine::new(&self.script).arg(action);
        if let Some(dir) = &self.cwd {
            cmd = cmd.cwd(dir);
        }
        cmd
    }

    /// Runs `SCRIPT action` until it exits or the deadline passes (then its process group is
    /// killed and `status` is `None`).
    pub fn run(&self, action: &str, deadline: &Deadline) -> Result<Finished> {
        let cmd = self.command(action);
        spawn::bounded(self.run_as.as_ref(), &cmd, deadline).with_context(|| format!("running {} {action}", self.script.display()))
    }

    pub fn status(&self, deadline: &Deadline) -> ScriptStatus {
        let done = match self.run("status", deadline) {
            Ok(done) => done,
            Err(err) => return ScriptStatus::Unknown(format!("{err:#}")),
        };
        interpret_status(&done, self.running_text.as_deref())
    }
}

/// The meaning of a finished `status` run.
pub fn interpret_status(done: &Finished, running_text: Option<&str>) -> ScriptStatus {
    let Some(status) = done.status else {
        return ScriptStatus::Unknown(format!("status {}", done.describe()));
    };
    let line = done.last_line();
    if !status.success() {
        return ScriptStatus::NotRunning(format!("status {}: {line}", done.describe()));
    }
    match running_text {
        Some(text) if !done.stdout.contains(text) && !done.stderr.contains(text) => {
            ScriptStatus::NotRunning(format!("status output {line:?} does not contain {text:?}"))
        }
        _ => ScriptStatus::Running,
    }
}

/// A hook command (`promote_cmd`): an argv vector, first word absolute, no shell.
pub fn run_argv(argv: &[String], cwd: Option<&PathBuf>, run_as: Option<&RunAs>, deadline: &Deadline) -> Result<Finished> {
    let (program, args) = argv.split_first().context("empty command")?;
    let mut cmd = CommandLine::new(program);
    for a in args {
        cmd = cmd.arg(a);
    }
    if let Some(dir) = cwd {
        cmd = cmd.cwd(dir);
    }
    spawn::bounded(run_as, &cmd, deadline).with_context(|| format!("running {}", cmd.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;
    use std::process::ExitStatus;
    use std::time::Duration;

    fn finished(code: Option<i32>, stdout: &str) -> Finished {
        Finished {
            status: code.map(|c| ExitStatus::from_raw(c << 8)),
            stdout: stdout.into(),
            stderr: String::new(),
            elapsed: Duration::from_millis(5),
        }
    }

    #[test]
    fn status_meaning() {
        assert_eq!(interpret_status(&finished(Some(0), "running\n"), None), ScriptStatus::Running);
        assert_eq!(
            interpret_status(&finished(Some(3), "booster is not running\n"), None),
            ScriptStatus::NotRunning("status exited 3: booster is not running".into())
        );
        assert!(matches!(interpret_status(&finished(None, ""), None), ScriptStatus::Unknown(_)));
        // A script that always exits 0: the text decides.
        assert_eq!(interpret_status(&finished(Some(0), "Booster: active (running)\n"), Some("running")), ScriptStatus::Running);
        assert!(matches!(interpret_status(&finished(Some(0), "Booster: stopped\n"), Some("running")), ScriptStatus::NotRunning(_)));
    }

    #[test]
    fn a_hung_status_is_unknown_within_the_budget() {
        let script = ServiceScript { script: "/bin/sleep".into(), cwd: None, run_as: None, running_text: None };
        // `sleep status` fails at once; a real hang needs a script: sleep's argument is invalid.
        assert!(matches!(script.status(&Deadline::after(Duration::from_secs(5))), ScriptStatus::NotRunning(_)));
        let hang = run_argv(&["/bin/sleep".into(), "30".into()], None, None, &Deadline::after(Duration::from_millis(200))).unwrap();
        assert!(hang.status.is_none());
        assert!(matches!(interpret_status(&hang, None), ScriptStatus::Unknown(_)));
    }
}
