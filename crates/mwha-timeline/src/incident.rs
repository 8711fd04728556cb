//! Events in time order → incidents.
//!
//! An incident opens at its first sign: a node lost, a recurring monitor that failed, a stop (or
//! start, promote, demote) that failed, or fencing. t=0 is that sign (for a failed action, the
//! moment the action began). Everything that follows joins it: fencing, every stop, start,
//! promote and demote (with the node, the result and the duration), more signs. It closes when
//! the DC goes idle after it (`-> S_IDLE`: nothing left to do), or when nothing has happened for
//! `gap` and no action of it is still running (a log without the DC's lines), or when a node
//! rejoins after the incident's resources have started again, or when Pacemaker starts again on
//! the only node whose log told it. Actions on a node that is lost, fenced or restarted get no
//! result. Actions outside incidents are forgotten once they succeed; only the begin of an action
//! still running is kept, so that a stop that fails can date the incident from its start.
//!
//! The same fact is usually logged several times (by the node that ran the action, by the DC,
//! by every daemon for a membership change, once per log when logs of several nodes are merged);
//! each becomes one step, and the logs that told it are listed in `seen_by`.

use std::collections::HashMap;

use crate::event::{About, Event, Op};
use crate::time::Stamp;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    NodeLost,
    Fence,
    MonitorFailed,
    /// A failure reported with `crm_resource --fail` (the crash watcher, or an admin).
    FailureReported,
    Stop,
    Start,
    Promote,
    Demote,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::NodeLost => "node-lost",
            Kind::Fence => "fence",
            Kind::MonitorFailed => "monitor-failed",
            Kind::FailureReported => "failure-reported",
            Kind::Stop => "stop",
            Kind::Start => "start",
            Kind::Promote => "promote",
            Kind::Demote => "demote",
        }
    }

    fn of(op: Op) -> Option<Kind> {
        Some(match op {
            Op::Start => Kind::Start,
            Op::Stop => Kind::Stop,
            Op::Promote => Kind::Promote,
            Op::Demote => Kind::Demote,
            _ => return None,
        })
    }

    /// Kinds that run for a while and end with a result.
    fn has_end(self) -> bool {
        !matches!(self, Kind::NodeLost | Kind::MonitorFailed | Kind::FailureReported)
    }
}

/// Where a step's duration comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DurationSource {
    /// The executor's "execution time" (the agent's own run time).
    Executor,
    /// The CIB operation history's exec-time.
    Cib,
    /// From the first line that began the action to the first that gave its result.
    Log,
}

#[derive(Debug, Clone)]
pub struct Step {
    pub at: Stamp,
    /// When the result was logged (fencing done, action result); `None` while running.
    pub end: Option<Stamp>,
    /// The node the step is about: the lost or fenced node, or the node that ran the action.
    pub node: String,
    pub kind: Kind,
    pub resource: Option<String>,
    pub rc: Option<i32>,
    pub ok: Option<bool>,
    /// Pacemaker's words for the result ("ok", "not running", "Timed Out after 20s", "OK"…).
    pub result: Option<String>,
    pub exec_ms: Option<i64>,
    pub exec_source: Option<DurationSource>,
    pub call: Option<u32>,
    /// Fencing action (reboot, off).
    pub action: Option<String>,
    /// Fencing: the node whose device did it.
    pub by: Option<String>,
    /// The nodes whose logs told this step.
    pub seen_by: Vec<String>,
    /// False when only the result was seen (its begin is then unknown, unless the executor's
    /// execution time dates it).
    pub begin_seen: bool,
    /// The node was lost (or restarted) while the action ran: no result will come.
    pub lost: bool,
}

impl Step {
    fn new(at: Stamp, node: &str, kind: Kind, resource: Option<&str>, host: &str) -> Step {
        Step {
            at,
            end: None,
            node: node.to_string(),
            kind,
            resource: resource.map(str::to_string),
            rc: None,
            ok: None,
            result: None,
            exec_ms: None,
            exec_source: None,
            call: None,
            action: None,
            by: None,
            seen_by: vec![host.to_string()],
            begin_seen: true,
            lost: false,
        }
    }

    pub fn is_open(&self) -> bool {
        self.kind.has_end() && self.end.is_none() && !self.lost
    }

    pub fn duration_ms(&self) -> Option<i64> {
        self.exec_ms.or_else(|| self.end.filter(|_| self.begin_seen).map(|e| e.ms_since(self.at)))
    }

