//! Atomic file replacement, and directory handles that never follow a symlink.
//!
//! [`replace`] writes the new content to a temporary file in the target's own directory, fsyncs
//! it, renames it over the target and fsyncs the directory. Before that it keeps the previous
//! content as a backup (written and fsynced in full before the rename) and prunes old backups to
//! a bounded number. A SIGKILL or a crash at any instant therefore leaves the target holding
//! either the whole old or the whole new content, never a mix or an empty file, and once the new
//! content is visible a backup of the old one exists.
//!
//! Every file operation goes through a [`Dir`]: a directory opened with `O_NOFOLLOW`, whose
//! entries are reached as `/proc/self/fd/<fd>/<name>` and opened with `O_NOFOLLOW` too. The
//! kernel resolves that path through the open descriptor, not through the directory's path, so
//! renaming a parent or swapping it for a symlink after the check cannot redirect a write (the
//! safe-Rust equivalent of `openat`: nix 0.29's `openat` returns a bare `RawFd`, and owning it
//! would take an `unsafe` block outside `sys.rs`).
//!
//! [`Dir::open_beneath`] is the `openat` walk: the root a caller names (a folder an admin
//! configured) is reached normally, and every component below it is opened through its parent's
//! descriptor with `O_NOFOLLOW | O_DIRECTORY`, so a symlink anywhere below the root is refused
//! with its path instead of redirecting the work into another tree.
//!
//! Reads are bounded: [`Dir::read`] and [`replace`] take a size limit and refuse a bigger file
//! rather than growing memory with it (a sparse file, or one that keeps growing).
//!
//! Invariants: a name given to a [`Dir`] is one plain path component; a symlink is never
//! followed at the last component, nor at any component below a root given to
//! [`Dir::open_beneath`]; temporary files are named `.<name>.mwha-tmp.<pid>` and only
//! [`remove_stale_temps`] and backup pruning delete them, so callers that may run concurrently
//! must serialize writers of one directory (a lock) before calling them.

use std::ffi::{OsStr, OsString};
use std::fs::{self, File, Metadata, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, SystemTime};

use nix::libc;

use crate::civil::UtcTime;
use crate::deadline::Deadline;

/// Marker in the names of temporary files, so leftovers of a killed writer are recognisable.
pub const TEMP_MARKER: &str = ".mwha-tmp.";

/// A directory opened without following a symlink at its last component.
#[derive(Debug)]
pub struct Dir {
    file: File,
    // The path it was opened by, for messages only: operations go through `file`.
    path: PathBuf,
}

impl Dir {
    /// Opens `path`, which must be a directory and not a symlink (its parents are resolved
    /// normally).
    pub fn open(path: &Path) -> io::Result<Dir> {
        let file = open_dir_nofollow(path).map_err(|e| explain_nofollow(e, path, path, "directory"))?;
        Ok(Dir { file, path: path.to_path_buf() })
    }

    /// Opens the directory `below` inside `root`: `root` is resolved normally (an admin named
    /// it, links and all), then each component of `below` is opened through the previous one's
    /// descriptor without following a symlink. A symlink (or anything but a directory) at any
    /// component below the root is refused with its path. `below` must be relative, without
    /// `..`; an empty `below` opens the root itself.
    pub fn open_beneath(root: &Path, below: &Path) -> io::Result<Dir> {
        let file = OpenOptions::new().read(true).custom_flags(libc::O_DIRECTORY).open(root).map_err(|e| with_path(e, root))?;
        Dir { file, path: root.to_path_buf() }.beneath(below)
    }

