//! The alert's and the recipient's options. Pacemaker passes the `instance_attributes` of the
//! alert and of the recipient as environment variables named exactly like the attributes, the
//! recipient's overriding the alert's; `pcs alert create ... options severity=warning` and
//! `pcs alert recipient add ... options ids=MWHA1001E,MWHA1012I` both end up here.
//!
//! A bad value never silences an event: the default is used, the problem is reported
//! (MWHA9002E) and the agent exits 2.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::catalogue::{Entry, Lang, Severity};

/// Every option, for `--help` and docs: name, default, meaning.
pub const OPTIONS: &[(&str, &str, &str)] = &[
    ("severity", "info", "lowest severity written to this recipient: info, warning, error or critical"),
    ("ids", "(all)", "only these message IDs (comma or space separated; `MWHA10*` is a prefix)"),
    ("exclude_ids", "(none)", "never these message IDs (same syntax)"),
    ("lang", "en", "language of the text: en or ja (time, node, ID and severity stay the same; docs/messages.ja.md)"),
    ("syslog_facility", "daemon", "facility of syslog recipients and of problem reports (daemon, user, local0..local7)"),
    (
        "failure_threshold",
        "1",
        "failure lines (MWHA1001E, 1002E, 1004E, 1006E) and action_unavailable only at the Nth failure in a row of a resource \
         on a node (before: MWHA1007W); the resource available again there resets the count",
    ),
    ("action_<class>", "(none)", "command run for messages of that class: absolute path and arguments, no shell"),
    ("action_resources", "(all)", "actions run only for messages about these resources (comma or space separated)"),
    ("action_timeout", "10s", "the action is killed (with its process group) after this"),
    ("recovery_window", "600s", "a stop, demote or failure this recent explains a later start (moved, available again)"),
    ("query_cluster", "true", "read exit reasons and operation history from the CIB, quorum from crm_node"),
    ("state_dir", "/run/mwha/alert", "per-boot state (quorum, action de-duplication, failure counts, what the cluster started on this node); must be writable by hacluster"),
];

/// Where the line goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recipient {
    File(PathBuf),
    Syslog,
}

impl Recipient {
    /// An absolute path, `syslog`, or empty (no recipient configured: syslog).
    pub fn parse(value: &str) -> Result<Recipient, Why> {
        let value = value.trim();
        if value.is_empty() || value == "syslog" {
            return Ok(Recipient::Syslog);
        }
        if value.starts_with('/') {
            if value.ends_with('/') {
                return Err(Why::DIRECTORY);
            }
            return Ok(Recipient::File(PathBuf::from(value)));
        }
        Err(Why::RECIPIENT)
    }

    pub fn describe(&self) -> String {
        match self {
            Recipient::File(p) => p.display().to_string(),
            Recipient::Syslog => "syslog".to_string(),
        }
    }
}

/// A configured action: a program and its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionCommand {
    pub option: String,
    pub argv: Vec<String>,
}

impl ActionCommand {
    pub fn display(&self) -> String {
        self.argv.join(" ")
    }
}

/// A bad option value: reported as MWHA9002E.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub option: String,
    pub value: String,
    /// The `{error}` field, in English and in Japanese.
    pub error: String,
    pub error_ja: String,
}

impl Problem {
    pub fn new(option: &str, value: &str, why: Why) -> Problem {
        Problem {
            option: option.to_string(),
            value: crate::event::sanitize(value),
            error: why.en.to_string(),
            error_ja: why.ja.to_string(),
        }
    }
}

/// Why a value is refused, in both languages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Why {
    pub en: &'static str,
    pub ja: &'static str,
}

