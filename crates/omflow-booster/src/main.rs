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

#![cfg_attr(not(test), no_main)]

mod booster;
mod params;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use ocf::action::{Agent, Ctx};
use ocf::deadline::Deadline;
use ocf::exit::{OcfError, Status};
use ocf::promotion::Notification;
use ocf::scope::LaunchScope;
use ocf::service::{self, Readiness, ScriptStatus};
use ocf::sockets;
use ocf::{fsio, info, warn};

use booster::{failed, health, pids, role, run_hook, score, set_role, state, stop_booster, Health, Role};
use params::{Params, META, SCORE_PROMOTED, SCORE_UNPROMOTED};

/// What stop keeps back from the Booster's own stop to withdraw the promotion score.
const SCORE_RESERVE: Duration = Duration::from_secs(3);

ocf::agent_main!(Agent::<Params>::new(&META)
    .start(start)
    .stop(stop)
    .monitor(monitor)
    .promote(promote)
    .demote(demote)
    .notify(notify)
    .validate(validate));

fn start(cx: &Ctx, p: &Params) -> Result<()> {
    let deadline = cx.deadline();
    p.service.require_installed(deadline)?;
    let script = p.service.script(deadline)?;
    let launch = |deadline: &Deadline| -> Result<()> {
        let uid = p.service.uid().context("the Booster's user does not exist")?;
        let scope = LaunchScope::create(&state(cx), uid).context("recording the launch scope under /run/mwha")?;
        script.start(&scope, deadline)
    };
    match health(cx, p, &script, &deadline.split(0.3)) {
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
    let what = format!("the Booster to answer on {}:{}", p.check_host, p.port);
    service::wait_ready(deadline, "the Booster", &what, |look| match health(cx, p, &script, look) {
        Health::Healthy => Readiness::Ready,
        Health::Stopped(why) => Readiness::Stopped(why),
        Health::Unready(why) | Health::Failed(why) => Readiness::Starting(why),
    })?;
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
    let script = p.service.script(deadline).inspect_err(|err| warn!("{err:#}")).ok();
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
    let script = p.service.script(deadline)?;
    let health = match health(cx, p, &script, deadline) {
        Health::Healthy if cx.check_level() >= 10 => match &p.db_check {
            Some(db) => match cx.deep_check("db_check", || db.check(&deadline.within(Duration::from_secs(10))).context("db_check")) {
                Ok(()) => Health::Healthy,
                Err(err) => Health::Failed(format!("{err:#}")),
            },
            None => Health::Healthy,
        },
        other => other,
    };
    match health {
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
    let script = p.service.script(deadline)?;
    match health(cx, p, &script, &deadline.split(0.4)) {
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
    let script = p.service.script(deadline)?;
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
    // "Must not fail": a notification only informs (docs/ocf-contract.md §1).
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
