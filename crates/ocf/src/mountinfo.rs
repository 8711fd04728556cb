//! `/proc/self/mountinfo` parsing (owned by the sharedfs work; product-agnostic).
//!
//! One line per mount (proc(5)):
//! `36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue`:
//! mount id, parent id, `major:minor` of the filesystem, root of the mount within its
//! filesystem, mount point, per-mount options, optional fields up to a lone `-`, then the
//! filesystem type, the mount source and the superblock options. Space, tab, newline and
//! backslash inside fields are written as octal escapes (`\040`, `\011`, `\012`, `\134`).
//!
//! Reading `/proc/self/mountinfo` never touches a mounted filesystem, so it cannot hang on a
//! dead NFS server. [`visible_at`] answers "which mount does this path show" by walking the
//! mount tree lexically (no `stat`, no symlink resolution) for the same reason.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::{Component, Path, PathBuf};

/// One line of `/proc/self/mountinfo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub mount_id: u32,
    pub parent_id: u32,
    /// `st_dev` of files on this filesystem.
    pub major: u32,
    pub minor: u32,
    /// The directory of the filesystem that is mounted here (`/` unless a bind mount).
    pub root: PathBuf,
    pub mount_point: PathBuf,
    /// Per-mount options (field 6): `rw`/`ro`, `nosuid`, `relatime`…
    pub mount_options: Vec<String>,
    /// Optional fields: `shared:1`, `master:2`, `propagate_from:3`, `unbindable`.
    pub optional: Vec<String>,
    pub fstype: String,
    /// What was mounted: `/dev/sdb1`, `nas:/export/warp`, `//nas/warp`, `tmpfs`…
    pub source: String,
    /// Superblock options (last field): `rw`/`ro`, `vers=4.2`, `hard`, `size=2048k`…
    pub super_options: Vec<String>,
}

impl Mount {
    /// Read-only through this mount or for the whole filesystem.
    pub fn is_read_only(&self) -> bool {
        self.mount_options.iter().chain(&self.super_options).any(|o| o == "ro")
    }

    /// `option` appears among the per-mount or the superblock options.
    pub fn has_option(&self, option: &str) -> bool {
        self.mount_options.iter().chain(&self.super_options).any(|o| o == option)
    }

    /// All options, per-mount first, without duplicates (for messages).
    pub fn all_options(&self) -> Vec<&str> {
        let mut all: Vec<&str> = Vec::new();
        for o in self.mount_options.iter().chain(&self.super_options) {
            if !all.contains(&o.as_str()) {
                all.push(o);
            }
        }
        all
    }
}

/// Parses one line; `None` for a line that does not have the documented shape.
pub fn parse_line(line: &[u8]) -> Option<Mount> {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let fields: Vec<&[u8]> = line.split(|b| *b == b' ').filter(|f| !f.is_empty()).collect();
    let separator = fields.iter().skip(6).position(|f| *f == b"-")? + 6;
    let text = |f: &[u8]| String::from_utf8_lossy(&unescape(f)).into_owned();
    let number = |f: &[u8]| std::str::from_utf8(f).ok()?.parse::<u32>().ok();
    let (major, minor) = std::str::from_utf8(fields.get(2)?).ok()?.split_once(':')?;
    let options = |f: &[u8]| text(f).split(',').filter(|o| !o.is_empty()).map(str::to_string).collect::<Vec<_>>();
    Some(Mount {
        mount_id: number(fields.first()?)?,
        parent_id: number(fields.get(1)?)?,
        major: major.parse().ok()?,
        minor: minor.parse().ok()?,
        root: PathBuf::from(OsString::from_vec(unescape(fields.get(3)?))),
        mount_point: PathBuf::from(OsString::from_vec(unescape(fields.get(4)?))),
        mount_options: options(fields.get(5)?),
        optional: fields[6..separator].iter().map(|f| text(f)).collect(),
        fstype: text(fields.get(separator + 1)?),
        source: text(fields.get(separator + 2)?),
        super_options: fields.get(separator + 3).map(|f| options(f)).unwrap_or_default(),
    })
}

/// Parses the whole table; malformed lines are skipped.
pub fn parse(text: &[u8]) -> Vec<Mount> {
    text.split(|b| *b == b'\n').filter(|l| !l.is_empty()).filter_map(parse_line).collect()
}

