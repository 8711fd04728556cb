//! The run loop every agent shares: `meta-data` and `usage` first (no parameters, no root, no
//! logging set-up that could fail), then the environment, the parameters, the action, and one
//! exit code with at most one `ocf-exit-reason:` line.
//!
//! Invariant: this is the only place that decides the process exit code.

use std::cell::RefCell;
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;

use crate::deadline::{self, Deadline};
use crate::env::Env;
use crate::exit::{self, Fault, OcfError, Status};
use crate::meta::AgentMeta;
use crate::param::{AgentParams, Values};
use crate::state::StateDir;

/// Message ID of the delay warning (see docs/messages.md).
pub const DELAY_WARNING_ID: &str = "MWHA6001W";
/// Message ID of a tolerated deep-check timeout.
pub const TOLERATED_TIMEOUT_ID: &str = "MWHA6003W";
/// Message ID of an op timeout below the action's minimum.
pub const TIMEOUT_BELOW_MINIMUM_ID: &str = "MWHA6004W";

/// The parameters every agent has (see `param::COMMON`).
#[derive(Debug, Clone, Copy)]
pub struct Common {
    pub warn_ratio: f64,
    pub check_timeouts_tolerated: u32,
}

impl Common {
    fn from_env(env: &Env, meta: &'static AgentMeta) -> Result<Common> {
        let v = Values::new(env, meta.params);
        let warn_ratio = v.get(&crate::param::WARN_RATIO)?;
        if !(warn_ratio > 0.0 && warn_ratio <= 1.0) {
            return Err(OcfError::configured(format!("warn_ratio must be between 0 and 1, not {warn_ratio}")));
        }
        Ok(Common { warn_ratio, check_timeouts_tolerated: v.get(&crate::param::CHECK_TIMEOUTS_TOLERATED)? })
    }

    /// The declared defaults (checked by the declarations' tests to parse).
    fn defaults(meta: &'static AgentMeta) -> Common {
        let none: [(&str, &str); 0] = [];
        Common::from_env(&Env::from_vars(none, meta.name), meta).expect("the declared defaults of the common parameters parse")
    }
}

/// What an action handler gets besides its parameters.
pub struct Ctx {
    action: String,
    env: Env,
    deadline: Deadline,
    meta: &'static AgentMeta,
    common: Common,
    steps: RefCell<Vec<(String, Duration)>>,
}

impl Ctx {
    pub fn action(&self) -> &str {
        &self.action
    }
    pub fn env(&self) -> &Env {
        &self.env
    }
    pub fn instance(&self) -> &str {
        self.env.instance()
    }
    /// The budget of this op (op timeout minus a safety margin).
    pub fn deadline(&self) -> &Deadline {
        &self.deadline
    }
    /// A monitor with no interval.
    pub fn is_probe(&self) -> bool {
        self.env.is_probe(&self.action)
    }
    /// `OCF_CHECK_LEVEL`, rounded down to a level the agent implements.
    pub fn check_level(&self) -> u32 {
        self.env.check_level(self.meta.check_levels)
    }

    /// Runs a named step and records its time, for the delay warning.
    pub fn step<T>(&self, what: &str, work: impl FnOnce() -> T) -> T {
        let started = std::time::Instant::now();
        let out = work();
        self.steps.borrow_mut().push((what.to_string(), started.elapsed()));
        out
    }

    /// A depth 10/20 check: timed like a step, and when it times out, tolerated with a warning
    /// up to `check_timeouts_tolerated` consecutive times (counted under /run).
    pub fn deep_check(&self, what: &str, check: impl FnOnce() -> Result<()>) -> Result<()> {
        let state = StateDir::new(self.meta.name, self.instance());
        let result = self.step(what, check);
        match &result {
            Ok(()) => {
                let _ = state.remove("check-timeouts");
            }
            Err(err) if deadline::is_timeout(err) && self.common.check_timeouts_tolerated > 0 => {
                let count = state.read("check-timeouts").ok().flatten().and_then(|c| c.trim().parse::<u32>().ok()).unwrap_or(0) + 1;
                if count <= self.common.check_timeouts_tolerated {
                    let _ = state.write("check-timeouts", &count.to_string());
                    crate::warn!(
                        "[{TOLERATED_TIMEOUT_ID}] {what} timed out ({count} of {} tolerated in a row): {err:#}",
                        self.common.check_timeouts_tolerated
                    );
                    return Ok(());
                }
            }
            Err(_) => {}
        }
        result
    }

