//! ocf:mwha:omflow-server runs the OMFLOW Booster Agent of an application node; the agent starts
//! the OMFLOW Server, which reaches the Active Booster through BOOSTER_IP (the Booster VIP).
//!
//! Runbook (vendor guide "Booster installation": Boosters and database first, then every Booster
//! Agent; starting the agent starts the OMFLOW Server):
//! - start: `service_script start`; done when `service_script status` succeeds and `probe_url`
//!   (the OMFLOW Server) answers.
//! - stop: `service_script stop`, then SIGTERM and SIGKILL to the agent's processes and their
//!   descendants (the server), and to orphaned processes mentioning `server_match`; verify.
//! - monitor: `service_script status`; stopped with leftovers is a failure; depth 10 `probe_url`.

mod params;

use std::collections::BTreeSet;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use ocf::action::{Agent, Ctx};
use ocf::deadline::Deadline;
use ocf::escalate::{self, ProductProcesses, StopOutcome, StopPlan};
use ocf::exit::{OcfError, Status};
use ocf::identity::ProductMatch;
use ocf::spawn::RunAs;
use ocf::{fsio, info, warn};
use omflow::service::{ScriptStatus, ServiceScript};

use params::{Params, META};

fn main() -> std::process::ExitCode {
    Agent::<Params>::new(&META).start(start).stop(stop).monitor(monitor).validate(validate).run()
}

fn start(cx: &Ctx, p: &Params) -> Result<()> {
    let deadline = cx.deadline();
    require_install(cx, p)?;
    let script = service_script(p)?;
    match script.status(&deadline.split(0.3)) {
        ScriptStatus::Running => info!("the Booster Agent is already running"),
        ScriptStatus::NotRunning(why) | ScriptStatus::Unknown(why) => {
            let left = leftovers(p);
            if !left.is_empty() {
                warn!("{why}, but processes {left:?} are left: stopping them before start");
                stop_processes(p, Some(&script), &deadline.split(0.5))?;
            }
            let done = script.run("start", &deadline.split(0.8))?;
            if !done.success() {
                bail!("{} start {}: {}", p.service_script.display(), done.describe(), done.last_line());
            }
            info!("{} start {} after {:.1}s", p.service_script.display(), done.describe(), done.elapsed.as_secs_f64());
        }
    }
    let mut last = String::from("no check yet");
    let mut quiet_polls = 0;
    let what = match &p.probe_url {
        Some(_) => "the OMFLOW Server to answer probe_url",
        None => "service_script status to succeed",
    };
    deadline
        .wait_for(what, Duration::from_millis(250), || {
            match script.status(&deadline.within(Duration::from_secs(10))) {
                ScriptStatus::Running => quiet_polls = 0,
                ScriptStatus::NotRunning(why) => {
                    quiet_polls += 1;
                    if quiet_polls >= 12 {
                        bail!("the Booster Agent exited during start: {why}");
                    }
                    last = why;
                    return Ok(None);
                }
                ScriptStatus::Unknown(why) => {
                    // At the deadline the check itself was cut short: keep the previous reason.
                    if !deadline.is_expired() {
                        last = why;
                    }
                    return Ok(None);
                }
            }
            let Some(probe) = &p.probe_url else { return Ok(Some(())) };
            match probe.check(&deadline.within(Duration::from_secs(5))) {
                Ok(()) => Ok(Some(())),
                Err(err) => {
                    last = format!("probe_url: {err:#}");
                    Ok(None)
                }
            }
        })
        .map_err(|err| if deadline.is_expired() { anyhow::anyhow!("{last}; {err:#}") } else { err })?;
    info!("the Booster Agent and the OMFLOW Server are up after {:.1}s", deadline.elapsed().as_secs_f64());
    Ok(())
}

fn stop(cx: &Ctx, p: &Params) -> Result<()> {
    let script = service_script(p).inspect_err(|err| warn!("{err:#}")).ok();
    stop_processes(p, script.as_ref(), cx.deadline())
}

fn monitor(cx: &Ctx, p: &Params) -> Result<Status> {
    let deadline = cx.deadline();
    if !fsio::exists(deadline, &p.service_script)? {
        if cx.is_probe() {
            info!("{} is absent on this node: not running", p.service_script.display());
            return Ok(Status::Stopped);
        }
        bail!("{} is absent", p.service_script.display());
    }
    let script = service_script(p)?;
    match script.status(&deadline.split(0.6)) {
        ScriptStatus::Running => {}
        ScriptStatus::NotRunning(why) => {
            let left = leftovers(p);
            if !left.is_empty() {
                bail!("{why}, but processes {left:?} are left");
            }
            info!("not running: {why}");
            return Ok(Status::Stopped);
        }
        ScriptStatus::Unknown(why) => bail!("{why}"),
    }
    if cx.check_level() >= 10 {
        if let Some(probe) = &p.probe_url {
            probe.check(deadline).context("probe_url")?;
        }
    }
    Ok(Status::Running)
}

