//! Reading an operation's configured timeout from the CIB, so validate-all can warn about a
//! timeout below what an action needs before that action fails (or fences) in production.
//!
//! Best-effort: without `cibadmin`, a cluster or the resource in the CIB, the answer is `None`.
//! `cibadmin` runs bounded, as the agent's user, with Pacemaker's own `CIB_file`/`CIB_shadow`
//! passed on (offline CIBs and shadow copies, as `crm_resource --validate` uses them).

use std::time::Duration;

use crate::deadline::Deadline;
use crate::spawn::{self, CommandLine};

const CIBADMIN: &[&str] = &["/usr/sbin/cibadmin", "/usr/bin/cibadmin", "/sbin/cibadmin"];
/// The longest one query may take.
const QUERY_LIMIT: Duration = Duration::from_secs(3);

/// The `timeout` configured for `action` of primitive `resource` (a clone instance's `:N` is
/// dropped), when the CIB says.
pub fn op_timeout(resource: &str, action: &str, deadline: &Deadline) -> Option<Duration> {
    let id = resource.split(':').next()?;
    // XML IDs: anything else cannot be a primitive's id and must not reach an XPath.
    let is_id = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if !is_id(id) || !is_id(action) {
        return None;
    }
    let cibadmin = CIBADMIN.iter().find(|p| std::path::Path::new(p).is_file())?;
    let xpath = format!("//primitive[@id='{id}']/operations/op[@name='{action}']");
    let mut cmd = CommandLine::new(cibadmin).arg("--query").arg("--xpath").arg(xpath);
    for var in ["CIB_file", "CIB_shadow"] {
        if let Some(v) = std::env::var_os(var) {
            cmd = cmd.env((var.into(), v));
        }
    }
    let done = spawn::bounded(None, &cmd, &deadline.within(QUERY_LIMIT)).ok()?;
    if !done.success() {
        return None;
    }
    timeout_attribute(&done.stdout).and_then(|t| parse_duration(&t))
}

/// The first `timeout="…"` attribute of the first `<op` element.
fn timeout_attribute(xml: &str) -> Option<String> {
    let mut reader = quick_xml::Reader::from_str(xml);
    loop {
        match reader.read_event().ok()? {
            quick_xml::events::Event::Empty(e) | quick_xml::events::Event::Start(e) if e.name().as_ref() == b"op" => {
                let attr = e.try_get_attribute("timeout").ok()??;
                return attr.unescape_value().ok().map(|v| v.into_owned());
            }
            quick_xml::events::Event::Eof => return None,
            _ => {}
        }
    }
}

/// Pacemaker's interval/timeout syntax (`crm_get_msec`): a number and an optional unit (ms,
/// msec, us, usec, s, sec, m, min, h, hr); no unit means seconds.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().ok()?;
    let ms = match unit.trim() {
        "" | "s" | "sec" => n.checked_mul(1000)?,
        "ms" | "msec" => n,
        "us" | "usec" => n / 1000,
        "m" | "min" => n.checked_mul(60_000)?,
        "h" | "hr" => n.checked_mul(3_600_000)?,
        _ => return None,
    };
    Some(Duration::from_millis(ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pacemaker_durations() {
        for (text, ms) in [("4s", 4000), ("4", 4000), ("4000ms", 4000), ("2min", 120_000), ("1h", 3_600_000), ("90sec", 90_000)] {
            assert_eq!(parse_duration(text), Some(Duration::from_millis(ms)), "{text}");
        }
        for bad in ["", "s", "4 parsecs", "-4s", "4.5s"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_timeout_of_the_op_element() {
        let xml = r#"<op id="booster-stop-interval-0s" interval="0s" name="stop" timeout="4s"/>"#;
        assert_eq!(timeout_attribute(xml).as_deref(), Some("4s"));
        assert_eq!(timeout_attribute(r#"<op id="x" name="stop" interval="0s"/>"#), None);
        assert_eq!(timeout_attribute("garbage"), None);
    }

    #[test]
    fn ids_that_could_change_the_xpath_are_not_queried() {
        let d = Deadline::after(Duration::from_secs(5));
        assert_eq!(op_timeout("x' or '1'='1", "stop", &d), None);
        assert_eq!(op_timeout("booster", "stop']/..", &d), None);
    }
}
