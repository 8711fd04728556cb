//! Check levels 10 and 20: I/O on the share, in a child process the agent can walk away from.
//!
//! The child is this binary again, `sharedfs __io-check --directory DIR ...`, run through
//! `ocf::spawn::bounded` with the io deadline. It stats directory (the device must be the one
//! mountinfo shows), runs statfs (min_free), reads the marker and, at level 20, creates, writes,
//! fsyncs, reads back and removes the probe file. It prints one line, `sharedfs-io-check ok
//! available=N size=N [probe_us=N]` or `sharedfs-io-check fail REASON`.
//!
//! The probe file is created with `O_EXCL|O_NOFOLLOW`: a link or someone else's file at its name
//! fails the check and is left alone; only a leftover of a killed check, proven ours, is removed.
//!
//! A child that misses the deadline is killed with its process group; one stuck in
//! uninterruptible sleep (dead NFS server, frozen filesystem) cannot die and is left behind: its
//! PID and start time are recorded per share under /run, and no new child is started on that share
//! while it lives. When the share wakes up, the pending SIGKILL ends it and init reaps it.
//! Both a missed deadline and a still-stuck child are [`TimedOut`] errors: the timeouts that
//! `check_timeouts_tolerated` and on_hang count.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Result};
use nix::fcntl::OFlag;
use ocf::action::Ctx;
use ocf::deadline::TimedOut;
use ocf::identity::{self, ProcRef};
use ocf::mountinfo::Mount;
use ocf::proc::{self, ProcessTable};
use ocf::spawn::{self, CommandLine, RunAs};
use ocf::state::StateDir;

use crate::params::{MinFree, Params};

/// `argv[1]` of the child.
pub const CHILD_ARG: &str = "__io-check";
/// The first word of the child's result line.
const RESULT: &str = "sharedfs-io-check";
/// At most this much of the marker is read.
const MARKER_LIMIT: u64 = 64 * 1024;
/// What `spawn::bounded` may take after the io deadline to kill the child and stop reading its
/// pipes (500 ms for the kill, 2 × 100 ms for the pipes), rounded up.
const REAP_SLACK: Duration = Duration::from_secs(1);

/// What the child is asked to do.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub directory: PathBuf,
    /// `st_dev` directory must have; `None`: not checked.
    pub device: Option<(u32, u32)>,
    pub min_free: Option<MinFree>,
    pub marker: Option<PathBuf>,
    pub marker_content: Option<String>,
    /// Level 20: the probe file's name in directory.
    pub probe: Option<String>,
}

impl Request {
    pub fn to_args(&self) -> Vec<OsString> {
        let mut args: Vec<OsString> = vec!["--directory".into(), self.directory.clone().into()];
        if let Some((major, minor)) = self.device {
            args.extend(["--device".into(), format!("{major}:{minor}").into()]);
        }
        if let Some(min) = self.min_free {
            args.extend(["--min-free".into(), min.to_string().into()]);
        }
        if let Some(marker) = &self.marker {
            args.extend(["--marker".into(), marker.clone().into()]);
        }
        if let Some(content) = &self.marker_content {
            args.extend(["--marker-content".into(), content.into()]);
        }
        if let Some(probe) = &self.probe {
            args.extend(["--probe".into(), probe.into()]);
        }
        args
    }

    pub fn from_args(args: impl IntoIterator<Item = OsString>) -> Result<Request, String> {
        let mut request =
            Request { directory: PathBuf::new(), device: None, min_free: None, marker: None, marker_content: None, probe: None };
        let mut args = args.into_iter();
        while let Some(flag) = args.next() {
            let value = args.next().ok_or_else(|| format!("{flag:?} needs a value"))?;
            let text = || value.clone().into_string().map_err(|v| format!("{flag:?} {v:?} is not UTF-8"));
            match flag.to_str().unwrap_or_default() {
                "--directory" => request.directory = PathBuf::from(&value),
                "--device" => {
                    let text = text()?;
                    let (major, minor) = text.split_once(':').ok_or_else(|| format!("bad --device {text:?}"))?;
                    request.device = Some((
                        major.parse().map_err(|_| format!("bad --device {text:?}"))?,
                        minor.parse().map_err(|_| format!("bad --device {text:?}"))?,
                    ));
                }
                "--min-free" => request.min_free = Some(text()?.parse().map_err(|e| format!("{e}"))?),
                "--marker" => request.marker = Some(PathBuf::from(&value)),
                "--marker-content" => request.marker_content = Some(text()?),
                "--probe" => request.probe = Some(text()?),
                _ => return Err(format!("unknown argument {flag:?}")),
            }
        }
        if !request.directory.is_absolute() {
            return Err("--directory must be an absolute path".into());
        }
        Ok(request)
    }
}