    pub fn duration_source(&self) -> Option<DurationSource> {
        match (self.exec_ms, self.end) {
            (Some(_), _) => self.exec_source,
            (None, Some(_)) if self.begin_seen => Some(DurationSource::Log),
            _ => None,
        }
    }

    fn seen(&mut self, host: &str) {
        if !self.seen_by.iter().any(|h| h == host) {
            self.seen_by.push(host.to_string());
        }
    }

    fn set_exec(&mut self, exec_ms: Option<i64>) {
        if self.exec_ms.is_none() && exec_ms.is_some() {
            self.exec_ms = exec_ms;
            self.exec_source = Some(DurationSource::Executor);
        }
    }

    fn is(&self, node: &str, kind: Kind, resource: &str) -> bool {
        self.kind == kind && self.node == node && self.resource.as_deref() == Some(resource)
    }
}

#[derive(Debug, Clone)]
pub struct Incident {
    /// A fault time given on the command line (`--fault`), when it matched this incident.
    pub fault: Option<Stamp>,
    /// The first sign in the logs.
    pub first_sign: Stamp,
    /// `steps[0]` is the first sign.
    pub steps: Vec<Step>,
    /// When the cluster's scheduler first acted on it, and what it said.
    pub detected: Option<(Stamp, String)>,
    pub last_activity: Stamp,
}

impl Incident {
    /// t=0: the given fault time, else the first sign.
    pub fn t0(&self) -> Stamp {
        self.fault.unwrap_or(self.first_sign)
    }

    /// The detection: the scheduler's first decision, else (a log without the DC's scheduler)
    /// the first fencing request or action after the first sign.
    /// The detection: the scheduler's first decision about the incident, or the first action
    /// taken (fencing, stop, start…) if that came earlier (a log without the DC's scheduler).
    pub fn detection(&self) -> Option<(Stamp, String)> {
        let action = self
            .steps
            .iter()
            .skip(1)
            .filter(|s| s.kind.has_end() && s.at >= self.first_sign)
            .min_by_key(|s| s.at)
            .map(|s| (s.at, format!("first action: {} {}", s.kind.name(), s.resource.as_deref().unwrap_or(&s.node))));
        match (self.detected.clone(), action) {
            (Some(d), Some(a)) => Some(if a.0 < d.0 { a } else { d }),
            (d, a) => d.or(a),
        }
    }

    /// Marks the actions still running on `node` as never to finish.
    fn lose(&mut self, node: &str) {
        for s in &mut self.steps {
            if s.node == node && s.resource.is_some() && s.is_open() {
                s.lost = true;
            }
        }
    }

    fn touch(&mut self, at: Stamp) {
        self.last_activity = self.last_activity.max(at);
    }

    fn find(&mut self, pred: impl Fn(&Step) -> bool) -> Option<&mut Step> {
        self.steps.iter_mut().rev().find(|s| pred(s))
    }

    /// The step an executor line on `host` is about: the one on that node (by call ID, or still
    /// running), else the only candidate on any node (when the host name is not the node name).
    fn local_step(&mut self, host: &str, kind: Kind, rsc: &str, call: Option<u32>) -> Option<&mut Step> {
        let fits = |s: &Step| match (call, s.call) {
            (Some(c), Some(sc)) => c == sc,
            _ => s.end.is_none(),
        };
        let here = self.steps.iter().rposition(|s| s.is(host, kind, rsc) && fits(s));
        let index = here.or_else(|| {
            let mut others = self.steps.iter().enumerate().filter(|(_, s)| s.kind == kind && s.resource.as_deref() == Some(rsc) && fits(s));
            match (others.next(), others.next()) {
                (Some((i, _)), None) => Some(i),
                _ => None,
            }
        })?;
        self.steps.get_mut(index)
    }
}

/// Whether a scheduler decision is about this incident (the scheduler repeats older failures in
/// every run until they are cleaned up).
fn concerns(inc: &Incident, about: &About) -> bool {
    let names_rsc = |r: &str| inc.steps.iter().any(|s| s.resource.as_deref() == Some(r));
    let names_node = |n: &str| inc.steps.iter().any(|s| s.node == n);
    match about {
        About::Node(node) => names_node(node),
        // Recorded to the second, when the failed action began or ended.
        About::Failure { rsc, recorded, .. } => names_rsc(rsc) && recorded.is_none_or(|r| r.0 + 2000 > inc.first_sign.0),
        About::Actions(words) => {
            inc.steps.iter().any(|s| matches!(s.kind, Kind::NodeLost | Kind::Fence))
                || words.iter().skip(1).any(|w| names_rsc(w) || names_node(w))
        }
    }
}

