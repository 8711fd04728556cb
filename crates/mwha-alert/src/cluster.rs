//! What the cluster remembers about a resource, read from the status section of the CIB
//! (`cibadmin --query --scope status`), and whether this node's partition has quorum
//! (`crm_node -q`). Both commands run bounded, as the alert agent's user (hacluster, a member
//! of haclient, may read the CIB).
//!
//! Why the CIB: resource alerts run only on the node that ran the operation, and `/run` is per
//! node, so a stop on n1 and the start on n2 are never seen by one alert process. The CIB keeps
//! every node's last operation per resource (`<rsc>_last_0`) and last failure
//! (`<rsc>_last_failure_0`), with `last-rc-change` in epoch seconds and the agent's
//! `exit-reason`; a node lost without fencing keeps its history, marked `crmd="offline"`. A
//! fenced node's history is erased, so what ran on a lost node is also remembered at the loss
//! (`state::StateDir::remember_lost`).
//! Parsing is pure and tested against status sections recorded on Pacemaker 2.1.5.

use std::time::Duration;

use anyhow::{bail, Context, Result};
use quick_xml::events::{BytesStart, Event as Xml};
use quick_xml::Reader;

use ocf::deadline::Deadline;
use ocf::spawn::{bounded, CommandLine};

/// The parsed status section.
#[derive(Debug, Default)]
pub struct Status {
    pub nodes: Vec<NodeState>,
}

#[derive(Debug, Default)]
pub struct NodeState {
    pub uname: String,
    /// The controller of the node is a cluster member (`crmd="online"` and in the membership).
    pub online: bool,
    pub resources: Vec<LrmResource>,
}

#[derive(Debug, Default)]
pub struct LrmResource {
    pub id: String,
    pub ops: Vec<Op>,
}

#[derive(Debug, Default, Clone)]
pub struct Op {
    pub id: String,
    pub operation: String,
    pub rc: i32,
    pub status: i32,
    pub interval_ms: u64,
    pub last_change: i64,
    pub exit_reason: String,
}

impl Op {
    /// What failed, when this record is a failure.
    pub fn failure(&self) -> Failure {
        // `crm_resource --fail` records its injected monitor failure as "asyncmon".
        let operation = if self.operation == "asyncmon" { "monitor" } else { self.operation.as_str() };
        Failure { operation: operation.to_string(), status: self.status, rc: self.rc }
    }
}

/// A failed operation of the history, worded per language when a message needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub operation: String,
    /// Pacemaker's execution status (`op-status`).
    pub status: i32,
    pub rc: i32,
}

impl Failure {
    /// "monitor failed (rc 7)", "start timed out", "start could not be executed (status 7)".
    pub fn text(&self) -> String {
        let operation = &self.operation;
        match self.status {
            crate::event::EXEC_TIMEOUT => format!("{operation} timed out"),
            crate::event::EXEC_DONE => format!("{operation} failed (rc {})", self.rc),
            status => format!("{operation} could not be executed (status {status})"),
        }
    }

    /// "monitor の失敗 (rc 7)", "start のタイムアウト", "start の実行失敗 (status 7)".
    pub fn text_ja(&self) -> String {
        let operation = &self.operation;
        match self.status {
            crate::event::EXEC_TIMEOUT => format!("{operation} のタイムアウト"),
            crate::event::EXEC_DONE => format!("{operation} の失敗 (rc {})", self.rc),
            status => format!("{operation} の実行失敗 (status {status})"),
        }
    }
}

/// Identifies the record of one operation result in the status section.
#[derive(Debug, Clone)]
pub struct OpKey {
    pub rsc: String,
    pub node: String,
    pub task: String,
    pub interval_ms: u64,
    pub rc: i32,
    pub status: i32,
}

/// Where a resource was before it started (or was promoted) here, and why it left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Previous {
    pub node: String,
    pub why: Why,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Why {
    /// Stopped or demoted there without a recent failure: a move, a failback, a switchover.
    Released,
    /// Stopped there after a failure ("monitor failed (rc 7)").
    Failed(Failure),
    /// The node left the membership while the resource ran there.
    NodeLost,
}

impl Why {
    /// The `{why}` field: " after node n1 was lost", " after monitor failed (rc 7) on n1", "".
    pub fn text(&self, node: &str) -> String {
        match self {
            Why::Released => String::new(),
            Why::Failed(failure) => format!(" after {} on {node}", failure.text()),
            Why::NodeLost => format!(" after node {node} was lost"),
        }
    }

