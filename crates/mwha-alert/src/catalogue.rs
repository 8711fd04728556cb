//! The message catalogue: every line mwha-alert writes has one of these stable IDs.
//!
//! An ID never changes meaning once published (admins grep for it, monitoring tools match it);
//! a new situation gets a new ID. `docs/messages.md` is generated from this table
//! (`mwha-alert --catalogue-md`) and a unit test keeps the two equal.
//!
//! IDs read like IBM's BBOJ0130I: `MWHA`, four digits, one severity letter. The digits group
//! the events: 10xx resources, 20xx membership and quorum, 30xx fencing, 40xx node attributes,
//! 50xx actions run by mwha-alert, 60xx warnings every mwha resource agent logs itself (in the
//! Pacemaker log, never through mwha-alert), 90xx problems of mwha-alert itself.

use std::fmt::Write as _;

/// Severity, ordered: a recipient with `severity=warning` gets warning, error and critical.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Info,
    Warning,
    Error,
    Critical,
}

impl Severity {
    pub fn letter(self) -> char {
        match self {
            Severity::Info => 'I',
            Severity::Warning => 'W',
            Severity::Error => 'E',
            Severity::Critical => 'C',
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
            Severity::Critical => "critical",
        }
    }

    /// The syslog severity (RFC 5424): critical 2, error 3, warning 4, info 6.
    pub fn syslog(self) -> u8 {
        match self {
            Severity::Info => 6,
            Severity::Warning => 4,
            Severity::Error => 3,
            Severity::Critical => 2,
        }
    }

    /// `info`, `warning`, `error`, `critical` or their letters, any case.
    pub fn parse(text: &str) -> Option<Severity> {
        Some(match text.trim().to_ascii_lowercase().as_str() {
            "i" | "info" | "notice" => Severity::Info,
            "w" | "warn" | "warning" => Severity::Warning,
            "e" | "err" | "error" => Severity::Error,
            "c" | "crit" | "critical" => Severity::Critical,
            _ => return None,
        })
    }
}

/// One catalogue entry. `text` is the template of the line; `{name}` is replaced by a field.
#[derive(Debug)]
pub struct Entry {
    pub id: &'static str,
    pub severity: Severity,
    /// Short name, used in docs and as `MWHA_ALERT_EVENT` for actions.
    pub event: &'static str,
    /// The `action_<class>` options that run a command for this message, most specific first;
    /// the first one configured wins. Empty: no action can be attached.
    pub action_classes: &'static [&'static str],
    pub text: &'static str,
    pub meaning: &'static str,
    pub operator: &'static str,
}

macro_rules! entry {
    ($id:literal, $sev:ident, $event:literal, [$($class:literal),*], $text:literal, $meaning:literal, $operator:literal) => {
        Entry {
            id: $id,
            severity: Severity::$sev,
            event: $event,
            action_classes: &[$($class),*],
            text: $text,
            meaning: $meaning,
            operator: $operator,
        }
    };
}

