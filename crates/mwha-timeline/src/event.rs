//! A line's message → what it tells about an incident. Pure: one message in, at most one
//! [`Event`] out; every message not listed here is `None`.
//!
//! The messages, as Pacemaker 2.1.5 writes them (file: function):
//!
//! `crm_resource --fail` records an `asyncmon` action: a failure reported from outside the
//! executor (the mwha crash watcher reports this way, or an admin), taken as a monitor failure.
//!
//! | message | from | event |
//! |---|---|---|
//! | `Node N state is now lost` / `… member` | lib/cluster/membership.c: `crm_update_peer_state_iter` (every daemon) | [`Event::NodeLost`] / [`Event::NodeMember`] |
//! | `Our peer on the DC (N) is dead` | controld_callbacks.c: `peer_update_callback` | [`Event::NodeLost`] |
//! | `Requesting fencing (reboot) of node N` | controld_fencing.c: `te_fence_node` (DC) | [`Event::FenceRequested`] |
//! | `Requesting peer fencing (reboot) targeting N` | fenced_remote.c: `initiate_remote_stonith_op` | [`Event::FenceRequested`] |
//! | `Starting Pacemaker 2.1.5` | pacemakerd.c: `main` | [`Event::Restart`] |
//! | `Peer N was[ not] terminated (reboot) by X on behalf of C: OK` | controld_fencing.c: `handle_fence_notification` (every node) | [`Event::FenceResult`] |
//! | `Initiating start operation R_start_0 [locally ]on N` | controld_te_actions.c: `te_rsc_command` (DC) | [`Event::OpBegin`] |
//! | `Requesting local execution of start operation for R on N` | controld_execd.c: `do_lrm_rsc_op` (the node) | [`Event::OpBegin`] |
//! | `executing - rsc:R action:start call_id:12` | execd_commands.c: `log_execute` (the node) | [`Event::OpBegin`] |
//! | `R start (call 12, PID 345) exited with status 0 (execution time 24ms)` | execd_commands.c: `log_finished` (the node) | [`Event::OpExec`] |
//! | `Result of start operation for R on N: ok \| … call=12 key=R_start_0 rc=0` | controld_execd.c: `log_executor_event` (the node) | [`Event::OpResult`] |
//! | `Transition 3 action 7 (R_start_0 on N) confirmed: ok \| rc=0 call-id=12` | controld_te_events.c: `process_graph_event` (DC) | [`Event::OpResult`] |
//! | `Transition 3 action 7 (R_monitor_10000 on N): expected 'ok' but got 'not running' \| … rc=7 call-id=14` | same | [`Event::OpResult`] |
//! | `Discarding attempt to perform action start on R in state S_ELECTION` | controld_execd.c: `do_lrm_rsc_op` (the node) | [`Event::OpNotRun`] |
//! | `Transition 3 action 7 (R_start_0 on N): Cannot execute now` | controld_te_events.c (DC) | [`Event::OpNotRun`] |
//! | `State transition S_TRANSITION_ENGINE -> S_IDLE` | controld_fsa.c (DC) | [`Event::Idle`] |
//! | `Cluster node N will be fenced: …`, `Scheduling node N for fencing`, `Unexpected result (…) was recorded for …`, `Actions: Move …` | scheduler (pengine/unpack.c, pcmk_sched_allocate.c) | [`Event::Decision`] |

use crate::time::{self, Stamp};

/// A resource action, as the timeline tells them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    Start,
    Stop,
    Promote,
    Demote,
    /// A recurring monitor (interval > 0).
    Monitor,
    /// A one-time monitor (interval 0): not a health check, never a failure here.
    Probe,
    /// `asyncmon`, what `crm_resource --fail` records: a failure reported from outside (the
    /// mwha crash watcher, or an admin).
    Reported,
    Other,
}

