//! Reading the logs: each one streamed a line at a time (gzip or plain, by content), and all of
//! them merged by time. Each log is already in time order, so a k-way merge (a heap holding one
//! line per log) gives one ordered stream without sorting or holding more than a line per log.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use flate2::read::MultiGzDecoder;

use crate::line::{self, Header, YearRef};
use crate::time;

/// Longest line kept; the rest of a longer line is skipped (agent output can be anything).
pub const MAX_LINE: usize = 64 * 1024;
const BUFFER: usize = 256 * 1024;

/// One log being read.
pub struct Source {
    pub name: String,
    reader: Box<dyn BufRead>,
    year: YearRef,
    buf: Vec<u8>,
    header: Option<Header>,
    /// Lines read / lines that were not Pacemaker lines.
    pub lines: u64,
    pub skipped: u64,
    /// A read error that ended this log early (e.g. a truncated .gz).
    pub error: Option<String>,
}

/// The UTC date of a moment (near enough for [`time::year_for`], which allows a day).
fn utc_date(t: SystemTime) -> (i32, u32, u32) {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    time::civil_from_days(secs.div_euclid(86_400))
}

impl Source {
    /// Opens a log: `-` is standard input; gzip is recognised by its magic bytes. `year`
    /// overrides the year otherwise taken from the file's mtime.
    pub fn open(path: &Path, year: Option<i32>) -> Result<Source> {
        let (raw, mtime): (Box<dyn Read>, SystemTime) = if path == Path::new("-") {
            (Box::new(io::stdin()), SystemTime::now())
        } else {
            let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
            let meta = file.metadata().with_context(|| format!("cannot read {}", path.display()))?;
            if meta.is_dir() {
                anyhow::bail!("{} is a directory", path.display());
            }
            (Box::new(file), meta.modified().unwrap_or_else(|_| SystemTime::now()))
        };
        let mut plain = BufReader::with_capacity(BUFFER, raw);
        let head = plain.fill_buf().with_context(|| format!("cannot read {}", path.display()))?;
        let reader: Box<dyn BufRead> = if head.starts_with(&[0x1f, 0x8b]) {
            Box::new(BufReader::with_capacity(BUFFER, MultiGzDecoder::new(plain)))
        } else {
            Box::new(plain)
        };
        let reference = match year {
            Some(y) => (y, 12, 31),
            None => utc_date(mtime),
        };
        Ok(Source::from_reader(path.display().to_string(), reader, YearRef(reference)))
    }

    pub fn from_reader(name: String, reader: Box<dyn BufRead>, year: YearRef) -> Source {
        Source { name, reader, year, buf: Vec::with_capacity(512), header: None, lines: 0, skipped: 0, error: None }
    }

    /// Reads up to the next newline into `buf` (at most [`MAX_LINE`] bytes kept). False at the end.
    fn read_line(&mut self) -> io::Result<bool> {
        self.buf.clear();
        let mut any = false;
        loop {
            let chunk = match self.reader.fill_buf() {
                Ok(chunk) => chunk,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if chunk.is_empty() {
                return Ok(any);
            }
            any = true;
            let (take, done) = match memchr::memchr(b'\n', chunk) {
                Some(i) => (i, i + 1),
                None => (chunk.len(), chunk.len()),
            };
            let room = MAX_LINE.saturating_sub(self.buf.len());
            self.buf.extend_from_slice(&chunk[..take.min(room)]);
            let found = done > take;
            self.reader.consume(done);
            if found {
                return Ok(true);
            }
        }
    }

    /// Moves to the next Pacemaker line; false at the end (or after a read error, kept in
    /// `error`).
    fn advance(&mut self) -> bool {
        loop {
            match self.read_line() {
                Ok(true) => {}
                Ok(false) => return false,
                Err(e) => {
                    self.error = Some(e.to_string());
                    return false;
                }
            }
            self.lines += 1;
            if self.buf.last() == Some(&b'\r') {
                self.buf.pop();
            }
            match line::parse(&self.buf, self.year) {
                Some(h) => {
                    self.header = Some(h);
                    return true;
                }
                None => self.skipped += 1,
            }
        }
    }
}

/// Calls `each(line, header)` for every Pacemaker line of every source, in time order (ties:
/// the order the logs were given). Returns the sources, with their counts and errors.
pub fn merge(mut sources: Vec<Source>, mut each: impl FnMut(&[u8], &Header)) -> Vec<Source> {
    let mut heap = BinaryHeap::with_capacity(sources.len());
    for (i, s) in sources.iter_mut().enumerate() {
        if s.advance() {
            heap.push(Reverse((s.header.as_ref().map(|h| h.at), i)));
        }
    }
    while let Some(Reverse((_, i))) = heap.pop() {
        let s = &mut sources[i];
        if let Some(h) = &s.header {
            each(&s.buf, h);
        }
        if s.advance() {
            heap.push(Reverse((s.header.as_ref().map(|h| h.at), i)));
        }
    }
    sources
}

#[cfg(test)]
mod tests {
    use std::io::{Cursor, Write};

