//! Incidents → what the operator reads (English or Japanese) or what a script parses (JSON).

use std::io::{self, Write};

use serde::Serialize;

use crate::incident::{DurationSource, Incident, Kind, Step};
use crate::time::Stamp;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    En,
    Ja,
}

/// An incident as shown: filtered to the resources asked for, with the caller's marks.
#[derive(Debug, Clone)]
pub struct View {
    pub number: usize,
    pub inc: Incident,
    pub marks: Vec<(Stamp, String)>,
}

/// Whether `rsc` (a primitive, or a clone instance `rsc:N`) is one of `wanted`.
pub fn resource_matches(rsc: &str, wanted: &[String]) -> bool {
    wanted.iter().any(|w| rsc == w || rsc.strip_prefix(w.as_str()).is_some_and(|rest| rest.starts_with(':')))
}

/// Keeps the steps of `wanted` resources, the node-level steps and the first sign; `None` when
/// no step is about a wanted resource.
pub fn filter(mut inc: Incident, wanted: &[String]) -> Option<Incident> {
    if wanted.is_empty() {
        return Some(inc);
    }
    if !inc.steps.iter().any(|s| s.resource.as_deref().is_some_and(|r| resource_matches(r, wanted))) {
        return None;
    }
    let mut index = 0;
    inc.steps.retain(|s| {
        index += 1;
        index == 1 || s.resource.as_deref().is_none_or(|r| resource_matches(r, wanted))
    });
    Some(inc)
}

/// The figures at the bottom of an incident.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    pub fault_to_detected_ms: Option<i64>,
    pub detected_to_first_start_ms: Option<i64>,
    pub starts_ms: Option<i64>,
    pub total_ms: Option<i64>,
}

/// The end of an incident: the end of its last start that ended (a successful one, if any
/// succeeded).
pub fn end(inc: &Incident) -> Option<&Step> {
    let ended = || inc.steps.iter().filter(|s| s.kind == Kind::Start && s.end.is_some());
    let finish = |s: &&Step| s.end;
    ended().filter(|s| s.ok == Some(true)).max_by_key(finish).or_else(|| ended().max_by_key(finish))
}

fn end_time(step: &Step) -> Stamp {
    step.end.unwrap_or(step.at)
}

pub fn totals(inc: &Incident) -> Totals {
    let t0 = inc.t0();
    let detected = inc.detection().map(|d| d.0);
    let first_start = inc.steps.iter().filter(|s| s.kind == Kind::Start).map(|s| s.at).min();
    let end = end(inc).map(end_time);
    Totals {
        fault_to_detected_ms: detected.map(|d| d.ms_since(t0)),
        detected_to_first_start_ms: detected.zip(first_start).map(|(d, f)| f.ms_since(d)),
        starts_ms: first_start.zip(end).map(|(f, e)| e.ms_since(f)),
        total_ms: end.map(|e| e.ms_since(t0)),
    }
}

struct Labels {
    incident: &'static str,
    first_sign: &'static str,
    fault: &'static str,
    node_lost: &'static str,
    detected: &'static str,
    fence_requested: &'static str,
    fence_done: &'static str,
    fence_failed: &'static str,
    monitor_failed: &'static str,
    failure_reported: &'static str,
    /// After a reported failure's result: who reports this way.
    reported_how: &'static str,
    stop: &'static str,
    start: &'static str,
    promote: &'static str,
    demote: &'static str,
    end: &'static str,
    last_start: &'static str,
    ok: &'static str,
    failed: &'static str,
    no_result: &'static str,
    /// Before the node whose device fenced ("by n1").
    fenced_by: &'static str,
    node_went: &'static str,
    seen_by: &'static str,
    fault_to_detected: &'static str,
    detected_to_first_start: &'static str,
    starts: &'static str,
    total: &'static str,
    none: &'static str,
    none_found: &'static str,
    sep: &'static str,
}

const EN: Labels = Labels {
    incident: "Incident",
    first_sign: "first sign",
    fault: "fault (given)",
    node_lost: "node lost",
    detected: "detected",
    fence_requested: "fencing requested",
    fence_done: "fencing done",
    fence_failed: "fencing failed",
    monitor_failed: "monitor failed",
    failure_reported: "failure reported",
    reported_how: "crm_resource --fail: the mwha watcher or an admin",
    stop: "stop",
    start: "start",
    promote: "promote",
    demote: "demote",
    end: "end",
    last_start: "last start",
    ok: "ok",
    failed: "failed",
    no_result: "no result in the log",
    fenced_by: "by",
    node_went: "no result (the node was lost)",
    seen_by: "seen by",
    fault_to_detected: "fault → detected",
    detected_to_first_start: "detected → first start",
    starts: "starts",
    total: "total",
    none: "none",
    none_found: "No incident found",
    sep: ", ",
};

