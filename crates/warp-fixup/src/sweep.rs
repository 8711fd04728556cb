//! The sweep of intermediate files that flows leave half-way when a switch-over interrupts them
//! (the guide: "leftovers must be deleted regularly"). [`check_dirs`] refuses sweep folders that
//! hold what the agent protects; [`find`] walks `sweep_dirs` and lists regular files older than
//! `sweep_age` that no process has open; [`execute`] quarantines or deletes them.
//!
//! Invariants: symlinks are never followed (neither a sweep folder that is a symlink, nor a link
//! on its path below `data_dir`, nor any link inside: every folder is opened through its
//! parent's descriptor with `O_NOFOLLOW`), the walk stays on each folder's filesystem and never
//! leaves the folder, a folder that is, holds or lies in a protected folder (license folder,
//! server.xconf's folder, `data_dir`, the store, a system tree) is never swept, and a file is
//! removed only through its parent folder opened again the same way and checked to be the very
//! folder (device and inode) the walk saw, and only if it is still the very file (inode) found.

use std::collections::HashSet;
use std::ffi::{OsStr, OsString};
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::{bail, Context, Result};
use ocf::atomic::{self, Dir};

use crate::beneath::{self, normalize, Below, Descend};
use crate::params::{SweepAction, SweepPlan};
use crate::store::Quarantine;

/// How deep a sweep walks (one open descriptor per level).
const MAX_DEPTH: usize = 100;

/// A folder a sweep must keep away from.
#[derive(Debug, Clone)]
pub struct Protected {
    path: PathBuf,
    /// For messages: "the license folder", "data_dir"…
    what: &'static str,
    /// A sweep folder inside it is fine (work folders in `data_dir`).
    inside_ok: bool,
}

impl Protected {
    pub fn new(path: &Path, what: &'static str, inside_ok: bool) -> Protected {
        Protected { path: normalize(path), what, inside_ok }
    }
}

/// Refuses a sweep folder that is, holds or lies in a protected folder, or is a system tree;
/// `option` names the setting in the message (`sweep_dirs`, `--sweep-dirs`). Lexical: the
/// walk checks again where each folder really is.
pub fn check_dirs(dirs: &[PathBuf], protected: &[Protected], option: &str) -> Result<()> {
    for dir in dirs {
        if let Some(why) = refusal(dir, protected) {
            bail!("{option}: {} {why}", normalize(dir).display());
        }
    }
    Ok(())
}

/// Why `dir` must not be swept, if it must not.
fn refusal(dir: &Path, protected: &[Protected]) -> Option<String> {
    let dir = normalize(dir);
    if is_system_tree(&dir) {
        return Some("is a system folder".into());
    }
    // The closest relation names the cause best: "is data_dir" rather than "contains the
    // license folder".
    let relation = |p: &Protected| {
        if dir == p.path {
            Some((0, "is"))
        } else if !p.inside_ok && dir.starts_with(&p.path) {
            Some((1, "is inside"))
        } else if p.path.starts_with(&dir) {
            Some((2, "contains"))
        } else {
            None
        }
    };
    let closest = protected.iter().filter_map(|p| relation(p).map(|(rank, words)| (rank, words, p.what))).min_by_key(|(rank, ..)| *rank);
    closest.map(|(_, relation, what)| format!("{relation} {what}"))
}

/// Folders shared by the whole system, which a sweep never takes as its own (a folder inside
/// one, such as /tmp/warp-work, is fine). Every parent of an entry is an entry, so "holds a
/// system folder" needs no check of its own.
fn is_system_tree(path: &Path) -> bool {
    ocf::param::system_tree(path).is_some()
}

/// A file found to be a leftover.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Leftover {
    pub path: PathBuf,
    pub size: u64,
    /// Seconds since its last modification.
    pub age_seconds: u64,
    #[serde(skip)]
    id: FileId,
    /// The sweep folder it was found in, and its parent folder relative to that.
    #[serde(skip)]
    sweep_dir: Below,
    #[serde(skip)]
    parent: PathBuf,
    #[serde(skip)]
    parent_id: FileId,
    /// Path inside the quarantine: the sweep folder's absolute path, then the path below it.
    #[serde(skip)]
    quarantine_dir: Vec<OsString>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileId {
    dev: u64,
    ino: u64,
}