pub static RSC_UNAVAILABLE: Entry = entry!(
    "MWHA1001E",
    Error,
    "unavailable",
    ["unavailable"],
    "Resource {rsc} is unavailable on {node}: {failure}",
    "A recurring monitor (or `crm_resource --fail`) found the resource failed or stopped on that node. \
     Pacemaker now recovers it: a restart in place while the node's fail count is below `migration-threshold`, \
     otherwise a move to another node. `{failure}` names the operation, the result and the agent's exit reason.",
    "Read the exit reason and the agent's log lines on that node (`/var/log/pacemaker/pacemaker.log`). \
     Expect MWHA1010I (available again) or MWHA1012I (moved) within the start timeout; if neither comes, \
     look at `crm_mon -1 --failcounts`."
);
pub static RSC_START_FAILED: Entry = entry!(
    "MWHA1002E",
    Error,
    "start-failed",
    ["unavailable"],
    "Resource {rsc} could not be started on {node}: {failure}",
    "The start operation failed or timed out. With the default `start-failure-is-fatal=true` the node is now \
     banned for this resource and Pacemaker tries another node.",
    "Fix the cause named in the exit reason on that node, then `crm resource cleanup {rsc}` \
     (`pcs resource cleanup {rsc}`) so the node may run it again."
);
pub static RSC_STOP_FAILED: Entry = entry!(
    "MWHA1003C",
    Critical,
    "stop-failed",
    ["unavailable"],
    "Resource {rsc} could not be stopped on {node}: {failure}; Pacemaker will fence the node or block the resource",
    "A failed stop leaves the resource in an unknown state. With fencing enabled the node is fenced; without \
     fencing the resource is blocked (unmanaged) until an operator acts.",
    "Make sure the resource is really stopped on that node (processes, mounts, addresses), then \
     `crm resource cleanup {rsc}`. Never clean up while it may still be running there."
);
pub static RSC_ROLE_FAILED: Entry = entry!(
    "MWHA1004E",
    Error,
    "role-change-failed",
    ["unavailable"],
    "Resource {rsc} failed to {task} on {node}: {failure}",
    "A promote or demote of a promotable clone failed; Pacemaker recovers the instance (demote, stop, start) \
     and may choose another primary.",
    "Read the exit reason; expect MWHA1020I or MWHA1021I when a primary is running again."
);
pub static RSC_ACTIVE_UNEXPECTEDLY: Entry = entry!(
    "MWHA1005W",
    Warning,
    "active-unexpectedly",
    ["unexpected"],
    "Resource {rsc} was found {state} on {node} where the cluster had not started it",
    "A probe (the one-time monitor Pacemaker runs when a node joins or after a cleanup) found the resource \
     running outside cluster control. Pacemaker stops the extra copy, or all copies if it may only run once.",
    "Find out who started it by hand (init scripts, cron, an operator) and disable that; services managed by \
     the cluster must not start at boot."
);
pub static RSC_OP_FAILED: Entry = entry!(
    "MWHA1006E",
    Error,
    "operation-failed",
    ["unavailable"],
    "Operation {task} of resource {rsc} failed on {node}: {failure}",
    "Another resource operation (reload, migrate_to, migrate_from, notify, validate) failed.",
    "Read the exit reason and the agent's log on that node."
);
pub static RSC_AVAILABLE_AGAIN: Entry = entry!(
    "MWHA1010I",
    Info,
    "available-again",
    ["available"],
    "Resource {rsc} is available again on {node}{after}",
    "The resource started successfully on the node where it had failed (restart in place), or after a failed \
     start: the counterpart of MWHA1001E/MWHA1002E (WebSphere's BBOJ0131I).",
    "None. Clear the failure history when the cause is understood: `crm resource cleanup {rsc}`."
);
pub static RSC_STARTED: Entry = entry!(
    "MWHA1011I",
    Info,
    "started",
    ["available"],
    "Resource {rsc} started on {node}",
    "A start succeeded and no earlier location or failure of the resource was found in the cluster's recent \
     operation history: a first start, an enable, or a start after a long stop.",
    "None."
);
pub static RSC_MOVED: Entry = entry!(
    "MWHA1012I",
    Info,
    "moved",
    ["moved", "available"],
    "Resource {rsc} moved from {from} to {node}{why}",
    "The resource started on this node after it was stopped (or its node was lost) elsewhere within the \
     recovery window: a failover, a failback, or an administrative move. `{why}` says which when it is known. \
     This is the \"new primary\" notice clients behind a proxy or a virtual IP rely on.",
    "After a failover, find out why the old node failed (MWHA1001E or MWHA2001W before this line). \
     For a manual failback later: `crm resource move {rsc} <node>` then `crm resource clear {rsc}`."
);
pub static RSC_STOPPED: Entry = entry!(
    "MWHA1013I",
    Info,
    "stopped",
    ["stopped"],
    "Resource {rsc} stopped on {node}",
    "A stop succeeded: part of a restart, a move, a disable, a standby or a quorum loss.",
    "None, unless nothing starts it again (then look for MWHA1002E or `crm_mon -1`)."
);
pub static PRIMARY_MOVED: Entry = entry!(
    "MWHA1020I",
    Info,
    "primary-moved",
    ["promoted"],
    "Primary of {rsc} moved from {from} to {node}{why}",
    "A promotable clone has a new primary (promoted instance) on this node; the previous one was on `{from}`. \
     The counterpart of JBoss EAP's singleton election listener.",
    "None. Clients that must follow the primary should use a virtual IP colocated with the promoted role."
);
pub static PROMOTED: Entry = entry!(
    "MWHA1021I",
    Info,
    "promoted",
    ["promoted"],
    "Resource {rsc} promoted to primary on {node}",
    "A promote succeeded and no previous primary was found in the recent operation history (first promotion).",
    "None."
);
pub static DEMOTED: Entry = entry!(
    "MWHA1022I",
    Info,
    "demoted",
    ["demoted"],
    "Resource {rsc} demoted on {node}",
    "The primary on this node became a secondary: a switchover, a ban, a stop, or recovery.",
    "None; expect MWHA1020I from the new primary's node."
);
pub static NODE_LOST: Entry = entry!(
    "MWHA2001W",
    Warning,
    "node-lost",
    ["node_lost"],
    "Node {node} left the cluster (seen from {reporter})",
    "Corosync membership lost the node: a crash, a network cut, or a clean shutdown. Every node that still \
     sees the cluster reports it. Its resources are recovered elsewhere (after fencing, when enabled).",
    "If it was not a planned shutdown, check the node (power, network, `corosync.log`); expect MWHA1012I \
     lines for its resources."
);
pub static NODE_JOINED: Entry = entry!(
    "MWHA2002I",
    Info,
    "node-joined",
    ["node_joined"],
    "Node {node} joined the cluster (seen from {reporter})",
    "The node is a cluster member again. With `resource-stickiness` resources stay where they are; \
     with a location preference and no stickiness they fail back to it.",
    "None."
);
pub static NODE_STATE: Entry = entry!(
    "MWHA2003I",
    Info,
    "node-state",
    ["node_state"],
    "Node {node} is now {state} (seen from {reporter})",
    "A membership state other than member or lost was reported.",
    "None."
);
pub static QUORUM_LOST: Entry = entry!(
    "MWHA2010C",
    Critical,
    "quorum-lost",
    ["quorum_lost"],
    "Node {reporter} lost quorum: its partition may no longer run resources (no-quorum-policy)",
    "This node's partition holds fewer than N/2+1 votes. With `no-quorum-policy=stop` (the default) it stops \
     every resource here; the majority partition, if any, keeps or takes them over. Reported on the next \
     membership change seen after quorum changes.",
    "Restore the network or the lost nodes. Do not force quorum (`pcs quorum unblock`, `corosync-quorumtool -e`) \
     while the other partition may be running the resources."
);
pub static QUORUM_REGAINED: Entry = entry!(
    "MWHA2011I",
    Info,
    "quorum-regained",
    ["quorum_regained"],
    "Node {reporter} has quorum again",
    "This node's partition holds a majority again and may run resources.",
    "None."
);
pub static NODE_FENCED: Entry = entry!(
    "MWHA3001W",
    Warning,
    "node-fenced",
    ["fenced"],
    "Node {node} was fenced ({task}): {desc}",
    "A fence device rebooted or powered off the node; its resources may now be recovered elsewhere.",
    "Find out why it was fenced (a lost node, a failed stop: MWHA1003C) before letting it rejoin."
);
pub static FENCING_FAILED: Entry = entry!(
    "MWHA3002C",
    Critical,
    "fencing-failed",
    ["fencing_failed"],
    "Fencing ({task}) of node {node} failed with rc {rc}: {desc}",
    "The fence device could not fence the node. Resources of that node cannot be recovered until fencing \
     succeeds or an operator confirms the node is down.",
    "Check the fence device and its credentials (`stonith_admin --list-registered`). Only if the node is \
     verifiably off: `stonith_admin --confirm <node>`."
);
pub static ATTRIBUTE_CHANGED: Entry = entry!(
    "MWHA4001I",
    Info,
    "attribute",
    ["attribute"],
    "Node attribute {name} on {node} is now {value}",
    "A node attribute selected in the alert's configuration changed (`select_attributes`).",
    "None."
);
pub static ACTION_DONE: Entry = entry!(
    "MWHA5001I",
    Info,
    "action-done",
    [],
    "Action for {for_id} on {node} completed: {command} ({outcome})",
    "The command configured with an `action_<class>` option ran and exited 0.",
    "None."
);
pub static ACTION_FAILED: Entry = entry!(
    "MWHA5002E",
    Error,
    "action-failed",
    [],
    "Action for {for_id} on {node} failed: {command} {outcome}{output}",
    "The configured command exited non-zero, could not be run, or was killed at `action_timeout`.",
    "Run the command by hand as user hacluster with the same environment (see docs/messages.md, Actions) and fix it."
);
pub static DELIVERY_FAILED: Entry = entry!(
    "MWHA9001E",
    Error,
    "delivery-failed",
    [],
    "Could not write to {recipient}: {error}; the message was: {line}",
    "mwha-alert could not append the line to the recipient's file (missing directory, read-only or full \
     file system, permissions), or the path is not a plain file: a symbolic link, a FIFO, a device or a file with \
     other hard links is never written. It is sent to syslog instead, and the agent exits 1 so Pacemaker logs the failure.",
    "Create the directory writable by hacluster (`install -d -o hacluster -g haclient -m 0750 DIR`), free space, \
     or point the recipient at a plain file."
);
pub static AGENT_SLOW: Entry = entry!(
    "MWHA6001W",
    Warning,
    "agent-slow",
    [],
    "{step} took {seconds} s of a {timeout} s {action} ({total} s in all, warn_ratio {ratio})",
    "Logged by an mwha resource agent (not by mwha-alert) when an action used more than warn_ratio (default 0.8) of \
     its op timeout. The slowest step is named: a check creeping toward its timeout, before Pacemaker records a failure.",
    "Find why the step is slow (load, storage, the product); raise the op timeout if the step is legitimately slow."
);
pub static AGENT_STUCK_PROCESS: Entry = entry!(
    "MWHA6002W",
    Warning,
    "agent-stuck-process",
    [],
    "{why}: pid {pid} state {state} wchan {wchan} stack {stack}: {cmdline}",
    "Logged by an mwha resource agent before it sends SIGKILL to a process that ignored SIGTERM, or when it abandons \
     a command at its deadline: what the process was doing (state D with an nfs/cifs wait channel = hung storage).",
    "Keep the line with the product's thread dump (thread_dump=true) for the vendor; check the storage it waited on."
);
pub static AGENT_CHECK_TIMEOUT_TOLERATED: Entry = entry!(
    "MWHA6003W",
    Warning,
    "agent-check-timeout-tolerated",
    [],
    "{check} timed out ({count} of {tolerated} tolerated in a row): {error}",
    "Logged by an mwha resource agent when a depth 10/20 check timed out and check_timeouts_tolerated lets it pass. \
     One more timeout in a row than tolerated fails the monitor; a successful check resets the count.",
    "Watch for repeats: the product or its storage answers slowly."
);
pub static AGENT_TIMEOUT_BELOW_MINIMUM: Entry = entry!(
    "MWHA6004W",
    Warning,
    "agent-timeout-below-minimum",
    [],
    "the {action} timeout of {resource} is {timeout} s, below the {minimum} s this agent needs",
    "Logged by an mwha resource agent in validate-all (from the operation's timeout in the CIB) and by the action \
     itself when its op timeout is shorter than the agent needs to do its work. A stop that runs out of time fails, \
     and a failed stop gets the node fenced.",
    "Raise the operation's timeout to at least the minimum (pcs resource update RSC op stop timeout=…)."
);
pub static BAD_OPTION: Entry = entry!(
    "MWHA9002E",
    Error,
    "bad-option",
    [],
    "Invalid alert option {option}={value}: {error}",
    "An alert or recipient option (instance attribute) has a value mwha-alert does not understand. The default is \
     used instead and the agent exits 2.",
    "Fix the option: `pcs alert update` / `pcs alert recipient update`, or `crm configure edit`."
);
pub static UNKNOWN_KIND: Entry = entry!(
    "MWHA9003W",
    Warning,
    "unknown-event",
    [],
    "Unhandled Pacemaker alert kind {kind} for node {node}",
    "Pacemaker sent an event kind this version of mwha-alert does not know.",
    "None; report it so a message can be added."
);