    /// Logs the delay warning when the action used more than `warn_ratio` of its timeout.
    fn warn_if_slow(&self) {
        let used = self.deadline.elapsed();
        let timeout = self.env.op_timeout();
        if used.as_secs_f64() <= timeout.as_secs_f64() * self.common.warn_ratio {
            return;
        }
        let steps = self.steps.borrow();
        let slowest = steps.iter().max_by_key(|(_, d)| *d);
        let detail = match slowest {
            Some((what, took)) => format!("{what} took {:.1} s", took.as_secs_f64()),
            None => format!("{} took {:.1} s", self.action, used.as_secs_f64()),
        };
        crate::warn!(
            "[{DELAY_WARNING_ID}] {detail} of a {} s {} ({:.1} s in all, warn_ratio {})",
            timeout.as_secs_f64(),
            self.action,
            used.as_secs_f64(),
            self.common.warn_ratio
        );
    }
}

pub type Handler<P> = fn(&Ctx, &P) -> Result<()>;
/// A helper mode of the agent's own binary: its arguments after the hidden first one, its exit code.
pub type HelperMain = fn(Vec<std::ffi::OsString>) -> u8;
pub type Monitor<P> = fn(&Ctx, &P) -> Result<Status>;

/// An agent: its description and one handler per action it implements.
pub struct Agent<P> {
    meta: &'static AgentMeta,
    start: Option<Handler<P>>,
    stop: Option<Handler<P>>,
    monitor: Option<Monitor<P>>,
    validate: Option<Handler<P>>,
    promote: Option<Handler<P>>,
    demote: Option<Handler<P>>,
    notify: Option<Handler<P>>,
    helpers: Vec<(&'static str, HelperMain)>,
}

impl<P: AgentParams> Agent<P> {
    pub fn new(meta: &'static AgentMeta) -> Agent<P> {
        Agent {
            meta,
            start: None,
            stop: None,
            monitor: None,
            validate: None,
            promote: None,
            demote: None,
            notify: None,
            helpers: Vec::new(),
        }
    }
    pub fn start(mut self, h: Handler<P>) -> Self {
        self.start = Some(h);
        self
    }
    pub fn stop(mut self, h: Handler<P>) -> Self {
        self.stop = Some(h);
        self
    }
    pub fn monitor(mut self, h: Monitor<P>) -> Self {
        self.monitor = Some(h);
        self
    }
    pub fn validate(mut self, h: Handler<P>) -> Self {
        self.validate = Some(h);
        self
    }
    pub fn promote(mut self, h: Handler<P>) -> Self {
        self.promote = Some(h);
        self
    }
    pub fn demote(mut self, h: Handler<P>) -> Self {
        self.demote = Some(h);
        self
    }
    pub fn notify(mut self, h: Handler<P>) -> Self {
        self.notify = Some(h);
        self
    }
    /// A helper the agent runs as its own binary with the hidden first argument `arg` (an I/O
    /// child that may hang on a share, a crash watcher): `run` gets the rest of the arguments.
    pub fn helper(mut self, arg: &'static str, run: HelperMain) -> Self {
        self.helpers.push((arg, run));
        self
    }

    /// Where the handlers and the meta-data disagree: an advertised action without a handler,
    /// or a handler for an action the meta-data does not list (`meta-data` is always built in).
    pub fn action_mismatches(&self) -> Vec<String> {
        let handled = [
            ("start", self.start.is_some()),
            ("stop", self.stop.is_some()),
            ("monitor", self.monitor.is_some()),
            ("validate-all", self.validate.is_some()),
            ("promote", self.promote.is_some()),
            ("demote", self.demote.is_some()),
            ("notify", self.notify.is_some()),
        ];
        let advertised = |name: &str| self.meta.actions.iter().any(|a| a.name == name);
        let mut problems = Vec::new();
        for (name, has) in handled {
            match (has, advertised(name)) {
                (true, false) => problems.push(format!("{name} has a handler but is not in the meta-data")),
                (false, true) => problems.push(format!("{name} is in the meta-data but has no handler")),
                _ => {}
            }
        }
        for a in self.meta.actions {
            if !handled.iter().any(|(n, _)| *n == a.name) && a.name != "meta-data" {
                problems.push(format!("{} is in the meta-data but no agent can handle it", a.name));
            }
        }
        problems
    }

    /// Runs the action named by `argv[1]` and returns the OCF exit code.
    pub fn run(self) -> ExitCode {
        ExitCode::from(self.exit_code())
    }

