//! The parameters of ocf:mwha:omflow-server (a public interface: admins' CIBs name them) and the
//! agent's meta-data.

use std::path::{Path, PathBuf};

use anyhow::Result;
use ocf::exit::OcfError;
use ocf::meta::{ActionSpec, AgentMeta};
use ocf::param::{AgentParams, Param, ParamSpec, Values};
use ocf::probe::Probe;
use ocf::service::{self, ServiceParams};

pub static META: AgentMeta = AgentMeta {
    name: "omflow-server",
    version: env!("CARGO_PKG_VERSION"),
    shortdesc: "OMFLOW Booster Agent and the OMFLOW Server it starts",
    longdesc: "Manages the OMFLOW Booster Agent of an application node, which starts the OMFLOW Server; run it as a \
clone on the application nodes, ordered after the Boosters and the database (the vendor's start order: Boosters \
and database first, then every Booster Agent). \
start runs 'service_script start' and returns once 'service_script status' succeeds and, if probe_url is set, the \
OMFLOW Server answers it. stop runs 'service_script stop', then sends SIGTERM and SIGKILL to every process \
started with this resource's launch ID (recorded under /run/mwha at start and inherited by the agent and the server \
it starts, even one that daemonized away from it) and their descendants, only those running as the product's user, \
and verifies that none is left, always within the stop timeout. A process that merely mentions install_dir or \
server_match is never signalled. monitor answers 0 when status succeeds, 7 when it fails and no agent or server \
process is left, 1 otherwise; OCF_CHECK_LEVEL=10 adds probe_url. Each server tries BOOSTER_IP, then \
SECOND_BOOSTER_IP (its setting.py), so a Booster switch-over needs no restart here. Every command runs without a shell under \
a deadline. Recommended: start 120s, stop 90s, monitor 30s every 15s, and 60s every 61s with OCF_CHECK_LEVEL=10.",
    params: PARAMS,
    actions: &[
        ActionSpec::new("start", 120),
        ActionSpec::new("stop", 90),
        ActionSpec::monitor(30, 15, 0),
        ActionSpec::new("validate-all", 20),
        ActionSpec::new("meta-data", 5),
    ],
    check_levels: &[0, 10],
};

static SERVICE_SCRIPT: Param<PathBuf> = Param::path(
    "service_script",
    "Booster Agent service script",
    "Absolute path of the Booster Agent's Linux service script, called with start, stop and status.",
)
.default("/opt/omflow/BoosterAgent/omflow_booster_agent_service");
static INSTALL_DIR: Param<PathBuf> = Param::product_dir(
    "install_dir",
    "Booster Agent install folder",
    "Absolute path of the Booster Agent install folder, which holds service_script. Scripts run from here. It may \
not be / or a system folder such as /opt or /usr.",
)
.default("/opt/omflow/BoosterAgent");
static PROBE_URL: Param<Probe> = Param::custom(
    "probe_url",
    "HTTP address of the OMFLOW Server",
    "http://host:port/path of the OMFLOW Server started by the agent (healthy on 2xx/3xx), or tcp://host:port. \
start returns only once it answers; monitor checks it at OCF_CHECK_LEVEL 10. Empty: no check (start returns when \
status succeeds).",
    |_, url| Probe::parse(url),
);
static SERVER_MATCH: Param<PathBuf> = Param::product_dir(
    "server_match",
    "How to recognise OMFLOW Server processes",
    "Absolute path of a folder that the command line of every OMFLOW Server process mentions (e.g. the OMFLOW Server \
install folder). Log lines and exit reasons then name the resource's processes that mention it as OMFLOW Server \
processes. It never decides which processes are stopped (the launch ID does). It must not be a parent of install_dir \
(it would match other OMFLOW components), / or a system folder. Empty: processes are named by PID only.",
);
static USER: Param<String> = Param::string(
    "user",
    "OS user for the script",
    "OS user that runs service_script (switched in-process with its groups and a clean environment); on stop, \
processes of other users are never signalled. Empty: root, as the init system would run the service script.",
);

