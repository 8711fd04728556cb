//! The parameters of ocf:mwha:sharedfs (a public interface: admins' CIBs name them) and the
//! agent's meta-data.

use std::fmt;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use anyhow::Result;
use ocf::exit::OcfError;
use ocf::meta::{ActionSpec, AgentMeta};
use ocf::mountinfo;
use ocf::param::{AgentParams, Param, ParamSpec, Values};

use crate::mount::Source;

pub static META: AgentMeta = AgentMeta {
    name: "sharedfs",
    version: env!("CARGO_PKG_VERSION"),
    shortdesc: "Checks that a shared folder is mounted, is the right volume and works",
    longdesc: "A check resource for the shared folder ([INSTALL_DIR], [DATA_DIR]) on a NAS share (NFS, CIFS) or a cluster \
disk. It mounts nothing (ocf:heartbeat:Filesystem or the OS does); place it in the group before the resources that \
use the folder, or run it as a clone so that a node whose share is sick is avoided. \
OCF_CHECK_LEVEL=0 reads /proc/self/mountinfo only, so it can never hang: directory must be a mount point (not the \
empty directory underneath), with the expected source, type and options (rw by default: a share remounted read-only \
fails). OCF_CHECK_LEVEL=10 also runs statfs (min_free) and reads the marker, in a child process with a deadline \
(io_timeout). OCF_CHECK_LEVEL=20 also creates, writes, fsyncs, reads back and removes a probe file \
.sharedfs-probe.NODE.RESOURCE in directory, in the same child. The agent never waits for the child past the deadline: \
a child stuck on a dead server is left behind (and reaped when it wakes), the action fails naming the mount, and no \
second child is started on that share while the first is stuck. start runs the checks at level 20 and records the \
resource as started under /run (forgotten at reboot); monitor reports 'not running' unless started, otherwise runs \
the checks at its level; stop forgets the start (and fails once after a hang when on_hang=fence). \
Recommended: start 60s, stop 20s, monitor every 10s at level 0 (20s timeout) and every 61s at level 20 (60s timeout).",
    params: PARAMS,
    actions: &[
        ActionSpec::new("start", 60),
        ActionSpec::new("stop", 20),
        ActionSpec::monitor(20, 10, 0),
        ActionSpec::monitor(60, 61, 20),
        ActionSpec::new("validate-all", 20),
        ActionSpec::new("meta-data", 5),
    ],
    check_levels: &[0, 10, 20],
};

