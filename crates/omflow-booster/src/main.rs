//! ocf:mwha:omflow-booster runs one OMFLOW Booster per node as a promotable clone: both Boosters
//! run, Pacemaker picks the Active one (Promoted), and a virtual IP colocated with the Promoted
//! role is the servers' BOOSTER_IP.
//!
//! Runbook (vendor guide "Booster installation"; status codes, PID files and how a Booster
//! decides it is Active are not public, hence `status_text`, `pidfile`, `promote_cmd`):
//! - start: `service_script start`; done when `service_script status` succeeds and
//!   check_host:port accepts connections; `demote_cmd`; role Unpromoted; score 5.
//! - promote: refuse when the local Booster or `db_check` is unhealthy; `promote_cmd`; role
//!   Promoted; score 10. demote: `demote_cmd`; role Unpromoted; score 5.
//! - monitor: 8 / 0 / 7 / 9 / 1; probes re-publish the score (ocf:pacemaker:Stateful), failures
//!   withdraw it. Depth 10 adds `db_check`.
//! - stop: `service_script stop`, then TERM/KILL what mentions install_dir and what holds the
//!   port, verify, delete the score.
//! - notify: log the peers, always 0.

mod params;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use ocf::action::{Agent, Ctx};
use ocf::deadline::Deadline;
use ocf::escalate::{self, ProductProcesses, StopOutcome, StopPlan};
use ocf::exit::{OcfError, Status};
use ocf::identity::{self, PidCheck, ProcRef, ProductMatch};
use ocf::pidfile::{PidFile, PidFileState};
use ocf::promotion::{Notification, PromotionScore};
use ocf::service::{self, ScriptStatus, ServiceScript, StopShares};
use ocf::sockets;
use ocf::state::StateDir;
use ocf::{fsio, info, warn};

use params::{Params, META, SCORE_PROMOTED, SCORE_UNPROMOTED};

fn main() -> std::process::ExitCode {
    Agent::<Params>::new(&META)
        .start(start)
        .stop(stop)
        .monitor(monitor)
        .promote(promote)
        .demote(demote)
        .notify(notify)
        .validate(validate)
        .run()
}

fn start(cx: &Ctx, p: &Params) -> Result<()> {
    let deadline = cx.deadline();
    p.service.require_installed(deadline)?;
    let script = p.service.script()?;
    match health(p, &script, &deadline.split(0.3), false) {
        Health::Healthy => info!("the Booster is already running"),
        Health::Unready(why) => info!("the Booster is starting ({why}): waiting for it"),
        Health::Failed(why) => {
            // Leftovers of a crashed Booster would keep the port or confuse the new one.
            warn!("{why}: stopping what is left before start");
            stop_booster(p, Some(&script), &deadline.split(0.5))?;
            script.start(&deadline.split(0.8))?;
        }
        Health::Stopped(_) => script.start(&deadline.split(0.8))?,
    }
    let mut last = String::from("no check yet");
    let mut quiet_polls = 0;
    deadline
        .wait_for(&format!("the Booster to answer on {}:{}", p.check_host, p.port), Duration::from_millis(250), || {
            match health(p, &script, &deadline.within(Duration::from_secs(10)), false) {
                Health::Healthy => return Ok(Some(())),
                Health::Stopped(why) => {
                    quiet_polls += 1;
                    if quiet_polls >= 12 {
                        bail!("the Booster exited during start: {why}");
                    }
                    last = why;
                }
                Health::Unready(why) | Health::Failed(why) => {
                    quiet_polls = 0;
                    // At the deadline the check itself was cut short: keep the previous reason.
                    if !deadline.is_expired() {
                        last = why;
                    }
                }
            }
            Ok(None)
        })
        .map_err(|err| if deadline.is_expired() { anyhow::anyhow!("{last}; {err:#}") } else { err })?;
    info!("the Booster answers on {}:{} after {:.1}s", p.check_host, p.port, deadline.elapsed().as_secs_f64());
    // An instance always starts Unpromoted, whatever role the Booster remembers.
    if let Some(cmd) = &p.demote_cmd {
        run_hook("demote_cmd", cmd, p, &deadline.split(0.8))?;
    }
    set_role(cx, Role::Unpromoted)?;
    score(cx).set_best_effort(SCORE_UNPROMOTED, &deadline.within(Duration::from_secs(5)));
    Ok(())
}

