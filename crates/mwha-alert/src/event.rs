//! The event Pacemaker describes in the alert agent's environment, parsed without side effects.
//!
//! Pacemaker 2.1 sets every key twice, as `CRM_alert_<key>` and as the legacy `CRM_notify_<key>`
//! of the ClusterMon external-agent interface; the `CRM_alert_` name wins and the legacy name is
//! a fallback, so agents configured for ClusterMon (`crm_mon -E`) work too. Keys (Pacemaker
//! Administration, "Writing an Alert Agent"): kind (node, fencing, resource, attribute), node,
//! nodeid, rsc, task, interval (ms), desc, status, target_rc, rc, exec_time (ms), recipient,
//! version, node_sequence, timestamp (formatted per `timestamp-format`), timestamp_epoch,
//! timestamp_usec, attribute_name, attribute_value.
//!
//! `CRM_alert_desc` is not the agent's exit reason: for resources it is Pacemaker's text for the
//! rc ("not running") or for the execution status ("Timed Out", "Cancelled").

use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Node,
    Fencing,
    Resource,
    Attribute,
    Other(String),
}

/// Pacemaker's execution status of a resource operation (`enum pcmk_exec_status`).
pub const EXEC_DONE: i32 = 0;
pub const EXEC_CANCELLED: i32 = 1;
pub const EXEC_TIMEOUT: i32 = 2;

#[derive(Debug, Clone)]
pub struct Event {
    pub kind: Kind,
    pub recipient: String,
    pub node: String,
    pub rsc: String,
    pub task: String,
    /// `None` when Pacemaker did not say (ClusterMon's legacy interface).
    pub interval_ms: Option<u64>,
    pub desc: String,
    pub status: Option<i32>,
    pub target_rc: Option<i32>,
    pub rc: Option<i32>,
    pub exec_time_ms: Option<u64>,
    pub attribute_name: String,
    pub attribute_value: String,
    /// Seconds since the epoch and microseconds, when Pacemaker gave them (2.0.1+).
    pub epoch: Option<i64>,
    pub usec: u32,
}