/// The parameters in meta-data order.
static PARAMS: &[&ParamSpec] =
    &[SERVICE_SCRIPT.spec(), INSTALL_DIR.spec(), PROBE_URL.spec(), SERVER_MATCH.spec(), USER.spec(), service::STATUS_TEXT.spec()];

#[derive(Debug, Clone)]
pub struct Params {
    /// service_script, install_dir, user, status_text.
    pub service: ServiceParams,
    pub probe_url: Option<Probe>,
    pub server_match: Option<PathBuf>,
}

impl AgentParams for Params {
    fn from_values(v: &Values) -> Result<Params> {
        let service = ServiceParams::from_values(v, &SERVICE_SCRIPT, &INSTALL_DIR, &USER)?;
        let server_match = v.opt(&SERVER_MATCH)?;
        if let Some(m) = &server_match {
            if too_broad(m, &service.install_dir) {
                return Err(OcfError::configured(format!(
                    "server_match {} is a parent of install_dir {}: it would match other OMFLOW components",
                    m.display(),
                    service.install_dir.display()
                )));
            }
        }
        Ok(Params { service, probe_url: v.opt(&PROBE_URL)?, server_match })
    }
}

/// `/`, `/opt` or `/opt/omflow` for install_dir `/opt/omflow/BoosterAgent`.
fn too_broad(server_match: &Path, install_dir: &Path) -> bool {
    install_dir.starts_with(server_match) && server_match != install_dir
}

#[cfg(test)]
mod tests {
    use super::*;
    use ocf::env::Env;

    fn parse(vars: &[(&str, &str)]) -> Result<Params> {
        let env = Env::from_vars(vars.iter().map(|(k, v)| (format!("OCF_RESKEY_{k}"), v.to_string())), "omflow-server");
        Params::from_values(&Values::new(&env, PARAMS))
    }

    #[test]
    fn defaults_are_the_documented_install() {
        let p = parse(&[]).unwrap();
        assert_eq!(p.service.service_script, PathBuf::from("/opt/omflow/BoosterAgent/omflow_booster_agent_service"));
        assert_eq!(p.service.install_dir, PathBuf::from("/opt/omflow/BoosterAgent"));
        assert!(p.probe_url.is_none() && p.server_match.is_none());
        let p = parse(&[("server_match", "/opt/omflow/OMFLOW"), ("probe_url", "http://127.0.0.1:8000/")]).unwrap();
        assert_eq!(p.server_match, Some(PathBuf::from("/opt/omflow/OMFLOW")));
    }

    #[test]
    fn wrong_everywhere_is_6() {
        for vars in [
            &[("server_match", "/opt/omflow")][..],
            &[("server_match", "/")],
            &[("server_match", "omflow")],
            &[("probe_url", "127.0.0.1:8000")],
            &[("service_script", "omflow_booster_agent_service")],
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
                ("service_script", "/srv/agent/bin/agent_service"),
                ("install_dir", "/srv/agent"),
                ("probe_url", "http://127.0.0.1:8000/omflow"),
                ("server_match", "/srv/omflow-server"),
                ("user", "omflow"),
                ("status_text", "running"),
            ],
        );
        assert_eq!(p.service.service_script, PathBuf::from("/srv/agent/bin/agent_service"));
        assert_eq!(p.service.install_dir, PathBuf::from("/srv/agent"));
        assert_eq!(p.probe_url, Some(Probe::Http { host: "127.0.0.1".into(), port: 8000, path: "/omflow".into() }));
        assert_eq!(p.server_match, Some(PathBuf::from("/srv/omflow-server")));
        assert_eq!((p.service.user.as_deref(), p.service.status_text.as_deref()), (Some("omflow"), Some("running")));
    }
}