const JA: Labels = Labels {
    incident: "インシデント",
    first_sign: "最初の兆候",
    fault: "障害 (指定時刻)",
    node_lost: "ノード消失",
    detected: "検知",
    fence_requested: "フェンシング要求",
    fence_done: "フェンシング完了",
    fence_failed: "フェンシング失敗",
    monitor_failed: "監視失敗",
    failure_reported: "障害通知",
    reported_how: "crm_resource --fail: mwha の監視プロセスまたは管理者",
    stop: "停止",
    start: "起動",
    promote: "昇格",
    demote: "降格",
    end: "終了",
    last_start: "最後の起動",
    ok: "成功",
    failed: "失敗",
    no_result: "結果がログにありません",
    fenced_by: "実行ノード",
    node_went: "結果なし (ノードが失われました)",
    seen_by: "ログ",
    fault_to_detected: "障害 → 検知",
    detected_to_first_start: "検知 → 最初の起動",
    starts: "起動",
    total: "合計",
    none: "なし",
    none_found: "インシデントは見つかりませんでした",
    sep: "、",
};

fn labels(lang: Lang) -> &'static Labels {
    match lang {
        Lang::En => &EN,
        Lang::Ja => &JA,
    }
}

/// Terminal columns of `s` (East Asian wide characters take two).
fn width(s: &str) -> usize {
    s.chars()
        .map(|c| match u32::from(c) {
            0x1100..=0x115F | 0x2E80..=0x303E | 0x3041..=0x33FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xA000..=0xA4CF | 0xAC00..=0xD7A3 => {
                2
            }
            0xF900..=0xFAFF | 0xFE30..=0xFE4F | 0xFF00..=0xFF60 | 0xFFE0..=0xFFE6 => 2,
            _ => 1,
        })
        .sum()
}

fn pad(s: &str, cols: usize) -> String {
    let w = width(s);
    format!("{s}{}", " ".repeat(cols.saturating_sub(w)))
}

fn kind_label(l: &Labels, kind: Kind) -> &'static str {
    match kind {
        Kind::NodeLost => l.node_lost,
        Kind::Fence => l.fence_requested,
        Kind::MonitorFailed => l.monitor_failed,
        Kind::FailureReported => l.failure_reported,
        Kind::Stop => l.stop,
        Kind::Start => l.start,
        Kind::Promote => l.promote,
        Kind::Demote => l.demote,
    }
}

/// "node n1 lost" / "ノード n1 の消失", …
fn sign_text(lang: Lang, s: &Step) -> String {
    let rsc = s.resource.as_deref().unwrap_or("?");
    match (lang, s.kind) {
        (Lang::En, Kind::NodeLost) => format!("node {} lost", s.node),
        (Lang::En, Kind::Fence) => format!("fencing of {}", s.node),
        (Lang::En, Kind::MonitorFailed) => format!("monitor of {rsc} failed on {}", s.node),
        (Lang::En, Kind::FailureReported) => format!("failure of {rsc} reported on {}", s.node),
        (Lang::En, k) => format!("{} of {rsc} failed on {}", k.name(), s.node),
        (Lang::Ja, Kind::NodeLost) => format!("ノード {} の消失", s.node),
        (Lang::Ja, Kind::Fence) => format!("{} のフェンシング", s.node),
        (Lang::Ja, Kind::MonitorFailed) => format!("{} で {rsc} の監視が失敗", s.node),
        (Lang::Ja, Kind::FailureReported) => format!("{} で {rsc} の障害が通知された", s.node),
        (Lang::Ja, k) => format!("{} で {rsc} の{}が失敗", s.node, kind_label(&JA, k)),
    }
}

