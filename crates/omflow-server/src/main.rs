//! ocf:mwha:omflow-server runs the OMFLOW Booster Agent of an application node; the agent starts
//! the OMFLOW Server, which reaches the Active Booster through BOOSTER_IP (the Booster VIP).
//!
//! Runbook (vendor guide "Booster installation": Boosters and database first, then every Booster
//! Agent; starting the agent starts the OMFLOW Server):
//! - start: `service_script start`; done when `service_script status` succeeds and `probe_url`
//!   (the OMFLOW Server) answers.
//! - stop: `service_script stop`, then SIGTERM and SIGKILL to what carries the launch ID of the
//!   start (the agent, and the server even when it daemonized) and their descendants, as the
//!   product's user; verify.
//! - monitor: `service_script status`; stopped with leftovers is a failure; depth 10 `probe_url`.

#![cfg_attr(not(test), no_main)]

mod params;

use std::collections::BTreeSet;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use ocf::action::{Agent, Ctx};
use ocf::deadline::Deadline;
use ocf::escalate::StopOutcome;
use ocf::exit::Status;
use ocf::identity::ProductMatch;
use ocf::scope::LaunchScope;
use ocf::service::{self, Readiness, ScriptStatus, ServiceScript, StopShares};
use ocf::state::StateDir;
use ocf::{fsio, info, proc, warn};

use params::{Params, META};

ocf::agent_main!(Agent::<Params>::new(&META).start(start).stop(stop).monitor(monitor).validate(validate));

fn start(cx: &Ctx, p: &Params) -> Result<()> {
    let deadline = cx.deadline();
    p.service.require_installed(deadline)?;
    let script = p.service.script(deadline)?;
    match script.status(&deadline.split(0.3)) {
        ScriptStatus::Running => info!("the Booster Agent is already running"),
        ScriptStatus::NotRunning(why) | ScriptStatus::Unknown(why) => {
            let left = leftovers(cx, p);
            if !left.is_empty() {
                warn!("{why}, but processes {left} are left: stopping them before start");
                stop_processes(cx, p, Some(&script), &deadline.split(0.5))?;
            }
            let uid = p.service.uid().context("the Booster Agent's user does not exist")?;
            let scope = LaunchScope::create(&state(cx), uid).context("recording the launch scope under /run/mwha")?;
            script.start(&scope, &deadline.split(0.8))?;
        }
    }
    let what = match &p.probe_url {
        Some(_) => "the OMFLOW Server to answer probe_url",
        None => "service_script status to succeed",
    };
    service::wait_ready(deadline, "the Booster Agent", what, |look| match script.status(look) {
        ScriptStatus::NotRunning(why) => Readiness::Stopped(why),
        ScriptStatus::Unknown(why) => Readiness::Starting(why),
        ScriptStatus::Running => match &p.probe_url {
            None => Readiness::Ready,
            Some(probe) => match probe.check(&look.within(Duration::from_secs(5))) {
                Ok(()) => Readiness::Ready,
                Err(err) => Readiness::Starting(format!("probe_url: {err:#}")),
            },
        },
    })?;
    info!("the Booster Agent and the OMFLOW Server are up after {:.1}s", deadline.elapsed().as_secs_f64());
    Ok(())
}

fn stop(cx: &Ctx, p: &Params) -> Result<()> {
    let script = p.service.script(cx.deadline()).inspect_err(|err| warn!("{err:#}")).ok();
    stop_processes(cx, p, script.as_ref(), cx.deadline())?;
    if let Err(err) = LaunchScope::forget(&state(cx)) {
        warn!("forgetting the launch scope: {err}");
    }
    Ok(())
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
    let script = p.service.script(deadline)?;
    match script.status(&deadline.split(0.6)) {
        ScriptStatus::Running => {}
        ScriptStatus::NotRunning(why) => {
            let left = leftovers(cx, p);
            if !left.is_empty() {
                bail!("{why}, but processes {left} are left");
            }
            info!("not running: {why}");
            return Ok(Status::Stopped);
        }
        ScriptStatus::Unknown(why) => bail!("{why}"),
    }
    if cx.check_level() >= 10 {
        if let Some(probe) = &p.probe_url {
            cx.deep_check("probe_url", || probe.check(deadline).context("probe_url"))?;
        }
    }
    Ok(Status::Running)
}

fn validate(cx: &Ctx, p: &Params) -> Result<()> {
    p.service.require_installed(cx.deadline())?;
    p.service.run_as()?;
    Ok(())
}

/// `service_script stop` as the graceful step for the resource's processes (the agent, the server
/// it started, their descendants), then SIGTERM and SIGKILL, then verify.
fn stop_processes(cx: &Ctx, p: &Params, script: Option<&ServiceScript>, deadline: &Deadline) -> Result<()> {
    let targets = p.service.processes(None, LaunchScope::load(&state(cx)).as_ref());
    // When no process is known, `service_script stop` still runs: the script may know of
    // something.
    match service::stop_service(script, &targets, StopShares { escalate: 0.8, script_only: 0.5 }, deadline) {
        StopOutcome::AlreadyStopped => {}
        StopOutcome::Stopped { after, elapsed } => info!("Booster Agent stopped after {after:?} in {:.1}s", elapsed.as_secs_f64()),
        StopOutcome::Survived(pids) => bail!("Booster Agent processes {pids:?} survived SIGKILL"),
    }
    let left = leftovers(cx, p);
    if !left.is_empty() {
        bail!("processes {left} are still running after stop");
    }
    Ok(())
}

/// The resource's processes still alive, named for reasons: "[4242, 4243] (OMFLOW Server: [4243])".
fn leftovers(cx: &Ctx, p: &Params) -> Leftovers {
    let targets = p.service.processes(None, LaunchScope::load(&state(cx)).as_ref());
    let pids: Vec<i32> = targets.find(&mut BTreeSet::new()).iter().map(|r| r.pid).collect();
    let servers = p.server_match.as_ref().map(|dir| {
        let server = ProductMatch::new(dir);
        pids.iter().copied().filter(|pid| server.matches(&proc::read_cmdline(*pid), proc::read_exe(*pid).as_deref())).collect()
    });
    Leftovers { pids, servers }
}

struct Leftovers {
    pids: Vec<i32>,
    /// Those that mention server_match, when it is set.
    servers: Option<Vec<i32>>,
}

impl Leftovers {
    fn is_empty(&self) -> bool {
        self.pids.is_empty()
    }
}

impl std::fmt::Display for Leftovers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.pids)?;
        match &self.servers {
            Some(servers) if !servers.is_empty() => write!(f, " (OMFLOW Server: {servers:?})"),
            _ => Ok(()),
        }
    }
}

/// Where this resource's per-boot state lives (the launch scope).
fn state(cx: &Ctx) -> StateDir {
    StateDir::new(META.name, cx.instance())
}
