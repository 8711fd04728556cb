//! The little per-node state the agent keeps, in `state_dir` (default `/run/mwha/alert`, a
//! tmpfs: forgotten at reboot). Every read-modify-write holds an exclusive `flock` on
//! `state_dir/lock`, because Pacemaker runs one agent per event and recipient concurrently
//! (a cut-off node sees two "lost" events at the same moment and must report one quorum loss).
//! The lock is polled with a deadline, never waited for without one.
//!
//! - `quorum`: `<boot id> <0|1>`, the last quorum state seen, to report changes only.
//! - `actions/<key>`: one file per (event, command) that ran, so an action configured on the
//!   alert (and so seen by every recipient's process) runs once per event.
//! - `failures`: the failures in a row of each resource on each node (`failure_threshold`, WebSphere's
//!   `failureThreshold`), replaced atomically (`ocf::atomic`: temp file, fsync, rename) and
//!   bounded: at most [`MAX_RECORDS`] node+resource records (the least recently updated dropped
//!   first), [`KEYS_PER_RECORD`] events remembered per record, names of at most [`MAX_NAME`]
//!   bytes, and a file of at most [`MAX_FAILURES_FILE`] bytes read.
//!
//! - `lost-locations`: the resources that ran on each node when it was seen lost (`node rsc
//!   lost_at started|promoted used_us`), because fencing erases the node's history from the CIB
//!   and the start elsewhere must still say where the resource came from; each line names the
//!   previous node of one start (or promote) event only. At most [`MAX_LOST`] lines.
//! - `started`: the latest start (or promote) and stop by the cluster of each resource on each
//!   node (`node rsc started_us stopped_us`, clone instances under their base name), because a
//!   cleanup erases the resource's history and its probe then finds running what the cluster
//!   started itself: no MWHA1005W for that. At most [`MAX_STARTED`] records, in a file of at most
//!   [`MAX_STARTED_FILE`] bytes read, replaced atomically like `failures`.
//!
//! The agent runs as hacluster and cannot create `/run/mwha`; packaging creates the directory
//! (tmpfiles.d). Without it the agent still writes every line; it only loses these features
//! (and then reports every failure as if `failure_threshold` were 1: a failure is never hidden).

use std::ffi::OsStr;
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::{bail, Context, Result};
use nix::fcntl::{Flock, FlockArg, OFlag};

use ocf::atomic::{self, Attrs, Dir, Previous, Replace};
use ocf::deadline::Deadline;

use crate::classify::{Presence, QuorumChange, Tally};
use crate::cluster::base_name;

/// How long action claims are kept.
const CLAIM_TTL: Duration = Duration::from_secs(3600);

/// The failure counts' file in `state_dir`.
const FAILURES: &str = "failures";
/// Its first line: format and version, then the boot ID.
const FAILURES_HEADER: &str = "mwha-alert-failures 1";
/// At most this many node+resource records are kept; the least recently updated go first.
pub const MAX_RECORDS: usize = 256;
/// Events remembered per record, so that every recipient's process of one event gets the same
/// count, whatever the order the processes run in.
pub const KEYS_PER_RECORD: usize = 8;
/// Node and resource names longer than this are not counted (their failures are reported as if
/// `failure_threshold` were 1); with it, [`MAX_RECORDS`] records fit in [`MAX_FAILURES_FILE`].
pub const MAX_NAME: usize = 256;
/// The largest `failures` file read; a bigger one is refused, never read into memory.
pub const MAX_FAILURES_FILE: u64 = 512 * 1024;
/// A record whose count is 0 is kept this long after its last event (only to recognise late
/// processes of its events), then dropped.
const IDLE_TTL: Duration = CLAIM_TTL;

#[derive(Debug)]
pub struct StateDir {
    dir: PathBuf,
}

impl StateDir {
    /// Opens (or creates, if its parent exists) the state directory; an error when it cannot
    /// be used.
    pub fn open(dir: &Path) -> Result<StateDir> {
        match fs::DirBuilder::new().mode(0o750).create(dir) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e).with_context(|| format!("creating {}", dir.display())),
        }
        Ok(StateDir { dir: dir.to_path_buf() })
    }

    /// Runs `work` holding the directory's lock (waiting at most until `deadline`).
    fn locked<T>(&self, deadline: &Deadline, work: impl FnOnce() -> Result<T>) -> Result<T> {
        let path = self.dir.join("lock");
        let mut file = Some(
            OpenOptions::new()
                .create(true)
                .append(true)
                .mode(0o640)
                .custom_flags((OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC).bits())
                .open(&path)
                .with_context(|| format!("opening {}", path.display()))?,
        );
        let lock = deadline.wait_for(&format!("the lock on {}", path.display()), Duration::from_millis(20), || {
            let f = file.take().expect("invariant: the file is put back after every failed attempt");
            match Flock::lock(f, FlockArg::LockExclusiveNonblock) {
                Ok(lock) => Ok(Some(lock)),
                Err((f, nix::errno::Errno::EWOULDBLOCK)) => {
                    file = Some(f);
                    Ok(None)
                }
                Err((_, e)) => Err(anyhow::anyhow!("locking {}: {e}", path.display())),
            }
        })?;
        let result = work();
        drop(lock);
        result
    }

    /// Records the current quorum state and says whether it changed. Without an earlier record
    /// from this boot, only a missing quorum is news.
    pub fn quorum_change(&self, quorate: bool, boot_id: &str, deadline: &Deadline) -> Result<Option<QuorumChange>> {
        self.locked(deadline, || {
            let path = self.dir.join("quorum");
            let before = match fs::read_to_string(&path) {
                Ok(text) => parse_quorum(&text, boot_id),
                Err(e) if e.kind() == io::ErrorKind::NotFound => None,
                Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
            };
            if before != Some(quorate) {
                let tmp = self.dir.join(".quorum.tmp");
                fs::write(&tmp, format!("{boot_id} {}\n", u8::from(quorate))).with_context(|| format!("writing {}", tmp.display()))?;
                fs::rename(&tmp, &path).with_context(|| format!("renaming {}", tmp.display()))?;
            }
            Ok(transition(before, quorate))
        })
    }

    /// Counts an event of `failure_threshold` (a failure, or the resource available again) and
    /// returns the failures in a row of the resource on the node: for a failure, its own
    /// position in the row (the same for every process of that event); 0 for a success.
    pub fn count_failure(&self, event: &FailureEvent, boot_id: &str, deadline: &Deadline) -> Result<u32> {
        check_names(event.node, event.rsc, "not counted")?;
        self.locked(deadline, || {
            let dir = Dir::open(&self.dir).with_context(|| format!("opening {}", self.dir.display()))?;
            let name = OsStr::new(FAILURES);
            let shown = self.dir.join(FAILURES);
            let text = read_text(&dir, name, &shown, MAX_FAILURES_FILE)?;
            let mut table = Failures::parse(&text, boot_id);
            let now = unix_seconds(SystemTime::now());
            let (count, changed) = table.apply(event, now);
            if changed {
                table.prune(now);
                replace_locked(&dir, name, table.render(boot_id).as_bytes(), MAX_FAILURES_FILE)
                    .with_context(|| format!("writing {}", shown.display()))?;
            }
            Ok(count)
        })
    }

    /// True the first time `key` is claimed (within an hour); false for every later claim.
    pub fn claim(&self, key: &str, deadline: &Deadline) -> Result<bool> {
        self.locked(deadline, || {
            let dir = self.dir.join("actions");
            match fs::DirBuilder::new().mode(0o750).create(&dir) {
                Err(e) if e.kind() != io::ErrorKind::AlreadyExists => return Err(e).with_context(|| format!("creating {}", dir.display())),
                _ => {}
            }
            prune(&dir);
            match OpenOptions::new().write(true).create_new(true).mode(0o640).open(dir.join(key)) {
                Ok(mut f) => {
                    let _ = f.write_all(b"");
                    Ok(true)
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
                Err(e) => Err(e).with_context(|| format!("creating {}", dir.join(key).display())),
            }
        })
    }
}