/// No incident waits longer than this for an action's result that never comes.
const STALE_MS: i64 = 15 * 60 * 1000;
/// A repeated report of a result within this time is the same result.
const SAME_MS: i64 = 5_000;
/// Bound on remembered actions outside incidents (a log with results missing).
const MAX_REMEMBERED: usize = 100_000;

pub struct Builder {
    gap_ms: i64,
    fault: Option<Stamp>,
    current: Option<Incident>,
    /// Begin of actions outside incidents that have no result yet: (node, resource, op).
    pending: HashMap<(String, String, Op), Stamp>,
    /// Executor records waiting for the controller's result line: (log's host, resource, call).
    exec: HashMap<(String, String, u32), Option<i64>>,
}

impl Builder {
    /// `gap_ms`: quiet time that ends an incident. `fault`: t=0 of the first incident whose
    /// first sign follows it within the gap (or a minute).
    pub fn new(gap_ms: i64, fault: Option<Stamp>) -> Builder {
        Builder { gap_ms, fault, current: None, pending: HashMap::new(), exec: HashMap::new() }
    }

    /// The incident still open, if any (at the end of the logs).
    pub fn finish(&mut self) -> Option<Incident> {
        self.current.take()
    }

    fn open(&mut self, first_sign: Stamp, now: Stamp, step: Step) {
        let window = self.gap_ms.max(60_000);
        let fault = self.fault.filter(|f| *f <= first_sign && first_sign.ms_since(*f) <= window);
        if fault.is_some() || self.fault.is_some_and(|f| first_sign.ms_since(f) > window) {
            self.fault = None;
        }
        self.current = Some(Incident { fault, first_sign, steps: vec![step], detected: None, last_activity: now });
    }

    fn close_if_quiet(&mut self, at: Stamp) -> Option<Incident> {
        let inc = self.current.as_ref()?;
        let quiet = at.ms_since(inc.last_activity);
        let running = inc.steps.iter().any(Step::is_open);
        (quiet > self.gap_ms && (!running || quiet > STALE_MS)).then(|| self.current.take()).flatten()
    }

