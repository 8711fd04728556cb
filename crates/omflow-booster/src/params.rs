//! The parameters of ocf:mwha:omflow-booster (a public interface: admins' CIBs name them) and
//! the agent's meta-data.

use std::path::PathBuf;

use anyhow::Result;
use ocf::exit::OcfError;
use ocf::meta::{ActionSpec, AgentMeta};
use ocf::param::{AgentParams, Param, ParamSpec, Values};
use ocf::probe::Probe;
use ocf::service::{self, ServiceParams};

/// The shortest stop timeout that leaves the Booster's stop its time after the score's reserve
/// (promotable mode; declared for both, as the meta-data is one).
pub const STOP_MINIMUM: u32 = 15;

pub static META: AgentMeta = AgentMeta {
    name: "omflow-booster",
    version: env!("CARGO_PKG_VERSION"),
    shortdesc: "OMFLOW Booster (one per Booster server; optionally a promotable clone)",
    longdesc: "Manages the OMFLOW Booster of one node. The vendor's layout, and this agent's default, is two Booster \
servers that pair with each other (each installed with the other as its HA Booster IP) and decide themselves which \
one is Active; every OMFLOW Server tries BOOSTER_IP, then SECOND_BOOSTER_IP. Configure it that way as two plain \
primitives, one per Booster server, each pinned to its node by a location constraint (resource-discovery=exclusive: \
both servers have the same install, so a probe of one Booster's resource on the other server would find the other \
Booster running) and each with its own IP address beside it; Pacemaker starts, monitors and restarts them and \
chooses nothing. As a plain primitive the agent has start, stop and monitor only: monitor answers 0 (running), 7 \
(stopped) or 1 (failed), never 8; no promotion score is published or deleted; promote and demote answer 3. \
The promotable mode is only for sites that do not configure the Boosters' pairing: a promotable clone \
(promoted-max=1) whose Promoted instance is the Active Booster, with a virtual IP (every server's BOOSTER_IP) \
colocated with the Promoted role. The agent tells the modes apart by what Pacemaker passes: CRM_meta_promoted_max \
(or the legacy CRM_meta_master_max) above 0, or CRM_meta_promotable=true from crm_resource, means promotable. \
There an instance comes up Unpromoted (demote_cmd is run if set) and publishes a promotion score (crm_attribute \
--promotion, lifetime reboot: 5 unpromoted, 10 promoted); promote refuses (1) when the local Booster is unhealthy \
or db_check does not answer within half the promote timeout (at a cold start the database may still be starting), then runs promote_cmd if set; demote runs demote_cmd if set; both record the role \
under /run/mwha; monitor answers 8 (promoted and healthy), 0, 7 or 9/1 (failed; the score is withdrawn); probes \
re-publish the score like ocf:pacemaker:Stateful; stop deletes the score (3s of the stop timeout are kept for it). \
In both modes: start runs 'service_script start' and returns once 'service_script status' succeeds and the Booster \
accepts connections on check_host:port. OCF_CHECK_LEVEL=10 adds db_check. stop runs 'service_script stop', then \
sends SIGTERM and SIGKILL to the Booster's processes (the PID file's, every process started with this resource's \
launch ID, recorded under /run/mwha at start, and their descendants; only those running as the product's user) and \
verifies that none is left, always within the stop timeout. The vendor's guide has the OMFLOW Server open port 5169 \
too: a process that holds the port and is not identified as the Booster's is never signalled and never fails a \
stop; start refuses to run while one does, and start and recurring monitors name it (pid and program) in the exit \
reason (a probe answers 7). stop needs a timeout of at least 15s; validate-all warns (MWHA6004W) about a shorter \
one. Every command runs without a shell under a deadline (a hung 'status' counts as a failure). Score publishing \
is best effort: without a cluster it is logged and skipped. Recommended: start 90s, stop 90s, monitor 30s every \
15s (plain primitive); promotable clone: promote/demote 60s, monitor 30s every 10s (Promoted) and 11s \
(Unpromoted), notify=true on the clone.",
    params: PARAMS,
    actions: &[
        ActionSpec::new("start", 90),
        ActionSpec::new("stop", 90).minimum(STOP_MINIMUM),
        ActionSpec::monitor(30, 15, 0),
        ActionSpec::new("promote", 60),
        ActionSpec::new("demote", 60),
        ActionSpec::new("notify", 20),
        ActionSpec::monitor(30, 10, 0).role("Promoted"),
        ActionSpec::monitor(30, 11, 0).role("Unpromoted"),
        ActionSpec::new("validate-all", 20),
        ActionSpec::new("meta-data", 5),
    ],
    check_levels: &[0, 10],
};

