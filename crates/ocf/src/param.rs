//! Typed parameter declarations: one [`Param`] per OCF parameter holds its name, texts, meta-data
//! type, default and parser, so the meta-data XML (from its [`ParamSpec`]) and the parsed value
//! come from one place and a default is written once.
//!
//! An agent declares each parameter as a `static`, lists the specs in meta-data order, and
//! reads values only through the declarations; there is no way to read a parameter by name:
//!
//! ```ignore
//! static PORT: Param<u16> = Param::integer("port", "Port", "TCP port.").range(1, 65535).default("5169");
//! static PARAMS: &[&ParamSpec] = &[PORT.spec()];
//! // in AgentParams::from_values:
//! let port = v.get(&PORT)?; // the admin's value, else 5169; out of range: 6
//! ```
//!
//! [`check_declarations`] is each agent's test that the list and `from_values` agree.
//!
//! An admin's value that is `<…>` (after trimming) is a placeholder left from an example
//! (`identity_paths="<from warp-fixup inspect --compare>"`), refused with 6 for every parameter
//! but those declared [`Param::may_look_like_a_placeholder`].
//!
//! Invariant: parsing is pure (strings to types, absolute paths checked); anything that needs the
//! filesystem (the owner of a directory, a user's existence) is resolved later by the agent.

use std::cell::RefCell;
use std::path::PathBuf;
use std::time::Duration;

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
    /// A literal default, advertised in meta-data and parsed like an admin's value.
    Value(&'static str),
    /// Computed from other parameters or the node by the agent's `from_values`; the text says how
    /// (shown in the longdesc).
    Derived(&'static str),
}

/// What the meta-data says about a parameter; part of a [`Param`], which also knows how to parse it.
#[derive(Debug, Clone, Copy)]
pub struct ParamSpec {
    pub name: &'static str,
    pub shortdesc: &'static str,
    pub longdesc: &'static str,
    pub kind: ParamType,
    pub default: ParamDefault,
    pub required: bool,
    pub unique: bool,
    /// Its value is text compared with what a command prints or a file holds, where `<…>` can
    /// be real: not refused as a placeholder.
    pub may_look_like_a_placeholder: bool,
}

/// One OCF parameter: its [`ParamSpec`] and the parser that turns its text into a `T`.
///
/// Declare it as a `static` (never a `const`): [`Values`] recognises a declaration by its address.
pub struct Param<T: 'static> {
    spec: ParamSpec,
    parse: Parse<T>,
}

enum Parse<T: 'static> {
    /// Gets the parameter's name (for its messages) and the text.
    Text(fn(&str, &str) -> Result<T>),
    /// An integer within `min..=max`, then converted to `T`.
    Integer { min: i64, max: i64, convert: fn(i64) -> Option<T> },
}

/// The integer types a parameter can have.
pub trait Integer: Sized + 'static {
    const MIN: i64;
    const MAX: i64;
    fn from_i64(n: i64) -> Option<Self>;
}

macro_rules! integer {
    ($($t:ty),*) => {$(
        impl Integer for $t {
            const MIN: i64 = <$t>::MIN as i64;
            const MAX: i64 = if <$t>::MAX as u128 > i64::MAX as u128 { i64::MAX } else { <$t>::MAX as i64 };
            fn from_i64(n: i64) -> Option<$t> {
                <$t>::try_from(n).ok()
            }
        }
    )*};
}
integer!(u16, u32, u64, i64);

const fn spec(name: &'static str, shortdesc: &'static str, longdesc: &'static str, kind: ParamType) -> ParamSpec {
    ParamSpec {
        name,
        shortdesc,
        longdesc,
        kind,
        default: ParamDefault::None,
        required: false,
        unique: false,
        may_look_like_a_placeholder: false,
    }
}

impl Param<String> {
    /// Text, as the admin wrote it.
    pub const fn string(name: &'static str, shortdesc: &'static str, longdesc: &'static str) -> Param<String> {
        Param { spec: spec(name, shortdesc, longdesc, ParamType::String), parse: Parse::Text(parse_string) }
    }
}

impl Param<PathBuf> {
    /// An absolute path; a relative one is wrong on every node (6).
    pub const fn path(name: &'static str, shortdesc: &'static str, longdesc: &'static str) -> Param<PathBuf> {
        Param { spec: spec(name, shortdesc, longdesc, ParamType::String), parse: Parse::Text(parse_path) }
    }