    /// The `{why}` field of `lang=ja`: " (ノード n1 の離脱後)", " (n1 での monitor の失敗 (rc 7) の後)", "".
    pub fn text_ja(&self, node: &str) -> String {
        match self {
            Why::Released => String::new(),
            Why::Failed(failure) => format!(" ({node} での {} の後)", failure.text_ja()),
            Why::NodeLost => format!(" (ノード {node} の離脱後)"),
        }
    }
}

impl Status {
    pub fn parse(xml: &str) -> Result<Status> {
        let mut reader = Reader::from_str(xml);
        let mut status = Status::default();
        loop {
            let event = reader.read_event().with_context(|| format!("parsing the CIB status at byte {}", reader.buffer_position()))?;
            match event {
                Xml::Start(e) | Xml::Empty(e) => match e.name().as_ref() {
                    b"node_state" => {
                        let in_ccm = attr(&e, "in_ccm")?;
                        // 2.1 writes in_ccm="true"; newer versions write the join time instead.
                        let member = !in_ccm.is_empty() && in_ccm != "false" && in_ccm != "0";
                        status.nodes.push(NodeState {
                            uname: attr(&e, "uname")?,
                            online: member && attr(&e, "crmd")? != "offline",
                            resources: Vec::new(),
                        });
                    }
                    b"lrm_resource" => {
                        let id = attr(&e, "id")?;
                        if let Some(node) = status.nodes.last_mut() {
                            node.resources.push(LrmResource { id, ops: Vec::new() });
                        }
                    }
                    b"lrm_rsc_op" => {
                        let op = Op {
                            id: attr(&e, "id")?,
                            operation: attr(&e, "operation")?,
                            rc: attr(&e, "rc-code")?.parse().unwrap_or(-1),
                            status: attr(&e, "op-status")?.parse().unwrap_or(-1),
                            interval_ms: attr(&e, "interval")?.parse().unwrap_or(0),
                            last_change: attr(&e, "last-rc-change")?.parse().unwrap_or(0),
                            exit_reason: crate::event::sanitize(&attr(&e, "exit-reason")?),
                        };
                        if let Some(rsc) = status.nodes.last_mut().and_then(|n| n.resources.last_mut()) {
                            rsc.ops.push(op);
                        }
                    }
                    _ => {}
                },
                Xml::Eof => break,
                _ => {}
            }
        }
        Ok(status)
    }

    fn node(&self, uname: &str) -> Option<&NodeState> {
        self.nodes.iter().find(|n| n.uname == uname)
    }

    /// The record of the operation an alert is about, once the controller has written it:
    /// same task, interval, rc and status, changed at or after `since` (epoch seconds).
    pub fn op_record(&self, key: &OpKey, since: i64) -> Option<&Op> {
        let res = self.node(&key.node)?.resources.iter().find(|r| same_resource(&r.id, &key.rsc))?;
        res.ops.iter().find(|op| {
            (op.operation == key.task || (key.task == "asyncmon" && op.operation == "monitor"))
                && op.interval_ms == key.interval_ms
                && op.rc == key.rc
                && op.status == key.status
                && op.last_change >= since
        })
    }

    /// The last failure of `rsc` on `node`, if it changed at or after `since`.
    pub fn recent_failure(&self, rsc: &str, node: &str, since: i64) -> Option<&Op> {
        let res = self.node(node)?.resources.iter().find(|r| same_resource(&r.id, rsc))?;
        res.last_failure().filter(|f| f.last_change >= since)
    }

    /// Where `rsc` was before it started on `here`: the other node where it was stopped most
    /// recently (at or after `since`), or a lost node where it was still running. The most
    /// recent of those wins (a resource that left n1, ran on n3, and came here because n3 was
    /// lost, moved from n3).
    pub fn previous_location(&self, rsc: &str, here: &str, since: i64) -> Option<Previous> {
        self.previous(rsc, here, since, &["stop", "migrate_to"], &["start", "promote", "migrate_from"])
    }

    /// Where the primary of a promotable `rsc` was before it was promoted on `here`: the other
    /// node where it was demoted most recently, or a lost node where it was promoted.
    pub fn previous_primary(&self, rsc: &str, here: &str, since: i64) -> Option<Previous> {
        self.previous(rsc, here, since, &["demote"], &["promote"])
    }