fn validate(cx: &Ctx, p: &Params) -> Result<()> {
    require_install(cx, p)?;
    run_as(p)?;
    Ok(())
}

/// `service_script stop` as the graceful step for the agent's processes (and descendants), then
/// the orphaned server processes, then verify.
fn stop_processes(p: &Params, script: Option<&ServiceScript>, deadline: &Deadline) -> Result<()> {
    let uid = uid(p);
    let agent = ProductProcesses { main: None, product: ProductMatch::new(&p.install_dir), uid };
    let graceful = |step: &Deadline| -> Result<()> {
        let Some(script) = script else { bail!("no service script to run") };
        let done = script.run("stop", step)?;
        info!("{} stop {} after {:.1}s", p.service_script.display(), done.describe(), done.elapsed.as_secs_f64());
        Ok(())
    };
    let script_present = script.is_some_and(|s| s.script.exists());
    let plan = StopPlan {
        graceful: script_present.then_some(&graceful as _),
        graceful_share: 0.5,
        graceful_linger: Duration::from_secs(10),
        term_share: 0.5,
        thread_dump: None,
    };
    match escalate::stop(&agent, &plan, &deadline.split(0.6)) {
        StopOutcome::AlreadyStopped => {
            // Nothing mentions install_dir; the script may still know of something.
            if script_present {
                if let Err(err) = graceful(&deadline.split(0.3)) {
                    warn!("{err:#}");
                }
            }
        }
        StopOutcome::Stopped { after, elapsed } => info!("Booster Agent stopped after {after:?} in {:.1}s", elapsed.as_secs_f64()),
        StopOutcome::Survived(pids) => bail!("Booster Agent processes {pids:?} survived SIGKILL"),
    }
    if let Some(dir) = &p.server_match {
        let servers = ProductProcesses { main: None, product: ProductMatch::new(dir), uid };
        let plan = StopPlan { graceful: None, graceful_share: 0.0, graceful_linger: Duration::ZERO, term_share: 0.6, thread_dump: None };
        match escalate::stop(&servers, &plan, deadline) {
            StopOutcome::AlreadyStopped => {}
            StopOutcome::Stopped { after, elapsed } => {
                info!("OMFLOW Server processes left by the agent stopped after {after:?} in {:.1}s", elapsed.as_secs_f64())
            }
            StopOutcome::Survived(pids) => bail!("OMFLOW Server processes {pids:?} survived SIGKILL"),
        }
    }
    let left = leftovers(p);
    if !left.is_empty() {
        bail!("processes {left:?} are still running after stop");
    }
    Ok(())
}

/// Orphaned processes of the agent or the server (and their descendants).
fn leftovers(p: &Params) -> Vec<i32> {
    let uid = uid(p);
    let mut dirs = vec![p.install_dir.clone()];
    dirs.extend(p.server_match.clone());
    let mut pids: Vec<i32> = dirs
        .iter()
        .flat_map(|dir| ProductProcesses { main: None, product: ProductMatch::new(dir), uid }.find(&mut BTreeSet::new()))
        .map(|r| r.pid)
        .collect();
    pids.sort_unstable();
    pids.dedup();
    pids
}

fn uid(p: &Params) -> Option<u32> {
    p.user.as_deref().and_then(|name| RunAs::by_name(name).ok()).map(|u| u.uid())
}

fn run_as(p: &Params) -> Result<Option<RunAs>> {
    p.user.as_deref().map(RunAs::by_name).transpose()
}

fn service_script(p: &Params) -> Result<ServiceScript> {
    Ok(ServiceScript {
        script: p.service_script.clone(),
        cwd: p.install_dir.is_dir().then(|| p.install_dir.clone()),
        run_as: run_as(p)?,
        running_text: p.status_text.clone(),
    })
}

/// service_script and install_dir must exist on this node (5 otherwise).
fn require_install(cx: &Ctx, p: &Params) -> Result<()> {
    if !fsio::exists(cx.deadline(), &p.install_dir)? {
        return Err(OcfError::installed(format!("install_dir {} not found", p.install_dir.display())));
    }
    if !fsio::exists(cx.deadline(), &p.service_script)? {
        return Err(OcfError::installed(format!("service_script {} not found", p.service_script.display())));
    }
    Ok(())
}