static DIRECTORY: Param<PathBuf> = Param::path(
    "directory",
    "Mount point of the shared folder",
    "Absolute path of the mount point, as /proc/self/mountinfo shows it (findmnt -no TARGET): it is compared \
lexically and symlinks in it are not followed, because resolving them would touch the share.",
)
.required()
.unique();
static SOURCE: Param<Source> = Param::custom(
    "source",
    "Expected mount source",
    "What must be mounted on directory: nas:/export/warp (NFS), //nas/warp (CIFS), /dev/... or UUID=... / LABEL=... \
(a disk). Trailing slashes do not matter; NFS host names and CIFS sources compare case-insensitively; a /dev path also \
matches the same device under another name (/dev/mapper/vg-lv and /dev/dm-0). Empty: any source.",
    |_, raw| Source::parse(raw),
);
static FSTYPE: Param<String> = Param::custom(
    "fstype",
    "Expected filesystem type",
    "The type /proc/self/mountinfo shows (ext4, xfs, nfs4, cifs...). nfs also accepts nfs4, and cifs also accepts smb3. \
Empty: any type.",
    parse_fstype,
);
static MARKER: Param<PathBuf> = Param::custom(
    "marker",
    "File that proves the right volume is mounted",
    "A file, relative to directory, that exists only on the right volume (e.g. .warp-volume), checked from \
OCF_CHECK_LEVEL=10. Empty: no marker.",
    parse_marker,
);
static MARKER_CONTENT: Param<String> = Param::string(
    "marker_content",
    "Text the marker must hold",
    "The text the marker file must hold (compared without trailing white space, at most 64 KiB read), e.g. a \
volume serial. Needs marker. Empty: the marker only has to exist.",
)
.may_look_like_a_placeholder();
static MIN_FREE: Param<MinFree> = Param::custom(
    "min_free",
    "Minimum free space",
    "Space that must be available to unprivileged users (statfs f_bavail), checked from OCF_CHECK_LEVEL=10: bytes \
with an optional binary unit (500M, 2G, 1048576) or a percentage of the filesystem size (5%). Empty: no minimum.",
    |_, raw| raw.parse(),
);
static OPTIONS: Param<Vec<String>> = Param::custom(
    "options",
    "Mount options that must be present",
    "Comma-separated options that must appear among the mount's per-mount or superblock options, e.g. rw,hard. \
rw means mounted read-write both per mount and for the filesystem; for NFS, hard also holds when neither soft nor \
softerr is set. any: no requirement. Level 20 writes a file, so a read-only share passes levels 0 and 10 only.",
    parse_options,
)
.default("rw");
static IO_TIMEOUT: Param<Duration> = Param::custom(
    "io_timeout",
    "Deadline for I/O on the share",
    "How long the child doing statfs, the marker and the probe file may take before the share counts as hung: \
seconds, or a number with ms, s or m (e.g. 10s). Always cut to what the op's timeout leaves.",
    parse_duration,
)
.derived("half the op timeout");
static USER: Param<String> = Param::string(
    "user",
    "OS user that runs the I/O checks",
    "The user the I/O child runs as (statfs, marker, probe file); the agent switches to it without a shell. On an \
NFS export with root_squash (the default) root acts as nobody on the server and usually may not create the probe file: \
set the user that owns directory. Empty: root.",
);
static ON_HANG: Param<OnHang> = Param::custom(
    "on_hang",
    "What a hung share does to the next stop",
    "fail: a hang (I/O past io_timeout, or a check still stuck from before) fails the monitor or start, and stop \
still succeeds. fence: also make the next stop fail, so that Pacemaker fences the node (as SAPHanaFilesystem does): \
processes stuck on a hung share may write to it when it comes back, after the service has moved on. A later check at \
level 10 or 20 that succeeds takes this back. Note that with a clone on every node, an outage of the NAS then fences \
every node.",
    parse_on_hang,
)
.default("fail");

/// The parameters in meta-data order.
static PARAMS: &[&ParamSpec] = &[
    DIRECTORY.spec(),
    SOURCE.spec(),
    FSTYPE.spec(),
    MARKER.spec(),
    MARKER_CONTENT.spec(),
    MIN_FREE.spec(),
    OPTIONS.spec(),
    IO_TIMEOUT.spec(),
    USER.spec(),
    ON_HANG.spec(),
];

/// What a hang does to the next stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnHang {
    Fail,
    Fence,
}

/// The parsed parameters.
#[derive(Debug, Clone)]
pub struct Params {
    /// Absolute, normalized (no `.`, no trailing slash).
    pub directory: PathBuf,
    pub source: Option<Source>,
    pub fstype: Option<String>,
    /// Relative to `directory`, without `..`.
    pub marker: Option<PathBuf>,
    pub marker_content: Option<String>,
    pub min_free: Option<MinFree>,
    /// Options that must be present; empty: any.
    pub options: Vec<String>,
    /// `None`: derived from the op timeout.
    pub io_timeout: Option<Duration>,
    /// `None`: root (the agent itself).
    pub user: Option<String>,
    pub on_hang: OnHang,
}

impl AgentParams for Params {
    fn from_values(v: &Values) -> Result<Params> {
        let raw_directory = v.get(&DIRECTORY)?;
        let directory = mountinfo::normalize(&raw_directory)
            .filter(|d| d != Path::new("/"))
            .ok_or_else(|| OcfError::configured(format!("directory must be a mount point below /, not {:?}", raw_directory)))?;
        let marker = v.opt(&MARKER)?;
        let marker_content = v.opt(&MARKER_CONTENT)?;
        if marker_content.is_some() && marker.is_none() {
            return Err(OcfError::configured("marker_content needs marker"));
        }
        Ok(Params {
            directory,
            source: v.opt(&SOURCE)?,
            fstype: v.opt(&FSTYPE)?.filter(|t| !t.is_empty()),
            marker,
            marker_content,
            min_free: v.opt(&MIN_FREE)?,
            options: v.get(&OPTIONS)?,
            io_timeout: v.opt(&IO_TIMEOUT)?,
            user: v.opt(&USER)?.map(|u| u.trim().to_string()).filter(|u| !u.is_empty()),
            on_hang: v.get(&ON_HANG)?,
        })
    }
}