    /// The resources whose last operation on `node` left them running there (a successful
    /// start, promote or migrate_from), and whether promoted: what a lost node took with it.
    pub fn running_on(&self, node: &str) -> Vec<(String, bool)> {
        let Some(state) = self.node(node) else { return Vec::new() };
        state
            .resources
            .iter()
            .filter(|r| {
                r.last().is_some_and(|op| {
                    op.status == crate::event::EXEC_DONE
                        && op.rc == 0
                        && matches!(op.operation.as_str(), "start" | "promote" | "migrate_from")
                })
            })
            .map(|r| (r.id.clone(), r.last().is_some_and(|op| op.operation == "promote")))
            .collect()
    }

    fn previous(&self, rsc: &str, here: &str, since: i64, released_by: &[&str], running_after: &[&str]) -> Option<Previous> {
        // The resource was here after any release elsewhere that is not newer than its last
        // failure, stop or demote here: that release does not explain this start.
        let here_latest = self
            .node(here)
            .into_iter()
            .flat_map(|n| n.resources.iter().filter(|r| same_resource(&r.id, rsc)))
            .flat_map(|r| {
                let released = r.last().filter(|op| matches!(op.operation.as_str(), "stop" | "demote" | "migrate_to"));
                r.last_failure().into_iter().chain(released).map(|op| op.last_change)
            })
            .max()
            .unwrap_or(i64::MIN);
        let mut best: Option<(i64, Previous)> = None;
        for node in self.nodes.iter().filter(|n| n.uname != here) {
            for res in node.resources.iter().filter(|r| same_resource(&r.id, rsc)) {
                let Some(last) = res.last() else { continue };
                let ok = last.status == crate::event::EXEC_DONE && last.rc == 0;
                let candidate = if ok && released_by.contains(&last.operation.as_str()) && last.last_change >= since {
                    let failure = res.last_failure().filter(|f| f.last_change >= since && f.last_change <= last.last_change + 1);
                    Some((last.last_change, failure.map_or(Why::Released, |f| Why::Failed(f.failure()))))
                } else if !node.online && ok && running_after.contains(&last.operation.as_str()) {
                    Some((last.last_change, Why::NodeLost))
                } else {
                    None
                };
                if let Some((at, why)) = candidate.filter(|(at, _)| *at > here_latest) {
                    let newer = match &best {
                        None => true,
                        Some((t, _)) => at > *t,
                    };
                    if newer {
                        best = Some((at, Previous { node: node.uname.clone(), why }));
                    }
                }
            }
        }
        best.map(|(_, p)| p)
    }
}

impl LrmResource {
    /// `<rsc>_last_0`: the last non-recurring operation on this node.
    fn last(&self) -> Option<&Op> {
        self.ops.iter().find(|op| op.id.ends_with("_last_0"))
    }
    /// `<rsc>_last_failure_0`.
    fn last_failure(&self) -> Option<&Op> {
        self.ops.iter().find(|op| op.id.ends_with("_last_failure_0"))
    }
}

/// `st` matches `st` and `st:1`: anonymous clones are recorded without the instance number.
pub fn same_resource(lrm_id: &str, rsc: &str) -> bool {
    lrm_id == rsc || base_name(lrm_id) == base_name(rsc)
}

/// The resource without its clone instance number: `st:1` is `st`; `db:main` stays `db:main`.
pub fn base_name(id: &str) -> &str {
    match id.rsplit_once(':') {
        Some((base, n)) if n.chars().all(|c| c.is_ascii_digit()) => base,
        _ => id,
    }
}

fn attr(e: &BytesStart<'_>, name: &str) -> Result<String> {
    for a in e.attributes() {
        let a = a.context("malformed attribute in the CIB status")?;
        if a.key.as_ref() == name.as_bytes() {
            return Ok(a.unescape_value().context("malformed attribute value in the CIB status")?.into_owned());
        }
    }
    Ok(String::new())
}

/// The status section of the CIB, read within `deadline`.
pub fn query_status(deadline: &Deadline) -> Result<Status> {
    let cmd = CommandLine::new("cibadmin").arg("--query").arg("--scope").arg("status");
    let done = bounded(None, &cmd, deadline)?;
    if !done.success() {
        bail!("cibadmin --query --scope status {}: {}", done.describe(), done.last_line());
    }
    Status::parse(&done.stdout)
}