/// The mount table of this process's mount namespace.
pub fn read() -> std::io::Result<Vec<Mount>> {
    use std::io::Read;
    // The file reports size 0: start with room for a few hundred mounts so the kernel renders
    // the table in a few large reads rather than many small ones.
    let mut text = Vec::with_capacity(64 * 1024);
    std::fs::File::open("/proc/self/mountinfo")?.read_to_end(&mut text)?;
    Ok(parse(&text))
}

/// Undoes the kernel's octal escapes (`\040` → space); anything else is kept as is.
pub fn unescape(field: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(field.len());
    let mut i = 0;
    while i < field.len() {
        if field[i] == b'\\' && i + 3 < field.len() {
            let digits = &field[i + 1..i + 4];
            if digits.iter().all(|d| (b'0'..=b'7').contains(d)) {
                let value = digits.iter().fold(0u32, |acc, d| acc * 8 + u32::from(d - b'0'));
                if let Ok(byte) = u8::try_from(value) {
                    out.push(byte);
                    i += 4;
                    continue;
                }
            }
        }
        out.push(field[i]);
        i += 1;
    }
    out
}

/// The mount whose contents `path` shows: the mount tree walked one path component at a time
/// from the root mount, taking the topmost of stacked mounts at each step. `path` must be
/// absolute and is compared lexically (`.` and trailing slashes ignored, `..` refused): nothing
/// is resolved on disk, so a symlink in `path` is not followed.
pub fn visible_at<'a>(mounts: &'a [Mount], path: &Path) -> Option<&'a Mount> {
    let path = normalize(path)?;
    let Some(mut current) = root_mount(mounts) else { return longest_prefix(mounts, &path) };
    let mut prefix = PathBuf::from("/");
    for component in path.components().skip(1) {
        prefix.push(component);
        if let Some(child) = mounts.iter().rev().find(|m| m.parent_id == current.mount_id && m.mount_point == prefix) {
            current = topmost(mounts, child);
        }
    }
    Some(current)
}

/// `path` without `.` components or trailing slashes; `None` if relative or with `..`.
pub fn normalize(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::RootDir => out.push("/"),
            Component::Normal(name) => out.push(name),
            Component::CurDir => {}
            Component::ParentDir | Component::Prefix(_) => return None,
        }
    }
    out.is_absolute().then_some(out)
}

/// The topmost mount at `/`: a mount at `/` whose parent is not itself at `/` (the parent of
/// the namespace's root is outside the table), then up the stack.
fn root_mount(mounts: &[Mount]) -> Option<&Mount> {
    let root = Path::new("/");
    let base = mounts.iter().find(|m| {
        m.mount_point == root && !mounts.iter().any(|p| p.mount_id == m.parent_id && p.mount_point == root && p.mount_id != m.mount_id)
    })?;
    Some(topmost(mounts, base))
}

/// Mounts stacked on the same mount point are children of the one below them.
fn topmost<'a>(mounts: &'a [Mount], mut m: &'a Mount) -> &'a Mount {
    for _ in 0..mounts.len() {
        match mounts.iter().rev().find(|c| c.parent_id == m.mount_id && c.mount_point == m.mount_point && c.mount_id != m.mount_id) {
            Some(above) => m = above,
            None => break,
        }
    }
    m
}