impl FileId {
    fn of(meta: &std::fs::Metadata) -> FileId {
        FileId { dev: meta.dev(), ino: meta.ino() }
    }
}

/// What a walk found.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Found {
    pub leftovers: Vec<Leftover>,
    /// Old enough, but open by a running process: left alone.
    pub in_use: Vec<PathBuf>,
    /// Symlinks seen (never followed, never removed).
    pub symlinks: usize,
    /// Folders or entries that could not be swept, and why.
    pub warnings: Vec<String>,
    /// Sweep folders refused (a link on their path, a protected folder): the sweep failed there.
    pub refused: Vec<String>,
}

/// What [`execute`] did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Swept {
    pub action: SweepAction,
    pub dry_run: bool,
    pub files: Vec<Leftover>,
    pub bytes: u64,
    pub oldest_seconds: Option<u64>,
    pub in_use: Vec<PathBuf>,
    pub symlinks: usize,
    pub warnings: Vec<String>,
    pub failed: Vec<String>,
}

/// Walks every sweep folder. `exclude` (the store) is never entered even if it lies inside one.
pub fn find(plan: &SweepPlan, exclude: Option<&Path>, now: SystemTime) -> Found {
    let mut found = Found::default();
    let open_files = open_files();
    let exclude = exclude.map(|store| (normalize(store), std::fs::symlink_metadata(store).ok().map(|m| FileId::of(&m))));
    for dir in &plan.sweep_dirs {
        let Some(root) = open_sweep_dir(dir, &plan.protected, &mut found) else { continue };
        if let Err(e) = walk(dir, &root, plan.sweep_age, exclude.as_ref(), now, &open_files, &mut found) {
            found.refused.push(format!("{e:#}"));
        }
    }
    found
}

/// Opens a sweep folder without following a link below its root; `None` (with the reason
/// recorded) when it is not to be swept.
fn open_sweep_dir(dir: &Below, protected: &[Protected], found: &mut Found) -> Option<Dir> {
    let (parent, name) = match dir.parent_and_name() {
        Ok(opened) => opened,
        Err(e) if e.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == std::io::ErrorKind::NotFound) => {
            found.warnings.push(format!("{} does not exist: not swept", dir.display()));
            return None;
        }
        Err(e) => {
            found.refused.push(format!("{}: {e:#}; not swept (name the real folder)", dir.display()));
            return None;
        }
    };
    match parent.lstat(&name) {
        Ok(None) => found.warnings.push(format!("{} does not exist: not swept", dir.display())),
        Ok(Some(meta)) if meta.file_type().is_symlink() => {
            found.warnings.push(format!("{} is a symlink: not swept (name the real folder)", dir.display()))
        }
        Ok(Some(meta)) if !meta.is_dir() => found.warnings.push(format!("{} is not a folder: not swept", dir.display())),
        Ok(Some(_)) => match parent.sub_dir(&name) {
            Ok(root) => {
                // Where the folder really is, whatever led to it: the lexical check again.
                let real = root.resolved_path().map(|p| refusal(&p, &resolved(protected)).map(|why| (p, why)));
                match real {
                    Ok(None) => return Some(root),
                    Ok(Some((real, why))) => found.refused.push(format!("{} is {} which {why}: not swept", dir.display(), real.display())),
                    Err(e) => found.refused.push(format!("{}: {e}", dir.display())),
                }
            }
            Err(e) => found.refused.push(format!("{e}")),
        },
        Err(e) => found.refused.push(format!("{}: {e}", dir.display())),
    }
    None
}

/// The protected folders as they really are (links resolved), for comparing with a folder
/// that was opened; those that do not exist keep their lexical path.
fn resolved(protected: &[Protected]) -> Vec<Protected> {
    protected.iter().map(|p| Protected { path: std::fs::canonicalize(&p.path).unwrap_or_else(|_| p.path.clone()), ..p.clone() }).collect()
}

