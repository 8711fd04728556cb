//! What the OMFLOW Booster looks like to the agent: its role and promotion score (promotable mode
//! only), its health as `service_script status`, the PID file and the port tell it, who else holds
//! its port, how to stop it, and the promote/demote hooks. `main.rs` is the runbook that uses
//! these.
//!
//! Port 5169 is not the Booster's alone: the vendor's guide ("Boosterのインストール", インストール
//! 手順 2) has the OMFLOW Server open it too. A holder is the Booster's only on the evidence of
//! [`ocf::service::ServiceParams::processes`] (the PID file's verified process, the launch scope
//! of the start, their descendants, as the product's user); any other holder is named (pid and
//! program) and never signalled.

use std::time::Duration;

use anyhow::{bail, Context, Result};
use ocf::action::Ctx;
use ocf::deadline::Deadline;
use ocf::escalate::StopOutcome;
use ocf::exit::OcfError;
use ocf::identity::{self, MainProcess, ProcRef};
use ocf::pidfile::PidFile;
use ocf::proc;
use ocf::promotion::PromotionScore;
use ocf::scope::LaunchScope;
use ocf::service::{self, ScriptStatus, ServiceScript, StopShares};
use ocf::sockets;
use ocf::state::StateDir;
use ocf::{fsio, info, warn};

use crate::params::{Params, META, SCORE_PROMOTED, SCORE_UNPROMOTED};

/// The role this node's instance is in, as recorded by promote/demote (per boot: /run).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Promoted,
    Unpromoted,
}

impl Role {
    pub fn score(self) -> i64 {
        match self {
            Role::Promoted => SCORE_PROMOTED,
            Role::Unpromoted => SCORE_UNPROMOTED,
        }
    }
}

pub fn state(cx: &Ctx) -> StateDir {
    StateDir::new(META.name, cx.instance())
}

pub fn role(cx: &Ctx) -> Role {
    match state(cx).read("role") {
        Ok(Some(text)) if text.trim() == "Promoted" => Role::Promoted,
        Ok(_) => Role::Unpromoted,
        Err(err) => {
            warn!("reading the role file: {err}");
            Role::Unpromoted
        }
    }
}

pub fn set_role(cx: &Ctx, role: Role) -> Result<()> {
    let text = match role {
        Role::Promoted => "Promoted",
        Role::Unpromoted => "Unpromoted",
    };
    let dir = state(cx);
    dir.write("role", text).with_context(|| format!("recording the role in {}", dir.path().display()))
}

pub fn score(cx: &Ctx) -> PromotionScore {
    PromotionScore::from_env(cx.env())
}

/// A failure in the role the instance is in: 9 when promoted, 1 otherwise.
pub fn failed(role: Role, why: String) -> anyhow::Error {
    match role {
        Role::Promoted => OcfError::failed_promoted(why),
        Role::Unpromoted => anyhow::anyhow!(why),
    }
}

/// The Booster's state as seen from this node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    Healthy,
    /// Cleanly stopped: status says so and none of the Booster's processes is left.
    Stopped(String),
    /// Stopped as above, but a process that is not the Booster's holds the port: the Booster
    /// cannot start, and the port check would be answered in its place. The text names it.
    Blocked(String),
    /// status says running, but the port does not answer (yet) or the PID file disagrees.
    Unready(String),
    /// Anything else: status hangs, or says stopped while something holds the port.
    Failed(String),
}

pub fn health(cx: &Ctx, p: &Params, script: &ServiceScript, deadline: &Deadline) -> Health {
    let status = script.status(&deadline.split(0.6));
    let main = main_process(p, deadline);
    match status {
        ScriptStatus::NotRunning(why) => {
            if let Ok(Some(main)) = main {
                return Health::Failed(format!("{why}, but pid {} from the PID file is running", main.pid));
            }
            let left = p.service.processes(None, LaunchScope::load(&state(cx)).as_ref()).find(&mut Default::default());
            if !left.is_empty() {
                return Health::Failed(format!("{why}, but Booster processes {:?} are left", pids(&left)));
            }
            // Not the Booster's (no evidence ties it to this resource): start refuses and names it;
            // a probe must not call it a failed Booster.
            match stranger_on_port(p) {
                Some(held) => Health::Blocked(format!("{held} ({why})")),
                None => Health::Stopped(why),
            }
        }
        ScriptStatus::Unknown(why) => Health::Failed(why),
        ScriptStatus::Running => {
            if p.pidfile.is_some() {
                match main {
                    Ok(Some(_)) => {}
                    Ok(None) => return Health::Unready("status says running, but the PID file names no Booster process".into()),
                    Err(err) => return Health::Failed(format!("{err:#}")),
                }
            }
            if let Err(err) = p.port_probe().check(&deadline.within(Duration::from_secs(5))) {
                return Health::Unready(format!("{err:#}"));
            }
            Health::Healthy
        }
    }
}