impl Event {
    /// When Pacemaker saw the event, in µs since the epoch (now when it did not say): orders
    /// events whose processes run out of order, and names one event across recipients.
    pub fn at_us(&self) -> i64 {
        match self.epoch {
            Some(epoch) => epoch.saturating_mul(1_000_000).saturating_add(i64::from(self.usec)),
            None => std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_micros() as i64),
        }
    }

    /// Reads the event from the environment (as data). `None` when no kind can be found: the
    /// agent was not started by Pacemaker.
    pub fn from_vars(vars: &BTreeMap<String, String>) -> Option<Event> {
        let get = |key: &str| -> String {
            vars.get(&format!("CRM_alert_{key}"))
                .or_else(|| vars.get(&format!("CRM_notify_{key}")))
                .map(|v| sanitize(v))
                .unwrap_or_default()
        };
        let number = |key: &str| get(key).trim().parse::<i64>().ok();
        let rsc = get("rsc");
        let kind = match get("kind").as_str() {
            "node" => Kind::Node,
            "fencing" => Kind::Fencing,
            "resource" => Kind::Resource,
            "attribute" => Kind::Attribute,
            // ClusterMon's external agent predates CRM_notify_kind: infer it.
            "" if !rsc.is_empty() => Kind::Resource,
            "" if vars.contains_key("CRM_notify_node") || vars.contains_key("CRM_alert_node") => Kind::Node,
            "" => return None,
            other => Kind::Other(other.to_string()),
        };
        Some(Event {
            kind,
            recipient: get("recipient"),
            node: get("node"),
            rsc,
            task: get("task"),
            interval_ms: number("interval").and_then(|v| u64::try_from(v).ok()),
            desc: get("desc"),
            status: number("status").and_then(|v| i32::try_from(v).ok()),
            target_rc: number("target_rc").and_then(|v| i32::try_from(v).ok()),
            rc: number("rc").and_then(|v| i32::try_from(v).ok()),
            exec_time_ms: number("exec_time").and_then(|v| u64::try_from(v).ok()),
            attribute_name: get("attribute_name"),
            attribute_value: get("attribute_value"),
            epoch: number("timestamp_epoch"),
            usec: number("timestamp_usec").and_then(|v| u32::try_from(v).ok()).filter(|u| *u < 1_000_000).unwrap_or(0),
        })
    }

    /// A recurring monitor, or the fake `asyncmon` failure `crm_resource --fail` injects.
    pub fn is_recurring_monitor(&self) -> bool {
        (self.task == "monitor" && self.interval_ms != Some(0)) || self.task == "asyncmon"
    }

    /// A one-time monitor: Pacemaker's probe of a node.
    pub fn is_probe(&self) -> bool {
        self.task == "monitor" && self.interval_ms == Some(0)
    }

    /// The operation ended as Pacemaker expected (status done, rc = target rc).
    pub fn succeeded(&self) -> bool {
        self.status.unwrap_or(EXEC_DONE) == EXEC_DONE && self.rc.is_some() && self.rc == self.target_rc.or(Some(0))
    }

    /// "monitor (every 2s)", "probe", "start".
    pub fn operation(&self) -> String {
        if self.task == "asyncmon" {
            return "monitor (injected with crm_resource --fail)".to_string();
        }
        if self.is_probe() {
            return "probe".to_string();
        }
        if let Some(ms) = self.interval_ms.filter(|ms| *ms > 0) {
            return format!("{} (every {})", self.task, interval_text(ms));
        }
        self.task.clone()
    }

    /// What went wrong, without the exit reason: "returned 7 (not running)",
    /// "timed out after 2.0s", "could not be executed: not installed (status 7)".
    pub fn outcome(&self) -> String {
        let rc = self.rc.unwrap_or(-1);
        match self.status.unwrap_or(EXEC_DONE) {
            EXEC_DONE => format!("returned {rc} ({})", if self.desc.is_empty() { ocf_rc_text(rc) } else { &self.desc }),
            EXEC_TIMEOUT => match self.exec_time_ms {
                Some(ms) if ms > 0 => format!("timed out after {:.1}s", ms as f64 / 1000.0),
                _ => "timed out".to_string(),
            },
            status => format!("could not be executed: {} (status {status})", if self.desc.is_empty() { "error" } else { &self.desc }),
        }
    }

    /// `operation` in Japanese: "monitor (2s 間隔)", "probe", "start" (Pacemaker's names stay).
    pub fn operation_ja(&self) -> String {
        if self.task == "asyncmon" {
            return "monitor (crm_resource --fail による障害注入)".to_string();
        }
        if self.is_probe() {
            return "probe".to_string();
        }
        if let Some(ms) = self.interval_ms.filter(|ms| *ms > 0) {
            return format!("{} ({} 間隔)", self.task, interval_text(ms));
        }
        self.task.clone()
    }

    /// `outcome` in Japanese, to follow `operation_ja` after a space: "の戻り値 7 (not running)",
    /// "のタイムアウト (2.0s)", "の実行失敗: not installed (status 7)". Pacemaker's description stays.
    pub fn outcome_ja(&self) -> String {
        let rc = self.rc.unwrap_or(-1);
        match self.status.unwrap_or(EXEC_DONE) {
            EXEC_DONE => format!("の戻り値 {rc} ({})", if self.desc.is_empty() { ocf_rc_text(rc) } else { &self.desc }),
            EXEC_TIMEOUT => match self.exec_time_ms {
                Some(ms) if ms > 0 => format!("のタイムアウト ({:.1}s)", ms as f64 / 1000.0),
                _ => "のタイムアウト".to_string(),
            },
            status => format!("の実行失敗: {} (status {status})", if self.desc.is_empty() { "error" } else { &self.desc }),
        }
    }
}

/// 2000 → "2s", 90000 → "90s", 1500 → "1.5s".
pub fn interval_text(ms: u64) -> String {
    let d = std::time::Duration::from_millis(ms);
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{:.1}s", ms as f64 / 1000.0)
    }
}

/// Pacemaker's text for an OCF exit code (`services_ocf_exitcode_str`), for legacy callers
/// that leave `desc` empty.
pub fn ocf_rc_text(rc: i32) -> &'static str {
    match rc {
        0 => "ok",
        1 => "error",
        2 => "invalid parameter",
        3 => "unimplemented feature",
        4 => "insufficient privileges",
        5 => "not installed",
        6 => "not configured",
        7 => "not running",
        8 => "promoted",
        9 => "promoted (failed)",
        190 => "degraded",
        191 => "promoted (degraded)",
        _ => "unknown",
    }
}

/// One line per event: control characters and line separators (a newline in an exit reason or
/// an option) become spaces, so a field can never start a second line.
pub fn sanitize(text: &str) -> String {
    text.chars().map(|c| if is_flattened(c) { ' ' } else { c }).collect()
}

