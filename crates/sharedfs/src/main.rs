//! ocf:mwha:sharedfs proves that the shared folder is mounted, is the right volume and works,
//! without ever hanging. It mounts nothing.
//!
//! Runbook:
//! - level 0: `/proc/self/mountinfo` only: directory is a mount point (not the empty directory
//!   underneath) with the expected source, type and options.
//! - level 10: in a child with the io deadline: the directory's device, statfs (min_free), the
//!   marker. Level 20: also a probe file created, written, fsynced, read back and removed. No
//!   second child while one is stuck on the share. A timeout counts as a hang (on_hang) unless
//!   monitor tolerates it (check_timeouts_tolerated).
//! - start: level 20, then "started" under /run. monitor: 7 unless started, else the op's level
//!   (a probe whose directory is absent: 7). stop: forget "started"; after a hang with
//!   on_hang=fence, fail once so that Pacemaker fences the node.
//! - validate-all: parameter syntax only (the share is not touched).

#![cfg_attr(not(test), no_main)]

mod iocheck;
mod mount;
mod params;

use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use ocf::action::{Agent, Ctx};
use ocf::exit::Status;
use ocf::mountinfo::{self, Mount};
use ocf::state::StateDir;
use ocf::{fsio, info, warn};

use mount::Problem;
use params::{human, OnHang, Params, META};

/// The state file that makes the next stop fail (on_hang=fence): the "poison pill".
const HUNG: &str = "hung";

// The I/O child of the checks (see iocheck.rs) is this binary with a hidden first argument.
ocf::agent_main!(Agent::<Params>::new(&META)
    .start(start)
    .stop(stop)
    .monitor(monitor)
    .validate(validate)
    .helper(iocheck::CHILD_ARG, iocheck::child_main));

fn start(cx: &Ctx, p: &Params) -> Result<()> {
    let state = resource_state(cx);
    // Start proves the share works: no timeout is tolerated here.
    let result = read_mounts().and_then(|mounts| {
        let mount = level_0(p, &mounts)?;
        let report = cx.step(&io_step(p), || iocheck::run(cx, p, mount, 20)).map_err(|err| arm_fence(cx, p, err))?;
        Ok(format!("{} is mounted and works: {}", describe(p, mount), report_text(&report)))
    });
    match result {
        Ok(summary) => {
            state.mark_started().context("recording the start under /run")?;
            info!("{summary}");
            disarm_fence(cx);
            Ok(())
        }
        Err(err) => {
            if let Err(e) = state.clear_started() {
                warn!("cannot clear the started marker: {e}");
            }
            Err(err)
        }
    }
}

fn stop(cx: &Ctx, p: &Params) -> Result<()> {
    let state = resource_state(cx);
    state.clear_started().context("forgetting the start")?;
    let hang = state.read(HUNG).unwrap_or_else(|e| {
        warn!("cannot read the hang record: {e}");
        None
    });
    let Some(hang) = hang else { return Ok(()) };
    // One stop fails per hang: after the fence (a reboot clears /run) or a manual cleanup, the
    // resource can be stopped again.
    state.remove(HUNG).context("removing the hang record")?;
    match p.on_hang {
        OnHang::Fence => bail!("stop fails so that this node is fenced (on_hang=fence) after: {}", hang.trim()),
        OnHang::Fail => info!("an earlier hang is not held against stop (on_hang=fail): {}", hang.trim()),
    }
    Ok(())
}

fn monitor(cx: &Ctx, p: &Params) -> Result<Status> {
    let state = resource_state(cx);
    if !state.is_started() {
        return Ok(Status::Stopped);
    }
    let mounts = read_mounts()?;
    if cx.is_probe() && matches!(mount::check(p, &mounts), Err(Problem::NotMounted { .. })) {
        // Only the parent directory is looked at: directory is not a mount point.
        let deadline = cx.deadline().within(Duration::from_secs(5));
        if !fsio::exists(&deadline, &p.directory)? {
            info!("{} is absent on this node: not running", p.directory.display());
            state.clear_started().context("forgetting the start")?;
            return Ok(Status::Stopped);
        }
    }
    let mount = level_0(p, &mounts)?;
    let depth = cx.check_level();
    if depth < 10 {
        ocf::debug!("{} is mounted", describe(p, mount));
        return Ok(Status::Running);
    }
    // A timeout may be tolerated (check_timeouts_tolerated); it then arms nothing.
    let mut report = None;
    cx.deep_check(&io_step(p), || {
        report = Some(iocheck::run(cx, p, mount, depth)?);
        Ok(())
    })
    .map_err(|err| arm_fence(cx, p, err))?;
    if let Some(report) = report {
        ocf::debug!("{} is mounted and works: {}", describe(p, mount), report_text(&report));
        disarm_fence(cx);
    }
    Ok(Status::Running)
}

fn validate(_cx: &Ctx, p: &Params) -> Result<()> {
    // The syntax was checked while reading the parameters (6); nothing here touches the share.
    // The user the I/O check runs as must exist on this node (2 otherwise, as start says).
    if let Some(name) = &p.user {
        ocf::spawn::RunAs::by_name(name)?;
    }
    ocf::debug!("parameters for {} are valid", p.directory.display());
    Ok(())
}

/// Level 0: the mount visible at directory, if it is the expected one.
fn level_0<'a>(p: &Params, mounts: &'a [Mount]) -> Result<&'a Mount> {
    mount::check(p, mounts).map_err(|problem| anyhow!("{}: {problem}", p.directory.display()))
}

fn io_step(p: &Params) -> String {
    format!("I/O check on {}", p.directory.display())
}

fn describe(p: &Params, mount: &Mount) -> String {
    format!("{}: {} ({}, {})", p.directory.display(), mount.source, mount.fstype, if mount.is_read_only() { "ro" } else { "rw" })
}

fn report_text(report: &iocheck::Report) -> String {
    let probe = report.probe.map(|d| format!(", probe file written and read back in {:.1} ms", d.as_secs_f64() * 1e3));
    format!("{} free of {}{}", human(report.available), human(report.size), probe.unwrap_or_default())
}

/// With on_hang=fence, a hang makes the next stop fail.
fn arm_fence(cx: &Ctx, p: &Params, err: anyhow::Error) -> anyhow::Error {
    let state = resource_state(cx);
    // The first hang says most (the later ones only find its check still stuck).
    if p.on_hang == OnHang::Fence && ocf::deadline::is_timeout(&err) && !matches!(state.read(HUNG), Ok(Some(_))) {
        match state.write(HUNG, &format!("{err:#}\n")) {
            Ok(()) => warn!("the next stop will fail so that this node is fenced (on_hang=fence)"),
            Err(e) => warn!("cannot record the hang for on_hang=fence: {e}"),
        }
    }
    err
}

/// The share works again (and Pacemaker did not recover from the hang, e.g. on-fail=ignore):
/// a stop long after must not fence the node.
fn disarm_fence(cx: &Ctx) {
    let state = resource_state(cx);
    if let Ok(Some(hang)) = state.read(HUNG) {
        match state.remove(HUNG) {
            Ok(()) => info!("the share works again: the next stop will not fail for the earlier hang ({})", hang.trim()),
            Err(e) => warn!("cannot remove the hang record: {e}"),
        }
    }
}

fn read_mounts() -> Result<Vec<Mount>> {
    mountinfo::read().context("reading /proc/self/mountinfo")
}

fn resource_state(cx: &Ctx) -> StateDir {
    StateDir::new(META.name, cx.instance())
}