    /// A folder that holds only the product (an install or data folder): absolute, and neither
    /// `/` nor a system tree ([`system_tree`]), which hold everyone's files and processes (6).
    pub const fn product_dir(name: &'static str, shortdesc: &'static str, longdesc: &'static str) -> Param<PathBuf> {
        Param { spec: spec(name, shortdesc, longdesc, ParamType::String), parse: Parse::Text(parse_product_dir) }
    }
}

impl Param<bool> {
    /// An OCF boolean, read as ocf-shellfuncs `ocf_is_true` reads it.
    pub const fn boolean(name: &'static str, shortdesc: &'static str, longdesc: &'static str) -> Param<bool> {
        Param { spec: spec(name, shortdesc, longdesc, ParamType::Boolean), parse: Parse::Text(parse_boolean) }
    }
}

impl Param<f64> {
    /// A finite decimal number (a string in meta-data, which has no decimal type).
    pub const fn decimal(name: &'static str, shortdesc: &'static str, longdesc: &'static str) -> Param<f64> {
        Param { spec: spec(name, shortdesc, longdesc, ParamType::String), parse: Parse::Text(parse_decimal) }
    }
}

impl Param<Duration> {
    /// A time in Pacemaker's syntax (`10s`, `500ms`, `2min`; no unit: seconds), as admins write
    /// op timeouts.
    pub const fn duration(name: &'static str, shortdesc: &'static str, longdesc: &'static str) -> Param<Duration> {
        Param { spec: spec(name, shortdesc, longdesc, ParamType::String), parse: Parse::Text(parse_duration) }
    }
}

impl Param<Vec<String>> {
    /// A space-separated list.
    pub const fn words(name: &'static str, shortdesc: &'static str, longdesc: &'static str) -> Param<Vec<String>> {
        Param { spec: spec(name, shortdesc, longdesc, ParamType::String), parse: Parse::Text(parse_words) }
    }
}

impl<T: Integer> Param<T> {
    /// An integer that fits `T`; narrow it with [`Param::range`].
    pub const fn integer(name: &'static str, shortdesc: &'static str, longdesc: &'static str) -> Param<T> {
        Param {
            spec: spec(name, shortdesc, longdesc, ParamType::Integer),
            parse: Parse::Integer { min: T::MIN, max: T::MAX, convert: T::from_i64 },
        }
    }

    /// Only `min..=max` is valid (6 otherwise).
    pub const fn range(self, min: i64, max: i64) -> Param<T> {
        let Parse::Integer { convert, .. } = self.parse else { panic!("range is for integer parameters") };
        assert!(T::MIN <= min && min <= max && max <= T::MAX, "the range must fit the parameter's type");
        Param { spec: self.spec, parse: Parse::Integer { min, max, convert } }
    }
}

impl<T> Param<T> {
    /// A value the agent parses: `parse` gets the parameter's name and the text. Its errors are
    /// configuration errors (6) unless it classifies them itself.
    pub const fn custom(
        name: &'static str,
        shortdesc: &'static str,
        longdesc: &'static str,
        parse: fn(&str, &str) -> Result<T>,
    ) -> Param<T> {
        Param { spec: spec(name, shortdesc, longdesc, ParamType::String), parse: Parse::Text(parse) }
    }

    /// Unset is an error (6).
    pub const fn required(self) -> Param<T> {
        Param { spec: ParamSpec { required: true, ..self.spec }, parse: self.parse }
    }
    pub const fn unique(self) -> Param<T> {
        Param { spec: ParamSpec { unique: true, ..self.spec }, parse: self.parse }
    }
    /// The value when unset, advertised in meta-data and parsed like an admin's value.
    pub const fn default(self, value: &'static str) -> Param<T> {
        Param { spec: ParamSpec { default: ParamDefault::Value(value), ..self.spec }, parse: self.parse }
    }
    /// When unset the agent computes the value (its `from_values` does); `rule` says how.
    pub const fn derived(self, rule: &'static str) -> Param<T> {
        Param { spec: ParamSpec { default: ParamDefault::Derived(rule), ..self.spec }, parse: self.parse }
    }
    /// A value written `<…>` is taken as it is, not refused as a placeholder: only for text
    /// compared with what a command prints or a file holds, where it can be real.
    pub const fn may_look_like_a_placeholder(self) -> Param<T> {
        Param { spec: ParamSpec { may_look_like_a_placeholder: true, ..self.spec }, parse: self.parse }
    }