/// Everything a log viewer, editor or terminal may take as a line break or let rewrite what is
/// shown: the C0 and C1 controls (LF, CR, VT, FF, NEL U+0085, ESC…), the mandatory breaks of
/// Unicode's line breaking algorithm outside those (U+2028 LINE SEPARATOR, U+2029 PARAGRAPH
/// SEPARATOR), and the bidirectional controls, which make a line display in another order than
/// it is written.
fn is_flattened(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}')
        || matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn alert_names_win_and_legacy_names_are_a_fallback() {
        let e = Event::from_vars(&vars(&[
            ("CRM_alert_kind", "resource"),
            ("CRM_notify_rsc", "legacy"),
            ("CRM_alert_rsc", "d"),
            ("CRM_notify_task", "monitor"),
            ("CRM_notify_interval", "2000"),
            ("CRM_notify_rc", "7"),
        ]))
        .unwrap();
        assert_eq!((e.kind, e.rsc.as_str(), e.task.as_str(), e.interval_ms, e.rc), (Kind::Resource, "d", "monitor", Some(2000), Some(7)));
    }

    #[test]
    fn clustermon_events_without_kind_are_inferred() {
        let e = Event::from_vars(&vars(&[("CRM_notify_rsc", "d"), ("CRM_notify_task", "start")])).unwrap();
        assert_eq!(e.kind, Kind::Resource);
        assert!(Event::from_vars(&vars(&[("PATH", "/bin")])).is_none());
    }

    #[test]
    fn outcomes_read_like_crm_mon() {
        let mut e =
            Event::from_vars(&vars(&[("CRM_alert_kind", "resource"), ("CRM_alert_rc", "7"), ("CRM_alert_desc", "not running")])).unwrap();
        assert_eq!(e.outcome(), "returned 7 (not running)");
        e.status = Some(EXEC_TIMEOUT);
        e.exec_time_ms = Some(2001);
        assert_eq!(e.outcome(), "timed out after 2.0s");
        e.status = Some(7);
        e.desc = "Not installed".into();
        assert_eq!(e.outcome(), "could not be executed: Not installed (status 7)");
        assert_eq!(interval_text(1500), "1.5s");
    }

    #[test]
    fn outcomes_in_japanese_keep_pacemakers_values() {
        let mut e = Event::from_vars(&vars(&[
            ("CRM_alert_kind", "resource"),
            ("CRM_alert_task", "monitor"),
            ("CRM_alert_interval", "2000"),
            ("CRM_alert_rc", "7"),
            ("CRM_alert_desc", "not running"),
        ]))
        .unwrap();
        assert_eq!(format!("{} {}", e.operation_ja(), e.outcome_ja()), "monitor (2s 間隔) の戻り値 7 (not running)");
        e.status = Some(EXEC_TIMEOUT);
        e.exec_time_ms = Some(2001);
        assert_eq!(e.outcome_ja(), "のタイムアウト (2.0s)");
        e.exec_time_ms = None;
        assert_eq!(e.outcome_ja(), "のタイムアウト");
        e.status = Some(7);
        e.desc = "Not installed".into();
        assert_eq!(e.outcome_ja(), "の実行失敗: Not installed (status 7)");
        e.interval_ms = Some(0);
        assert_eq!(e.operation_ja(), "probe");
        e.task = "asyncmon".into();
        assert_eq!(e.operation_ja(), "monitor (crm_resource --fail による障害注入)");
    }

    #[test]
    fn newlines_never_reach_a_line() {
        let e = Event::from_vars(&vars(&[("CRM_alert_kind", "node"), ("CRM_alert_node", "n1\nMWHA0000I forged")])).unwrap();
        assert_eq!(e.node, "n1 MWHA0000I forged");
    }

    #[test]
    fn every_line_break_and_control_is_flattened() {
        // The mandatory breaks of UAX #14 (BK, CR, LF, NL), other C0/C1 controls, bidi controls.
        for c in [
            '\n', '\r', '\u{0B}', '\u{0C}', '\u{85}', '\u{2028}', '\u{2029}', '\0', '\t', '\u{1B}', '\u{7F}', '\u{9B}', '\u{202E}',
            '\u{2066}', '\u{200F}', '\u{061C}',
        ] {
            assert_eq!(sanitize(&format!("n1{c}MWHA0000I forged")), "n1 MWHA0000I forged", "U+{:04X}", u32::from(c));
        }
        assert_eq!(sanitize("Ресурс d — ok ✓"), "Ресурс d — ok ✓", "other text is kept");
    }
}
