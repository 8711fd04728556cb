//! ocf:mwha:flowsvc runs ASTERIA Warp's flow service under Pacemaker.
//!
//! Runbook (guide: "Redundancy configuration", commands run as the product's OS user):
//! - start: `boot/bin/flowsvc` as `user`, detached; done when `flowsvc.pid` names a live flow
//!   service (and `probe_url` answers). `flowsvc` may daemonize or stay in the foreground.
//! - stop: `boot/bin/fsstop`, then SIGTERM and SIGKILL to the main process and its descendants,
//!   verify nothing is left, remove a stale PID file.
//! - monitor: the main PID (children die and are restarted by it: not a failure); depth 10
//!   `fsctrl status`; depth 20 `probe_url`.

#![cfg_attr(not(test), no_main)]

mod params;
mod warp;

use std::time::Duration;

use anyhow::{bail, Context, Result};
use ocf::action::{Agent, Ctx};
use ocf::escalate::{self, StopOutcome, StopPlan};
use ocf::exit::{OcfError, Status};
use ocf::identity::ProcRef;
use ocf::pidfile::PidFile;
use ocf::spawn;
use ocf::{fsio, info, warn};

use params::{Params, META};
use warp::MainProcess;

ocf::agent_main!(Agent::<Params>::new(&META).start(start).stop(stop).monitor(monitor).validate(validate));

fn start(cx: &Ctx, p: &Params) -> Result<()> {
    let deadline = cx.deadline();
    let view = require_install(cx, p)?;
    let user = warp::run_as(p, cx.deadline())?;
    if let MainProcess::Running(main) = warp::main_process(p, &view) {
        info!("flow service already running as pid {}", main.pid);
        return Ok(());
    }
    let leftovers = warp::leftovers(p, &view);
    if !leftovers.is_empty() {
        warn!("stopping leftover flow-service processes {leftovers:?} before start");
        stop_processes(cx, p, None, Some(&view))?;
    }
    // A stale PID file could name a reused PID that happens to look like Warp: start clean.
    remove_pidfile(cx, p)?;

    let mut launcher =
        cx.step("boot/bin/flowsvc", || spawn::detached(&user, &warp::command(p, warp::flowsvc(p)), &p.console_log, deadline))?;
    info!("started {} as {} (launcher pid {})", warp::flowsvc(p).display(), user.name(), launcher.pid());
    let mut quiet_polls = 0;
    let main = deadline.wait_for("flowsvc.pid to name a live flow service", Duration::from_millis(100), || {
        let view = warp::look(p, deadline)?;
        if let MainProcess::Running(main) = warp::main_process(p, &view) {
            return Ok(Some(main));
        }
        if let Some(status) = launcher.exit_status() {
            if !status.success() {
                bail!("boot/bin/flowsvc {status} before the service came up (see {})", p.console_log.display());
            }
            // The launcher daemonized; if nothing of the service is left, it died.
            quiet_polls = if warp::leftovers(p, &view).is_empty() { quiet_polls + 1 } else { 0 };
            if quiet_polls >= 5 {
                bail!("the flow service exited during start (see {})", p.console_log.display());
            }
        }
        Ok(None)
    })?;
    info!("flow service main process is pid {} after {:.1}s", main.pid, deadline.elapsed().as_secs_f64());

    if let Some(probe) = &p.probe_url {
        deadline.wait_for("probe_url to answer", Duration::from_millis(200), || {
            if !main.is_alive() {
                bail!("the flow service (pid {}) exited during start", main.pid);
            }
            Ok(probe.check(&deadline.within(Duration::from_secs(5))).ok())
        })?;
        info!("probe_url answers after {:.1}s", deadline.elapsed().as_secs_f64());
    }
    Ok(())
}

fn stop(cx: &Ctx, p: &Params) -> Result<()> {
    // The PID file may be unreadable (storage gone): then the process table alone must do.
    let view = warp::look(p, &cx.deadline().split(0.2))
        .inspect_err(|err| warn!("{err:#}; finding the service's processes from the process table"))
        .ok();
    let main = match view.as_ref().map(|v| warp::main_process(p, v)) {
        Some(MainProcess::Running(main)) => Some(main),
        _ => None,
    };
    stop_processes(cx, p, main, view.as_ref())?;
    // Nothing runs any more: a PID file we cannot remove must not fail the stop (and fence).
    if let Err(err) = remove_pidfile(cx, p) {
        warn!("{err:#}");
    }
    Ok(())
}