static SERVICE_SCRIPT: Param<PathBuf> = Param::path(
    "service_script",
    "Booster service script",
    "Absolute path of the Booster's Linux service script, called with start, stop and status.",
)
.default("/opt/omflow/Booster/omflow_booster_service");
static INSTALL_DIR: Param<PathBuf> = Param::product_dir(
    "install_dir",
    "Booster install folder",
    "Absolute path of the Booster install folder, which holds service_script. Scripts run from here, and a PID file's \
process counts only if its command line mentions this folder. It may not be / or a system folder such as /opt.",
)
.default("/opt/omflow/Booster");
static PORT: Param<u16> = Param::integer(
    "port",
    "Booster port",
    "TCP port the Booster serves (BOOSTER_PORT of the OMFLOW Servers; 5169 in the vendor's guide, which has the OMFLOW \
Server open 5169 too). start and monitor check that check_host:port accepts connections; start refuses while a process \
that is not the Booster's holds the port, and names it; such a process is never signalled.",
)
.range(1, 65535)
.default("5169");
static CHECK_HOST: Param<String> = Param::custom(
    "check_host",
    "Address for the port check",
    "Address the health check connects to. Use the Booster's own address (the IP it was installed with) if it does not \
listen on loopback; whether it does is not stated by the vendor; check your install.",
    parse_check_host,
)
.default("127.0.0.1");
static DB_CHECK: Param<Probe> = Param::custom(
    "db_check",
    "Database check",
    "tcp://host:port (or http://host:port/path) of the OMFLOW database. Checked by monitor at OCF_CHECK_LEVEL 10 and, \
in the promotable mode, before promote (a Booster is never made Active without its database; promote waits for it \
up to half its timeout). Empty: no check.",
    |_, url| Probe::parse(url),
);
static PROMOTE_CMD: Param<Vec<String>> = Param::custom(
    "promote_cmd",
    "Site command that makes the Booster Active (promotable mode)",
    "A site's own command, run by promote in the promotable mode (and its exit status checked); the vendor documents no \
command that makes a Booster Active or Standby: in the vendor's layout the two Boosters pair and decide that \
themselves, and this agent runs as plain primitives, where promote_cmd is never run (a warning says so when it is \
set). Split on whitespace into program and arguments, no shell; the program must be an absolute path. Empty \
(default): none, and promote only checks the local Booster and db_check and records the role.",
    command,
);
static DEMOTE_CMD: Param<Vec<String>> = Param::custom(
    "demote_cmd",
    "Site command that makes the Booster Standby (promotable mode)",
    "Like promote_cmd: a site's own command (the vendor documents none), run in the promotable mode by demote and at the \
end of start (an instance always starts Unpromoted); never run by a plain primitive, the vendor's layout. Empty \
(default): none.",
    command,
);
static USER: Param<String> = Param::string(
    "user",
    "OS user for the scripts",
    "OS user that runs service_script, promote_cmd and demote_cmd (switched in-process with its groups and a clean \
environment); on stop, leftover processes of other users are left alone. Empty: root, as the init system would run \
the service script.",
);
static PIDFILE: Param<PathBuf> = Param::path(
    "pidfile",
    "PID file of the Booster",
    "Absolute path of a PID file the Booster writes, if it has one. When set, monitor also requires that it names a \
live process mentioning install_dir that started no later than the file was written, and stop signals that \
process first. Empty: not used.",
);
static WATCHER: Param<bool> = Param::boolean(
    "watcher",
    "Report a crash at once (needs pidfile)",
    "When true and pidfile is set, start leaves a watcher: this agent in a watch mode, one sleeping process per \
resource (about 2 MB RSS; no CPU while the Booster runs) that waits on the PID file's verified Booster process with \
a pidfd and, the moment it exits, reports the failure with 'crm_resource --fail', so Pacemaker starts recovery \
within about a second instead of at the next recurring monitor. It reports nothing while the resource is being \
stopped, promoted or demoted (those end it first; promote and demote arm it again), when the cluster does not \
manage the resource (maintenance mode, maintenance or is-managed=false), or when the PID file already names a new \
Booster process. It signals no process and holds no file open in install_dir; a monitor that finds the Booster \
healthy starts one if it is missing. Without pidfile there is no single process whose exit means the Booster \
failed: no watcher, and the recurring monitor finds failures. Recurring monitors stay the safety net and the \
source of truth. false: no watcher.",
)
.default("true");