/// Fallback for a table without a recognisable root: the last mount with the longest mount
/// point that is a prefix of `path`.
fn longest_prefix<'a>(mounts: &'a [Mount], path: &Path) -> Option<&'a Mount> {
    mounts.iter().filter(|m| path.starts_with(&m.mount_point)).max_by_key(|m| m.mount_point.components().count())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Captured on Debian 12 (kernel 6.1), trimmed; plus a share with spaces in its name and a
    /// tmpfs stacked on top of an ext4 mount.
    const TABLE: &str = "\
22 27 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw
27 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw,discard
42 27 254:0 /run/netns /run/netns rw,relatime shared:1 - ext4 /dev/vda rw,discard
60 27 0:52 / /srv/warp rw,relatime shared:30 - nfs4 nas:/export/warp rw,vers=4.2,rsize=1048576,hard,proto=tcp,timeo=600
61 27 0:53 / /mnt/my\\040share rw,nosuid,nodev,relatime - cifs //nas/my\\040share rw,vers=3.1.1,cache=strict,soft
62 27 7:0 / /data rw,relatime master:4 propagate_from:2 - ext4 /dev/loop0 rw
63 62 0:54 / /data rw,relatime - tmpfs tmpfs ro,size=2048k
64 27 7:1 /sub /bind ro,relatime - xfs /dev/loop1 rw,attr2
";

    fn table() -> Vec<Mount> {
        parse(TABLE.as_bytes())
    }

    #[test]
    fn fields_optional_fields_and_superblock_options() {
        let mounts = table();
        assert_eq!(mounts.len(), 8);
        let nfs = &mounts[3];
        assert_eq!((nfs.mount_id, nfs.parent_id, nfs.major, nfs.minor), (60, 27, 0, 52));
        assert_eq!(nfs.mount_point, PathBuf::from("/srv/warp"));
        assert_eq!((nfs.fstype.as_str(), nfs.source.as_str()), ("nfs4", "nas:/export/warp"));
        assert_eq!(nfs.optional, ["shared:30"]);
        assert!(nfs.has_option("hard") && nfs.has_option("rw") && !nfs.is_read_only());
        let loop0 = &mounts[5];
        assert_eq!(loop0.optional, ["master:4", "propagate_from:2"]);
        assert_eq!(loop0.source, "/dev/loop0");
        let bind = &mounts[7];
        assert_eq!(bind.root, PathBuf::from("/sub"));
        assert!(bind.is_read_only(), "ro per mount, rw superblock");
        assert!(mounts[6].is_read_only(), "ro superblock");
        assert_eq!(bind.all_options(), ["ro", "relatime", "rw", "attr2"]);
    }

    #[test]
    fn octal_escapes_in_mount_point_and_source() {
        let cifs = &table()[4];
        assert_eq!(cifs.mount_point, PathBuf::from("/mnt/my share"));
        assert_eq!(cifs.source, "//nas/my share");
        assert_eq!(unescape(br"a\011b\012c\134d\040"), b"a\tb\nc\\d ");
        assert_eq!(unescape(br"no\escape\9x\04"), br"no\escape\9x\04", "malformed escapes are kept");
        assert_eq!(unescape(br"\777"), br"\777", "out of byte range");
    }

    #[test]
    fn malformed_lines_are_skipped() {
        assert!(parse_line(b"").is_none());
        assert!(parse_line(b"1 2 3:4 / /x rw").is_none(), "no separator");
        assert!(parse_line(b"x 2 3:4 / /x rw - ext4 /dev/x rw").is_none());
        let no_super = parse_line(b"1 2 3:4 / /x rw - ext4 /dev/x").unwrap();
        assert!(no_super.super_options.is_empty());
        assert_eq!(parse(format!("garbage\n{TABLE}").as_bytes()).len(), 8);
    }

    #[test]
    fn the_visible_mount_is_found_by_walking_the_tree() {
        let mounts = table();
        let at = |p: &str| visible_at(&mounts, Path::new(p)).map(|m| m.mount_id);
        assert_eq!(at("/srv/warp"), Some(60));
        assert_eq!(at("/srv/warp/"), Some(60), "trailing slash");
        assert_eq!(at("/srv/./warp"), Some(60));
        assert_eq!(at("/srv/warp/sub/dir"), Some(60), "inside the share");
        assert_eq!(at("/srv/warp2"), Some(27), "a sibling is on /");
        assert_eq!(at("/srv"), Some(27));
        assert_eq!(at("/mnt/my share"), Some(61));
        assert_eq!(at("/data"), Some(63), "the tmpfs stacked on top hides the ext4");
        assert_eq!(at("/"), Some(27));
        assert_eq!(at("relative"), None);
        assert_eq!(at("/srv/../srv/warp"), None);
    }

    #[test]
    fn a_mount_hidden_by_a_mount_on_its_parent_is_not_visible() {
        // /srv/warp was mounted, then something was mounted over /srv.
        let text = format!("{TABLE}70 27 0:60 / /srv rw - tmpfs tmpfs rw\n");
        let mounts = parse(text.as_bytes());
        assert_eq!(visible_at(&mounts, Path::new("/srv/warp")).map(|m| m.mount_id), Some(70));
    }

    #[test]
    fn a_table_without_its_root_falls_back_to_the_longest_prefix() {
        let mounts = parse(b"60 27 0:52 / /srv/warp rw - nfs4 nas:/x rw\n61 27 0:53 / /srv rw - tmpfs t rw\n");
        assert_eq!(visible_at(&mounts, Path::new("/srv/warp/a")).map(|m| m.mount_id), Some(60));
        assert_eq!(visible_at(&mounts, Path::new("/opt")), None);
    }

    #[test]
    fn this_process_sees_its_root() {
        let mounts = read().unwrap();
        assert_eq!(visible_at(&mounts, Path::new("/proc/self")).map(|m| m.fstype.as_str()), Some("proc"));
    }
}