/// What the child found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    /// Bytes available to unprivileged users.
    pub available: u64,
    pub size: u64,
    /// Level 20: how long the probe file took.
    pub probe: Option<Duration>,
}

impl Report {
    fn to_line(self) -> String {
        let mut line = format!("{RESULT} ok available={} size={}", self.available, self.size);
        if let Some(probe) = self.probe {
            line += &format!(" probe_us={}", probe.as_micros());
        }
        line
    }
}

/// The child's verdict from its output: `None` when it printed no result line.
fn parse_result(stdout: &str) -> Option<Result<Report, String>> {
    let line = stdout.lines().rev().find_map(|l| l.strip_prefix(RESULT)?.strip_prefix(' '))?;
    if let Some(reason) = line.strip_prefix("fail ") {
        return Some(Err(reason.trim().to_string()));
    }
    let fields = line.strip_prefix("ok")?;
    let mut report = Report { available: 0, size: 0, probe: None };
    for field in fields.split_whitespace() {
        let (key, value) = field.split_once('=')?;
        let value: u64 = value.parse().ok()?;
        match key {
            "available" => report.available = value,
            "size" => report.size = value,
            "probe_us" => report.probe = Some(Duration::from_micros(value)),
            _ => {}
        }
    }
    Some(Ok(report))
}

// ---------------------------------------------------------------------------------------------
// Parent side

/// Runs the I/O checks of `depth` (10 or 20) on the mount found at level 0.
pub fn run(cx: &Ctx, p: &Params, mount: &Mount, depth: u32) -> Result<Report> {
    let share = Share::new(&p.directory);
    share.ensure_not_stuck()?;
    let request = Request {
        directory: p.directory.clone(),
        // btrfs subvolumes show an st_dev of their own, not the one in mountinfo; an autofs
        // trigger shows the device of what it mounts on first access.
        device: (!matches!(mount.fstype.as_str(), "btrfs" | "autofs")).then_some((mount.major, mount.minor)),
        min_free: p.min_free,
        marker: p.marker.clone(),
        marker_content: p.marker_content.clone(),
        probe: (depth >= 20).then(|| probe_name(cx)),
    };
    let budget = io_budget(cx, p);
    let mut command = CommandLine::new(self_exe()).arg(CHILD_ARG);
    for arg in request.to_args() {
        command = command.arg(arg);
    }
    // Resolved before the fork, from the local user database: nothing here touches the share.
    let user = p.user.as_deref().map(RunAs::by_name).transpose()?;
    let done = spawn::bounded(user.as_ref(), &command, &cx.deadline().within(budget))?;
    if done.status.is_none() {
        // spawn::bounded logged what the child was doing (wait channel, kernel stack).
        for child in stuck_children() {
            ocf::warn!(
                "I/O check pid {} is stuck on {}: no new check starts on this share until it ends",
                child.pid,
                p.directory.display()
            );
            if let Err(err) = share.record(child) {
                ocf::warn!("cannot record stuck I/O check pid {}: {err}", child.pid);
            }
        }
        return Err(TimedOut::error(&format!("{} ({}): I/O", p.directory.display(), mount.source), budget));
    }
    match parse_result(&done.stdout) {
        Some(Ok(report)) => Ok(report),
        Some(Err(reason)) => bail!("{reason}"),
        None => bail!("{}: I/O check {}: {}", p.directory.display(), done.describe(), done.last_line()),
    }
}

/// io_timeout (default half the op timeout), cut so the answer still comes within the op.
fn io_budget(cx: &Ctx, p: &Params) -> Duration {
    let wanted = p.io_timeout.unwrap_or(cx.env().op_timeout() / 2);
    let remaining = cx.deadline().remaining();
    let room = if remaining > REAP_SLACK * 2 { remaining - REAP_SLACK } else { remaining / 2 };
    if wanted > room {
        ocf::debug!("io_timeout {:.1}s cut to {:.1}s by the op timeout", wanted.as_secs_f64(), room.as_secs_f64());
    }
    wanted.min(room)
}

