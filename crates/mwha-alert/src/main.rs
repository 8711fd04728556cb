//! mwha-alert: the Pacemaker alert agent of mwha. Pacemaker runs it once per event and
//! recipient, as user hacluster, with the event in `CRM_alert_*` and the alert's and
//! recipient's options as environment variables. It writes one line per message, with a stable
//! ID from the catalogue (`docs/messages.md`), to the recipient (a file, or syslog), then runs
//! the action configured for the message's class, if any.
//!
//! Runbook of one event:
//! 1. parse the event and the options (a bad option: MWHA9002E, the default is used, exit 2);
//!    with `failure_threshold` above 1, count a failure (or reset the count on a success) of
//!    the resource on its node under `state_dir` (`state::StateDir::count_failure`); remember
//!    a start, promote or stop of a resource on its node, or ask that memory for a probe that
//!    found the resource running (`state::StateDir::cluster_started`);
//! 2. gather what the message needs, each step bounded: the exit reason of a failure and the
//!    history of a start or promote from the CIB, the quorum state for a membership change;
//! 3. classify (pure; a failure before the threshold is MWHA1007W, with no action) and write
//!    each line the recipient wants: one `write(2)` with `O_APPEND`;
//!    a line that cannot be written goes to syslog as MWHA9001E (stderr if syslog fails too)
//!    and the agent exits 1;
//! 4. run the action (bounded, no shell) and report its outcome (MWHA5001I/MWHA5002E; exit 3
//!    when it failed).
//!
//! Everything finishes within [`BUDGET`], well inside Pacemaker's default alert timeout (30 s).

mod actions;
mod catalogue;
mod classify;
mod cluster;
mod deliver;
mod event;
mod man;
mod options;
mod state;

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use ocf::deadline::Deadline;

use crate::catalogue::Entry;
use crate::classify::{Facts, FailureCount, Message, Needs, Presence, QuorumChange, Tally};
use crate::event::{Event, Kind};
use crate::options::{Options, Problem, Recipient};

/// The agent's whole time budget; Pacemaker kills alert agents after the alert's `timeout`
/// meta-attribute (30 s by default).
const BUDGET: Duration = Duration::from_secs(20);

/// Exit codes (docs/messages.md, "Exit codes").
const EXIT_DELIVERED: u8 = 0;
const EXIT_NOT_DELIVERED: u8 = 1;
const EXIT_MISCONFIGURED: u8 = 2;
const EXIT_ACTION_FAILED: u8 = 3;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = match args.first().map(String::as_str) {
        None => run(&process_vars(), Mode::Deliver),
        Some("--print") => run(&process_vars(), Mode::Print),
        Some("man") => {
            print!("{}", man::render());
            EXIT_DELIVERED
        }
        Some("--catalogue-md") => match args.get(1).map(|l| catalogue::Lang::parse(l)) {
            None => {
                print!("{}", catalogue::markdown());
                EXIT_DELIVERED
            }
            Some(Some(lang)) if args.len() == 2 => {
                print!("{}", catalogue::markdown_in(lang));
                EXIT_DELIVERED
            }
            Some(_) => {
                eprintln!("mwha-alert: --catalogue-md takes en or ja\n\n{}", usage());
                EXIT_MISCONFIGURED
            }
        },
        Some("--help" | "-h") => {
            print!("{}", usage());
            EXIT_DELIVERED
        }
        Some("--version" | "-V") => {
            println!("mwha-alert {}", env!("CARGO_PKG_VERSION"));
            EXIT_DELIVERED
        }
        Some(other) => {
            eprintln!("mwha-alert: unknown argument {other:?}\n\n{}", usage());
            EXIT_MISCONFIGURED
        }
    };
    ExitCode::from(code)
}

fn process_vars() -> BTreeMap<String, String> {
    std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))).collect()
}

/// What `run` does with the lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// To the recipient, then the actions: what Pacemaker runs.
    Deliver,
    /// To stdout, no action (an admin trying an environment by hand).
    Print,
}