/// One filesystem type, trimmed (empty: any).
fn parse_fstype(name: &str, raw: &str) -> Result<String> {
    let fstype = raw.trim();
    if fstype.contains(|c: char| c.is_whitespace() || c == ',') {
        return Err(OcfError::configured(format!("{name} must be one filesystem type, not {fstype:?}")));
    }
    Ok(fstype.to_string())
}

fn parse_on_hang(name: &str, raw: &str) -> Result<OnHang> {
    match raw.trim() {
        "fail" => Ok(OnHang::Fail),
        "fence" => Ok(OnHang::Fence),
        other => Err(OcfError::configured(format!("{name} must be fail or fence, not {other:?}"))),
    }
}

fn parse_marker(name: &str, raw: &str) -> Result<PathBuf> {
    let path = PathBuf::from(raw.trim());
    let plain = path.components().all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    if path.as_os_str().is_empty() || !plain || !path.components().any(|c| matches!(c, Component::Normal(_))) {
        return Err(OcfError::configured(format!("{name} must be a file relative to directory (no leading / or ..), not {raw:?}")));
    }
    Ok(path)
}

fn parse_options(name: &str, raw: &str) -> Result<Vec<String>> {
    if raw.trim() == "any" {
        return Ok(Vec::new());
    }
    let options: Vec<String> = raw.split(',').map(str::trim).filter(|o| !o.is_empty()).map(str::to_string).collect();
    if let Some(bad) = options.iter().find(|o| o.contains(char::is_whitespace)) {
        return Err(OcfError::configured(format!("{name} must be comma-separated mount options, not {bad:?}")));
    }
    Ok(options)
}

/// `10`, `10s`, `500ms`, `2m`; never zero.
pub fn parse_duration(name: &str, raw: &str) -> Result<Duration> {
    let text = raw.trim();
    let digits = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(digits);
    let bad = || OcfError::configured(format!("{name} must be a duration like 10s, 500ms or 2m, not {raw:?}"));
    let n: u64 = number.parse().map_err(|_| bad())?;
    let duration = match unit.trim() {
        "" | "s" | "sec" => Duration::from_secs(n),
        "ms" | "msec" => Duration::from_millis(n),
        "m" | "min" => Duration::from_secs(n.checked_mul(60).ok_or_else(bad)?),
        _ => return Err(bad()),
    };
    if duration.is_zero() {
        return Err(bad());
    }
    Ok(duration)
}

/// The space that must stay available.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MinFree {
    Bytes(u64),
    /// Percent of the filesystem size, 0–100.
    Percent(f64),
}

impl MinFree {
    /// `None` when `available` of `size` bytes is enough; otherwise why not.
    pub fn shortfall(&self, available: u64, size: u64) -> Option<String> {
        match *self {
            MinFree::Bytes(min) if available < min => Some(format!("only {} free of {} (min_free {self})", human(available), human(size))),
            MinFree::Percent(min) => {
                let percent = if size == 0 { 0.0 } else { available as f64 * 100.0 / size as f64 };
                (percent < min).then(|| format!("only {percent:.1}% free, {} of {} (min_free {self})", human(available), human(size)))
            }
            MinFree::Bytes(_) => None,
        }
    }
}

impl std::str::FromStr for MinFree {
    type Err = anyhow::Error;