/// `.sharedfs-probe.NODE.RESOURCE`: clones on other nodes and other resources on this node
/// never share a probe file.
pub fn probe_name(cx: &Ctx) -> String {
    let node = cx.env().on_node().map(str::to_string).or_else(|| nix::unistd::gethostname().ok().map(|h| h.to_string_lossy().into_owned()));
    probe_file_name(node.as_deref().unwrap_or("node"), cx.instance())
}

pub fn probe_file_name(node: &str, instance: &str) -> String {
    let safe = |s: &str| -> String {
        s.chars().take(100).map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '_' }).collect()
    };
    format!(".sharedfs-probe.{}.{}", safe(node), safe(instance))
}

/// The binary to re-execute: our own path, or `/proc/self/exe` once a package upgrade has
/// replaced it.
fn self_exe() -> PathBuf {
    match std::env::current_exe() {
        Ok(path) if path.is_file() => path,
        _ => PathBuf::from("/proc/self/exe"),
    }
}

/// Our I/O-check children that outlived the SIGKILL (uninterruptible sleep).
fn stuck_children() -> Vec<ProcRef> {
    let me = std::process::id() as i32;
    ProcessTable::scan()
        .stats
        .values()
        .filter(|s| s.ppid == me && proc::read_cmdline(s.pid).iter().any(|a| a == CHILD_ARG))
        .map(ProcRef::of)
        .collect()
}

/// Per-share state under /run: the I/O-check child still stuck on it, if any. Keyed by
/// directory, not by resource, so two resources (or a clone and a primitive) on one share never
/// stack children on it.
pub struct Share {
    state: StateDir,
    directory: PathBuf,
}

/// A child of an earlier check, stuck on the share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stuck {
    pub child: ProcRef,
    pub since: SystemTime,
}

const STUCK: &str = "stuck";

impl Share {
    pub fn new(directory: &Path) -> Share {
        Share { state: StateDir::new("sharedfs", &format!("mount={}", state_key(directory))), directory: directory.to_path_buf() }
    }

    /// The child recorded as stuck, while it lives; the record of a gone child is removed.
    pub fn stuck(&self) -> Option<Stuck> {
        let text = self.state.read(STUCK).ok().flatten()?;
        match parse_stuck(&text) {
            Some(stuck) if stuck.child.is_alive() => Some(stuck),
            parsed => {
                if let Some(gone) = parsed {
                    ocf::info!("I/O check pid {} on {} has ended: the share answers again", gone.child.pid, self.directory.display());
                }
                let _ = self.state.remove(STUCK);
                None
            }
        }
    }

    /// Fails (as a timeout) while an earlier child is stuck on the share.
    pub fn ensure_not_stuck(&self) -> Result<()> {
        if let Some(stuck) = self.stuck() {
            // The check began when the child did (its start time is precise to the tick).
            let began = proc::read_stat(stuck.child.pid).as_ref().and_then(identity::start_time).unwrap_or(stuck.since);
            let stuck_for = SystemTime::now().duration_since(began).unwrap_or_default();
            ocf::info!("I/O check pid {} is still stuck on {}: not starting another", stuck.child.pid, self.directory.display());
            return Err(TimedOut::error(&format!("{}: earlier I/O check pid {}", self.directory.display(), stuck.child.pid), stuck_for));
        }
        Ok(())
    }

    fn record(&self, child: ProcRef) -> io::Result<()> {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
        self.state.write(STUCK, &format!("{} {} {now}\n", child.pid, child.starttime))
    }
}

/// `PID STARTTIME SINCE` (since: seconds after the epoch).
fn parse_stuck(text: &str) -> Option<Stuck> {
    let mut fields = text.split_whitespace();
    let pid: i32 = fields.next()?.parse().ok().filter(|p| *p > 1)?;
    let starttime: u64 = fields.next()?.parse().ok()?;
    let since: u64 = fields.next()?.parse().ok()?;
    fields.next().is_none().then_some(Stuck { child: ProcRef { pid, starttime }, since: UNIX_EPOCH + Duration::from_secs(since) })
}