    /// Opens the directory `below` inside this one, one component at a time without following a
    /// symlink (see [`Dir::open_beneath`]).
    pub fn beneath(&self, below: &Path) -> io::Result<Dir> {
        let mut dir = self.try_clone()?;
        for component in below.components() {
            match component {
                Component::Normal(name) => dir = dir.sub_dir(name)?,
                Component::CurDir => {}
                Component::RootDir | Component::ParentDir | Component::Prefix(_) => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!("{} is not a plain relative path below {}", below.display(), self.path.display()),
                    ));
                }
            }
        }
        Ok(dir)
    }

    /// A second handle on the same directory.
    pub fn try_clone(&self) -> io::Result<Dir> {
        Ok(Dir { file: self.file.try_clone()?, path: self.path.clone() })
    }

    /// The path the kernel has for the open directory now (`/proc/self/fd/<fd>`): where it
    /// really is, whatever links led to it or renames happened since.
    pub fn resolved_path(&self) -> io::Result<PathBuf> {
        fs::read_link(format!("/proc/self/fd/{}", self.file.as_raw_fd()))
    }

    /// Creates `path` and missing parents with `mode` (existing ones are left as they are), then
    /// opens it.
    pub fn create_all(path: &Path, mode: u32) -> io::Result<Dir> {
        fs::DirBuilder::new().recursive(true).mode(mode).create(path)?;
        Dir::open(path)
    }

    /// The path the directory was opened by (for messages).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `fstat` of the directory itself.
    pub fn metadata(&self) -> io::Result<Metadata> {
        self.file.metadata()
    }

    /// Sets the directory's own owner, group and mode.
    pub fn set_attrs(&self, attrs: Attrs) -> io::Result<()> {
        attrs.apply_to(&self.file)
    }

    /// The path that reaches `name` through this directory's descriptor.
    pub fn entry_path(&self, name: &OsStr) -> io::Result<PathBuf> {
        check_name(name)?;
        Ok(PathBuf::from(format!("/proc/self/fd/{}", self.file.as_raw_fd())).join(name))
    }

    /// For messages: the directory's path joined with `name`.
    pub fn display_path(&self, name: &OsStr) -> PathBuf {
        self.path.join(name)
    }

    /// `lstat` of an entry; `None` when absent.
    pub fn lstat(&self, name: &OsStr) -> io::Result<Option<Metadata>> {
        match fs::symlink_metadata(self.entry_path(name)?) {
            Ok(m) => Ok(Some(m)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The names of the entries, sorted (without `.` and `..`).
    pub fn entries(&self) -> io::Result<Vec<OsString>> {
        let mut names = Vec::new();
        for entry in fs::read_dir(format!("/proc/self/fd/{}", self.file.as_raw_fd()))? {
            names.push(entry?.file_name());
        }
        names.sort();
        Ok(names)
    }

    /// Opens a regular file for reading; a symlink or anything but a regular file is an error.
    /// (`O_NONBLOCK` so that a FIFO planted in place of the file cannot block the open; it has
    /// no effect on regular files.)
    pub fn open_file(&self, name: &OsStr) -> io::Result<File> {
        let entry = self.entry_path(name)?;
        let file = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(&entry)
            .map_err(|e| explain_nofollow(e, &entry, &self.display_path(name), "file"))?;
        if !file.metadata()?.is_file() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} is not a regular file", self.display_path(name).display()),
            ));
        }
        Ok(file)
    }

    /// The content of a regular file of at most `limit` bytes; `None` when absent. A bigger
    /// file is refused (see [`read_bounded`]).
    pub fn read(&self, name: &OsStr, limit: u64) -> io::Result<Option<Vec<u8>>> {
        let mut file = match self.open_file(name) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        read_bounded(&mut file, limit, &self.display_path(name)).map(Some)
    }

    /// Opens the subdirectory `name` (not through a symlink).
    pub fn sub_dir(&self, name: &OsStr) -> io::Result<Dir> {
        let entry = self.entry_path(name)?;
        let shown = self.display_path(name);
        let file = open_dir_nofollow(&entry).map_err(|e| explain_nofollow(e, &entry, &shown, "directory"))?;
        Ok(Dir { file, path: shown })
    }

    /// Opens the subdirectory `name`, creating it with `mode` (and fsyncing this directory) when
    /// absent.
    pub fn create_dir(&self, name: &OsStr, mode: u32) -> io::Result<Dir> {
        match fs::DirBuilder::new().mode(mode).create(self.entry_path(name)?) {
            Ok(()) => self.sync()?,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(with_path(e, &self.display_path(name))),
        }
        self.sub_dir(name)
    }

    /// Renames `from` in this directory to `to` in `target` (same filesystem only).
    pub fn rename(&self, from: &OsStr, target: &Dir, to: &OsStr) -> io::Result<()> {
        fs::rename(self.entry_path(from)?, target.entry_path(to)?)
    }

    /// Removes the file (or symlink) `name`; absent is fine.
    pub fn remove_file(&self, name: &OsStr) -> io::Result<()> {
        match fs::remove_file(self.entry_path(name)?) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(with_path(e, &self.display_path(name))),
            _ => Ok(()),
        }
    }

    /// fsync of the directory: makes creations, renames and removals in it durable.
    pub fn sync(&self) -> io::Result<()> {
        self.file.sync_all()
    }
}

/// Owner, group and permission bits of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attrs {
    pub uid: u32,
    pub gid: u32,
    /// Permission bits (`0o7777` at most).
    pub mode: u32,
}

impl Attrs {
    pub fn of(meta: &Metadata) -> Attrs {
        Attrs { uid: meta.uid(), gid: meta.gid(), mode: meta.mode() & 0o7777 }
    }

    /// Sets owner, group and mode on an open file (chown first: it clears set-id bits).
    pub fn apply_to(&self, file: &File) -> io::Result<()> {
        std::os::unix::fs::fchown(file, Some(self.uid), Some(self.gid))?;
        file.set_permissions(fs::Permissions::from_mode(self.mode))
    }
}