fn outcome(l: &Labels, s: &Step) -> String {
    let Some(result) = &s.result else { return if s.lost { l.node_went.to_string() } else { l.no_result.to_string() } };
    let mut text = match (s.ok, s.kind) {
        (Some(true), Kind::Fence) => result.clone(),
        (Some(true), _) if result == "ok" => l.ok.to_string(),
        (Some(true), _) => format!("{} ({result})", l.ok),
        (_, _) => format!("{}: {result}", l.failed),
    };
    if let (Some(rc), Some(false)) = (s.rc, s.ok) {
        text.push_str(&format!(" rc={rc}"));
    }
    if let Some(ms) = s.duration_ms() {
        text.push_str(&format!(" ({ms} ms)"));
    }
    text
}

/// Writes one incident as text.
pub fn text(out: &mut impl Write, lang: Lang, v: &View) -> io::Result<()> {
    let l = labels(lang);
    let inc = &v.inc;
    let t0 = inc.t0();
    let colon = if lang == Lang::Ja { "：" } else { ": " };
    writeln!(out, "{} {}{colon}{} ({}{colon}{})", l.incident, v.number, t0, l.first_sign, sign_text(lang, &inc.steps[0]))?;
    let node_cols = inc.steps.iter().map(|s| width(&s.node)).max().unwrap_or(0).max(2);
    // (time, order, node, what, detail)
    let mut rows: Vec<(Stamp, u8, String, String, String)> = Vec::new();
    if let Some(f) = inc.fault {
        rows.push((f, 0, String::new(), l.fault.to_string(), String::new()));
    }
    if let Some((at, why)) = inc.detection() {
        rows.push((at, 1, String::new(), l.detected.to_string(), why));
    }
    for s in &inc.steps {
        let seen = format!("{} {}", l.seen_by, s.seen_by.join(","));
        match s.kind {
            Kind::NodeLost => rows.push((s.at, 2, s.node.clone(), l.node_lost.to_string(), seen)),
            Kind::MonitorFailed | Kind::FailureReported => {
                let what = format!("{} {}", kind_label(l, s.kind), s.resource.as_deref().unwrap_or(""));
                let rc = s.rc.map_or(String::new(), |rc| format!(" rc={rc}"));
                let how = if s.kind == Kind::FailureReported { format!(" ({})", l.reported_how) } else { String::new() };
                rows.push((s.at, 2, s.node.clone(), what, format!("{}{rc}{how}", s.result.as_deref().unwrap_or(""))));
            }
            Kind::Fence => {
                let action = s.action.as_deref().unwrap_or("");
                rows.push((s.at, 2, s.node.clone(), l.fence_requested.to_string(), action.to_string()));
                if let Some(end) = s.end {
                    let done = if s.ok == Some(true) { l.fence_done } else { l.fence_failed };
                    let by = s.by.as_deref().map_or(String::new(), |by| format!(" {} {by}", l.fenced_by));
                    rows.push((end, 2, s.node.clone(), done.to_string(), format!("{}{by}", outcome(l, s))));
                }
            }
            k => {
                let what = format!("{} {}", kind_label(l, k), s.resource.as_deref().unwrap_or(""));
                rows.push((s.at, 2, s.node.clone(), what, outcome(l, s)));
            }
        }
    }
    if let Some(last) = end(inc) {
        let what = format!("{}{}{}", l.last_start, if lang == Lang::Ja { "：" } else { ": " }, last.resource.as_deref().unwrap_or(""));
        rows.push((end_time(last), 3, last.node.clone(), l.end.to_string(), what));
    }
    for (at, label) in &v.marks {
        rows.push((*at, 3, String::new(), label.clone(), String::new()));
    }
    rows.sort_by_key(|r| (r.0, r.1));
    let what_cols = rows.iter().map(|r| width(&r.3)).max().unwrap_or(0);
    for (at, _, node, what, detail) in &rows {
        let line = format!("  {:>+9} ms  {}  {}  {detail}", at.ms_since(t0), pad(node, node_cols), pad(what, what_cols));
        writeln!(out, "{}", line.trim_end())?;
    }
    let t = totals(inc);
    let fig = |v: Option<i64>| v.map_or(l.none.to_string(), |ms| format!("{ms} ms"));
    writeln!(
        out,
        "  {} {}{sep}{} {}{sep}{} {}{sep}{} {}",
        l.fault_to_detected,
        fig(t.fault_to_detected_ms),
        l.detected_to_first_start,
        fig(t.detected_to_first_start_ms),
        l.starts,
        fig(t.starts_ms),
        l.total,
        fig(t.total_ms),
        sep = l.sep
    )
}

