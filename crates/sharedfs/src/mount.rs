//! Check level 0: what `/proc/self/mountinfo` says about directory. No system call here touches
//! the share; the only files read besides mountinfo are device nodes under `/dev` (to match a
//! disk named two ways).

use std::fmt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use anyhow::Result;
use ocf::exit::OcfError;
use ocf::mountinfo::{self, Mount};

use crate::params::Params;

/// The expected mount source, normalized once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `host:/path` (NFS); the host lower-cased, the path without trailing or doubled slashes.
    Nfs { host: String, path: String },
    /// `//server/share/path` (CIFS), lower-cased, `\` read as `/`.
    Cifs(String),
    /// An absolute path: a block device (`/dev/sdb1`, `/dev/disk/by-uuid/...`) or anything else
    /// mounted by path.
    Path(PathBuf),
    /// Anything else (`tmpfs`, `sshfs#user@host:`...): compared as is.
    Other(String),
}

impl Source {
    /// Parses the `source` parameter; `UUID=`, `LABEL=`, `PARTUUID=` and `PARTLABEL=` become
    /// their `/dev/disk/by-*` links.
    pub fn parse(raw: &str) -> Result<Source> {
        let text = raw.trim();
        for (tag, dir) in [("UUID=", "by-uuid"), ("LABEL=", "by-label"), ("PARTUUID=", "by-partuuid"), ("PARTLABEL=", "by-partlabel")] {
            if let Some(value) = text.strip_prefix(tag) {
                let value = value.trim_matches('"');
                if value.is_empty() || value.contains('/') {
                    return Err(OcfError::configured(format!("source {raw:?}: empty or invalid {tag}")));
                }
                return Ok(Source::Path(Path::new("/dev/disk").join(dir).join(value)));
            }
        }
        let source = Source::from_mountinfo(text);
        match &source {
            _ if text.is_empty() => Err(OcfError::configured("source is empty")),
            Source::Nfs { host, .. } if host.is_empty() || text.ends_with(':') => {
                Err(OcfError::configured(format!("source {raw:?} is not host:/path")))
            }
            _ => Ok(source),
        }
    }

    /// A mount source as `/proc/self/mountinfo` shows it, normalized like the parameter.
    pub fn from_mountinfo(text: &str) -> Source {
        if text.starts_with("//") || text.starts_with("\\\\") {
            let unified = text.replace('\\', "/");
            return Source::Cifs(format!("//{}", clean_path(unified.trim_start_matches('/'))).to_lowercase());
        }
        if text.starts_with('/') {
            return Source::Path(PathBuf::from(format!("/{}", clean_path(text))));
        }
        // NFS: host:/path, host:path, [v6addr]:/path.
        let split = if text.starts_with('[') { text.find("]:").map(|i| i + 1) } else { text.find(':') };
        if let Some(at) = split {
            let (host, path) = (&text[..at], &text[at + 1..]);
            if !host.contains('/') && !host.contains('#') {
                return Source::Nfs { host: host.to_lowercase(), path: format!("/{}", clean_path(path)) };
            }
        }
        Source::Other(text.trim_end_matches('/').to_string())
    }

    /// Whether a mount's source is this one. A `/dev` path also matches the same device under
    /// another name (by device number, or where the links lead): only `/dev` is read for that.
    pub fn matches(&self, mount: &Mount) -> bool {
        let found = Source::from_mountinfo(&mount.source);
        if *self == found {
            return true;
        }
        match (self, &found) {
            (Source::Path(want), Source::Path(have)) if want.starts_with("/dev/") => {
                let same_device = std::fs::metadata(want)
                    .is_ok_and(|m| m.file_type().is_block_device() && device_numbers(m.rdev()) == (mount.major, mount.minor));
                same_device || (have.starts_with("/dev/") && canonical(want).is_some_and(|w| Some(w) == canonical(have)))
            }
            _ => false,
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Nfs { host, path } => write!(f, "{host}:{path}"),
            Source::Cifs(s) | Source::Other(s) => f.write_str(s),
            Source::Path(p) => write!(f, "{}", p.display()),
        }
    }
}