/// One event.
fn run(vars: &BTreeMap<String, String>, mode: Mode) -> u8 {
    let Some(event) = Event::from_vars(vars) else {
        eprintln!("mwha-alert: no CRM_alert_kind in the environment; Pacemaker runs this program as an alert agent (see --help)");
        return EXIT_MISCONFIGURED;
    };
    // ocf's own lines (debug lines of bounded commands) follow Pacemaker's HA_LOGFILE/HA_debug
    // like every mwha agent; without this they would all go to stderr.
    ocf::log::init("mwha-alert", &ocf::env::Env::from_process("mwha-alert"));
    let deadline = Deadline::after(BUDGET);
    let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    let reporter = nix::unistd::gethostname().map(|h| h.to_string_lossy().into_owned()).unwrap_or_else(|_| "localhost".to_string());
    let (opts, mut problems) = Options::from_vars(vars);
    let recipient = Recipient::parse(&event.recipient).unwrap_or_else(|why| {
        problems.push(Problem::new("recipient", &event.recipient, why));
        Recipient::Syslog
    });

    // Counted and remembered first, before the slower queries, so that the processes of
    // successive events count in the order Pacemaker started them (event times settle the rest).
    let failures = if mode == Mode::Deliver && opts.failure_threshold > 1 { count_failures(&event, &opts, &deadline) } else { None };
    let started_here = mode == Mode::Deliver && started_by_the_cluster(&event, &opts, &deadline);
    let mut facts = gather(&event, &opts, reporter.clone(), now, &deadline);
    facts.failures = failures;
    facts.started_here = started_here;
    let mut messages: Vec<Message> = problems.iter().map(problem_message).collect();
    // Whatever the recipient's filter says, Pacemaker copies this into pacemaker.log (in
    // English, like every line of Pacemaker's log).
    for m in &messages {
        eprintln!("mwha-alert: {} {}", m.entry.id, m.text());
    }
    messages.extend(classify::classify(&event, &facts));

    let mut out = Outcome { not_delivered: false, misconfigured: !problems.is_empty(), action_failed: false };
    let crm_vars: Vec<(String, String)> =
        vars.iter().filter(|(k, _)| k.starts_with("CRM_alert_")).map(|(k, v)| (k.clone(), v.clone())).collect();
    // Only actions need the state directory here (to run once per event across recipients).
    let state = (!opts.actions.is_empty()).then(|| state::StateDir::open(&opts.state_dir).ok()).flatten();
    for message in &messages {
        let line = classify::line(&event, now, &reporter, message, opts.lang);
        if mode == Mode::Print {
            println!("{line}");
            continue;
        }
        if opts.wants(message.entry) {
            deliver(&recipient, &line, message.entry, &opts, &deadline, &mut out);
        }
        let Some(command) = opts.action_for(message.entry, message.field("rsc")) else { continue };
        let key = state::key(&[
            &event.node,
            &event.rsc,
            &event.task,
            &event.interval_ms.unwrap_or(0).to_string(),
            &event.rc.unwrap_or(-1).to_string(),
            &event.epoch.unwrap_or(now).to_string(),
            &event.usec.to_string(),
            message.entry.id,
            &command.display(),
        ]);
        let first = match &state {
            None => true,
            Some(s) => s.claim(&key, &deadline.within(Duration::from_secs(2))).unwrap_or(true),
        };
        if !first {
            continue; // another recipient's process of the same event ran it
        }
        let result = actions::run(command, actions::environment(message, &line, &crm_vars), &deadline.within(opts.action_timeout));
        out.action_failed |= !result.ok;
        let entry = if result.ok { &catalogue::ACTION_DONE } else { &catalogue::ACTION_FAILED };
        let report = Message::new(
            entry,
            vec![
                ("for_id", message.entry.id.to_string()),
                ("node", reporter.clone()),
                ("command", command.display()),
                ("outcome", result.outcome),
                ("output", result.output),
            ],
        )
        .ja(vec![("outcome", result.outcome_ja)]);
        let report_line = classify::line(&event, now, &reporter, &report, opts.lang);
        if opts.wants(entry) || !result.ok {
            deliver(&recipient, &report_line, entry, &opts, &deadline, &mut out);
        }
    }
    out.code()
}

