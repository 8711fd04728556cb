//! One log line → time, node, daemon and message. Pure; no allocation.
//!
//! Pacemaker 2.x writes its detail log (lib/common/logging.c, `set_format_string`) as
//!
//! ```text
//! Dec 01 22:14:05.123 n2 pacemaker-controld  [1234] (te_rsc_command) <TAB>notice: Initiating start …
//! ```
//!
//! i.e. `%b %d %H:%M:%S.%03N`, the node name, the daemon padded to 20 columns, `[pid]`, the
//! function in parentheses, a tag (usually empty), a tab, the priority and the message. Without
//! libqb's high-resolution timestamps the `.%03N` is missing. The syslog/journal form
//! (`Dec  1 22:14:05 n2 pacemaker-controld[1234]:  notice: …`, or with an RFC 3339 stamp as
//! rsyslog writes it) is read too, to the precision it has. Anything else is not a line.

use std::ops::Range;

use crate::time::{self, Stamp};

/// Where the parts of a line are (byte ranges into the line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub at: Stamp,
    pub host: Range<usize>,
    pub daemon: Range<usize>,
    pub msg: Range<usize>,
}

/// What a line's year is taken from, when the stamp has none (see [`time::year_for`]).
#[derive(Debug, Clone, Copy)]
pub struct YearRef(pub (i32, u32, u32));

const PRIORITIES: [&[u8]; 10] = [b"trace", b"debug", b"info", b"notice", b"warning", b"warn", b"error", b"crit", b"alert", b"emerg"];

fn digits(b: &[u8]) -> Option<u32> {
    if b.is_empty() || b.len() > 9 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0, |n, d| n * 10 + u32::from(d - b'0')))
}

/// `HH:MM:SS` → (h, m, s)
fn hms(b: &[u8]) -> Option<(u32, u32, u32)> {
    if b.len() != 8 || b[2] != b':' || b[5] != b':' {
        return None;
    }
    let (h, m, s) = (digits(&b[0..2])?, digits(&b[3..5])?, digits(&b[6..8])?);
    (h < 24 && m < 60 && s <= 60).then_some((h, m, s))
}

/// Milliseconds of a fraction `.123456` (any number of digits); `(ms, bytes used)`.
fn fraction(b: &[u8]) -> (u32, usize) {
    if b.first() != Some(&b'.') {
        return (0, 0);
    }
    let n = b[1..].iter().take_while(|c| c.is_ascii_digit()).count();
    let mut ms = 0;
    for i in 0..3 {
        ms = ms * 10 + b.get(1 + i).filter(|_| i < n).map_or(0, |d| u32::from(d - b'0'));
    }
    (ms, 1 + n)
}

/// The stamp at the start of `line` and the offset just after it (before the separating space).
fn stamp(line: &[u8], year: YearRef) -> Option<(Stamp, usize)> {
    if line.len() < 16 {
        return None;
    }
    if let Some(mo) = time::month(&line[0..3]) {
        // "Dec 01 22:14:05.123" or "Dec  1 22:14:05"
        if line[3] != b' ' || line[6] != b' ' {
            return None;
        }
        let d = if line[4] == b' ' { digits(&line[5..6])? } else { digits(&line[4..6])? };
        let (h, mi, s) = hms(&line[7..15])?;
        let (ms, used) = fraction(&line[15..]);
        if !(1..=31).contains(&d) {
            return None;
        }
        let y = time::year_for(mo, d, year.0);
        return Some((Stamp::new(y, mo, d, h, mi, s, ms), 15 + used));
    }
    // RFC 3339: "2025-12-01T22:14:05.123456+09:00" (the zone is dropped: like the detail log's
    // stamps, it is the node's local wall clock).
    if line.len() < 19 || line[4] != b'-' || line[7] != b'-' || line[10] != b'T' {
        return None;
    }
    let (y, mo, d) = (digits(&line[0..4])?, digits(&line[5..7])?, digits(&line[8..10])?);
    let (h, mi, s) = hms(&line[11..19])?;
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    let (ms, used) = fraction(&line[19..]);
    let mut end = 19 + used;
    match line.get(end) {
        Some(b'Z') => end += 1,
        Some(b'+' | b'-') => end += line[end..].iter().position(|&c| c == b' ').unwrap_or(line.len() - end),
        _ => {}
    }
    Some((Stamp::new(y as i32, mo, d, h, mi, s, ms), end))
}

fn word_end(line: &[u8], from: usize, stop: impl Fn(u8) -> bool) -> usize {
    line[from..].iter().position(|&c| stop(c)).map_or(line.len(), |i| from + i)
}

/// Skips `prio: ` (a known priority word) at `at`, after any blanks; `None` if there is none.
fn after_priority(line: &[u8], mut at: usize) -> Option<usize> {
    if at > line.len() {
        return None;
    }
    while at < line.len() && (line[at] == b' ' || line[at] == b'\t') {
        at += 1;
    }
    let end = word_end(line, at, |c| c == b':' || c == b' ');
    if !PRIORITIES.contains(&&line[at..end]) || line.get(end..end + 2) != Some(b": ") {
        return None;
    }
    Some(end + 2)
}

