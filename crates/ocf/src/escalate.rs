//! Stopping a product's process tree inside the stop budget: graceful command, then SIGTERM,
//! then SIGKILL, then verify that nothing is left.
//!
//! The set of processes is recomputed at every step, and a process belongs to it only on
//! evidence a bystander cannot have by accident (ARCHITECTURE.md, "who is the product"):
//! - the verified main process (PID file, command line, start time and uid checked);
//! - a descendant of a process already in the set (children stay in the set after their parent
//!   dies and they are reparented);
//! - a process carrying the resource's launch ID ([`LaunchScope`]), which finds children that
//!   called `setsid` or double-forked away from the main process;
//!
//! and, for all of them, it runs as the product's user. A command line that mentions the install
//! folder proves nothing and is never consulted here.
//! Invariant: a process is signalled only through a [`ProcRef`] whose start time still matches.

use std::collections::BTreeSet;
use std::time::Duration;

use anyhow::Result;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::deadline::Deadline;
use crate::identity::ProcRef;
use crate::proc::{self, ProcessTable};
use crate::scope::LaunchScope;

/// How to find the product's processes.
#[derive(Debug, Clone)]
pub struct ProductProcesses {
    pub main: Option<ProcRef>,
    /// The launch scope recorded when the agent started the product, if any.
    pub scope: Option<LaunchScope>,
    /// The product's user; `None` (unknown: no user and no recorded scope) means only the main
    /// process and its descendants qualify, and only if they run as the main process's user.
    pub uid: Option<u32>,
}

impl ProductProcesses {
    /// The user whose processes may be the product's: the configured one, else the scope's.
    fn owner(&self) -> Option<u32> {
        self.uid.or(self.scope.as_ref().map(LaunchScope::uid)).or_else(|| self.main.and_then(|m| proc::read_uid(m.pid)))
    }

    /// The live processes of the product, remembering them in `seen`.
    pub fn find(&self, seen: &mut BTreeSet<ProcRef>) -> Vec<ProcRef> {
        let table = ProcessTable::scan();
        let owner = self.owner();
        let me = std::process::id() as i32;
        let owned = |pid: i32| pid != me && owner.is_some() && proc::read_uid(pid) == owner;
        if let Some(main) = self.main {
            seen.insert(main);
        }
        seen.retain(|p| table.stats.get(&p.pid).is_some_and(|s| s.starttime == p.starttime) && owned(p.pid));
        let mut found: BTreeSet<ProcRef> = seen.clone();
        if let Some(scope) = &self.scope {
            for s in table.stats.values() {
                if !found.contains(&ProcRef::of(s)) && owned(s.pid) && scope.holds(s.pid) {
                    found.insert(ProcRef::of(s));
                }
            }
        }
        let roots: Vec<ProcRef> = found.iter().copied().collect();
        for root in roots {
            for pid in table.descendants(root.pid) {
                if let Some(s) = table.stats.get(&pid) {
                    if owned(pid) {
                        found.insert(ProcRef::of(s));
                    }
                }
            }
        }
        seen.extend(found.iter().copied());
        // The main process first: it would restart children we kill before it.
        let mut list: Vec<ProcRef> = found.into_iter().collect();
        list.sort_by_key(|p| (Some(p.pid) != self.main.map(|m| m.pid), p.pid));
        list
    }
}

/// The step that ended the processes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Graceful,
    Term,
    Kill,
}

#[must_use]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopOutcome {
    AlreadyStopped,
    Stopped {
        after: Step,
        elapsed: Duration,
    },
    /// Processes still there after SIGKILL (uninterruptible sleep): the stop must fail.
    Survived(Vec<i32>),
}

/// The product's own stop command, given its share of the budget.
pub type GracefulStop<'a> = &'a dyn Fn(&Deadline) -> Result<()>;

