//! The parameters of ocf:mwha:flowsvc (a public interface: admins' CIBs name them) and the
//! agent's meta-data.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use ocf::exit::OcfError;
use ocf::meta::{ActionSpec, AgentMeta};
use ocf::param::{AgentParams, Param, ParamSpec, Values};
use ocf::probe::Probe;

pub static META: AgentMeta = AgentMeta {
    name: "flowsvc",
    version: env!("CARGO_PKG_VERSION"),
    shortdesc: "ASTERIA Warp flow service",
    longdesc: "Manages the flow service of ASTERIA Warp (1610 and later) on Linux. \
start runs [INSTALL_DIR]/boot/bin/flowsvc as the configured OS user (never through a shell or su) \
and returns once the PID file names a live flow-service process and, if probe_url is set, the \
service answers. stop runs boot/bin/fsstop, then sends SIGTERM and SIGKILL to the main process, \
all its descendants (the java children) and every process started with this resource's launch ID \
(recorded under /run/mwha at start, so children that left with setsid are found too), all running \
as the product's user; a process that merely mentions install_dir is never signalled. It verifies \
that nothing is left and removes a stale PID file, always within the stop timeout. monitor \
watches the main process named by the PID file: a PID counts only if that process runs as the \
product's user, mentions install_dir and started no later than the PID file was written, so a \
stale or reused PID never reads as running. install_dir and data_dir may not be / or a system \
folder such as /usr or /opt. A dead child process is restarted by the \
main process and is not a failure. OCF_CHECK_LEVEL=10 adds 'fsctrl status' per service (a service reported \
down while the main process runs is asked again for up to child_restart_grace), OCF_CHECK_LEVEL=20 adds probe_url. A probe on a node where install_dir or data_dir is absent \
(shared folder not mounted there) reports 'not running'. A watcher (watcher=true, the default) reports a crash of the \
main process to Pacemaker at once instead of at the next monitor. Recommended timeouts: start 180s (Java \
start-up is slow), stop 120s, monitor 30s every 15s.",
    params: PARAMS,
    actions: &[
        ActionSpec::new("start", 180),
        ActionSpec::new("stop", 120),
        ActionSpec::monitor(30, 15, 0),
        ActionSpec::new("validate-all", 20),
        ActionSpec::new("meta-data", 5),
    ],
    check_levels: &[0, 10, 20],
};

static INSTALL_DIR: Param<PathBuf> = Param::product_dir(
    "install_dir",
    "[INSTALL_DIR] of ASTERIA Warp",
    "Absolute path of the ASTERIA Warp install folder ([INSTALL_DIR]), holding boot/bin/flowsvc and boot/bin/fsstop. \
Processes whose command line or executable mentions this folder are the product's.",
)
.required()
.unique();
static DATA_DIR: Param<PathBuf> =
    Param::product_dir("data_dir", "[DATA_DIR] of ASTERIA Warp", "Absolute path of the data folder ([DATA_DIR]).").derived("install_dir");
static USER: Param<String> = Param::string(
    "user",
    "OS user that runs the flow service",
    "OS user that runs flowsvc, fsstop and fsctrl. The agent switches to it in-process (setgid, initgroups, setuid) \
with a clean environment (HOME, USER, LOGNAME, SHELL, PATH, plus 'environment').",
)
.derived("the owner of install_dir");
static PIDFILE: Param<PathBuf> = Param::path(
    "pidfile",
    "PID file of the main process",
    "Absolute path of the file where the flow service writes its main PID. Old 4.x versions used [INSTALL_DIR]/flow/log/flowsvc.pid.",
)
.derived("data_dir/log/flowsvc.pid");
static FSCTRL: Param<PathBuf> =
    Param::path("fsctrl", "Path of fsctrl", "Absolute path of the fsctrl tool used by monitor at OCF_CHECK_LEVEL 10.")
        .derived("install_dir/server/bin/fsctrl");