/// Parses one line (without its newline). `None` for anything that is not a Pacemaker line.
pub fn parse(line: &[u8], year: YearRef) -> Option<Header> {
    let (at, mut i) = stamp(line, year)?;
    if line.get(i) != Some(&b' ') {
        return None;
    }
    i += 1;
    let host = i..word_end(line, i, |c| c == b' ');
    if host.is_empty() {
        return None;
    }
    i = host.end + 1;
    let daemon = i..word_end(line, i.min(line.len()), |c| c == b' ' || c == b'[');
    if daemon.is_empty() {
        return None;
    }
    i = daemon.end;
    while line.get(i) == Some(&b' ') {
        i += 1;
    }
    // "[pid]"
    if line.get(i) != Some(&b'[') {
        return None;
    }
    i = word_end(line, i, |c| c == b']') + 1;
    let msg_start = match line.get(i) {
        // syslog form: "name[pid]: [tag ]prio: message"
        Some(b':') => after_priority(line, i + 1)?,
        // detail form: "name [pid] (function[@file:line]) [tag]\tprio: message"
        Some(b' ') if line.get(i + 1) == Some(&b'(') => {
            let close = word_end(line, i + 1, |c| c == b')');
            let tab = word_end(line, close, |c| c == b'\t');
            if tab < line.len() {
                after_priority(line, tab + 1)?
            } else {
                // No tab (edited or re-formatted line): the first "prio: " after the function.
                after_priority(line, close + 1)?
            }
        }
        _ => return None,
    };
    Some(Header { at, host, daemon, msg: msg_start..line.len() })
}

#[cfg(test)]
mod tests {
    use super::*;

    const Y: YearRef = YearRef((2025, 12, 31));

    fn parts(line: &str) -> Option<(String, String, String, String)> {
        let h = parse(line.as_bytes(), Y)?;
        Some((h.at.to_string(), line[h.host].to_string(), line[h.daemon].to_string(), line[h.msg].to_string()))
    }

    #[test]
    fn detail_log_lines() {
        let p = parts("Dec 01 22:14:05.123 n2 pacemaker-controld  [1234] (te_rsc_command) \tnotice: Initiating start operation d_start_0 locally on n2 | action 7").unwrap();
        assert_eq!(p.0, "2025-12-01 22:14:05.123");
        assert_eq!((p.1.as_str(), p.2.as_str()), ("n2", "pacemaker-controld"));
        assert_eq!(p.3, "Initiating start operation d_start_0 locally on n2 | action 7");
        // A 20-character daemon name leaves no space before "[pid]"; a tag before the tab.
        let p = parts("Dec  1 01:02:03.004 node-a.example pacemaker-schedulerd[99] (pe_fence_node@unpack.c:120) mytag\twarning: Cluster node n1 will be fenced: peer lost").unwrap();
        assert_eq!(p.0, "2025-12-01 01:02:03.004");
        assert_eq!((p.1.as_str(), p.2.as_str()), ("node-a.example", "pacemaker-schedulerd"));
        assert_eq!(p.3, "Cluster node n1 will be fenced: peer lost");
        // No high-resolution stamps.
        assert_eq!(parts("Dec 01 22:14:05 n2 pacemaker-execd     [7] (log_execute) \tinfo: x").unwrap().0, "2025-12-01 22:14:05.000");
    }

    #[test]
    fn syslog_and_rfc3339_lines() {
        let p = parts("Dec  1 22:14:05 n2 pacemaker-controld[1234]:  notice: Node n1 state is now lost").unwrap();
        assert_eq!((p.0.as_str(), p.3.as_str()), ("2025-12-01 22:14:05.000", "Node n1 state is now lost"));
        let p = parts("2025-12-01T22:14:05.123456+09:00 n2 pacemaker-fenced[5]: notice: Peer n1 was terminated").unwrap();
        assert_eq!((p.0.as_str(), p.2.as_str()), ("2025-12-01 22:14:05.123", "pacemaker-fenced"));
        assert_eq!(parts("2025-12-01T22:14:05Z n2 pacemakerd[5]: info: x").unwrap().0, "2025-12-01 22:14:05.000");
    }

    #[test]
    fn other_lines_are_not_lines() {
        for line in [
            "",
            "Set r/w permissions for uid=189, gid=189 on /var/log/pacemaker/pacemaker.log",
            "Dec 01 22:14:05.123 [1234] n2 corosync notice  [TOTEM ] A processor failed",
            "Dec 01 22:14:05.123 n2 pacemaker-controld  [1234] (f) \tbogus: no priority",
            "Dec 41 22:14:05.123 n2 pacemaker-controld  [1234] (f) \tinfo: bad day",
            "Dec 01 22:64:05.123 n2 pacemaker-controld  [1234] (f) \tinfo: bad minute",
            "Dec 01 22:14:05.123 n2",
            "Dec 01 22:14:05.123 n2 pacemaker-controld  [12",
            "2025-12-01T22:14:05.1 n2",
            "Xyz 01 22:14:05.123 n2 pacemaker-controld  [1234] (f) \tinfo: x",
        ] {
            assert_eq!(parse(line.as_bytes(), Y), None, "{line:?}");
        }
    }

    #[test]
    fn non_utf8_and_odd_bytes_never_panic() {
        let mut line = b"Dec 01 22:14:05.123 n2 pacemaker-execd [1] (f) \tinfo: ".to_vec();
        line.extend_from_slice(&[0xff, 0xfe, b'(', b')']);
        assert!(parse(&line, Y).is_some());
        for cut in 0..line.len() {
            let _ = parse(&line[..cut], Y);
        }
    }
}