impl Op {
    fn from_task(task: &str, interval_ms: u64) -> Op {
        match task {
            "start" => Op::Start,
            "stop" => Op::Stop,
            "promote" => Op::Promote,
            "demote" => Op::Demote,
            "monitor" | "status" if interval_ms > 0 => Op::Monitor,
            "asyncmon" => Op::Reported,
            "monitor" | "status" | "probe" => Op::Probe,
            _ => Op::Other,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    NodeLost {
        node: String,
    },
    NodeMember {
        node: String,
    },
    FenceRequested {
        target: String,
        action: String,
    },
    FenceResult {
        target: String,
        action: String,
        ok: bool,
        result: String,
        /// The node whose fence device did it ("by X"), when the line names it.
        by: Option<String>,
    },
    /// An action was started: by the DC, or on the node itself (`node` is then the log's node
    /// when the line does not name it).
    OpBegin {
        node: Option<String>,
        rsc: String,
        op: Op,
    },
    /// The executor's own record of a finished action, on the log's node.
    OpExec {
        rsc: String,
        op: Op,
        call: u32,
        rc: Option<i32>,
        exec_ms: Option<i64>,
    },
    /// An action's result as the controller saw it. `ok`: the result was the expected one.
    OpResult {
        node: Option<String>,
        rsc: String,
        op: Op,
        call: Option<u32>,
        rc: Option<i32>,
        ok: bool,
        result: String,
    },
    /// Pacemaker (pacemakerd) starting on the log's node: whatever it was running is gone.
    Restart,
    /// The DC has nothing more to do (`State transition … -> S_IDLE`).
    Idle,
    /// An action that was not run after all (the controller discarded it).
    OpNotRun {
        node: Option<String>,
        rsc: String,
        op: Op,
    },
    /// The scheduler decided something about a failure or a lost node: the cluster has
    /// detected it.
    Decision {
        text: String,
        about: About,
    },
}

/// What a scheduler decision is about, to tell whether it concerns an incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum About {
    /// A node to be fenced or found unclean.
    Node(String),
    /// A failed action, recorded (to the second, with its year) at `recorded`.
    Failure { rsc: String, node: String, recorded: Option<Stamp> },
    /// An action list entry: its words (action, resource, nodes).
    Actions(Vec<String>),
}

fn after<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    s.strip_prefix(prefix)
}

/// The text before `sep`, and the rest after it.
fn until<'a>(s: &'a str, sep: &str) -> Option<(&'a str, &'a str)> {
    s.split_once(sep)
}

/// Splits Pacemaker's "message | details" (`CRM_XS`): the last " |" is the separator.
fn xs(s: &str) -> (&str, &str) {
    match s.rfind(" |") {
        Some(i) => (&s[..i], s[i + 2..].trim_start()),
        None => (s, ""),
    }
}

/// `name=value` in the details part (value ends at a blank, ',' or ';').
fn field<'a>(details: &'a str, name: &str) -> Option<&'a str> {
    let mut rest = details;
    while let Some(i) = rest.find(name) {
        let starts_word = i == 0 || matches!(rest.as_bytes()[i - 1], b' ' | b',' | b';');
        let value = &rest[i + name.len()..];
        if starts_word {
            let end = value.find([' ', ',', ';']).unwrap_or(value.len());
            return Some(&value[..end]);
        }
        rest = value;
    }
    None
}

/// An operation key `RSC_TASK_INTERVAL` → (resource, task, interval in ms).
pub fn split_key(key: &str) -> Option<(&str, &str, u64)> {
    let (head, interval) = key.rsplit_once('_')?;
    let interval = interval.parse().ok()?;
    for two_word in ["migrate_to", "migrate_from"] {
        if let Some(rsc) = head.strip_suffix(two_word).and_then(|h| h.strip_suffix('_')) {
            return Some((rsc, two_word, interval));
        }
    }
    let (rsc, task) = head.rsplit_once('_')?;
    (!rsc.is_empty()).then_some((rsc, task, interval))
}

/// A node name as logs print it; Pacemaker prints "(null)" when it has none.
fn node_name(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty() && s != "(null)" && !s.contains(' ')).then(|| s.to_string())
}