pub fn none_found(out: &mut impl Write, lang: Lang, logs: &[String]) -> io::Result<()> {
    let l = labels(lang);
    writeln!(out, "{} ({})", l.none_found, logs.join(", "))
}

#[derive(Serialize)]
struct JsonEvent<'a> {
    at_ms: i64,
    node: &'a str,
    kind: &'static str,
    resource: Option<&'a str>,
    rc: Option<i32>,
    duration_ms: Option<i64>,
    time: String,
    end_ms: Option<i64>,
    ok: Option<bool>,
    result: Option<&'a str>,
    duration_source: Option<&'static str>,
    call: Option<u32>,
    action: Option<&'a str>,
    /// Fencing: the node whose device did it.
    #[serde(skip_serializing_if = "Option::is_none")]
    by: Option<&'a str>,
    seen_by: &'a [String],
}

#[derive(Serialize)]
struct JsonSign<'a> {
    kind: &'static str,
    node: &'a str,
    resource: Option<&'a str>,
    time: String,
}

#[derive(Serialize)]
struct JsonMark<'a> {
    at_ms: i64,
    label: &'a str,
}

#[derive(Serialize)]
struct JsonIncident<'a> {
    number: usize,
    start: String,
    first_sign: JsonSign<'a>,
    fault_given: bool,
    detected_ms: Option<i64>,
    detected_by: Option<String>,
    end_ms: Option<i64>,
    totals: Totals,
    events: Vec<JsonEvent<'a>>,
    marks: Vec<JsonMark<'a>>,
}