static SERVICES: Param<Vec<String>> = Param::words(
    "services",
    "Services checked by fsctrl",
    "Space-separated service names checked with 'fsctrl status NAME' at OCF_CHECK_LEVEL 10 (e.g. 'FlowService Schedule'). \
Empty: one 'fsctrl status' for the whole flow service.",
);
static CHILD_RESTART_GRACE: Param<Duration> = Param::duration(
    "child_restart_grace",
    "How long fsctrl may report a restarting service down",
    "The main process restarts a child service that dies, and meanwhile 'fsctrl status' reports it down. When 'fsctrl \
status' (OCF_CHECK_LEVEL 10) answers anything but running while the main process runs, monitor asks again every 0.5 s \
for up to this long (one window for all services, cut to the monitor's timeout) and reports the failure only if the \
answer is still not running then; a main process that is gone fails at once. How long a restart takes is not stated \
by the vendor; check your install (the time from a child's death to 'fsctrl status NAME' answering running again) and \
allow for a slow JVM start. Pacemaker's time syntax (10s, 500ms); 0: report at once.",
)
.default("10s");
static PROBE_URL: Param<Probe> = Param::custom(
    "probe_url",
    "Health probe of the flow service",
    "http://host:port/path (healthy when it answers 2xx or 3xx) or tcp://host:port (healthy when it accepts a connection). \
Checked before start returns and by monitor at OCF_CHECK_LEVEL 20. Empty: no probe. Example: http://127.0.0.1:28080/",
    |_, url| Probe::parse(url),
);
static CONSOLE_LOG: Param<PathBuf> = Param::path(
    "console_log",
    "Console output of the flow service",
    "Absolute path of the file that receives flowsvc's standard output and error (appended).",
)
.derived("data_dir/log/flowsvc-console.log");
static THREAD_DUMP: Param<bool> = Param::boolean(
    "thread_dump",
    "Thread dump before SIGKILL",
    "When true, a stop that has to use SIGKILL first sends SIGQUIT to the service's processes and waits up to 3 s \
(within the stop timeout), so each JVM writes its thread dump to its standard output (console_log, unless the product \
redirects it to a log of its own): evidence of why the service hung.",
)
.default("false");
static WATCHER: Param<bool> = Param::boolean(
    "watcher",
    "Report a crash at once",
    "When true, start leaves a watcher: this agent in a watch mode, one sleeping process per resource (about 2 MB RSS, \
1 MB of it its own; no CPU while the service runs) that waits on the main process with a pidfd and, the moment it \
exits, reports the failure with 'crm_resource --fail', so Pacemaker starts recovery within about a second instead of \
at the next recurring monitor, up to a monitor interval later. It reports nothing while the resource is being \
stopped (stop ends it before it touches the service), when the cluster does not manage the resource (maintenance \
mode, maintenance or is-managed=false), or when the PID file already names a new main process. It signals no \
process, holds no file open on install_dir or data_dir, and is recorded under /run/mwha, so a start or monitor never \
starts a second one; a monitor that finds the service running starts one if it is missing. Recurring monitors stay \
the safety net and the source of truth: a watcher that dies costs only the speed. true (the default): measured on \
a lab cluster, a killed flow service answered again about 1 s after its own start time instead of up to a monitor \
interval later. false: no watcher.",
)
.default("true");
static ENVIRONMENT: Param<Vec<(OsString, OsString)>> = Param::custom(
    "environment",
    "Extra environment of the product",
    "Space-separated NAME=VALUE pairs added to the product's environment, e.g. 'JAVA_HOME=/usr/lib/jvm/java-17 LANG=ja_JP.UTF-8'. \
Values are passed literally (no shell expansion) and cannot contain spaces.",
    parse_environment,
);

/// The parameters in meta-data order.
static PARAMS: &[&ParamSpec] = &[
    INSTALL_DIR.spec(),
    DATA_DIR.spec(),
    USER.spec(),
    PIDFILE.spec(),
    FSCTRL.spec(),
    SERVICES.spec(),
    CHILD_RESTART_GRACE.spec(),
    PROBE_URL.spec(),
    CONSOLE_LOG.spec(),
    THREAD_DUMP.spec(),
    WATCHER.spec(),
    ENVIRONMENT.spec(),
];

/// The parsed parameters, with derived defaults applied.
#[derive(Debug, Clone)]
pub struct Params {
    pub install_dir: PathBuf,
    pub data_dir: PathBuf,
    /// `None`: the owner of install_dir, resolved on the node.
    pub user: Option<String>,
    pub pidfile: PathBuf,
    pub fsctrl: PathBuf,
    pub services: Vec<String>,
    /// How long a "not running" from fsctrl is asked again while the main process runs.
    pub child_restart_grace: Duration,
    pub probe_url: Option<Probe>,
    pub console_log: PathBuf,
    pub environment: Vec<(OsString, OsString)>,
    pub thread_dump: bool,
    /// Leave a crash watcher after start (ocf::watch).
    pub watcher: bool,
}

impl AgentParams for Params {
    fn from_values(v: &Values) -> Result<Params> {
        let install_dir = v.get(&INSTALL_DIR)?;
        let data_dir = v.opt(&DATA_DIR)?.unwrap_or_else(|| install_dir.clone());
        Ok(Params {
            pidfile: v.opt(&PIDFILE)?.unwrap_or_else(|| data_dir.join("log/flowsvc.pid")),
            fsctrl: v.opt(&FSCTRL)?.unwrap_or_else(|| install_dir.join("server/bin/fsctrl")),
            console_log: v.opt(&CONSOLE_LOG)?.unwrap_or_else(|| data_dir.join("log/flowsvc-console.log")),
            user: v.opt(&USER)?,
            services: v.opt(&SERVICES)?.unwrap_or_default(),
            child_restart_grace: v.get(&CHILD_RESTART_GRACE)?,
            probe_url: v.opt(&PROBE_URL)?,
            environment: v.opt(&ENVIRONMENT)?.unwrap_or_default(),
            thread_dump: v.get(&THREAD_DUMP)?,
            watcher: v.get(&WATCHER)?,
            install_dir,
            data_dir,
        })
    }
}

