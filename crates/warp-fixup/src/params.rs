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
(in [DATA_DIR]/system/conf/server.xconf) back in place, for the shared-folder layout after a switch-over and for \
the individual-folder and load-balance layouts after a file-copy sync, as the vendor's redundancy guide asks. Place it \
in the group before ocf:mwha:flowsvc. Each node keeps its identity in a store outside the shared folder, created once \
with 'warp-fixup capture' from the node's correct data folder (see 'warp-fixup --help'); the store holds the license \
files, the values at identity_paths and a whole copy of server.xconf. The vendor does not publish the layout of \
server.xconf nor the names of the license files: identity_paths is not stated by the vendor; check your install \
('warp-fixup inspect --xconf A --compare B' lists the values that differ between two nodes' files). start makes the \
license folder equal to the store (missing or different files written, owners and modes restored, files not in the \
store moved to a dated quarantine folder in the store, never deleted), then, with identity_mode=values (the default), \
sets only the values at identity_paths in server.xconf, leaving every other byte as it was, or, with \
identity_mode=whole-file (the vendor's own method: restore server.xconf from that node's backup), makes server.xconf \
equal to the store's copy, losing configuration changed since the capture (see identity_mode). Every write is atomic \
(temporary file, fsync, rename, fsync of the folder) and the previous server.xconf is kept in the store (the last 5). \
It refuses, writing nothing, a malformed server.xconf (values mode), an identity path that matches no node or several, \
a store that does not match its SHA-256 manifest or that anyone but root can write, and symlinks in the license \
folder, on the way to server.xconf or in the store. When sweep_dirs is set, start then clears files that flows left \
half-way (older than sweep_age, not open by any process), and a recurring monitor does so again every sweep_interval; \
a sweep problem is logged as a warning and never fails an action. start records 'started' under /run/mwha. monitor \
reports running while started and the identity still matches the store, failed (with the differing item) when it \
drifted, stopped otherwise; a probe on a node without data_dir reports stopped. stop forgets 'started'. validate-all \
checks the parameters (6) and that the store exists on this node (5), matches its manifest and holds what the mode \
needs. Recommended timeouts: start 60s, stop 20s, monitor 20s every 30s.",
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
pub const DEFAULT_SWEEP_INTERVAL: &str = "1h";

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
    "Space-separated locations of the server ID and server name in server.xconf. Not stated by the vendor; check your \
install: the vendor does not publish the XML layout of server.xconf, so these locations are yours to find. \
'warp-fixup inspect --xconf NODE1-FILE --compare NODE2-FILE' (each node's own server.xconf, taken before any sync) \
lists exactly the locations whose values differ between the two nodes and prints an identity_paths line to paste; \
'warp-fixup inspect --data-dir DIR' lists every value with its location. Each location is an absolute element path \
with optional [@attribute='value'] predicates, ending in an element (its text) or /@attribute, and must match exactly \
one node. Example of the syntax (not the real layout): /config/server/@id /config/property[@name='server.name'] (the \
second names the text of the property element whose name attribute is server.name). Names are matched as written in \
the file, namespace prefix included. With identity_mode=values these values are what start writes; with whole-file \
they name what differs in monitor's and verify's reports, and capture compares them to tell this node's file from \
another's.",
    |_, raw| location::parse_list(raw),
)
.required();
static IDENTITY_MODE: Param<IdentityMode> = Param::custom(
    "identity_mode",
    "How server.xconf is put back",
    "values: only the values at identity_paths are set back; every other byte of server.xconf stays as the sync or the \
other node left it, so configuration changed on the other node (or carried over by the sync) is kept. Right for the \
shared-folder layout and for file-copy syncs, whose purpose is to carry configuration across, once identity_paths are \
known. whole-file: the vendor's own method ('restore the license files and server.xconf from that node's backup'): \
server.xconf is made equal, byte for byte with its owner and mode, to the copy 'warp-fixup capture' kept in the \
store (the file it replaces is kept in the store, the last 5). It loses every change made to server.xconf since the \
capture, on either node (configuration changed on the other node or carried over by the sync is reverted), and a \
recurring monitor fails as soon as server.xconf differs from the copy at all, so run 'warp-fixup capture' again after \
every intended configuration change on this node. Right when each node keeps its own configuration (changes made on \
every node by hand, as the guide asks for the individual-folder layout) or when an identity value is spread over more \
of server.xconf than identity_paths can name. Whether the flow service itself rewrites server.xconf while it runs is \
not stated by the vendor; if it does, use values. In both modes the license folder is made equal to the store.",
    |_, raw| raw.parse(),
)
.default("values");
static LICENSE_DIR: Param<PathBuf> = Param::path(
    "license_dir",
    "License folder",
    "Absolute path of the folder holding the license files; the guide names [DATA_DIR]/system/license/*. The names of \
the license files are not stated by the vendor; check your install: every regular file in this folder is taken as part \
of the license and made equal to the store.",
)
.derived("data_dir/system/license");
static XCONF: Param<PathBuf> = Param::path(
    "xconf",
    "server.xconf",
    "Absolute path of the file holding the server ID and name; the guide names [DATA_DIR]/system/conf/server.xconf.",
)
.derived("data_dir/system/conf/server.xconf");
static SWEEP_DIRS: Param<Vec<PathBuf>> = Param::custom(
    "sweep_dirs",
    "Folders of intermediate files",
    "Space-separated absolute folders where flows leave intermediate files (which folders is up to your flows: not \
stated by the vendor; check your install). On start, before the flow service starts, and then on a recurring monitor \
at most every sweep_interval (never on a probe), regular files in them (at any depth, without following symlinks or \
leaving the folder's filesystem) older than sweep_age and not open by any process are quarantined or deleted. A sweep \
problem is logged as a warning and never fails start or monitor. Empty: no sweep.",
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
static SWEEP_INTERVAL: Param<Duration> = Param::custom(
    "sweep_interval",
    "How often a running resource sweeps",
    "The guide asks for leftovers to be deleted regularly: while the resource runs, a recurring monitor sweeps again \
when this much time has passed since the last sweep (recorded under /run/mwha, so a reboot or a move to another node \
starts afresh with start's sweep). A number with a unit s, m, h or d, or a bare number of seconds; 0: sweep only at \
start. The same sweep_age filter applies.",
    |_, raw| parse_interval(raw),
)
.default(DEFAULT_SWEEP_INTERVAL);
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
    IDENTITY_MODE.spec(),
    LICENSE_DIR.spec(),
    XCONF.spec(),
    SWEEP_DIRS.spec(),
    SWEEP_AGE.spec(),
    SWEEP_INTERVAL.spec(),
    SWEEP_ACTION.spec(),
];

