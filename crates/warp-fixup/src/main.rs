//! ocf:mwha:warp-fixup puts this node's own ASTERIA Warp identity back, and the same binary is
//! the admins' `warp-fixup` CLI.
//!
//! After a switch-over (shared-folder layout) or a file-copy sync (individual-folder and
//! load-balance layouts), Warp would run with the other node's license key and server ID/name.
//! Runbook (the guide's manual "copy them back from this node's backup", automated):
//! - capture (CLI, once per node): record the license files and the values at identity_paths
//!   from the node's correct data folder in a root-only store with a SHA-256 manifest.
//! - start: check the store, make the license folder equal to it (extras quarantined, never
//!   deleted), splice the stored values into server.xconf or (identity_mode=whole-file) make it
//!   equal to the store's copy (atomic, backed up), then sweep leftover intermediate files;
//!   record "started" and the time of the sweep under /run.
//! - monitor: started and the identity still matches → running; drifted → failed, naming the
//!   item. A recurring monitor (never a probe) sweeps again when sweep_interval has passed since
//!   the last sweep; a sweep problem is a warning, never a monitor failure.
//! - stop: forget "started".
//!
//! `argv[1]` decides: capture|apply|verify|inspect|sweep|help|--help|-h (or nothing) → the CLI;
//! anything else → the OCF run loop.

mod apply;
mod beneath;
mod cli;
mod location;
mod params;
mod store;
mod sweep;
mod xconf;

use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use ocf::action::{Agent, Ctx};
use ocf::deadline::Deadline;
use ocf::exit::{OcfError, Status};
use ocf::state::StateDir;
use ocf::{fsio, info, warn};

use params::{Params, META};

fn main() -> ExitCode {
    let first = std::env::args().nth(1);
    if first.as_deref() == Some("man-cli") {
        return cli::print_man_page();
    }
    if cli::is_cli(first.as_deref()) {
        return cli::run(pace());
    }
    Agent::<Params>::new(&META).start(start).stop(stop).monitor(monitor).validate(validate).run()
}

fn start(cx: &Ctx, p: &Params) -> Result<()> {
    let deadline = *cx.deadline();
    if !fsio::exists(&deadline, &p.data_dir)? {
        return Err(OcfError::installed(format!("data_dir {} not found", p.data_dir.display())));
    }
    let (target, store) = (p.target.clone(), p.store(cx.instance()));
    let pace = pace();
    let outcome = fsio::bounded(&deadline, "putting the identity in place", move || apply::run(&target, &store, &deadline, pace, false))??;
    match &outcome.applied {
        None => info!("identity already in place ({} checked): nothing written", p.store(cx.instance()).display()),
        Some(applied) => {
            for action in &applied.actions {
                info!("{action}");
            }
            if let Some(backup) = &applied.xconf_backup {
                info!("previous server.xconf kept as {}", backup.display());
            }
        }
    }
    if !p.sweep.sweep_dirs.is_empty() {
        sweep_now(cx, p, &deadline);
    }
    state(cx).mark_started().context("recording the started state")?;
    Ok(())
}

/// The state file holding when the last sweep ran (milliseconds since the epoch).
const LAST_SWEEP: &str = "last-sweep";

/// Sweeps leftover intermediate files and records when. Housekeeping must not keep the flow
/// service down nor fail a monitor: every problem is logged as a warning.
fn sweep_now(cx: &Ctx, p: &Params, deadline: &Deadline) {
    let (plan, store) = (p.sweep.clone(), p.store(cx.instance()));
    let swept = fsio::bounded(deadline, "sweeping leftover intermediate files", move || {
        let found = sweep::find(&plan, Some(&store), SystemTime::now());
        sweep::execute(found, plan.sweep_action, &store, false)
    });
    match swept {
        Ok(swept) => {
            for problem in swept.failed.iter().chain(&swept.warnings) {
                warn!("sweep: {problem}");
            }
            info!("{}", swept.summary(&p.sweep.sweep_dirs));
        }
        Err(err) => warn!("sweep: {err:#}"),
    }
    // Recorded even when the sweep failed, so a failing sweep is tried once per interval, not
    // on every monitor.
    if let Err(err) = state(cx).write(LAST_SWEEP, &format!("{}\n", unix_millis(SystemTime::now()))) {
        warn!("sweep: could not record its time under {}: {err}", state(cx).path().display());
    }
}

/// Whether a recurring monitor should sweep: folders to sweep, an interval, and no sweep
/// recorded within it (none recorded, unreadable, or in the future after a clock step: due).
fn sweep_due(cx: &Ctx, p: &Params, now: SystemTime) -> bool {
    if cx.is_probe() || p.sweep.sweep_dirs.is_empty() || p.sweep.sweep_interval.is_zero() {
        return false;
    }
    let last = state(cx).read(LAST_SWEEP).ok().flatten().and_then(|text| text.trim().parse::<u128>().ok());
    match last {
        Some(last) => {
            let now = unix_millis(now);
            now < last || now - last >= p.sweep.sweep_interval.as_millis()
        }
        None => true,
    }
}

fn unix_millis(time: SystemTime) -> u128 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis())
}

fn stop(cx: &Ctx, _p: &Params) -> Result<()> {
    // Nothing runs: a marker that cannot be removed must not fail the stop (and fence the node).
    if let Err(err) = state(cx).clear_started() {
        warn!("could not forget the started state: {err}");
    }
    Ok(())
}

fn monitor(cx: &Ctx, p: &Params) -> Result<Status> {
    let deadline = *cx.deadline();
    let started = state(cx).is_started();
    if !fsio::exists(&deadline, &p.data_dir)? {
        if cx.is_probe() || !started {
            info!("data_dir {} is absent on this node: not running", p.data_dir.display());
            return Ok(Status::Stopped);
        }
        bail!("data_dir {} is absent", p.data_dir.display());
    }
    if !started {
        return Ok(Status::Stopped);
    }
    let (target, store) = (p.target.clone(), p.store(cx.instance()));
    let plan = fsio::bounded(&deadline, "comparing the identity with the store", move || apply::check(&target, &store, &deadline))??;
    if !plan.is_empty() {
        bail!("identity drifted: {}", plan.first_difference());
    }
    // The guide asks for leftovers to be deleted regularly, not only at start.
    if sweep_due(cx, p, SystemTime::now()) {
        sweep_now(cx, p, &deadline);
    }
    Ok(Status::Running)
}

fn validate(cx: &Ctx, p: &Params) -> Result<()> {
    let store = p.store(cx.instance());
    let path = store.clone();
    let identity = fsio::bounded(cx.deadline(), "checking the identity store", move || store::load(&path))??;
    for location in &p.target.identity_paths {
        if identity.value(location).is_none() {
            return Err(OcfError::installed(format!(
                "store {} holds no value for {location}: run warp-fixup capture --force with these identity_paths",
                store.display()
            )));
        }
    }
    if p.target.mode == params::IdentityMode::WholeFile && identity.xconf.is_none() {
        return Err(OcfError::installed(format!(
            "store {} holds no copy of server.xconf, which identity_mode=whole-file needs: run warp-fixup capture",
            store.display()
        )));
    }
    Ok(())
}

fn state(cx: &Ctx) -> StateDir {
    StateDir::new(META.name, cx.instance())
}

fn pace() -> Option<Duration> {
    // The crash tests' pause between the steps of every atomic write, to widen the windows a
    // SIGKILL can land in; a test hook, absent from release builds.
    ocf::hooks::var(ocf::hooks::FIXUP_PACE_MS)?.to_str()?.parse::<u64>().ok().filter(|ms| *ms > 0).map(Duration::from_millis)
}
