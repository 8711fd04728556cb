//! The sweep of intermediate files that flows leave half-way when a switch-over interrupts them
//! (the guide: "leftovers must be deleted regularly"). [`find`] walks `sweep_dirs` and lists
//! regular files older than `sweep_age` that no process has open; [`execute`] quarantines or
//! deletes them.
//!
//! Invariants: symlinks are never followed (neither a sweep folder that is a symlink nor any
//! link inside), the walk stays on each folder's filesystem and never leaves the folder, and a
//! file is removed only through its parent folder opened again and checked to be the very folder
//! (device and inode) the walk saw, and only if it is still the very file (inode) found.

use std::collections::{BTreeMap, HashSet};
use std::ffi::{OsStr, OsString};
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};
use ocf::atomic::{self, Dir};

use crate::params::{SweepAction, SweepPlan};
use crate::store::Quarantine;

/// A file found to be a leftover.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Leftover {
    pub path: PathBuf,
    pub size: u64,
    /// Seconds since its last modification.
    pub age_seconds: u64,
    #[serde(skip)]
    id: FileId,
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
    for root in &plan.sweep_dirs {
        if let Err(e) = walk(root, plan.sweep_age, exclude, now, &open_files, &mut found) {
            found.warnings.push(format!("{}: {e:#}", root.display()));
        }
    }
    found
}

fn walk(
    root: &Path,
    age: Duration,
    exclude: Option<&Path>,
    now: SystemTime,
    open_files: &HashSet<PathBuf>,
    found: &mut Found,
) -> Result<()> {
    let meta = match std::fs::symlink_metadata(root) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            found.warnings.push(format!("{} does not exist: not swept", root.display()));
            return Ok(());
        }
        other => other.with_context(|| format!("reading {}", root.display()))?,
    };
    if meta.file_type().is_symlink() {
        found.warnings.push(format!("{} is a symlink: not swept (name the real folder)", root.display()));
        return Ok(());
    }
    if !meta.is_dir() {
        found.warnings.push(format!("{} is not a folder: not swept", root.display()));
        return Ok(());
    }
    // Open files are known by their resolved paths; compare with the resolved folder.
    let canonical = std::fs::canonicalize(root).with_context(|| format!("resolving {}", root.display()))?;
    let mut dir_ids: BTreeMap<PathBuf, FileId> = BTreeMap::new();
    let walker = walkdir::WalkDir::new(root).follow_links(false).follow_root_links(false).same_file_system(true).sort_by_file_name();
    let walker = walker.into_iter().filter_entry(|e| exclude.is_none_or(|x| !e.path().starts_with(x)));
    for entry in walker {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                found.warnings.push(format!("{e}"));
                continue;
            }
        };
        let Ok(meta) = entry.metadata() else { continue };
        if entry.file_type().is_symlink() {
            found.symlinks += 1;
            continue;
        }
        if entry.file_type().is_dir() {
            dir_ids.insert(entry.path().to_path_buf(), FileId::of(&meta));
            continue;
        }
        if !entry.file_type().is_file() {
            continue;
        }
        let Ok(modified) = meta.modified() else { continue };
        let Ok(file_age) = now.duration_since(modified) else { continue };
        if file_age <= age {
            continue;
        }
        let relative = entry.path().strip_prefix(root).expect("walkdir yields paths under its root");
        if open_files.contains(&canonical.join(relative)) {
            found.in_use.push(entry.path().to_path_buf());
            continue;
        }
        let parent = entry.path().parent().expect("a file below the root has a parent").to_path_buf();
        let Some(parent_id) = dir_ids.get(&parent).copied() else { continue };
        let mut quarantine_dir: Vec<OsString> = normal_components(root);
        quarantine_dir.extend(normal_components(relative.parent().unwrap_or(Path::new(""))));
        found.leftovers.push(Leftover {
            path: entry.path().to_path_buf(),
            size: meta.len(),
            age_seconds: file_age.as_secs(),
            id: FileId::of(&meta),
            parent,
            parent_id,
            quarantine_dir,
        });
    }
    Ok(())
}

/// Quarantines (under `store`) or deletes the leftovers; `dry_run` only reports them. Failures
/// of single files are reported, not fatal.
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
        failed: Vec::new(),
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
    if opened.as_ref().is_none_or(|(path, _)| *path != leftover.parent) {
        if let Some((_, previous)) = opened.take() {
            previous.sync()?;
        }
        let dir = Dir::open(&leftover.parent)?;
        if FileId::of(&dir.metadata()?) != leftover.parent_id {
            anyhow::bail!("{} was replaced since the walk: left alone", leftover.parent.display());
        }
        *opened = Some((leftover.parent.clone(), dir));
    }
    let (_, dir) = opened.as_ref().expect("opened above");
    let name = leftover.path.file_name().context("a file has a name")?;
    let now = dir.lstat(name)?.context("vanished")?;
    if !now.is_file() || FileId::of(&now) != leftover.id {
        anyhow::bail!("replaced since the walk: left alone");
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
    pub fn summary(&self, dirs: &[PathBuf]) -> String {
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