struct Outcome {
    not_delivered: bool,
    misconfigured: bool,
    action_failed: bool,
}

impl Outcome {
    /// The most important problem decides the code: a lost line, then configuration, then the action.
    fn code(&self) -> u8 {
        if self.not_delivered {
            EXIT_NOT_DELIVERED
        } else if self.misconfigured {
            EXIT_MISCONFIGURED
        } else if self.action_failed {
            EXIT_ACTION_FAILED
        } else {
            EXIT_DELIVERED
        }
    }
}

fn problem_message(p: &Problem) -> Message {
    Message::new(&catalogue::BAD_OPTION, vec![("option", p.option.clone()), ("value", p.value.clone()), ("error", p.error.clone())])
        .ja(vec![("error", p.error_ja.clone())])
}

/// Writes the line to the recipient; when that fails, to syslog as MWHA9001E, and when syslog
/// fails too, to stderr (Pacemaker logs an alert agent's failure and output).
fn deliver(recipient: &Recipient, line: &str, entry: &Entry, opts: &Options, deadline: &Deadline, out: &mut Outcome) {
    let result = match recipient {
        Recipient::File(path) => deliver::append_line(path, line, &deadline.within(Duration::from_secs(5))),
        Recipient::Syslog => deliver::syslog(opts.syslog_facility, entry.severity, without_stamp(line)),
    };
    let Err(error) = result else { return };
    out.not_delivered = true;
    let failed = Message::new(
        &catalogue::DELIVERY_FAILED,
        vec![("recipient", recipient.describe()), ("error", format!("{error:#}")), ("line", line.to_string())],
    );
    // The recipient's language for syslog, an operator's channel; English for stderr, which
    // Pacemaker copies into its log.
    let report = format!("{} {}", failed.entry.id, failed.text_in(opts.lang));
    let syslogged = match recipient {
        Recipient::File(_) => deliver::syslog(opts.syslog_facility, catalogue::DELIVERY_FAILED.severity, &report),
        Recipient::Syslog => Err(error),
    };
    if let Err(syslog_error) = syslogged {
        eprintln!("mwha-alert: {} {} (syslog: {syslog_error:#})", failed.entry.id, failed.text());
    }
}

/// Syslog stamps records itself: "ts node ID text" → "ID text".
fn without_stamp(line: &str) -> &str {
    line.splitn(3, ' ').nth(2).unwrap_or(line)
}

/// What the messages need beyond the environment; every query is bounded and optional (a
/// failed query gives a less specific message, never a lost one).
fn gather(event: &Event, opts: &Options, reporter: String, now: i64, deadline: &Deadline) -> Facts {
    let mut facts = Facts { reporter, ..Facts::default() };
    if !opts.query_cluster {
        return facts;
    }
    let at = event.epoch.unwrap_or(now);
    let since = at - opts.recovery_window.as_secs() as i64;
    let query = || cluster::query_status(&deadline.within(Duration::from_secs(3)));
    match classify::needs(event) {
        Needs::Nothing => {}
        Needs::ExitReason => {
            let key = cluster::OpKey {
                rsc: event.rsc.clone(),
                node: event.node.clone(),
                task: event.task.clone(),
                interval_ms: event.interval_ms.unwrap_or(0),
                rc: event.rc.unwrap_or(-1),
                status: event.status.unwrap_or(0),
            };
            let what = format!("the CIB record of {} of {} on {}", key.task, key.rsc, key.node);
            facts.exit_reason = cluster::wait_for_status(deadline, Duration::from_secs(2), &what, |s| {
                s.op_record(&key, at - 2).map(|op| op.exit_reason.clone())
            })
            .ok();
        }
        Needs::Location => match query() {
            Ok(status) => {
                facts.previous = status.previous_location(&event.rsc, &event.node, since);
                facts.recent_failure_here = status.recent_failure(&event.rsc, &event.node, since).map(cluster::Op::failure);
                if facts.previous.is_none() && facts.recent_failure_here.is_none() {
                    facts.previous = lost_with_its_node(event, since, false, opts, deadline);
                }
            }
            Err(e) => ocf::warn!("operation history of {} unknown: {e:#}", event.rsc),
        },
        Needs::PreviousPrimary => match query() {
            Ok(status) => {
                facts.previous = status.previous_primary(&event.rsc, &event.node, since);
                if facts.previous.is_none() {
                    facts.previous = lost_with_its_node(event, since, true, opts, deadline);
                }
            }
            Err(e) => ocf::warn!("operation history of {} unknown: {e:#}", event.rsc),
        },
        Needs::Quorum => {
            if event.kind == Kind::Node && event.desc == "lost" {
                remember_what_ran_there(&event.node, at, opts, deadline);
            }
            facts.quorum = quorum_change(event, opts, deadline);
        }
    }
    facts
}