/// `pcmk__readable_interval`: `24ms`, `2s`, `1.500s`, `1m 2s`, `1h2m3s`… → ms.
pub fn readable_interval(s: &str) -> Option<i64> {
    let (mut total, mut num, mut frac, mut frac_digits, mut in_frac, mut any) = (0i64, 0i64, 0i64, 0u32, false, false);
    let mut has_num = false;
    let b = s.trim().as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match c {
            b'0'..=b'9' if in_frac => {
                if frac_digits < 3 {
                    frac = frac * 10 + i64::from(c - b'0');
                    frac_digits += 1;
                }
            }
            b'0'..=b'9' => {
                num = num.checked_mul(10)?.checked_add(i64::from(c - b'0'))?;
                has_num = true;
            }
            b'.' => in_frac = true,
            b' ' => {}
            _ => {
                if !has_num {
                    return None;
                }
                let unit: i64 = match (c, b.get(i + 1)) {
                    (b'm', Some(b's')) => {
                        i += 1;
                        1
                    }
                    (b's', _) => 1000,
                    (b'm', _) => 60_000,
                    (b'h', _) => 3_600_000,
                    (b'd', _) => 86_400_000,
                    _ => return None,
                };
                let frac_ms = frac * 10i64.pow(3 - frac_digits) * unit / 1000;
                total = total.checked_add(num.checked_mul(unit)?.checked_add(frac_ms)?)?;
                (num, frac, frac_digits, in_frac, any, has_num) = (0, 0, 0, false, true, false);
            }
        }
        i += 1;
    }
    (any && !has_num && !in_frac).then_some(total)
}

/// Results that are not an action's failure: the expected outcomes, and a recurring monitor
/// cancelled before a stop.
fn result_is_ok(op: Op, rc: Option<i32>, result: &str) -> bool {
    match op {
        Op::Monitor | Op::Reported => matches!(rc, Some(0 | 8)) || result == "Cancelled" || result.starts_with("pending"),
        Op::Probe | Op::Other => true,
        _ => rc == Some(0),
    }
}

fn execd(msg: &str) -> Option<Event> {
    // "R start (call 12, PID 345) exited with status 0 (execution time 24ms)"
    // "R start (call 12) could not be executed: Timed Out (execution time 20s)"
    let (rsc, rest) = until(msg, " ")?;
    let (task, rest) = until(rest, " (call ")?;
    let call_end = rest.find([',', ')'])?;
    let call = rest[..call_end].parse().ok()?;
    let rc = match rest.find(") exited with status ") {
        Some(i) => {
            let status = &rest[i + ") exited with status ".len()..];
            Some(status[..status.find(' ').unwrap_or(status.len())].parse().ok()?)
        }
        None if rest.contains(") could not be executed: ") => None,
        None => return None,
    };
    let exec_ms = rest.rfind(" (execution time ").and_then(|i| {
        let t = &rest[i + " (execution time ".len()..];
        readable_interval(t[..t.find([')']).unwrap_or(t.len())].split(" after being queued").next()?.trim())
    });
    Some(Event::OpExec { rsc: rsc.to_string(), op: Op::from_task(task, 0), call, rc, exec_ms })
}

fn result_of(msg: &str) -> Option<Event> {
    // "Result of start operation for R on N: ok | CIB update 45, graph action confirmed; call=12 key=R_start_0 rc=0"
    let rest = after(msg, "Result of ")?;
    let (task, rest) = until(rest, " operation for ")?;
    let (head, details) = xs(rest);
    let (who, result) = until(head, ": ")?;
    let (rsc, node) = match who.split_once(" on ") {
        Some((rsc, node)) => (rsc, node_name(node)),
        None => (who, None),
    };
    let key = field(details, "key=").and_then(split_key);
    let interval = key.map_or(0, |k| k.2);
    // "probe" is how monitors with interval 0 are named here; the key tells the rest.
    let op = Op::from_task(key.map_or(task, |k| k.1), interval);
    let rc = field(details, "rc=").and_then(|v| v.parse().ok());
    let call = field(details, "call=").and_then(|v| v.parse().ok());
    let result = result.trim();
    Some(Event::OpResult { node, rsc: rsc.to_string(), op, call, rc, ok: result_is_ok(op, rc, result), result: result.to_string() })
}

fn transition(msg: &str) -> Option<Event> {
    // "Transition 3 action 7 (R_start_0 on N) confirmed: ok | rc=0 call-id=12"
    // "Transition 3 action 7 (R_monitor_10000 on N): expected 'ok' but got 'not running' | target-rc=0 rc=7 call-id=14 …"
    let (_, rest) = until(msg, " (")?;
    let (inner, rest) = until(rest, ")")?;
    let (key, node) = until(inner, " on ")?;
    let (rsc, task, interval) = split_key(key)?;
    let op = Op::from_task(task, interval);
    let (head, details) = xs(rest);
    let rc = field(details, "rc=").and_then(|v| v.parse().ok());
    let call = field(details, "call-id=").and_then(|v| v.parse().ok());
    if head == ": Cannot execute now" {
        return Some(Event::OpNotRun { node: node_name(node), rsc: rsc.to_string(), op });
    }
    let (ok, result) = if let Some(result) = after(head, " confirmed: ") {
        (true, result.to_string())
    } else if let Some(got) = head.split_once("but got '") {
        (false, got.1.trim_end_matches('\'').to_string())
    } else {
        return None;
    };
    Some(Event::OpResult { node: node_name(node), rsc: rsc.to_string(), op, call, rc, ok, result })
}