    /// What the meta-data shows; an agent's parameter list is made of these.
    pub const fn spec(&self) -> &ParamSpec {
        &self.spec
    }

    fn parse(&self, raw: &str) -> Result<T> {
        let name = self.spec.name;
        match self.parse {
            // A value that does not parse is wrong on every node.
            Parse::Text(parse) => parse(name, raw).map_err(|err| {
                if err.chain().any(|cause| cause.downcast_ref::<OcfError>().is_some()) {
                    err
                } else {
                    OcfError::configured(format!("{err:#}"))
                }
            }),
            Parse::Integer { min, max, convert } => {
                let n = raw.trim().parse::<i64>().map_err(|_| OcfError::configured(format!("{name} must be an integer, not {raw:?}")))?;
                convert(n)
                    .filter(|_| (min..=max).contains(&n))
                    .ok_or_else(|| OcfError::configured(format!("{name} must be {min}-{max}, not {n}")))
            }
        }
    }
}

/// `warn_ratio`, which every agent has (see [`COMMON`]).
pub static WARN_RATIO: Param<f64> = Param::decimal(
    "warn_ratio",
    "Warn when an action uses this share of its timeout",
    "When an action takes more than this fraction of its op timeout, the agent logs a warning (MWHA6001W) naming its \
slowest step and that step's time, so a check creeping toward its timeout is seen before Pacemaker records a failure. \
A decimal between 0 and 1.",
)
.default("0.8");

/// `check_timeouts_tolerated`, which every agent has (see [`COMMON`]).
pub static CHECK_TIMEOUTS_TOLERATED: Param<u32> = Param::integer(
    "check_timeouts_tolerated",
    "Consecutive deep-check timeouts tolerated",
    "How many consecutive timeouts of the OCF_CHECK_LEVEL 10/20 checks pass with a warning (MWHA6003W) before the monitor \
fails (like VCS FaultOnMonitorTimeouts). A check that fails for another reason fails at once; a successful check resets the count.",
)
.default("0");

/// Parameters every mwha agent has, appended to each agent's own in the meta-data.
pub static COMMON: &[&ParamSpec] = &[WARN_RATIO.spec(), CHECK_TIMEOUTS_TOLERATED.spec()];

/// The parameters of one agent, parsed from `OCF_RESKEY_*`.
pub trait AgentParams: Sized {
    fn from_values(values: &Values) -> Result<Self>;
}

/// Parameter values, read through their declarations.
pub struct Values<'a> {
    env: &'a Env,
    specs: &'static [&'static ParamSpec],
    /// The names read so far, for [`check_declarations`].
    read: RefCell<Vec<&'static str>>,
}

