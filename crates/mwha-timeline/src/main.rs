//! `mwha-timeline`: failovers reconstructed from Pacemaker's detail log.
//!
//! The logs are streamed a line at a time and merged by time (`input`); each line is split into
//! time, node, daemon and message (`line`); the few messages that matter become events
//! (`event`); events become incidents (`incident`), each printed as soon as it is over
//! (`render`). Nothing holds more than one line per log, plus the open incident.
//!
//! Exit codes, like grep(1): 0 at least one incident printed, 1 none found, 2 error.
//! `mwha-timeline man-cli` prints the man page (section 8) for packaging/build.

mod cib;
mod event;
mod incident;
mod input;
mod line;
mod render;
mod time;

use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Result};
use clap::{CommandFactory, Parser};

use crate::incident::{Builder, Incident};
use crate::input::Source;
use crate::render::{Lang, View};
use crate::time::Stamp;

const AFTER_HELP: &str = "\
Times (--since, --until, --fault, --mark) are the nodes' local wall-clock time, as in the log: \
2025-12-01 22:14, 2025-12-01T22:14:05.123.

Exit codes: 0 at least one incident printed, 1 no incident found, 2 error (bad option, unreadable log).

Examples:
  mwha-timeline
  mwha-timeline --log n1/pacemaker.log --log n2/pacemaker.log --log n2/pacemaker.log-20251201.gz
  mwha-timeline --since '2025-12-01 22:00' --resource warp --lang ja
  mwha-timeline --json | jq '.incidents[].totals'";

#[derive(Debug, Parser)]
#[command(
    name = "mwha-timeline",
    version,
    about = "Reconstructs failovers from Pacemaker's detail log: one block per incident, each step with its offset in ms",
    long_about = "Reconstructs failovers from Pacemaker's detail log (pacemaker.log). One block per incident: t=0 at the \
first sign (a node lost, a recurring monitor that failed, a failure reported with crm_resource --fail as the mwha \
crash watcher does, a failed stop or start, fencing), then each step with its \
offset in ms: detection (the scheduler's first decision about it), fencing requested and done, every stop, start, \
promote and demote with node, resource, result and duration, and the end (the end of the incident's last start). \
Totals at the bottom: fault → detected, detected → first start, starts, total.\n\nGive the logs of several nodes \
(and their rotated, gzip-compressed files) to see one cluster-wide timeline: they are merged by time, and what \
several logs tell is shown once. The logs are read a line at a time; a line that is not understood is skipped.",
    after_help = AFTER_HELP
)]
struct Cli {
    /// Pacemaker detail log (plain or gzip; - for standard input); repeat for several nodes or rotated files
    #[arg(long = "log", value_name = "FILE", default_value = "/var/log/pacemaker/pacemaker.log")]
    logs: Vec<PathBuf>,
    /// Ignore lines before this time
    #[arg(long, value_name = "TIME", value_parser = time::parse_cli)]
    since: Option<Stamp>,
    /// Ignore lines after this time
    #[arg(long, value_name = "TIME", value_parser = time::parse_cli)]
    until: Option<Stamp>,
    /// Only incidents involving this resource (a primitive id; clone instances NAME:N included); repeatable.
    /// Node-level steps (node lost, fencing) and the first sign are always shown
    #[arg(long = "resource", value_name = "NAME")]
    resources: Vec<String>,
    /// Language of the text output (JSON keys and values do not change)
    #[arg(long, value_enum, default_value = "en")]
    lang: Lang,
    /// Print {"incidents":[{"start": ISO 8601, "events":[{"at_ms", "node", "kind", "resource", "rc", "duration_ms", …}]}]}
    #[arg(long)]
    json: bool,
    /// Quiet time after which an incident is over (seconds); an action still running keeps it open
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    gap: u32,
    /// When the fault really happened, if you know it (e.g. when a test killed a node): t=0 of the first incident
    /// whose first sign follows within a minute (or --gap)
    #[arg(long, value_name = "TIME", value_parser = time::parse_cli)]
    fault: Option<Stamp>,
    /// Adds a row TIME LABEL to the incident it falls in (e.g. when the service answered again); repeatable
    #[arg(long = "mark", value_name = "TIME=LABEL", value_parser = parse_mark)]
    marks: Vec<(Stamp, String)>,
    /// Year of the log lines (the log does not say; by default the year of each file's modification time,
    /// or the year before for dates after it)
    #[arg(long, value_name = "YYYY", value_parser = clap::value_parser!(i32).range(1970..=9999))]
    year: Option<i32>,
    /// Durations missing from the log from the CIB's operation history (runs cibadmin -Q -o status, at most 10 s;
    /// without a cluster, a warning)
    #[arg(long, conflicts_with = "cib_file")]
    cib: bool,
    /// Like --cib, from a saved copy of cibadmin -Q (or -Q -o status)
    #[arg(long, value_name = "FILE")]
    cib_file: Option<PathBuf>,
}

fn parse_mark(text: &str) -> Result<(Stamp, String)> {
    let Some((t, label)) = text.split_once('=') else { bail!("expected TIME=LABEL") };
    Ok((time::parse_cli(t)?, label.trim().to_string()))
}

