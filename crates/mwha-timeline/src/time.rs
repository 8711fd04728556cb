//! Time as Pacemaker logs it: the node's local wall clock, to the millisecond, without a year or
//! a zone. A [`Stamp`] is that wall clock counted in ms from 1970-01-01 00:00 *of the same clock*:
//! comparisons and differences are exact, and nothing pretends to know the node's time zone.

use std::fmt;

use anyhow::{bail, Result};

/// Local wall-clock time in ms (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Stamp(pub i64);

const MS_PER_DAY: i64 = 86_400_000;

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
pub fn days_from_civil(y: i32, m: u32, d: u32) -> i64 {
    let y = i64::from(y) - i64::from(m <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day number (inverse of [`days_from_civil`]; ocf's calendar routine).
pub fn civil_from_days(z: i64) -> (i32, u32, u32) {
    let (y, m, d) = ocf::civil::civil_from_days(z);
    (y as i32, m, d)
}

impl Stamp {
    pub fn new(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32, ms: u32) -> Stamp {
        Stamp(days_from_civil(y, mo, d) * MS_PER_DAY + i64::from(h * 3_600_000 + mi * 60_000 + s * 1000 + ms))
    }

    /// (year, month, day, hour, minute, second, ms)
    pub fn parts(self) -> (i32, u32, u32, u32, u32, u32, u32) {
        let (y, mo, d) = civil_from_days(self.0.div_euclid(MS_PER_DAY));
        let r = self.0.rem_euclid(MS_PER_DAY) as u32;
        (y, mo, d, r / 3_600_000, r / 60_000 % 60, r / 1000 % 60, r % 1000)
    }

    /// ISO 8601 local time with ms, no zone: `2025-12-01T22:14:05.123`.
    pub fn iso(self) -> String {
        let (y, mo, d, h, mi, s, ms) = self.parts();
        format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ms:03}")
    }

    pub fn ms_since(self, earlier: Stamp) -> i64 {
        self.0 - earlier.0
    }
}

impl fmt::Display for Stamp {
    /// `2025-12-01 22:14:05.123`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, mo, d, h, mi, s, ms) = self.parts();
        write!(f, "{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}.{ms:03}")
    }
}

/// Month number of an English abbreviation as strftime `%b` prints it in the C locale.
pub fn month(abbr: &[u8]) -> Option<u32> {
    const MONTHS: [&[u8; 3]; 12] = [b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec"];
    MONTHS.iter().position(|m| m.as_slice() == abbr).map(|i| i as u32 + 1)
}

/// The year of a log line that names only month and day: the year of `reference` (a moment
/// known to be at or after the line, e.g. the file's mtime), or the year before when the date
/// would lie after the reference (a log that spans New Year). One day of slack absorbs the
/// difference between the node's zone and UTC.
pub fn year_for(mo: u32, d: u32, reference: (i32, u32, u32)) -> i32 {
    let (ry, rm, rd) = reference;
    if (mo, d) <= (rm, rd) || days_from_civil(ry, mo, d) - days_from_civil(ry, rm, rd) <= 1 {
        ry
    } else {
        ry - 1
    }
}

/// Parses a time given on the command line, in the nodes' local time like the log:
/// `2025-12-01 22:14`, `2025-12-01T22:14:05`, `2025-12-01 22:14:05.123`, or a date alone
/// (midnight).
pub fn parse_cli(text: &str) -> Result<Stamp> {
    let t = text.trim();
    let (date, time) = match t.find(['T', ' ']) {
        Some(i) => (&t[..i], t[i + 1..].trim()),
        None => (t, ""),
    };
    let num = |s: &str, what: &str| -> Result<u32> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            bail!("{text:?}: bad {what} (expected YYYY-MM-DD[ HH:MM[:SS[.mmm]]], the nodes' local time)");
        }
        Ok(s.parse()?)
    };
    let mut dp = date.split('-');
    let (Some(y), Some(mo), Some(d), None) = (dp.next(), dp.next(), dp.next(), dp.next()) else {
        bail!("{text:?}: expected YYYY-MM-DD[ HH:MM[:SS[.mmm]]] (the nodes' local time)");
    };
    let (y, mo, d) = (num(y, "year")?, num(mo, "month")?, num(d, "day")?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || y > 9999 {
        bail!("{text:?}: no such date");
    }
    let (mut h, mut mi, mut s, mut ms) = (0, 0, 0, 0);
    if !time.is_empty() {
        let (hms, frac) = match time.split_once(['.', ',']) {
            Some((a, b)) => (a, Some(b)),
            None => (time, None),
        };
        let mut tp = hms.split(':');
        h = num(tp.next().unwrap_or(""), "hour")?;
        mi = num(tp.next().unwrap_or(""), "minute")?;
        if let Some(sec) = tp.next() {
            s = num(sec, "second")?;
        }
        if tp.next().is_some() || h > 23 || mi > 59 || s > 60 {
            bail!("{text:?}: bad time of day");
        }
        if let Some(frac) = frac {
            let digits = num(frac, "fraction")?;
            ms = match frac.len() {
                1 => digits * 100,
                2 => digits * 10,
                3 => digits,
                _ => frac[..3].parse()?,
            };
        }
    }
    Ok(Stamp::new(y as i32, mo, d, h, mi, s, ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trips() {
        for z in [-800_000, -1, 0, 1, 10_957, 20_000, 2_932_896] {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(civil_from_days(days_from_civil(2024, 2, 29)), (2024, 2, 29));
    }

    #[test]
    fn stamps_format_as_iso_with_ms() {
        let t = Stamp::new(2025, 12, 1, 22, 14, 5, 7);
        assert_eq!(t.iso(), "2025-12-01T22:14:05.007");
        assert_eq!(t.to_string(), "2025-12-01 22:14:05.007");
        assert_eq!(Stamp::new(2025, 12, 2, 0, 0, 0, 0).ms_since(t), 6_354_993);
    }

    #[test]
    fn year_of_a_line_comes_from_the_reference_and_wraps_at_new_year() {
        assert_eq!(year_for(12, 1, (2025, 12, 3)), 2025);
        assert_eq!(year_for(12, 31, (2026, 1, 2)), 2025);
        assert_eq!(year_for(1, 2, (2026, 1, 1)), 2026, "a day of slack for the zone");
        assert_eq!(year_for(6, 1, (2026, 3, 1)), 2025);
    }

    #[test]
    fn command_line_times() {
        assert_eq!(parse_cli("2025-12-01 22:14").unwrap(), Stamp::new(2025, 12, 1, 22, 14, 0, 0));
        assert_eq!(parse_cli("2025-12-01T22:14:05.12").unwrap(), Stamp::new(2025, 12, 1, 22, 14, 5, 120));
        assert_eq!(parse_cli("2025-12-01 22:14:05.123456").unwrap(), Stamp::new(2025, 12, 1, 22, 14, 5, 123));
        assert_eq!(parse_cli("2025-12-01").unwrap(), Stamp::new(2025, 12, 1, 0, 0, 0, 0));
        for bad in ["22:14", "2025-13-01", "2025-12-01 25:00", "yesterday", "2025-12-01 22", "2025-12-01 22:1x"] {
            assert!(parse_cli(bad).is_err(), "{bad}");
        }
    }
}