/// Where the identity goes: the data folder's license folder and server.xconf, each reached
/// from `data_dir` (when inside it) without following a link.
#[derive(Debug, Clone)]
pub struct Target {
    pub license_dir: Below,
    pub xconf: Below,
    pub identity_paths: Vec<Location>,
    pub mode: IdentityMode,
}

impl Target {
    /// The license folder and server.xconf, anchored at `data_dir` when they lie inside it.
    pub fn new(
        data_dir: Option<&Path>,
        license_dir: &Path,
        xconf: &Path,
        identity_paths: Vec<Location>,
        mode: IdentityMode,
    ) -> Result<Target> {
        Ok(Target { license_dir: Below::anchor(data_dir, license_dir)?, xconf: Below::anchor(data_dir, xconf)?, identity_paths, mode })
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

/// How start puts server.xconf back (see the `identity_mode` parameter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum IdentityMode {
    /// Only the values at `identity_paths` are set.
    Values,
    /// The whole file is made equal to the store's copy.
    WholeFile,
}

impl std::str::FromStr for IdentityMode {
    type Err = anyhow::Error;

    fn from_str(text: &str) -> Result<IdentityMode> {
        match text.trim() {
            "values" => Ok(IdentityMode::Values),
            "whole-file" => Ok(IdentityMode::WholeFile),
            other => anyhow::bail!("identity_mode must be values or whole-file, not {other:?}"),
        }
    }
}

impl std::fmt::Display for IdentityMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            IdentityMode::Values => "values",
            IdentityMode::WholeFile => "whole-file",
        })
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
    /// How often a running resource sweeps again (recurring monitor); zero: only at start.
    pub sweep_interval: Duration,
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
        let mode = v.get(&IDENTITY_MODE)?;
        let license_dir = v.opt(&LICENSE_DIR)?.unwrap_or_else(|| default_license_dir(&data_dir));
        let xconf = v.opt(&XCONF)?.unwrap_or_else(|| default_xconf(&data_dir));
        let target = Target::new(Some(&data_dir), &license_dir, &xconf, identity_paths, mode).map_err(configured)?;
        let sweep_dirs = v.opt(&SWEEP_DIRS)?.unwrap_or_default();
        let sweep_age = v.get(&SWEEP_AGE)?;
        let sweep_interval = v.get(&SWEEP_INTERVAL)?;
        let sweep_action = v.get(&SWEEP_ACTION)?;
        let store = v.opt(&STORE)?;
        // Without a store parameter the store is <root>/<resource>: keep sweeps off all of them.
        let store_guard = store.clone().unwrap_or_else(|| PathBuf::from(DEFAULT_STORE_ROOT));
        let mut protected = target.protected(Some(&data_dir));
        protected.push(Protected::new(&store_guard, "the identity store", false));
        sweep::check_dirs(&sweep_dirs, &protected, "sweep_dirs").map_err(configured)?;
        let sweep_dirs = sweep_dirs.iter().map(|d| Below::anchor(Some(&data_dir), d)).collect::<Result<Vec<_>>>().map_err(configured)?;
        let sweep = SweepPlan { sweep_dirs, sweep_age, sweep_action, sweep_interval, protected };
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
    let age = parse_duration("sweep_age", text)?;
    if age.is_zero() {
        anyhow::bail!("sweep_age {:?} must be more than zero", text.trim());
    }
    Ok(age)
}

