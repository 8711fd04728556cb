//! From an event (and what the cluster remembers about it) to catalogue messages. Pure: the
//! facts are gathered beforehand by `main.rs`, so every decision here is tested against the
//! environments recorded on Pacemaker 2.1.5 (`fixtures/alerts-2.1.5.env`).
//!
//! Which events give no line: cancelled operations (every recovery cancels the recurring
//! monitor first), expected results of monitors (the first result of every recurring monitor
//! after a start is reported by Pacemaker), successful notify, reload and migrate_to, and a
//! probe that finds running what the cluster itself started on that node (a cleanup's probe).

use crate::catalogue::{self, Entry, Lang, Severity};
use crate::cluster::{Failure, Previous};
use crate::event::{Event, Kind, EXEC_CANCELLED, EXEC_DONE};

/// What the cluster told us beyond the environment.
#[derive(Debug, Default, Clone)]
pub struct Facts {
    /// This node's name (uname -n), the node that runs the agent.
    pub reporter: String,
    /// The agent's exit reason, read from the CIB record of a failed operation.
    pub exit_reason: Option<String>,
    /// For a start or promote: where the resource (or the primary) was before.
    pub previous: Option<Previous>,
    /// For a start: the last recent failure of the resource on this node ("monitor failed (rc 7)").
    pub recent_failure_here: Option<Failure>,
    /// For a membership event: whether this node's quorum changed.
    pub quorum: Option<QuorumChange>,
    /// For a failure, with `failure_threshold` above 1: its place in the row of failures of the
    /// resource on the node (`None`: not counted, so reported as usual).
    pub failures: Option<FailureCount>,
    /// For a probe that finds the resource running: the cluster started it on that node in this
    /// boot and had not stopped it (`state_dir`); false when unknown, so MWHA1005W stays.
    pub started_here: bool,
}

/// A failure's place in its row, and the threshold (`failure_threshold`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureCount {
    pub count: u32,
    pub threshold: u32,
}

/// What an event means for `failure_threshold`'s count of the resource on its node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tally {
    /// A failed operation: a message of the `unavailable` class.
    Failure,
    /// The resource available on the node: a successful start, migrate_from or promote, or a
    /// recurring monitor that finds it running.
    Success,
}

/// Whether the event counts for `failure_threshold`, and how. Pure, like `classify`, whose
/// `unavailable` messages are exactly the failures.
pub fn tally(event: &Event) -> Option<Tally> {
    if event.kind != Kind::Resource || event.status == Some(EXEC_CANCELLED) {
        return None;
    }
    if event.succeeded() {
        let running = matches!(event.rc, Some(0 | 8));
        let available = matches!(event.task.as_str(), "start" | "migrate_from" | "promote") || event.is_recurring_monitor();
        return (running && available).then_some(Tally::Success);
    }
    resource(event, &Facts::default()).filter(|m| m.entry.action_classes.contains(&"unavailable")).map(|_| Tally::Failure)
}

/// What a resource event tells the memory of what the cluster started on its node, which tells
/// a cleanup's probe (Pacemaker probes again what it runs after `crm_resource --cleanup`) from a
/// copy started outside the cluster (MWHA1005W).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    /// A successful start, migrate_from or promote: the cluster runs the resource there.
    Started,
    /// A successful stop: it no longer does (a failed stop leaves the resource where it was).
    Stopped,
    /// A probe found the resource running: did the cluster start it there?
    FoundRunning,
}

/// The event's [`Presence`], if any. Pure, like `classify`.
pub fn presence(event: &Event) -> Option<Presence> {
    if event.kind != Kind::Resource || event.status == Some(EXEC_CANCELLED) {
        return None;
    }
    if found_running_by_probe(event) {
        return Some(Presence::FoundRunning);
    }
    if !event.succeeded() {
        return None;
    }
    match event.task.as_str() {
        "start" | "migrate_from" | "promote" => Some(Presence::Started),
        "stop" => Some(Presence::Stopped),
        _ => None,
    }
}

/// A probe that expected the resource stopped (rc 7) and found it running (0) or promoted (8).
fn found_running_by_probe(event: &Event) -> bool {
    let done = event.status.unwrap_or(EXEC_DONE) == EXEC_DONE;
    event.is_probe() && done && event.target_rc == Some(7) && matches!(event.rc, Some(0 | 8))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuorumChange {
    Lost,
    Regained,
}

/// Which facts an event needs, so only those commands run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    Nothing,
    /// A failed resource operation: its exit reason.
    ExitReason,
    /// A successful start: where it was before, or whether it failed here.
    Location,
    /// A successful promote: where the primary was before.
    PreviousPrimary,
    /// A membership change: the quorum state.
    Quorum,
}

pub fn needs(event: &Event) -> Needs {
    match event.kind {
        Kind::Resource => {
            if event.status == Some(EXEC_CANCELLED) {
                Needs::Nothing
            } else if !event.succeeded() {
                Needs::ExitReason
            } else {
                match event.task.as_str() {
                    "start" | "migrate_from" => Needs::Location,
                    "promote" => Needs::PreviousPrimary,
                    _ => Needs::Nothing,
                }
            }
        }
        Kind::Node => Needs::Quorum,
        _ => Needs::Nothing,
    }
}

