//! The parameters of ocf:mwha:warp-fixup (a public interface: admins' CIBs name them, and the
//! CLI spells the same names with dashes) and the agent's meta-data.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;
use ocf::exit::OcfError;
use ocf::meta::{ActionSpec, AgentMeta};
use ocf::param::{AgentParams, Param, ParamSpec, Values};

use crate::beneath::Below;
use crate::location::{self, Location};
use crate::sweep::{self, Protected};

pub static META: AgentMeta = AgentMeta {
    name: "warp-fixup",
    version: env!("CARGO_PKG_VERSION"),
    shortdesc: "ASTERIA Warp per-node identity fix-up and leftover sweep",
    longdesc: "Puts this node's own ASTERIA Warp license files ([DATA_DIR]/system/license/*) and server ID and server name \
(values in [DATA_DIR]/system/conf/server.xconf) back in place, for the shared-folder layout after a switch-over and for \
the individual-folder and load-balance layouts after a file-copy sync. Place it in the group before ocf:mwha:flowsvc. \
Each node keeps its identity in a store outside the shared folder, created once with 'warp-fixup capture' from the \
node's correct data folder (see 'warp-fixup --help'). start makes the license folder equal to the store (missing or \
different files written, owners and modes restored, files not in the store moved to a dated quarantine folder in the \
store, never deleted) and sets only the values at identity_paths in server.xconf, leaving every other byte as it was; \
every write is atomic (temporary file, fsync, rename, fsync of the folder) and the previous server.xconf is kept in the \
store (the last 5). It refuses, writing nothing, a malformed server.xconf, an identity path that matches no node or \
several, a store that does not match its SHA-256 manifest or that anyone but root can write, and symlinks in the \
license folder or the store. When sweep_dirs is set, start then clears files that flows left half-way (older than \
sweep_age, not open by any process). start records 'started' under /run/mwha. monitor reports running while started \
and the identity still matches the store, failed (with the differing item) when it drifted, stopped otherwise; a probe \
on a node without data_dir reports stopped. stop forgets 'started'. validate-all checks the parameters (6) and that \
the store exists on this node (5) and matches its manifest. Recommended timeouts: start 60s, stop 20s, monitor 20s \
every 30s.",
    params: PARAMS,
    actions: &[
        ActionSpec::new("start", 60),
        ActionSpec::new("stop", 20),
        ActionSpec::monitor(20, 30, 0),
        ActionSpec::new("validate-all", 20),
        ActionSpec::new("meta-data", 5),
    ],
    check_levels: &[0],
};

pub const DEFAULT_STORE_ROOT: &str = "/var/lib/mwha/warp";
pub const DEFAULT_SWEEP_AGE: &str = "1h";

static DATA_DIR: Param<PathBuf> = Param::path(
    "data_dir",
    "[DATA_DIR] of ASTERIA Warp",
    "Absolute path of the ASTERIA Warp data folder ([DATA_DIR]), the same as flowsvc's data_dir. A probe on a node where \
it is absent (shared folder not mounted) reports 'not running'.",
)
.required();
static STORE: Param<PathBuf> = Param::path(
    "store",
    "This node's identity store",
    "Absolute path of the folder holding this node's identity (license files, server ID and name, SHA-256 manifest), \
outside the shared folder, owned by root and writable by nobody else. Create it with \
'warp-fixup capture --store PATH --data-dir ... --identity-paths ...' on each node.",
)
.derived("/var/lib/mwha/warp/<resource id> (without a clone suffix); the CLI's default is /var/lib/mwha/warp/default");
static IDENTITY_PATHS: Param<Vec<Location>> = Param::custom(
    "identity_paths",
    "Locations of the server ID and name in server.xconf",
    "Space-separated locations of the identity values in server.xconf (its layout is not public). Each is an absolute \
element path with optional [@attribute='value'] predicates, ending in an element (its text) or /@attribute, and must \
match exactly one node. Example with two locations: /config/server/@id /config/property[@name='server.name'] \
(the second names the text of the property element whose name attribute is server.name). Names are matched as written \
in the file, namespace prefix included. 'warp-fixup inspect --data-dir DIR' lists every value of a server.xconf with a \
location to copy.",
    |_, raw| location::parse_list(raw),
)
.required();
static LICENSE_DIR: Param<PathBuf> = Param::path("license_dir", "License folder", "Absolute path of the folder holding the license files.")
    .derived("data_dir/system/license");