fn parse_environment(_name: &str, raw: &str) -> Result<Vec<(OsString, OsString)>> {
    raw.split_whitespace()
        .map(|pair| {
            let (name, value) =
                pair.split_once('=').ok_or_else(|| OcfError::configured(format!("environment entry {pair:?} is not NAME=VALUE")))?;
            let valid = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid {
                return Err(OcfError::configured(format!("environment name {name:?} is not a valid variable name")));
            }
            if name == ocf::scope::LAUNCH_ID_VAR {
                return Err(OcfError::configured(format!("environment may not set {name}: the agent sets it")));
            }
            Ok((name.into(), value.into()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ocf::env::Env;

    fn parse(vars: &[(&str, &str)]) -> Result<Params> {
        let env = Env::from_vars(vars.iter().map(|(k, v)| (format!("OCF_RESKEY_{k}"), v.to_string())), "flowsvc");
        Params::from_values(&Values::new(&env, PARAMS))
    }

    #[test]
    fn derived_defaults_follow_install_and_data_dir() {
        let p = parse(&[("install_dir", "/opt/warp")]).unwrap();
        assert_eq!(p.data_dir, PathBuf::from("/opt/warp"));
        assert_eq!(p.pidfile, PathBuf::from("/opt/warp/log/flowsvc.pid"));
        assert_eq!(p.fsctrl, PathBuf::from("/opt/warp/server/bin/fsctrl"));
        let p = parse(&[("install_dir", "/opt/warp"), ("data_dir", "/srv/data")]).unwrap();
        assert_eq!(p.pidfile, PathBuf::from("/srv/data/log/flowsvc.pid"));
        assert_eq!(p.console_log, PathBuf::from("/srv/data/log/flowsvc-console.log"));
        assert!(p.watcher, "the crash watcher is on by default");
    }

    #[test]
    fn wrong_everywhere_is_6() {
        for vars in [
            &[][..],
            &[("install_dir", "opt/warp")],
            &[("install_dir", "/opt/warp"), ("pidfile", "x.pid")],
            &[("install_dir", "/opt/warp"), ("probe_url", "ftp://x")],
            &[("install_dir", "/opt/warp"), ("environment", "1BAD=x")],
            &[("install_dir", "/opt/warp"), ("environment", "MWHA_LAUNCH_ID=0123")],
            &[("install_dir", "/usr")],
            &[("install_dir", "/")],
            &[("install_dir", "/opt/warp"), ("data_dir", "/var")],
            &[("install_dir", "/opt/warp"), ("environment", "NOEQUALS")],
            &[("install_dir", "/opt/warp"), ("child_restart_grace", "a while")],
        ] {
            let err = parse(vars).unwrap_err();
            assert_eq!(ocf::exit::fault_of(&err).code(), 6, "{vars:?}");
        }
    }

    #[test]
    fn every_declared_parameter_is_read_once_and_lands_in_its_field() {
        let p: Params = ocf::param::check_declarations(
            PARAMS,
            &[
                ("install_dir", "/opt/warp"),
                ("data_dir", "/srv/warp-data"),
                ("user", "warp"),
                ("pidfile", "/run/warp/main.pid"),
                ("fsctrl", "/opt/warp-tools/fsctrl"),
                ("services", "FlowService Schedule"),
                ("child_restart_grace", "3s"),
                ("probe_url", "tcp://127.0.0.1:28080"),
                ("console_log", "/var/log/warp/console.log"),
                ("thread_dump", "yes"),
                ("watcher", "no"),
                ("environment", "JAVA_HOME=/usr/lib/jvm/java-17 LANG=C"),
            ],
        );
        assert_eq!((p.install_dir, p.data_dir), (PathBuf::from("/opt/warp"), PathBuf::from("/srv/warp-data")));
        assert_eq!(p.user.as_deref(), Some("warp"));
        assert_eq!((p.pidfile, p.fsctrl), (PathBuf::from("/run/warp/main.pid"), PathBuf::from("/opt/warp-tools/fsctrl")));
        assert_eq!(p.services, ["FlowService", "Schedule"]);
        assert_eq!(p.child_restart_grace, Duration::from_secs(3));
        assert_eq!(p.probe_url, Some(Probe::Tcp { host: "127.0.0.1".into(), port: 28080 }));
        assert_eq!(p.console_log, PathBuf::from("/var/log/warp/console.log"));
        assert!(p.thread_dump);
        assert!(!p.watcher);
        assert_eq!(p.environment, [("JAVA_HOME".into(), "/usr/lib/jvm/java-17".into()), ("LANG".into(), "C".into())]);
    }
}