/// The parameters in meta-data order.
static PARAMS: &[&ParamSpec] = &[
    SERVICE_SCRIPT.spec(),
    INSTALL_DIR.spec(),
    PORT.spec(),
    CHECK_HOST.spec(),
    DB_CHECK.spec(),
    PROMOTE_CMD.spec(),
    DEMOTE_CMD.spec(),
    USER.spec(),
    service::STATUS_TEXT.spec(),
    PIDFILE.spec(),
    WATCHER.spec(),
];

pub const SCORE_UNPROMOTED: i64 = 5;
pub const SCORE_PROMOTED: i64 = 10;

#[derive(Debug, Clone)]
pub struct Params {
    /// service_script, install_dir, user, status_text.
    pub service: ServiceParams,
    pub port: u16,
    pub check_host: String,
    pub db_check: Option<Probe>,
    pub promote_cmd: Option<Vec<String>>,
    pub demote_cmd: Option<Vec<String>>,
    pub pidfile: Option<PathBuf>,
    /// Leave a crash watcher on the PID file's process (watch.rs).
    pub watcher: bool,
}

impl AgentParams for Params {
    fn from_values(v: &Values) -> Result<Params> {
        let port = v.get(&PORT)?;
        let check_host = v.get(&CHECK_HOST)?;
        Ok(Params {
            service: ServiceParams::from_values(v, &SERVICE_SCRIPT, &INSTALL_DIR, &USER)?,
            port,
            check_host,
            db_check: v.opt(&DB_CHECK)?,
            promote_cmd: v.opt(&PROMOTE_CMD)?.filter(|words| !words.is_empty()),
            demote_cmd: v.opt(&DEMOTE_CMD)?.filter(|words| !words.is_empty()),
            pidfile: v.opt(&PIDFILE)?,
            watcher: v.get(&WATCHER)?,
        })
    }
}

impl Params {
    /// The port check: a TCP connection to check_host:port.
    pub fn port_probe(&self) -> Probe {
        let host = if self.check_host.contains(':') { format!("[{}]", self.check_host) } else { self.check_host.clone() };
        Probe::Tcp { host, port: self.port }
    }
}

fn parse_check_host(name: &str, raw: &str) -> Result<String> {
    if raw.contains(['/', ' ']) {
        return Err(OcfError::configured(format!("{name} {raw:?} is not a host name or address")));
    }
    Ok(raw.to_string())
}

