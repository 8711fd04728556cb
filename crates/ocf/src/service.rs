//! An init-style service script, `SCRIPT {start|stop|status}`, as a product ships it: run as
//! the product user (or as root, like an init system would), from its folder, with a clean
//! environment, never through a shell, and always under a deadline (a `status` that hangs is a
//! known failure mode of such scripts).
//!
//! What `status` prints and returns is product-specific and often undocumented: exit 0 means
//! running, anything else means not running (LSB: 3), unless the admin gives a text that a
//! running service's output must contain (for scripts that always exit 0).
//!
//! [`ServiceParams`] reads the parameters every agent of such a service has: `service_script`,
//! `install_dir`, `user` and `status_text`. The agent declares them with its own texts (only
//! [`STATUS_TEXT`] is the same for all) and resolves them in one step, [`ServiceParams::script`].

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::deadline::Deadline;
use crate::escalate::{self, ProductProcesses, StopOutcome, StopPlan};
use crate::exit::OcfError;
use crate::fsio;
use crate::identity::{ProcRef, ProductMatch};
use crate::param::{Param, Values};
use crate::scope::LaunchScope;
use crate::spawn::{self, CommandLine, Finished, RunAs};

/// The declaration of `status_text`: the same for every agent of a service script. The status
/// text of the vendors' scripts is not public and may well be `<running>`: not a placeholder.
pub static STATUS_TEXT: Param<String> = Param::string(
    "status_text",
    "Text of a running status",
    "When set, 'service_script status' counts as running only if it exits 0 and prints this text (for scripts that \
always exit 0). Empty: exit status 0 means running, anything else not running.",
)
.may_look_like_a_placeholder();

/// The parameters of an agent of a service script, as parsed (pure: nothing resolved yet).
#[derive(Debug, Clone)]
pub struct ServiceParams {
    pub service_script: PathBuf,
    /// The product folder: the script's working directory; it holds the script. The command
    /// line of a PID file's process must mention it.
    pub install_dir: PathBuf,
    /// `None`: the script runs as the agent (root).
    pub user: Option<String>,
    pub status_text: Option<String>,
}

impl ServiceParams {
    /// Reads `service_script`, `install_dir` and `user` through the agent's declarations (its
    /// own texts and defaults; `install_dir` a [`Param::product_dir`]) and [`STATUS_TEXT`].
    pub fn from_values(
        v: &Values,
        service_script: &'static Param<PathBuf>,
        install_dir: &'static Param<PathBuf>,
        user: &'static Param<String>,
    ) -> Result<ServiceParams> {
        let install_dir = v.get(install_dir)?;
        let service_script = v.get(service_script)?;
        // The vendor's service scripts live in the product folder they serve.
        if !service_script.starts_with(&install_dir) || service_script == install_dir {
            return Err(OcfError::configured(format!(
                "service_script {} is not inside install_dir {}",
                service_script.display(),
                install_dir.display()
            )));
        }
        Ok(ServiceParams { service_script, install_dir, user: v.opt(user)?, status_text: v.opt(&STATUS_TEXT)? })
    }

    /// The user the script runs as; a user that does not exist is an error.
    pub fn run_as(&self) -> Result<Option<RunAs>> {
        self.user.as_deref().map(RunAs::by_name).transpose()
    }

    /// The uid the product runs as: `user`'s when it exists, root's without `user` (the script
    /// runs as the agent). Only processes of this uid can be the product's.
    pub fn uid(&self) -> Option<u32> {
        match self.user.as_deref() {
            Some(name) => RunAs::uid_of(name),
            None => Some(0),
        }
    }

    /// The script, resolved: run as `user`, from install_dir when that exists.
    /// The script, resolved: run as `user`, from install_dir when that exists (looked at under
    /// the deadline: the folder may be on a share that hangs; then the script runs from `/`).
    pub fn script(&self, deadline: &Deadline) -> Result<ServiceScript> {
        let dir = self.install_dir.clone();
        let present = fsio::bounded(&deadline.within(Duration::from_secs(5)), &format!("checking {}", dir.display()), move || dir.is_dir())
            .unwrap_or_else(|err| {
                crate::warn!("{err:#}");
                false
            });
        Ok(ServiceScript {
            script: self.service_script.clone(),
            cwd: present.then(|| self.install_dir.clone()),
            run_as: self.run_as()?,
            running_text: self.status_text.clone(),
        })
    }

