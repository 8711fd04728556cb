//! The time budget of the current op. Every wait and every child command takes a `&Deadline`.
//!
//! Invariant: this is the only module that sleeps. Times are monotonic (`Instant`).

use std::time::{Duration, Instant};

use anyhow::Result;

#[derive(Debug, Clone, Copy)]
pub struct Deadline {
    started: Instant,
    end: Instant,
}

impl Deadline {
    /// The budget of an op that Pacemaker kills after `op_timeout`: the timeout minus a margin
    /// (10 %, at least 1 s and at most 5 s) so the agent answers before the SIGKILL.
    pub fn for_op(op_timeout: Duration) -> Deadline {
        Deadline::after(budget_for(op_timeout))
    }

    pub fn after(budget: Duration) -> Deadline {
        let started = Instant::now();
        Deadline { started, end: started + budget }
    }

    pub fn remaining(&self) -> Duration {
        self.end.saturating_duration_since(Instant::now())
    }

    pub fn is_expired(&self) -> bool {
        Instant::now() >= self.end
    }

    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    pub fn end(&self) -> Instant {
        self.end
    }

    /// A sub-budget: `fraction` of what remains, starting now.
    pub fn split(&self, fraction: f64) -> Deadline {
        let now = Instant::now();
        let part = self.remaining().mul_f64(fraction.clamp(0.0, 1.0));
        Deadline { started: now, end: now + part }
    }

    /// A sub-budget of at most `limit`, never past this deadline.
    pub fn within(&self, limit: Duration) -> Deadline {
        let now = Instant::now();
        Deadline { started: now, end: (now + limit).min(self.end) }
    }

    /// Sleeps `pause`, cut short at the deadline.
    pub fn sleep(&self, pause: Duration) {
        let pause = pause.min(self.remaining());
        if !pause.is_zero() {
            std::thread::sleep(pause);
        }
    }

    /// Polls `check` until it yields a value, fails, or the deadline passes. The only polling
    /// loop of the project; its timeout error names `what` and the time spent.
    pub fn wait_for<T>(&self, what: &str, poll: Duration, mut check: impl FnMut() -> Result<Option<T>>) -> Result<T> {
        loop {
            if let Some(value) = check()? {
                return Ok(value);
            }
            if self.is_expired() {
                let message = format!("timed out after {:.1}s waiting for {what}", self.elapsed().as_secs_f64());
                return Err(anyhow::Error::new(TimedOut { message }));
            }
            self.sleep(poll);
        }
    }
}

/// A step that did not finish in its time: a check that timed out is not a failed check
/// (agents may tolerate a few, see `check_timeouts_tolerated`).
#[derive(Debug)]
pub struct TimedOut {
    message: String,
}

impl TimedOut {
    /// "`what` did not finish within N s".
    pub fn error(what: &str, after: Duration) -> anyhow::Error {
        anyhow::Error::new(TimedOut { message: format!("{what} did not finish within {:.1}s", after.as_secs_f64()) })
    }
}

impl std::fmt::Display for TimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for TimedOut {}

/// Whether an error is (caused by) a timeout.
pub fn is_timeout(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| cause.downcast_ref::<TimedOut>().is_some())
}

pub fn budget_for(op_timeout: Duration) -> Duration {
    if op_timeout <= Duration::from_secs(2) {
        return op_timeout / 2;
    }
    let margin = op_timeout.mul_f64(0.1).clamp(Duration::from_secs(1), Duration::from_secs(5));
    op_timeout - margin
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_keeps_a_margin_before_pacemakers_kill() {
        for (timeout, budget) in [(20, 18_000), (120, 115_000), (5, 4_000), (2, 1_000), (60, 55_000)] {
            assert_eq!(budget_for(Duration::from_secs(timeout)), Duration::from_millis(budget), "{timeout}s");
        }
    }

    #[test]
    fn wait_for_names_what_it_waited_for() {
        let d = Deadline::after(Duration::from_millis(30));
        let err = d.wait_for("the moon", Duration::from_millis(5), || Ok(None::<()>)).unwrap_err();
        assert!(err.to_string().contains("waiting for the moon"), "{err}");
        let mut n = 0;
        let got = Deadline::after(Duration::from_secs(5))
            .wait_for("three polls", Duration::from_millis(1), || {
                n += 1;
                Ok((n == 3).then_some(n))
            })
            .unwrap();
        assert_eq!(got, 3);
    }

    #[test]
    fn sub_budgets_never_pass_the_parent() {
        let d = Deadline::after(Duration::from_millis(100));
        assert!(d.within(Duration::from_secs(10)).end() <= d.end());
        assert!(d.split(0.5).remaining() <= Duration::from_millis(50));
    }
}