fn print_man_page() -> ExitCode {
    let man = clap_mangen::Man::new(Cli::command()).section("8");
    let mut page = Vec::new();
    if man.render(&mut page).is_err() {
        return ExitCode::from(2);
    }
    let page = roff_ascii(&String::from_utf8_lossy(&page));
    match io::stdout().lock().write_all(page.as_bytes()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::from(2),
    }
}

/// The help text has a few non-ASCII characters (→, …); groff reads its input as Latin-1 unless
/// run through preconv, so each one becomes the portable escape `\[uXXXX]` (groff, mandoc).
fn roff_ascii(page: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(page.len());
    for c in page.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let _ = write!(out, "\\[u{:04X}]", u32::from(c));
        }
    }
    out
}

/// Writes incidents as they close.
struct Printer<W: Write> {
    out: W,
    cli: Cli,
    history: Option<cib::History>,
    shown: usize,
}

impl<W: Write> Printer<W> {
    fn begin(&mut self) -> io::Result<()> {
        if self.cli.json {
            write!(self.out, "{{\"incidents\":[")?;
        }
        Ok(())
    }

    fn incident(&mut self, mut inc: Incident) -> io::Result<()> {
        if let Some(h) = &self.history {
            h.fill(&mut inc);
        }
        let Some(inc) = render::filter(inc, &self.cli.resources) else { return Ok(()) };
        let (from, to) = (inc.t0(), Stamp(inc.last_activity.0 + i64::from(self.cli.gap) * 1000));
        let marks = self.cli.marks.iter().filter(|(at, _)| (from..=to).contains(at)).cloned().collect();
        self.shown += 1;
        let view = View { number: self.shown, inc, marks };
        if self.cli.json {
            if self.shown > 1 {
                write!(self.out, ",")?;
            }
            render::json(&mut self.out, &view)
        } else {
            if self.shown > 1 {
                writeln!(self.out)?;
            }
            render::text(&mut self.out, self.cli.lang, &view)
        }
    }

    fn end(&mut self, sources: &[Source]) -> io::Result<()> {
        let names: Vec<String> = sources.iter().map(|s| s.name.clone()).collect();
        if self.cli.json {
            let lines: u64 = sources.iter().map(|s| s.lines).sum();
            let skipped: u64 = sources.iter().map(|s| s.skipped).sum();
            write!(
                self.out,
                "],\"logs\":{},\"lines\":{lines},\"skipped_lines\":{skipped}}}",
                serde_json::to_string(&names).map_err(io::Error::other)?
            )?;
            writeln!(self.out)?;
        } else if self.shown == 0 {
            render::none_found(&mut self.out, self.cli.lang, &names)?;
        }
        self.out.flush()
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    let history = match (&cli.cib_file, cli.cib) {
        (Some(path), _) => Some(cib::History::read(path)?),
        // No cluster here (a customer's logs read elsewhere): the logs alone, with a word why.
        (None, true) => match cib::History::query(Duration::from_secs(10)) {
            Ok(h) => Some(h),
            Err(e) => {
                eprintln!("mwha-timeline: warning: no CIB operation history: {e:#}");
                None
            }
        },
        (None, false) => None,
    };
    let sources = cli.logs.iter().map(|p| Source::open(p, cli.year)).collect::<Result<Vec<_>>>()?;
    let (since, until) = (cli.since, cli.until);
    let mut builder = Builder::new(i64::from(cli.gap) * 1000, cli.fault);
    let mut printer = Printer { out: BufWriter::with_capacity(64 * 1024, io::stdout().lock()), cli, history, shown: 0 };
    printer.begin()?;
    let mut failed: Option<io::Error> = None;
    let sources = input::merge(sources, |line, h| {
        if failed.is_some() || since.is_some_and(|s| h.at < s) || until.is_some_and(|u| h.at > u) {
            return;
        }
        let Some(ev) = event::parse(&line[h.daemon.clone()], &line[h.msg.clone()]) else { return };
        let host = String::from_utf8_lossy(&line[h.host.clone()]);
        if let Some(done) = builder.feed(h.at, &host, ev) {
            if let Err(e) = printer.incident(done) {
                failed = Some(e);
            }
        }
    });
    if let Some(e) = failed {
        return Err(e.into());
    }
    if let Some(done) = builder.finish() {
        printer.incident(done)?;
    }
    for s in &sources {
        if let Some(e) = &s.error {
            eprintln!("mwha-timeline: warning: {}: read error, the rest of this log was skipped: {e}", s.name);
        }
    }
    printer.end(&sources)?;
    Ok(if printer.shown > 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn main() -> ExitCode {
    // `mwha-timeline man-cli`: the man page, as packaging/build asks every cli binary for it
    // (warp-fixup does the same).
    if std::env::args().nth(1).as_deref() == Some("man-cli") {
        return print_man_page();
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return ExitCode::from(u8::try_from(err.exit_code()).unwrap_or(2));
        }
    };
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            // A reader that went away (| head) is not an error.
            if err.downcast_ref::<io::Error>().is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe) {
                return ExitCode::SUCCESS;
            }
            eprintln!("mwha-timeline: error: {err:#}");
            ExitCode::from(2)
        }
    }
}