    /// The product's processes: `main` (if known), what carries the launch ID of `scope`, and
    /// their descendants, all running as the product's user.
    pub fn processes(&self, main: Option<ProcRef>, scope: Option<&LaunchScope>) -> ProductProcesses {
        ProductProcesses { main, scope: scope.cloned(), uid: self.uid() }
    }

    /// How a PID file's process is confirmed: it mentions install_dir.
    pub fn product_match(&self) -> ProductMatch {
        ProductMatch::new(&self.install_dir)
    }

    /// install_dir and service_script exist on this node (5 otherwise).
    pub fn require_installed(&self, deadline: &Deadline) -> Result<()> {
        if !fsio::exists(deadline, &self.install_dir)? {
            return Err(OcfError::installed(format!("install_dir {} not found", self.install_dir.display())));
        }
        if !fsio::exists(deadline, &self.service_script)? {
            return Err(OcfError::installed(format!("service_script {} not found", self.service_script.display())));
        }
        Ok(())
    }
}

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
    /// The evidence, e.g. `status exited 3: service is not running`.
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

    /// `SCRIPT start` with the launch ID of `scope` in its environment, which every process it
    /// starts inherits; it must exit 0 (readiness is the caller's to check afterwards).
    pub fn start(&self, scope: &LaunchScope, deadline: &Deadline) -> Result<()> {
        let cmd = self.command("start").env(scope.env());
        let done =
            spawn::bounded(self.run_as.as_ref(), &cmd, deadline).with_context(|| format!("running {} start", self.script.display()))?;
        if !done.success() {
            anyhow::bail!("{} start {}: {}", self.script.display(), done.describe(), done.last_line());
        }
        crate::info!("{} start {} after {:.1}s", self.script.display(), done.describe(), done.elapsed.as_secs_f64());
        Ok(())
    }

    /// `SCRIPT stop`, whatever its exit status (what is left is for SIGTERM and SIGKILL).
    pub fn stop(&self, deadline: &Deadline) -> Result<()> {
        let done = self.run("stop", deadline)?;
        crate::info!("{} stop {} after {:.1}s", self.script.display(), done.describe(), done.elapsed.as_secs_f64());
        Ok(())
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

/// One look at a service being started, for [`wait_ready`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    Ready,
    /// Running but not serving yet (or the check could not tell): keep waiting.
    Starting(String),
    /// `status` says it is not running: after [`DIED_AFTER`] such answers in a row, it died.
    Stopped(String),
}

/// How many "not running" answers in a row mean the service died during start (3 s at the
/// poll interval: a start script that returns before its daemon writes its PID file is common).
pub const DIED_AFTER: u32 = 12;
const READY_POLL: Duration = Duration::from_millis(250);

/// Polls `look` until the service is ready. Fails when it reports stopped [`DIED_AFTER`] times
/// in a row, or at the deadline with the last reason it gave (a look cut short by the deadline
/// itself does not replace that reason).
pub fn wait_ready(deadline: &Deadline, service: &str, what: &str, mut look: impl FnMut(&Deadline) -> Readiness) -> Result<()> {
    let mut last = String::from("no check yet");
    let mut stopped_in_a_row = 0;
    deadline
        .wait_for(what, READY_POLL, || {
            match look(&deadline.within(Duration::from_secs(10))) {
                Readiness::Ready => return Ok(Some(())),
                Readiness::Stopped(why) => {
                    stopped_in_a_row += 1;
                    if stopped_in_a_row >= DIED_AFTER {
                        anyhow::bail!("{service} exited during start: {why}");
                    }
                    last = why;
                }
                Readiness::Starting(why) => {
                    stopped_in_a_row = 0;
                    if !deadline.is_expired() {
                        last = why;
                    }
                }
            }
            Ok(None)
        })
        .map_err(|err| if deadline.is_expired() { anyhow::anyhow!("{last}; {err:#}") } else { err })
}

/// How [`stop_service`] divides its deadline; what it leaves is the caller's.
#[derive(Debug, Clone, Copy)]
pub struct StopShares {
    /// For `SCRIPT stop`, then SIGTERM, SIGKILL and verification of the targets.
    pub escalate: f64,
    /// When no target was found: for `SCRIPT stop` alone.
    pub script_only: f64,
}

