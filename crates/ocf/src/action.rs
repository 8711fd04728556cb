//! The run loop every agent shares: `meta-data` and `usage` first (no parameters, no root, no
//! logging set-up that could fail), then the environment, the parameters, the action, and one
//! exit code with at most one `ocf-exit-reason:` line.
//!
//! Invariant: this is the only place that decides the process exit code.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;

use crate::deadline::Deadline;
use crate::env::Env;
use crate::exit::{self, Fault, OcfError, Status};
use crate::meta::AgentMeta;
use crate::param::{AgentParams, Values};

/// What an action handler gets besides its parameters.
pub struct Ctx {
    action: String,
    env: Env,
    deadline: Deadline,
    meta: &'static AgentMeta,
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
}

pub type Handler<P> = fn(&Ctx, &P) -> Result<()>;
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
}

impl<P: AgentParams> Agent<P> {
    pub fn new(meta: &'static AgentMeta) -> Agent<P> {
        Agent { meta, start: None, stop: None, monitor: None, validate: None, promote: None, demote: None, notify: None }
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

    /// Runs the action named by `argv[1]` and returns the OCF exit code.
    pub fn run(self) -> ExitCode {
        let action = std::env::args().nth(1).unwrap_or_default();
        match action.as_str() {
            "meta-data" => {
                // OCF_OUTPUT_FORMAT is ignored on purpose: meta-data is always XML.
                let _ = std::io::stdout().write_all(self.meta.to_xml().as_bytes());
                return ExitCode::SUCCESS;
            }
            "usage" | "help" | "--help" | "-h" => {
                print!("{}", self.meta.usage());
                return ExitCode::SUCCESS;
            }
            "man" => {
                print!("{}", crate::man::render(self.meta));
                return ExitCode::SUCCESS;
            }
            "--version" | "version" => {
                println!("{} {}", self.meta.name, self.meta.version);
                return ExitCode::SUCCESS;
            }
            _ => {}
        }
        let env = Env::from_process(self.meta.name);
        crate::log::init(self.meta.name, &env);
        let deadline = Deadline::for_op(env.op_timeout());
        let ctx = Ctx { action: action.clone(), env, deadline, meta: self.meta };
        let result = self.dispatch(&ctx);
        let code = exit::exit_code(&result);
        if let Err(err) = &result {
            if exit::fault_of(err) == Fault::Unimplemented {
                eprint!("{}", self.meta.usage());
            }
            crate::error!("{} failed: {err:#}", ctx.action);
            crate::log::exit_reason(&exit::exit_reason(ctx.instance(), err));
        }
        crate::debug!("{} returned {code} after {:.3}s", ctx.action, ctx.deadline.elapsed().as_secs_f64());
        ExitCode::from(code)
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
        let params = self.params(ctx)?;
        handler(ctx, &params).map(|()| Status::Running)
    }

    fn params(&self, ctx: &Ctx) -> Result<P> {
        P::from_values(&Values::new(&ctx.env, self.meta.params))
    }
}