fn stop(cx: &Ctx, p: &Params) -> Result<()> {
    let deadline = cx.deadline();
    let script = p.service.script().inspect_err(|err| warn!("{err:#}")).ok();
    // The score goes last, but its time is reserved first: a stop that used the whole budget
    // must still withdraw it.
    let work = deadline.within(deadline.remaining().saturating_sub(Duration::from_secs(3)));
    stop_booster(p, script.as_ref(), &work)?;
    if let Err(err) = state(cx).remove("role") {
        warn!("removing the role file: {err}");
    }
    score(cx).delete_best_effort(deadline);
    Ok(())
}

fn monitor(cx: &Ctx, p: &Params) -> Result<Status> {
    let deadline = cx.deadline();
    let role = role(cx);
    let service_script = &p.service.service_script;
    if !fsio::exists(deadline, service_script)? {
        if cx.is_probe() {
            info!("{} is absent on this node: not running", service_script.display());
            return Ok(Status::Stopped);
        }
        return Err(failed(role, format!("{} is absent", service_script.display())));
    }
    let script = p.service.script()?;
    match health(p, &script, deadline, cx.check_level() >= 10) {
        Health::Healthy => {
            if cx.is_probe() {
                // Like ocf:pacemaker:Stateful: a restarted cluster learns the scores again.
                score(cx).set_best_effort(role.score(), &deadline.within(Duration::from_secs(5)));
            }
            Ok(if role == Role::Promoted { Status::Promoted } else { Status::Running })
        }
        Health::Stopped(why) => {
            info!("not running: {why}");
            if !cx.is_probe() {
                score(cx).delete_best_effort(&deadline.within(Duration::from_secs(5)));
            }
            Ok(Status::Stopped)
        }
        Health::Unready(why) | Health::Failed(why) => {
            score(cx).delete_best_effort(&deadline.within(Duration::from_secs(5)));
            Err(failed(role, why))
        }
    }
}

fn promote(cx: &Ctx, p: &Params) -> Result<()> {
    let deadline = cx.deadline();
    let script = p.service.script()?;
    match health(p, &script, &deadline.split(0.4), false) {
        Health::Healthy => {}
        Health::Stopped(why) | Health::Unready(why) | Health::Failed(why) => {
            bail!("refusing to promote: the local Booster is not healthy: {why}")
        }
    }
    if let Some(db) = &p.db_check {
        db.check(&deadline.split(0.4)).context("refusing to promote: db_check failed")?;
    }
    if let Some(cmd) = &p.promote_cmd {
        run_hook("promote_cmd", cmd, p, &deadline.split(0.8))?;
    }
    set_role(cx, Role::Promoted)?;
    info!("the Booster is now Active (promoted)");
    score(cx).set_best_effort(SCORE_PROMOTED, &deadline.within(Duration::from_secs(5)));
    Ok(())
}

fn demote(cx: &Ctx, p: &Params) -> Result<()> {
    let deadline = cx.deadline();
    let script = p.service.script()?;
    let status = script.status(&deadline.split(0.4));
    if let ScriptStatus::NotRunning(why) = &status {
        // Demote after a failure (rc 9) precedes a stop: nothing to switch.
        info!("the Booster is not running ({why}): recording the role only");
    } else if let Some(cmd) = &p.demote_cmd {
        run_hook("demote_cmd", cmd, p, &deadline.split(0.8))?;
    }
    set_role(cx, Role::Unpromoted)?;
    info!("the Booster is now Standby (unpromoted)");
    if status == ScriptStatus::Running {
        score(cx).set_best_effort(SCORE_UNPROMOTED, &deadline.within(Duration::from_secs(5)));
    }
    Ok(())
}