impl Why {
    const SEVERITY: Why = Why {
        en: "expected info, warning, error or critical",
        ja: "info、warning、error、critical のいずれかを指定してください",
    };
    const IDS: Why = Why {
        en: "message IDs look like MWHA1001E (a trailing * matches a prefix)",
        ja: "メッセージ ID は MWHA1001E の形式です (末尾の * は前方一致)",
    };
    const LANG: Why = Why { en: "expected en or ja", ja: "en または ja を指定してください" };
    const FACILITY: Why = Why {
        en: "expected daemon, user, syslog or local0..local7",
        ja: "daemon、user、syslog、local0..local7 のいずれかを指定してください",
    };
    const DURATION: Why =
        Why { en: "expected a duration like 10s, 500ms or 2m", ja: "10s、500ms、2m のような時間を指定してください" };
    const BOOLEAN: Why = Why { en: "expected true or false", ja: "true または false を指定してください" };
    const COUNT: Why = Why { en: "expected a whole number of at least 1", ja: "1 以上の整数を指定してください" };
    const ABSOLUTE: Why = Why { en: "must be an absolute path", ja: "絶対パスを指定してください" };
    const PROGRAM: Why = Why {
        en: "the program must be an absolute path (no shell, no PATH lookup)",
        ja: "プログラムは絶対パスで指定してください (シェルも PATH の検索も使いません)",
    };
    const RECIPIENT: Why = Why {
        en: "must be an absolute file path or \"syslog\"",
        ja: "ファイルの絶対パスまたは「syslog」を指定してください",
    };
    const DIRECTORY: Why = Why { en: "is a directory, not a file", ja: "ファイルではなくディレクトリーです" };

    /// Every reason, for the tests.
    #[cfg(test)]
    const ALL: [Why; 11] = [
        Why::SEVERITY,
        Why::IDS,
        Why::LANG,
        Why::FACILITY,
        Why::DURATION,
        Why::BOOLEAN,
        Why::COUNT,
        Why::ABSOLUTE,
        Why::PROGRAM,
        Why::RECIPIENT,
        Why::DIRECTORY,
    ];
}

#[derive(Debug, Clone)]
pub struct Options {
    pub min_severity: Severity,
    pub ids: Vec<String>,
    pub exclude_ids: Vec<String>,
    pub syslog_facility: u8,
    pub actions: BTreeMap<String, ActionCommand>,
    pub action_resources: Vec<String>,
    pub action_timeout: Duration,
    /// WebSphere's `failureThreshold`: the failures in a row of a resource on a node before its
    /// failure message and `action_unavailable` (1: every failure, the default).
    pub failure_threshold: u32,
    pub recovery_window: Duration,
    pub query_cluster: bool,
    pub state_dir: PathBuf,
    pub lang: Lang,
}

impl Options {
    pub fn from_vars(vars: &BTreeMap<String, String>) -> (Options, Vec<Problem>) {
        let mut problems = Vec::new();
        let mut problem = |option: &str, value: &str, why: Why| problems.push(Problem::new(option, value, why));
        let get = |name: &str| vars.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());