    use super::*;

    fn src(name: &str, text: &[u8]) -> Source {
        Source::from_reader(name.to_string(), Box::new(Cursor::new(text.to_vec())), YearRef((2025, 12, 31)))
    }

    fn line(ts: &str, host: &str, msg: &str) -> String {
        format!("Dec 01 {ts} {host} pacemaker-controld  [1] (f) \tnotice: {msg}\n")
    }

    fn collect(sources: Vec<Source>) -> (Vec<String>, Vec<Source>) {
        let mut out = Vec::new();
        let sources = merge(sources, |l, h| out.push(format!("{} {}", h.at, String::from_utf8_lossy(&l[h.msg.clone()]))));
        (out, sources)
    }

    #[test]
    fn logs_merge_by_time_and_ties_keep_the_given_order() {
        let a = [line("10:00:00.100", "n1", "a1"), line("10:00:00.300", "n1", "a2"), line("10:00:00.300", "n1", "a3")].concat();
        let b =
            [line("10:00:00.050", "n2", "b1"), "garbage\n".to_string(), line("10:00:00.300", "n2", "b2"), line("10:00:01.000", "n2", "b3")]
                .concat();
        let (out, sources) = collect(vec![src("a", a.as_bytes()), src("b", b.as_bytes())]);
        let msgs: Vec<_> = out.iter().map(|l| l.rsplit(' ').next().unwrap()).collect();
        assert_eq!(msgs, ["b1", "a1", "a2", "a3", "b2", "b3"]);
        assert_eq!((sources[1].lines, sources[1].skipped), (4, 1));
    }

    #[test]
    fn long_lines_are_cut_and_crlf_and_a_missing_last_newline_are_fine() {
        let mut text = line("10:00:00.000", "n1", &"x".repeat(MAX_LINE * 3)).into_bytes();
        text.extend_from_slice(line("10:00:01.000", "n1", "second").trim_end().as_bytes());
        text.extend_from_slice(b"\r\n");
        text.extend_from_slice(line("10:00:02.000", "n1", "third").trim_end().as_bytes());
        let (out, _) = collect(vec![src("a", &text)]);
        assert_eq!(out.len(), 3);
        assert!(out[0].len() < MAX_LINE + 100);
        assert!(out[1].ends_with(" second") && out[2].ends_with(" third"));
    }

    #[test]
    fn gzip_is_recognised_by_content_and_a_truncated_one_ends_that_log_only() {
        let dir = std::env::temp_dir().join(format!("mwha-timeline-input-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let text = [line("10:00:00.000", "n1", "one"), line("10:00:01.000", "n1", "two")].concat();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(text.repeat(200).as_bytes()).unwrap();
        let gz = gz.finish().unwrap();
        let (whole, cut) = (dir.join("pacemaker.log.1"), dir.join("cut.gz"));
        std::fs::write(&whole, &gz).unwrap();
        std::fs::write(&cut, &gz[..gz.len() / 2]).unwrap();
        let (out, sources) = collect(vec![Source::open(&whole, Some(2025)).unwrap()]);
        assert_eq!(out.len(), 400);
        assert!(sources[0].error.is_none());
        let (out, sources) = collect(vec![Source::open(&cut, Some(2025)).unwrap()]);
        assert!(out.len() < 400);
        assert!(sources[0].error.is_some(), "a truncated gzip is reported");
        assert!(Source::open(&dir.join("absent"), None).is_err());
        assert!(Source::open(&dir, None).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