fn monitor(cx: &Ctx, p: &Params) -> Result<Status> {
    let deadline = cx.deadline();
    let view = warp::look(p, deadline)?;
    if !view.install_dir_present || !view.data_dir_present {
        let missing = if view.install_dir_present { &p.data_dir } else { &p.install_dir };
        if cx.is_probe() {
            // A passive node without the shared folder: not running here (never 5/6/1).
            info!("{} is absent on this node: not running", missing.display());
            return Ok(Status::Stopped);
        }
        bail!("{} is absent", missing.display());
    }
    let main = match warp::main_process(p, &view) {
        MainProcess::Running(main) => main,
        MainProcess::NoPidFile | MainProcess::Stale(_) if !warp::leftovers(p, &view).is_empty() => {
            bail!("main process is gone but flow-service processes {:?} remain", warp::leftovers(p, &view));
        }
        MainProcess::NoPidFile => return Ok(Status::Stopped),
        MainProcess::Stale(why) if cx.is_probe() => {
            info!("not running: {why}");
            return Ok(Status::Stopped);
        }
        MainProcess::Stale(why) => bail!("flow service is not running: {why}"),
    };
    if cx.check_level() >= 10 {
        check_fsctrl(cx, p)?;
    }
    if cx.check_level() >= 20 {
        if let Some(probe) = &p.probe_url {
            cx.deep_check("probe_url", || probe.check(deadline).context("probe_url"))?;
        }
    }
    ocf::debug!("flow service running as pid {}", main.pid);
    Ok(Status::Running)
}

fn validate(cx: &Ctx, p: &Params) -> Result<()> {
    require_install(cx, p)?;
    warp::run_as(p, cx.deadline())?;
    Ok(())
}

/// install_dir, data_dir and boot/bin/flowsvc must exist on this node (5 otherwise).
fn require_install(cx: &Ctx, p: &Params) -> Result<warp::DiskView> {
    let view = warp::look(p, cx.deadline())?;
    if !view.install_dir_present {
        return Err(OcfError::installed(format!("install_dir {} not found", p.install_dir.display())));
    }
    if !view.data_dir_present {
        return Err(OcfError::installed(format!("data_dir {} not found", p.data_dir.display())));
    }
    let flowsvc = warp::flowsvc(p);
    if !fsio::exists(cx.deadline(), &flowsvc)? {
        return Err(OcfError::installed(format!("{} not found", flowsvc.display())));
    }
    Ok(view)
}

/// fsstop (half the budget; the JVMs get 10 s to exit after it returns), then SIGTERM (half of
/// the rest), then SIGKILL and verify.
fn stop_processes(cx: &Ctx, p: &Params, main: Option<ProcRef>, view: Option<&warp::DiskView>) -> Result<()> {
    let targets = warp::processes(p, main, view);
    let user = warp::run_as(p, cx.deadline()).ok();
    let fsstop = |step: &ocf::deadline::Deadline| -> Result<()> {
        let Some(user) = &user else { bail!("no user to run fsstop as") };
        let done = cx.step("fsstop", || spawn::bounded(Some(user), &warp::command(p, warp::fsstop(p)), step))?;
        info!("fsstop {} ({:.1}s)", done.describe(), done.elapsed.as_secs_f64());
        Ok(())
    };
    // fsstop talks to the main process: without one (orphaned children) it cannot help.
    let can_fsstop = main.is_some() && user.is_some() && view.is_some_and(|v| v.install_dir_present);
    let plan = StopPlan {
        graceful: can_fsstop.then_some(&fsstop as _),
        graceful_share: 0.5,
        graceful_linger: Duration::from_secs(10),
        term_share: 0.5,
        thread_dump: p.thread_dump.then_some(Duration::from_secs(3)),
    };
    match escalate::stop(&targets, &plan, cx.deadline()) {
        StopOutcome::AlreadyStopped => info!("flow service is not running"),
        StopOutcome::Stopped { after, elapsed } => info!("flow service stopped after {after:?} in {:.1}s", elapsed.as_secs_f64()),
        StopOutcome::Survived(pids) => bail!("flow-service processes {pids:?} survived SIGKILL"),
    }
    Ok(())
}

/// Removes the PID file unless it names a live flow service.
fn remove_pidfile(cx: &Ctx, p: &Params) -> Result<()> {
    let view = warp::look(p, &cx.deadline().within(Duration::from_secs(5)))?;
    if matches!(warp::main_process(p, &view), MainProcess::Stale(_)) {
        let pidfile = PidFile::new(&p.pidfile);
        fsio::bounded(cx.deadline(), "removing the stale PID file", move || pidfile.remove())?.context("removing the stale PID file")?;
        info!("removed stale PID file {}", p.pidfile.display());
    }
    Ok(())
}

/// `fsctrl status` for the whole service or per configured service, each bounded.
fn check_fsctrl(cx: &Ctx, p: &Params) -> Result<()> {
    let user = warp::run_as(p, cx.deadline())?;
    let names: Vec<Option<&str>> = if p.services.is_empty() { vec![None] } else { p.services.iter().map(|s| Some(s.as_str())).collect() };
    for name in names {
        let mut cmd = warp::command(p, p.fsctrl.clone()).arg("status");
        if let Some(name) = name {
            cmd = cmd.arg(name);
        }
        let label = format!("fsctrl status{}", name.map(|n| format!(" {n}")).unwrap_or_default());
        cx.deep_check(&label, || spawn::bounded(Some(&user), &cmd, &cx.deadline().split(0.8))?.check(&label))?;
    }
    Ok(())
}
