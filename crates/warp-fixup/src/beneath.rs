//! Paths below a folder the admin named, and how much of a file warp-fixup reads.
//!
//! A [`Below`] splits a path into its root (`data_dir`, the store, a sweep folder's parent: what
//! the admin configured, reached normally, links and all) and the components below it, which are
//! opened one at a time through their parent's descriptor without following a link
//! ([`ocf::atomic::Dir::open_beneath`]). The data folder is what a sync or a switch-over
//! overwrites, so a link below it is refused instead of leading the agent into another tree.
//!
//! [`walk`] visits a tree the same way: every folder is opened through its parent's descriptor
//! with `O_NOFOLLOW`, so a folder swapped for a link during the walk is refused, not followed.
//!
//! Invariants: a `Below` holds lexically normal paths (no `.`, `..`, repeated or trailing
//! slashes) and a non-empty relative part, so its last component is never followed; every file
//! warp-fixup reads is read through [`ocf::atomic`] with one of the limits below.

use std::ffi::{OsStr, OsString};
use std::fs::Metadata;
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

use anyhow::{bail, Context, Result};
use ocf::atomic::Dir;

/// server.xconf: a few kilobytes in practice; far more is not a configuration file.
pub const XCONF_MAX: u64 = 16 << 20;
/// One license file (in the data folder or the store).
pub const LICENSE_MAX: u64 = 4 << 20;
/// The store's own `identity` and `SHA256SUMS`.
pub const STORE_TEXT_MAX: u64 = 1 << 20;

/// A path inside a root the admin named; see the module documentation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Below {
    root: PathBuf,
    /// Relative, normal components only, never empty.
    rest: PathBuf,
    full: PathBuf,
}

impl Below {
    /// `path` below `root` when it lies inside it (compared lexically), else below its own
    /// parent folder (only its last component is then opened without following a link).
    pub fn anchor(root: Option<&Path>, path: &Path) -> Result<Below> {
        let full = normalize(path);
        if let Some(root) = root.map(normalize) {
            if let Ok(rest) = full.strip_prefix(&root) {
                if !rest.as_os_str().is_empty() {
                    return Ok(Below { rest: rest.to_path_buf(), root, full });
                }
            }
        }
        let (Some(parent), Some(name)) = (full.parent(), full.file_name()) else {
            bail!("{} names no file or folder below a folder", path.display())
        };
        Ok(Below { root: parent.to_path_buf(), rest: PathBuf::from(name), full: full.clone() })
    }

    /// The whole path (for messages and lexical comparisons).
    pub fn path(&self) -> &Path {
        &self.full
    }

    pub fn display(&self) -> std::path::Display<'_> {
        self.full.display()
    }

    /// Opens the folder itself, refusing a link at or below the root.
    pub fn open_dir(&self) -> Result<Dir> {
        Ok(Dir::open_beneath(&self.root, &self.rest)?)
    }

    /// Opens the parent folder (refusing links as [`Below::open_dir`] does) and returns it with
    /// the last component's name, for callers that look at the entry before opening it.
    pub fn parent_and_name(&self) -> Result<(Dir, OsString)> {
        let name = self.rest.file_name().context("a Below ends in a name")?.to_os_string();
        let parent = self.rest.parent().unwrap_or(Path::new(""));
        Ok((Dir::open_beneath(&self.root, parent)?, name))
    }
}

/// `path` with `.` and `..` resolved lexically and repeated or trailing slashes dropped (`..`
/// at the top stays at `/`).
pub fn normalize(path: &Path) -> PathBuf {
    let mut parts: Vec<&OsStr> = Vec::new();
    let absolute = path.has_root();
    for component in path.components() {
        match component {
            Component::Normal(part) => parts.push(part),
            Component::ParentDir => {
                if parts.pop().is_none() && !absolute {
                    parts.push(OsStr::new(".."));
                }
            }
            Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
        }
    }
    let mut normal = PathBuf::from(if absolute { "/" } else { "" });
    normal.extend(parts);
    normal
}

/// What [`walk`]'s visitor wants done with a folder it was shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Descend {
    Yes,
    No,
}