    /// `500M`, `2G`, `1048576`, `500MiB`, `5%`, `2.5%` (units are binary: K = 1024).
    fn from_str(raw: &str) -> Result<MinFree> {
        let bad = || OcfError::configured(format!("min_free must be a size like 500M or 2G, or a percentage like 5%, not {raw:?}"));
        let text = raw.trim();
        if let Some(percent) = text.strip_suffix('%') {
            let value: f64 = percent.trim().parse().map_err(|_| bad())?;
            if !(0.0..=100.0).contains(&value) {
                return Err(bad());
            }
            return Ok(MinFree::Percent(value));
        }
        let digits = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
        let (number, unit) = text.split_at(digits);
        let n: u64 = number.parse().map_err(|_| bad())?;
        let unit = unit.trim().to_ascii_uppercase();
        let unit = unit.strip_suffix("IB").or_else(|| unit.strip_suffix('B')).unwrap_or(&unit);
        let shift = match unit {
            "" => 0,
            "K" => 10,
            "M" => 20,
            "G" => 30,
            "T" => 40,
            "P" => 50,
            _ => return Err(bad()),
        };
        n.checked_mul(1u64 << shift).map(MinFree::Bytes).ok_or_else(bad)
    }
}

impl fmt::Display for MinFree {
    /// A form `from_str` reads back (the I/O child gets it on its command line).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MinFree::Percent(p) => write!(f, "{p}%"),
            MinFree::Bytes(b) => {
                for (unit, shift) in [("P", 50), ("T", 40), ("G", 30), ("M", 20), ("K", 10)] {
                    if *b >= 1 << shift && b % (1 << shift) == 0 {
                        return write!(f, "{}{unit}", b >> shift);
                    }
                }
                write!(f, "{b}")
            }
        }
    }
}

