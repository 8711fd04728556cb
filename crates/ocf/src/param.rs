//! Typed parameter declarations: one [`ParamSpec`] per OCF parameter feeds both the meta-data
//! XML and the parsed values, so a default is written once.
//!
//! Invariant: parsing is pure (strings to types, absolute paths checked); anything that needs the
//! filesystem (the owner of a directory, a user's existence) is resolved later by the agent.

use std::path::PathBuf;

use anyhow::Result;

use crate::env::Env;
use crate::exit::OcfError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamType {
    String,
    Integer,
    Boolean,
}

impl ParamType {
    pub fn as_str(self) -> &'static str {
        match self {
            ParamType::String => "string",
            ParamType::Integer => "integer",
            ParamType::Boolean => "boolean",
        }
    }
}

/// Where a parameter's value comes from when the admin does not set it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamDefault {
    /// No value: the feature is off, or the parameter is required.
    None,
    /// A literal default, advertised in meta-data.
    Value(&'static str),
    /// Computed from other parameters or the node; the text says how (shown in the longdesc).
    Derived(&'static str),
}

#[derive(Debug, Clone, Copy)]
pub struct ParamSpec {
    pub name: &'static str,
    pub shortdesc: &'static str,
    pub longdesc: &'static str,
    pub kind: ParamType,
    pub default: ParamDefault,
    pub required: bool,
    pub unique: bool,
}

impl ParamSpec {
    /// An optional string parameter; refine with the builder methods.
    pub const fn string(name: &'static str, shortdesc: &'static str, longdesc: &'static str) -> ParamSpec {
        ParamSpec { name, shortdesc, longdesc, kind: ParamType::String, default: ParamDefault::None, required: false, unique: false }
    }
    pub const fn integer(self) -> ParamSpec {
        ParamSpec { kind: ParamType::Integer, ..self }
    }
    pub const fn boolean(self) -> ParamSpec {
        ParamSpec { kind: ParamType::Boolean, ..self }
    }
    pub const fn required(self) -> ParamSpec {
        ParamSpec { required: true, ..self }
    }
    pub const fn unique(self) -> ParamSpec {
        ParamSpec { unique: true, ..self }
    }
    pub const fn default(self, value: &'static str) -> ParamSpec {
        ParamSpec { default: ParamDefault::Value(value), ..self }
    }
    pub const fn derived(self, rule: &'static str) -> ParamSpec {
        ParamSpec { default: ParamDefault::Derived(rule), ..self }
    }
}

/// Parameters every mwha agent has, appended to each agent's own in the meta-data.
pub static COMMON: &[ParamSpec] = &[
    ParamSpec::string(
        "warn_ratio",
        "Warn when an action uses this share of its timeout",
        "When an action takes more than this fraction of its op timeout, the agent logs a warning (MWHA6001W) naming its \
slowest step and that step's time, so a check creeping toward its timeout is seen before Pacemaker records a failure. \
A decimal between 0 and 1.",
    )
    .default("0.8"),
    ParamSpec::string(
        "check_timeouts_tolerated",
        "Consecutive deep-check timeouts tolerated",
        "How many consecutive timeouts of the OCF_CHECK_LEVEL 10/20 checks pass with a warning (MWHA6003W) before the monitor \
fails (like VCS FaultOnMonitorTimeouts). A check that fails for another reason fails at once; a successful check resets the count.",
    )
    .integer()
    .default("0"),
];

/// The parameters of one agent, parsed from `OCF_RESKEY_*`.
pub trait AgentParams: Sized {
    fn from_values(values: &Values) -> Result<Self>;
}

/// Access to parameter values through their declarations.
pub struct Values<'a> {
    env: &'a Env,
    specs: &'static [ParamSpec],
}

impl<'a> Values<'a> {
    pub fn new(env: &'a Env, specs: &'static [ParamSpec]) -> Values<'a> {
        Values { env, specs }
    }

    fn spec(&self, name: &str) -> &'static ParamSpec {
        self.specs
            .iter()
            .chain(COMMON)
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("parameter {name} is read but not declared (a bug in the agent)"))
    }

    /// The value set by the admin, else the literal default.
    pub fn raw(&self, name: &str) -> Option<&str> {
        let spec = self.spec(name);
        self.env.reskey(name).or(match spec.default {
            ParamDefault::Value(v) => Some(v),
            ParamDefault::None | ParamDefault::Derived(_) => None,
        })
    }

    pub fn string(&self, name: &str) -> Option<String> {
        self.raw(name).map(str::to_string)
    }

    pub fn required_string(&self, name: &str) -> Result<String> {
        self.string(name).ok_or_else(|| OcfError::configured(format!("parameter {name} is required")))
    }

    /// An absolute path. A relative one is wrong on every node (6).
    pub fn path(&self, name: &str) -> Result<Option<PathBuf>> {
        let Some(raw) = self.raw(name) else { return Ok(None) };
        let path = PathBuf::from(raw);
        if !path.is_absolute() {
            return Err(OcfError::configured(format!("{name} must be an absolute path, not {raw:?}")));
        }
        Ok(Some(path))
    }

    pub fn required_path(&self, name: &str) -> Result<PathBuf> {
        self.path(name)?.ok_or_else(|| OcfError::configured(format!("parameter {name} is required")))
    }

    /// A folder that holds only the product (an install or data folder): absolute, and neither
    /// `/` nor a system tree, which hold everyone's files and processes (6 otherwise).
    pub fn product_dir(&self, name: &str) -> Result<Option<PathBuf>> {
        let Some(path) = self.path(name)? else { return Ok(None) };
        if let Some(tree) = system_tree(&path) {
            return Err(OcfError::configured(format!("{name} {} is the system folder {tree}, not a product folder", path.display())));
        }
        Ok(Some(path))
    }

    pub fn required_product_dir(&self, name: &str) -> Result<PathBuf> {
        self.product_dir(name)?.ok_or_else(|| OcfError::configured(format!("parameter {name} is required")))
    }

    pub fn integer(&self, name: &str) -> Result<Option<i64>> {
        self.raw(name)
            .map(|raw| raw.trim().parse::<i64>().map_err(|_| OcfError::configured(format!("{name} must be an integer, not {raw:?}"))))
            .transpose()
    }

    /// OCF booleans as ocf-shellfuncs `ocf_is_true` reads them.
    pub fn boolean(&self, name: &str) -> Result<bool> {
        match self.raw(name).map(|s| s.trim().to_ascii_lowercase()) {
            None => Ok(false),
            Some(v) => match v.as_str() {
                "1" | "true" | "yes" | "on" | "y" => Ok(true),
                "0" | "false" | "no" | "off" | "n" => Ok(false),
                _ => Err(OcfError::configured(format!("{name} must be true or false, not {v:?}"))),
            },
        }
    }

    /// A decimal number.
    pub fn decimal(&self, name: &str) -> Result<Option<f64>> {
        self.raw(name)
            .map(|raw| {
                raw.trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .ok_or_else(|| OcfError::configured(format!("{name} must be a number, not {raw:?}")))
            })
            .transpose()
    }

    /// A space-separated list.
    pub fn words(&self, name: &str) -> Vec<String> {
        self.raw(name).map(|s| s.split_whitespace().map(str::to_string).collect()).unwrap_or_default()
    }
}