/// A file-name-safe, injective name for a directory: `%XX` for every byte outside
/// `[A-Za-z0-9._-]`; a hash when that gets too long for a file name.
pub fn state_key(directory: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    let bytes = directory.as_os_str().as_bytes();
    let mut key = String::new();
    for b in bytes {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-') {
            key.push(char::from(*b));
        } else {
            key += &format!("%{b:02X}");
        }
    }
    if key.len() > 200 {
        // FNV-1a: stable across builds, unlike std's hasher.
        let hash = bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3));
        let mut cut = 150;
        while !key.is_char_boundary(cut) {
            cut -= 1;
        }
        key = format!("{}~{hash:016x}", &key[..cut]);
    }
    key
}

// ---------------------------------------------------------------------------------------------
// Child side

/// `sharedfs __io-check ...`: does the I/O, prints the result line, exits 0 (ok) or 1.
pub fn child_main(args: impl IntoIterator<Item = OsString>) -> u8 {
    let outcome = Request::from_args(args).and_then(|request| perform(&request));
    let (line, code) = match outcome {
        Ok(report) => (report.to_line(), 0),
        Err(reason) => (format!("{RESULT} fail {}", reason.replace(['\n', '\r'], " ")), 1),
    };
    let _ = writeln!(io::stdout(), "{line}");
    code
}

fn perform(request: &Request) -> Result<Report, String> {
    let dir = &request.directory;
    let shown = dir.display();
    let meta = fs::metadata(dir).map_err(|e| format!("{shown}: {e}"))?;
    if let Some((major, minor)) = request.device {
        let found = (nix::sys::stat::major(meta.dev()) as u32, nix::sys::stat::minor(meta.dev()) as u32);
        if found != (major, minor) {
            return Err(format!("{shown}: on device {}:{}, not the mount's {major}:{minor} (remounted?)", found.0, found.1));
        }
    }
    let vfs = nix::sys::statvfs::statvfs(dir.as_path()).map_err(|e| format!("{shown}: statfs: {}", e.desc()))?;
    let unit = if vfs.fragment_size() > 0 { vfs.fragment_size() } else { vfs.block_size() };
    let available = (vfs.blocks_available() as u64).saturating_mul(unit);
    let size = (vfs.blocks() as u64).saturating_mul(unit);
    if let Some(why) = request.min_free.and_then(|min| min.shortfall(available, size)) {
        return Err(format!("{shown}: {why}"));
    }
    if let Some(marker) = &request.marker {
        check_marker(dir, marker, request.marker_content.as_deref())?;
    }
    let probe = request.probe.as_ref().map(|name| probe_file(dir, name)).transpose()?;
    Ok(Report { available, size, probe })
}

fn check_marker(dir: &Path, marker: &Path, content: Option<&str>) -> Result<(), String> {
    let path = dir.join(marker);
    let name = format!("{}: marker {}", dir.display(), marker.display());
    let missing = |e: io::Error| {
        if e.kind() == io::ErrorKind::NotFound {
            format!("{name} is missing (wrong volume?)")
        } else {
            format!("{name}: {e}")
        }
    };
    let Some(want) = content else {
        return fs::metadata(&path).map(|_| ()).map_err(missing);
    };
    let mut bytes = Vec::new();
    File::open(&path).and_then(|f| f.take(MARKER_LIMIT + 1).read_to_end(&mut bytes)).map_err(missing)?;
    if bytes.len() as u64 > MARKER_LIMIT {
        return Err(format!("{name} is larger than 64 KiB (wrong volume?)"));
    }
    let text = String::from_utf8_lossy(&bytes);
    if text.trim_end() != want.trim_end() {
        return Err(format!("{name} holds {:?}, expected {:?} (wrong volume?)", clip(text.trim_end()), clip(want.trim_end())));
    }
    Ok(())
}

fn clip(text: &str) -> String {
    let mut out: String = text.chars().take(24).collect();
    if out.len() < text.len() {
        out.push('…');
    }
    out
}

/// At most this much of a leftover probe file is read to prove it is ours.
const STALE_PROBE_LIMIT: u64 = 4096;

