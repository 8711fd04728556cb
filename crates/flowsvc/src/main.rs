//! ocf:mwha:flowsvc runs ASTERIA Warp's flow service under Pacemaker.
//!
//! Runbook (guide: "Redundancy configuration", commands run as the product's OS user):
//! - start: `boot/bin/flowsvc` as `user`, detached; done when `flowsvc.pid` names a live flow
//!   service (and `probe_url` answers). `flowsvc` may daemonize or stay in the foreground.
//! - stop: `boot/bin/fsstop`, then SIGTERM and SIGKILL to the main process, its descendants and
//!   what carries the launch ID of the start (children that left with setsid), all as the
//!   product's user; verify nothing is left, remove a stale PID file.
//! - monitor: the main PID (children die and are restarted by it: not a failure); depth 10
//!   `fsctrl status`, asked again for up to `child_restart_grace` while it reports a service
//!   down and the main process runs (meanwhile it may be restarting that child); depth 20
//!   `probe_url`.
//! - watcher (`watch.rs`, `ocf::watch`): after start, and from a monitor that finds the service
//!   running, this binary as `flowsvc __watch INSTANCE` waits on the main process and reports
//!   its exit to Pacemaker at once; stop ends it first.

#![cfg_attr(not(test), no_main)]

mod params;
mod warp;
mod watch;

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use ocf::action::{Agent, Ctx};
use ocf::escalate::{self, StopOutcome, StopPlan};
use ocf::exit::{OcfError, Status};
use ocf::identity::ProcRef;
use ocf::pidfile::PidFile;
use ocf::scope::LaunchScope;
use ocf::spawn;
use ocf::state::StateDir;
use ocf::{fsio, info, warn};

use params::{Params, META};
use warp::MainProcess;

// `flowsvc __watch INSTANCE`: the crash watcher the agent leaves after start.
ocf::agent_main!(Agent::<Params>::new(&META)
    .start(start)
    .stop(stop)
    .monitor(monitor)
    .validate(validate)
    .helper(ocf::watch::WATCH_ARG, |args| ocf::watch::main(META.name, args)));

fn start(cx: &Ctx, p: &Params) -> Result<()> {
    let deadline = cx.deadline();
    let view = require_install(cx, p)?;
    let user = warp::run_as(p, cx.deadline())?;
    if let MainProcess::Running(main) = warp::main_process(p, &view) {
        info!("flow service already running as pid {}", main.pid);
        watch::arm(cx, p, main, &view);
        return Ok(());
    }
    let old_scope = LaunchScope::load(&state(cx));
    let leftovers = warp::leftovers(p, &view, old_scope.as_ref());
    if !leftovers.is_empty() {
        warn!("stopping leftover flow-service processes {leftovers:?} before start");
        stop_processes(cx, p, None, Some(&view), old_scope.as_ref())?;
    }
    // A stale PID file could name a reused PID that happens to look like Warp: start clean.
    remove_pidfile(cx, p)?;

    let scope = LaunchScope::create(&state(cx), user.uid()).context("recording the launch scope under /run/mwha")?;
    let command = warp::command(p, warp::flowsvc(p)).env(scope.env());
    let mut launcher = cx.step("boot/bin/flowsvc", || spawn::detached(&user, &command, &p.console_log, deadline))?;
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
            quiet_polls = if warp::leftovers(p, &view, Some(&scope)).is_empty() { quiet_polls + 1 } else { 0 };
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
    // A main process that writes its PID file and dies at once must not pass for started: it
    // has to stay up a moment (a monitor right after start would otherwise be the first to see).
    deadline.sleep(START_SETTLE.min(deadline.remaining() / 2));
    if !main.is_alive() {
        bail!("the flow service (pid {}) exited right after it started (see {})", main.pid, p.console_log.display());
    }
    watch::arm(cx, p, main, &view);
    Ok(())
}

/// How long the main process must stay up after it is found before start reports success.
const START_SETTLE: Duration = Duration::from_millis(1000);