/// Where resources ran on nodes that were lost: the file in `state_dir`.
const LOST: &str = "lost-locations";
/// Its first line: format and version, then the boot ID.
const LOST_HEADER: &str = "mwha-alert-lost 1";
/// At most this many (node, resource) lines are kept; the oldest losses go first.
pub const MAX_LOST: usize = 1024;
/// The largest `lost-locations` file read.
const MAX_LOST_FILE: u64 = 512 * 1024;

/// A resource that ran on a node when it was lost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LostLocation {
    pub node: String,
    pub rsc: String,
    /// When the node was seen lost (epoch seconds).
    pub lost_at: i64,
    /// It was the promoted instance there.
    pub promoted: bool,
    /// The start (promote) elsewhere this was used for, in µs since the epoch (0: not yet):
    /// every recipient's process of that event may use it again, a later event never.
    pub used_us: i64,
}

impl StateDir {
    /// Remembers the resources that ran on `node` when it was seen lost. Fencing erases a
    /// node's operation history from the CIB, so the start elsewhere that follows would find
    /// no trace of where the resource came from (MWHA1012I "after node n1 was lost").
    /// `resources`: (id, promoted).
    pub fn remember_lost(&self, node: &str, resources: &[(String, bool)], lost_at: i64, boot_id: &str, deadline: &Deadline) -> Result<()> {
        let fits = |name: &str| name.len() <= MAX_NAME && !name.contains(['\t', '\n']);
        if !fits(node) {
            bail!("the node name is longer than {MAX_NAME} bytes or holds a tab or newline: not remembered");
        }
        self.locked(deadline, || {
            let dir = Dir::open(&self.dir).with_context(|| format!("opening {}", self.dir.display()))?;
            let name = OsStr::new(LOST);
            let shown = self.dir.join(LOST);
            let mut table = match dir.read(name, MAX_LOST_FILE) {
                Ok(Some(bytes)) => parse_lost(&String::from_utf8_lossy(&bytes), boot_id),
                Ok(None) => Vec::new(),
                Err(e) => return Err(e).with_context(|| format!("reading {}", shown.display())),
            };
            table.retain(|l| l.node != node);
            table.extend(resources.iter().filter(|(r, _)| fits(r)).map(|(rsc, promoted)| LostLocation {
                node: node.to_string(),
                rsc: rsc.clone(),
                lost_at,
                promoted: *promoted,
                used_us: 0,
            }));
            if table.len() > MAX_LOST {
                table.sort_by_key(|l| l.lost_at);
                table.drain(..table.len() - MAX_LOST);
            }
            write_lost(&dir, &table, boot_id).with_context(|| format!("writing {}", shown.display()))
        })
    }

    /// The lost node the arrival's resource ran on (as the primary, for a promote), lost at or
    /// after `since`: the most recent such loss, used once (by every recipient's process of this
    /// one event; a later start or promote gets nothing, so a restart in place long after is
    /// never called a move).
    pub fn use_lost_location(&self, arrival: &Arrival, since: i64, boot_id: &str, deadline: &Deadline) -> Result<Option<String>> {
        let Arrival { rsc, here, promoted, at_us } = *arrival;
        self.locked(deadline, || {
            let dir = Dir::open(&self.dir).with_context(|| format!("opening {}", self.dir.display()))?;
            let shown = self.dir.join(LOST);
            let mut table = match dir.read(OsStr::new(LOST), MAX_LOST_FILE) {
                Ok(Some(bytes)) => parse_lost(&String::from_utf8_lossy(&bytes), boot_id),
                Ok(None) => return Ok(None),
                Err(e) => return Err(e).with_context(|| format!("reading {}", shown.display())),
            };
            let found = table
                .iter_mut()
                .filter(|l| l.node != here && l.lost_at >= since && (l.promoted || !promoted) && crate::cluster::same_resource(&l.rsc, rsc))
                .max_by_key(|l| l.lost_at);
            let Some(l) = found else { return Ok(None) };
            match l.used_us {
                0 => l.used_us = at_us,
                used if used == at_us => return Ok(Some(l.node.clone())),
                _ => return Ok(None),
            }
            let node = l.node.clone();
            write_lost(&dir, &table, boot_id).with_context(|| format!("writing {}", shown.display()))?;
            Ok(Some(node))
        })
    }
}

/// A resource that started (or was promoted: `promoted`) on `here` at `at_us` (µs since the
/// epoch, Pacemaker's time of the event).
#[derive(Debug, Clone, Copy)]
pub struct Arrival<'a> {
    pub rsc: &'a str,
    pub here: &'a str,
    pub promoted: bool,
    pub at_us: i64,
}