/// Polls the CIB until `find` sees the record it needs, or `limit` passes; the controller
/// writes an operation's result to the CIB about when it runs the alert, not necessarily before.
pub fn wait_for_status<T>(deadline: &Deadline, limit: Duration, what: &str, find: impl Fn(&Status) -> Option<T>) -> Result<T> {
    let within = deadline.within(limit);
    within.wait_for(what, Duration::from_millis(200), || {
        let status = query_status(&within)?;
        Ok(find(&status))
    })
}

/// Whether this node's partition has quorum. `crm_node --quorum` prints 1 or 0; without quorum
/// it also exits 106 (CRM_EX_QUORUM), so the output decides, not the status.
pub fn query_quorum(deadline: &Deadline) -> Result<bool> {
    let done = bounded(None, &CommandLine::new("crm_node").arg("--quorum"), deadline)?;
    parse_quorum(&done.stdout).ok_or_else(|| anyhow::anyhow!("crm_node --quorum {}: {}", done.describe(), done.last_line()))
}

fn parse_quorum(stdout: &str) -> Option<bool> {
    match stdout.trim() {
        "1" => Some(true),
        "0" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Recorded on Pacemaker 2.1.5 (lab, 3 nodes) when d started on n2 after its monitor
    /// failed on n1 with migration-threshold=1 (digests and transition keys removed).
    const AFTER_FAILURE_MOVE: &str = include_str!("fixtures/status-after-failure-move.xml");
    /// Recorded when d started on n2 after n3, where it ran, was cut off (n1 still shows the
    /// stop of the earlier move, 62 s before).
    const AFTER_NODE_LOST: &str = include_str!("fixtures/status-after-node-lost.xml");
    /// Recorded when st was promoted on n2 after the primary on n3 was banned.
    const AFTER_SWITCHOVER: &str = include_str!("fixtures/status-after-switchover.xml");

    fn failed(operation: &str, rc: i32) -> Failure {
        Failure { operation: operation.into(), status: crate::event::EXEC_DONE, rc }
    }

    #[test]
    fn failures_are_worded_in_both_languages() {
        let timeout = Failure { operation: "start".into(), status: crate::event::EXEC_TIMEOUT, rc: 1 };
        let not_run = Failure { operation: "start".into(), status: 7, rc: 5 };
        assert_eq!((timeout.text(), timeout.text_ja()), ("start timed out".into(), "start のタイムアウト".into()));
        assert_eq!(
            (not_run.text(), not_run.text_ja()),
            ("start could not be executed (status 7)".into(), "start の実行失敗 (status 7)".into())
        );
        assert_eq!(Why::Released.text_ja("n1"), "");
    }

    fn key(rsc: &str, node: &str, task: &str, interval_ms: u64, rc: i32) -> OpKey {
        OpKey { rsc: rsc.into(), node: node.into(), task: task.into(), interval_ms, rc, status: 0 }
    }

    #[test]
    fn a_stop_after_a_failure_elsewhere_is_a_failover() {
        let s = Status::parse(AFTER_FAILURE_MOVE).unwrap();
        assert_eq!(s.nodes.len(), 3);
        let prev = s.previous_location("d", "n2", 1795641833 - 600).unwrap();
        assert_eq!(prev, Previous { node: "n1".into(), why: Why::Failed(failed("monitor", 7)) });
        assert_eq!(prev.why.text(&prev.node), " after monitor failed (rc 7) on n1");
        assert_eq!(prev.why.text_ja(&prev.node), " (n1 での monitor の失敗 (rc 7) の後)");
        // Outside the recovery window the old stop no longer explains the start.
        assert_eq!(s.previous_location("d", "n2", 1795641833 + 5), None);
        // The failure record the alert on n1 was about.
        let rec = s.op_record(&key("d", "n1", "monitor", 2000, 7), 1795641833 - 1).unwrap();
        assert_eq!(rec.exit_reason, "");
    }

    #[test]
    fn a_lost_node_that_ran_the_resource_wins_over_an_older_stop() {
        let s = Status::parse(AFTER_NODE_LOST).unwrap();
        let n3 = s.nodes.iter().find(|n| n.uname == "n3").unwrap();
        assert!(!n3.online);
        let prev = s.previous_location("d", "n2", 1795641895 - 600).unwrap();
        assert_eq!(prev, Previous { node: "n3".into(), why: Why::NodeLost });
        assert_eq!(prev.why.text("n3"), " after node n3 was lost");
        assert_eq!(prev.why.text_ja("n3"), " (ノード n3 の離脱後)");
        // st was only demoted on the lost node: no primary was lost there.
        assert_eq!(s.previous_primary("st", "n2", 1795641895 - 10), None);
    }

    #[test]
    fn a_demote_elsewhere_names_the_previous_primary() {
        let s = Status::parse(AFTER_SWITCHOVER).unwrap();
        assert_eq!(s.previous_primary("st", "n2", 1795641874 - 600), Some(Previous { node: "n3".into(), why: Why::Released }));
        assert_eq!(s.previous_primary("st:1", "n2", 1795641874 - 600).map(|p| p.node), Some("n3".into()));
        assert_eq!(s.recent_failure("d", "n1", 1795641874 - 600).map(|op| op.failure().text()), Some("monitor failed (rc 7)".into()));
        assert!(s.recent_failure("d", "n2", 0).is_none());
    }

    /// d failed back from n2 to n1 at :08, then failed on n1 at :09 (crm_resource --fail) and was
    /// restarted in place: n2's stop must not turn the restart into a move (lab, alert-messages).
    #[test]
    fn a_failure_here_after_a_release_elsewhere_is_a_restart_in_place() {
        let xml = r#"<status>
            <node_state uname="n1" in_ccm="true" crmd="online"><lrm><lrm_resources><lrm_resource id="d">
              <lrm_rsc_op id="d_last_failure_0" operation="asyncmon" rc-code="1" op-status="0" interval="0" last-rc-change="1009"/>
              <lrm_rsc_op id="d_last_0" operation="stop" rc-code="0" op-status="0" interval="0" last-rc-change="1010"/>
            </lrm_resource></lrm_resources></lrm></node_state>
            <node_state uname="n2" in_ccm="true" crmd="online"><lrm><lrm_resources><lrm_resource id="d">
              <lrm_rsc_op id="d_last_0" operation="stop" rc-code="0" op-status="0" interval="0" last-rc-change="1008"/>
            </lrm_resource></lrm_resources></lrm></node_state></status>"#;
        let s = Status::parse(xml).unwrap();
        assert_eq!(s.previous_location("d", "n1", 400), None);
        assert_eq!(s.recent_failure("d", "n1", 400).map(|op| op.failure().text()), Some("monitor failed (rc 1)".into()));
        // Seen from n2, n1 released it last: a start on n2 now would be a move from n1.
        assert_eq!(s.previous_location("d", "n2", 400), Some(Previous { node: "n1".into(), why: Why::Failed(failed("monitor", 1)) }));
    }

    /// Pacemaker 2.1.5 in a cut-off lab node: "0" on stdout and exit status 106.
    #[test]
    fn quorum_is_read_from_the_output() {
        assert_eq!(parse_quorum("1\n"), Some(true));
        assert_eq!(parse_quorum("0\n"), Some(false));
        assert_eq!(parse_quorum(""), None);
    }

    #[test]
    fn clone_instances_match_their_base_name() {
        assert!(same_resource("st", "st:0"));
        assert!(same_resource("st:2", "st"));
        assert!(!same_resource("st", "stx"));
        assert!(!same_resource("db:main", "db"));
        assert_eq!((base_name("st:10"), base_name("st"), base_name("db:main")), ("st", "st", "db:main"));
    }

    #[test]
    fn exit_reasons_are_unescaped_and_single_line() {
        let xml = r#"<status><node_state id="1" uname="n1" in_ccm="true" crmd="online"><lrm><lrm_resources>
            <lrm_resource id="w"><lrm_rsc_op id="w_last_failure_0" operation="start" rc-code="5" op-status="0" interval="0"
            last-rc-change="100" exit-reason="install_dir &quot;/opt/warp&quot; missing&#10;see log"/></lrm_resource>
            </lrm_resources></lrm></node_state></status>"#;
        let s = Status::parse(xml).unwrap();
        assert_eq!(s.op_record(&key("w", "n1", "start", 0, 5), 99).unwrap().exit_reason, "install_dir \"/opt/warp\" missing see log");
        assert!(s.op_record(&key("w", "n1", "start", 0, 5), 101).is_none());
    }
}