/// Every message, in ID order.
pub static CATALOGUE: [&Entry; 30] = [
    &RSC_UNAVAILABLE,
    &RSC_START_FAILED,
    &RSC_STOP_FAILED,
    &RSC_ROLE_FAILED,
    &RSC_ACTIVE_UNEXPECTEDLY,
    &RSC_OP_FAILED,
    &RSC_AVAILABLE_AGAIN,
    &RSC_STARTED,
    &RSC_MOVED,
    &RSC_STOPPED,
    &PRIMARY_MOVED,
    &PROMOTED,
    &DEMOTED,
    &NODE_LOST,
    &NODE_JOINED,
    &NODE_STATE,
    &QUORUM_LOST,
    &QUORUM_REGAINED,
    &NODE_FENCED,
    &FENCING_FAILED,
    &ATTRIBUTE_CHANGED,
    &ACTION_DONE,
    &ACTION_FAILED,
    &AGENT_SLOW,
    &AGENT_STUCK_PROCESS,
    &AGENT_CHECK_TIMEOUT_TOLERATED,
    &AGENT_TIMEOUT_BELOW_MINIMUM,
    &DELIVERY_FAILED,
    &BAD_OPTION,
    &UNKNOWN_KIND,
];

/// Replaces each `{name}` of `template` by its field; unknown names stay as they are.
pub fn render(template: &str, fields: &[(&str, String)]) -> String {
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) if after[..close].chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => {
                let name = &after[..close];
                match fields.iter().find(|(k, _)| *k == name) {
                    // Whatever a field holds (an error text, a command's output), the
                    // message stays on one line.
                    Some((_, v)) => out.push_str(&crate::event::sanitize(v)),
                    None => out.push_str(&rest[open..open + close + 2]),
                }
                rest = &after[close + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// `docs/messages.md`: the catalogue for operators.
pub fn markdown() -> String {
    let mut md = String::new();
    md.push_str(
        "# mwha-alert messages\n\n\
         <!-- Generated by `mwha-alert --catalogue-md` from crates/mwha-alert/src/catalogue.rs; do not edit. -->\n\n\
         `mwha-alert` is the Pacemaker alert agent of mwha (`/usr/lib/mwha/mwha-alert`).\n\
         It turns every cluster event into one line with a stable message ID (lines from `tests/cluster/alert-messages`):\n\n\
         ```\n\
         2026-11-25T22:08:14.744Z n1 MWHA1001E Resource d is unavailable on n1: monitor (every 2s) returned 7 (not running)\n\
         2026-11-25T22:08:14.872Z n1 MWHA1010I Resource d is available again on n1 after monitor failed (rc 7)\n\
         2026-11-25T22:08:17.480Z n2 MWHA2001W Node n1 left the cluster (seen from n2)\n\
         2026-11-25T22:08:18.528Z n2 MWHA1012I Resource d moved from n1 to n2 after node n1 was lost\n\
         ```\n\n\
         Fields: the event's time (UTC, from Pacemaker), the node that reported it, the message ID, the text.\n\
         The ID is `MWHA`, four digits and the severity: `I` info, `W` warning, `E` error, `C` critical.\n\
         An ID never changes meaning; new situations get new IDs.\n\
         How to configure the agent, the recipients and the actions: [policies.md](policies.md) and `mwha-alert --help`.\n\n\
         ## Summary\n\n\
         | ID | Severity | Event | Text |\n\
         |---|---|---|---|\n",
    );
    for e in CATALOGUE.iter() {
        let _ = writeln!(md, "| {} | {} | {} | {} |", e.id, e.severity.name(), e.event, e.text.replace('|', "\\|"));
    }
    md.push_str("\n## Messages\n");
    for e in CATALOGUE.iter() {
        let _ = write!(md, "\n### {} {}\n\n", e.id, e.event);
        let _ = writeln!(md, "- Severity: {} ({})", e.severity.name(), e.severity.letter());
        let _ = writeln!(md, "- Text: `{}`", e.text);
        if e.action_classes.is_empty() {
            md.push_str("- Action option: none\n");
        } else {
            let names: Vec<String> = e.action_classes.iter().map(|c| format!("`action_{c}`")).collect();
            let _ = writeln!(md, "- Action option: {}", names.join(", then "));
        }
        let _ = writeln!(md, "- Meaning: {}", e.meaning);
        let _ = writeln!(md, "- What to do: {}", e.operator);
    }
    md.push_str(FIELDS_AND_EXITS);
    md
}

const FIELDS_AND_EXITS: &str = "
## Fields

- `{rsc}`: the resource (`CRM_alert_rsc`); `{node}`: the node the event is about (`CRM_alert_node`);
  `{reporter}`: the node that ran the agent (membership events are reported by every node that sees them).
- `{failure}`: the operation and its result, e.g. `monitor (every 2s) returned 7 (not running)`,
  `start timed out after 20.0s`, followed by `: ` and the agent's exit reason when the cluster recorded one.
  Pacemaker 2.1 does not pass the exit reason to alert agents; mwha-alert reads it from the status section of the CIB.
- `{from}`, `{why}`, `{after}`: where the resource was before, and why, inferred from the cluster's operation history
  (the last stop, demote or failure of the resource on another node within `recovery_window`, or a lost node that was
  running it).
- `{state}`, `{task}`, `{rc}`, `{desc}`, `{name}`, `{value}`: Pacemaker's own values for the event.

## Actions

A recipient option `action_<class>` (`action_unavailable`, `action_available`, `action_moved`, `action_stopped`,
`action_promoted`, `action_demoted`, `action_unexpected`, `action_node_lost`, `action_node_joined`,
`action_quorum_lost`, `action_quorum_regained`, `action_fenced`, `action_fencing_failed`) runs a command after the line
is written, for the resources listed in `action_resources` (default: every resource): an absolute program path and arguments separated by spaces (no shell, no quoting), as user hacluster,
in its own process group, killed after `action_timeout` (default 10s). Its environment holds the event:
`MWHA_ALERT_ID`, `MWHA_ALERT_SEVERITY`, `MWHA_ALERT_EVENT`, `MWHA_ALERT_LINE`, `MWHA_ALERT_RESOURCE`,
`MWHA_ALERT_NODE`, `MWHA_ALERT_FROM`, `MWHA_ALERT_REPORTER`, plus every `CRM_alert_*` variable.
Its outcome is logged as MWHA5001I or MWHA5002E. Actions do not depend on the recipient's `severity`, `ids` and
`exclude_ids`, which select lines only.

## Exit codes

| code | meaning |
|---|---|
| 0 | the line was written to the recipient, or the recipient's filter dropped it, or the event needs no line |
| 1 | the line could not be written to the recipient; it was sent to syslog (stderr if syslog failed too) |
| 2 | an option or the recipient is invalid (MWHA9002E); the line was delivered with the defaults, or to syslog |
| 3 | the line was delivered but the configured action failed or timed out (MWHA5002E) |
";

#[cfg(test)]
mod tests {
    use super::*;

    fn by_id(id: &str) -> Option<&'static Entry> {
        CATALOGUE.iter().copied().find(|e| e.id == id)
    }

    /// The names of the `{fields}` a template uses.
    fn placeholders(template: &str) -> Vec<&str> {
        let mut names = Vec::new();
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            let after = &rest[open + 1..];
            let Some(close) = after.find('}') else { break };
            names.push(&after[..close]);
            rest = &after[close + 1..];
        }
        names
    }

    #[test]
    fn ids_are_unique_well_formed_and_ordered() {
        let mut last = "";
        for e in CATALOGUE.iter() {
            assert_eq!(e.id.len(), 9, "{}", e.id);
            assert!(e.id.starts_with("MWHA"), "{}", e.id);
            assert!(e.id[4..8].chars().all(|c| c.is_ascii_digit()), "{}", e.id);
            assert_eq!(e.id.chars().last(), Some(e.severity.letter()), "{}: letter must match the severity", e.id);
            assert!(e.id > last, "{} must come after {last}", e.id);
            last = e.id;
            assert!(!e.text.ends_with('.'), "{}: no trailing period", e.id);
        }
    }

    #[test]
    fn named_entries_point_at_their_ids() {
        for (entry, id) in [
            (&RSC_UNAVAILABLE, "MWHA1001E"),
            (&RSC_OP_FAILED, "MWHA1006E"),
            (&RSC_AVAILABLE_AGAIN, "MWHA1010I"),
            (&RSC_STOPPED, "MWHA1013I"),
            (&PRIMARY_MOVED, "MWHA1020I"),
            (&DEMOTED, "MWHA1022I"),
            (&NODE_LOST, "MWHA2001W"),
            (&QUORUM_LOST, "MWHA2010C"),
            (&QUORUM_REGAINED, "MWHA2011I"),
            (&FENCING_FAILED, "MWHA3002C"),
            (&ATTRIBUTE_CHANGED, "MWHA4001I"),
            (&ACTION_FAILED, "MWHA5002E"),
            (&DELIVERY_FAILED, "MWHA9001E"),
            (&UNKNOWN_KIND, "MWHA9003W"),
        ] {
            assert_eq!(entry.id, id);
        }
        assert!(by_id("MWHA1012I").is_some_and(|e| e.event == "moved"));
    }

    #[test]
    fn render_fills_fields_and_keeps_unknown_ones() {
        let fields = [("rsc", "d".to_string()), ("node", "n1".to_string())];
        assert_eq!(render("Resource {rsc} on {node} {x} {", &fields), "Resource d on n1 {x} {");
        let forged = [("rsc", "d\u{2028}MWHA0000I forged\r\n".to_string())];
        assert_eq!(render("Resource {rsc}", &forged), "Resource d MWHA0000I forged  ");
        assert_eq!(placeholders(RSC_MOVED.text), ["rsc", "from", "node", "why"]);
    }

    #[test]
    fn severities_parse_and_order() {
        assert_eq!(Severity::parse("Warning"), Some(Severity::Warning));
        assert_eq!(Severity::parse("C"), Some(Severity::Critical));
        assert_eq!(Severity::parse("loud"), None);
        assert!(Severity::Info < Severity::Warning && Severity::Error < Severity::Critical);
    }

    /// docs/messages.md is generated from the catalogue; regenerate it with
    /// `cargo run -p mwha-alert -- --catalogue-md > docs/messages.md`.
    #[test]
    fn docs_messages_md_is_the_generated_catalogue() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/messages.md");
        let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            on_disk == markdown(),
            "{} differs from the catalogue; run: cargo run -p mwha-alert -- --catalogue-md > docs/messages.md",
            path.display()
        );
    }
}