/// Replaces the `lost-locations` file (the lock held).
fn write_lost(dir: &Dir, table: &[LostLocation], boot_id: &str) -> Result<()> {
    let mut text = format!("{LOST_HEADER} {boot_id}\n");
    for l in table {
        let role = if l.promoted { "promoted" } else { "started" };
        text.push_str(&format!("{}\t{}\t{}\t{role}\t{}\n", l.node, l.rsc, l.lost_at, l.used_us));
    }
    replace_locked(dir, OsStr::new(LOST), text.as_bytes(), MAX_LOST_FILE)
}

/// Replaces a state file atomically (ours, mode 0640, no backups), the lock held: first the temp
/// file a writer killed before its rename left.
fn replace_locked(dir: &Dir, name: &OsStr, bytes: &[u8], limit: u64) -> Result<()> {
    atomic::remove_stale_temps(dir, name)?;
    let how = Replace { attrs: Some(own_attrs()), backups: None, previous: Previous::Unchecked, limit, pace: None };
    let _written = atomic::replace(dir, name, bytes, &how)?;
    Ok(())
}

/// The lines of a `lost-locations` file of this boot; malformed lines dropped.
fn parse_lost(text: &str, boot_id: &str) -> Vec<LostLocation> {
    let mut lines = text.lines();
    if lines.next() != Some(&format!("{LOST_HEADER} {boot_id}")) {
        return Vec::new();
    }
    lines
        .filter_map(|line| {
            let mut f = line.split('\t');
            let (node, rsc, at, role, used) = (f.next()?, f.next()?, f.next()?, f.next()?, f.next()?);
            let promoted = match role {
                "promoted" => true,
                "started" => false,
                _ => return None,
            };
            (f.next().is_none() && !node.is_empty() && !rsc.is_empty())
                .then(|| {
                    Some(LostLocation {
                        node: node.to_string(),
                        rsc: rsc.to_string(),
                        lost_at: at.parse().ok()?,
                        promoted,
                        used_us: used.parse().ok()?,
                    })
                })
                .flatten()
        })
        .take(MAX_LOST * 2)
        .collect()
}

/// What the cluster started on each node: the file in `state_dir`.
const STARTED: &str = "started";
/// Its first line: format and version, then the boot ID.
const STARTED_HEADER: &str = "mwha-alert-started 1";
/// At most this many node+resource records are kept; see [`Starts::prune`].
pub const MAX_STARTED: usize = 1000;
/// The largest `started` file read; [`MAX_STARTED`] records with names of [`MAX_NAME`] bytes fit.
pub const MAX_STARTED_FILE: u64 = 1024 * 1024;

/// One resource event for the memory of what the cluster started.
#[derive(Debug, Clone, Copy)]
pub struct PresenceEvent<'a> {
    pub presence: Presence,
    pub node: &'a str,
    pub rsc: &'a str,
    /// Pacemaker's time of the event, in µs since the epoch: orders a start and a stop whose
    /// processes run out of order, and places a probe among them.
    pub at_us: i64,
}

/// The text of the state file `name` in `dir` (`shown` in messages): empty when it is absent, at
/// most `limit` bytes, never through a link.
fn read_text(dir: &Dir, name: &OsStr, shown: &Path, limit: u64) -> Result<String> {
    match dir.read(name, limit) {
        Ok(Some(bytes)) => Ok(String::from_utf8_lossy(&bytes).into_owned()),
        Ok(None) => Ok(String::new()),
        Err(e) => Err(e).with_context(|| format!("reading {}", shown.display())),
    }
}

impl StateDir {
    /// Remembers a start (or promote) or a stop of `rsc` by the cluster on `node`, and says
    /// whether the cluster's start stood at the event's time: started, and not stopped between
    /// that start and the event. A probe that found the resource running only asks (true: the
    /// probe of a cleanup, no MWHA1005W).
    pub fn cluster_started(&self, event: &PresenceEvent, boot_id: &str, deadline: &Deadline) -> Result<bool> {
        check_names(event.node, event.rsc, "not remembered")?;
        self.locked(deadline, || {
            let dir = Dir::open(&self.dir).with_context(|| format!("opening {}", self.dir.display()))?;
            let name = OsStr::new(STARTED);
            let shown = self.dir.join(STARTED);
            let text = read_text(&dir, name, &shown, MAX_STARTED_FILE)?;
            let mut table = Starts::parse(&text, boot_id);
            if table.apply(event) {
                table.prune();
                replace_locked(&dir, name, table.render(boot_id).as_bytes(), MAX_STARTED_FILE)
                    .with_context(|| format!("writing {}", shown.display()))?;
            }
            Ok(table.stood_at(event.node, event.rsc, event.at_us))
        })
    }
}

/// Names that could not be stored whole (or would break the file's lines) are refused: `not`
/// says what then does not happen.
fn check_names(node: &str, rsc: &str, not: &str) -> Result<()> {
    for (what, name) in [("node", node), ("resource", rsc)] {
        if name.len() > MAX_NAME || name.contains(['\t', '\n']) {
            bail!("the {what} name is longer than {MAX_NAME} bytes or holds a tab or newline: {not}");
        }
    }
    Ok(())
}

/// The cluster's latest start (or promote) and latest stop of one resource on one node, in µs
/// (0: none). A stop is kept after the resource is gone, so a start's process that runs after
/// the process of a later stop does not bring the resource back.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct StartRecord {
    node: String,
    /// The base name of a clone instance, as `cluster::same_resource` matches it.
    rsc: String,
    started_us: i64,
    stopped_us: i64,
}

impl StartRecord {
    fn parse(line: &str) -> Option<StartRecord> {
        let fields: Vec<&str> = line.split('\t').collect();
        let [node, rsc, started_us, stopped_us] = fields[..] else { return None };
        if node.is_empty() || rsc.is_empty() || node.len() > MAX_NAME || rsc.len() > MAX_NAME {
            return None;
        }
        Some(StartRecord {
            node: node.to_string(),
            rsc: rsc.to_string(),
            started_us: started_us.parse().ok()?,
            stopped_us: stopped_us.parse().ok()?,
        })
    }

    /// Started by the cluster at or before `at_us`, and not stopped since that start by then.
    fn stood_at(&self, at_us: i64) -> bool {
        let stopped_since = self.stopped_us >= self.started_us && self.stopped_us <= at_us;
        self.started_us != 0 && self.started_us <= at_us && !stopped_since
    }

    /// Running now, as far as the cluster's own starts and stops tell.
    fn running(&self) -> bool {
        self.started_us > self.stopped_us
    }
}

