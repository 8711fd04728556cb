//! ocf:mwha:omflow-booster runs the OMFLOW Booster of one node, in one of two layouts
//! (`mode.rs` reads which from what Pacemaker passes):
//! - plain primitive, the vendor's layout and the default: one resource per Booster server, pinned
//!   there, its own IP beside it; the two Boosters pair with each other (HA Booster IP) and decide
//!   Active and Standby themselves. start, stop, monitor 0/7/1; no promotion score is published or
//!   deleted, promote/demote answer 3.
//! - promotable clone, for sites that do not configure the Boosters' pairing: both run, Pacemaker
//!   picks the Active one (Promoted) and a virtual IP colocated with that role is BOOSTER_IP.
//!
//! Runbook (vendor guide "Boosterのインストール"; status codes, PID files and how a
//! Booster decides it is Active are not public, hence `status_text`, `pidfile`, `promote_cmd`):
//! - start: `service_script start`; done when `service_script status` succeeds and
//!   check_host:port accepts connections. Refused while a process that is not the Booster's holds
//!   the port. Promotable: `demote_cmd`, role Unpromoted, score 5.
//! - monitor: 0 / 7 / 1, and in the promotable mode 8 / 9 for the Promoted role; a recurring
//!   monitor that finds the Booster stopped and its port held by someone else fails and names
//!   the holder. Depth 10 adds `db_check`. Promotable: probes re-publish the score
//!   (ocf:pacemaker:Stateful), failures withdraw it.
//! - promote (promotable only): refuse when the local Booster or `db_check` is unhealthy;
//!   `promote_cmd`; role Promoted; score 10. demote: `demote_cmd`; role Unpromoted; score 5.
//! - stop: `service_script stop`, then TERM/KILL the Booster's processes (the PID file's, what
//!   carries the launch ID of the start, their descendants; all as the product's user), verify;
//!   promotable: delete the score. A process of someone else holding the port is named in the
//!   log, never signalled, and never fails the stop.
//! - notify: log the peers, always 0.

#![cfg_attr(not(test), no_main)]

mod booster;
mod mode;
mod params;
mod watch;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use ocf::action::{Agent, Ctx};
use ocf::deadline::Deadline;
use ocf::exit::{Fault, OcfError, Status};
use ocf::probe::Probe;
use ocf::promotion::Notification;
use ocf::scope::LaunchScope;
use ocf::service::{self, Readiness, ScriptStatus};
use ocf::{fsio, info, warn};

use booster::{failed, health, role, run_hook, score, set_role, state, stop_booster, stranger_on_port, Health, Role};
use mode::Mode;
use params::{Params, META, SCORE_PROMOTED, SCORE_UNPROMOTED};

/// What stop keeps back from the Booster's own stop to withdraw the promotion score.
const SCORE_RESERVE: Duration = Duration::from_secs(3);

// `omflow-booster __watch INSTANCE`: the crash watcher the agent leaves after start (watch.rs).
ocf::agent_main!(Agent::<Params>::new(&META)
    .start(start)
    .stop(stop)
    .monitor(monitor)
    .promote(promote)
    .demote(demote)
    .notify(notify)
    .validate(validate)
    .helper(ocf::watch::WATCH_ARG, |args| ocf::watch::main(META.name, args)));