pub fn pids(refs: &[ProcRef]) -> Vec<i32> {
    refs.iter().map(|r| r.pid).collect()
}

/// "port 5169 is held by pid 4242 (/usr/bin/python3.11), not the Booster's" when processes hold
/// the port; call it only once the Booster's own processes are known to be gone (every holder is
/// then someone else's). The holders come first: an exit reason is cut at 128 bytes.
pub fn stranger_on_port(p: &Params) -> Option<String> {
    let holders = sockets::port_holders(p.port);
    if holders.is_empty() {
        return None;
    }
    let named: Vec<String> = holders.iter().take(3).map(|h| format!("pid {} ({})", h.pid, program(h.pid))).collect();
    let more = if holders.len() > 3 { format!(" and {} more", holders.len() - 3) } else { String::new() };
    Some(format!("port {} is held by {}{more}, not the Booster's", p.port, named.join(", ")))
}

/// The program a process runs: its executable, else its command name (`/proc/<pid>/exe` needs
/// root for other users' processes).
fn program(pid: i32) -> String {
    match (proc::read_exe(pid), proc::read_stat(pid)) {
        (Some(exe), _) => exe.display().to_string(),
        (None, Some(stat)) => stat.comm,
        (None, None) => "gone".into(),
    }
}

/// `service_script stop` (if there is one), then SIGTERM/SIGKILL to the Booster's processes,
/// then verify. Whatever else holds the port is not the Booster's: it is reported, not touched.
pub fn stop_booster(cx: &Ctx, p: &Params, script: Option<&ServiceScript>, deadline: &Deadline) -> Result<()> {
    let main = main_process(p, &deadline.within(Duration::from_secs(5))).unwrap_or_else(|err| {
        warn!("{err:#}");
        None
    });
    let targets = p.service.processes(main, LaunchScope::load(&state(cx)).as_ref());
    // When no process is known, `service_script stop` still runs: the service may run under
    // another name.
    match service::stop_service(script, &targets, StopShares { escalate: 0.8, script_only: 0.5 }, deadline) {
        StopOutcome::AlreadyStopped => {}
        StopOutcome::Stopped { after, elapsed } => info!("Booster processes stopped after {after:?} in {:.1}s", elapsed.as_secs_f64()),
        StopOutcome::Survived(pids) => bail!("Booster processes {pids:?} survived SIGKILL"),
    }
    if let Some(held) = stranger_on_port(p) {
        warn!("{held}: not signalled");
    }
    Ok(())
}

/// The process the PID file names, verified; `Ok(None)` without a PID file or with a stale one.
pub fn main_process(p: &Params, deadline: &Deadline) -> Result<Option<ProcRef>> {
    let Some(path) = &p.pidfile else { return Ok(None) };
    let pidfile = PidFile::new(path);
    let state = fsio::bounded(deadline, &format!("reading {}", path.display()), move || pidfile.read())?;
    match identity::main_process(path, &state, &p.service.product_match(), p.service.uid()) {
        MainProcess::Running(main) => Ok(Some(main)),
        MainProcess::NoPidFile => Ok(None),
        MainProcess::Stale { pid: None, why } if state.is_err() => Err(anyhow::anyhow!(why)),
        MainProcess::Stale { why, .. } => {
            ocf::debug!("{why}");
            Ok(None)
        }
    }
}

pub fn run_hook(name: &str, cmd: &[String], p: &Params, deadline: &Deadline) -> Result<()> {
    let script = p.service.script(deadline)?;
    let done = service::run_argv(cmd, script.cwd.as_ref(), script.run_as.as_ref(), deadline)?;
    if !done.success() {
        bail!("{name} {}: {}", done.describe(), done.last_line());
    }
    info!("{name} {} after {:.1}s", done.describe(), done.elapsed.as_secs_f64());
    Ok(())
}