/// A node was lost: remember which resources ran there, before fencing erases its operation
/// history from the CIB (the start elsewhere then still says where the resource came from).
fn remember_what_ran_there(node: &str, at: i64, opts: &Options, deadline: &Deadline) {
    let remembered = cluster::query_status(&deadline.within(Duration::from_secs(2))).and_then(|status| {
        let running = status.running_on(node);
        state::StateDir::open(&opts.state_dir)?.remember_lost(
            node,
            &running,
            at,
            &state::boot_id(),
            &deadline.within(Duration::from_secs(2)),
        )
    });
    if let Err(e) = remembered {
        ocf::warn!("what ran on the lost node {node} is not remembered: {e:#}");
    }
}

/// Where `rsc` ran (or, `promoted`, was the primary) before it started (was promoted) on
/// `here`, when the CIB no longer says it: a node lost at or after `since` that ran it then.
fn lost_with_its_node(event: &Event, since: i64, promoted: bool, opts: &Options, deadline: &Deadline) -> Option<cluster::Previous> {
    let arrival = state::Arrival { rsc: &event.rsc, here: &event.node, promoted, at_us: event.at_us() };
    let used = state::StateDir::open(&opts.state_dir)
        .and_then(|s| s.use_lost_location(&arrival, since, &state::boot_id(), &deadline.within(Duration::from_secs(2))));
    match used {
        Ok(node) => node.map(|node| cluster::Previous { node, why: cluster::Why::NodeLost }),
        Err(e) => {
            ocf::warn!("the resources of lost nodes are unknown: {e:#}");
            None
        }
    }
}

/// The quorum change a membership event brings, if any (recorded under `state_dir`).
fn quorum_change(event: &Event, opts: &Options, deadline: &Deadline) -> Option<QuorumChange> {
    match cluster::query_quorum(&deadline.within(Duration::from_secs(2))) {
        Err(e) => {
            ocf::warn!("quorum state unknown: {e:#}");
            None
        }
        Ok(quorate) => {
            let recorded = state::StateDir::open(&opts.state_dir)
                .and_then(|s| s.quorum_change(quorate, &state::boot_id(), &deadline.within(Duration::from_secs(2))));
            match recorded {
                Ok(change) => change,
                Err(e) => {
                    ocf::warn!("quorum changes are reported without state: {e:#}");
                    // Without state every membership loss seen without quorum is reported.
                    (!quorate && event.kind == Kind::Node && event.desc == "lost").then_some(QuorumChange::Lost)
                }
            }
        }
    }
}

/// `failure_threshold`: counts the event under `state_dir` and returns a failure's place in its
/// row. `None` for an event that is not a failure, and when the count cannot be kept: then the
/// failure is reported as usual (never hidden) and Pacemaker's log says why.
fn count_failures(event: &Event, opts: &Options, deadline: &Deadline) -> Option<FailureCount> {
    let tally = classify::tally(event)?;
    let at_us = event.at_us();
    let key = state::key(&[
        &event.node,
        &event.rsc,
        &event.task,
        &event.interval_ms.unwrap_or(0).to_string(),
        &event.rc.unwrap_or(-1).to_string(),
        &event.status.unwrap_or(0).to_string(),
        &at_us.to_string(),
    ]);
    let counted = state::StateDir::open(&opts.state_dir).and_then(|dir| {
        let what = state::FailureEvent { tally, node: &event.node, rsc: &event.rsc, key: &key, at_us };
        dir.count_failure(&what, &state::boot_id(), &deadline.within(Duration::from_secs(2)))
    });
    match counted {
        Ok(count) => (tally == Tally::Failure).then_some(FailureCount { count, threshold: opts.failure_threshold }),
        Err(e) => {
            ocf::warn!("failures of {} on {} are not counted (failure_threshold), so reported as usual: {e:#}", event.rsc, event.node);
            None
        }
    }
}