/// Create, write, fsync, read back (past the page cache where the filesystem allows) and remove.
///
/// The probe name sits in a directory other users may write to (the share), so nothing found
/// under it is trusted: the file is created with `O_EXCL|O_NOFOLLOW` (never opened through a
/// link, never truncated), a leftover is removed only once proven ours, and the name is removed
/// only while it still refers to the file this check created.
fn probe_file(dir: &Path, name: &str) -> Result<Duration, String> {
    let started = Instant::now();
    let path = dir.join(name);
    let fail = |what: &str, e: io::Error| format!("{}: {what} probe file {name}: {e}", dir.display());
    remove_stale_probe(dir, name)?;
    let stamp = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_nanos();
    let payload = format!("{}{} at {stamp}\n", probe_head(name), std::process::id());
    let mut file =
        OpenOptions::new().read(true).write(true).create_new(true).mode(0o600).custom_flags(OFlag::O_NOFOLLOW.bits()).open(&path).map_err(
            |e| match e.kind() {
                io::ErrorKind::AlreadyExists => {
                    format!("{}: probe file {name} appeared while the check ran: not touched (another check, or planted)", dir.display())
                }
                _ => fail("creating", e),
            },
        )?;
    let checked = write_and_read_back(&mut file, payload.as_bytes())
        .map_err(|(what, e)| fail(what, e))
        .and_then(|same| same.then_some(()).ok_or_else(|| format!("{}: probe file {name} reads back different content", dir.display())));
    let ours = file.metadata();
    drop(file);
    // Only the name of the file created above is removed; whatever replaced it is left alone.
    let removed = match (ours, fs::symlink_metadata(&path)) {
        (Ok(ours), Ok(now)) if (now.dev(), now.ino()) != (ours.dev(), ours.ino()) => {
            Err(format!("{}: probe file {name} was replaced while the check ran: left alone", dir.display()))
        }
        (_, Err(e)) => Err(fail("finding", e)),
        // fstat failing on a descriptor just created says nothing about the name: it is ours
        // unless raced, and removing a name never writes through it.
        _ => fs::remove_file(&path).map_err(|e| fail("removing", e)),
    };
    checked?;
    removed?;
    Ok(started.elapsed())
}

/// Writes, fsyncs and reads back `payload` through the one descriptor (the name is not looked
/// up again); `Ok(false)`: it reads back different content.
fn write_and_read_back(file: &mut File, payload: &[u8]) -> Result<bool, (&'static str, io::Error)> {
    file.write_all(payload).map_err(|e| ("writing", e))?;
    file.sync_all().map_err(|e| ("fsyncing", e))?;
    // The pages are clean after fsync: drop them so the read goes to the storage.
    let _ = nix::fcntl::posix_fadvise(file.as_raw_fd(), 0, 0, nix::fcntl::PosixFadviseAdvice::POSIX_FADV_DONTNEED);
    file.seek(SeekFrom::Start(0)).map_err(|e| ("rewinding", e))?;
    let mut back = Vec::new();
    (&*file).take(payload.len() as u64 + 1).read_to_end(&mut back).map_err(|e| ("reading back", e))?;
    Ok(back == payload)
}

/// What every probe file of ours starts with; the pid follows.
fn probe_head(name: &str) -> String {
    format!("sharedfs probe {name} pid ")
}

/// Removes a probe file left by a check that was killed, once it is proven ours: a regular file
/// with one link, owned by this user, holding (the start of) a probe payload. Anything else at
/// the probe name is refused and left as it is.
fn remove_stale_probe(dir: &Path, name: &str) -> Result<(), String> {
    let path = dir.join(name);
    let refuse = |why: &str| {
        Err(format!("{}: probe file {name} {why}: refused, not written through (remove it if it is a leftover)", dir.display()))
    };
    let found = match fs::symlink_metadata(&path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(format!("{}: examining probe file {name}: {e}", dir.display())),
    };
    if found.file_type().is_symlink() {
        return refuse("is a symbolic link");
    }
    if !found.is_file() {
        return refuse("is not a regular file");
    }
    // Non-blocking: if a FIFO took the name since the lstat, the open must not wait for a writer.
    let file =
        match OpenOptions::new().read(true).custom_flags((OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_NOCTTY).bits()).open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(nix::libc::ELOOP) => return refuse("is a symbolic link"),
            Err(e) => return Err(format!("{}: opening leftover probe file {name}: {e}", dir.display())),
        };
    let meta = file.metadata().map_err(|e| format!("{}: examining leftover probe file {name}: {e}", dir.display()))?;
    if (meta.dev(), meta.ino()) != (found.dev(), found.ino()) {
        return refuse("changed while it was examined");
    }
    if !meta.is_file() {
        return refuse("is not a regular file");
    }
    if meta.nlink() != 1 {
        return refuse(&format!("has {} hard links", meta.nlink()));
    }
    let me = nix::unistd::geteuid().as_raw();
    if meta.uid() != me {
        return refuse(&format!("is owned by uid {}, not by this check's uid {me}", meta.uid()));
    }
    let mut content = Vec::new();
    (&file)
        .take(STALE_PROBE_LIMIT + 1)
        .read_to_end(&mut content)
        .map_err(|e| format!("{}: reading leftover probe file {name}: {e}", dir.display()))?;
    if !is_probe_payload(&content, name) {
        return refuse("holds something other than a probe");
    }
    drop(file);
    fs::remove_file(&path).map_err(|e| format!("{}: removing leftover probe file {name}: {e}", dir.display()))
}