fn start(cx: &Ctx, p: &Params) -> Result<()> {
    let deadline = cx.deadline();
    let mode = Mode::of(cx.env());
    p.service.require_installed(deadline)?;
    let script = p.service.script(deadline)?;
    // A stranger on the port would answer the readiness check in the Booster's place.
    let launch = |deadline: &Deadline| -> Result<()> {
        if let Some(held) = stranger_on_port(p) {
            bail!("not starting: {held}");
        }
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
        Health::Blocked(why) => bail!("not starting: {why}"),
        Health::Stopped(_) => launch(&deadline.split(0.8))?,
    }
    let what = format!("the Booster to answer on {}:{}", p.check_host, p.port);
    service::wait_ready(deadline, "the Booster", &what, |look| match health(cx, p, &script, look) {
        Health::Healthy => Readiness::Ready,
        Health::Stopped(why) | Health::Blocked(why) => Readiness::Stopped(why),
        Health::Unready(why) | Health::Failed(why) => Readiness::Starting(why),
    })?;
    info!("the Booster answers on {}:{} after {:.1}s", p.check_host, p.port, deadline.elapsed().as_secs_f64());
    match mode {
        Mode::Plain => warn_unused_hooks(p),
        Mode::Promotable => {
            // An instance always starts Unpromoted, whatever role the Booster remembers.
            if let Some(cmd) = &p.demote_cmd {
                run_hook("demote_cmd", cmd, p, &deadline.split(0.8))?;
            }
            set_role(cx, Role::Unpromoted)?;
            score(cx).set_best_effort(SCORE_UNPROMOTED, &deadline.within(Duration::from_secs(5)));
        }
    }
    watch::arm(cx, p, &deadline.within(Duration::from_secs(5)));
    Ok(())
}

fn stop(cx: &Ctx, p: &Params) -> Result<()> {
    // First of all: a watcher must not report what this stop does.
    watch::stand_down(cx);
    let deadline = cx.deadline();
    let mode = Mode::of(cx.env());
    let script = p.service.script(deadline).inspect_err(|err| warn!("{err:#}")).ok();
    // Promotable: the score goes last, but its time is reserved first: a stop that used the whole
    // budget must still withdraw it. The reserve is at most a quarter of the budget, so with a
    // short stop timeout the Booster's own stop keeps most of it (a failed stop fences; a score
    // left behind only delays the next promotion until the monitor withdraws it).
    let reserve = match mode {
        Mode::Plain => Duration::ZERO,
        Mode::Promotable => SCORE_RESERVE.min(deadline.remaining() / 4),
    };
    let work = deadline.within(deadline.remaining().saturating_sub(reserve));
    stop_booster(cx, p, script.as_ref(), &work)?;
    // The role file may be left from a promotable configuration of the same resource.
    if let Err(err) = state(cx).remove("role") {
        warn!("removing the role file: {err}");
    }
    if let Err(err) = LaunchScope::forget(&state(cx)) {
        warn!("forgetting the launch scope: {err}");
    }
    if mode.is_promotable() {
        score(cx).delete_best_effort(deadline);
    }
    Ok(())
}

fn monitor(cx: &Ctx, p: &Params) -> Result<Status> {
    let deadline = cx.deadline();
    let mode = Mode::of(cx.env());
    // A plain primitive has no role: a failure is 1, never 9, and healthy is 0, never 8.
    let role = if mode.is_promotable() { role(cx) } else { Role::Unpromoted };
    let withdraw_score = || {
        if mode.is_promotable() {
            score(cx).delete_best_effort(&deadline.within(Duration::from_secs(5)));
        }
    };
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
            if mode.is_promotable() && cx.is_probe() {
                // Like ocf:pacemaker:Stateful: a restarted cluster learns the scores again.
                score(cx).set_best_effort(role.score(), &deadline.within(Duration::from_secs(5)));
            }
            watch::arm(cx, p, &deadline.within(Duration::from_secs(5)));
            Ok(if role == Role::Promoted { Status::Promoted } else { Status::Running })
        }
        Health::Stopped(why) => {
            info!("not running: {why}");
            if !cx.is_probe() {
                withdraw_score();
            }
            Ok(Status::Stopped)
        }
        // A probe must not call someone else's process a failed Booster: not running here. A
        // recurring monitor fails anyway; its exit reason says why start will not succeed.
        Health::Blocked(why) if cx.is_probe() => {
            warn!("not running: {why}");
            Ok(Status::Stopped)
        }
        Health::Blocked(why) => {
            withdraw_score();
            Err(failed(role, format!("not running: {why}")))
        }
        Health::Unready(why) | Health::Failed(why) => {
            withdraw_score();
            Err(failed(role, why))
        }
    }
}