    /// Takes one event (logged at `at` by node `host`); returns an incident that this event
    /// showed to be over.
    pub fn feed(&mut self, at: Stamp, host: &str, event: Event) -> Option<Incident> {
        let closed = self.close_if_quiet(at);
        if self.pending.len() > MAX_REMEMBERED {
            self.pending.clear();
        }
        if self.exec.len() > MAX_REMEMBERED {
            self.exec.clear();
        }
        match event {
            Event::NodeLost { node } => match &mut self.current {
                Some(inc) => {
                    if let Some(step) = inc.find(|s| s.kind == Kind::NodeLost && s.node == node) {
                        step.seen(host);
                    } else {
                        inc.steps.push(Step::new(at, &node, Kind::NodeLost, None, host));
                    }
                    inc.lose(&node);
                    inc.touch(at);
                }
                None => self.open(at, at, Step::new(at, &node, Kind::NodeLost, None, host)),
            },
            Event::Restart => {
                // Pacemaker starts again on the log's node: what ran there is gone. An incident
                // that only this log told (no other node's log at hand) ends here.
                if let Some(inc) = &mut self.current {
                    inc.lose(host);
                    let alone = inc.steps.iter().all(|s| s.seen_by.iter().all(|h| h == host));
                    if alone && !inc.steps.iter().any(Step::is_open) && closed.is_none() {
                        return self.current.take();
                    }
                }
                self.pending.retain(|(node, _, _), _| node != host);
            }
            Event::Idle => {
                // The DC has finished the recovery: the incident is over (a failure right after
                // is another one).
                let done = self
                    .current
                    .as_ref()
                    .is_some_and(|inc| inc.steps.iter().any(|s| s.end.is_some()) && !inc.steps.iter().any(Step::is_open));
                if done && closed.is_none() {
                    return self.current.take();
                }
            }
            Event::NodeMember { .. } => {
                let recovered = self.current.as_ref().is_some_and(|inc| {
                    inc.steps.iter().any(|s| s.kind == Kind::Start && s.ok == Some(true)) && !inc.steps.iter().any(Step::is_open)
                });
                if recovered && closed.is_none() {
                    return self.current.take();
                }
            }
            Event::FenceRequested { target, action } => {
                let mut step = Step::new(at, &target, Kind::Fence, None, host);
                step.action = Some(action);
                match &mut self.current {
                    Some(inc) => {
                        if let Some(open) = inc.find(|s| s.kind == Kind::Fence && s.node == target && s.end.is_none()) {
                            open.seen(host);
                        } else {
                            inc.steps.push(step);
                        }
                        inc.touch(at);
                    }
                    None => self.open(at, at, step),
                }
            }
            Event::FenceResult { target, action, ok, result, by } => {
                let complete = |s: &mut Step| {
                    s.end = Some(at);
                    s.ok = Some(ok);
                    s.result = Some(result.clone());
                    s.by = by.clone();
                    s.action.get_or_insert_with(|| action.clone());
                    s.seen(host);
                };
                match &mut self.current {
                    Some(inc) => {
                        if let Some(open) = inc.find(|s| s.kind == Kind::Fence && s.node == target && s.end.is_none()) {
                            complete(open);
                        } else if let Some(done) =
                            inc.find(|s| s.kind == Kind::Fence && s.node == target && s.end.is_some_and(|e| at.ms_since(e) <= SAME_MS))
                        {
                            done.seen(host);
                        } else {
                            let mut step = Step::new(at, &target, Kind::Fence, None, host);
                            complete(&mut step);
                            step.begin_seen = false;
                            inc.steps.push(step);
                        }
                        if ok {
                            inc.lose(&target);
                        }
                        inc.touch(at);
                    }
                    None => {
                        let mut step = Step::new(at, &target, Kind::Fence, None, host);
                        complete(&mut step);
                        step.begin_seen = false;
                        self.open(at, at, step);
                    }
                }
            }
            Event::OpBegin { node, rsc, op } => {
                let Some(kind) = Kind::of(op) else { return closed };
                let local = node.is_none();
                let node = node.unwrap_or_else(|| host.to_string());
                match &mut self.current {
                    Some(inc) => {
                        // The executor's line names no node: it only adds to a step the
                        // controller's lines made (the log's host name may not be the node name).
                        let found = if local {
                            inc.local_step(host, kind, &rsc, None)
                        } else {
                            inc.find(|s| s.is(&node, kind, &rsc) && s.end.is_none())
                        };
                        if let Some(open) = found {
                            open.at = open.at.min(at);
                            open.seen(host);
                        } else if !local {
                            inc.steps.push(Step::new(at, &node, kind, Some(&rsc), host));
                        }
                        inc.touch(at);
                    }
                    None => {
                        let begin = self.pending.entry((node, rsc, op)).or_insert(at);
                        if at.ms_since(*begin) > STALE_MS {
                            *begin = at;
                        }
                    }
                }
            }
            Event::OpExec { rsc, op, call, rc: _, exec_ms } => {
                let Some(kind) = Kind::of(op) else { return closed };
                if let Some(inc) = &mut self.current {
                    if let Some(step) = inc.local_step(host, kind, &rsc, Some(call)) {
                        step.call = Some(call);
                        step.set_exec(exec_ms);
                        step.seen(host);
                        inc.touch(at);
                        return closed;
                    }
                }
                // For the controller's result line, logged next on the same host.
                self.exec.insert((host.to_string(), rsc, call), exec_ms);
            }
            Event::OpResult { node, rsc, op, call, rc, ok, result } => {
                let node = node.unwrap_or_else(|| host.to_string());
                let exec_ms = call.and_then(|c| self.exec.remove(&(host.to_string(), rsc.clone(), c))).flatten();
                if matches!(op, Op::Monitor | Op::Reported) {
                    if !ok {
                        let kind = if op == Op::Reported { Kind::FailureReported } else { Kind::MonitorFailed };
                        self.monitor_failed(at, host, kind, node, rsc, call, rc, result);
                    }
                    return closed;
                }
                let Some(kind) = Kind::of(op) else { return closed };
                let complete = |s: &mut Step| {
                    if s.end.is_none() {
                        s.end = Some(at);
                        s.rc = rc;
                        s.ok = Some(ok);
                        s.result = Some(result.clone());
                    }
                    s.rc = s.rc.or(rc);
                    s.call = s.call.or(call);
                    s.set_exec(exec_ms);
                    s.seen(host);
                };
                match &mut self.current {
                    Some(inc) => {
                        let by_call = |s: &Step| s.is(&node, kind, &rsc) && call.is_some() && s.call == call;
                        if let Some(step) = inc.find(by_call) {
                            complete(step);
                        } else if let Some(step) = inc.find(|s| s.is(&node, kind, &rsc) && s.end.is_none()) {
                            complete(step);
                        } else if let Some(step) =
                            inc.find(|s| s.is(&node, kind, &rsc) && call.is_none() && s.end.is_some_and(|e| at.ms_since(e) <= SAME_MS))
                        {
                            step.seen(host);
                        } else {
                            let begin = self.pending.remove(&(node.clone(), rsc.clone(), op)).filter(|b| *b >= inc.first_sign);
                            let start = begin.or_else(|| exec_ms.map(|ms| Stamp(at.0 - ms)));
                            let mut step = Step::new(start.unwrap_or(at), &node, kind, Some(&rsc), host);
                            step.begin_seen = start.is_some();
                            complete(&mut step);
                            inc.steps.push(step);
                        }
                        inc.touch(at);
                    }
                    None => {
                        let begin = self.pending.remove(&(node.clone(), rsc.clone(), op)).filter(|b| at.ms_since(*b) <= STALE_MS);
                        if !ok {
                            let start = begin.or_else(|| exec_ms.map(|ms| Stamp(at.0 - ms)));
                            let mut step = Step::new(start.unwrap_or(at), &node, kind, Some(&rsc), host);
                            step.begin_seen = start.is_some();
                            complete(&mut step);
                            self.open(start.unwrap_or(at), at, step);
                        }
                    }
                }
            }
            Event::OpNotRun { node, rsc, op } => {
                let Some(kind) = Kind::of(op) else { return closed };
                let node = node.unwrap_or_else(|| host.to_string());
                match &mut self.current {
                    Some(inc) => {
                        let never_ran = inc
                            .steps
                            .iter()
                            .enumerate()
                            .rev()
                            .find(|(i, s)| *i > 0 && s.is(&node, kind, &rsc) && s.end.is_none() && s.exec_ms.is_none());
                        if let Some((i, _)) = never_ran {
                            inc.steps.remove(i);
                        }
                    }
                    None => {
                        self.pending.remove(&(node, rsc, op));
                    }
                }
            }
            Event::Decision { text, about } => {
                if let Some(inc) = &mut self.current {
                    if inc.detected.is_none() && at >= inc.first_sign && concerns(inc, &about) {
                        inc.detected = Some((at, text));
                        inc.touch(at);
                    }
                }
            }
        }
        closed
    }