/// Where the previous content of a replaced file is kept.
#[derive(Debug, Clone, Copy)]
pub struct Backups<'a> {
    pub dir: &'a Dir,
    /// Backups are named `<prefix><UTC time stamp>`; only names with this prefix are pruned.
    pub prefix: &'a str,
    /// How many backups to keep (the newest; at least the one just written).
    pub keep: usize,
}

/// What the caller believes the target holds now; [`replace`] refuses if that is no longer true
/// (someone else wrote it since the caller looked).
#[derive(Debug, Clone, Copy)]
pub enum Previous<'a> {
    Unchecked,
    Absent,
    Content(&'a [u8]),
}

/// How to replace a file. No `Default`: every caller states owner, backups and expectations.
#[derive(Debug, Clone, Copy)]
pub struct Replace<'a> {
    /// Owner, group and mode of the new file; `None` keeps those of the file replaced (or
    /// root:root 0600 for a new file).
    pub attrs: Option<Attrs>,
    pub backups: Option<Backups<'a>>,
    pub previous: Previous<'a>,
    /// The largest current content read (to compare it and back it up): a bigger target is
    /// refused, never read into memory.
    pub limit: u64,
    /// Test knob: a pause between steps and between 512-byte chunks, to widen the windows a
    /// crash test kills into. `None` in production.
    pub pace: Option<Duration>,
}

/// What [`replace`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum Replaced {
    /// The target already held exactly this content with these attributes: nothing written.
    Unchanged,
    /// The new content is in place; `backup` names the copy of the previous content.
    Written { backup: Option<PathBuf> },
}

/// Replaces `name` in `dir` with `content`, atomically (see the module documentation).
pub fn replace(dir: &Dir, name: &OsStr, content: &[u8], how: &Replace) -> io::Result<Replaced> {
    let shown = dir.display_path(name);
    let changed = || io::Error::other(format!("{} changed while it was being updated (retry)", shown.display()));
    let current = match dir.lstat(name)? {
        None => None,
        Some(meta) if meta.file_type().is_symlink() => {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("{} is a symlink (refused)", shown.display())));
        }
        Some(meta) if !meta.is_file() => {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("{} is not a regular file", shown.display())));
        }
        // Expected absent: nothing to read, whatever its size.
        Some(_) if matches!(how.previous, Previous::Absent) => return Err(changed()),
        Some(_) => {
            let mut file = dir.open_file(name)?;
            let old = read_bounded(&mut file, how.limit, &shown)?;
            Some((Attrs::of(&file.metadata()?), old))
        }
    };
    match (how.previous, &current) {
        (Previous::Unchecked, _) | (Previous::Absent, None) => {}
        (Previous::Content(expected), Some((_, old))) if expected == old.as_slice() => {}
        _ => return Err(changed()),
    }
    let attrs = how.attrs.or(current.as_ref().map(|(a, _)| *a)).unwrap_or(Attrs { uid: 0, gid: 0, mode: 0o600 });
    if let Some((old_attrs, old)) = &current {
        if old == content && *old_attrs == attrs {
            return Ok(Replaced::Unchanged);
        }
    }
    pause(how.pace);
    let backup = match (&how.backups, &current) {
        (Some(backups), Some((old_attrs, old))) => Some(keep_backup(backups, old, *old_attrs, how.pace)?),
        _ => None,
    };
    pause(how.pace);
    let temp = temp_name(name);
    let mut file = create_temp(dir, &temp)?;
    let written =
        write_paced(&mut file, content, how.pace).and_then(|()| attrs.apply_to(&file)).and_then(|()| file.sync_all()).and_then(|()| {
            pause(how.pace);
            dir.rename(&temp, dir, name)
        });
    if let Err(e) = written {
        let _ = dir.remove_file(&temp);
        return Err(with_path(e, &shown));
    }
    drop(file);
    pause(how.pace);
    dir.sync()?;
    Ok(Replaced::Written { backup })
}

/// Creates `name` in `dir` with `content` and `attrs`, atomically; fails if it already exists.
pub fn create(dir: &Dir, name: &OsStr, content: &[u8], attrs: Attrs) -> io::Result<()> {
    // Nothing is read: an existing target is refused whatever its size.
    let how = Replace { attrs: Some(attrs), backups: None, previous: Previous::Absent, limit: 0, pace: None };
    replace(dir, name, content, &how).map(|_| ())
}