/// "Dec  1 22:54:20 2026" (ctime without the weekday, as the scheduler prints a failure's time).
fn ctime(s: &str) -> Option<Stamp> {
    let mut w = s.split_whitespace();
    let (mon, day, hms, year) = (w.next()?, w.next()?, w.next()?, w.next()?);
    let mon = time::month(mon.as_bytes())?;
    let day: u32 = day.parse().ok()?;
    let mut t = hms.split(':').map(|p| p.parse::<u32>().ok());
    let (h, mi, sec) = (t.next()??, t.next()??, t.next()??);
    Some(Stamp::new(year.parse().ok()?, mon, day, h, mi, sec, 0))
}

fn decision(msg: &str) -> Option<Event> {
    let text = xs(msg).0;
    let about = if let Some(rest) = text.strip_prefix("Scheduling node ").and_then(|r| r.strip_suffix(" for fencing")) {
        About::Node(node_name(rest)?)
    } else if let Some(rest) = ["Cluster node ", "Remote node ", "Guest node "].iter().find_map(|p| text.strip_prefix(p)) {
        let (node, how) = until(rest, " ")?;
        if !(how.starts_with("will be fenced") || how.starts_with("is unclean")) {
            return None;
        }
        About::Node(node_name(node)?)
    } else if text.starts_with("Unexpected result (") {
        // "Unexpected result (error: why) was recorded for stop of s on n2 at Dec  1 22:54:30 2026"
        let rest = &text[text.rfind(" was recorded for ")? + " was recorded for ".len()..];
        let (_, rest) = until(rest, " of ")?;
        let (rsc, rest) = until(rest, " on ")?;
        let (node, when) = until(rest, " at ")?;
        About::Failure { rsc: rsc.to_string(), node: node.to_string(), recorded: ctime(when) }
    } else if let Some(rest) = text.strip_prefix("Actions: ") {
        let words: Vec<String> = rest
            .split(|c: char| c.is_whitespace() || "()'".contains(c))
            .filter(|w| !w.is_empty() && *w != "->")
            .map(str::to_string)
            .collect();
        if words.first().is_none_or(|w| w == "Leave") {
            return None;
        }
        About::Actions(words)
    } else {
        return None;
    };
    Some(Event::Decision { text: text.split_whitespace().collect::<Vec<_>>().join(" "), about })
}

/// Whether `daemon` is the executor (the local one, the remote node's, or a pre-2.0 name).
fn is_executor(daemon: &[u8]) -> bool {
    matches!(daemon, b"pacemaker-execd" | b"pacemaker-remoted" | b"lrmd" | b"pacemaker_remoted")
}