/// Stops `targets` with `SCRIPT stop` as the graceful step (when there is a script and it still
/// exists), then SIGTERM and SIGKILL, then verifies (`escalate::stop`). When no target is found
/// the service may still run under another name, so `SCRIPT stop` is run anyway (its failure is
/// only logged).
pub fn stop_service(script: Option<&ServiceScript>, targets: &ProductProcesses, shares: StopShares, deadline: &Deadline) -> StopOutcome {
    // A script we cannot even see within a few seconds cannot help: go straight to signals.
    let script = script.filter(|s| fsio::exists(&deadline.within(Duration::from_secs(5)), &s.script).unwrap_or(false));
    let graceful = |step: &Deadline| -> Result<()> { script.map_or(Ok(()), |s| s.stop(step)) };
    let plan = StopPlan {
        graceful: script.is_some().then_some(&graceful as _),
        graceful_share: 0.5,
        graceful_linger: Duration::from_secs(10),
        term_share: 0.5,
        thread_dump: None,
    };
    let outcome = escalate::stop(targets, &plan, &deadline.split(shares.escalate));
    if let (StopOutcome::AlreadyStopped, Some(script)) = (&outcome, script) {
        if let Err(err) = script.stop(&deadline.split(shares.script_only)) {
            crate::warn!("{err:#}");
        }
    }
    outcome
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
    use crate::env::Env;
    use std::os::unix::process::ExitStatusExt;
    use std::process::ExitStatus;

    fn finished(code: Option<i32>, stdout: &str) -> Finished {
        Finished {
            status: code.map(|c| ExitStatus::from_raw(c << 8)),
            stdout: stdout.into(),
            stderr: String::new(),
            elapsed: Duration::from_millis(5),
        }
    }

    #[test]
    fn service_params_read_the_declarations_of_the_agent() {
        static SERVICE_SCRIPT: Param<PathBuf> = Param::path("service_script", "s", "s");
        static INSTALL_DIR: Param<PathBuf> = Param::product_dir("install_dir", "i", "i").default("/opt/product");
        static USER: Param<String> = Param::string("user", "u", "u");
        static SPECS: &[&crate::param::ParamSpec] = &[SERVICE_SCRIPT.spec(), INSTALL_DIR.spec(), USER.spec(), STATUS_TEXT.spec()];
        let parse = |vars: &[(&str, &str)]| {
            let env = Env::from_vars(vars.iter().map(|(k, v)| (format!("OCF_RESKEY_{k}"), v.to_string())), "t");
            ServiceParams::from_values(&Values::new(&env, SPECS), &SERVICE_SCRIPT, &INSTALL_DIR, &USER)
        };
        let p = parse(&[("service_script", "/opt/product/service"), ("status_text", "running")]).unwrap();
        assert_eq!((p.service_script, p.install_dir), (PathBuf::from("/opt/product/service"), PathBuf::from("/opt/product")));
        assert_eq!((p.user, p.status_text.as_deref()), (None, Some("running")));
        for vars in [
            &[][..],
            &[("service_script", "service")],
            &[("service_script", "/s"), ("install_dir", "opt")],
            &[("service_script", "/usr/service"), ("install_dir", "/usr")],
            &[("service_script", "/etc/init.d/product"), ("install_dir", "/opt/product")],
            &[("service_script", "/opt/product"), ("install_dir", "/opt/product")],
        ] {
            assert_eq!(crate::exit::fault_of(&parse(vars).unwrap_err()).code(), 6, "{vars:?}");
        }
    }

    #[test]
    fn status_meaning() {
        assert_eq!(interpret_status(&finished(Some(0), "running\n"), None), ScriptStatus::Running);
        assert_eq!(
            interpret_status(&finished(Some(3), "service is not running\n"), None),
            ScriptStatus::NotRunning("status exited 3: service is not running".into())
        );
        assert!(matches!(interpret_status(&finished(None, ""), None), ScriptStatus::Unknown(_)));
        // A script that always exits 0: the text decides.
        assert_eq!(interpret_status(&finished(Some(0), "Service: active (running)\n"), Some("running")), ScriptStatus::Running);
        assert!(matches!(interpret_status(&finished(Some(0), "Service: stopped\n"), Some("running")), ScriptStatus::NotRunning(_)));
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