/// Moves `name` from `from` to `to_name` in `to`: a rename on one filesystem, otherwise a copy
/// (content, owner, mode and modification time, fsynced) followed by the removal of the
/// original, so a crash leaves the file in one place or both, never in neither. Refuses to
/// overwrite an existing destination and to move anything but a regular file. The copy streams:
/// a leftover of any size moves in bounded memory.
pub fn move_file(from: &Dir, name: &OsStr, to: &Dir, to_name: &OsStr) -> io::Result<()> {
    let shown = from.display_path(name);
    if to.lstat(to_name)?.is_some() {
        return Err(io::Error::new(io::ErrorKind::AlreadyExists, format!("{} already exists", to.display_path(to_name).display())));
    }
    let mut source = from.open_file(name)?;
    match from.rename(name, to, to_name) {
        Ok(()) => {
            to.sync()?;
            from.sync()?;
            return Ok(());
        }
        Err(e) if e.raw_os_error() == Some(libc::EXDEV) => {}
        Err(e) => return Err(with_path(e, &shown)),
    }
    let meta = source.metadata()?;
    let temp = temp_name(to_name);
    let mut copy = create_temp(to, &temp)?;
    let copied = io::copy(&mut source, &mut copy)
        .and_then(|_| Attrs::of(&meta).apply_to(&copy))
        .and_then(|()| copy.set_modified(meta.modified()?))
        .and_then(|()| copy.sync_all())
        .and_then(|()| to.rename(&temp, to, to_name));
    if let Err(e) = copied {
        let _ = to.remove_file(&temp);
        return Err(with_path(e, &to.display_path(to_name)));
    }
    to.sync()?;
    from.remove_file(name)?;
    from.sync()
}

/// Removes temporary files a killed writer left for `name` in `dir`. The caller must be the only
/// writer of `dir` (hold its lock). Returns the names removed.
pub fn remove_stale_temps(dir: &Dir, name: &OsStr) -> io::Result<Vec<OsString>> {
    let prefix = temp_prefix(name);
    let mut removed = Vec::new();
    for entry in dir.entries()? {
        if entry.as_bytes().starts_with(prefix.as_bytes()) {
            dir.remove_file(&entry)?;
            removed.push(entry);
        }
    }
    if !removed.is_empty() {
        dir.sync()?;
    }
    Ok(removed)
}

/// Whether `name` is a temporary file of this module.
pub fn is_temp_name(name: &OsStr) -> bool {
    let bytes = name.as_bytes();
    bytes.starts_with(b".") && bytes.windows(TEMP_MARKER.len()).any(|w| w == TEMP_MARKER.as_bytes())
}

/// A UTC time stamp that sorts like time: `20251125T210502Z`.
pub fn utc_stamp(time: SystemTime) -> String {
    let t = UtcTime::of(time);
    format!("{:04}{:02}{:02}T{:02}{:02}{:02}Z", t.year, t.month, t.day, t.hour, t.minute, t.second)
}

/// A name in `dir` starting with `base` that does not exist yet: `base`, `base-2`, `base-3`…
pub fn unused_name(dir: &Dir, base: &str) -> io::Result<OsString> {
    for n in 1..10_000 {
        let name = if n == 1 { OsString::from(base) } else { OsString::from(format!("{base}-{n}")) };
        if dir.lstat(&name)?.is_none() {
            return Ok(name);
        }
    }
    Err(io::Error::new(io::ErrorKind::AlreadyExists, format!("no free name for {base} in {}", dir.path().display())))
}

fn keep_backup(backups: &Backups, old: &[u8], attrs: Attrs, pace: Option<Duration>) -> io::Result<PathBuf> {
    let name = unused_name(backups.dir, &format!("{}{}", backups.prefix, utc_stamp(SystemTime::now())))?;
    let temp = temp_name(&name);
    let mut file = create_temp(backups.dir, &temp)?;
    // The backup keeps the old group and mode but belongs to the backup directory's owner.
    let backup_attrs = Attrs { uid: backups.dir.metadata()?.uid(), gid: attrs.gid, mode: attrs.mode & 0o640 };
    let written = write_paced(&mut file, old, pace)
        .and_then(|()| backup_attrs.apply_to(&file))
        .and_then(|()| file.sync_all())
        .and_then(|()| backups.dir.rename(&temp, backups.dir, &name));
    if let Err(e) = written {
        let _ = backups.dir.remove_file(&temp);
        return Err(with_path(e, &backups.dir.display_path(&name)));
    }
    backups.dir.sync()?;
    prune(backups)?;
    Ok(backups.dir.display_path(&name))
}

/// Keeps the newest `keep` backups and removes temporary files a killed writer left for this
/// prefix (the caller is the only writer of the backup directory).
fn prune(backups: &Backups) -> io::Result<()> {
    let stale = format!(".{}", backups.prefix);
    for name in backups.dir.entries()? {
        if is_temp_name(&name) && name.as_bytes().starts_with(stale.as_bytes()) {
            backups.dir.remove_file(&name)?;
        }
    }
    let mut names: Vec<OsString> =
        backups.dir.entries()?.into_iter().filter(|n| n.as_bytes().starts_with(backups.prefix.as_bytes()) && !is_temp_name(n)).collect();
    names.sort();
    let excess = names.len().saturating_sub(backups.keep.max(1));
    for name in &names[..excess] {
        backups.dir.remove_file(name)?;
    }
    if excess > 0 {
        backups.dir.sync()?;
    }
    Ok(())
}