/// The `started` file: parsed, changed by one event, pruned and rendered. Pure.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Starts {
    records: Vec<StartRecord>,
}

impl Starts {
    /// The records of `text`; none when it is from another boot, another format, or garbled
    /// (malformed lines are dropped one by one).
    fn parse(text: &str, boot_id: &str) -> Starts {
        let mut lines = text.lines();
        if lines.next() != Some(&format!("{STARTED_HEADER} {boot_id}")) {
            return Starts::default();
        }
        Starts { records: lines.filter_map(StartRecord::parse).take(MAX_STARTED * 2).collect() }
    }

    fn render(&self, boot_id: &str) -> String {
        let mut out = format!("{STARTED_HEADER} {boot_id}\n");
        for r in &self.records {
            out.push_str(&format!("{}\t{}\t{}\t{}\n", r.node, r.rsc, r.started_us, r.stopped_us));
        }
        out
    }

    /// Applies a start or a stop (a probe changes nothing); returns whether the table changed.
    fn apply(&mut self, event: &PresenceEvent) -> bool {
        if event.presence == Presence::FoundRunning {
            return false;
        }
        let rsc = base_name(event.rsc);
        let index = match self.records.iter().position(|r| r.node == event.node && r.rsc == rsc) {
            Some(i) => i,
            None => {
                self.records.push(StartRecord { node: event.node.to_string(), rsc: rsc.to_string(), ..StartRecord::default() });
                self.records.len() - 1
            }
        };
        let r = &mut self.records[index];
        let before = r.clone();
        // The latest of each wins, whatever the order the events' processes run in.
        match event.presence {
            Presence::Started => r.started_us = r.started_us.max(event.at_us),
            Presence::Stopped => r.stopped_us = r.stopped_us.max(event.at_us),
            Presence::FoundRunning => {}
        }
        *r != before
    }

    /// Whether the cluster's start of `rsc` (any instance of a clone) on `node` stood at `at_us`.
    fn stood_at(&self, node: &str, rsc: &str, at_us: i64) -> bool {
        let rsc = base_name(rsc);
        self.records.iter().find(|r| r.node == node && r.rsc == rsc).is_some_and(|r| r.stood_at(at_us))
    }

    /// Beyond [`MAX_STARTED`] records, drops those no longer running first, then the oldest: a
    /// forgotten start only brings back a MWHA1005W for its resource, it never hides one.
    fn prune(&mut self) {
        if self.records.len() > MAX_STARTED {
            self.records.sort_by_key(|r| std::cmp::Reverse((r.running(), r.started_us.max(r.stopped_us))));
            self.records.truncate(MAX_STARTED);
        }
    }
}

/// One event for the failure count.
#[derive(Debug, Clone, Copy)]
pub struct FailureEvent<'a> {
    pub tally: Tally,
    pub node: &'a str,
    pub rsc: &'a str,
    /// The event's identity (the same in every recipient's process of it): [`key`] of its fields.
    pub key: &'a str,
    /// When Pacemaker saw it, in microseconds since the epoch: orders events whose processes
    /// run out of order (a failure's process still busy while the restart's process counts).
    pub at_us: i64,
}

/// The failures in a row of one resource on one node.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Record {
    node: String,
    rsc: String,
    /// Failures in a row since the last success.
    count: u32,
    /// The count the last success reset (for a failure whose process comes after that success).
    count_at_reset: u32,
    /// The time of the latest failure counted, and of the latest success, in µs.
    last_failure_us: i64,
    reset_us: i64,
    /// When a process last changed the record (wall clock, s): for pruning.
    updated_s: i64,
    /// The latest failure events counted and the count each got.
    seen: Vec<(String, u32)>,
}

/// The `failures` file: parsed, changed by one event, pruned and rendered. Pure.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Failures {
    records: Vec<Record>,
}

impl Failures {
    /// The records of `text`; none when it is from another boot, another format, or garbled
    /// (malformed lines are dropped one by one).
    fn parse(text: &str, boot_id: &str) -> Failures {
        let mut lines = text.lines();
        if lines.next() != Some(&format!("{FAILURES_HEADER} {boot_id}")) {
            return Failures::default();
        }
        let records = lines.filter_map(Record::parse).take(MAX_RECORDS * 2).collect();
        Failures { records }
    }

    fn render(&self, boot_id: &str) -> String {
        let mut out = format!("{FAILURES_HEADER} {boot_id}\n");
        for r in &self.records {
            let seen: Vec<String> = r.seen.iter().map(|(k, n)| format!("{k}={n}")).collect();
            let seen = if seen.is_empty() { "-".to_string() } else { seen.join(",") };
            out.push_str(&format!(
                "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{seen}\n",
                r.node, r.rsc, r.count, r.count_at_reset, r.last_failure_us, r.reset_us, r.updated_s
            ));
        }
        out
    }

    /// Applies one event; returns the count for it and whether the table changed.
    fn apply(&mut self, event: &FailureEvent, now_s: i64) -> (u32, bool) {
        let index = match self.records.iter().position(|r| r.node == event.node && r.rsc == event.rsc) {
            Some(i) => i,
            None => {
                self.records.push(Record { node: event.node.to_string(), rsc: event.rsc.to_string(), ..Record::default() });
                self.records.len() - 1
            }
        };
        let r = &mut self.records[index];
        let before = r.clone();
        let count = match event.tally {
            Tally::Failure => {
                if let Some((_, n)) = r.seen.iter().find(|(k, _)| k == event.key) {
                    return (*n, false); // another recipient's process of this event counted it
                }
                let n = if event.at_us > r.reset_us {
                    r.count = r.count.saturating_add(1);
                    r.last_failure_us = r.last_failure_us.max(event.at_us);
                    r.count
                } else {
                    // A failure from before the latest success, counted late: it was followed by
                    // that success, so the current count stays; it gets the place it had.
                    r.count_at_reset.saturating_add(1)
                };
                r.seen.push((event.key.to_string(), n));
                if r.seen.len() > KEYS_PER_RECORD {
                    r.seen.remove(0);
                }
                n
            }
            Tally::Success => {
                // A success older than the latest failure counted resets nothing.
                if event.at_us >= r.last_failure_us {
                    if r.count > 0 {
                        r.count_at_reset = r.count;
                    }
                    r.count = 0;
                    r.reset_us = r.reset_us.max(event.at_us);
                }
                0
            }
        };
        let changed = *r != before;
        if changed {
            r.updated_s = now_s;
        }
        (count, changed)
    }