static XCONF: Param<PathBuf> = Param::path("xconf", "server.xconf", "Absolute path of the file holding the server ID and name.")
    .derived("data_dir/system/conf/server.xconf");
static SWEEP_DIRS: Param<Vec<PathBuf>> = Param::custom(
    "sweep_dirs",
    "Folders of intermediate files",
    "Space-separated absolute folders where flows leave intermediate files. On start, regular files in them (at any \
depth, without following symlinks or leaving the folder's filesystem) older than sweep_age and not open by any \
process are quarantined or deleted, before the flow service starts. Empty: no sweep.",
    absolute_paths,
);
static SWEEP_AGE: Param<Duration> = Param::custom(
    "sweep_age",
    "Age of leftover intermediate files",
    "Files whose last modification is older than this are leftovers: a number with a unit s, m, h or d (e.g. 90m, 1h, \
2d); a bare number is seconds.",
    |_, raw| parse_age(raw),
)
.default(DEFAULT_SWEEP_AGE);
static SWEEP_ACTION: Param<SweepAction> = Param::custom(
    "sweep_action",
    "What happens to leftovers",
    "quarantine: move them to <store>/quarantine/<UTC time>/sweep/<original path>; delete: remove them.",
    |_, raw| raw.parse(),
)
.default("quarantine");

/// The parameters in meta-data order.
static PARAMS: &[&ParamSpec] = &[
    DATA_DIR.spec(),
    STORE.spec(),
    IDENTITY_PATHS.spec(),
    LICENSE_DIR.spec(),
    XCONF.spec(),
    SWEEP_DIRS.spec(),
    SWEEP_AGE.spec(),
    SWEEP_ACTION.spec(),
];

/// Where the identity goes: the data folder's license folder and server.xconf, each reached
/// from `data_dir` (when inside it) without following a link.
#[derive(Debug, Clone)]
pub struct Target {
    pub license_dir: Below,
    pub xconf: Below,
    pub identity_paths: Vec<Location>,
}

impl Target {
    /// The license folder and server.xconf, anchored at `data_dir` when they lie inside it.
    pub fn new(data_dir: Option<&Path>, license_dir: &Path, xconf: &Path, identity_paths: Vec<Location>) -> Result<Target> {
        Ok(Target { license_dir: Below::anchor(data_dir, license_dir)?, xconf: Below::anchor(data_dir, xconf)?, identity_paths })
    }