/// Why directory fails check level 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The directory shows another mount (or nothing is found): the share is not mounted.
    NotMounted {
        covering: Option<(PathBuf, String)>,
    },
    WrongSource {
        found: String,
        expected: String,
    },
    WrongType {
        found: String,
        expected: String,
    },
    ReadOnly,
    MissingOption {
        option: String,
        found: String,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::NotMounted { covering: Some((point, source)) } => {
                write!(f, "not a mount point (the share is not mounted; it lies on {} from {source})", point.display())
            }
            Problem::NotMounted { covering: None } => write!(f, "not a mount point (not in /proc/self/mountinfo)"),
            Problem::WrongSource { found, expected } => write!(f, "wrong volume: {found} is mounted, expected {expected}"),
            Problem::WrongType { found, expected } => write!(f, "filesystem type is {found}, expected {expected}"),
            Problem::ReadOnly => write!(f, "mounted read-only"),
            Problem::MissingOption { option, found } => write!(f, "mount option {option} missing (has {found})"),
        }
    }
}

impl std::error::Error for Problem {}

/// Check level 0: the mount visible at directory, if it is the expected one.
pub fn check<'a>(p: &Params, mounts: &'a [Mount]) -> Result<&'a Mount, Problem> {
    let mount = match mountinfo::visible_at(mounts, &p.directory) {
        Some(m) if m.mount_point == p.directory => m,
        other => return Err(Problem::NotMounted { covering: other.map(|m| (m.mount_point.clone(), m.source.clone())) }),
    };
    if let Some(expected) = &p.source {
        if !expected.matches(mount) {
            return Err(Problem::WrongSource { found: mount.source.clone(), expected: expected.to_string() });
        }
    }
    if let Some(expected) = &p.fstype {
        if !fstype_matches(expected, &mount.fstype) {
            return Err(Problem::WrongType { found: mount.fstype.clone(), expected: expected.clone() });
        }
    }
    for option in &p.options {
        if !option_present(option, mount) {
            if option == "rw" {
                return Err(Problem::ReadOnly);
            }
            return Err(Problem::MissingOption { option: option.clone(), found: mount.all_options().join(",") });
        }
    }
    Ok(mount)
}

/// `nfs` covers NFSv4 mounts (shown as `nfs4`), `cifs` covers `smb3`.
pub fn fstype_matches(expected: &str, found: &str) -> bool {
    expected == found || matches!((expected, found), ("nfs", "nfs4") | ("cifs", "smb3"))
}

fn option_present(option: &str, mount: &Mount) -> bool {
    match option {
        "rw" => !mount.is_read_only(),
        "ro" => mount.is_read_only(),
        // Hard is NFS's default: older kernels do not list it.
        "hard" if mount.fstype.starts_with("nfs") => !mount.has_option("soft") && !mount.has_option("softerr"),
        _ => mount.has_option(option),
    }
}

/// `a//b/./c/` → `a/b/c` (no leading slash).
fn clean_path(path: &str) -> String {
    path.split('/').filter(|c| !c.is_empty() && *c != ".").collect::<Vec<_>>().join("/")
}

fn canonical(path: &Path) -> Option<PathBuf> {
    std::fs::canonicalize(path).ok()
}