/// Folders shared by the whole system: never a product's own folder.
const SYSTEM_TREES: &[&str] = &[
    "/",
    "/bin",
    "/boot",
    "/dev",
    "/etc",
    "/home",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/media",
    "/mnt",
    "/opt",
    "/proc",
    "/root",
    "/run",
    "/sbin",
    "/srv",
    "/sys",
    "/tmp",
    "/usr",
    "/usr/bin",
    "/usr/lib",
    "/usr/lib64",
    "/usr/libexec",
    "/usr/local",
    "/usr/local/bin",
    "/usr/local/lib",
    "/usr/local/sbin",
    "/usr/sbin",
    "/usr/share",
    "/var",
    "/var/cache",
    "/var/lib",
    "/var/log",
    "/var/opt",
    "/var/run",
    "/var/spool",
    "/var/tmp",
];

/// The system tree `path` names after lexical normalisation (`.`, `..`, repeated and trailing
/// slashes), if it is one.
pub fn system_tree(path: &std::path::Path) -> Option<&'static str> {
    use std::path::Component;
    let mut parts: Vec<&std::ffi::OsStr> = Vec::new();
    for c in path.components() {
        match c {
            Component::Normal(p) => parts.push(p),
            Component::ParentDir => {
                parts.pop();
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    let normal: PathBuf = std::iter::once(std::ffi::OsStr::new("/")).chain(parts).collect();
    SYSTEM_TREES.iter().copied().find(|t| normal == std::path::Path::new(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    static SPECS: &[ParamSpec] = &[
        ParamSpec::string("dir", "d", "d").required(),
        ParamSpec::string("port", "p", "p").integer().default("21381"),
        ParamSpec::string("list", "l", "l"),
        ParamSpec::string("flag", "f", "f").boolean(),
    ];

    fn check(vars: &[(&str, &str)], test: impl Fn(&Values)) {
        let env = Env::from_vars(vars.iter().map(|(k, v)| (format!("OCF_RESKEY_{k}"), v.to_string())), "t");
        test(&Values::new(&env, SPECS));
    }

    #[test]
    fn paths_must_be_absolute_and_required_ones_present() {
        check(&[("dir", "rel/dir")], |v| {
            let err = v.path("dir").unwrap_err();
            assert_eq!(crate::exit::fault_of(&err).code(), 6);
        });
        check(&[], |v| assert_eq!(crate::exit::fault_of(&v.required_path("dir").unwrap_err()).code(), 6));
        check(&[("dir", "/opt/a;touch /tmp/x")], |v| {
            assert_eq!(v.required_path("dir").unwrap(), PathBuf::from("/opt/a;touch /tmp/x"));
        });
    }

    #[test]
    fn system_trees_are_never_product_folders() {
        for bad in ["/", "/usr", "/usr/", "//usr//", "/opt", "/opt/warp/../..", "/opt/./", "/var/lib", "/tmp", "/home", "/etc/", "/lib64"] {
            check(&[("dir", bad)], |v| {
                let err = v.required_product_dir("dir").unwrap_err();
                assert_eq!(crate::exit::fault_of(&err).code(), 6, "{bad}");
                assert!(err.to_string().contains("system folder"), "{err}");
            });
        }
        for good in ["/opt/warp", "/usr/local/warp", "/tmp/mwha-test/warp", "/data/warp", "/home/warp/install"] {
            check(&[("dir", good)], |v| assert_eq!(v.required_product_dir("dir").unwrap(), PathBuf::from(good)));
        }
    }

    #[test]
    fn defaults_integers_lists_and_booleans() {
        check(&[], |v| assert_eq!(v.integer("port").unwrap(), Some(21381)));
        check(&[("port", "x")], |v| assert!(v.integer("port").is_err()));
        check(&[("list", " a  b ")], |v| assert_eq!(v.words("list"), ["a", "b"]));
        check(&[("flag", "yes")], |v| assert!(v.boolean("flag").unwrap()));
        check(&[("flag", "maybe")], |v| assert!(v.boolean("flag").is_err()));
    }
}