    /// Drops idle records (count 0, no event for [`IDLE_TTL`]), then the least recently updated
    /// beyond [`MAX_RECORDS`].
    fn prune(&mut self, now_s: i64) {
        let idle = IDLE_TTL.as_secs() as i64;
        self.records.retain(|r| r.count > 0 || now_s.saturating_sub(r.updated_s) <= idle);
        if self.records.len() > MAX_RECORDS {
            self.records.sort_by_key(|r| std::cmp::Reverse(r.updated_s));
            self.records.truncate(MAX_RECORDS);
        }
    }
}

impl Record {
    fn parse(line: &str) -> Option<Record> {
        let fields: Vec<&str> = line.split('\t').collect();
        let [node, rsc, count, count_at_reset, last_failure_us, reset_us, updated_s, seen] = fields[..] else { return None };
        if node.len() > MAX_NAME || rsc.len() > MAX_NAME {
            return None;
        }
        let seen = if seen == "-" {
            Vec::new()
        } else {
            seen.split(',')
                .map(|pair| pair.split_once('=').and_then(|(k, n)| Some((k.to_string(), n.parse().ok()?))))
                .collect::<Option<Vec<(String, u32)>>>()?
        };
        if seen.len() > KEYS_PER_RECORD || seen.iter().any(|(k, _)| k.is_empty() || k.len() > 32) {
            return None;
        }
        Some(Record {
            node: node.to_string(),
            rsc: rsc.to_string(),
            count: count.parse().ok()?,
            count_at_reset: count_at_reset.parse().ok()?,
            last_failure_us: last_failure_us.parse().ok()?,
            reset_us: reset_us.parse().ok()?,
            updated_s: updated_s.parse().ok()?,
            seen,
        })
    }
}

/// The agent's own user and group, 0640: what the state files are written with (the agent runs
/// as hacluster, which may not give a file away).
fn own_attrs() -> Attrs {
    Attrs { uid: nix::unistd::geteuid().as_raw(), gid: nix::unistd::getegid().as_raw(), mode: 0o640 }
}