/// One incident as a JSON object (an element of `incidents`).
pub fn json(out: &mut impl Write, v: &View) -> io::Result<()> {
    let inc = &v.inc;
    let t0 = inc.t0();
    let first = &inc.steps[0];
    let detection = inc.detection();
    let mut steps: Vec<&Step> = inc.steps.iter().collect();
    steps.sort_by_key(|s| s.at);
    let doc = JsonIncident {
        number: v.number,
        start: t0.iso(),
        first_sign: JsonSign {
            kind: first.kind.name(),
            node: &first.node,
            resource: first.resource.as_deref(),
            time: inc.first_sign.iso(),
        },
        fault_given: inc.fault.is_some(),
        detected_ms: detection.as_ref().map(|d| d.0.ms_since(t0)),
        detected_by: detection.map(|d| d.1),
        end_ms: end(inc).map(|s| end_time(s).ms_since(t0)),
        totals: totals(inc),
        events: steps
            .into_iter()
            .map(|s| JsonEvent {
                at_ms: s.at.ms_since(t0),
                node: &s.node,
                kind: s.kind.name(),
                resource: s.resource.as_deref(),
                rc: s.rc,
                duration_ms: s.duration_ms(),
                time: s.at.iso(),
                end_ms: s.end.map(|e| e.ms_since(t0)),
                ok: s.ok,
                result: s.result.as_deref().or(if s.lost { Some("node lost") } else { None }),
                duration_source: s.duration_source().map(|d| match d {
                    DurationSource::Executor => "executor",
                    DurationSource::Cib => "cib",
                    DurationSource::Log => "log",
                }),
                call: s.call,
                action: s.action.as_deref(),
                by: s.by.as_deref(),
                seen_by: &s.seen_by,
            })
            .collect(),
        marks: v.marks.iter().map(|(at, label)| JsonMark { at_ms: at.ms_since(t0), label }).collect(),
    };
    serde_json::to_writer(&mut *out, &doc).map_err(io::Error::other)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::tests::{at, incidents};

    const LINES: &[&str] = &[
        "10:00:00.000 n2 pacemaker-controld notice: Node n1 state is now lost | nodeid=1",
        "10:00:02.000 n2 pacemaker-schedulerd notice: Actions: Start      d     ( n2 )",
        "10:00:02.010 n2 pacemaker-controld notice: Initiating start operation d_start_0 locally on n2 | action 6",
        "10:00:02.030 n2 pacemaker-execd info: d start (call 8, PID 1) exited with status 0 (execution time 15ms)",
        "10:00:02.031 n2 pacemaker-controld notice: Result of start operation for d on n2: ok | call=8 key=d_start_0 rc=0",
        "10:00:02.040 n2 pacemaker-controld notice: Initiating start operation vip:0_start_0 locally on n2 | action 7",
        "10:00:02.100 n2 pacemaker-controld notice: Result of start operation for vip:0 on n2: error (no such interface) | call=9 key=vip:0_start_0 rc=1",
        "10:00:02.200 n2 pacemaker-controld notice: Initiating stop operation vip:0_stop_0 locally on n2 | action 2",
        "10:00:02.300 n2 pacemaker-controld notice: Result of stop operation for vip:0 on n2: ok | call=10 key=vip:0_stop_0 rc=0",
    ];

    fn view() -> View {
        View { number: 1, inc: incidents(LINES, 30_000, None).remove(0), marks: vec![(at("10:00:02.500"), "service answered".to_string())] }
    }

    fn text_of(v: &View, lang: Lang) -> String {
        let mut out = Vec::new();
        text(&mut out, lang, v).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn english_text() {
        let out = text_of(&view(), Lang::En);
        let expected = "\
Incident 1: 2025-12-01 10:00:00.000 (first sign: node n1 lost)
         +0 ms  n1  node lost         seen by n2
      +2000 ms      detected          Actions: Start d ( n2 )
      +2010 ms  n2  start d           ok (15 ms)
      +2031 ms  n2  end               last start: d
      +2040 ms  n2  start vip:0       failed: error (no such interface) rc=1 (60 ms)
      +2200 ms  n2  stop vip:0        ok (100 ms)
      +2500 ms      service answered
  fault → detected 2000 ms, detected → first start 10 ms, starts 21 ms, total 2031 ms
";
        assert_eq!(out, expected);
    }

    #[test]
    fn japanese_text() {
        let out = text_of(&view(), Lang::Ja);
        let expected = "\
インシデント 1：2025-12-01 10:00:00.000 (最初の兆候：ノード n1 の消失)
         +0 ms  n1  ノード消失        ログ n2
      +2000 ms      検知              Actions: Start d ( n2 )
      +2010 ms  n2  起動 d            成功 (15 ms)
      +2031 ms  n2  終了              最後の起動：d
      +2040 ms  n2  起動 vip:0        失敗: error (no such interface) rc=1 (60 ms)
      +2200 ms  n2  停止 vip:0        成功 (100 ms)
      +2500 ms      service answered
  障害 → 検知 2000 ms、検知 → 最初の起動 10 ms、起動 21 ms、合計 2031 ms
";
        assert_eq!(out, expected);
    }

    #[test]
    fn json_keeps_the_promised_fields() {
        let mut out = Vec::new();
        json(&mut out, &view()).unwrap();
        let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(doc["start"], "2025-12-01T10:00:00.000");
        let events = doc["events"].as_array().unwrap();
        assert_eq!(events.len(), 4);
        for e in events {
            for key in ["at_ms", "node", "kind", "resource", "rc", "duration_ms"] {
                assert!(e.get(key).is_some(), "{key} in {e}");
            }
        }
        assert_eq!(events[0]["kind"], "node-lost");
        assert_eq!(events[0]["resource"], serde_json::Value::Null);
        assert_eq!(events[0]["rc"], serde_json::Value::Null);
        assert_eq!(
            (events[1]["at_ms"].as_i64(), events[1]["duration_ms"].as_i64(), events[1]["rc"].as_i64()),
            (Some(2010), Some(15), Some(0))
        );
        assert_eq!(events[2]["rc"], 1);
        assert_eq!(doc["totals"]["total_ms"], 2031);
        assert_eq!(doc["marks"][0]["at_ms"], 2500);
    }

    #[test]
    fn resource_filter_keeps_node_steps_and_clone_instances() {
        let inc = incidents(LINES, 30_000, None).remove(0);
        assert!(resource_matches("vip:0", &["vip".to_string()]));
        assert!(!resource_matches("vip2", &["vip".to_string()]));
        let only_vip = filter(inc.clone(), &["vip".to_string()]).unwrap();
        let kinds: Vec<_> = only_vip.steps.iter().map(|s| (s.kind.name(), s.resource.clone())).collect();
        assert_eq!(kinds, [("node-lost", None), ("start", Some("vip:0".into())), ("stop", Some("vip:0".into()))]);
        assert!(end(&only_vip).is_some_and(|s| s.resource.as_deref() == Some("vip:0")), "no successful start: the last one");
        assert!(filter(inc, &["other".to_string()]).is_none());
    }
}