fn stop(cx: &Ctx, p: &Params) -> Result<()> {
    // First of all: a watcher must not report what this stop does.
    watch::stand_down(cx);
    // The PID file may be unreadable (storage gone): then the process table alone must do.
    let view = warp::look(p, &cx.deadline().split(0.2))
        .inspect_err(|err| warn!("{err:#}; finding the service's processes from the process table"))
        .ok();
    let main = match view.as_ref().map(|v| warp::main_process(p, v)) {
        Some(MainProcess::Running(main)) => Some(main),
        _ => None,
    };
    let scope = LaunchScope::load(&state(cx));
    stop_processes(cx, p, main, view.as_ref(), scope.as_ref())?;
    // Nothing runs any more: a PID file or scope record we cannot remove must not fail the stop
    // (and fence).
    if let Err(err) = LaunchScope::forget(&state(cx)) {
        warn!("forgetting the launch scope: {err}");
    }
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
        stopped => {
            let scope = LaunchScope::load(&state(cx));
            let left = warp::leftovers(p, &view, scope.as_ref());
            match stopped {
                // Say why the main process is not found: a PID file gone with an unmounted share
                // names the share, the likeliest cause.
                _ if !left.is_empty() => match &stopped {
                    MainProcess::Stale { why, .. } => bail!("{why}; flow-service processes {left:?} remain"),
                    _ => bail!("no PID file {}; flow-service processes {left:?} remain", p.pidfile.display()),
                },
                MainProcess::Stale { why, .. } if !cx.is_probe() => bail!("flow service is not running: {why}"),
                MainProcess::Stale { why, .. } => info!("not running: {why}"),
                _ => {}
            }
            return Ok(Status::Stopped);
        }
    };
    if cx.check_level() >= 10 {
        check_fsctrl(cx, p, &main)?;
    }
    if cx.check_level() >= 20 {
        if let Some(probe) = &p.probe_url {
            cx.deep_check("probe_url", || probe.check(deadline).context("probe_url"))?;
        }
    }
    ocf::debug!("flow service running as pid {}", main.pid);
    watch::arm(cx, p, main, &view);
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
fn stop_processes(cx: &Ctx, p: &Params, main: Option<ProcRef>, view: Option<&warp::DiskView>, scope: Option<&LaunchScope>) -> Result<()> {
    let targets = warp::processes(p, main, view, scope);
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

/// Removes the PID file when it is a PID file whose PID is proved stale; a file that is not a
/// PID file (a link, garbage, someone's config) is left alone.
fn remove_pidfile(cx: &Ctx, p: &Params) -> Result<()> {
    let view = warp::look(p, &cx.deadline().within(Duration::from_secs(5)))?;
    match warp::main_process(p, &view) {
        MainProcess::Stale { pid: Some(pid), .. } => {
            let pidfile = PidFile::new(&p.pidfile);
            let removed = fsio::bounded(cx.deadline(), "removing the stale PID file", move || pidfile.remove_stale_claim(pid))?
                .context("removing the stale PID file")?;
            if removed {
                info!("removed stale PID file {} (pid {pid})", p.pidfile.display());
            }
        }
        MainProcess::Stale { pid: None, why } => warn!("{why}; leaving it in place"),
        MainProcess::Running(_) | MainProcess::NoPidFile => {}
    }
    Ok(())
}

/// Where this resource's per-boot state lives (the launch scope).
fn state(cx: &Ctx) -> StateDir {
    StateDir::new(META.name, cx.instance())
}

/// `fsctrl status` for the whole service or per configured service, each bounded; one
/// [`RestartGrace`] for all of them.
fn check_fsctrl(cx: &Ctx, p: &Params, main: &ProcRef) -> Result<()> {
    let user = warp::run_as(p, cx.deadline())?;
    let names: Vec<Option<&str>> = if p.services.is_empty() { vec![None] } else { p.services.iter().map(|s| Some(s.as_str())).collect() };
    let mut grace = RestartGrace::new(p.child_restart_grace);
    for name in names {
        let mut cmd = warp::command(p, p.fsctrl.clone()).arg("status");
        if let Some(name) = name {
            cmd = cmd.arg(name);
        }
        let label = format!("fsctrl status{}", name.map(|n| format!(" {n}")).unwrap_or_default());
        cx.deep_check(&label, || fsctrl_status(cx, &user, &cmd, &label, main, &mut grace))?;
    }
    Ok(())
}

/// How often `fsctrl status` is asked again while a child may be restarting.
const FSCTRL_RETRY_PAUSE: Duration = Duration::from_millis(500);

/// One `fsctrl status [NAME]` check. The main process restarts a child that dies and fsctrl
/// reports it down meanwhile (guide: プロセス監視 (2)), so an answer other than running is asked
/// again while the main process runs, within the grace; a hung fsctrl stays a timeout (which
/// `check_timeouts_tolerated` may pass), a failure never becomes one.
fn fsctrl_status(
    cx: &Ctx,
    user: &spawn::RunAs,
    cmd: &spawn::CommandLine,
    label: &str,
    main: &ProcRef,
    grace: &mut RestartGrace,
) -> Result<()> {
    let deadline = cx.deadline();
    let mut asked = 0;
    // The answer that was not running, while asking again: a retry that runs out of time must
    // still fail with it (a failure never becomes a tolerated timeout).
    let mut not_running: Option<String> = None;
    deadline.wait_for(label, FSCTRL_RETRY_PAUSE, || {
        let answer = spawn::bounded(Some(user), cmd, &deadline.split(0.8))?;
        asked += 1;
        let failure = match answer.check(label) {
            Ok(()) if asked > 1 => {
                info!("{label} answers running again {:.1}s after it first did not", grace.waited().as_secs_f64());
                return Ok(Some(()));
            }
            Ok(()) => return Ok(Some(())),
            Err(err) if ocf::deadline::is_timeout(&err) => {
                return Err(match not_running.take() {
                    Some(before) => anyhow::anyhow!("{before} (asked again {:.1}s later: {err:#})", grace.waited().as_secs_f64()),
                    None => err,
                })
            }
            Err(err) => err,
        };
        not_running = Some(format!("{failure:#}"));
        if !main.is_alive() {
            return Err(failure.context(format!("the main process (pid {}) is gone", main.pid)));
        }
        if !grace.ask_again(deadline, answer.elapsed) {
            return Err(match asked {
                1 => failure,
                _ => anyhow::anyhow!("{failure:#} (still {:.1}s later)", grace.waited().as_secs_f64()),
            });
        }
        if asked == 1 {
            info!(
                "{failure:#}; the main process (pid {}) runs and restarts dead children: asking again for up to {:.1}s",
                main.pid,
                grace.left().min(deadline.remaining()).as_secs_f64()
            );
        }
        Ok(None)
    })
}

/// The window in which `fsctrl status` is asked again: `child_restart_grace` from the first
/// answer that was not running (how long a restart takes is not stated by the vendor).
struct RestartGrace {
    grace: Duration,
    opened: Option<Instant>,
}

impl RestartGrace {
    fn new(grace: Duration) -> RestartGrace {
        RestartGrace { grace, opened: None }
    }

    /// After an answer that was not running and took `took`: whether to ask again, that is
    /// whether the grace is not over yet (so the last answer comes after the whole grace) and
    /// the op leaves time for the pause and an answer as slow as this one.
    fn ask_again(&mut self, deadline: &ocf::deadline::Deadline, took: Duration) -> bool {
        let now = Instant::now();
        let opened = *self.opened.get_or_insert(now);
        now < opened + self.grace && now + FSCTRL_RETRY_PAUSE + took < deadline.end()
    }

    /// Since the first answer that was not running.
    fn waited(&self) -> Duration {
        self.opened.map_or(Duration::ZERO, |opened| opened.elapsed())
    }

    /// What is left of the grace.
    fn left(&self) -> Duration {
        self.grace.saturating_sub(self.waited())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ocf::deadline::Deadline;

    #[test]
    fn the_grace_opens_at_the_first_failure_and_never_outlasts_the_op() {
        let op = Deadline::after(Duration::from_secs(20));
        assert!(!RestartGrace::new(Duration::ZERO).ask_again(&op, Duration::ZERO), "0: report at once");
        let mut grace = RestartGrace::new(Duration::from_secs(5));
        assert_eq!(grace.waited(), Duration::ZERO, "not opened before a failure");
        assert!(grace.ask_again(&op, Duration::from_millis(100)));
        assert!(grace.left() <= Duration::from_secs(5));
        // An answer as slow as the last one would not fit in what is left of the op.
        assert!(!grace.ask_again(&op, Duration::from_secs(20)));
        let short_op = Deadline::after(Duration::from_millis(300));
        assert!(!RestartGrace::new(Duration::from_secs(60)).ask_again(&short_op, Duration::ZERO), "the op ends before the next question");
    }
}