/// A hook command: words, the first an absolute path (6 otherwise: wrong on every node).
fn command(name: &str, raw: &str) -> Result<Vec<String>> {
    let words: Vec<String> = raw.split_whitespace().map(str::to_string).collect();
    match words.first() {
        Some(program) if !program.starts_with('/') => {
            Err(OcfError::configured(format!("{name}: the program must be an absolute path, not {program:?}")))
        }
        _ => Ok(words),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ocf::env::Env;

    fn parse(vars: &[(&str, &str)]) -> Result<Params> {
        let env = Env::from_vars(vars.iter().map(|(k, v)| (format!("OCF_RESKEY_{k}"), v.to_string())), "omflow-booster");
        Params::from_values(&Values::new(&env, PARAMS))
    }

    #[test]
    fn defaults_are_the_documented_install() {
        let p = parse(&[]).unwrap();
        assert_eq!(p.service.service_script, PathBuf::from("/opt/omflow/Booster/omflow_booster_service"));
        assert_eq!(p.service.install_dir, PathBuf::from("/opt/omflow/Booster"));
        assert_eq!(p.port, 5169);
        assert_eq!(p.port_probe(), Probe::Tcp { host: "127.0.0.1".into(), port: 5169 });
        assert!(p.db_check.is_none() && p.service.user.is_none());
        // The vendor documents no role switch: none by default.
        assert!(p.promote_cmd.is_none() && p.demote_cmd.is_none());
        // The crash watcher is on, but acts only with a PID file, which the vendor does not document.
        assert!(p.watcher && p.pidfile.is_none());
        let xml = META.to_xml();
        for name in ["promote_cmd", "demote_cmd"] {
            let block = xml.split(&format!(r#"<parameter name="{name}""#)).nth(1).and_then(|b| b.split("</parameter>").next()).unwrap();
            assert!(block.contains(r#"<content type="string"/>"#), "{name} has a default: {block}");
        }
        let p = parse(&[("promote_cmd", " /opt/omflow/Booster/bin/role  active "), ("db_check", "tcp://db:5432")]).unwrap();
        assert_eq!(p.promote_cmd.unwrap(), ["/opt/omflow/Booster/bin/role", "active"]);
        assert_eq!(p.db_check, Some(Probe::Tcp { host: "db".into(), port: 5432 }));
    }

    #[test]
    fn wrong_everywhere_is_6() {
        for vars in [
            &[("port", "0")][..],
            &[("port", "70000")],
            &[("port", "x")],
            &[("install_dir", "opt/omflow")],
            &[("db_check", "db:5432")],
            &[("promote_cmd", "booster-role active")],
            &[("check_host", "a b")],
            &[("pidfile", "booster.pid")],
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
                ("service_script", "/srv/booster/bin/booster_service"),
                ("install_dir", "/srv/booster"),
                ("port", "6001"),
                ("check_host", "::1"),
                ("db_check", "tcp://db:5432"),
                ("promote_cmd", "/srv/booster/bin/role active"),
                ("demote_cmd", "/srv/booster/bin/role standby"),
                ("user", "omflow"),
                ("status_text", "running"),
                ("pidfile", "/run/booster.pid"),
                ("watcher", "no"),
            ],
        );
        assert_eq!(p.service.service_script, PathBuf::from("/srv/booster/bin/booster_service"));
        assert_eq!(p.service.install_dir, PathBuf::from("/srv/booster"));
        assert_eq!(p.port_probe(), Probe::Tcp { host: "[::1]".into(), port: 6001 });
        assert_eq!(p.db_check, Some(Probe::Tcp { host: "db".into(), port: 5432 }));
        assert_eq!(p.promote_cmd.unwrap(), ["/srv/booster/bin/role", "active"]);
        assert_eq!(p.demote_cmd.unwrap(), ["/srv/booster/bin/role", "standby"]);
        assert_eq!((p.service.user.as_deref(), p.service.status_text.as_deref()), (Some("omflow"), Some("running")));
        assert_eq!(p.pidfile, Some(PathBuf::from("/run/booster.pid")));
        assert!(!p.watcher);
    }

    #[test]
    fn each_role_has_its_own_monitor() {
        let xml = META.to_xml();
        // The plain primitive's: a role-specific monitor never runs on a primitive (Pacemaker runs
        // a recurring op only when its role is the resource's next role).
        assert!(xml.contains(r#"<action name="monitor" timeout="30s" interval="15s" depth="0"/>"#), "{xml}");
        assert!(xml.contains(r#"<action name="monitor" timeout="30s" interval="10s" depth="0" role="Promoted"/>"#), "{xml}");
        assert!(xml.contains(r#"<action name="monitor" timeout="30s" interval="11s" depth="0" role="Unpromoted"/>"#), "{xml}");
    }
}