fn notify(cx: &Ctx, _p: &Params) -> Result<()> {
    // "Must not fail": a notification only informs (ocf-contract.md §1).
    info!("{}", Notification::from_env(cx.env()).describe());
    Ok(())
}

fn validate(cx: &Ctx, p: &Params) -> Result<()> {
    p.service.require_installed(cx.deadline())?;
    p.service.run_as()?;
    for (name, cmd) in [("promote_cmd", &p.promote_cmd), ("demote_cmd", &p.demote_cmd)] {
        if let Some(program) = cmd.as_ref().and_then(|c| c.first()) {
            if !fsio::exists(cx.deadline(), &PathBuf::from(program))? {
                return Err(OcfError::installed(format!("{name}: {program} not found")));
            }
        }
    }
    Ok(())
}

/// The role this node's instance is in, as recorded by promote/demote (per boot: /run).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Promoted,
    Unpromoted,
}

impl Role {
    fn score(self) -> i64 {
        match self {
            Role::Promoted => SCORE_PROMOTED,
            Role::Unpromoted => SCORE_UNPROMOTED,
        }
    }
}

fn state(cx: &Ctx) -> StateDir {
    StateDir::new(META.name, cx.instance())
}

fn role(cx: &Ctx) -> Role {
    match state(cx).read("role") {
        Ok(Some(text)) if text.trim() == "Promoted" => Role::Promoted,
        Ok(_) => Role::Unpromoted,
        Err(err) => {
            warn!("reading the role file: {err}");
            Role::Unpromoted
        }
    }
}

fn set_role(cx: &Ctx, role: Role) -> Result<()> {
    let text = match role {
        Role::Promoted => "Promoted",
        Role::Unpromoted => "Unpromoted",
    };
    let dir = state(cx);
    dir.write("role", text).with_context(|| format!("recording the role in {}", dir.path().display()))
}

fn score(cx: &Ctx) -> PromotionScore {
    PromotionScore::from_env(cx.env())
}

/// A failure in the role the instance is in: 9 when promoted, 1 otherwise.
fn failed(role: Role, why: String) -> anyhow::Error {
    match role {
        Role::Promoted => OcfError::failed_promoted(why),
        Role::Unpromoted => anyhow::anyhow!(why),
    }
}

/// The Booster's state as seen from this node.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Health {
    Healthy,
    /// Cleanly stopped: status says so and nothing holds the port.
    Stopped(String),
    /// status says running, but the port does not answer (yet) or the PID file disagrees.
    Unready(String),
    /// Anything else: status hangs, or says stopped while something holds the port.
    Failed(String),
}

fn health(p: &Params, script: &ServiceScript, deadline: &Deadline, check_db: bool) -> Health {
    let status = script.status(&deadline.split(0.6));
    let holders = sockets::port_holders(p.port);
    let main = main_process(p, deadline);
    match status {
        ScriptStatus::NotRunning(why) => {
            if !holders.is_empty() {
                return Health::Failed(format!("{why}, but pid(s) {:?} hold port {}", pids(&holders), p.port));
            }
            if let Ok(Some(main)) = main {
                return Health::Failed(format!("{why}, but pid {} from the PID file is running", main.pid));
            }
            let left = p.service.processes(None).find(&mut Default::default());
            if !left.is_empty() {
                return Health::Failed(format!("{why}, but Booster processes {:?} are left", pids(&left)));
            }
            Health::Stopped(why)
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
            if check_db {
                if let Some(db) = &p.db_check {
                    if let Err(err) = db.check(&deadline.within(Duration::from_secs(10))) {
                        return Health::Failed(format!("db_check: {err:#}"));
                    }
                }
            }
            Health::Healthy
        }
    }
}