    /// What a sweep must keep away from: the license folder, server.xconf's folder and, when
    /// known, `data_dir` itself (a work folder inside it is fine).
    pub fn protected(&self, data_dir: Option<&Path>) -> Vec<Protected> {
        let mut protected = vec![Protected::new(self.license_dir.path(), "the license folder", false)];
        if let Some(conf) = self.xconf.path().parent() {
            protected.push(Protected::new(conf, "the folder of server.xconf", false));
        }
        if let Some(data_dir) = data_dir {
            protected.push(Protected::new(data_dir, "data_dir", true));
        }
        protected
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SweepAction {
    Quarantine,
    Delete,
}

impl std::str::FromStr for SweepAction {
    type Err = anyhow::Error;

    fn from_str(text: &str) -> Result<SweepAction> {
        match text.trim() {
            "quarantine" => Ok(SweepAction::Quarantine),
            "delete" => Ok(SweepAction::Delete),
            other => anyhow::bail!("sweep_action must be quarantine or delete, not {other:?}"),
        }
    }
}

/// Which leftovers go, and how.
#[derive(Debug, Clone)]
pub struct SweepPlan {
    pub sweep_dirs: Vec<Below>,
    pub sweep_age: Duration,
    pub sweep_action: SweepAction,
    /// Folders no sweep folder may be, hold or (mostly) lie in: checked with
    /// [`sweep::check_dirs`] when the plan is made, and again where each folder really is.
    pub protected: Vec<Protected>,
}

/// The parsed parameters, with derived defaults applied (except `store`, which needs the
/// resource's instance name: see [`Params::store`]).
#[derive(Debug, Clone)]
pub struct Params {
    pub data_dir: PathBuf,
    pub store: Option<PathBuf>,
    pub target: Target,
    pub sweep: SweepPlan,
}

impl Params {
    /// The store: the `store` parameter, else `/var/lib/mwha/warp/<instance>`.
    pub fn store(&self, instance: &str) -> PathBuf {
        self.store.clone().unwrap_or_else(|| default_store(instance))
    }
}

impl AgentParams for Params {
    fn from_values(v: &Values) -> Result<Params> {
        let configured = |e: anyhow::Error| OcfError::configured(format!("{e:#}"));
        let data_dir = v.get(&DATA_DIR)?;
        let identity_paths = v.get(&IDENTITY_PATHS)?;
        let license_dir = v.opt(&LICENSE_DIR)?.unwrap_or_else(|| default_license_dir(&data_dir));
        let xconf = v.opt(&XCONF)?.unwrap_or_else(|| default_xconf(&data_dir));
        let target = Target::new(Some(&data_dir), &license_dir, &xconf, identity_paths).map_err(configured)?;
        let sweep_dirs = v.opt(&SWEEP_DIRS)?.unwrap_or_default();
        let sweep_age = v.get(&SWEEP_AGE)?;
        let sweep_action = v.get(&SWEEP_ACTION)?;
        let store = v.opt(&STORE)?;
        // Without a store parameter the store is <root>/<resource>: keep sweeps off all of them.
        let store_guard = store.clone().unwrap_or_else(|| PathBuf::from(DEFAULT_STORE_ROOT));
        let mut protected = target.protected(Some(&data_dir));
        protected.push(Protected::new(&store_guard, "the identity store", false));
        sweep::check_dirs(&sweep_dirs, &protected, "sweep_dirs").map_err(configured)?;
        let sweep_dirs = sweep_dirs.iter().map(|d| Below::anchor(Some(&data_dir), d)).collect::<Result<Vec<_>>>().map_err(configured)?;
        let sweep = SweepPlan { sweep_dirs, sweep_age, sweep_action, protected };
        Ok(Params { store, target, sweep, data_dir })
    }
}

pub fn default_license_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("system/license")
}

pub fn default_xconf(data_dir: &Path) -> PathBuf {
    data_dir.join("system/conf/server.xconf")
}

/// `/var/lib/mwha/warp/<name>`: a clone suffix (`:2`) is dropped (each node has its own store
/// anyway) and a `/` cannot leave the folder.
pub fn default_store(name: &str) -> PathBuf {
    let base = match name.rsplit_once(':') {
        Some((base, suffix)) if !base.is_empty() && !suffix.is_empty() && suffix.chars().all(|c| c.is_ascii_digit()) => base,
        _ => name,
    };
    let safe: String = base.chars().map(|c| if c == '/' || c == '\0' { '_' } else { c }).collect();
    let safe = if safe.is_empty() || safe == "." || safe == ".." { "default".to_string() } else { safe };
    Path::new(DEFAULT_STORE_ROOT).join(safe)
}

/// Space-separated absolute paths.
fn absolute_paths(name: &str, raw: &str) -> Result<Vec<PathBuf>> {
    raw.split_whitespace()
        .map(|word| {
            let path = PathBuf::from(word);
            if !path.is_absolute() {
                return Err(OcfError::configured(format!("{name} must hold absolute paths, not {word:?}")));
            }
            Ok(path)
        })
        .collect()
}

/// `90s`, `15m`, `1h`, `2d` or a bare number of seconds; more than zero.
pub fn parse_age(text: &str) -> Result<Duration> {
    let text = text.trim();
    let digits_end = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(digits_end);
    let scale = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => anyhow::bail!("sweep_age {text:?} must be a number with a unit s, m, h or d (e.g. 1h)"),
    };
    let number: u64 =
        number.parse().map_err(|_| anyhow::anyhow!("sweep_age {text:?} must be a number with a unit s, m, h or d (e.g. 1h)"))?;
    let seconds =
        number.checked_mul(scale).filter(|s| *s > 0).ok_or_else(|| anyhow::anyhow!("sweep_age {text:?} must be more than zero"))?;
    Ok(Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ocf::env::Env;

    fn parse(vars: &[(&str, &str)]) -> Result<Params> {
        let env = Env::from_vars(vars.iter().map(|(k, v)| (format!("OCF_RESKEY_{k}"), v.to_string())), "warp-fixup");
        Params::from_values(&Values::new(&env, PARAMS))
    }

    #[test]
    fn derived_defaults_follow_data_dir_and_instance() {
        let p = parse(&[("data_dir", "/srv/warp"), ("identity_paths", "/config/server/@id")]).unwrap();
        assert_eq!(p.target.license_dir.path(), Path::new("/srv/warp/system/license"));
        assert_eq!(p.target.xconf.path(), Path::new("/srv/warp/system/conf/server.xconf"));
        assert_eq!(p.store("fixup"), PathBuf::from("/var/lib/mwha/warp/fixup"));
        assert_eq!(p.sweep.sweep_age, Duration::from_secs(3600));
        assert_eq!(p.sweep.sweep_action, SweepAction::Quarantine);
        assert!(p.sweep.sweep_dirs.is_empty());
        assert_eq!(default_store("fixup:2"), PathBuf::from("/var/lib/mwha/warp/fixup"));
        assert_eq!(default_store("../x"), PathBuf::from("/var/lib/mwha/warp/.._x"));
        assert_eq!(default_store(".."), PathBuf::from("/var/lib/mwha/warp/default"));
    }

    #[test]
    fn ages_have_units() {
        for (text, secs) in [("90", 90), ("90s", 90), ("15m", 900), ("1h", 3600), (" 2d ", 172_800)] {
            assert_eq!(parse_age(text).unwrap(), Duration::from_secs(secs), "{text}");
        }
        for bad in ["", "h", "1w", "-1h", "0", "0s", "1.5h", "1 h", "99999999999999999999d"] {
            assert!(parse_age(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn wrong_everywhere_is_6() {
        let ok = [("data_dir", "/srv/warp"), ("identity_paths", "/a/@id")];
        let with = |extra: (&'static str, &'static str)| {
            let mut vars: Vec<(&str, &str)> = ok.iter().copied().filter(|(k, _)| *k != extra.0).collect();
            vars.push(extra);
            vars
        };
        for vars in [
            vec![("identity_paths", "/a/@id")],
            vec![("data_dir", "/srv/warp")],
            with(("data_dir", "srv/warp")),
            with(("identity_paths", "a/@id")),
            with(("identity_paths", "/a[@x=1]")),
            with(("store", "var/lib/x")),
            with(("license_dir", "license")),
            with(("sweep_dirs", "/tmp/a tmp/b")),
            with(("sweep_age", "1w")),
            with(("sweep_action", "shred")),
        ] {
            let err = parse(&vars).unwrap_err();
            assert_eq!(ocf::exit::fault_of(&err).code(), 6, "{vars:?}: {err:#}");
        }
    }

    #[test]
    fn sweep_dirs_that_hold_what_the_agent_protects_are_6() {
        let base = [("data_dir", "/srv/warp"), ("identity_paths", "/a/@id"), ("store", "/var/lib/mwha/warp/fixup")];
        let sweep = |dirs: &str, extra: &[(&'static str, &'static str)]| {
            let mut vars: Vec<(&str, &str)> = base.iter().copied().filter(|(k, _)| !extra.iter().any(|(e, _)| e == k)).collect();
            vars.extend(extra.iter().filter(|(_, v)| !v.is_empty()));
            vars.push(("sweep_dirs", dirs));
            parse(&vars)
        };
        for (dirs, why) in [
            ("/srv/warp", "/srv/warp is data_dir"),
            ("/srv/warp/", "/srv/warp is data_dir"),
            ("/srv", "/srv is a system folder"),
            ("/srv/warp/system", "/srv/warp/system contains the license folder"),
            ("/srv/warp/system/license", "is the license folder"),
            ("/srv/warp/system/license/old", "is inside the license folder"),
            ("/srv/warp/system/conf/", "is the folder of server.xconf"),
            ("/srv/warp/work /srv/warp/system/./conf/x/..", "/srv/warp/system/conf is the folder of server.xconf"),
            ("/var/lib/mwha/warp/fixup", "is the identity store"),
            ("/var/lib/mwha/warp/fixup/quarantine", "is inside the identity store"),
            ("/var/lib/mwha/warp", "contains the identity store"),
            ("/", "is a system folder"),
            ("/etc", "/etc is a system folder"),
            ("/tmp/", "/tmp is a system folder"),
            ("/var/tmp", "is a system folder"),
            ("/usr/./local", "/usr/local is a system folder"),
            ("/etc/../var", "/var is a system folder"),
            ("/home", "is a system folder"),
        ] {
            let err = sweep(dirs, &[]).unwrap_err();
            assert_eq!(ocf::exit::fault_of(&err).code(), 6, "{dirs}: {err:#}");
            let text = err.to_string();
            assert!(text.starts_with("sweep_dirs: /") && text.contains(why), "{dirs}: {text}");
        }
        // An explicit license folder or server.xconf elsewhere is protected where it is.
        let err = sweep("/etc/warp/conf", &[("xconf", "/etc/warp/conf/server.xconf")]).unwrap_err();
        assert!(err.to_string().contains("is the folder of server.xconf"), "{err:#}");
        // Without a store parameter every default store is off limits.
        let err = sweep("/var/lib/mwha/warp/other", &[("store", "")]).unwrap_err();
        assert!(err.to_string().contains("identity store"), "{err:#}");
        for fine in ["/srv/warp/work", "/srv/warp/work/tmp /srv/warp/log", "/tmp/warp-work", "/var/tmp/warp", "/srv/warp2"] {
            let p = sweep(fine, &[]).unwrap_or_else(|e| panic!("{fine}: {e:#}"));
            assert_eq!(p.sweep.sweep_dirs.len(), fine.split(' ').count());
        }
    }

    #[test]
    fn every_declared_parameter_is_read_once_and_lands_in_its_field() {
        let p: Params = ocf::param::check_declarations(
            PARAMS,
            &[
                ("data_dir", "/srv/warp"),
                ("store", "/var/lib/mwha/warp/node1"),
                ("identity_paths", "/config/server/@id /config/server/name"),
                ("license_dir", "/srv/warp/licenses"),
                ("xconf", "/srv/warp/conf/server.xconf"),
                ("sweep_dirs", "/srv/warp/work /srv/warp/tmp"),
                ("sweep_age", "2d"),
                ("sweep_action", "delete"),
            ],
        );
        assert_eq!(p.data_dir, PathBuf::from("/srv/warp"));
        assert_eq!(p.store("fixup"), PathBuf::from("/var/lib/mwha/warp/node1"));
        assert_eq!(p.target.identity_paths, location::parse_list("/config/server/@id /config/server/name").unwrap());
        assert_eq!(p.target.license_dir.path(), Path::new("/srv/warp/licenses"));
        assert_eq!(p.target.xconf.path(), Path::new("/srv/warp/conf/server.xconf"));
        let sweep_dirs: Vec<&Path> = p.sweep.sweep_dirs.iter().map(Below::path).collect();
        assert_eq!(sweep_dirs, [Path::new("/srv/warp/work"), Path::new("/srv/warp/tmp")]);
        assert_eq!(p.sweep.sweep_age, Duration::from_secs(2 * 86_400));
        assert_eq!(p.sweep.sweep_action, SweepAction::Delete);
    }
}