/// `1.5 GiB`, `12.0 MiB`, `512 B`: for messages.
pub fn human(bytes: u64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < units.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", units[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ocf::env::Env;

    fn parse(vars: &[(&str, &str)]) -> Result<Params> {
        let env = Env::from_vars(vars.iter().map(|(k, v)| (format!("OCF_RESKEY_{k}"), v.to_string())), "sharedfs");
        Params::from_values(&Values::new(&env, PARAMS))
    }

    #[test]
    fn defaults_and_normalization() {
        let p = parse(&[("directory", "/srv/warp/")]).unwrap();
        assert_eq!(p.directory, PathBuf::from("/srv/warp"));
        assert_eq!(p.options, ["rw"]);
        assert_eq!(p.on_hang, OnHang::Fail);
        assert!(p.source.is_none() && p.fstype.is_none() && p.marker.is_none() && p.min_free.is_none() && p.io_timeout.is_none());
        let p = parse(&[
            ("directory", "/srv/./warp"),
            ("options", " rw, hard ,"),
            ("marker", "./.warp-volume"),
            ("marker_content", "vol-1"),
            ("min_free", "5%"),
            ("io_timeout", "1500ms"),
            ("on_hang", "fence"),
            ("fstype", "nfs4"),
        ])
        .unwrap();
        assert_eq!(p.directory, PathBuf::from("/srv/warp"));
        assert_eq!(p.options, ["rw", "hard"]);
        assert_eq!(p.marker, Some(PathBuf::from("./.warp-volume")));
        assert_eq!(p.min_free, Some(MinFree::Percent(5.0)));
        assert_eq!(p.io_timeout, Some(Duration::from_millis(1500)));
        assert_eq!(p.on_hang, OnHang::Fence);
        assert!(parse(&[("directory", "/srv/warp"), ("options", "any")]).unwrap().options.is_empty());
    }

    #[test]
    fn wrong_everywhere_is_6() {
        for vars in [
            &[][..],
            &[("directory", "srv/warp")],
            &[("directory", "/")],
            &[("directory", "/srv/../warp")],
            &[("directory", "/srv/warp"), ("min_free", "lots")],
            &[("directory", "/srv/warp"), ("min_free", "5X")],
            &[("directory", "/srv/warp"), ("min_free", "120%")],
            &[("directory", "/srv/warp"), ("on_hang", "reboot")],
            &[("directory", "/srv/warp"), ("io_timeout", "0")],
            &[("directory", "/srv/warp"), ("io_timeout", "5 hours")],
            &[("directory", "/srv/warp"), ("marker", "/etc/passwd")],
            &[("directory", "/srv/warp"), ("marker", "../x")],
            &[("directory", "/srv/warp"), ("marker", ".")],
            &[("directory", "/srv/warp"), ("marker_content", "x")],
            &[("directory", "/srv/warp"), ("fstype", "ext4 xfs")],
            &[("directory", "/srv/warp"), ("options", "rw,no atime")],
            &[("directory", "/srv/warp"), ("source", "nas:")],
        ] {
            let err = parse(vars).unwrap_err();
            assert_eq!(ocf::exit::fault_of(&err).code(), 6, "{vars:?}: {err}");
        }
    }

    #[test]
    fn min_free_sizes_round_trip() {
        for (text, value) in [
            ("500M", MinFree::Bytes(500 << 20)),
            ("500MiB", MinFree::Bytes(500 << 20)),
            ("500mb", MinFree::Bytes(500 << 20)),
            ("2G", MinFree::Bytes(2 << 30)),
            ("1048577", MinFree::Bytes(1_048_577)),
            ("0", MinFree::Bytes(0)),
            ("5%", MinFree::Percent(5.0)),
            ("2.5 %", MinFree::Percent(2.5)),
        ] {
            let parsed: MinFree = text.parse().unwrap();
            assert_eq!(parsed, value, "{text}");
            assert_eq!(parsed.to_string().parse::<MinFree>().unwrap(), value, "{text} → {parsed}");
        }
        assert_eq!(MinFree::Bytes(500 << 20).to_string(), "500M");
        assert!("99999999999P".parse::<MinFree>().is_err(), "overflow");
    }

    #[test]
    fn min_free_shortfall_names_the_numbers() {
        let mib = 1 << 20;
        assert_eq!(MinFree::Bytes(500 * mib).shortfall(600 * mib, 1000 * mib), None);
        let why = MinFree::Bytes(500 * mib).shortfall(12 * mib, 1000 * mib).unwrap();
        assert_eq!(why, "only 12.0 MiB free of 1000.0 MiB (min_free 500M)");
        assert_eq!(MinFree::Percent(5.0).shortfall(60, 1000), None);
        let why = MinFree::Percent(5.0).shortfall(40, 1000).unwrap();
        assert_eq!(why, "only 4.0% free, 40 B of 1000 B (min_free 5%)");
        assert!(MinFree::Percent(5.0).shortfall(0, 0).is_some());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("t", "10").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_duration("t", "10s").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_duration("t", "250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("t", "2m").unwrap(), Duration::from_secs(120));
        assert!(parse_duration("t", "-1").is_err());
        assert!(parse_duration("t", "s").is_err());
    }

    #[test]
    fn every_declared_parameter_is_read_once_and_lands_in_its_field() {
        let p: Params = ocf::param::check_declarations(
            PARAMS,
            &[
                ("directory", "/srv/warp/"),
                ("source", "nas:/export/warp"),
                ("fstype", "nfs4"),
                ("marker", ".warp-volume"),
                ("marker_content", "vol-1"),
                ("min_free", "2G"),
                ("options", "rw,hard"),
                ("io_timeout", "7s"),
                ("user", "warp"),
                ("on_hang", "fence"),
            ],
        );
        assert_eq!(p.directory, PathBuf::from("/srv/warp"));
        assert_eq!(p.source, Some(Source::parse("nas:/export/warp").unwrap()));
        assert_eq!(p.fstype.as_deref(), Some("nfs4"));
        assert_eq!(p.marker, Some(PathBuf::from(".warp-volume")));
        assert_eq!(p.marker_content.as_deref(), Some("vol-1"));
        assert_eq!(p.min_free, Some(MinFree::Bytes(2 << 30)));
        assert_eq!(p.options, ["rw", "hard"]);
        assert_eq!(p.io_timeout, Some(Duration::from_secs(7)));
        assert_eq!(p.user.as_deref(), Some("warp"));
        assert_eq!(p.on_hang, OnHang::Fence);
    }
}