    #[allow(clippy::too_many_arguments)]
    fn monitor_failed(
        &mut self,
        at: Stamp,
        host: &str,
        kind: Kind,
        node: String,
        rsc: String,
        call: Option<u32>,
        rc: Option<i32>,
        result: String,
    ) {
        let mut step = Step::new(at, &node, kind, Some(&rsc), host);
        step.call = call;
        step.rc = rc;
        step.ok = Some(false);
        step.result = Some(result);
        match &mut self.current {
            Some(inc) => {
                let same = |s: &Step| {
                    s.is(&node, kind, &rsc)
                        && match (call, s.call) {
                            (Some(a), Some(b)) => a == b,
                            _ => at.ms_since(s.at) <= SAME_MS,
                        }
                };
                if let Some(seen) = inc.find(same) {
                    seen.seen(host);
                    seen.rc = seen.rc.or(rc);
                    seen.call = seen.call.or(call);
                } else {
                    inc.steps.push(step);
                }
                inc.touch(at);
            }
            None => self.open(at, at, step),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::line::{self, YearRef};

    /// Runs detail-log lines (`"22:14:05.123 n2 pacemaker-controld notice: message"`, the
    /// date and the rest of the prefix added) through the parsers and the builder.
    pub fn incidents(lines: &[&str], gap_ms: i64, fault: Option<Stamp>) -> Vec<Incident> {
        let mut b = Builder::new(gap_ms, fault);
        let mut out = Vec::new();
        for l in lines {
            let mut parts = l.splitn(4, ' ');
            let (ts, host, daemon, rest) = (parts.next().unwrap(), parts.next().unwrap(), parts.next().unwrap(), parts.next().unwrap());
            let (prio, msg) = rest.split_once(": ").unwrap();
            let full = format!("Dec 01 {ts} {host} {daemon:<20}[1] (f) \t{prio}: {msg}");
            let h = line::parse(full.as_bytes(), YearRef((2025, 12, 31))).expect(l);
            if let Some(ev) = crate::event::parse(&full.as_bytes()[h.daemon.clone()], &full.as_bytes()[h.msg.clone()]) {
                out.extend(b.feed(h.at, &full[h.host.clone()], ev));
            }
        }
        out.extend(b.finish());
        out
    }

    pub fn at(ts: &str) -> Stamp {
        crate::time::parse_cli(&format!("2025-12-01 {ts}")).unwrap()
    }

    fn row(inc: &Incident, s: &Step) -> String {
        format!(
            "{} {} {} {} {} {}",
            s.at.ms_since(inc.t0()),
            s.node,
            s.kind.name(),
            s.resource.as_deref().unwrap_or("-"),
            s.result.as_deref().unwrap_or("-"),
            s.duration_ms().map_or("-".to_string(), |d| d.to_string())
        )
    }

    fn rows(inc: &Incident) -> Vec<String> {
        inc.steps.iter().map(|s| row(inc, s)).collect()
    }

    const CRASH: &[&str] = &[
        // A normal start long before: not an incident.
        "22:00:00.000 n1 pacemaker-controld notice: Initiating start operation d_start_0 locally on n1 | action 5",
        "22:00:00.020 n1 pacemaker-controld notice: Result of start operation for d on n1: ok | CIB update 9, graph action confirmed; call=10 key=d_start_0 rc=0",
        // n1 (the DC) crashes.
        "22:14:05.100 n2 pacemaker-attrd notice: Node n1 state is now lost | nodeid=1 previous=member source=crm_update_peer_proc",
        "22:14:05.101 n2 pacemaker-controld notice: Our peer on the DC (n1) is dead",
        "22:14:05.102 n2 pacemaker-controld notice: Node n1 state is now lost | nodeid=1 previous=member source=crm_reconnect_lrm",
        "22:14:07.200 n2 pacemaker-schedulerd warning: Cluster node n1 will be fenced: peer is no longer part of the cluster",
        "22:14:07.201 n2 pacemaker-schedulerd notice: Actions: Fence (reboot) n1 'peer is no longer part of the cluster'",
        "22:14:07.205 n2 pacemaker-controld notice: Requesting fencing (reboot) of node n1 | action=1 timeout=60000",
        "22:14:08.400 n2 pacemaker-controld notice: Peer n1 was terminated (reboot) by n2 on behalf of pacemaker-controld.77@n2: OK | event=abc",
        "22:14:08.410 n2 pacemaker-controld notice: Initiating start operation d_start_0 locally on n2 | action 6",
        "22:14:08.411 n2 pacemaker-controld notice: Requesting local execution of start operation for d on n2 | transition_key=6:1:0:x op_key=d_start_0",
        "22:14:08.412 n2 pacemaker-execd info: executing - rsc:d action:start call_id:20",
        "22:14:08.436 n2 pacemaker-execd info: d start (call 20, PID 999) exited with status 0 (execution time 24ms)",
        "22:14:08.437 n2 pacemaker-controld notice: Result of start operation for d on n2: ok | CIB update 30, graph action confirmed; call=20 key=d_start_0 rc=0",
        "22:14:08.440 n2 pacemaker-controld notice: Initiating start operation vip_start_0 locally on n2 | action 7",
        "22:14:08.520 n2 pacemaker-controld notice: Result of start operation for vip on n2: ok | CIB update 31, graph action confirmed; call=21 key=vip_start_0 rc=0",
        "22:14:08.521 n2 pacemaker-controld notice: Initiating monitor operation vip_monitor_10000 locally on n2 | action 8",
        // Later, n1 comes back: the incident is over.
        "22:14:20.000 n2 pacemaker-controld notice: Node n1 state is now member | nodeid=1 previous=lost source=pcmk_quorum_notification",
        "22:14:21.000 n2 pacemaker-controld notice: Initiating stop operation d_stop_0 locally on n2 | action 3",
        "22:14:21.010 n2 pacemaker-controld notice: Result of stop operation for d on n2: ok | CIB update 40, graph action confirmed; call=22 key=d_stop_0 rc=0",
    ];

    #[test]
    fn a_crashed_node_is_one_incident_from_loss_to_the_last_start() {
        let found = incidents(CRASH, 30_000, None);
        assert_eq!(found.len(), 1, "{found:#?}");
        let inc = &found[0];
        assert_eq!(inc.t0(), at("22:14:05.100"));
        assert_eq!(rows(inc), ["0 n1 node-lost - - -", "2105 n1 fence - OK 1195", "3310 n2 start d ok 24", "3340 n2 start vip ok 80"]);
        assert_eq!(inc.steps[0].seen_by, ["n2"]);
        assert_eq!(inc.steps[2].call, Some(20));
        assert_eq!(inc.steps[2].duration_source(), Some(DurationSource::Executor));
        assert_eq!(inc.steps[3].duration_source(), Some(DurationSource::Log));
        let (when, what) = inc.detection().unwrap();
        assert_eq!(
            (when.ms_since(inc.t0()), what.as_str()),
            (2100, "Cluster node n1 will be fenced: peer is no longer part of the cluster")
        );
    }

    #[test]
    fn a_given_fault_time_is_t0() {
        let found = incidents(CRASH, 30_000, Some(at("22:14:04.000")));
        assert_eq!(found[0].t0(), at("22:14:04.000"));
        assert_eq!(found[0].first_sign.ms_since(found[0].t0()), 1100);
        let found = incidents(CRASH, 30_000, Some(at("22:00:00.000")));
        assert_eq!(found[0].fault, None, "a fault long before the first sign is not this incident's");
    }

    #[test]
    fn the_same_result_from_the_node_and_the_dc_is_one_step() {
        let lines = [
            "10:00:00.000 n1 pacemaker-controld notice: Result of monitor operation for d on n2: not running | graph action unconfirmed; call=14 key=d_monitor_10000 rc=7",
            "10:00:00.010 n1 pacemaker-controld notice: Transition 2 action 9 (d_monitor_10000 on n2): expected 'ok' but got 'not running' | target-rc=0 rc=7 call-id=14 event='arrived after initial scheduling'",
            "10:00:00.030 n1 pacemaker-schedulerd warning: Unexpected result (not running) was recorded for monitor of d on n2 at Dec  1 10:00:00 2025 | rc=7 id=d_last_failure_0",
            "10:00:00.031 n1 pacemaker-schedulerd notice: Actions: Recover    d     ( n2 )",
            "10:00:00.040 n1 pacemaker-controld notice: Initiating stop operation d_stop_0 on n2 | action 2",
            "10:00:00.050 n2 pacemaker-controld notice: Requesting local execution of stop operation for d on n2 | transition_key=2:3:0:x op_key=d_stop_0",
            "10:00:00.070 n2 pacemaker-execd info: d stop (call 15, PID 5) exited with status 0 (execution time 15ms)",
            "10:00:00.071 n2 pacemaker-controld notice: Result of stop operation for d on n2: ok | CIB update 12, graph action confirmed; call=15 key=d_stop_0 rc=0",
            "10:00:00.080 n1 pacemaker-controld info: Transition 3 action 2 (d_stop_0 on n2) confirmed: ok | rc=0 call-id=15",
            "10:00:00.081 n1 pacemaker-controld notice: Initiating start operation d_start_0 on n2 | action 3",
            "10:00:00.130 n1 pacemaker-controld info: Transition 3 action 3 (d_start_0 on n2) confirmed: ok | rc=0 call-id=16",
        ];
        let found = incidents(&lines, 30_000, None);
        assert_eq!(found.len(), 1);
        let inc = &found[0];
        assert_eq!(rows(inc), ["0 n2 monitor-failed d not running -", "40 n2 stop d ok 15", "81 n2 start d ok 49"]);
        assert_eq!(inc.steps[0].seen_by, ["n1"]);
        assert_eq!(inc.steps[1].seen_by, ["n1", "n2"]);
        assert_eq!(inc.detection().unwrap().0.ms_since(inc.t0()), 30);
    }

    #[test]
    fn a_failed_stop_dates_the_incident_from_the_stops_begin() {
        let lines = [
            "10:00:00.000 n1 pacemaker-controld notice: Initiating stop operation w_stop_0 locally on n1 | action 2",
            "10:00:20.000 n1 pacemaker-execd info: w stop (call 40) could not be executed: Timed Out (execution time 20s)",
            "10:00:20.001 n1 pacemaker-controld error: Result of stop operation for w on n1: Timed Out after 20s | graph action confirmed; call=40 key=w_stop_0",
            "10:00:20.100 n1 pacemaker-schedulerd warning: Cluster node n1 will be fenced: w failed there",
        ];
        let found = incidents(&lines, 30_000, None);
        assert_eq!(found.len(), 1);
        assert_eq!(rows(&found[0]), ["0 n1 stop w Timed Out after 20s 20000"]);
        assert_eq!(found[0].steps[0].ok, Some(false));
        assert_eq!(found[0].detection().unwrap().0.ms_since(found[0].t0()), 20_100);
    }

    #[test]
    fn quiet_time_separates_incidents_but_a_running_action_keeps_one_open() {
        let lines = [
            "10:00:00.000 n1 pacemaker-controld notice: Result of monitor operation for a on n1: not running | call=3 key=a_monitor_10000 rc=7",
            "10:00:00.100 n1 pacemaker-controld notice: Initiating start operation a_start_0 locally on n1 | action 2",
            // The start runs for 100 s: longer than the gap, still the same incident.
            "10:01:40.100 n1 pacemaker-controld notice: Result of start operation for a on n1: ok | call=4 key=a_start_0 rc=0",
            "10:02:30.000 n1 pacemaker-controld notice: Result of monitor operation for b on n1: not running | call=5 key=b_monitor_10000 rc=7",
            "10:03:31.000 n1 pacemaker-controld notice: Result of monitor operation for b on n1: not running | call=6 key=b_monitor_10000 rc=7",
        ];
        let found = incidents(&lines, 30_000, None);
        assert_eq!(found.len(), 3, "{found:#?}");
        assert_eq!(rows(&found[0]), ["0 n1 monitor-failed a not running -", "100 n1 start a ok 100000"]);
        assert_eq!(rows(&found[1]), ["0 n1 monitor-failed b not running -"]);
    }

    #[test]
    fn merged_logs_of_two_nodes_give_the_same_steps_once() {
        let lines = [
            "10:00:00.000 n2 pacemaker-controld notice: Node n1 state is now lost | nodeid=1",
            "10:00:00.001 n3 pacemaker-controld notice: Node n1 state is now lost | nodeid=1",
            "10:00:01.000 n2 pacemaker-controld notice: Requesting fencing (reboot) of node n1 | action=1 timeout=60000",
            "10:00:02.000 n2 pacemaker-controld notice: Peer n1 was terminated (reboot) by n3 on behalf of pacemaker-controld.7@n2: OK | event=a",
            "10:00:02.002 n3 pacemaker-controld notice: Peer n1 was terminated (reboot) by n3 on behalf of pacemaker-controld.7@n2: OK | event=a",
            "10:00:02.100 n2 pacemaker-controld notice: Initiating start operation d_start_0 on n3 | action 6",
            "10:00:02.105 n3 pacemaker-execd info: executing - rsc:d action:start call_id:8",
            "10:00:02.205 n3 pacemaker-execd info: d start (call 8, PID 1) exited with status 0 (execution time 100ms)",
            "10:00:02.206 n3 pacemaker-controld notice: Result of start operation for d on n3: ok | call=8 key=d_start_0 rc=0",
            "10:00:02.210 n2 pacemaker-controld info: Transition 1 action 6 (d_start_0 on n3) confirmed: ok | rc=0 call-id=8",
        ];
        let found = incidents(&lines, 30_000, None);
        assert_eq!(rows(&found[0]), ["0 n1 node-lost - - -", "1000 n1 fence - OK 1000", "2100 n3 start d ok 100"]);
        assert_eq!(found[0].steps[0].seen_by, ["n2", "n3"]);
        assert_eq!(found[0].steps[2].seen_by, ["n2", "n3"]);
        // Without the scheduler's lines, detection is the first action.
        assert_eq!(found[0].detection().unwrap().0.ms_since(found[0].t0()), 1000);
    }

    #[test]
    fn host_names_that_are_not_node_names_add_no_steps() {
        let lines = [
            "10:00:00.000 n2.example.com pacemaker-controld notice: Node n1 state is now lost | nodeid=1",
            "10:00:02.100 n2.example.com pacemaker-controld notice: Initiating start operation d_start_0 locally on n2 | action 6",
            "10:00:02.105 n2.example.com pacemaker-execd info: executing - rsc:d action:start call_id:8",
            "10:00:02.205 n2.example.com pacemaker-execd info: d start (call 8, PID 1) exited with status 0 (execution time 100ms)",
            "10:00:02.206 n2.example.com pacemaker-controld notice: Result of start operation for d on n2: ok | call=8 key=d_start_0 rc=0",
        ];
        let found = incidents(&lines, 30_000, None);
        assert_eq!(rows(&found[0]), ["0 n1 node-lost - - -", "2100 n2 start d ok 100"]);
    }

    #[test]
    fn successful_actions_alone_are_no_incident() {
        let found = incidents(&CRASH[..2], 30_000, None);
        assert!(found.is_empty());
        let found = incidents(&CRASH[17..], 30_000, None);
        assert!(found.is_empty());
    }
}