/// One message: a catalogue entry and its fields.
#[derive(Debug, Clone)]
pub struct Message {
    pub entry: &'static Entry,
    /// The event's values, and mwha-alert's own phrases in English (`{failure}`, `{why}`, ...);
    /// actions get these.
    pub fields: Vec<(&'static str, String)>,
    /// The Japanese wording of the fields that are mwha-alert's own phrases (`lang=ja`); every
    /// other field is the same in both languages.
    pub fields_ja: Vec<(&'static str, String)>,
}

impl Message {
    pub fn new(entry: &'static Entry, fields: Vec<(&'static str, String)>) -> Message {
        Message { entry, fields, fields_ja: Vec::new() }
    }

    /// The Japanese wording of some fields.
    pub fn ja(mut self, fields_ja: Vec<(&'static str, String)>) -> Message {
        self.fields_ja = fields_ja;
        self
    }

    /// The text in English (stderr, Pacemaker's log).
    pub fn text(&self) -> String {
        self.text_in(Lang::En)
    }

    /// The text in `lang`.
    pub fn text_in(&self, lang: Lang) -> String {
        let template = self.entry.text_in(lang);
        match lang {
            Lang::En => catalogue::render(template, &self.fields),
            Lang::Ja => {
                let fields: Vec<(&str, String)> = self.fields_ja.iter().chain(&self.fields).cloned().collect();
                catalogue::render(template, &fields)
            }
        }
    }

    pub fn field(&self, name: &str) -> &str {
        self.fields.iter().find(|(k, _)| *k == name).map_or("", |(_, v)| v.as_str())
    }
}

/// The messages for an event: usually one, two when a membership change also changed quorum,
/// none for routine results.
pub fn classify(event: &Event, facts: &Facts) -> Vec<Message> {
    let reporter = || ("reporter", facts.reporter.clone());
    match &event.kind {
        Kind::Resource => resource(event, facts).map(|m| below_threshold(m, facts)).into_iter().collect(),
        Kind::Node => {
            let node = ("node", event.node.clone());
            let mut out = vec![match event.desc.as_str() {
                "lost" => Message::new(&catalogue::NODE_LOST, vec![node, reporter()]),
                "member" => Message::new(&catalogue::NODE_JOINED, vec![node, reporter()]),
                state => Message::new(&catalogue::NODE_STATE, vec![node, ("state", state.to_string()), reporter()]),
            }];
            match facts.quorum {
                Some(QuorumChange::Lost) => out.push(Message::new(&catalogue::QUORUM_LOST, vec![reporter()])),
                Some(QuorumChange::Regained) => out.push(Message::new(&catalogue::QUORUM_REGAINED, vec![reporter()])),
                None => {}
            }
            out
        }
        Kind::Fencing => {
            let fields = vec![
                ("node", event.node.clone()),
                ("task", event.task.clone()),
                ("rc", event.rc.map_or_else(|| "?".to_string(), |rc| rc.to_string())),
                ("desc", event.desc.clone()),
                reporter(),
            ];
            let entry = if event.rc == Some(0) { &catalogue::NODE_FENCED } else { &catalogue::FENCING_FAILED };
            vec![Message::new(entry, fields)]
        }
        Kind::Attribute => vec![Message::new(
            &catalogue::ATTRIBUTE_CHANGED,
            vec![
                ("name", event.attribute_name.clone()),
                ("node", event.node.clone()),
                ("value", event.attribute_value.clone()),
                reporter(),
            ],
        )],
        Kind::Other(kind) => {
            vec![Message::new(&catalogue::UNKNOWN_KIND, vec![("kind", kind.clone()), ("node", event.node.clone()), reporter()])]
        }
    }
}

fn resource(event: &Event, facts: &Facts) -> Option<Message> {
    if event.status == Some(EXEC_CANCELLED) {
        return None;
    }
    let base = [("rsc", event.rsc.clone()), ("node", event.node.clone()), ("reporter", facts.reporter.clone())];
    let with = |extra: Vec<(&'static str, String)>| -> Vec<(&'static str, String)> { base.iter().cloned().chain(extra).collect() };

    if event.succeeded() {
        return match event.task.as_str() {
            "start" | "migrate_from" => Some(match (&facts.previous, &facts.recent_failure_here) {
                (Some(prev), _) => moved(&catalogue::RSC_MOVED, prev, with),
                (None, Some(failure)) => {
                    Message::new(&catalogue::RSC_AVAILABLE_AGAIN, with(vec![("after", format!(" after {}", failure.text()))]))
                        .ja(vec![("after", format!(" ({} の後)", failure.text_ja()))])
                }
                (None, None) => Message::new(&catalogue::RSC_STARTED, with(vec![])),
            }),
            "stop" => Some(Message::new(&catalogue::RSC_STOPPED, with(vec![]))),
            "promote" => Some(match &facts.previous {
                Some(prev) => moved(&catalogue::PRIMARY_MOVED, prev, with),
                None => Message::new(&catalogue::PROMOTED, with(vec![])),
            }),
            "demote" => Some(Message::new(&catalogue::DEMOTED, with(vec![]))),
            _ => None,
        };
    }

    if found_running_by_probe(event) {
        // A cleanup erases the history, so Pacemaker probes again what it runs: no surprise.
        if facts.started_here {
            return None;
        }
        let (state, state_ja) =
            if event.rc == Some(8) { ("running as primary", "プライマリーとして稼働中") } else { ("running", "稼働中") };
        return Some(
            Message::new(&catalogue::RSC_ACTIVE_UNEXPECTEDLY, with(vec![("state", state.to_string())]))
                .ja(vec![("state", state_ja.to_string())]),
        );
    }

    let reason = facts.exit_reason.as_deref().filter(|r| !r.trim().is_empty()).map_or(String::new(), |r| format!(": {}", r.trim()));
    let failure = format!("{} {}{reason}", event.operation(), event.outcome());
    let failure_ja = vec![("failure", format!("{} {}{reason}", event.operation_ja(), event.outcome_ja()))];
    Some(
        match event.task.as_str() {
            _ if event.is_recurring_monitor() || event.is_probe() => {
                Message::new(&catalogue::RSC_UNAVAILABLE, with(vec![("failure", failure)]))
            }
            "start" => Message::new(&catalogue::RSC_START_FAILED, with(vec![("failure", failure)])),
            "stop" => Message::new(&catalogue::RSC_STOP_FAILED, with(vec![("failure", failure)])),
            "promote" | "demote" => {
                Message::new(&catalogue::RSC_ROLE_FAILED, with(vec![("task", event.task.clone()), ("failure", failure)]))
            }
            _ => Message::new(&catalogue::RSC_OP_FAILED, with(vec![("task", event.task.clone()), ("failure", failure)])),
        }
        .ja(failure_ja),
    )
}

/// A failure before the `failure_threshold`th in a row: MWHA1007W instead of its message (and so
/// no `action_unavailable`). A critical failure (a failed stop) is never held back.
fn below_threshold(message: Message, facts: &Facts) -> Message {
    let Some(FailureCount { count, threshold }) = facts.failures else { return message };
    let entry = message.entry;
    if count >= threshold || !entry.action_classes.contains(&"unavailable") || entry.severity >= Severity::Critical {
        return message;
    }
    let field = |name: &str| message.field(name).to_string();
    let failure_ja = message.fields_ja.iter().find(|(k, _)| *k == "failure").map_or_else(|| field("failure"), |(_, v)| v.clone());
    Message::new(
        &catalogue::RSC_FAILED_BELOW_THRESHOLD,
        vec![
            ("rsc", field("rsc")),
            ("node", field("node")),
            ("reporter", field("reporter")),
            ("count", count.to_string()),
            ("threshold", threshold.to_string()),
            ("failure", field("failure")),
        ],
    )
    .ja(vec![("failure", failure_ja)])
}

/// MWHA1012I or MWHA1020I: where it was before, and why when known.
fn moved(entry: &'static Entry, prev: &Previous, with: impl Fn(Vec<(&'static str, String)>) -> Vec<(&'static str, String)>) -> Message {
    Message::new(entry, with(vec![("from", prev.node.clone()), ("why", prev.why.text(&prev.node))]))
        .ja(vec![("why", prev.why.text_ja(&prev.node))])
}

/// `2026-11-25T21:19:27.248Z`: the event's time in UTC with milliseconds.
pub fn utc_stamp(epoch: i64, usec: u32) -> String {
    let (days, rem) = (epoch.div_euclid(86_400), epoch.rem_euclid(86_400));
    let (y, m, d) = ocf::civil::civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z", rem / 3600, rem % 3600 / 60, rem % 60, usec / 1000)
}

/// The line written for a message: time, reporting node, ID, text in `lang` (the first three
/// are the same in every language).
pub fn line(event: &Event, now_epoch: i64, reporter: &str, message: &Message, lang: Lang) -> String {
    let stamp = match event.epoch {
        Some(epoch) => utc_stamp(epoch, event.usec),
        None => utc_stamp(now_epoch, 0),
    };
    format!("{stamp} {} {} {}", crate::event::sanitize(reporter), message.entry.id, message.text_in(lang))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::cluster::Why;

    fn monitor_failed(rc: i32) -> Failure {
        Failure { operation: "monitor".into(), status: crate::event::EXEC_DONE, rc }
    }

    const RECORDED: &str = include_str!("fixtures/alerts-2.1.5.env");

    /// The environment of one recorded section.
    fn recorded(name: &str) -> BTreeMap<String, String> {
        let mut vars = BTreeMap::new();
        let mut inside = false;
        for line in RECORDED.lines() {
            if let Some(header) = line.strip_prefix("#- ") {
                inside = header.split(':').next() == Some(name);
                continue;
            }
            if inside {
                if let Some((k, v)) = line.split_once('=') {
                    vars.insert(k.to_string(), v.to_string());
                }
            }
        }
        assert!(!vars.is_empty(), "no recorded section {name}");
        vars
    }

    fn facts(reporter: &str) -> Facts {
        Facts { reporter: reporter.to_string(), ..Facts::default() }
    }

    /// The lines for a recorded event with the given facts.
    fn check(name: &str, facts: Facts, expected: &[&str]) {
        let event = Event::from_vars(&recorded(name)).unwrap();
        let got: Vec<String> = classify(&event, &facts).iter().map(|m| line(&event, 0, &facts.reporter, m, Lang::En)).collect();
        assert_eq!(got, expected, "section {name}");
    }

    /// The same with `lang=ja`.
    fn check_ja(name: &str, facts: Facts, expected: &[&str]) {
        let event = Event::from_vars(&recorded(name)).unwrap();
        let got: Vec<String> = classify(&event, &facts).iter().map(|m| line(&event, 0, &facts.reporter, m, Lang::Ja)).collect();
        assert_eq!(got, expected, "section {name}");
    }

    /// Facts that fill every field a message can have.
    fn rich(reporter: &str) -> Facts {
        Facts {
            reporter: reporter.into(),
            exit_reason: Some("why".into()),
            previous: Some(Previous { node: "n8".into(), why: Why::NodeLost }),
            recent_failure_here: Some(monitor_failed(7)),
            quorum: Some(QuorumChange::Lost),
            failures: Some(FailureCount { count: 1, threshold: 3 }),
            // True would take away the probe's line, not fill a field.
            started_here: false,
        }
    }

    #[test]
    fn every_recorded_section_parses_and_every_message_is_fully_rendered() {
        for header in RECORDED.lines().filter_map(|l| l.strip_prefix("#- ")) {
            let name = header.split(':').next().unwrap();
            let event = Event::from_vars(&recorded(name)).unwrap_or_else(|| panic!("{name}: no event"));
            for facts in [facts("n9"), rich("n9")] {
                for m in classify(&event, &facts) {
                    for lang in [Lang::En, Lang::Ja] {
                        let text = m.text_in(lang);
                        assert!(!text.contains('{'), "{name}: {} left a placeholder ({lang:?}): {text}", m.entry.id);
                    }
                }
            }
        }
    }

    #[test]
    fn monitor_failure_is_unavailable_with_rc_and_exit_reason() {
        check(
            "monitor-not-running",
            Facts { exit_reason: Some("No process state file found".into()), ..facts("n1") },
            &["2026-11-25T21:23:53.624Z n1 MWHA1001E Resource d is unavailable on n1: monitor (every 2s) returned 7 (not running): No process state file found"],
        );
        check(
            "monitor-not-running",
            facts("n1"),
            &["2026-11-25T21:23:53.624Z n1 MWHA1001E Resource d is unavailable on n1: monitor (every 2s) returned 7 (not running)"],
        );
    }

    #[test]
    fn injected_failures_and_timeouts_are_unavailable_too() {
        check(
            "asyncmon-injected",
            facts("n2"),
            &["2026-11-25T21:19:27.248Z n2 MWHA1001E Resource d is unavailable on n2: monitor (injected with crm_resource --fail) returned 1 (error)"],
        );
        check(
            "monitor-timeout",
            facts("n3"),
            &["2026-11-25T21:24:16.576Z n3 MWHA1001E Resource t is unavailable on n3: monitor (every 3s) timed out after 2.0s"],
        );
        check(
            "clustermon-legacy",
            facts("n1"),
            &["1970-01-01T00:00:00.000Z n1 MWHA1001E Resource d is unavailable on n1: monitor returned 7 (not running)"],
        );
    }

    #[test]
    fn routine_results_give_no_line() {
        for name in ["monitor-ok-first-result", "monitor-cancelled", "reload-agent-ok", "promoted-monitor-first-result"] {
            check(name, facts("n1"), &[]);
        }
    }

    #[test]
    fn a_start_is_started_available_again_or_moved() {
        check("start-ok", facts("n1"), &["2026-11-25T21:18:50.992Z n1 MWHA1011I Resource d started on n1"]);
        check(
            "start-ok",
            Facts { recent_failure_here: Some(monitor_failed(7)), ..facts("n1") },
            &["2026-11-25T21:18:50.992Z n1 MWHA1010I Resource d is available again on n1 after monitor failed (rc 7)"],
        );
        let after_failure = Previous { node: "n1".into(), why: Why::Failed(monitor_failed(7)) };
        check(
            "start-ok-after-move",
            Facts { previous: Some(after_failure), ..facts("n2") },
            &["2026-11-25T21:23:53.716Z n2 MWHA1012I Resource d moved from n1 to n2 after monitor failed (rc 7) on n1"],
        );
        let lost = Previous { node: "n3".into(), why: Why::NodeLost };
        check(
            "start-ok-after-move",
            Facts { previous: Some(lost), ..facts("n2") },
            &["2026-11-25T21:23:53.716Z n2 MWHA1012I Resource d moved from n3 to n2 after node n3 was lost"],
        );
        check("stop-ok", facts("n1"), &["2026-11-25T21:23:53.676Z n1 MWHA1013I Resource d stopped on n1"]);
    }

    #[test]
    fn failed_starts_and_stops_have_their_own_ids() {
        check(
            "start-failed",
            facts("n2"),
            &["2026-11-25T21:23:59.612Z n2 MWHA1002E Resource e could not be started on n2: start returned 1 (error)"],
        );
        let mut vars = recorded("stop-ok");
        vars.insert("CRM_alert_rc".into(), "1".into());
        vars.insert("CRM_alert_desc".into(), "error".into());
        let event = Event::from_vars(&vars).unwrap();
        let m = &classify(&event, &facts("n1"))[0];
        assert_eq!(m.entry.id, "MWHA1003C");
        assert_eq!(
            m.text(),
            "Resource d could not be stopped on n1: stop returned 1 (error); Pacemaker will fence the node or block the resource"
        );
    }

    #[test]
    fn promotions_name_the_new_primary() {
        check(
            "promote-ok",
            Facts { previous: Some(Previous { node: "n3".into(), why: Why::Released }), ..facts("n2") },
            &["2026-11-25T21:24:34.148Z n2 MWHA1020I Primary of st moved from n3 to n2"],
        );
        check("promote-ok", facts("n2"), &["2026-11-25T21:24:34.148Z n2 MWHA1021I Resource st promoted to primary on n2"]);
        check("demote-ok", facts("n3"), &["2026-11-25T21:24:34.064Z n3 MWHA1022I Resource st demoted on n3"]);
    }

    #[test]
    fn membership_and_quorum() {
        check("node-lost-majority", facts("n1"), &["2026-11-25T21:24:54.412Z n1 MWHA2001W Node n3 left the cluster (seen from n1)"]);
        check(
            "node-lost-minority",
            Facts { quorum: Some(QuorumChange::Lost), ..facts("n3") },
            &[
                "2026-11-25T21:24:54.412Z n3 MWHA2001W Node n2 left the cluster (seen from n3)",
                "2026-11-25T21:24:54.412Z n3 MWHA2010C Node n3 lost quorum: its partition may no longer run resources (no-quorum-policy)",
            ],
        );
        check(
            "node-member",
            Facts { quorum: Some(QuorumChange::Regained), ..facts("n3") },
            &[
                "2026-11-25T21:25:01.240Z n3 MWHA2002I Node n1 joined the cluster (seen from n3)",
                "2026-11-25T21:25:01.240Z n3 MWHA2011I Node n3 has quorum again",
            ],
        );
    }

    #[test]
    fn fencing_and_attributes() {
        check(
            "fencing-ok",
            facts("n1"),
            &["2026-11-25T21:30:01.000Z n1 MWHA3001W Node n2 was fenced (reboot): Operation reboot of n2 by n1 for pacemaker-controld.1234@n1: OK (ref=5b2d7e0a-8a1f-4c7e-9d55-3f0c2a1b9e21)"],
        );
        check(
            "fencing-failed",
            facts("n1"),
            &["2026-11-25T21:30:31.000Z n1 MWHA3002C Fencing (reboot) of node n2 failed with rc -62: Operation reboot of n2 by n1 for pacemaker-controld.1234@n1: Timer expired (ref=8c1e)"],
        );
        check("attribute", facts("n1"), &["2026-11-25T21:31:00.000Z n1 MWHA4001I Node attribute master-st on n2 is now 10"]);
    }

    fn below(count: u32, threshold: u32, reporter: &str) -> Facts {
        Facts { failures: Some(FailureCount { count, threshold }), ..facts(reporter) }
    }

    /// `failure_threshold`: failures before the Nth in a row get MWHA1007W (no action class) with
    /// the failure itself; the Nth and later get their usual message; a failed stop never waits.
    #[test]
    fn failures_below_the_threshold_are_warnings_with_their_own_id() {
        check(
            "monitor-not-running",
            Facts { exit_reason: Some("No process state file found".into()), ..below(2, 3, "n1") },
            &["2026-11-25T21:23:53.624Z n1 MWHA1007W Resource d failed on n1 (2 of 3 failures in a row before it counts as unavailable): monitor (every 2s) returned 7 (not running): No process state file found"],
        );
        check_ja(
            "monitor-not-running",
            below(1, 5, "n1"),
            &["2026-11-25T21:23:53.624Z n1 MWHA1007W リソース d がノード n1 で失敗しました (使用不可とみなすまでの連続失敗 5 回のうち 1 回目): monitor (2s 間隔) の戻り値 7 (not running)"],
        );
        check(
            "start-failed",
            below(1, 2, "n2"),
            &["2026-11-25T21:23:59.612Z n2 MWHA1007W Resource e failed on n2 (1 of 2 failures in a row before it counts as unavailable): start returned 1 (error)"],
        );
        // The Nth failure, and any later one, is reported as usual.
        for count in [3, 4] {
            check(
                "monitor-not-running",
                below(count, 3, "n1"),
                &["2026-11-25T21:23:53.624Z n1 MWHA1001E Resource d is unavailable on n1: monitor (every 2s) returned 7 (not running)"],
            );
        }
        // A failed stop is critical: never held back.
        let mut vars = recorded("stop-ok");
        vars.insert("CRM_alert_rc".into(), "1".into());
        let m = &classify(&Event::from_vars(&vars).unwrap(), &below(1, 3, "n1"))[0];
        assert_eq!(m.entry.id, "MWHA1003C");
        // Anything but a failure is untouched by a count.
        for name in ["start-ok", "stop-ok", "promote-ok", "node-lost-majority", "monitor-ok-first-result"] {
            let event = Event::from_vars(&recorded(name)).unwrap();
            let plain: Vec<&str> = classify(&event, &facts("n1")).iter().map(|m| m.entry.id).collect();
            let counted: Vec<&str> = classify(&event, &below(1, 3, "n1")).iter().map(|m| m.entry.id).collect();
            assert_eq!(plain, counted, "{name}");
        }
        assert!(catalogue::RSC_FAILED_BELOW_THRESHOLD.action_classes.is_empty(), "no action_unavailable below the threshold");
    }

    /// The count and the messages agree: exactly the events whose message is of the
    /// `unavailable` class are failures; successful starts, promotes and monitors that find the
    /// resource running are successes; nothing else counts.
    #[test]
    fn failures_counted_are_exactly_the_unavailable_messages() {
        let mut seen = std::collections::BTreeMap::new();
        for header in RECORDED.lines().filter_map(|l| l.strip_prefix("#- ")) {
            let name = header.split(':').next().unwrap();
            let event = Event::from_vars(&recorded(name)).unwrap();
            let unavailable = classify(&event, &facts("n1")).iter().any(|m| m.entry.action_classes.contains(&"unavailable"));
            let t = tally(&event);
            assert_eq!(t == Some(Tally::Failure), unavailable, "{name}");
            seen.insert(name, t);
        }
        for (name, expected) in [
            ("monitor-not-running", Some(Tally::Failure)),
            ("asyncmon-injected", Some(Tally::Failure)),
            ("monitor-timeout", Some(Tally::Failure)),
            ("start-failed", Some(Tally::Failure)),
            ("start-ok", Some(Tally::Success)),
            ("start-ok-after-move", Some(Tally::Success)),
            ("promote-ok", Some(Tally::Success)),
            ("monitor-ok-first-result", Some(Tally::Success)),
            ("promoted-monitor-first-result", Some(Tally::Success)),
            ("monitor-cancelled", None),
            ("stop-ok", None),
            ("demote-ok", None),
            ("reload-agent-ok", None),
            ("node-lost-majority", None),
            ("fencing-failed", None),
        ] {
            assert_eq!(seen[name], expected, "{name}");
        }
        // A probe that finds the resource running where it should not is no failure of it.
        let mut vars = recorded("start-ok");
        for (k, v) in [("CRM_alert_task", "monitor"), ("CRM_alert_interval", "0"), ("CRM_alert_target_rc", "7"), ("CRM_alert_rc", "0")] {
            vars.insert(k.into(), v.into());
        }
        assert_eq!(tally(&Event::from_vars(&vars).unwrap()), None);
        // A probe that finds it stopped, as expected, is no success either.
        vars.insert("CRM_alert_rc".into(), "7".into());
        assert_eq!(tally(&Event::from_vars(&vars).unwrap()), None);
    }

    #[test]
    fn needs_only_what_the_event_uses() {
        let need = |name: &str| needs(&Event::from_vars(&recorded(name)).unwrap());
        assert_eq!(need("monitor-not-running"), Needs::ExitReason);
        assert_eq!(need("monitor-cancelled"), Needs::Nothing);
        assert_eq!(need("monitor-ok-first-result"), Needs::Nothing);
        assert_eq!(need("start-ok"), Needs::Location);
        assert_eq!(need("promote-ok"), Needs::PreviousPrimary);
        assert_eq!(need("node-member"), Needs::Quorum);
        assert_eq!(need("fencing-ok"), Needs::Nothing);
    }

    /// `lang=ja` changes the text only: the line is one line of UTF-8 with the English line's
    /// time, node and ID, and every value the English text shows is in it, unchanged (names,
    /// operations, return codes, Pacemaker's descriptions, exit reasons); only the fields that are
    /// mwha-alert's own phrases are worded in Japanese, and they keep the values they carry.
    #[test]
    fn japanese_lines_keep_the_time_node_id_and_every_value() {
        let mut seen = std::collections::BTreeSet::new();
        for header in RECORDED.lines().filter_map(|l| l.strip_prefix("#- ")) {
            let name = header.split(':').next().unwrap();
            let event = Event::from_vars(&recorded(name)).unwrap();
            for facts in [facts("n9"), rich("n9")] {
                for m in classify(&event, &facts) {
                    let en = line(&event, 0, "n9", &m, Lang::En);
                    let ja = line(&event, 0, "n9", &m, Lang::Ja);
                    assert_eq!(ja.lines().count(), 1, "{name}: {ja}");
                    assert!(!ja.chars().any(char::is_control), "{name}: {ja}");
                    assert!(std::str::from_utf8(ja.as_bytes()).is_ok());
                    let head = |l: &str| l.splitn(4, ' ').take(3).collect::<Vec<_>>().join(" ");
                    assert_eq!(head(&ja), head(&en), "{name}: time, node and ID");
                    assert_eq!(head(&ja).rsplit(' ').next(), Some(m.entry.id));
                    assert_ne!(m.text_in(Lang::Ja), m.text_in(Lang::En), "{name}: {} not translated", m.entry.id);
                    let placeholders = catalogue::placeholders(m.entry.text);
                    for (field, value) in &m.fields {
                        if !placeholders.contains(field) || value.is_empty() {
                            continue;
                        }
                        if m.fields_ja.iter().any(|(k, _)| k == field) {
                            continue; // worded per language: its values are checked below
                        }
                        assert!(ja.contains(value.as_str()), "{name}: {field}={value:?} missing from {ja}");
                    }
                    // The values inside the worded fields: the exit reason, the previous node, the rc.
                    for value in [": why", "n8", "rc 7", "(not running)", "(error)", "2.0s", "(2s", "(3s"] {
                        if en.contains(value) {
                            assert!(ja.contains(value), "{name}: {value:?} of {en} missing from {ja}");
                        }
                    }
                    seen.insert(m.entry.id);
                }
            }
        }
        assert!(seen.len() >= 14, "{seen:?}");
    }

    #[test]
    fn japanese_lines_read_as_operators_expect() {
        check_ja(
            "monitor-not-running",
            Facts { exit_reason: Some("No process state file found".into()), ..facts("n1") },
            &["2026-11-25T21:23:53.624Z n1 MWHA1001E リソース d がノード n1 で使用不可になりました: monitor (2s 間隔) の戻り値 7 (not running): No process state file found"],
        );
        check_ja(
            "asyncmon-injected",
            facts("n2"),
            &["2026-11-25T21:19:27.248Z n2 MWHA1001E リソース d がノード n2 で使用不可になりました: monitor (crm_resource --fail による障害注入) の戻り値 1 (error)"],
        );
        check_ja(
            "monitor-timeout",
            facts("n3"),
            &["2026-11-25T21:24:16.576Z n3 MWHA1001E リソース t がノード n3 で使用不可になりました: monitor (3s 間隔) のタイムアウト (2.0s)"],
        );
        check_ja(
            "start-failed",
            facts("n2"),
            &["2026-11-25T21:23:59.612Z n2 MWHA1002E リソース e をノード n2 で起動できませんでした: start の戻り値 1 (error)"],
        );
        check_ja("start-ok", facts("n1"), &["2026-11-25T21:18:50.992Z n1 MWHA1011I リソース d がノード n1 で起動しました"]);
        check_ja(
            "start-ok",
            Facts { recent_failure_here: Some(monitor_failed(7)), ..facts("n1") },
            &["2026-11-25T21:18:50.992Z n1 MWHA1010I リソース d がノード n1 で再び使用可能になりました (monitor の失敗 (rc 7) の後)"],
        );
        check_ja(
            "start-ok-after-move",
            Facts { previous: Some(Previous { node: "n1".into(), why: Why::Failed(monitor_failed(7)) }), ..facts("n2") },
            &["2026-11-25T21:23:53.716Z n2 MWHA1012I リソース d がノード n1 から n2 へ移動しました (n1 での monitor の失敗 (rc 7) の後)"],
        );
        check_ja(
            "start-ok-after-move",
            Facts { previous: Some(Previous { node: "n3".into(), why: Why::NodeLost }), ..facts("n2") },
            &["2026-11-25T21:23:53.716Z n2 MWHA1012I リソース d がノード n3 から n2 へ移動しました (ノード n3 の離脱後)"],
        );
        check_ja(
            "promote-ok",
            Facts { previous: Some(Previous { node: "n3".into(), why: Why::Released }), ..facts("n2") },
            &["2026-11-25T21:24:34.148Z n2 MWHA1020I st のプライマリーがノード n3 から n2 へ移動しました"],
        );
        check_ja(
            "node-lost-minority",
            Facts { quorum: Some(QuorumChange::Lost), ..facts("n3") },
            &[
                "2026-11-25T21:24:54.412Z n3 MWHA2001W ノード n2 がクラスターから離脱しました (n3 で検知)",
                "2026-11-25T21:24:54.412Z n3 MWHA2010C ノード n3 がクォーラムを失いました: このパーティションではリソースを実行できなくなることがあります (no-quorum-policy)",
            ],
        );
        check_ja(
            "fencing-failed",
            facts("n1"),
            &["2026-11-25T21:30:31.000Z n1 MWHA3002C ノード n2 のフェンシング (reboot) が rc -62 で失敗しました: Operation reboot of n2 by n1 for pacemaker-controld.1234@n1: Timer expired (ref=8c1e)"],
        );
        let mut vars = recorded("stop-ok");
        vars.insert("CRM_alert_rc".into(), "1".into());
        vars.insert("CRM_alert_desc".into(), "error".into());
        let m = &classify(&Event::from_vars(&vars).unwrap(), &facts("n1"))[0];
        assert_eq!(
            m.text_in(Lang::Ja),
            "リソース d をノード n1 で停止できませんでした: stop の戻り値 1 (error)。Pacemaker はノードをフェンシングするか、リソースをブロックします"
        );
        // A resource found running where the cluster had not started it (a probe that found it active).
        let mut vars = recorded("start-ok");
        for (k, v) in [("CRM_alert_task", "monitor"), ("CRM_alert_interval", "0"), ("CRM_alert_target_rc", "7"), ("CRM_alert_rc", "8")] {
            vars.insert(k.into(), v.into());
        }
        let m = &classify(&Event::from_vars(&vars).unwrap(), &facts("n1"))[0];
        assert_eq!(m.entry.id, "MWHA1005W");
        assert_eq!(m.text(), "Resource d was found running as primary on n1 where the cluster had not started it");
        assert_eq!(m.text_in(Lang::Ja), "クラスターが起動していないリソース d がノード n1 で見つかりました (プライマリーとして稼働中)");
    }

    /// A probe of `rsc` on `node` at `epoch` that found it running (rc 0) or promoted (rc 8),
    /// from the recorded start's environment, as Pacemaker passes it after a cleanup.
    fn probe(rsc: &str, node: &str, rc: i32, epoch: i64) -> BTreeMap<String, String> {
        let mut vars = recorded("start-ok");
        for (k, v) in [
            ("CRM_alert_task", "monitor"),
            ("CRM_alert_interval", "0"),
            ("CRM_alert_target_rc", "7"),
            ("CRM_alert_rc", &rc.to_string()),
            ("CRM_alert_desc", if rc == 8 { "promoted" } else { "ok" }),
            ("CRM_alert_rsc", rsc),
            ("CRM_alert_node", node),
            ("CRM_alert_timestamp_epoch", &epoch.to_string()),
        ] {
            vars.insert(k.into(), v.into());
        }
        vars
    }

    /// A recorded section with some variables changed.
    fn recorded_with(name: &str, changes: &[(&str, &str)]) -> BTreeMap<String, String> {
        let mut vars = recorded(name);
        for (k, v) in changes {
            vars.insert(format!("CRM_alert_{k}"), v.to_string());
        }
        vars
    }

    /// The message IDs of the last of `events`, after each was run through the memory of what the
    /// cluster started (a fresh `state_dir`) as `main.rs` does it.
    fn last_ids_through_the_memory(test: &str, events: &[BTreeMap<String, String>]) -> Vec<&'static str> {
        let dir = std::env::temp_dir().join(format!("mwha-alert-classify-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let state = crate::state::StateDir::open(&dir).unwrap();
        let deadline = ocf::deadline::Deadline::after(std::time::Duration::from_secs(5));
        let mut ids = Vec::new();
        for vars in events {
            let event = Event::from_vars(vars).unwrap();
            let started_here = presence(&event).is_some_and(|presence| {
                let what = crate::state::PresenceEvent { presence, node: &event.node, rsc: &event.rsc, at_us: event.at_us() };
                state.cluster_started(&what, "boot1", &deadline).unwrap() && presence == Presence::FoundRunning
            });
            ids = classify(&event, &Facts { started_here, ..facts(&event.node) }).iter().map(|m| m.entry.id).collect();
        }
        let _ = std::fs::remove_dir_all(dir);
        ids
    }

    #[test]
    fn presence_is_what_starts_stops_and_running_probes_tell() {
        let of = |vars: BTreeMap<String, String>| presence(&Event::from_vars(&vars).unwrap());
        for (name, expected) in [
            ("start-ok", Some(Presence::Started)),
            ("start-ok-after-move", Some(Presence::Started)),
            ("promote-ok", Some(Presence::Started)),
            ("stop-ok", Some(Presence::Stopped)),
            ("demote-ok", None),
            ("start-failed", None),
            ("monitor-cancelled", None),
            ("monitor-ok-first-result", None),
            ("promoted-monitor-first-result", None),
            ("node-lost-majority", None),
        ] {
            assert_eq!(of(recorded(name)), expected, "{name}");
        }
        assert_eq!(of(probe("d", "n1", 0, 1_795_649_000)), Some(Presence::FoundRunning));
        assert_eq!(of(probe("st", "n2", 8, 1_795_649_000)), Some(Presence::FoundRunning));
        assert_eq!(of(probe("d", "n1", 7, 1_795_649_000)), None, "found stopped, as expected");
        assert_eq!(of(recorded_with("stop-ok", &[("rc", "1"), ("desc", "error")])), None, "a failed stop");
        assert_eq!(of(recorded_with("stop-ok", &[("status", "2"), ("rc", "1")])), None, "a stop that timed out");
    }

    /// `pcs resource cleanup d` erases d's history, so Pacemaker probes it again on every node:
    /// found running where the cluster started it (and did not stop it), that is no MWHA1005W.
    /// Found running where the cluster stopped it, or never started it (nothing remembered: a
    /// reboot of the node, a start by hand), it still is.
    #[test]
    fn a_cleanups_probe_of_what_the_cluster_started_there_gives_no_line() {
        let later = 1_795_649_000;
        let ids = last_ids_through_the_memory;
        assert_eq!(ids("started", &[recorded("start-ok"), probe("d", "n1", 0, later)]), Vec::<&str>::new());
        assert_eq!(ids("stopped", &[recorded("start-ok"), recorded("stop-ok"), probe("d", "n1", 0, later)]), ["MWHA1005W"]);
        assert_eq!(ids("nothing", &[probe("d", "n1", 0, later)]), ["MWHA1005W"]);
        assert_eq!(ids("elsewhere", &[recorded("start-ok"), probe("d", "n2", 0, later)]), ["MWHA1005W"], "started on n1 only");
        assert_eq!(ids("other", &[recorded("start-ok"), probe("e", "n1", 0, later)]), ["MWHA1005W"]);
        // A failed stop leaves the resource where it was: still the cluster's.
        let failed_stop = recorded_with("stop-ok", &[("rc", "1"), ("desc", "error")]);
        assert_eq!(ids("failed-stop", &[recorded("start-ok"), failed_stop, probe("d", "n1", 0, later)]), Vec::<&str>::new());
        // Stopped and started again (a restart), in either order of their processes.
        let (stop, start) = (recorded("stop-ok"), recorded_with("start-ok", &[("timestamp_epoch", "1795641900")]));
        assert_eq!(ids("restart", &[recorded("start-ok"), stop.clone(), start.clone(), probe("d", "n1", 0, later)]), Vec::<&str>::new());
        assert_eq!(ids("restart-late", &[recorded("start-ok"), start, stop, probe("d", "n1", 0, later)]), Vec::<&str>::new());
        // The probe's own line, when it is still written.
        let m = &classify(&Event::from_vars(&probe("d", "n1", 0, later)).unwrap(), &facts("n1"))[0];
        assert_eq!(m.text(), "Resource d was found running on n1 where the cluster had not started it");
    }

    /// A promotable clone's primary, found promoted (rc 8) by a cleanup's probe.
    #[test]
    fn a_cleanups_probe_of_a_primary_the_cluster_promoted_there_gives_no_line() {
        let later = 1_795_649_000;
        let ids = last_ids_through_the_memory;
        assert_eq!(ids("promoted", &[recorded("promote-ok"), probe("st", "n2", 8, later)]), Vec::<&str>::new());
        let start = recorded_with("start-ok", &[("rsc", "st"), ("node", "n2")]);
        assert_eq!(ids("started-promoted", &[start, recorded("promote-ok"), probe("st", "n2", 8, later)]), Vec::<&str>::new());
        assert_eq!(ids("demoted", &[recorded("demote-ok"), probe("st", "n3", 8, later)]), ["MWHA1005W"], "a demote starts nothing");
        assert_eq!(ids("promoted-elsewhere", &[recorded("promote-ok"), probe("st", "n3", 8, later)]), ["MWHA1005W"]);
        let stop = recorded_with("stop-ok", &[("rsc", "st"), ("node", "n2"), ("timestamp_epoch", "1795642000")]);
        assert_eq!(ids("promoted-stopped", &[recorded("promote-ok"), stop, probe("st", "n2", 8, later)]), ["MWHA1005W"]);
    }

    /// Clone instances are one resource on a node, as everywhere in mwha-alert
    /// (`cluster::same_resource`): Pacemaker names an anonymous clone's instance `st` or `st:1`.
    #[test]
    fn clone_instances_are_one_resource_for_a_cleanups_probe() {
        let later = 1_795_649_000;
        let ids = last_ids_through_the_memory;
        let start = |rsc: &str| recorded_with("start-ok", &[("rsc", rsc), ("node", "n2")]);
        assert_eq!(ids("instance-start", &[start("st:0"), probe("st", "n2", 0, later)]), Vec::<&str>::new());
        assert_eq!(ids("base-start", &[start("st"), probe("st:1", "n2", 0, later)]), Vec::<&str>::new());
        assert_eq!(
            ids("instance-promote", &[recorded_with("promote-ok", &[("rsc", "st:1")]), probe("st", "n2", 8, later)]),
            Vec::<&str>::new()
        );
        let stop = recorded_with("stop-ok", &[("rsc", "st:1"), ("node", "n2")]);
        assert_eq!(ids("instance-stop", &[start("st:0"), stop, probe("st:0", "n2", 0, later)]), ["MWHA1005W"]);
        assert_eq!(ids("not-an-instance", &[start("st:main"), probe("st", "n2", 0, later)]), ["MWHA1005W"]);
    }

    /// The example lines of docs/messages.ja.md are what mwha-alert writes for those events.
    #[test]
    fn the_japanese_catalogues_examples_are_real_lines() {
        let md = catalogue::markdown_ja();
        let text = |name: &str, node: Option<&str>, facts: Facts| -> String {
            let mut vars = recorded(name);
            if let Some(node) = node {
                vars.insert("CRM_alert_node".into(), node.into());
            }
            let m = classify(&Event::from_vars(&vars).unwrap(), &facts).remove(0);
            format!("{} {} {}\n", facts.reporter, m.entry.id, m.text_in(Lang::Ja))
        };
        for example in [
            text("monitor-not-running", None, facts("n1")),
            text("start-ok", None, Facts { recent_failure_here: Some(monitor_failed(7)), ..facts("n1") }),
            text("node-lost-majority", Some("n1"), facts("n2")),
            text("start-ok-after-move", None, Facts { previous: Some(Previous { node: "n1".into(), why: Why::NodeLost }), ..facts("n2") }),
        ] {
            assert!(md.contains(&format!("Z {example}")), "docs/messages.ja.md lacks the line ending in {example}");
        }
    }

    #[test]
    fn utc_stamps() {
        assert_eq!(utc_stamp(0, 0), "1970-01-01T00:00:00.000Z");
        assert_eq!(utc_stamp(1_795_641_567, 248_822), "2026-11-25T21:19:27.248Z");
    }
}