impl<'a> Values<'a> {
    /// The values of the parameters `specs` (the agent's list) and [`COMMON`] declare.
    pub fn new(env: &'a Env, specs: &'static [&'static ParamSpec]) -> Values<'a> {
        Values { env, specs, read: RefCell::new(Vec::new()) }
    }

    /// The admin's value, else the declared default; without either, 6 naming the parameter.
    pub fn get<T>(&self, param: &'static Param<T>) -> Result<T> {
        self.opt(param)?.ok_or_else(|| OcfError::configured(format!("parameter {} is required", param.spec.name)))
    }

    /// The admin's value, else the declared default, else `None` (unset, or a derived default
    /// that the caller computes).
    pub fn opt<T>(&self, param: &'static Param<T>) -> Result<Option<T>> {
        let spec = &param.spec;
        // Statics have one address each: a declaration missing from the list is a bug that
        // check_declarations finds, and reading it anyway would skip the meta-data.
        let listed = self.specs.iter().chain(COMMON).any(|listed| std::ptr::eq(*listed, spec));
        assert!(listed, "parameter {} is read but not in the agent's parameter list (a bug in the agent)", spec.name);
        self.read.borrow_mut().push(spec.name);
        let admins = self.env.reskey(spec.name);
        if let Some(raw) = admins.filter(|raw| is_placeholder(raw) && !spec.may_look_like_a_placeholder) {
            return Err(OcfError::configured(placeholder_message(spec.name, raw)));
        }
        let literal_default = match spec.default {
            ParamDefault::Value(value) => Some(value),
            ParamDefault::None | ParamDefault::Derived(_) => None,
        };
        admins.or(literal_default).map(|raw| param.parse(raw)).transpose()
    }
}

/// Whether an admin's value is a placeholder left from an example: `<…>` after trimming.
pub fn is_placeholder(raw: &str) -> bool {
    let text = raw.trim();
    text.len() >= 2 && text.starts_with('<') && text.ends_with('>')
}

/// The most bytes of a placeholder quoted: the exit reason (128 bytes with the resource's name)
/// must keep room for what to do.
const PLACEHOLDER_SHOWN: usize = 48;

/// "NAME is a placeholder (<…>): put the site's value there", a long placeholder shortened.
fn placeholder_message(name: &str, raw: &str) -> String {
    let text = raw.trim();
    let shown = if text.len() <= PLACEHOLDER_SHOWN {
        text.to_string()
    } else {
        const ELLIPSIS: &str = "…>";
        let mut cut = PLACEHOLDER_SHOWN - ELLIPSIS.len();
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        format!("{}{ELLIPSIS}", &text[..cut])
    };
    format!("{name} is a placeholder ({shown}): put the site's value there")
}

fn parse_string(_name: &str, raw: &str) -> Result<String> {
    Ok(raw.to_string())
}

fn parse_path(name: &str, raw: &str) -> Result<PathBuf> {
    let path = PathBuf::from(raw);
    if !path.is_absolute() {
        return Err(OcfError::configured(format!("{name} must be an absolute path, not {raw:?}")));
    }
    Ok(path)
}

fn parse_product_dir(name: &str, raw: &str) -> Result<PathBuf> {
    let path = parse_path(name, raw)?;
    if let Some(tree) = system_tree(&path) {
        return Err(OcfError::configured(format!("{name} {} is the system folder {tree}, not a product folder", path.display())));
    }
    Ok(path)
}

/// As ocf-shellfuncs `ocf_is_true` reads it, but a value that is neither is refused.
fn parse_boolean(name: &str, raw: &str) -> Result<bool> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" | "y" => Ok(true),
        "0" | "false" | "no" | "off" | "n" => Ok(false),
        other => Err(OcfError::configured(format!("{name} must be true or false, not {other:?}"))),
    }
}

fn parse_decimal(name: &str, raw: &str) -> Result<f64> {
    raw.trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| OcfError::configured(format!("{name} must be a number, not {raw:?}")))
}

fn parse_duration(name: &str, raw: &str) -> Result<Duration> {
    crate::cib::parse_duration(raw)
        .ok_or_else(|| OcfError::configured(format!("{name} must be a time like 10s, 500ms or 2min, not {raw:?}")))
}

fn parse_words(_name: &str, raw: &str) -> Result<Vec<String>> {
    Ok(raw.split_whitespace().map(str::to_string).collect())
}

/// The test every agent runs on its parameter list and its `from_values`; it panics naming the
/// first disagreement. `samples` holds a valid value, other than the default, for each of the
/// agent's parameters. It checks that:
/// - no name is declared twice (also against [`COMMON`]) and no required parameter has a default;
/// - `samples` names each declared parameter exactly once;
/// - with only the required parameters set, `from_values` succeeds and reads every declared
///   parameter exactly once (so every literal default went through its own parser, and nothing
///   is declared but ignored or read into two fields);
/// - with every sample set, the same holds.
///
/// It returns what `from_values` made of all samples, for the agent to check that each value
/// landed in its field.
pub fn check_declarations<P: AgentParams>(specs: &'static [&'static ParamSpec], samples: &[(&str, &str)]) -> P {
    let sorted = |names: &mut dyn Iterator<Item = &'static str>| {
        let mut names: Vec<&str> = names.collect();
        names.sort_unstable();
        names
    };
    let all = sorted(&mut specs.iter().chain(COMMON).map(|s| s.name));
    if let Some(twice) = all.windows(2).find(|pair| pair[0] == pair[1]) {
        panic!("parameter {} is declared twice", twice[0]);
    }
    let declared = sorted(&mut specs.iter().map(|s| s.name));
    let mut sampled: Vec<&str> = samples.iter().map(|(name, _)| *name).collect();
    sampled.sort_unstable();
    assert_eq!(sampled, declared, "the samples must name each declared parameter once");
    let spec_of = |name: &str| specs.iter().find(|s| s.name == name).expect("every sample names a declared parameter (checked above)");
    for (name, value) in samples {
        let spec = spec_of(name);
        if let ParamDefault::Value(default) = spec.default {
            assert!(!spec.required, "required parameter {name} has a default");
            assert_ne!(*value, default, "the sample of {name} is its default, so it cannot show that the value is used");
        }
    }
    let run = |vars: &[(&str, &str)], what: &str| -> P {
        let env = Env::from_vars(vars.iter().map(|(k, v)| (format!("OCF_RESKEY_{k}"), v.to_string())), "check");
        let values = Values::new(&env, specs);
        let parsed = P::from_values(&values).unwrap_or_else(|err| panic!("from_values {what}: {err:#}"));
        let read = sorted(&mut values.read.take().into_iter());
        assert_eq!(read, declared, "from_values {what} must read each declared parameter exactly once");
        parsed
    };
    let required: Vec<(&str, &str)> = samples.iter().copied().filter(|(name, _)| spec_of(name).required).collect();
    run(&required, "with only the required parameters set");
    run(samples, "with every parameter set")
}