fn temp_prefix(name: &OsStr) -> String {
    format!(".{}{TEMP_MARKER}", name.to_string_lossy())
}

fn temp_name(name: &OsStr) -> OsString {
    OsString::from(format!("{}{}", temp_prefix(name), std::process::id()))
}

fn create_temp(dir: &Dir, temp: &OsStr) -> io::Result<File> {
    let open = || OpenOptions::new().write(true).create_new(true).mode(0o600).custom_flags(libc::O_NOFOLLOW).open(dir.entry_path(temp)?);
    match open() {
        // Our PID is unique among live processes: an existing temp of ours was left by a dead one.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            dir.remove_file(temp)?;
            open()
        }
        other => other,
    }
    .map_err(|e| with_path(e, &dir.display_path(temp)))
}

fn write_paced(file: &mut File, content: &[u8], pace: Option<Duration>) -> io::Result<()> {
    if pace.is_none() {
        return file.write_all(content);
    }
    for chunk in content.chunks(512) {
        file.write_all(chunk)?;
        pause(pace);
    }
    Ok(())
}

fn pause(pace: Option<Duration>) {
    if let Some(pace) = pace {
        Deadline::after(pace).sleep(pace);
    }
}

/// Reads all of `file` if it holds at most `limit` bytes; refuses a bigger one (by its size
/// first, then by what it yields, in case it grows while read) naming `shown`.
pub fn read_bounded(file: &mut File, limit: u64, shown: &Path) -> io::Result<Vec<u8>> {
    let refuse = |what: String| io::Error::new(io::ErrorKind::InvalidData, format!("{} {what} (refused)", shown.display()));
    let size = file.metadata()?.len();
    if size > limit {
        return Err(refuse(format!("is {size} bytes, more than the {limit} read at most")));
    }
    let mut content = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    file.take(limit.saturating_add(1)).read_to_end(&mut content).map_err(|e| with_path(e, shown))?;
    if content.len() as u64 > limit {
        return Err(refuse(format!("grew past the {limit} bytes read at most while it was read")));
    }
    Ok(content)
}

fn open_dir_nofollow(path: &Path) -> io::Result<File> {
    OpenOptions::new().read(true).custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW).open(path)
}

fn check_name(name: &OsStr) -> io::Result<()> {
    let bytes = name.as_bytes();
    if bytes.is_empty() || bytes == b"." || bytes == b".." || bytes.contains(&b'/') || bytes.contains(&0) {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("{name:?} is not a plain file name")));
    }
    Ok(())
}

/// ELOOP from `O_NOFOLLOW` means "this is a symlink": say so, naming `shown`. `opened` is the
/// path the open used (a `/proc/self/fd/…` entry path, or `shown` itself).
fn explain_nofollow(e: io::Error, opened: &Path, shown: &Path, what: &str) -> io::Error {
    // O_DIRECTORY is checked before O_NOFOLLOW: a symlink to a directory gives ENOTDIR.
    let symlink = e.raw_os_error() == Some(libc::ELOOP)
        || (e.raw_os_error() == Some(libc::ENOTDIR) && fs::symlink_metadata(opened).is_ok_and(|m| m.file_type().is_symlink()));
    if symlink {
        return io::Error::new(io::ErrorKind::InvalidInput, format!("{} is a symlink, not a {what} (refused)", shown.display()));
    }
    if e.raw_os_error() == Some(libc::ENOTDIR) {
        return io::Error::new(io::ErrorKind::InvalidInput, format!("{} is not a {what}", shown.display()));
    }
    with_path(e, shown)
}