/// glibc's `major`/`minor` of a `dev_t`.
fn device_numbers(dev: u64) -> (u32, u32) {
    (nix::sys::stat::major(dev) as u32, nix::sys::stat::minor(dev) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::OnHang;

    fn mount(line: &str) -> Mount {
        mountinfo::parse_line(line.as_bytes()).unwrap()
    }

    fn params(dir: &str) -> Params {
        Params {
            directory: PathBuf::from(dir),
            source: None,
            fstype: None,
            marker: None,
            marker_content: None,
            min_free: None,
            options: vec!["rw".into()],
            io_timeout: None,
            user: None,
            on_hang: OnHang::Fail,
        }
    }

    const TABLE: &str = "\
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw
60 27 0:52 / /srv/warp rw,relatime - nfs4 nas.example.com:/export/warp/ rw,vers=4.2,hard,proto=tcp
61 27 0:53 / /mnt/cifs rw,relatime - cifs //NAS/Warp rw,vers=3.1.1,soft
62 27 7:0 / /data ro,relatime - ext4 /dev/loop0 rw
63 27 0:54 / /old rw,relatime - nfs old:/x rw,vers=3
";

    #[test]
    fn sources_normalize_before_comparing() {
        let cases = [
            ("nas.example.com:/export/warp", "60 27 0:52 / /x rw - nfs4 nas.example.com:/export/warp/ rw", true),
            ("NAS.example.com:/export//warp/", "60 27 0:52 / /x rw - nfs4 nas.example.com:/export/warp rw", true),
            ("nas:/export/warp", "60 27 0:52 / /x rw - nfs4 nas:/export/warp2 rw", false),
            ("nas:/export/Warp", "60 27 0:52 / /x rw - nfs4 nas:/export/warp rw", false),
            ("[fe80::1]:/export", "60 27 0:52 / /x rw - nfs4 [fe80::1]:/export/ rw", true),
            ("nas:/", "60 27 0:52 / /x rw - nfs4 nas:/ rw", true),
            ("//nas/warp", "61 27 0:53 / /x rw - cifs //NAS/Warp/ rw", true),
            ("\\\\nas\\warp", "61 27 0:53 / /x rw - cifs //nas/warp rw", true),
            ("//nas/warp", "61 27 0:53 / /x rw - cifs //nas/other rw", false),
            ("/dev/loop0", "62 27 7:0 / /x rw - ext4 /dev/loop0 rw", true),
            ("/dev/loop0/", "62 27 7:0 / /x rw - ext4 /dev/loop0 rw", true),
            ("tmpfs", "62 27 0:9 / /x rw - tmpfs tmpfs rw", true),
            ("my src", "62 27 0:9 / /x rw - tmpfs my\\040src rw", true),
        ];
        for (want, line, expected) in cases {
            let source = Source::parse(want).unwrap();
            assert_eq!(source.matches(&mount(line)), expected, "{want} vs {line}");
        }
        assert_eq!(Source::parse("UUID=1234-abcd").unwrap(), Source::Path(PathBuf::from("/dev/disk/by-uuid/1234-abcd")));
        assert_eq!(Source::parse("nas:export").unwrap().to_string(), "nas:/export");
        for bad in ["", "nas:", ":/export", "UUID=", "LABEL=a/b"] {
            assert!(Source::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_character_device_is_never_the_mounted_disk() {
        let line = "62 27 1:3 / /x rw - ext4 /dev/loop0 rw";
        assert!(!Source::parse("/dev/null").unwrap().matches(&mount(line)), "/dev/null is 1:3 but not a block device");
    }

    #[test]
    fn level_0_verdicts() {
        let mounts = mountinfo::parse(TABLE.as_bytes());
        let verdict = |p: &Params| check(p, &mounts).map(|m| m.mount_id);
        assert_eq!(verdict(&params("/srv/warp")), Ok(60));
        assert_eq!(
            verdict(&params("/srv/warp/sub")),
            Err(Problem::NotMounted { covering: Some((PathBuf::from("/srv/warp"), "nas.example.com:/export/warp/".into())) })
        );
        assert!(matches!(verdict(&params("/srv")), Err(Problem::NotMounted { .. })));
        assert_eq!(verdict(&params("/data")), Err(Problem::ReadOnly));
        assert_eq!(verdict(&Params { options: vec![], ..params("/data") }), Ok(62));
        assert_eq!(verdict(&Params { options: vec!["ro".into()], ..params("/data") }), Ok(62));

        let nfs = Params { source: Some(Source::parse("nas.example.com:/export/warp").unwrap()), ..params("/srv/warp") };
        assert_eq!(verdict(&Params { fstype: Some("nfs".into()), ..nfs.clone() }), Ok(60));
        assert_eq!(verdict(&Params { fstype: Some("nfs4".into()), options: vec!["rw".into(), "hard".into()], ..nfs.clone() }), Ok(60));
        assert!(matches!(verdict(&Params { fstype: Some("cifs".into()), ..nfs.clone() }), Err(Problem::WrongType { .. })));
        let other = Params { source: Some(Source::parse("nas.example.com:/export/other").unwrap()), ..nfs.clone() };
        assert_eq!(
            verdict(&other),
            Err(Problem::WrongSource { found: "nas.example.com:/export/warp/".into(), expected: "nas.example.com:/export/other".into() })
        );

        assert_eq!(verdict(&Params { options: vec!["hard".into()], ..params("/old") }), Ok(63), "hard is NFS's default");
        let soft = verdict(&Params { options: vec!["hard".into()], fstype: Some("cifs".into()), ..params("/mnt/cifs") });
        assert!(matches!(soft, Err(Problem::MissingOption { ref option, .. }) if option == "hard"), "{soft:?}");
        assert_eq!(verdict(&Params { options: vec!["vers=3.1.1".into()], ..params("/mnt/cifs") }), Ok(61));
    }

    #[test]
    fn problems_read_well() {
        let p = Problem::NotMounted { covering: Some((PathBuf::from("/"), "/dev/vda".into())) };
        assert_eq!(p.to_string(), "not a mount point (the share is not mounted; it lies on / from /dev/vda)");
        assert_eq!(Problem::ReadOnly.to_string(), "mounted read-only");
    }
}