/// As [`parse_age`], but zero is allowed (sweep only at start).
pub fn parse_interval(text: &str) -> Result<Duration> {
    parse_duration("sweep_interval", text)
}

/// A number with a unit s, m, h or d, or a bare number of seconds; `name` is for messages.
fn parse_duration(name: &str, text: &str) -> Result<Duration> {
    let text = text.trim();
    let digits_end = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(digits_end);
    let scale = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => anyhow::bail!("{name} {text:?} must be a number with a unit s, m, h or d (e.g. 1h)"),
    };
    let number: u64 = number.parse().map_err(|_| anyhow::anyhow!("{name} {text:?} must be a number with a unit s, m, h or d (e.g. 1h)"))?;
    let seconds = number.checked_mul(scale).ok_or_else(|| anyhow::anyhow!("{name} {text:?} is too large"))?;
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
        assert_eq!(p.sweep.sweep_interval, Duration::from_secs(3600));
        assert_eq!(p.target.mode, IdentityMode::Values);
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
        // An interval may be zero (only at start); the rest is the same syntax.
        for (text, secs) in [("0", 0), ("0s", 0), ("30m", 1800), ("1", 1)] {
            assert_eq!(parse_interval(text).unwrap(), Duration::from_secs(secs), "{text}");
        }
        for bad in ["", "1w", "-1", "1.5h", "99999999999999999d"] {
            let err = parse_interval(bad).unwrap_err().to_string();
            assert!(err.starts_with("sweep_interval"), "{bad:?}: {err}");
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
            with(("sweep_interval", "often")),
            with(("identity_mode", "both")),
            with(("identity_mode", "whole_file")),
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
                ("identity_mode", "whole-file"),
                ("license_dir", "/srv/warp/licenses"),
                ("xconf", "/srv/warp/conf/server.xconf"),
                ("sweep_dirs", "/srv/warp/work /srv/warp/tmp"),
                ("sweep_age", "2d"),
                ("sweep_interval", "0"),
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
        assert_eq!(p.sweep.sweep_interval, Duration::ZERO);
        assert_eq!(p.target.mode, IdentityMode::WholeFile);
    }
}