/// How much of the remaining budget each step may use.
pub struct StopPlan<'a> {
    /// The product's own stop command, run under its sub-deadline.
    pub graceful: Option<GracefulStop<'a>>,
    /// Share of the budget for the graceful command and the wait after it.
    pub graceful_share: f64,
    /// How long processes may linger after the graceful command has returned.
    pub graceful_linger: Duration,
    /// Share of what then remains for SIGTERM; the rest is for SIGKILL and verification.
    pub term_share: f64,
    /// Before SIGKILL, send SIGQUIT and wait this long so a JVM writes its thread dump.
    pub thread_dump: Option<Duration>,
}

const POLL: Duration = Duration::from_millis(100);

pub fn stop(targets: &ProductProcesses, plan: &StopPlan, deadline: &Deadline) -> StopOutcome {
    let mut seen = BTreeSet::new();
    if targets.find(&mut seen).is_empty() {
        return StopOutcome::AlreadyStopped;
    }
    if let Some(graceful) = plan.graceful {
        let step = deadline.split(plan.graceful_share);
        if let Err(err) = graceful(&step) {
            crate::warn!("graceful stop failed: {err:#}");
        }
        if wait_gone(targets, &mut seen, &step.within(plan.graceful_linger)) {
            return StopOutcome::Stopped { after: Step::Graceful, elapsed: deadline.elapsed() };
        }
    }
    let term = deadline.split(plan.term_share);
    let pids = signal_all(targets, &mut seen, Signal::SIGTERM);
    crate::info!("sent SIGTERM to {} process(es): {pids:?}", pids.len());
    if wait_gone(targets, &mut seen, &term) {
        return StopOutcome::Stopped { after: Step::Term, elapsed: deadline.elapsed() };
    }
    let stuck: Vec<i32> = targets.find(&mut seen).iter().map(|p| p.pid).collect();
    crate::forensics::log_stuck(&stuck, "still running after SIGTERM, before SIGKILL");
    if let Some(wait) = plan.thread_dump {
        let pids = signal_all(targets, &mut seen, Signal::SIGQUIT);
        crate::info!("sent SIGQUIT for a thread dump to {pids:?}");
        deadline.sleep(wait.min(deadline.remaining() / 4));
    }
    // SIGKILL rounds until nothing is left: a dying parent may still spawn a child.
    let mut survivors = Vec::new();
    for round in 0..5 {
        let pids = signal_all(targets, &mut seen, Signal::SIGKILL);
        if pids.is_empty() {
            return StopOutcome::Stopped { after: Step::Kill, elapsed: deadline.elapsed() };
        }
        crate::warn!("sent SIGKILL (round {}) to {} process(es): {pids:?}", round + 1, pids.len());
        let kill_wait = deadline.within(Duration::from_secs(2).max(deadline.remaining() / 4));
        if wait_gone(targets, &mut seen, &kill_wait) {
            return StopOutcome::Stopped { after: Step::Kill, elapsed: deadline.elapsed() };
        }
        survivors = targets.find(&mut seen).iter().map(|p| p.pid).collect();
        if deadline.is_expired() {
            break;
        }
    }
    crate::forensics::log_stuck(&survivors, "survived SIGKILL");
    StopOutcome::Survived(survivors)
}

fn signal_all(targets: &ProductProcesses, seen: &mut BTreeSet<ProcRef>, signal: Signal) -> Vec<i32> {
    let mut sent = Vec::new();
    for p in targets.find(seen) {
        if send(&p, signal) {
            sent.push(p.pid);
        }
    }
    sent
}

/// Sends `signal` only if `p` is still the same process.
pub fn send(p: &ProcRef, signal: Signal) -> bool {
    p.is_alive() && kill(Pid::from_raw(p.pid), signal).is_ok()
}

fn wait_gone(targets: &ProductProcesses, seen: &mut BTreeSet<ProcRef>, deadline: &Deadline) -> bool {
    deadline.wait_for("processes to exit", POLL, || Ok(targets.find(seen).is_empty().then_some(()))).is_ok()
}