fn unix_seconds(t: SystemTime) -> i64 {
    t.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

fn parse_quorum(text: &str, boot_id: &str) -> Option<bool> {
    let (boot, state) = text.trim().split_once(' ')?;
    if boot != boot_id {
        return None; // written before a reboot
    }
    match state {
        "1" => Some(true),
        "0" => Some(false),
        _ => None,
    }
}

fn transition(before: Option<bool>, now: bool) -> Option<QuorumChange> {
    match (before, now) {
        (Some(true) | None, false) => Some(QuorumChange::Lost),
        (Some(false), true) => Some(QuorumChange::Regained),
        _ => None,
    }
}

/// Removes claims older than an hour; errors are ignored (the next run retries).
fn prune(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    let now = SystemTime::now();
    for entry in entries.flatten() {
        let old = entry.metadata().and_then(|m| m.modified()).is_ok_and(|t| now.duration_since(t).unwrap_or_default() > CLAIM_TTL);
        if old {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// This boot's ID (`/proc/sys/kernel/random/boot_id`), so state from before a reboot on a
/// persistent `state_dir` is ignored.
pub fn boot_id() -> String {
    fs::read_to_string("/proc/sys/kernel/random/boot_id").map(|s| s.trim().to_string()).unwrap_or_else(|_| "unknown".to_string())
}

/// A stable key for (event, command): FNV-1a of the parts, in hex.
pub fn key(parts: &[&str]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.bytes().chain(std::iter::once(0)) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("mwha-alert-state-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn quorum_changes_are_reported_once() {
        let dir = temp("quorum");
        let s = StateDir::open(&dir).unwrap();
        let d = Deadline::after(Duration::from_secs(5));
        assert_eq!(s.quorum_change(true, "boot1", &d).unwrap(), None);
        assert_eq!(s.quorum_change(false, "boot1", &d).unwrap(), Some(QuorumChange::Lost));
        assert_eq!(s.quorum_change(false, "boot1", &d).unwrap(), None);
        assert_eq!(s.quorum_change(true, "boot1", &d).unwrap(), Some(QuorumChange::Regained));
        // After a reboot the old record means nothing; a missing quorum is news.
        assert_eq!(s.quorum_change(false, "boot2", &d).unwrap(), Some(QuorumChange::Lost));
        let _ = fs::remove_dir_all(dir);
    }

    #[test]
    fn concurrent_claims_of_one_key_succeed_once() {
        let dir = temp("claims");
        let _ = StateDir::open(&dir).unwrap();
        let k = key(&["resource", "d", "monitor", "1795641567", "248822", "/usr/local/bin/pause"]);
        let winners: usize = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    let (dir, k) = (dir.clone(), k.clone());
                    scope.spawn(move || StateDir::open(&dir).unwrap().claim(&k, &Deadline::after(Duration::from_secs(5))).unwrap())
                })
                .collect();
            handles.into_iter().map(|h| usize::from(h.join().unwrap())).sum()
        });
        assert_eq!(winners, 1);
        assert_ne!(key(&["a", "bc"]), key(&["ab", "c"]));
        let _ = fs::remove_dir_all(dir);
    }

    fn failure<'a>(node: &'a str, rsc: &'a str, key: &'a str, at_us: i64) -> FailureEvent<'a> {
        FailureEvent { tally: Tally::Failure, node, rsc, key, at_us }
    }

    fn success<'a>(node: &'a str, rsc: &'a str, at_us: i64) -> FailureEvent<'a> {
        FailureEvent { tally: Tally::Success, node, rsc, key: "", at_us }
    }

    /// WebSphere's rule (failureThreshold: "no successful attempt between the failures"): failures
    /// of one resource on one node count up, a success there resets the count, and every node
    /// and resource has its own count.
    #[test]
    fn failures_count_up_per_node_and_resource_and_a_success_resets() {
        let mut t = Failures::default();
        assert_eq!(t.apply(&failure("n1", "db", "k1", 10), 100), (1, true));
        assert_eq!(t.apply(&failure("n1", "db", "k2", 20), 100), (2, true));
        assert_eq!(t.apply(&failure("n2", "db", "k3", 25), 100), (1, true), "another node");
        assert_eq!(t.apply(&failure("n1", "web", "k4", 26), 100), (1, true), "another resource");
        assert_eq!(t.apply(&failure("n1", "db", "k5", 30), 100), (3, true));
        assert_eq!(t.apply(&success("n1", "db", 40), 100), (0, true));
        assert_eq!(t.apply(&failure("n1", "db", "k6", 50), 100), (1, true), "counted from 1 after the success");
        assert_eq!(t.apply(&failure("n2", "db", "k7", 55), 100), (2, true), "n2's count is untouched by n1's success");
    }

    /// Pacemaker runs one process per event and recipient, at once and in any order: each
    /// process of one event gets the same count, and the event is counted once.
    #[test]
    fn every_process_of_one_event_gets_the_same_count() {
        let mut t = Failures::default();
        assert_eq!(t.apply(&failure("n1", "db", "A", 10), 100), (1, true));
        assert_eq!(t.apply(&failure("n1", "db", "B", 20), 100), (2, true));
        assert_eq!(t.apply(&failure("n1", "db", "A", 10), 100), (1, false), "A's second recipient, after B");
        assert_eq!(t.apply(&failure("n1", "db", "B", 20), 100), (2, false));
        assert_eq!(t.apply(&failure("n1", "db", "C", 30), 100), (3, true));
    }

    /// A failure's process may count after the process of the restart that cured it (the failure's
    /// process waits for its exit reason in the CIB): the event times put them back in order.
    #[test]
    fn late_processes_do_not_undo_a_success() {
        let mut t = Failures::default();
        assert_eq!(t.apply(&failure("n1", "db", "F1", 10), 100).0, 1);
        assert_eq!(t.apply(&success("n1", "db", 30), 100).0, 0);
        // F2 happened at 20, before the success at 30, but is counted after it.
        assert_eq!(t.apply(&failure("n1", "db", "F2", 20), 100), (2, true), "it was the 2nd in its row");
        assert_eq!(t.apply(&failure("n1", "db", "F3", 40), 100), (1, true), "the success still reset the row");
        // A success older than the latest failure resets nothing.
        assert_eq!(t.apply(&success("n1", "db", 35), 100), (0, false));
        assert_eq!(t.apply(&failure("n1", "db", "F4", 50), 100), (2, true));
        // The first event ever may be a late one too.
        assert_eq!(t.apply(&success("n2", "db", 30), 100), (0, true));
        assert_eq!(t.apply(&failure("n2", "db", "G", 20), 100), (1, true));
        assert_eq!(t.apply(&failure("n2", "db", "H", 40), 100), (1, true));
    }

    #[test]
    fn the_table_survives_its_file_and_is_bounded() {
        let mut t = Failures::default();
        for i in 0..(MAX_RECORDS as i64 + 40) {
            let (node, key) = (format!("n{i}"), format!("k{i}"));
            // Old records first; every record but the last 40 has been idle long enough to go,
            // unless it still counts failures.
            t.apply(&failure(&node, "db", &key, i), i);
        }
        for i in 0..(KEYS_PER_RECORD as i64 + 5) {
            let key = format!("again{i}");
            t.apply(&failure("busy", "db", &key, 1000 + i), 5000);
        }
        t.prune(5000);
        assert_eq!(t.records.len(), MAX_RECORDS, "the least recently updated records go");
        assert!(t.records.iter().any(|r| r.node == "busy") && !t.records.iter().any(|r| r.node == "n0"));
        let busy = t.records.iter().find(|r| r.node == "busy").unwrap();
        assert_eq!((busy.count, busy.seen.len()), (KEYS_PER_RECORD as u32 + 5, KEYS_PER_RECORD));
        let text = t.render("boot1");
        assert!(text.len() < 64 * 1024, "{} bytes", text.len());
        assert_eq!(Failures::parse(&text, "boot1"), t, "parse(render(t)) == t");
        assert_eq!(Failures::parse(&text, "boot2"), Failures::default(), "another boot's counts mean nothing");
        // Idle records (count 0) go after an hour; counting records stay.
        let mut idle = Failures::default();
        idle.apply(&success("n1", "db", 10), 100);
        idle.apply(&failure("n1", "web", "w", 10), 100);
        idle.prune(100 + IDLE_TTL.as_secs() as i64 + 1);
        assert_eq!(idle.records.iter().map(|r| r.rsc.as_str()).collect::<Vec<_>>(), ["web"]);
        // Garbled lines are dropped, the others kept.
        let garbled = format!("{FAILURES_HEADER} b\nn1\tdb\t2\t0\t5\t0\t9\tk=1,j=2\nbad line\nn2\tdb\tx\t0\t0\t0\t0\t-\n");
        let parsed = Failures::parse(&garbled, "b");
        assert_eq!(parsed.records.len(), 1);
        assert_eq!((parsed.records[0].count, parsed.records[0].seen.len()), (2, 2));
    }

    #[test]
    fn counts_are_kept_in_the_state_directory_across_processes() {
        let dir = temp("failures");
        let d = Deadline::after(Duration::from_secs(5));
        let count = |event: &FailureEvent| StateDir::open(&dir).unwrap().count_failure(event, "boot1", &d).unwrap();
        assert_eq!(count(&failure("n1", "db", "a", 1)), 1);
        assert_eq!(count(&failure("n1", "db", "b", 2)), 2);
        let text = fs::read_to_string(dir.join(FAILURES)).unwrap();
        assert!(text.starts_with("mwha-alert-failures 1 boot1\nn1\tdb\t2\t"), "{text:?}");
        assert!(!fs::read_dir(&dir).unwrap().flatten().any(|e| atomic::is_temp_name(&e.file_name())), "no temp file left");
        assert_eq!(count(&success("n1", "db", 3)), 0);
        assert_eq!(count(&failure("n1", "db", "c", 4)), 1);
        // After a reboot (another boot ID) the count starts over.
        assert_eq!(StateDir::open(&dir).unwrap().count_failure(&failure("n1", "db", "d", 5), "boot2", &d).unwrap(), 1);
        // Names that could not be stored whole are not counted.
        let long = "x".repeat(MAX_NAME + 1);
        assert!(StateDir::open(&dir).unwrap().count_failure(&failure(&long, "db", "e", 6), "boot2", &d).is_err());
        let _ = fs::remove_dir_all(dir);
    }

    /// Fencing erases a lost node's history from the CIB: what ran there is remembered at the
    /// loss and names the previous node of the start elsewhere, once per start event.
    #[test]
    fn a_lost_nodes_resources_name_where_the_next_start_came_from_once() {
        let dir = temp("lost");
        let d = Deadline::after(Duration::from_secs(5));
        let sd = StateDir::open(&dir).unwrap();
        let ran = vec![("d".to_string(), false), ("st".to_string(), true), ("bad\tname".to_string(), false)];
        sd.remember_lost("n1", &ran, 1000, "boot1", &d).unwrap();
        let use_ = |rsc: &str, here: &str, promoted: bool, at_us: i64| {
            sd.use_lost_location(&Arrival { rsc, here, promoted, at_us }, 900, "boot1", &d).unwrap()
        };
        // The start of d on n2: every recipient's process of that event gets n1 ...
        assert_eq!(use_("d", "n2", false, 1_003_000_000), Some("n1".into()));
        assert_eq!(use_("d", "n2", false, 1_003_000_000), Some("n1".into()));
        // ... and a later start (a restart in place) gets nothing.
        assert_eq!(use_("d", "n2", false, 1_060_000_000), None);
        // A promote needs the primary: d was only started there; st (a clone instance) was promoted.
        assert_eq!(use_("d", "n3", true, 1_004_000_000), None);
        assert_eq!(use_("st:1", "n2", true, 1_004_000_000), Some("n1".into()));
        // Never the node the start happens on; never a loss before the window; not another boot.
        assert_eq!(use_("st", "n1", false, 1_005_000_000), None);
        let st = |at_us| Arrival { rsc: "st", here: "n2", promoted: false, at_us };
        assert_eq!(sd.use_lost_location(&st(1_006_000_000), 1001, "boot1", &d).unwrap(), None);
        assert_eq!(sd.use_lost_location(&st(1_007_000_000), 900, "boot2", &d).unwrap(), None);
        // A new loss of n1 replaces what was remembered of it; the unstorable name was dropped.
        sd.remember_lost("n1", &[("e".to_string(), false)], 2000, "boot1", &d).unwrap();
        let text = fs::read_to_string(dir.join(LOST)).unwrap();
        assert_eq!(text, "mwha-alert-lost 1 boot1\nn1\te\t2000\tstarted\t0\n");
        assert!(
            parse_lost("mwha-alert-lost 1 boot1\nn1\te\tx\tstarted\t0\nn1\tf\t1\tmaybe\t0\n", "boot1").is_empty(),
            "garbled lines dropped"
        );
        let _ = fs::remove_dir_all(dir);
    }

    fn presence<'a>(presence: Presence, node: &'a str, rsc: &'a str, at_us: i64) -> PresenceEvent<'a> {
        PresenceEvent { presence, node, rsc, at_us }
    }

    /// A start (or promote) stands until a stop, whatever the order the events' processes run
    /// in; a probe is placed among them by its own time.
    #[test]
    fn a_start_stands_until_a_stop_whatever_the_order_of_the_processes() {
        let (started, stopped) = (Presence::Started, Presence::Stopped);
        let mut t = Starts::default();
        assert!(!t.stood_at("n1", "d", 50), "nothing remembered: not started by the cluster");
        assert!(t.apply(&presence(started, "n1", "d", 100)));
        assert!(t.stood_at("n1", "d", 150), "started, not stopped");
        assert!(!t.stood_at("n1", "d", 90), "a probe before the start");
        assert!(!t.stood_at("n2", "d", 150) && !t.stood_at("n1", "e", 150), "another node, another resource");
        assert!(!t.apply(&presence(Presence::FoundRunning, "n1", "d", 150)), "a probe only asks");
        assert!(t.apply(&presence(stopped, "n1", "d", 200)));
        assert!(!t.stood_at("n1", "d", 250), "stopped since");
        assert!(t.stood_at("n1", "d", 150), "a probe before the stop, whose process ran after the stop's");
        // A restart: the stop's and the start's processes in either order.
        for order in [[stopped, started], [started, stopped]] {
            let mut t = Starts::default();
            t.apply(&presence(started, "n1", "d", 100));
            for p in order {
                t.apply(&presence(p, "n1", "d", if p == stopped { 300 } else { 310 }));
            }
            assert!(t.stood_at("n1", "d", 400), "{order:?}");
        }
        // A start whose process runs after the process of the stop that followed it.
        let mut t = Starts::default();
        t.apply(&presence(stopped, "n1", "d", 300));
        t.apply(&presence(started, "n1", "d", 100));
        assert!(!t.stood_at("n1", "d", 400));
    }

    /// Clone instances are remembered under their base name, as `cluster::same_resource` matches
    /// them: a start of `st:0` answers a probe of `st` or `st:1`, and a stop of any instance
    /// forgets them all (at worst a MWHA1005W too many, never one hidden).
    #[test]
    fn clone_instances_are_remembered_under_their_base_name() {
        let mut t = Starts::default();
        t.apply(&presence(Presence::Started, "n1", "st:0", 100));
        assert!(t.stood_at("n1", "st", 150) && t.stood_at("n1", "st:1", 150));
        assert!(!t.stood_at("n1", "st:main", 150) && !t.stood_at("n1", "stx", 150));
        t.apply(&presence(Presence::Stopped, "n1", "st:1", 200));
        assert!(!t.stood_at("n1", "st:0", 250));
        assert_eq!(t.render("b"), "mwha-alert-started 1 b\nn1\tst\t100\t200\n");
    }

    #[test]
    fn the_started_table_survives_its_file_and_is_bounded() {
        let mut t = Starts::default();
        let long = "x".repeat(MAX_NAME);
        for i in 0..(MAX_STARTED as i64 + 50) {
            let rsc = format!("{i:0>MAX_NAME$}"); // names as long as they may be
            t.apply(&presence(Presence::Started, &long, &rsc, 1_000 + i));
            if i % 2 == 0 {
                t.apply(&presence(Presence::Stopped, &long, &rsc, 5_000 + i));
            }
        }
        t.prune();
        assert_eq!(t.records.len(), MAX_STARTED);
        let running = t.records.iter().filter(|r| r.running()).count();
        assert_eq!(running, (MAX_STARTED + 50).div_ceil(2), "the stopped ones went first");
        let text = t.render("boot1");
        assert!(text.len() as u64 <= MAX_STARTED_FILE, "{} bytes", text.len());
        assert_eq!(Starts::parse(&text, "boot1"), t, "parse(render(t)) == t");
        assert_eq!(Starts::parse(&text, "boot2"), Starts::default(), "another boot's starts mean nothing");
        // Beyond the bound, the oldest running ones go too.
        let mut t = Starts::default();
        for i in 0..(MAX_STARTED as i64 + 1) {
            t.apply(&presence(Presence::Started, "n1", &format!("r{i}"), 1_000 + i));
        }
        t.prune();
        assert!(!t.stood_at("n1", "r0", 9_999) && t.stood_at("n1", "r1", 9_999));
        // Garbled lines are dropped, the others kept.
        let garbled = format!("{STARTED_HEADER} b\nn1\td\t5\t0\nbad line\nn1\te\tx\t0\n\te\t1\t0\nn1\tf\t1\t0\textra\n");
        assert_eq!(Starts::parse(&garbled, "b").records.iter().map(|r| r.rsc.as_str()).collect::<Vec<_>>(), ["d"]);
    }

    #[test]
    fn starts_are_kept_in_the_state_directory_across_processes() {
        let dir = temp("started");
        let d = Deadline::after(Duration::from_secs(5));
        let ask = |p: Presence, rsc: &str, at_us: i64, boot: &str| {
            StateDir::open(&dir).unwrap().cluster_started(&presence(p, "n1", rsc, at_us), boot, &d).unwrap()
        };
        assert!(!ask(Presence::FoundRunning, "d", 50, "boot1"), "nothing remembered yet");
        assert!(!dir.join(STARTED).exists(), "a probe writes nothing");
        assert!(ask(Presence::Started, "d", 100, "boot1"));
        assert_eq!(fs::read_to_string(dir.join(STARTED)).unwrap(), "mwha-alert-started 1 boot1\nn1\td\t100\t0\n");
        assert!(!fs::read_dir(&dir).unwrap().flatten().any(|e| atomic::is_temp_name(&e.file_name())), "no temp file left");
        assert!(ask(Presence::FoundRunning, "d", 200, "boot1"), "a cleanup's probe");
        assert!(!ask(Presence::FoundRunning, "d", 200, "boot2"), "after a reboot (another boot ID) nothing is remembered");
        assert!(!ask(Presence::Stopped, "d", 300, "boot1"));
        assert!(!ask(Presence::FoundRunning, "d", 400, "boot1"), "stopped since");
        // Names that could not be stored whole are not remembered.
        let long = "x".repeat(MAX_NAME + 1);
        let sd = StateDir::open(&dir).unwrap();
        assert!(sd.cluster_started(&presence(Presence::Started, "n1", &long, 500), "boot1", &d).is_err());
        assert!(sd.cluster_started(&presence(Presence::Started, "n1\tn2", "d", 500), "boot1", &d).is_err());
        let _ = fs::remove_dir_all(dir);
    }

    /// The `started` file is ours: a symbolic link planted in its place is neither read through
    /// nor written through, and a file too big to be ours is not read: the memory is then
    /// unknown (an error: the probe's MWHA1005W is written), never taken from the planted file.
    #[test]
    fn a_planted_started_file_is_refused() {
        let dir = temp("started-planted");
        let d = Deadline::after(Duration::from_secs(5));
        let sd = StateDir::open(&dir).unwrap();
        let victim = dir.with_file_name(format!("{}-victim", dir.file_name().unwrap().to_string_lossy()));
        let planted = "mwha-alert-started 1 boot1\nn1\td\t100\t0\n";
        fs::write(&victim, planted).unwrap();
        std::os::unix::fs::symlink(&victim, dir.join(STARTED)).unwrap();
        for p in [Presence::FoundRunning, Presence::Started, Presence::Stopped] {
            let err = sd.cluster_started(&presence(p, "n1", "d", 200), "boot1", &d).unwrap_err();
            assert!(format!("{err:#}").contains("is a symlink"), "{p:?}: {err:#}");
        }
        assert_eq!(fs::read_to_string(&victim).unwrap(), planted, "written through the link");
        assert!(fs::symlink_metadata(dir.join(STARTED)).unwrap().file_type().is_symlink(), "the link was replaced");
        fs::remove_file(dir.join(STARTED)).unwrap();
        let huge = format!("{planted}{}", "n1\tx\t1\t0\n".repeat((MAX_STARTED_FILE / 8) as usize));
        fs::write(dir.join(STARTED), &huge).unwrap();
        let err = sd.cluster_started(&presence(Presence::FoundRunning, "n1", "d", 200), "boot1", &d).unwrap_err();
        assert!(format!("{err:#}").contains("more than the"), "{err:#}");
        assert!(sd.cluster_started(&presence(Presence::Started, "n1", "d", 200), "boot1", &d).is_err(), "not rewritten either");
        assert_eq!(fs::metadata(dir.join(STARTED)).unwrap().len(), huge.len() as u64);
        let _ = fs::remove_file(victim);
        let _ = fs::remove_dir_all(dir);
    }

    /// The lock serializes the read-modify-write: processes counting at once lose no count.
    #[test]
    fn concurrent_failures_lose_no_count() {
        let dir = temp("failures-concurrent");
        let _ = StateDir::open(&dir).unwrap();
        let counts: Vec<u32> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8)
                .map(|i| {
                    let dir = dir.clone();
                    scope.spawn(move || {
                        let key = format!("event{i}");
                        let event = failure("n1", "db", &key, 1000 + i);
                        StateDir::open(&dir).unwrap().count_failure(&event, "b", &Deadline::after(Duration::from_secs(10))).unwrap()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let mut sorted = counts.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (1..=8).collect::<Vec<u32>>(), "each process got its own place: {counts:?}");
        let _ = fs::remove_dir_all(dir);
    }

    /// A lock held elsewhere (a hung process) costs at most the deadline, never a hang.
    #[test]
    fn a_held_lock_times_out() {
        let dir = temp("failures-locked");
        let _ = StateDir::open(&dir).unwrap();
        let holder = OpenOptions::new().create(true).append(true).open(dir.join("lock")).unwrap();
        let _held = Flock::lock(holder, FlockArg::LockExclusiveNonblock).map_err(|(_, e)| e).unwrap();
        let started = std::time::Instant::now();
        let err = StateDir::open(&dir)
            .unwrap()
            .count_failure(&failure("n1", "db", "a", 1), "b", &Deadline::after(Duration::from_millis(300)))
            .unwrap_err();
        assert!(ocf::deadline::is_timeout(&err), "{err:#}");
        assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
        let _ = fs::remove_dir_all(dir);
    }

    #[test]
    fn a_missing_parent_is_an_error() {
        assert!(StateDir::open(Path::new("/nonexistent-mwha/alert")).is_err());
    }
}
