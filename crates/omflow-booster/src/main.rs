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
//! - stop: `service_script stop`, then TERM/KILL the Booster's processes (the PID file's, what
//!   carries the launch ID of the start, their descendants; all as the product's user), verify,
//!   delete the score. A process of someone else holding the port is reported, never signalled.
//! - notify: log the peers, always 0.

mod params;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use ocf::action::{Agent, Ctx};
use ocf::deadline::Deadline;
use ocf::escalate::StopOutcome;
use ocf::exit::{OcfError, Status};
use ocf::identity::{self, MainProcess, ProcRef};
use ocf::pidfile::PidFile;
use ocf::promotion::{Notification, PromotionScore};
use ocf::scope::LaunchScope;
use ocf::service::{self, ScriptStatus, ServiceScript, StopShares};
use ocf::sockets;
use ocf::state::StateDir;
use ocf::{fsio, info, warn};

use params::{Params, META, SCORE_PROMOTED, SCORE_UNPROMOTED};

/// What stop keeps back from the Booster's own stop to withdraw the promotion score.
const SCORE_RESERVE: Duration = Duration::from_secs(3);

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
    let launch = |deadline: &Deadline| -> Result<()> {
        let uid = p.service.uid().context("the Booster's user does not exist")?;
        let scope = LaunchScope::create(&state(cx), uid).context("recording the launch scope under /run/mwha")?;
        script.start(&scope, deadline)
    };
    match health(cx, p, &script, &deadline.split(0.3), false) {
        Health::Healthy => info!("the Booster is already running"),
        Health::Unready(why) => info!("the Booster is starting ({why}): waiting for it"),
        Health::Failed(why) => {
            // Leftovers of a crashed Booster would keep the port or confuse the new one.
            warn!("{why}: stopping what is left before start");
            stop_booster(cx, p, Some(&script), &deadline.split(0.5))?;
            launch(&deadline.split(0.8))?;
        }
        Health::Stopped(_) => {
            // A stranger on the port would answer the readiness check in the Booster's place.
            let holders = sockets::port_holders(p.port);
            if !holders.is_empty() {
                bail!("port {} is held by pid(s) {:?}, which are not the Booster's processes", p.port, pids(&holders));
            }
            launch(&deadline.split(0.8))?
        }
    }
    let mut last = String::from("no check yet");
    let mut quiet_polls = 0;
    deadline
        .wait_for(&format!("the Booster to answer on {}:{}", p.check_host, p.port), Duration::from_millis(250), || {
            match health(cx, p, &script, &deadline.within(Duration::from_secs(10)), false) {
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
    // must still withdraw it. The reserve is at most a quarter of the budget, so with a short
    // stop timeout the Booster's own stop keeps most of it (a failed stop fences; a score left
    // behind only delays the next promotion until the monitor withdraws it).
    let reserve = SCORE_RESERVE.min(deadline.remaining() / 4);
    let work = deadline.within(deadline.remaining().saturating_sub(reserve));
    stop_booster(cx, p, script.as_ref(), &work)?;
    if let Err(err) = state(cx).remove("role") {
        warn!("removing the role file: {err}");
    }
    if let Err(err) = LaunchScope::forget(&state(cx)) {
        warn!("forgetting the launch scope: {err}");
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
    match health(cx, p, &script, deadline, cx.check_level() >= 10) {
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
    match health(cx, p, &script, &deadline.split(0.4), false) {
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

fn health(cx: &Ctx, p: &Params, script: &ServiceScript, deadline: &Deadline, check_db: bool) -> Health {
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
            // Not the Booster's (no evidence ties it to this resource): start will report the
            // port conflict; a probe must not call it a failed Booster.
            let holders = sockets::port_holders(p.port);
            if !holders.is_empty() {
                warn!("pid(s) {:?} hold port {} but are not the Booster's processes", pids(&holders), p.port);
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

/// `service_script stop` (if there is one), then SIGTERM/SIGKILL to the Booster's processes,
/// then verify. Whatever else holds the port is not the Booster's: it is reported, not touched.
fn stop_booster(cx: &Ctx, p: &Params, script: Option<&ServiceScript>, deadline: &Deadline) -> Result<()> {
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
    let holders = sockets::port_holders(p.port);
    if !holders.is_empty() {
        warn!("pid(s) {:?} hold port {} but are not the Booster's processes: not signalled", pids(&holders), p.port);
    }
    Ok(())
}

/// The process the PID file names, verified; `Ok(None)` without a PID file or with a stale one.
fn main_process(p: &Params, deadline: &Deadline) -> Result<Option<ProcRef>> {
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

fn run_hook(name: &str, cmd: &[String], p: &Params, deadline: &Deadline) -> Result<()> {
    let script = p.service.script()?;
    let done = service::run_argv(cmd, script.cwd.as_ref(), script.run_as.as_ref(), deadline)?;
    if !done.success() {
        bail!("{name} {}: {}", done.describe(), done.last_line());
    }
    info!("{name} {} after {:.1}s", done.describe(), done.elapsed.as_secs_f64());
    Ok(())
}