fn walk(
    sweep_dir: &Below,
    root: &Dir,
    age: Duration,
    exclude: Option<&(PathBuf, Option<FileId>)>,
    now: SystemTime,
    open_files: &HashSet<PathBuf>,
    found: &mut Found,
) -> Result<()> {
    let root_meta = root.metadata()?;
    // Open files are known by their resolved paths; compare with where the folder really is.
    let real_root = root.resolved_path().with_context(|| format!("resolving {}", sweep_dir.display()))?;
    let mut leftovers = Vec::new();
    let mut in_use = Vec::new();
    let mut symlinks = 0;
    let mut visit = |entry: &beneath::Entry| -> Result<Descend> {
        let meta = entry.meta;
        if meta.file_type().is_symlink() {
            symlinks += 1;
            return Ok(Descend::No);
        }
        // Stay on the sweep folder's filesystem.
        if meta.dev() != root_meta.dev() {
            return Ok(Descend::No);
        }
        if meta.is_dir() {
            let path = sweep_dir.path().join(entry.relative);
            let excluded = exclude.is_some_and(|(store, id)| path.starts_with(store) || *id == Some(FileId::of(meta)));
            return Ok(if excluded { Descend::No } else { Descend::Yes });
        }
        if !meta.is_file() {
            return Ok(Descend::No);
        }
        let Ok(modified) = meta.modified() else { return Ok(Descend::No) };
        let Ok(file_age) = now.duration_since(modified) else { return Ok(Descend::No) };
        if file_age <= age {
            return Ok(Descend::No);
        }
        let path = sweep_dir.path().join(entry.relative);
        if open_files.contains(&real_root.join(entry.relative)) {
            in_use.push(path);
            return Ok(Descend::No);
        }
        let parent = entry.relative.parent().unwrap_or(Path::new("")).to_path_buf();
        let mut quarantine_dir: Vec<OsString> = normal_components(sweep_dir.path());
        quarantine_dir.extend(normal_components(&parent));
        leftovers.push(Leftover {
            path,
            size: meta.len(),
            age_seconds: file_age.as_secs(),
            id: FileId::of(meta),
            sweep_dir: sweep_dir.clone(),
            parent,
            parent_id: FileId::of(&entry.dir.metadata()?),
            quarantine_dir,
        });
        Ok(Descend::No)
    };
    let mut warnings = Vec::new();
    let mut problem = |e: anyhow::Error| -> Result<()> {
        warnings.push(format!("{e:#}"));
        Ok(())
    };
    beneath::walk(root, MAX_DEPTH, &mut visit, &mut problem)?;
    found.leftovers.extend(leftovers);
    found.in_use.extend(in_use);
    found.symlinks += symlinks;
    found.warnings.extend(warnings);
    Ok(())
}

/// Quarantines (under `store`) or deletes the leftovers; `dry_run` only reports them. Failures
/// of single files are reported, not fatal; so are refused sweep folders.
pub fn execute(found: Found, action: SweepAction, store: &Path, dry_run: bool) -> Swept {
    let mut swept = Swept {
        action,
        dry_run,
        files: Vec::new(),
        bytes: 0,
        oldest_seconds: None,
        in_use: found.in_use,
        symlinks: found.symlinks,
        warnings: found.warnings,
        failed: found.refused,
    };
    let mut quarantine = Quarantine::new(store);
    let mut opened: Option<(PathBuf, Dir)> = None;
    for leftover in found.leftovers {
        if !dry_run {
            if let Err(e) = remove_one(&leftover, action, &mut quarantine, &mut opened) {
                swept.failed.push(format!("{}: {e:#}", leftover.path.display()));
                continue;
            }
        }
        swept.bytes += leftover.size;
        swept.oldest_seconds = swept.oldest_seconds.max(Some(leftover.age_seconds));
        swept.files.push(leftover);
    }
    if let Some((_, dir)) = opened {
        let _ = dir.sync();
    }
    swept
}