    /// Like [`Agent::run`], as a number (for [`agent_main!`](crate::agent_main)).
    pub fn exit_code(self) -> u8 {
        let first = std::env::args_os().nth(1);
        if let Some((_, run)) = self.helpers.iter().find(|(arg, _)| first.as_deref() == Some(std::ffi::OsStr::new(arg))) {
            return run(std::env::args_os().skip(2).collect());
        }
        let action = std::env::args().nth(1).unwrap_or_default();
        match action.as_str() {
            "meta-data" => {
                // OCF_OUTPUT_FORMAT is ignored on purpose: meta-data is always XML.
                let _ = std::io::stdout().write_all(self.meta.to_xml().as_bytes());
                return 0;
            }
            "usage" | "help" | "--help" | "-h" => {
                print!("{}", self.meta.usage());
                return 0;
            }
            "man" => {
                print!("{}", crate::man::render(self.meta));
                return 0;
            }
            "--version" | "version" => {
                println!("{} {}", self.meta.name, self.meta.version);
                return 0;
            }
            _ => {}
        }
        let env = Env::from_process(self.meta.name);
        crate::log::init(self.meta.name, &env);
        if let Some(problem) = env.timeout_problem() {
            crate::warn!("{problem}");
        }
        let deadline = Deadline::for_op(env.op_timeout());
        let common = Common::from_env(&env, self.meta);
        let ctx = Ctx {
            action: action.clone(),
            // Invalid common parameters (only stop gets this far with them): their declared defaults.
            common: common.as_ref().copied().unwrap_or_else(|_| Common::defaults(self.meta)),
            env,
            deadline,
            meta: self.meta,
            steps: RefCell::new(Vec::new()),
        };
        let result = match common {
            Err(err) if action != "stop" => Err(err),
            _ => self.dispatch(&ctx),
        };
        ctx.warn_if_slow();
        let code = exit::exit_code(&result);
        if let Err(err) = &result {
            if exit::fault_of(err) == Fault::Unimplemented {
                eprint!("{}", self.meta.usage());
            }
            crate::error!("{} failed: {err:#}", ctx.action);
            crate::log::exit_reason(&exit::exit_reason(ctx.instance(), err));
        }
        crate::debug!("{} returned {code} after {:.3}s", ctx.action, ctx.deadline.elapsed().as_secs_f64());
        code
    }

    fn dispatch(&self, ctx: &Ctx) -> Result<Status> {
        let unimplemented = || OcfError::with_fault(Fault::Unimplemented, format!("action {:?} is not implemented", ctx.action));
        let handler = match ctx.action.as_str() {
            "monitor" | "status" => {
                let monitor = self.monitor.ok_or_else(unimplemented)?;
                let params = self.params(ctx)?;
                return monitor(ctx, &params);
            }
            "start" => self.start,
            "stop" => self.stop,
            "validate-all" => self.validate,
            "promote" => self.promote,
            "demote" => self.demote,
            "notify" => self.notify,
            _ => None,
        };
        let handler = handler.ok_or_else(unimplemented)?;
        self.warn_below_minimum(ctx);
        if ctx.action == "stop" {
            return match self.stop_params(ctx)? {
                Some(params) => handler(ctx, &params).map(|()| Status::Running),
                None => Ok(Status::Running),
            };
        }
        let params = self.params(ctx)?;
        handler(ctx, &params).map(|()| Status::Running)
    }

    /// Warns when this action's op timeout, or (in validate-all) any action's timeout configured
    /// in the CIB, is below the minimum the agent declares for it.
    fn warn_below_minimum(&self, ctx: &Ctx) {
        let warn = |action: &str, timeout: Duration, minimum: u32| {
            crate::warn!(
                "[{TIMEOUT_BELOW_MINIMUM_ID}] the {action} timeout of {} is {} s, below the {minimum} s this agent needs",
                ctx.instance(),
                timeout.as_secs_f64()
            );
        };
        for spec in self.meta.actions {
            let Some(minimum) = spec.minimum else { continue };
            let below = |t: Duration| t < Duration::from_secs(minimum.into());
            if spec.name == ctx.action && ctx.env.reskey("CRM_meta_timeout").is_some() && below(ctx.env.op_timeout()) {
                warn(spec.name, ctx.env.op_timeout(), minimum);
            }
            if ctx.action == "validate-all" {
                if let Some(configured) = crate::cib::op_timeout(ctx.instance(), spec.name, &ctx.deadline).filter(|t| below(*t)) {
                    warn(spec.name, configured, minimum);
                }
            }
        }
    }

    fn params(&self, ctx: &Ctx) -> Result<P> {
        // A value that is not UTF-8 would otherwise read as unset and silently take the default.
        if let Some(spec) = self.meta.params.iter().chain(crate::param::COMMON).find(|s| ctx.env.is_not_utf8(s.name)) {
            return Err(OcfError::configured(format!("parameter {} is not valid UTF-8 text", spec.name)));
        }
        P::from_values(&Values::new(&ctx.env, self.meta.params))
    }