        let min_severity = match get("severity") {
            None => Severity::Info,
            Some(v) => Severity::parse(v).unwrap_or_else(|| {
                problem("severity", v, Why::SEVERITY);
                Severity::Info
            }),
        };
        let words = |v: Option<&str>| -> Vec<String> {
            v.map(|v| v.split(|c: char| c == ',' || c.is_whitespace()).filter(|s| !s.is_empty()).map(str::to_string).collect())
                .unwrap_or_default()
        };
        let upper = |v: Vec<String>| -> Vec<String> { v.into_iter().map(|s| s.to_ascii_uppercase()).collect() };
        let ids = upper(words(get("ids")));
        let exclude_ids = upper(words(get("exclude_ids")));
        let action_resources = words(get("action_resources"));
        for (name, patterns) in [("ids", &ids), ("exclude_ids", &exclude_ids)] {
            for p in patterns.iter() {
                if !p.starts_with("MWHA") {
                    problem(name, p, Why::IDS);
                }
            }
        }
        let syslog_facility = match get("syslog_facility") {
            None => 3,
            Some(v) => ocf::log::facility_code(v).unwrap_or_else(|| {
                problem("syslog_facility", v, Why::FACILITY);
                3
            }),
        };
        let mut duration = |name: &str, default: Duration| match get(name) {
            None => default,
            Some(v) => parse_duration(v).filter(|d| !d.is_zero()).unwrap_or_else(|| {
                problem(name, v, Why::DURATION);
                default
            }),
        };
        let action_timeout = duration("action_timeout", Duration::from_secs(10));
        let recovery_window = duration("recovery_window", Duration::from_secs(600));
        let failure_threshold = match get("failure_threshold") {
            None => 1,
            Some(v) => v.parse::<u32>().ok().filter(|n| *n >= 1).unwrap_or_else(|| {
                problem("failure_threshold", v, Why::COUNT);
                1
            }),
        };
        let query_cluster = match get("query_cluster").map(str::to_ascii_lowercase).as_deref() {
            None | Some("true" | "yes" | "1" | "on") => true,
            Some("false" | "no" | "0" | "off") => false,
            Some(v) => {
                problem("query_cluster", v, Why::BOOLEAN);
                true
            }
        };
        let state_dir = match get("state_dir") {
            None => PathBuf::from("/run/mwha/alert"),
            Some(v) if v.starts_with('/') => PathBuf::from(v),
            Some(v) => {
                problem("state_dir", v, Why::ABSOLUTE);
                PathBuf::from("/run/mwha/alert")
            }
        };
        let lang = match get("lang") {
            None => Lang::En,
            Some(v) => Lang::parse(v).unwrap_or_else(|| {
                problem("lang", v, Why::LANG);
                Lang::En
            }),
        };
        let mut actions = BTreeMap::new();
        for (name, value) in vars.iter() {
            let Some(class) = name.strip_prefix("action_") else { continue };
            if class == "timeout" || class == "resources" || value.trim().is_empty() {
                continue;
            }
            let argv: Vec<String> = value.split_whitespace().map(str::to_string).collect();
            if !argv[0].starts_with('/') {
                problem(name, value, Why::PROGRAM);
                continue;
            }
            actions.insert(class.to_string(), ActionCommand { option: name.clone(), argv });
        }
        (
            Options {
                min_severity,
                ids,
                exclude_ids,
                syslog_facility,
                actions,
                action_resources,
                action_timeout,
                failure_threshold,
                recovery_window,
                query_cluster,
                state_dir,
                lang,
            },
            problems,
        )
    }

    /// Whether a message with this entry goes to the recipient.
    pub fn wants(&self, entry: &Entry) -> bool {
        let matches = |pattern: &String| match pattern.strip_suffix('*') {
            Some(prefix) => entry.id.starts_with(prefix),
            None => entry.id == pattern,
        };
        entry.severity >= self.min_severity
            && (self.ids.is_empty() || self.ids.iter().any(matches))
            && !self.exclude_ids.iter().any(matches)
    }

    /// The action for a message about `rsc` ("" for node, fencing and quorum messages): the
    /// first of its classes that is configured, if `action_resources` lets the resource through.
    pub fn action_for(&self, entry: &Entry, rsc: &str) -> Option<&ActionCommand> {
        let base = |s: &str| s.split(':').next().unwrap_or(s).to_string();
        if !rsc.is_empty() && !self.action_resources.is_empty() && !self.action_resources.iter().any(|r| base(r) == base(rsc)) {
            return None;
        }
        entry.action_classes.iter().find_map(|class| self.actions.get(*class))
    }
}

