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
use ocf::exit::Status;
use ocf::identity::ProductMatch;
use ocf::service::{self, ScriptStatus, ServiceScript, StopShares};
use ocf::{fsio, info, warn};

use params::{Params, META};

fn main() -> std::process::ExitCode {
    Agent::<Params>::new(&META).start(start).stop(stop).monitor(monitor).validate(validate).run()
}

fn start(cx: &Ctx, p: &Params) -> Result<()> {
    let deadline = cx.deadline();
    p.service.require_installed(deadline)?;
    let script = p.service.script()?;
    match script.status(&deadline.split(0.3)) {
        ScriptStatus::Running => info!("the Booster Agent is already running"),
        ScriptStatus::NotRunning(why) | ScriptStatus::Unknown(why) => {
            let left = leftovers(p);
            if !left.is_empty() {
                warn!("{why}, but processes {left:?} are left: stopping them before start");
                stop_processes(p, Some(&script), &deadline.split(0.5))?;
            }
            script.start(&deadline.split(0.8))?;
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
    let script = p.service.script().inspect_err(|err| warn!("{err:#}")).ok();
    stop_processes(p, script.as_ref(), cx.deadline())
}

fn monitor(cx: &Ctx, p: &Params) -> Result<Status> {
    let deadline = cx.deadline();
    let service_script = &p.service.service_script;
    if !fsio::exists(deadline, service_script)? {
        if cx.is_probe() {
            info!("{} is absent on this node: not running", service_script.display());
            return Ok(Status::Stopped);
        }
        bail!("{} is absent", service_script.display());
    }
    let script = p.service.script()?;
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
    p.service.require_installed(cx.deadline())?;
    p.service.run_as()?;
    Ok(())
}

/// `service_script stop` as the graceful step for the agent's processes (and descendants), then
/// the orphaned server processes, then verify.
fn stop_processes(p: &Params, script: Option<&ServiceScript>, deadline: &Deadline) -> Result<()> {
    let agent = p.service.processes(None);
    // When nothing mentions install_dir, `service_script stop` still runs: the script may know of
    // something.
    match service::stop_service(script, &agent, StopShares { escalate: 0.6, script_only: 0.3 }, deadline) {
        StopOutcome::AlreadyStopped => {}
        StopOutcome::Stopped { after, elapsed } => info!("Booster Agent stopped after {after:?} in {:.1}s", elapsed.as_secs_f64()),
        StopOutcome::Survived(pids) => bail!("Booster Agent processes {pids:?} survived SIGKILL"),
    }
    if let Some(dir) = &p.server_match {
        let servers = ProductProcesses { main: None, product: ProductMatch::new(dir), uid: agent.uid };
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
    let uid = p.service.uid();
    let mut dirs = vec![p.service.install_dir.clone()];
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