    /// stop with parameters that cannot parse: nothing can have been started with them, and a
    /// failed stop would get the node fenced, so it succeeds.
    fn stop_params(&self, ctx: &Ctx) -> Result<Option<P>> {
        match self.params(ctx) {
            Ok(p) => Ok(Some(p)),
            Err(err) => {
                crate::warn!("stop with invalid parameters ({err:#}): nothing can be running with them");
                Ok(None)
            }
        }
    }
}

/// Defines the C `main` of an agent crate marked `#![cfg_attr(not(test), no_main)]`: the agent runs without the Rust
/// runtime's start-up work (a read of /proc/self/maps for the stack guard, signal stacks), which
/// is a fifth to a third of the cost of a monitor call; std works as usual. SIGPIPE keeps its
/// default action, as Pacemaker sets it for agents.
#[macro_export]
macro_rules! agent_main {
    ($agent:expr) => {
        // Unit tests of the agent crate keep the test harness's own main.
        #[cfg(not(test))]
        #[no_mangle]
        extern "C" fn main() -> i32 {
            i32::from($agent.exit_code())
        }

        // Under test the agent is built and its handlers are checked against its meta-data.
        #[cfg(test)]
        #[test]
        fn every_advertised_action_has_a_handler_and_no_other() {
            let agent = $agent;
            assert_eq!(agent.action_mismatches(), Vec::<String>::new());
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::ActionSpec;

    struct NoParams;
    impl AgentParams for NoParams {
        fn from_values(_: &Values) -> Result<NoParams> {
            Ok(NoParams)
        }
    }

    fn ok(_: &Ctx, _: &NoParams) -> Result<()> {
        Ok(())
    }

    static META: AgentMeta = AgentMeta {
        name: "t",
        version: "0",
        shortdesc: "t",
        longdesc: "t",
        params: &[],
        actions: &[
            ActionSpec::new("start", 20),
            ActionSpec::new("stop", 20),
            ActionSpec::new("meta-data", 5),
            ActionSpec::new("reload", 5),
        ],
        check_levels: &[0],
    };

    static SITE: crate::param::Param<String> = crate::param::Param::string("site", "s", "s");
    static SITE_META: AgentMeta = AgentMeta {
        name: "t",
        version: "0",
        shortdesc: "t",
        longdesc: "t",
        params: &[SITE.spec()],
        actions: &[
            ActionSpec::new("start", 20),
            ActionSpec::new("stop", 20),
            ActionSpec::monitor(20, 10, 0),
            ActionSpec::new("meta-data", 5),
        ],
        check_levels: &[0],
    };

    struct SiteParams;
    impl AgentParams for SiteParams {
        fn from_values(v: &Values) -> Result<SiteParams> {
            v.get(&SITE).map(|_| SiteParams)
        }
    }

    fn never_runs(cx: &Ctx, _: &SiteParams) -> Result<()> {
        panic!("{} ran with a placeholder", cx.action())
    }

    /// What `action` returns, exit code and reason, with `site` set to `value`.
    fn run_with(action: &str, value: &str) -> (u8, Option<String>) {
        let env = Env::from_vars([("OCF_RESKEY_site", value), ("OCF_RESOURCE_INSTANCE", "res")], "t");
        let ctx = Ctx {
            action: action.to_string(),
            common: Common::defaults(&SITE_META),
            env,
            deadline: Deadline::after(Duration::from_secs(5)),
            meta: &SITE_META,
            steps: RefCell::new(Vec::new()),
        };
        let agent = Agent::<SiteParams>::new(&SITE_META).start(never_runs).stop(never_runs).monitor(|_, _| panic!("monitor ran"));
        let result = agent.dispatch(&ctx);
        (exit::exit_code(&result), result.err().map(|err| exit::exit_reason(ctx.instance(), &err)))
    }

    #[test]
    fn a_placeholder_fails_every_action_with_6_but_stop_which_succeeds_doing_nothing() {
        let reason = "res: site is a placeholder (<site value>): put the site's value there";
        assert_eq!(run_with("start", "<site value>"), (6, Some(reason.to_string())));
        assert_eq!(run_with("monitor", " <site value> "), (6, Some(reason.to_string())));
        // Nothing can have been started with it (start refuses it): stop has nothing to do, and
        // a failed stop would get the node fenced.
        assert_eq!(run_with("stop", "<site value>"), (0, None));
    }

    #[test]
    fn handlers_are_checked_against_the_advertised_actions() {
        let agent = Agent::<NoParams>::new(&META).start(ok).validate(ok);
        assert_eq!(
            agent.action_mismatches(),
            [
                "stop is in the meta-data but has no handler",
                "validate-all has a handler but is not in the meta-data",
                "reload is in the meta-data but no agent can handle it"
            ]
        );
    }
}