/// "10s", "500ms", "2m", "10" (seconds).
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().ok()?;
    Some(match unit.trim() {
        "" | "s" | "sec" => Duration::from_secs(n),
        "ms" => Duration::from_millis(n),
        "m" | "min" => Duration::from_secs(n.checked_mul(60)?),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue;

    fn opts(pairs: &[(&str, &str)]) -> (Options, Vec<Problem>) {
        Options::from_vars(&pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
    }

    #[test]
    fn defaults_send_everything() {
        let (o, problems) = opts(&[("PATH", "/bin")]);
        assert!(problems.is_empty());
        assert!(catalogue::CATALOGUE.iter().all(|e| o.wants(e)));
        assert_eq!(o.action_timeout, Duration::from_secs(10));
        assert!(o.actions.is_empty());
    }

    #[test]
    fn severity_ids_and_exclusions_select_messages() {
        let (o, _) = opts(&[("severity", "warning")]);
        assert!(!o.wants(&catalogue::RSC_MOVED));
        assert!(o.wants(&catalogue::NODE_LOST) && o.wants(&catalogue::QUORUM_LOST));
        let (o, _) = opts(&[("ids", "MWHA1001E, mwha1012i MWHA20*"), ("exclude_ids", "MWHA2002I")]);
        assert!(o.wants(&catalogue::RSC_UNAVAILABLE) && o.wants(&catalogue::RSC_MOVED) && o.wants(&catalogue::NODE_LOST));
        assert!(!o.wants(&catalogue::NODE_JOINED) && !o.wants(&catalogue::RSC_STOPPED));
    }

    #[test]
    fn bad_values_are_problems_and_defaults_stay() {
        let (o, problems) =
            opts(&[("severity", "loud"), ("action_timeout", "soon"), ("action_available", "resume-listeners"), ("ids", "1001")]);
        assert_eq!(o.min_severity, Severity::Info);
        assert_eq!(o.action_timeout, Duration::from_secs(10));
        assert!(o.actions.is_empty());
        let named: Vec<&str> = problems.iter().map(|p| p.option.as_str()).collect();
        assert_eq!(named, ["severity", "ids", "action_timeout", "action_available"]);
    }

    #[test]
    fn actions_are_argv_and_the_most_specific_class_wins() {
        let (o, problems) =
            opts(&[("action_available", "/usr/local/bin/listeners resume"), ("action_moved", "/usr/local/bin/moved  --quiet")]);
        assert!(problems.is_empty());
        assert_eq!(o.action_for(&catalogue::RSC_MOVED, "d").unwrap().argv, ["/usr/local/bin/moved", "--quiet"]);
        assert_eq!(o.action_for(&catalogue::RSC_AVAILABLE_AGAIN, "d").unwrap().display(), "/usr/local/bin/listeners resume");
        assert!(o.action_for(&catalogue::RSC_UNAVAILABLE, "d").is_none());
        assert!(o.action_for(&catalogue::ACTION_FAILED, "").is_none());
    }

    #[test]
    fn action_resources_limit_actions_to_those_resources() {
        let (o, problems) = opts(&[("action_available", "/bin/resume"), ("action_node_lost", "/bin/page"), ("action_resources", "db, st")]);
        assert!(problems.is_empty(), "{problems:?}");
        assert!(o.action_for(&catalogue::RSC_STARTED, "db").is_some());
        assert!(o.action_for(&catalogue::RSC_STARTED, "st:1").is_some());
        assert!(o.action_for(&catalogue::RSC_STARTED, "web").is_none());
        assert!(o.action_for(&catalogue::NODE_LOST, "").is_some());
    }

    #[test]
    fn lang_selects_the_language_and_a_bad_one_is_a_problem() {
        assert_eq!(opts(&[]).0.lang, Lang::En);
        let (o, problems) = opts(&[("lang", "ja")]);
        assert_eq!((o.lang, problems.len()), (Lang::Ja, 0));
        assert_eq!(opts(&[("lang", " JA ")]).0.lang, Lang::Ja);
        assert_eq!(opts(&[("lang", "en")]).0.lang, Lang::En);
        for bad in ["jp", "ja_JP.UTF-8", "日本語"] {
            let (o, problems) = opts(&[("lang", bad), ("severity", "warning")]);
            assert_eq!(o.lang, Lang::En, "{bad}: the default stays");
            assert_eq!(o.min_severity, Severity::Warning, "{bad}: the other options still apply");
            assert_eq!(problems, [Problem::new("lang", bad, Why::LANG)]);
            assert_eq!(problems[0].error, "expected en or ja");
        }
    }

    /// WebSphere's failureThreshold is "an integer greater than 0"; 1 (every failure) is today's
    /// behaviour and the default, and a bad value never raises it.
    #[test]
    fn failure_threshold_is_a_whole_number_of_at_least_one() {
        assert_eq!(opts(&[]).0.failure_threshold, 1);
        let (o, problems) = opts(&[("failure_threshold", " 5 ")]);
        assert_eq!((o.failure_threshold, problems.len()), (5, 0));
        for bad in ["0", "-1", "five", "2.5", "99999999999"] {
            let (o, problems) = opts(&[("failure_threshold", bad)]);
            assert_eq!(o.failure_threshold, 1, "{bad}: the default stays");
            assert_eq!(problems, [Problem::new("failure_threshold", bad, Why::COUNT)], "{bad}");
        }
    }

    #[test]
    fn every_refusal_is_worded_in_both_languages() {
        for why in Why::ALL {
            assert!(why.en.is_ascii() && !why.en.is_empty(), "{why:?}");
            assert!(!why.ja.is_ascii(), "{why:?}");
        }
    }

    #[test]
    fn recipients() {
        assert_eq!(Recipient::parse(""), Ok(Recipient::Syslog));
        assert_eq!(Recipient::parse("syslog"), Ok(Recipient::Syslog));
        assert_eq!(Recipient::parse("/var/log/mwha/alerts.log"), Ok(Recipient::File("/var/log/mwha/alerts.log".into())));
        assert!(Recipient::parse("admin@example.com").is_err());
        assert!(Recipient::parse("/var/log/").is_err());
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Some(Duration::from_secs(120)));
        assert_eq!(parse_duration("x"), None);
    }
}