fn remove_one(leftover: &Leftover, action: SweepAction, quarantine: &mut Quarantine, opened: &mut Option<(PathBuf, Dir)>) -> Result<()> {
    let parent_path = leftover.sweep_dir.path().join(&leftover.parent);
    if opened.as_ref().is_none_or(|(path, _)| *path != parent_path) {
        if let Some((_, previous)) = opened.take() {
            previous.sync()?;
        }
        // Again from the sweep folder's root, one component at a time, never through a link.
        let dir = leftover.sweep_dir.open_dir()?.beneath(&leftover.parent)?;
        if FileId::of(&dir.metadata()?) != leftover.parent_id {
            bail!("{} was replaced since the walk: left alone", parent_path.display());
        }
        *opened = Some((parent_path, dir));
    }
    let (_, dir) = opened.as_ref().expect("opened above");
    let name = leftover.path.file_name().context("a file has a name")?;
    let now = dir.lstat(name)?.context("vanished")?;
    if !now.is_file() || FileId::of(&now) != leftover.id {
        bail!("replaced since the walk: left alone");
    }
    match action {
        SweepAction::Delete => dir.remove_file(name)?,
        SweepAction::Quarantine => {
            let mut sub: Vec<&OsStr> = vec![OsStr::new("sweep")];
            sub.extend(leftover.quarantine_dir.iter().map(OsString::as_os_str));
            let keep = quarantine.dir(&sub)?;
            let to = atomic::unused_name(&keep, &name.to_string_lossy())?;
            atomic::move_file(dir, name, &keep, &to)?;
        }
    }
    Ok(())
}

impl Swept {
    /// The one log line: files, bytes, oldest.
    pub fn summary(&self, dirs: &[Below]) -> String {
        let verb = match (self.dry_run, self.action) {
            (true, SweepAction::Quarantine) => "would quarantine",
            (true, SweepAction::Delete) => "would delete",
            (false, SweepAction::Quarantine) => "quarantined",
            (false, SweepAction::Delete) => "deleted",
        };
        let dirs: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
        let mut line = format!("sweep of {}: {verb} {} file(s), {}", dirs.join(" "), self.files.len(), human_bytes(self.bytes));
        if let Some(oldest) = self.oldest_seconds {
            line += &format!(", oldest {}", human_age(oldest));
        }
        if !self.in_use.is_empty() {
            line += &format!("; {} open file(s) left alone", self.in_use.len());
        }
        if self.symlinks > 0 {
            line += &format!("; {} symlink(s) not followed", self.symlinks);
        }
        if !self.failed.is_empty() {
            line += &format!("; {} failed", self.failed.len());
        }
        if !self.warnings.is_empty() {
            line += &format!("; {} warning(s)", self.warnings.len());
        }
        line
    }
}

/// The resolved paths of every file a process has open, read once from `/proc/*/fd`.
fn open_files() -> HashSet<PathBuf> {
    let mut open = HashSet::new();
    let Ok(procs) = std::fs::read_dir("/proc") else { return open };
    for process in procs.flatten() {
        if !process.file_name().to_string_lossy().bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(fds) = std::fs::read_dir(process.path().join("fd")) else { continue };
        for fd in fds.flatten() {
            if let Ok(target) = std::fs::read_link(fd.path()) {
                if target.is_absolute() {
                    open.insert(target);
                }
            }
        }
    }
    open
}

fn normal_components(path: &Path) -> Vec<OsString> {
    path.components()
        .filter_map(|c| match c {
            Component::Normal(part) => Some(part.to_os_string()),
            _ => None,
        })
        .collect()
}

pub fn human_bytes(bytes: u64) -> String {
    match bytes {
        b if b < 1024 => format!("{b} bytes"),
        b if b < 1024 * 1024 => format!("{:.1} KiB", b as f64 / 1024.0),
        b if b < 1024 * 1024 * 1024 => format!("{:.1} MiB", b as f64 / (1024.0 * 1024.0)),
        b => format!("{:.1} GiB", b as f64 / (1024.0 * 1024.0 * 1024.0)),
    }
}

pub fn human_age(seconds: u64) -> String {
    match seconds {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s if s < 2 * 86_400 => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
        s => format!("{}d{:02}h", s / 86_400, s % 86_400 / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_units() {
        for (secs, text) in [(5, "5s"), (119, "119s"), (600, "10m"), (7260, "2h01m"), (3 * 86_400 + 7200, "3d02h")] {
            assert_eq!(human_age(secs), text);
        }
        assert_eq!(human_bytes(1000), "1000 bytes");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(normal_components(Path::new("/srv/a/b")), [OsStr::new("srv"), OsStr::new("a"), OsStr::new("b")]);
    }
}