/// A probe payload, or the start of one (a check killed before or while it wrote).
fn is_probe_payload(content: &[u8], name: &str) -> bool {
    let head = probe_head(name);
    let head = head.as_bytes();
    content.len() as u64 <= STALE_PROBE_LIMIT && (content.starts_with(head) || head.starts_with(content))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_survive_the_command_line() {
        let request = Request {
            directory: PathBuf::from("/srv/my share"),
            device: Some((0, 52)),
            min_free: Some(MinFree::Percent(2.5)),
            marker: Some(PathBuf::from(".warp-volume")),
            marker_content: Some("vol 1\nline 2".into()),
            probe: Some(".sharedfs-probe.n1.fs".into()),
        };
        assert_eq!(Request::from_args(request.to_args()).unwrap(), request);
        let bare =
            Request { directory: PathBuf::from("/x"), device: None, min_free: None, marker: None, marker_content: None, probe: None };
        assert_eq!(Request::from_args(bare.to_args()).unwrap(), bare);
        assert!(Request::from_args(["--directory".into()]).is_err());
        assert!(Request::from_args(["--directory".into(), "rel".into()]).is_err());
        assert!(Request::from_args(["--bogus".into(), "1".into()]).is_err());
        assert!(Request::from_args(["--directory".into(), "/x".into(), "--device".into(), "7".into()]).is_err());
    }

    #[test]
    fn result_lines() {
        let report = Report { available: 10, size: 20, probe: Some(Duration::from_micros(1500)) };
        assert_eq!(parse_result(&format!("noise\n{}\n", report.to_line())), Some(Ok(report)));
        let no_probe = Report { probe: None, ..report };
        assert_eq!(parse_result(&no_probe.to_line()), Some(Ok(no_probe)));
        assert_eq!(parse_result("sharedfs-io-check fail /x: marker .m is missing\n"), Some(Err("/x: marker .m is missing".into())));
        assert_eq!(parse_result("something else\n"), None);
        assert_eq!(parse_result("sharedfs-io-check ok available=x\n"), None);
    }

    #[test]
    fn probe_names_are_per_node_and_resource_and_safe() {
        assert_eq!(probe_file_name("node1", "warp-fs"), ".sharedfs-probe.node1.warp-fs");
        assert_eq!(probe_file_name("n1.example.com", "fs:0"), ".sharedfs-probe.n1.example.com.fs_0");
        assert_eq!(probe_file_name("a/b", "../x"), ".sharedfs-probe.a_b..._x");
        assert_ne!(probe_file_name("n1", "fs"), probe_file_name("n2", "fs"));
    }

    #[test]
    fn state_keys_are_distinct_and_safe() {
        let a = state_key(Path::new("/srv/warp"));
        assert_eq!(a, "%2Fsrv%2Fwarp");
        assert_ne!(state_key(Path::new("/srv_warp")), a);
        assert_ne!(state_key(Path::new("/srv/warp:1")), state_key(Path::new("/srv/warp_1")));
        let long = Path::new("/").join("d".repeat(400));
        let key = state_key(&long);
        assert!(key.len() < 200 && key.contains('~'), "{key}");
        assert_ne!(key, state_key(&Path::new("/").join("d".repeat(401))));
    }

    #[test]
    fn stuck_records_parse_strictly() {
        let s = parse_stuck("4242 987654 1700000000\n").unwrap();
        assert_eq!(s.child, ProcRef { pid: 4242, starttime: 987654 });
        assert_eq!(s.since, UNIX_EPOCH + Duration::from_secs(1_700_000_000));
        for bad in ["", "4242", "4242 1", "1 2 3", "x 1 2", "4242 1 2 3"] {
            assert!(parse_stuck(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn only_probe_payloads_count_as_ours() {
        let name = ".sharedfs-probe.n1.fs";
        assert!(is_probe_payload(b"", name), "killed before it wrote");
        assert!(is_probe_payload(b"sharedfs probe .sharedfs-probe.n1.fs pid 42 at 1700000000\n", name));
        assert!(is_probe_payload(b"sharedfs probe .sharedfs-pr", name), "killed while it wrote");
        assert!(!is_probe_payload(b"sharedfs probe .sharedfs-probe.n2.fs pid 42 at 1\n", name), "another node's");
        assert!(!is_probe_payload(b"root:x:0:0:root:/root:/bin/bash\n", name));
        let mut long = probe_head(name).into_bytes();
        long.resize(STALE_PROBE_LIMIT as usize + 1, b'x');
        assert!(!is_probe_payload(&long, name), "too long to be ours");
    }

    #[test]
    fn the_probe_file_never_writes_through_what_it_finds() {
        use std::os::unix::fs::symlink;
        let dir = std::env::temp_dir().join(format!("sharedfs-probe-hostile-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let name = probe_file_name("n1", "t");
        let probe = dir.join(&name);
        let victim = dir.join("victim");
        fs::write(&victim, "precious\n").unwrap();

        fs::hard_link(&victim, &probe).unwrap();
        let why = probe_file(&dir, &name).unwrap_err();
        assert!(why.contains("has 2 hard links: refused, not written through") && why.contains(&name), "{why}");
        assert_eq!(fs::read_to_string(&victim).unwrap(), "precious\n");
        fs::remove_file(&probe).unwrap();

        for target in [&victim, &dir.join("absent")] {
            symlink(target, &probe).unwrap();
            let why = probe_file(&dir, &name).unwrap_err();
            assert!(why.contains("is a symbolic link: refused"), "{why}");
            assert!(fs::symlink_metadata(&probe).unwrap().file_type().is_symlink(), "the link is left alone");
            fs::remove_file(&probe).unwrap();
        }
        assert_eq!(fs::read_to_string(&victim).unwrap(), "precious\n");
        assert!(!dir.join("absent").exists(), "a dangling link's target is not created");

        fs::write(&probe, "not a probe\n").unwrap();
        assert!(probe_file(&dir, &name).unwrap_err().contains("holds something other than a probe"));
        assert_eq!(fs::read_to_string(&probe).unwrap(), "not a probe\n");

        fs::write(&probe, format!("{}4242 at 1\n", probe_head(&name))).unwrap();
        probe_file(&dir, &name).expect("a leftover of ours is removed");
        assert!(!probe.exists());
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn the_child_checks_a_local_directory() {
        let dir = std::env::temp_dir().join(format!("sharedfs-iocheck-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join(".marker"), "vol-1\n").unwrap();
        let mut request = Request {
            directory: dir.clone(),
            device: None,
            min_free: Some(MinFree::Bytes(1)),
            marker: Some(PathBuf::from(".marker")),
            marker_content: Some("vol-1".into()),
            probe: Some(probe_file_name("n1", "t")),
        };
        let report = perform(&request).unwrap();
        assert!(report.size > 0 && report.probe.is_some(), "{report:?}");
        assert!(!dir.join(probe_file_name("n1", "t")).exists(), "probe file removed");
        request.marker_content = Some("vol-2".into());
        let why = perform(&request).unwrap_err();
        assert!(why.contains("holds \"vol-1\", expected \"vol-2\""), "{why}");
        request.marker = Some(PathBuf::from(".absent"));
        assert!(perform(&request).unwrap_err().contains("marker .absent is missing"));
        request.marker = None;
        request.device = Some((4095, 4095));
        assert!(perform(&request).unwrap_err().contains("not the mount's 4095:4095"));
        request.device = None;
        request.min_free = Some(MinFree::Percent(100.0));
        assert!(perform(&request).unwrap_err().contains("min_free 100%"));
        fs::remove_dir_all(dir).unwrap();
    }
}