fn with_path(e: io::Error, path: &Path) -> io::Error {
    let text = e.to_string();
    if text.contains(&*path.to_string_lossy()) {
        return e;
    }
    io::Error::new(e.kind(), format!("{}: {text}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    struct Scratch(PathBuf);

    impl Scratch {
        fn new(name: &str) -> Scratch {
            static SEQ: AtomicU32 = AtomicU32::new(0);
            let dir =
                std::env::temp_dir().join(format!("mwha-atomic-{name}-{}-{}", std::process::id(), SEQ.fetch_add(1, Ordering::SeqCst)));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir).unwrap();
            Scratch(dir)
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn os(s: &str) -> &OsStr {
        OsStr::new(s)
    }

    fn plain<'a>(backups: Option<Backups<'a>>) -> Replace<'a> {
        Replace { attrs: None, backups, previous: Previous::Unchecked, limit: 1 << 20, pace: None }
    }

    #[test]
    fn replace_keeps_attributes_backs_up_and_leaves_no_temp() {
        let s = Scratch::new("replace");
        fs::create_dir(s.0.join("bak")).unwrap();
        fs::write(s.0.join("conf"), "old").unwrap();
        fs::set_permissions(s.0.join("conf"), fs::Permissions::from_mode(0o640)).unwrap();
        let dir = Dir::open(&s.0).unwrap();
        let bak = Dir::open(&s.0.join("bak")).unwrap();
        let backups = Backups { dir: &bak, prefix: "conf.", keep: 5 };
        let done = replace(&dir, os("conf"), b"new", &plain(Some(backups))).unwrap();
        let Replaced::Written { backup: Some(backup) } = done else { panic!("{done:?}") };
        assert_eq!(fs::read(&backup).unwrap(), b"old");
        assert_eq!(fs::read(s.0.join("conf")).unwrap(), b"new");
        assert_eq!(fs::metadata(s.0.join("conf")).unwrap().mode() & 0o7777, 0o640);
        assert_eq!(dir.entries().unwrap(), [os("bak"), os("conf")]);
        assert_eq!(replace(&dir, os("conf"), b"new", &plain(Some(backups))).unwrap(), Replaced::Unchanged);
        assert_eq!(bak.entries().unwrap().len(), 1, "no backup for an unchanged file");
    }

    #[test]
    fn backups_are_bounded_and_newest_are_kept() {
        let s = Scratch::new("prune");
        fs::create_dir(s.0.join("bak")).unwrap();
        let bak = Dir::open(&s.0.join("bak")).unwrap();
        for old in ["conf.20000101T000000Z", "conf.20010101T000000Z", "conf.20020101T000000Z", "unrelated"] {
            fs::write(s.0.join("bak").join(old), old).unwrap();
        }
        fs::write(s.0.join("conf"), "v0").unwrap();
        let dir = Dir::open(&s.0).unwrap();
        for v in ["v1", "v2"] {
            let _ = replace(&dir, os("conf"), v.as_bytes(), &plain(Some(Backups { dir: &bak, prefix: "conf.", keep: 2 }))).unwrap();
        }
        fs::write(s.0.join("bak/.conf.20000101T000000Z.mwha-tmp.1"), "killed while backing up").unwrap();
        let _ = replace(&dir, os("conf"), b"v3", &plain(Some(Backups { dir: &bak, prefix: "conf.", keep: 3 }))).unwrap();
        let names = bak.entries().unwrap();
        assert!(!names.iter().any(|n| is_temp_name(n)), "stale backup temps are pruned: {names:?}");
        let _ = replace(&dir, os("conf"), b"v2", &plain(Some(Backups { dir: &bak, prefix: "conf.", keep: 2 }))).unwrap();
        let names = bak.entries().unwrap();
        assert_eq!(names.len(), 3, "{names:?}");
        assert!(names.contains(&OsString::from("unrelated")));
        assert!(!names.iter().any(|n| n.to_string_lossy().starts_with("conf.200")), "{names:?}");
        let contents: Vec<String> =
            names.iter().filter(|n| *n != "unrelated").map(|n| fs::read_to_string(bak.path().join(n)).unwrap()).collect();
        assert_eq!(contents, ["v2", "v3"]);
    }

    #[test]
    fn symlinks_are_refused_at_every_level() {
        let s = Scratch::new("nofollow");
        fs::create_dir(s.0.join("real")).unwrap();
        fs::write(s.0.join("victim"), "precious").unwrap();
        std::os::unix::fs::symlink(s.0.join("real"), s.0.join("linkdir")).unwrap();
        std::os::unix::fs::symlink(s.0.join("victim"), s.0.join("real/conf")).unwrap();
        let err = Dir::open(&s.0.join("linkdir")).unwrap_err();
        assert!(err.to_string().contains("is a symlink"), "{err}");
        let dir = Dir::open(&s.0.join("real")).unwrap();
        let err = replace(&dir, os("conf"), b"evil", &plain(None)).unwrap_err();
        assert!(err.to_string().contains("symlink"), "{err}");
        assert!(dir.open_file(os("conf")).unwrap_err().to_string().contains("symlink"));
        assert!(dir.sub_dir(os("conf")).is_err());
        assert_eq!(fs::read(s.0.join("victim")).unwrap(), b"precious");
        for bad in ["", ".", "..", "a/b"] {
            assert!(dir.entry_path(os(bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn open_beneath_follows_the_root_but_no_link_below_it() {
        let s = Scratch::new("beneath");
        fs::create_dir_all(s.0.join("real/a/b")).unwrap();
        fs::create_dir_all(s.0.join("other/b")).unwrap();
        std::os::unix::fs::symlink(s.0.join("real"), s.0.join("root-link")).unwrap();
        std::os::unix::fs::symlink(s.0.join("other"), s.0.join("real/linked")).unwrap();
        std::os::unix::fs::symlink(s.0.join("other/b"), s.0.join("real/a/blink")).unwrap();
        fs::write(s.0.join("real/a/file"), "f").unwrap();
        // The root is the admin's: a link to it is fine.
        let dir = Dir::open_beneath(&s.0.join("root-link"), Path::new("a/b")).unwrap();
        assert_eq!(dir.path(), s.0.join("root-link/a/b"));
        assert_eq!(dir.resolved_path().unwrap(), s.0.join("real/a/b"));
        assert_eq!(Dir::open_beneath(&s.0.join("real"), Path::new("")).unwrap().path(), s.0.join("real"));
        for (below, refused) in [("linked/b", "real/linked"), ("a/blink", "real/a/blink"), ("linked", "real/linked")] {
            let err = Dir::open_beneath(&s.0.join("real"), Path::new(below)).unwrap_err();
            let expected = format!("{} is a symlink, not a directory (refused)", s.0.join(refused).display());
            assert_eq!(err.to_string(), expected, "{below}");
        }
        let err = Dir::open_beneath(&s.0.join("real"), Path::new("a/file/x")).unwrap_err();
        assert!(err.to_string().contains("real/a/file is not a directory"), "{err}");
        for bad in ["../other", "a/../../other", "/etc"] {
            let err = Dir::open_beneath(&s.0.join("real"), Path::new(bad)).unwrap_err();
            assert!(err.to_string().contains("is not a plain relative path"), "{bad}: {err}");
        }
        let a = Dir::open_beneath(&s.0.join("real"), Path::new("./a")).unwrap();
        assert_eq!(a.beneath(Path::new("b")).unwrap().path(), s.0.join("real/a/b"));
        assert!(a.beneath(Path::new("blink")).is_err());
    }

    #[test]
    fn reads_are_bounded() {
        let s = Scratch::new("bounded");
        fs::write(s.0.join("small"), "12345").unwrap();
        File::create(s.0.join("sparse")).unwrap().set_len(1 << 40).unwrap();
        let dir = Dir::open(&s.0).unwrap();
        assert_eq!(dir.read(os("small"), 5).unwrap().unwrap(), b"12345");
        assert_eq!(dir.read(os("absent"), 5).unwrap(), None);
        let err = dir.read(os("small"), 4).unwrap_err();
        assert_eq!(err.to_string(), format!("{} is 5 bytes, more than the 4 read at most (refused)", s.0.join("small").display()));
        let err = dir.read(os("sparse"), 1 << 20).unwrap_err();
        assert!(err.to_string().contains("is 1099511627776 bytes"), "{err}");
        let how = Replace { attrs: None, backups: None, previous: Previous::Unchecked, limit: 1 << 20, pace: None };
        let err = replace(&dir, os("sparse"), b"x", &how).unwrap_err();
        assert!(err.to_string().contains("more than the 1048576 read at most"), "{err}");
        assert_eq!(fs::metadata(s.0.join("sparse")).unwrap().len(), 1 << 40, "left as it was");
        // What is not a regular file is refused before any read: /dev/zero never ends.
        std::os::unix::fs::symlink("/dev/zero", s.0.join("zero")).unwrap();
        assert!(dir.read(os("zero"), 1 << 20).unwrap_err().to_string().contains("is a symlink"));
        let dev = Dir::open(Path::new("/dev")).unwrap();
        assert!(dev.read(os("zero"), 1 << 20).unwrap_err().to_string().contains("is not a regular file"));
    }

    #[test]
    fn a_parent_swapped_for_a_symlink_after_opening_does_not_redirect_writes() {
        let s = Scratch::new("swap");
        fs::create_dir(s.0.join("conf")).unwrap();
        fs::create_dir(s.0.join("elsewhere")).unwrap();
        let dir = Dir::open(&s.0.join("conf")).unwrap();
        fs::rename(s.0.join("conf"), s.0.join("moved")).unwrap();
        std::os::unix::fs::symlink(s.0.join("elsewhere"), s.0.join("conf")).unwrap();
        create(&dir, os("file"), b"x", Attrs { uid: nix::unistd::getuid().as_raw(), gid: nix::unistd::getgid().as_raw(), mode: 0o600 })
            .unwrap();
        assert!(s.0.join("moved/file").exists());
        assert!(!s.0.join("elsewhere/file").exists());
    }

    #[test]
    fn previous_content_is_checked_and_attrs_are_set() {
        let s = Scratch::new("previous");
        fs::write(s.0.join("f"), "one").unwrap();
        let dir = Dir::open(&s.0).unwrap();
        let how = Replace { attrs: None, backups: None, previous: Previous::Content(b"two"), limit: 1 << 20, pace: None };
        let err = replace(&dir, os("f"), b"three", &how).unwrap_err();
        assert!(err.to_string().contains("changed while"), "{err}");
        assert_eq!(fs::read(s.0.join("f")).unwrap(), b"one");
        assert!(create(&dir, os("f"), b"x", Attrs { uid: 0, gid: 0, mode: 0o600 }).is_err(), "create never overwrites");
        let me = Attrs { uid: nix::unistd::getuid().as_raw(), gid: nix::unistd::getgid().as_raw(), mode: 0o604 };
        let how = Replace {
            attrs: Some(me),
            backups: None,
            previous: Previous::Content(b"one"),
            limit: 1 << 20,
            pace: Some(Duration::from_millis(1)),
        };
        assert!(matches!(replace(&dir, os("f"), &[7u8; 1500], &how).unwrap(), Replaced::Written { backup: None }));
        assert_eq!(Attrs::of(&fs::metadata(s.0.join("f")).unwrap()), me);
        assert_eq!(fs::read(s.0.join("f")).unwrap(), [7u8; 1500]);
    }

    #[test]
    fn stale_temps_are_recognised_and_removed() {
        let s = Scratch::new("stale");
        fs::write(s.0.join(".conf.mwha-tmp.99999"), "half").unwrap();
        fs::write(s.0.join(".other.mwha-tmp.1"), "x").unwrap();
        fs::write(s.0.join("conf"), "whole").unwrap();
        let dir = Dir::open(&s.0).unwrap();
        assert!(is_temp_name(os(".conf.mwha-tmp.99999")));
        assert!(!is_temp_name(os("conf")));
        assert_eq!(remove_stale_temps(&dir, os("conf")).unwrap(), [os(".conf.mwha-tmp.99999")]);
        assert_eq!(dir.entries().unwrap(), [os(".other.mwha-tmp.1"), os("conf")]);
    }

    #[test]
    fn move_file_renames_and_never_overwrites() {
        let s = Scratch::new("move");
        fs::create_dir(s.0.join("q")).unwrap();
        fs::write(s.0.join("extra"), "evidence").unwrap();
        fs::write(s.0.join("q/taken"), "x").unwrap();
        let dir = Dir::open(&s.0).unwrap();
        let q = dir.sub_dir(os("q")).unwrap();
        assert!(move_file(&dir, os("extra"), &q, os("taken")).is_err());
        move_file(&dir, os("extra"), &q, os("extra")).unwrap();
        assert_eq!(fs::read(s.0.join("q/extra")).unwrap(), b"evidence");
        assert!(!s.0.join("extra").exists());
        let created = dir.create_dir(os("new"), 0o700).unwrap();
        assert_eq!(created.metadata().unwrap().mode() & 0o777, 0o700);
        assert_eq!(unused_name(&q, "extra").unwrap(), "extra-2");
    }

    #[test]
    fn move_file_across_filesystems_copies_then_removes() {
        let shm = Path::new("/dev/shm");
        let s = Scratch::new("xdev");
        if !shm.is_dir() || fs::metadata(shm).unwrap().dev() == fs::metadata(&s.0).unwrap().dev() {
            eprintln!("SKIPPED: needs /dev/shm on another filesystem than {}", s.0.display());
            return;
        }
        let source = shm.join(format!("mwha-atomic-xdev-{}", std::process::id()));
        fs::create_dir_all(&source).unwrap();
        fs::write(source.join("f"), "moved").unwrap();
        fs::set_permissions(source.join("f"), fs::Permissions::from_mode(0o604)).unwrap();
        let old = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
        File::options().write(true).open(source.join("f")).unwrap().set_modified(old).unwrap();
        let (from, to) = (Dir::open(&source).unwrap(), Dir::open(&s.0).unwrap());
        move_file(&from, os("f"), &to, os("g")).unwrap();
        let meta = fs::metadata(s.0.join("g")).unwrap();
        assert_eq!((fs::read(s.0.join("g")).unwrap(), meta.mode() & 0o777, meta.modified().unwrap()), (b"moved".to_vec(), 0o604, old));
        assert!(!source.join("f").exists());
        assert_eq!(to.entries().unwrap(), [os("g")], "no temporary file left");
        let _ = fs::remove_dir_all(source);
    }

    #[test]
    fn stamps_sort_like_time() {
        assert_eq!(utc_stamp(SystemTime::UNIX_EPOCH), "19700101T000000Z");
        assert_eq!(utc_stamp(SystemTime::UNIX_EPOCH + Duration::from_secs(1_764_104_702)), "20251125T210502Z");
    }
}