fn pids(refs: &[ProcRef]) -> Vec<i32> {
    refs.iter().map(|r| r.pid).collect()
}

/// `service_script stop` (if there is one), then SIGTERM/SIGKILL to the processes mentioning
/// install_dir, then to the holders of the port, then verify.
fn stop_booster(p: &Params, script: Option<&ServiceScript>, deadline: &Deadline) -> Result<()> {
    let main = main_process(p, &deadline.within(Duration::from_secs(5))).unwrap_or_else(|err| {
        warn!("{err:#}");
        None
    });
    let targets = p.service.processes(main);
    // When nothing mentions install_dir, `service_script stop` still runs: the service may run
    // under another name.
    match service::stop_service(script, &targets, StopShares { escalate: 0.7, script_only: 0.4 }, deadline) {
        StopOutcome::AlreadyStopped => {}
        StopOutcome::Stopped { after, elapsed } => info!("Booster processes stopped after {after:?} in {:.1}s", elapsed.as_secs_f64()),
        StopOutcome::Survived(pids) => bail!("Booster processes {pids:?} survived SIGKILL"),
    }
    // Whatever still holds the port (a detached worker, a process under another name).
    for _ in 0..5 {
        let holders = sockets::port_holders(p.port);
        let Some(first) = holders.first() else { break };
        warn!("pid(s) {:?} still hold port {}: stopping them", pids(&holders), p.port);
        let holder = ProductProcesses { main: Some(*first), product: ProductMatch::new(&p.service.install_dir), uid: None };
        let plan = StopPlan { graceful: None, graceful_share: 0.0, graceful_linger: Duration::ZERO, term_share: 0.5, thread_dump: None };
        if let StopOutcome::Survived(pids) = escalate::stop(&holder, &plan, &deadline.split(0.5)) {
            bail!("pid(s) {pids:?} holding port {} survived SIGKILL", p.port);
        }
    }
    let holders = sockets::port_holders(p.port);
    if !holders.is_empty() {
        bail!("pid(s) {:?} still hold port {} after stop", pids(&holders), p.port);
    }
    let left: Vec<i32> = targets.find(&mut Default::default()).iter().map(|r| r.pid).collect();
    if !left.is_empty() {
        bail!("Booster processes {left:?} are still running after stop");
    }
    Ok(())
}

/// The process the PID file names, verified; `Ok(None)` without a PID file or with a stale one.
fn main_process(p: &Params, deadline: &Deadline) -> Result<Option<ProcRef>> {
    let Some(path) = &p.pidfile else { return Ok(None) };
    let pidfile = PidFile::new(path);
    let state = fsio::bounded(deadline, &format!("reading {}", path.display()), move || pidfile.read())?;
    match state {
        Ok(PidFileState::Claim { pid, written }) => match identity::verify(pid, written, &ProductMatch::new(&p.service.install_dir)) {
            PidCheck::Verified(main) => Ok(Some(main)),
            other => {
                ocf::debug!("PID file {}: {other:?}", path.display());
                Ok(None)
            }
        },
        Ok(PidFileState::Missing) => Ok(None),
        Ok(PidFileState::Garbage(why)) => {
            warn!("PID file {} is unusable: {why}", path.display());
            Ok(None)
        }
        Err(err) => Err(anyhow::anyhow!("cannot read {}: {err}", path.display())),
    }
}

fn run_hook(name: &str, cmd: &[String], p: &Params, deadline: &Deadline) -> Result<()> {
    let script = p.service.script()?;
    let done = service::run_argv(cmd, script.cwd.as_ref(), script.run_as.as_ref(), deadline)?;
    if !done.success() {
        bail!("{name} {}: {}", done.describe(), done.last_line());
    }
    info!("{name} {} after {:.1}s", done.describe(), done.elapsed.as_secs_f64());
    Ok(())
}