/// The memory of what the cluster started on each node, under `state_dir`: a successful start
/// or promote is remembered, a successful stop forgets it. True for a probe that found running a
/// resource the cluster started on that node and had not stopped (a cleanup's probe: no
/// MWHA1005W); false for every other event, and when the memory cannot be kept (the probe's
/// MWHA1005W is then written: a resource running outside the cluster is never hidden).
fn started_by_the_cluster(event: &Event, opts: &Options, deadline: &Deadline) -> bool {
    let Some(presence) = classify::presence(event) else { return false };
    let what = state::PresenceEvent { presence, node: &event.node, rsc: &event.rsc, at_us: event.at_us() };
    let known = state::StateDir::open(&opts.state_dir)
        .and_then(|dir| dir.cluster_started(&what, &state::boot_id(), &deadline.within(Duration::from_secs(2))));
    match known {
        Ok(started) if presence == Presence::FoundRunning => {
            if started {
                ocf::debug!("the probe found {} running on {}, where the cluster started it: no MWHA1005W", event.rsc, event.node);
            }
            started
        }
        Ok(_) => false,
        Err(e) => {
            ocf::warn!(
                "the resources the cluster started on {} are not remembered ({} of {}), so a probe that finds one running is reported as MWHA1005W: {e:#}",
                event.node,
                event.task,
                event.rsc
            );
            false
        }
    }
}

fn usage() -> String {
    let mut text = String::from(
        "mwha-alert: Pacemaker alert agent writing one-line operator messages with stable IDs

usage: Pacemaker runs it with CRM_alert_* in the environment (no arguments)
       mwha-alert --print          the lines for the CRM_alert_* environment, to stdout, nothing delivered
       mwha-alert --catalogue-md   the message catalogue (docs/messages.md; with `ja`: docs/messages.ja.md)
       mwha-alert man              the manual page (roff)
       mwha-alert --help | --version

configure (pcs 0.11 / crmsh):
  pcs alert create id=mwha path=/usr/lib/mwha/mwha-alert
  pcs alert recipient add mwha id=mwha-log value=/var/log/mwha/alerts.log
  pcs alert recipient add mwha id=mwha-syslog value=syslog options severity=warning
  crm configure alert mwha /usr/lib/mwha/mwha-alert to /var/log/mwha/alerts.log

recipients: an absolute file path (one line per message, appended; the directory must be
writable by hacluster) or `syslog`. No recipient: syslog.

options (alert or recipient instance attributes; the recipient's win):
",
    );
    for (name, default, meaning) in options::OPTIONS {
        text.push_str(&format!("  {name:<18} {default:<16} {meaning}\n"));
    }
    text.push_str(
        "
exit: 0 delivered (or filtered), 1 not delivered to the recipient (sent to syslog instead),
      2 bad option or recipient, 3 the action failed
",
    );
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syslog_gets_the_line_without_its_timestamp_and_node() {
        assert_eq!(without_stamp("2026-11-25T21:19:27.248Z n2 MWHA1001E Resource d is unavailable"), "MWHA1001E Resource d is unavailable");
    }

    #[test]
    fn exit_codes_rank_a_lost_line_first() {
        let code = |not_delivered, misconfigured, action_failed| Outcome { not_delivered, misconfigured, action_failed }.code();
        assert_eq!(code(false, false, false), 0);
        assert_eq!(code(true, true, true), 1);
        assert_eq!(code(false, true, true), 2);
        assert_eq!(code(false, false, true), 3);
    }

    #[test]
    fn usage_lists_every_option() {
        let u = usage();
        for (name, _, _) in options::OPTIONS {
            assert!(u.contains(name), "{name}");
        }
    }
}
