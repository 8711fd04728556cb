//! The OCF resource-agent contract as Pacemaker applies it, written once for every mwha agent.
//!
//! - [`action`]: the run loop (`meta-data` first, dispatch, one exit code, one exit reason).
//! - [`exit`]: exit codes as types and the one mapping from results to codes.
//! - [`env`]: `OCF_RESKEY_*`, op timeout, interval, probe detection, check levels.
//! - [`param`], [`meta`]: typed parameter declarations, parsed values and meta-data XML.
//! - [`log`]: the ocf_log convention.
//! - [`deadline`]: the op's time budget; the only place that sleeps.
//! - [`pidfile`], [`proc`], [`identity`]: PID claims and whether a process is the product.
//! - [`spawn`]: commands as another user, detached or bounded.
//! - [`scope`]: the launch ID that marks every process the agent started.
//! - [`escalate`]: graceful → TERM → KILL → verify on the product's processes.
//! - [`fsio`], [`probe`]: filesystem and network checks with deadlines.
//! - [`cib`]: an operation's configured timeout, for validate-all's warning.
//! - [`state`]: per-boot resource state under `/run/mwha`.
//! - [`mountinfo`], [`atomic`], [`promotion`]: mounts, atomic file replacement, promotion scores.
//! - [`service`]: an init-style service script (`SCRIPT {start|stop|status}`) run bounded, the
//!   parameters of an agent that drives one, and stopping its processes with it.
//! - [`sockets`]: which processes hold a TCP port (`/proc/net/tcp{,6}` inode → `/proc/*/fd`).
//! - [`forensics`]: what stuck processes were doing, logged before they are killed.
//! - [`hooks`]: the MWHA_* test hooks, absent from release builds.
//! - `civil`: UTC calendar time for log lines and backup names.
//! - `sys`: every `unsafe` block.
//!
//! Invariant: this crate never names a product.

pub mod action;
pub mod atomic;
pub mod cib;
pub mod civil;
pub mod deadline;
pub mod env;
pub mod escalate;
pub mod exit;
pub mod forensics;
pub mod fsio;
pub mod hooks;
pub mod identity;
pub mod log;
pub mod man;
pub mod meta;
pub mod mountinfo;
pub mod param;
pub mod pidfile;
pub mod probe;
pub mod proc;
pub mod promotion;
pub mod scope;
pub mod service;
pub mod sockets;
pub mod spawn;
pub mod state;
mod sys;
pub mod watch;