/// One entry as [`walk`] shows it.
pub struct Entry<'a> {
    /// The folder holding it (opened without following links from the walk's root).
    pub dir: &'a Dir,
    /// Its path relative to the walk's root.
    pub relative: &'a Path,
    /// `lstat` of the entry.
    pub meta: &'a Metadata,
}

/// Visits every entry below `root` depth-first, in name order, never following a link: a
/// folder is entered only through its parent's descriptor with `O_NOFOLLOW`, and only if it is
/// still the very folder `lstat` saw. Folders deeper than `max_depth` are not entered. Problems
/// with single entries go to `problem`, which decides whether the walk goes on (`Ok`) or stops
/// (`Err`). One descriptor is open per level.
pub fn walk(
    root: &Dir,
    max_depth: usize,
    visit: &mut dyn FnMut(&Entry) -> Result<Descend>,
    problem: &mut dyn FnMut(anyhow::Error) -> Result<()>,
) -> Result<()> {
    struct Level {
        dir: Dir,
        names: std::vec::IntoIter<OsString>,
        relative: PathBuf,
    }
    let names = root.entries().with_context(|| format!("listing {}", root.path().display()))?;
    let mut stack = vec![Level { dir: root.try_clone()?, names: names.into_iter(), relative: PathBuf::new() }];
    loop {
        let depth = stack.len();
        let Some(level) = stack.last_mut() else { break };
        let Some(name) = level.names.next() else {
            stack.pop();
            continue;
        };
        let relative = level.relative.join(&name);
        let meta = match level.dir.lstat(&name) {
            Ok(Some(meta)) => meta,
            Ok(None) => continue,
            Err(e) => {
                problem(anyhow::Error::new(e).context(format!("reading {}", level.dir.display_path(&name).display())))?;
                continue;
            }
        };
        let entry = Entry { dir: &level.dir, relative: &relative, meta: &meta };
        if visit(&entry)? == Descend::No || !meta.is_dir() {
            continue;
        }
        let shown = level.dir.display_path(&name);
        if depth > max_depth {
            problem(anyhow::anyhow!("{} is more than {max_depth} folders deep: not entered", shown.display()))?;
            continue;
        }
        let opened = level.dir.sub_dir(&name).and_then(|dir| Ok((dir.entries()?, dir.metadata()?, dir)));
        match opened {
            Ok((_, now, _)) if (now.dev(), now.ino()) != (meta.dev(), meta.ino()) => {
                problem(anyhow::anyhow!("{} was replaced while it was being read: not entered", shown.display()))?;
            }
            Ok((names, _, dir)) => stack.push(Level { dir, names: names.into_iter(), relative }),
            Err(e) => problem(anyhow::Error::new(e).context(format!("entering {}", shown.display())))?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_is_lexical() {
        for (path, normal) in [
            ("/", "/"),
            ("/tmp/", "/tmp"),
            ("//usr///local/./", "/usr/local"),
            ("/etc/../var/tmp/..", "/var"),
            ("/../..", "/"),
            ("a/../../b", "../b"),
        ] {
            assert_eq!(normalize(Path::new(path)), PathBuf::from(normal), "{path}");
        }
    }

    #[test]
    fn anchors_split_at_the_root_or_the_parent() {
        let below = Below::anchor(Some(Path::new("/srv/warp/")), Path::new("/srv/warp/./system/license/")).unwrap();
        assert_eq!((below.root.as_path(), below.rest.as_path()), (Path::new("/srv/warp"), Path::new("system/license")));
        assert_eq!(below.path(), Path::new("/srv/warp/system/license"));
        let outside = Below::anchor(Some(Path::new("/srv/warp")), Path::new("/etc/warp/server.xconf")).unwrap();
        assert_eq!((outside.root.as_path(), outside.rest.as_path()), (Path::new("/etc/warp"), Path::new("server.xconf")));
        let itself = Below::anchor(Some(Path::new("/srv/warp")), Path::new("/srv/warp")).unwrap();
        assert_eq!((itself.root.as_path(), itself.rest.as_path()), (Path::new("/srv"), Path::new("warp")));
        let sibling = Below::anchor(Some(Path::new("/srv/warp")), Path::new("/srv/warp2/x")).unwrap();
        assert_eq!(sibling.root, PathBuf::from("/srv/warp2"));
        assert!(Below::anchor(None, Path::new("/")).is_err());
    }
}