/// The event a message tells, if any. `daemon` is the line's daemon name.
pub fn parse(daemon: &[u8], msg: &[u8]) -> Option<Event> {
    let first = *msg.first()?;
    // Cheap rejection first: most lines start with none of these letters.
    if !matches!(first, b'N' | b'O' | b'R' | b'P' | b'I' | b'T' | b'C' | b'S' | b'U' | b'A' | b'G' | b'D') && !is_executor(daemon) {
        return None;
    }
    let msg = std::str::from_utf8(msg).ok()?;
    if is_executor(daemon) {
        if let Some(rest) = after(msg, "executing - rsc:") {
            let (rsc, rest) = until(rest, " action:")?;
            let (task, _) = until(rest, " call_id:")?;
            return Some(Event::OpBegin { node: None, rsc: rsc.to_string(), op: Op::from_task(task, 0) });
        }
        if msg.contains(" (call ") {
            return execd(msg);
        }
        return None;
    }
    match first {
        b'N' => {
            let rest = after(msg, "Node ")?;
            let (node, state) = until(rest, " state is now ")?;
            let node = node_name(node)?;
            match state.split(' ').next()? {
                "lost" => Some(Event::NodeLost { node }),
                "member" => Some(Event::NodeMember { node }),
                _ => None,
            }
        }
        b'O' => {
            let rest = after(msg, "Our peer on the DC (")?;
            let (node, rest) = until(rest, ")")?;
            rest.starts_with(" is dead").then(|| node_name(node).map(|node| Event::NodeLost { node }))?
        }
        b'R' => {
            if let Some(rest) = after(msg, "Requesting fencing (") {
                let (action, rest) = until(rest, ") of node ")?;
                let target = node_name(xs(rest).0)?;
                return Some(Event::FenceRequested { target, action: action.to_string() });
            }
            if let Some(rest) = after(msg, "Requesting peer fencing (") {
                // The fencer that takes a request (also one forwarded by the target itself).
                let (action, rest) = until(rest, ") targeting ")?;
                let target = node_name(xs(rest).0)?;
                return Some(Event::FenceRequested { target, action: action.to_string() });
            }
            if let Some(rest) = after(msg, "Requesting local execution of ") {
                let (task, rest) = until(rest, " operation for ")?;
                let (rsc, rest) = until(rest, " on ")?;
                let node = node_name(xs(rest).0);
                return Some(Event::OpBegin { node, rsc: rsc.to_string(), op: Op::from_task(task, u64::from(task == "monitor")) });
            }
            if msg.starts_with("Result of fence operation") {
                return None;
            }
            result_of(msg)
        }
        b'P' => {
            // "Peer N was terminated (reboot) by X on behalf of C@O: OK | event=…"
            let rest = after(msg, "Peer ")?;
            let (target, rest) = until(rest, " was")?;
            let (ok, rest) = match rest.strip_prefix(" not") {
                Some(rest) => (false, rest),
                None => (true, rest),
            };
            let rest = after(rest, " terminated (")?;
            let (action, rest) = until(rest, ")")?;
            // "by <anyone>" when no device did it.
            let by = after(rest, " by ").and_then(|r| until(r, " ")).and_then(|(by, _)| node_name(by)).filter(|by| !by.starts_with('<'));
            let result = until(xs(rest).0, ": ").map_or("", |(_, r)| r.trim());
            Some(Event::FenceResult { target: node_name(target)?, action: action.to_string(), ok, result: result.to_string(), by })
        }
        b'I' => {
            // "Initiating start operation R_start_0 locally on N | action 7"
            let rest = after(msg, "Initiating ")?;
            let (_, rest) = until(rest, " operation ")?;
            let (key, rest) = until(rest, " ")?;
            let (rsc, task, interval) = split_key(key)?;
            let rest = rest.strip_prefix("locally ").unwrap_or(rest);
            let node = node_name(xs(after(rest, "on ")?).0.split(' ').next()?);
            Some(Event::OpBegin { node, rsc: rsc.to_string(), op: Op::from_task(task, interval) })
        }
        b'T' if msg.starts_with("Transition ") => transition(msg),
        b'S' if daemon == b"pacemakerd" && msg.starts_with("Starting Pacemaker ") => Some(Event::Restart),
        b'S' if msg.starts_with("State transition ") => {
            let (_, to) = until(xs(msg).0, " -> ")?;
            (to.trim() == "S_IDLE").then_some(Event::Idle)
        }
        b'D' => {
            // "Discarding attempt to perform action start on fd in state S_ELECTION (shutdown=false)"
            let rest = after(msg, "Discarding attempt to perform action ")?;
            let (task, rest) = until(rest, " on ")?;
            let (rsc, _) = until(rest, " in state ")?;
            Some(Event::OpNotRun { node: None, rsc: rsc.to_string(), op: Op::from_task(task, 0) })
        }
        _ => decision(msg),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(daemon: &str, msg: &str) -> Option<Event> {
        parse(daemon.as_bytes(), msg.as_bytes())
    }

    fn s(v: &str) -> String {
        v.to_string()
    }

    const CTL: &str = "pacemaker-controld";

    #[test]
    fn membership() {
        let lost = "Node n1 state is now lost | nodeid=1 previous=member source=crm_update_peer_proc";
        assert_eq!(ev("pacemaker-attrd", lost), Some(Event::NodeLost { node: s("n1") }));
        assert_eq!(
            ev(CTL, "Node n1 state is now member | nodeid=1 previous=lost source=pcmk_quorum_notification"),
            Some(Event::NodeMember { node: s("n1") })
        );
        assert_eq!(ev(CTL, "Our peer on the DC (n1) is dead"), Some(Event::NodeLost { node: s("n1") }));
        assert_eq!(ev(CTL, "Node (null) state is now lost | nodeid=3"), None);
        assert_eq!(ev(CTL, "Node n1[1] - expected state is now down (was member)"), None);
    }

    #[test]
    fn fencing() {
        assert_eq!(
            ev(CTL, "Requesting fencing (reboot) of node n1 | action=3 timeout=60000"),
            Some(Event::FenceRequested { target: s("n1"), action: s("reboot") })
        );
        assert_eq!(
            ev(CTL, "Peer n1 was terminated (reboot) by n2 on behalf of pacemaker-controld.123@n2: OK | event=0a1b"),
            Some(Event::FenceResult { target: s("n1"), action: s("reboot"), ok: true, result: s("OK"), by: Some(s("n2")) })
        );
        assert_eq!(
            ev(CTL, "Peer n1 was not terminated (off) by <anyone> on behalf of pacemaker-controld.123@n2: No such device | event=0a1b"),
            Some(Event::FenceResult { target: s("n1"), action: s("off"), ok: false, result: s("No such device"), by: None })
        );
        assert_eq!(ev(CTL, "Result of fence operation 5: 0 (OK) | key=3:7:0:abc"), None);
        assert_eq!(
            ev("pacemaker-fenced", "Requesting peer fencing (reboot) targeting n1 | id=266c618b state=querying base_timeout=60"),
            Some(Event::FenceRequested { target: s("n1"), action: s("reboot") })
        );
        assert_eq!(ev("pacemakerd", "Starting Pacemaker 2.1.5 | build=a3f44794f94 features:agent-manpages"), Some(Event::Restart));
        assert_eq!(ev(CTL, "Starting Pacemaker 2.1.5"), None);
    }

    #[test]
    fn actions_begin() {
        assert_eq!(
            ev(CTL, "Initiating start operation my_rsc_start_0 locally on n2 | action 7"),
            Some(Event::OpBegin { node: Some(s("n2")), rsc: s("my_rsc"), op: Op::Start })
        );
        assert_eq!(
            ev(CTL, "Initiating stop operation vip_stop_0 on n1 | action 3"),
            Some(Event::OpBegin { node: Some(s("n1")), rsc: s("vip"), op: Op::Stop })
        );
        assert_eq!(
            ev(CTL, "Initiating monitor operation vip_monitor_10000 on n1 | action 4"),
            Some(Event::OpBegin { node: Some(s("n1")), rsc: s("vip"), op: Op::Monitor })
        );
        assert_eq!(
            ev(
                CTL,
                "Requesting local execution of promote operation for booster on n2 | transition_key=9:4:0:abc op_key=booster_promote_0"
            ),
            Some(Event::OpBegin { node: Some(s("n2")), rsc: s("booster"), op: Op::Promote })
        );
        assert_eq!(
            ev("pacemaker-execd", "executing - rsc:dummy action:stop call_id:31"),
            Some(Event::OpBegin { node: None, rsc: s("dummy"), op: Op::Stop })
        );
    }

    #[test]
    fn executor_records() {
        assert_eq!(
            ev("pacemaker-execd", "dummy start (call 12, PID 3456) exited with status 0 (execution time 24ms)"),
            Some(Event::OpExec { rsc: s("dummy"), op: Op::Start, call: 12, rc: Some(0), exec_ms: Some(24) })
        );
        assert_eq!(
            ev(
                "pacemaker-execd",
                "warp stop (call 40, PID 77) exited with status 1 (stop failed (see log)) (execution time 1m 2.5s after being queued 3ms)"
            ),
            Some(Event::OpExec { rsc: s("warp"), op: Op::Stop, call: 40, rc: Some(1), exec_ms: Some(62_500) })
        );
        assert_eq!(
            ev("pacemaker-execd", "warp start (call 41) could not be executed: Timed Out (execution time 20s)"),
            Some(Event::OpExec { rsc: s("warp"), op: Op::Start, call: 41, rc: None, exec_ms: Some(20_000) })
        );
        assert_eq!(ev("pacemaker-execd", "Client pacemaker-controld.1 (call 3) disconnected"), None);
        assert_eq!(ev(CTL, "dummy start (call 12, PID 3456) exited with status 0 (execution time 24ms)"), None);
    }

    #[test]
    fn results_on_the_node() {
        assert_eq!(
            ev(
                CTL,
                "Result of start operation for dummy on n2: ok | CIB update 45, graph action confirmed; call=12 key=dummy_start_0 rc=0"
            ),
            Some(Event::OpResult {
                node: Some(s("n2")),
                rsc: s("dummy"),
                op: Op::Start,
                call: Some(12),
                rc: Some(0),
                ok: true,
                result: s("ok")
            })
        );
        assert_eq!(
            ev(CTL, "Result of monitor operation for dummy on n2: not running (No process state file found) | graph action unconfirmed; call=14 key=dummy_monitor_10000 rc=7"),
            Some(Event::OpResult {
                node: Some(s("n2")),
                rsc: s("dummy"),
                op: Op::Monitor,
                call: Some(14),
                rc: Some(7),
                ok: false,
                result: s("not running (No process state file found)")
            })
        );
        assert_eq!(
            ev(CTL, "Result of monitor operation for dummy on n2: Cancelled | call=14 key=dummy_monitor_10000 confirmed=true"),
            Some(Event::OpResult {
                node: Some(s("n2")),
                rsc: s("dummy"),
                op: Op::Monitor,
                call: Some(14),
                rc: None,
                ok: true,
                result: s("Cancelled")
            })
        );
        assert_eq!(
            ev(CTL, "Result of probe operation for dummy on n2: not running | CIB update 9, graph action confirmed; call=5 key=dummy_monitor_0 rc=7"),
            Some(Event::OpResult { node: Some(s("n2")), rsc: s("dummy"), op: Op::Probe, call: Some(5), rc: Some(7), ok: true, result: s("not running") })
        );
        assert_eq!(
            ev(CTL, "Result of stop operation for warp on n1: Timed Out after 20s (pid 7 survived) | graph action confirmed; call=40 key=warp_stop_0"),
            Some(Event::OpResult { node: Some(s("n1")), rsc: s("warp"), op: Op::Stop, call: Some(40), rc: None, ok: false, result: s("Timed Out after 20s (pid 7 survived)") })
        );
    }

    #[test]
    fn results_on_the_dc() {
        assert_eq!(
            ev(CTL, "Transition 3 action 7 (dummy_start_0 on n1) confirmed: ok | rc=0 call-id=12"),
            Some(Event::OpResult {
                node: Some(s("n1")),
                rsc: s("dummy"),
                op: Op::Start,
                call: Some(12),
                rc: Some(0),
                ok: true,
                result: s("ok")
            })
        );
        assert_eq!(
            ev(CTL, "Transition 2 action 9 (dummy_monitor_10000 on n1): expected 'ok' but got 'not running' | target-rc=0 rc=7 call-id=14 event='arrived after initial scheduling'"),
            Some(Event::OpResult { node: Some(s("n1")), rsc: s("dummy"), op: Op::Monitor, call: Some(14), rc: Some(7), ok: false, result: s("not running") })
        );
        assert_eq!(ev(CTL, "Transition 4 action 2 (dummy_stop_0 on n1): arrived late | rc=0 target-rc=0 call-id=9"), None);
        assert_eq!(ev(CTL, "Transition 4 (Complete=6, Pending=0, Fired=0, Skipped=0, Incomplete=0, Source=/var/lib/pacemaker/pengine/pe-input-4.bz2): Complete"), None);
    }

    #[test]
    fn scheduler_decisions() {
        for msg in [
            "Cluster node n1 will be fenced: peer is no longer part of the cluster",
            "Cluster node n1 is unclean: peer is no longer part of the cluster",
            "Scheduling node n1 for fencing",
            "Unexpected result (not running) was recorded for monitor of dummy on n2 at Dec  1 22:14:05 2025 | rc=7 id=dummy_last_failure_0",
            "Actions: Move       dummy     ( n1 -> n2 )",
        ] {
            assert!(matches!(ev("pacemaker-schedulerd", msg), Some(Event::Decision { .. })), "{msg}");
        }
        assert_eq!(ev("pacemaker-schedulerd", "Actions: Leave   dummy ( n2 )"), None);
        assert_eq!(ev("pacemaker-schedulerd", "Calculated transition 4, saving inputs in /var/lib/pacemaker/pengine/pe-input-4.bz2"), None);
    }

    #[test]
    fn what_decisions_are_about() {
        let about = |msg: &str| match ev("pacemaker-schedulerd", msg) {
            Some(Event::Decision { about, .. }) => Some(about),
            _ => None,
        };
        assert_eq!(about("Cluster node n2 will be fenced: s failed there"), Some(About::Node(s("n2"))));
        assert_eq!(about("Scheduling node n2 for fencing"), Some(About::Node(s("n2"))));
        assert_eq!(
            about("Unexpected result (error: odd (was recorded for x)) was recorded for stop of s on n2 at Dec  1 22:54:30 2026 | rc=1 id=s_last_0"),
            Some(About::Failure { rsc: s("s"), node: s("n2"), recorded: Some(crate::time::Stamp::new(2026, 12, 1, 22, 54, 30, 0)) })
        );
        assert_eq!(
            about("Actions: Move       fd            ( n2 -> n1 )"),
            Some(About::Actions(vec![s("Move"), s("fd"), s("n2"), s("n1")]))
        );
        assert_eq!(
            about("Actions: Fence (reboot) n2 's failed there'"),
            Some(About::Actions(vec![s("Fence"), s("reboot"), s("n2"), s("s"), s("failed"), s("there")]))
        );
        assert_eq!(about("Cluster node n2 is now lost (was member)"), None);
    }

    #[test]
    fn actions_that_never_ran_and_injected_failures() {
        assert_eq!(
            ev(CTL, "Discarding attempt to perform action start on fd in state S_ELECTION (shutdown=false)"),
            Some(Event::OpNotRun { node: None, rsc: s("fd"), op: Op::Start })
        );
        assert_eq!(
            ev(CTL, "Transition 14 action 9 (fd_start_0 on n2): Cannot execute now"),
            Some(Event::OpNotRun { node: Some(s("n2")), rsc: s("fd"), op: Op::Start })
        );
        assert_eq!(
            ev(CTL, "Result of asyncmon operation for d on n1: error (Simulated failure) | CIB update 62, graph action unconfirmed; call=18 key=d_asyncmon_0 rc=1"),
            Some(Event::OpResult { node: Some(s("n1")), rsc: s("d"), op: Op::Reported, call: Some(18), rc: Some(1), ok: false, result: s("error (Simulated failure)") })
        );
    }

    #[test]
    fn the_dc_going_idle() {
        assert_eq!(
            ev(CTL, "State transition S_TRANSITION_ENGINE -> S_IDLE | input=I_TE_SUCCESS cause=C_FSA_INTERNAL origin=notify_crmd"),
            Some(Event::Idle)
        );
        assert_eq!(
            ev(CTL, "State transition S_IDLE -> S_POLICY_ENGINE | input=I_PE_CALC cause=C_FSA_INTERNAL origin=abort_transition_graph"),
            None
        );
    }

    #[test]
    fn keys_and_intervals() {
        assert_eq!(split_key("my_rsc_monitor_10000"), Some(("my_rsc", "monitor", 10_000)));
        assert_eq!(split_key("vm_migrate_to_0"), Some(("vm", "migrate_to", 0)));
        assert_eq!(split_key("_start_0"), None);
        assert_eq!(split_key("start"), None);
        for (text, ms) in [
            ("0s", 0),
            ("24ms", 24),
            ("1000ms", 1000),
            ("2s", 2000),
            ("1.5s", 1500),
            ("1.250s", 1250),
            ("1m 2s", 62_000),
            ("1h2m", 3_720_000),
            ("1d", 86_400_000),
        ] {
            assert_eq!(readable_interval(text), Some(ms), "{text}");
        }
        for bad in ["", "12", "1x", "s", "ms2", "1.5"] {
            assert_eq!(readable_interval(bad), None, "{bad}");
        }
    }

    #[test]
    fn anything_else_is_nothing() {
        for msg in ["", "Node", "Peer", "Result of", "Initiating x", "Transition", "Requesting fencing (", "Our peer on the DC (n1"] {
            assert_eq!(ev(CTL, msg), None, "{msg:?}");
        }
        assert_eq!(parse(CTL.as_bytes(), &[b'N', 0xff, 0xfe]), None);
    }
}