fn promote(cx: &Ctx, p: &Params) -> Result<()> {
    require_promotable(cx)?;
    let deadline = cx.deadline();
    let script = p.service.script(deadline)?;
    // promote_cmd may restart the Booster: no report until it is done (armed again below, or
    // by the next monitor).
    watch::stand_down(cx);
    match health(cx, p, &script, &deadline.split(0.4)) {
        Health::Healthy => {}
        Health::Stopped(why) | Health::Blocked(why) | Health::Unready(why) | Health::Failed(why) => {
            bail!("refusing to promote: the local Booster is not healthy: {why}")
        }
    }
    if let Some(db) = &p.db_check {
        wait_for_database(db, &deadline.split(0.5)).context("refusing to promote: db_check failed")?;
    }
    if let Some(cmd) = &p.promote_cmd {
        run_hook("promote_cmd", cmd, p, &deadline.split(0.8))?;
    }
    set_role(cx, Role::Promoted)?;
    info!("the Booster is now Active (promoted)");
    score(cx).set_best_effort(SCORE_PROMOTED, &deadline.within(Duration::from_secs(5)));
    watch::arm(cx, p, &deadline.within(Duration::from_secs(5)));
    Ok(())
}

/// How often promote asks the database again, and how long one question may take.
const DB_RETRY_PAUSE: Duration = Duration::from_millis(500);
const DB_ATTEMPT: Duration = Duration::from_secs(3);

/// db_check until it answers, within `wait`: at a cold start the database may still be starting
/// when the promote comes (an Optional order holds only inside one transition), and a promote
/// that waits a few seconds beats a recorded failure. The last answer is the error.
fn wait_for_database(db: &Probe, wait: &Deadline) -> Result<()> {
    let mut last = None;
    let answered = wait.wait_for("db_check", DB_RETRY_PAUSE, || match db.check(&wait.within(DB_ATTEMPT)) {
        Ok(()) => Ok(Some(())),
        Err(err) => {
            last = Some(err);
            Ok(None)
        }
    });
    match (answered, last) {
        (Ok(()), Some(err)) => {
            info!("the database answers (after: {err:#})");
            Ok(())
        }
        (Ok(()), None) => Ok(()),
        (Err(_), Some(err)) => Err(err),
        (Err(timeout), None) => Err(timeout),
    }
}

fn demote(cx: &Ctx, p: &Params) -> Result<()> {
    require_promotable(cx)?;
    let deadline = cx.deadline();
    // A demote may precede a stop, and demote_cmd may restart the Booster: no report from here.
    watch::stand_down(cx);
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
        watch::arm(cx, p, &deadline.within(Duration::from_secs(5)));
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
    if Mode::of(cx.env()) == Mode::Plain {
        warn_unused_hooks(p);
    }
    Ok(())
}

/// promote and demote exist for the promotable mode only; a plain primitive (the vendor's layout:
/// the Boosters choose the Active one) answers 3, as for an action it does not have.
fn require_promotable(cx: &Ctx) -> Result<()> {
    match Mode::of(cx.env()) {
        Mode::Promotable => Ok(()),
        Mode::Plain => Err(OcfError::with_fault(
            Fault::Unimplemented,
            format!("{} is only for a promotable clone; in a plain primitive the Boosters choose the Active one", cx.action()),
        )),
    }
}

fn warn_unused_hooks(p: &Params) {
    for (name, cmd) in [("promote_cmd", &p.promote_cmd), ("demote_cmd", &p.demote_cmd)] {
        if cmd.is_some() {
            warn!("{name} is set but runs only in a promotable clone; this resource is a plain primitive: ignored");
        }
    }
}