/// Folders shared by the whole system: never a product's own folder.
const SYSTEM_TREES: &[&str] = &[
    "/",
    "/bin",
    "/boot",
    "/dev",
    "/efi",
    "/etc",
    "/home",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/lost+found",
    "/media",
    "/mnt",
    "/opt",
    "/proc",
    "/root",
    "/run",
    "/sbin",
    "/snap",
    "/srv",
    "/sys",
    "/tmp",
    "/usr",
    "/usr/bin",
    "/usr/include",
    "/usr/lib",
    "/usr/lib32",
    "/usr/lib64",
    "/usr/libexec",
    "/usr/libx32",
    "/usr/local",
    "/usr/local/bin",
    "/usr/local/etc",
    "/usr/local/lib",
    "/usr/local/sbin",
    "/usr/local/share",
    "/usr/sbin",
    "/usr/share",
    "/usr/src",
    "/var",
    "/var/cache",
    "/var/lib",
    "/var/lib/mwha",
    "/var/local",
    "/var/lock",
    "/var/log",
    "/var/mail",
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

    static DIR: Param<PathBuf> = Param::path("dir", "d", "d").required();
    static HOME: Param<PathBuf> = Param::product_dir("home", "h", "h");
    static PORT: Param<u16> = Param::integer("port", "p", "p").range(1, 65535).default("21381");
    static COUNT: Param<u32> = Param::integer("count", "c", "c");
    static LIST: Param<Vec<String>> = Param::words("list", "l", "l");
    static FLAG: Param<bool> = Param::boolean("flag", "f", "f").default("false");
    static RATIO: Param<f64> = Param::decimal("ratio", "r", "r");
    static NAME: Param<String> = Param::string("name", "n", "n").derived("the node name");
    static EVEN: Param<u64> = Param::custom("even", "e", "e", parse_even);
    static UNLISTED: Param<String> = Param::string("unlisted", "u", "u");
    static STATUS: Param<String> = Param::string("status", "s", "s").may_look_like_a_placeholder();
    static GRACE: Param<Duration> = Param::duration("grace", "g", "g").default("10s");
    static SPECS: &[&ParamSpec] = &[
        DIR.spec(),
        HOME.spec(),
        PORT.spec(),
        COUNT.spec(),
        LIST.spec(),
        FLAG.spec(),
        RATIO.spec(),
        NAME.spec(),
        EVEN.spec(),
        STATUS.spec(),
        GRACE.spec(),
    ];

    fn parse_even(name: &str, raw: &str) -> Result<u64> {
        let n: u64 = raw.parse()?;
        anyhow::ensure!(n % 2 == 0, "{name} must be even, not {n}");
        Ok(n)
    }

    fn check(vars: &[(&str, &str)], test: impl Fn(&Values)) {
        let env = Env::from_vars(vars.iter().map(|(k, v)| (format!("OCF_RESKEY_{k}"), v.to_string())), "t");
        test(&Values::new(&env, SPECS));
    }

    fn fails_with<T: std::fmt::Debug>(result: Result<T>, message: &str) {
        let err = result.unwrap_err();
        assert_eq!(crate::exit::fault_of(&err).code(), 6, "{err:#}");
        assert_eq!(format!("{err:#}"), message);
    }

    #[test]
    fn paths_must_be_absolute_and_required_ones_present() {
        check(&[("dir", "rel/dir")], |v| fails_with(v.get(&DIR), "dir must be an absolute path, not \"rel/dir\""));
        check(&[], |v| fails_with(v.get(&DIR), "parameter dir is required"));
        check(&[], |v| assert_eq!(v.opt(&DIR).unwrap(), None));
        check(&[("dir", "/opt/a;touch /tmp/x")], |v| assert_eq!(v.get(&DIR).unwrap(), PathBuf::from("/opt/a;touch /tmp/x")));
    }

    #[test]
    fn system_trees_are_never_product_folders() {
        for bad in ["/", "/usr", "/usr/", "//usr//", "/opt", "/opt/warp/../..", "/opt/./", "/var/lib", "/tmp", "/home", "/etc/", "/lib64"] {
            check(&[("home", bad)], |v| {
                let err = v.get(&HOME).unwrap_err();
                assert_eq!(crate::exit::fault_of(&err).code(), 6, "{bad}");
                assert!(err.to_string().contains("system folder"), "{err}");
            });
        }
        for good in ["/opt/warp", "/usr/local/warp", "/tmp/mwha-test/warp", "/data/warp", "/home/warp/install"] {
            check(&[("home", good)], |v| assert_eq!(v.get(&HOME).unwrap(), PathBuf::from(good)));
        }
        check(&[("home", "warp")], |v| fails_with(v.get(&HOME), "home must be an absolute path, not \"warp\""));
    }

    #[test]
    fn integers_take_the_declared_default_and_keep_to_their_range() {
        check(&[], |v| assert_eq!(v.get(&PORT).unwrap(), 21381));
        check(&[("port", " 80 ")], |v| assert_eq!(v.get(&PORT).unwrap(), 80));
        check(&[("port", "x")], |v| fails_with(v.get(&PORT), "port must be an integer, not \"x\""));
        for out in ["0", "65536", "-1"] {
            check(&[("port", out)], |v| fails_with(v.get(&PORT), &format!("port must be 1-65535, not {out}")));
        }
        check(&[("count", "4294967295")], |v| assert_eq!(v.get(&COUNT).unwrap(), u32::MAX));
        check(&[("count", "-1")], |v| fails_with(v.get(&COUNT), "count must be 0-4294967295, not -1"));
        check(&[], |v| fails_with(v.get(&COUNT), "parameter count is required"));
    }

    #[test]
    fn booleans_decimals_words_and_strings() {
        check(&[], |v| assert!(!v.get(&FLAG).unwrap()));
        for yes in ["yes", "TRUE", " 1 ", "on", "y"] {
            check(&[("flag", yes)], |v| assert!(v.get(&FLAG).unwrap(), "{yes}"));
        }
        for no in ["no", "False", "0", "off", "n"] {
            check(&[("flag", no)], |v| assert!(!v.get(&FLAG).unwrap(), "{no}"));
        }
        check(&[("flag", "Maybe")], |v| fails_with(v.get(&FLAG), "flag must be true or false, not \"maybe\""));
        check(&[("ratio", "0.25")], |v| assert_eq!(v.get(&RATIO).unwrap(), 0.25));
        check(&[("ratio", "inf")], |v| fails_with(v.get(&RATIO), "ratio must be a number, not \"inf\""));
        check(&[("list", " a  b ")], |v| assert_eq!(v.get(&LIST).unwrap(), ["a", "b"]));
        check(&[], |v| assert_eq!(v.opt(&LIST).unwrap(), None));
        check(&[("name", " as written ")], |v| assert_eq!(v.get(&NAME).unwrap(), " as written "));
        // A derived default is the caller's to compute: unset reads as None.
        check(&[], |v| assert_eq!(v.opt(&NAME).unwrap(), None));
    }

    #[test]
    fn durations_take_pacemakers_syntax() {
        check(&[], |v| assert_eq!(v.get(&GRACE).unwrap(), Duration::from_secs(10)));
        for (text, ms) in [("0", 0), ("3", 3000), (" 2s ", 2000), ("1500ms", 1500), ("2min", 120_000)] {
            check(&[("grace", text)], |v| assert_eq!(v.get(&GRACE).unwrap(), Duration::from_millis(ms), "{text}"));
        }
        for bad in ["soon", "-1s", "1.5s", "5 parsecs"] {
            check(&[("grace", bad)], |v| fails_with(v.get(&GRACE), &format!("grace must be a time like 10s, 500ms or 2min, not {bad:?}")));
        }
    }

    #[test]
    fn custom_parsers_get_the_name_and_their_errors_are_6() {
        check(&[("even", "4")], |v| assert_eq!(v.get(&EVEN).unwrap(), 4));
        check(&[("even", "3")], |v| fails_with(v.get(&EVEN), "even must be even, not 3"));
        check(&[("even", "x")], |v| fails_with(v.get(&EVEN), "invalid digit found in string"));
    }

    /// What every placeholder `<from the site>` is refused with, for parameter `name`.
    fn placeholder(name: &str) -> String {
        format!("{name} is a placeholder (<from the site>): put the site's value there")
    }

    #[test]
    fn placeholders_are_refused_whatever_the_type_before_any_parsing() {
        let site = "<from the site>";
        check(&[("dir", site)], |v| fails_with(v.get(&DIR), &placeholder("dir")));
        check(&[("home", site)], |v| fails_with(v.get(&HOME), &placeholder("home")));
        // The admin's placeholder, not the declared default: refused.
        check(&[("port", site)], |v| fails_with(v.get(&PORT), &placeholder("port")));
        check(&[("count", site)], |v| fails_with(v.opt(&COUNT), &placeholder("count")));
        check(&[("list", site)], |v| fails_with(v.get(&LIST), &placeholder("list")));
        check(&[("flag", site)], |v| fails_with(v.get(&FLAG), &placeholder("flag")));
        check(&[("ratio", site)], |v| fails_with(v.get(&RATIO), &placeholder("ratio")));
        check(&[("name", site)], |v| fails_with(v.opt(&NAME), &placeholder("name")));
        check(&[("even", site)], |v| fails_with(v.get(&EVEN), &placeholder("even")));
        // As the CIB may hold it: surrounding white space, a line break.
        check(&[("name", " \t<from the site>\n")], |v| fails_with(v.get(&NAME), &placeholder("name")));
    }

    #[test]
    fn only_a_whole_value_in_angle_brackets_is_a_placeholder() {
        for text in ["<>", "<x>", " <from warp-fixup inspect --compare> ", "<a> <b>"] {
            assert!(is_placeholder(text), "{text:?}");
        }
        for text in ["a<b>", "<a", "a>", "<a> b", "x <y>", "<", ">", "", "> <"] {
            assert!(!is_placeholder(text), "{text:?}");
        }
        check(&[("name", "<a> b")], |v| assert_eq!(v.get(&NAME).unwrap(), "<a> b"));
        check(&[("list", "x <y>")], |v| assert_eq!(v.get(&LIST).unwrap(), ["x", "<y>"]));
    }

    #[test]
    fn text_declared_as_possibly_bracketed_is_taken_as_written() {
        check(&[("status", "<running>")], |v| assert_eq!(v.get(&STATUS).unwrap(), "<running>"));
        let status_text = &crate::service::STATUS_TEXT;
        assert!(status_text.spec().may_look_like_a_placeholder, "a status script may print <running>");
    }

    #[test]
    fn the_exit_reason_of_a_placeholder_says_what_to_put_there_in_128_bytes() {
        check(&[("name", "<from warp-fixup inspect --compare>")], |v| {
            let reason = crate::exit::exit_reason("warp-identity", &v.get(&NAME).unwrap_err());
            assert_eq!(reason, "warp-identity: name is a placeholder (<from warp-fixup inspect --compare>): put the site's value there");
        });
        let long = format!("<{}>", "ü".repeat(200));
        check(&[("name", &long)], |v| {
            let reason = crate::exit::exit_reason("warp-identity", &v.get(&NAME).unwrap_err());
            assert!(reason.len() <= 128, "{} bytes: {reason}", reason.len());
            assert!(reason.starts_with("warp-identity: name is a placeholder (<üü"), "{reason}");
            assert!(reason.ends_with("…>): put the site's value there"), "{reason}");
        });
    }

    #[test]
    fn reading_an_unlisted_declaration_is_a_bug_that_stops_the_agent() {
        let read = std::panic::catch_unwind(|| check(&[("unlisted", "x")], |v| drop(v.get(&UNLISTED))));
        let message = read.unwrap_err();
        assert!(message.downcast_ref::<String>().is_some_and(|m| m.contains("unlisted is read but not in the agent's parameter list")));
    }

    #[test]
    fn common_parameters_keep_their_meta_data() {
        let spec = |name: &str| COMMON.iter().find(|s| s.name == name).copied().unwrap();
        assert_eq!((spec("warn_ratio").kind, spec("warn_ratio").default), (ParamType::String, ParamDefault::Value("0.8")));
        assert_eq!(
            (spec("check_timeouts_tolerated").kind, spec("check_timeouts_tolerated").default),
            (ParamType::Integer, ParamDefault::Value("0"))
        );
    }

    /// The agent-side check, run on a small agent that gets it right and on ones that do not.
    mod declarations {
        use super::*;

        static A: Param<PathBuf> = Param::path("a", "a", "a").required();
        static B: Param<u16> = Param::integer("b", "b", "b").default("7");
        static C: Param<String> = Param::string("c", "c", "c");
        static LIST: &[&ParamSpec] = &[A.spec(), B.spec(), C.spec()];
        static TWICE: &[&ParamSpec] = &[A.spec(), B.spec(), C.spec(), C.spec()];
        static BAD_DEFAULT: Param<u16> = Param::integer("b", "b", "b").range(1, 5).default("7");
        static WITH_BAD_DEFAULT: &[&ParamSpec] = &[A.spec(), BAD_DEFAULT.spec(), C.spec()];
        const SAMPLES: &[(&str, &str)] = &[("a", "/x"), ("b", "8"), ("c", "see")];

        #[derive(Debug)]
        struct Good(PathBuf, u16, Option<String>);
        impl AgentParams for Good {
            fn from_values(v: &Values) -> Result<Good> {
                Ok(Good(v.get(&A)?, v.get(&B)?, v.opt(&C)?))
            }
        }
        /// Forgets c.
        struct Forgets;
        impl AgentParams for Forgets {
            fn from_values(v: &Values) -> Result<Forgets> {
                v.get(&A)?;
                v.get(&B)?;
                Ok(Forgets)
            }
        }
        /// Reads b where it means c (a copy-paste slip).
        struct ReadsTwice;
        impl AgentParams for ReadsTwice {
            fn from_values(v: &Values) -> Result<ReadsTwice> {
                v.get(&A)?;
                v.get(&B)?;
                v.get(&B)?;
                Ok(ReadsTwice)
            }
        }
        /// Reads b only when c is set.
        struct Conditional;
        impl AgentParams for Conditional {
            fn from_values(v: &Values) -> Result<Conditional> {
                v.get(&A)?;
                if v.opt(&C)?.is_some() {
                    v.get(&B)?;
                }
                Ok(Conditional)
            }
        }
        struct WithBadDefault;
        impl AgentParams for WithBadDefault {
            fn from_values(v: &Values) -> Result<WithBadDefault> {
                v.get(&A)?;
                v.get(&BAD_DEFAULT)?;
                v.opt(&C)?;
                Ok(WithBadDefault)
            }
        }

        /// What check_declarations says about `P`.
        fn complaint<P: AgentParams>(specs: &'static [&'static ParamSpec], samples: &[(&str, &str)]) -> String {
            let payload = std::panic::catch_unwind(|| {
                check_declarations::<P>(specs, samples);
            })
            .expect_err("check_declarations must find the slip");
            payload.downcast_ref::<String>().cloned().or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default()
        }

        #[test]
        fn a_faithful_from_values_passes_and_shows_its_values() {
            let Good(a, b, c) = check_declarations::<Good>(LIST, SAMPLES);
            assert_eq!((a, b, c.as_deref()), (PathBuf::from("/x"), 8, Some("see")));
        }

        #[test]
        fn every_slip_is_named() {
            let default_as_sample: &[(&str, &str)] = &[("a", "/x"), ("b", "7"), ("c", "see")];
            for (slip, message) in [
                (complaint::<Forgets>(LIST, SAMPLES), "must read each declared parameter exactly once"),
                (complaint::<ReadsTwice>(LIST, SAMPLES), "must read each declared parameter exactly once"),
                (complaint::<Conditional>(LIST, SAMPLES), "with only the required parameters set"),
                (complaint::<WithBadDefault>(WITH_BAD_DEFAULT, SAMPLES), "b must be 1-5, not 7"),
                (complaint::<Good>(TWICE, SAMPLES), "parameter c is declared twice"),
                (complaint::<Good>(LIST, &SAMPLES[..2]), "the samples must name each declared parameter once"),
                (complaint::<Good>(LIST, default_as_sample), "the sample of b is its default"),
            ] {
                assert!(slip.contains(message), "{slip:?} should say {message:?}");
            }
        }
    }
}
