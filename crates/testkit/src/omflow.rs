//! Test support for the OMFLOW agents (omflow-booster, omflow-server): the stand-in OMFLOW from
//! `tests/standin/omflow`, a fake `crm_attribute` that records its calls, and running an agent
//! like Pacemaker does with the per-boot state dir inside the sandbox.

use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::fakecrm::FakeCrm;
use crate::{free_port, processes_mentioning, repo_root, run_agent, AgentRun, Sandbox};

/// A stand-in OMFLOW (Booster, Booster Agent, Server) in a sandbox, with free ports.
pub struct Omflow {
    pub sandbox: Sandbox,
    pub root: PathBuf,
    pub booster_port: u16,
    pub http_port: u16,
}

impl Omflow {
    pub fn create(name: &str, switches: &[&str]) -> Omflow {
        let sandbox = Sandbox::new(name);
        let root = sandbox.path().join("omflow");
        let (booster_port, http_port) = (free_port(), free_port());
        let mut cmd = Command::new(repo_root().join("tests/standin/omflow/make-omflow"));
        cmd.arg(&root)
            .arg("--set")
            .arg(format!("BOOSTER_PORT={booster_port}"))
            .arg("--set")
            .arg(format!("SERVER_HTTP_PORT={http_port}"))
            .arg("--set")
            .arg("BOOSTER_BIND=127.0.0.1")
            .arg("--set")
            .arg("BOOSTER_NAME=booster-one");
        for s in switches {
            cmd.arg("--set").arg(s);
        }
        let out = cmd.output().expect("running make-omflow");
        assert!(out.status.success(), "make-omflow failed: {}", String::from_utf8_lossy(&out.stderr));
        let crm = sandbox.path().join("crm_attribute");
        fs::write(&crm, format!("#!/bin/sh\necho \"$*\" >> '{}'\nexit 0\n", sandbox.path().join("crm.log").display())).unwrap();
        fs::set_permissions(&crm, fs::Permissions::from_mode(0o755)).unwrap();
        Omflow { sandbox, root, booster_port, http_port }
    }

    pub fn path(&self, rel: &str) -> String {
        self.root.join(rel).display().to_string()
    }

    /// Appends a switch (read by each stand-in process at its start).
    pub fn set(&self, switch: &str) {
        let conf = self.root.join("standin.conf");
        let mut text = fs::read_to_string(&conf).unwrap();
        text.push_str(switch);
        text.push('\n');
        fs::write(conf, text).unwrap();
    }

    /// The Booster's own idea of its role (written by bin/booster-role).
    pub fn booster_role(&self) -> Option<String> {
        fs::read_to_string(self.root.join("Booster/run/role")).ok().map(|s| s.trim().to_string())
    }

    pub fn processes(&self, component: &str) -> Vec<i32> {
        processes_mentioning(&self.root.join(component))
    }

    pub fn all_processes(&self) -> Vec<i32> {
        processes_mentioning(self.sandbox.path())
    }

    /// What the fake crm_attribute was called with, one call a line.
    pub fn crm_calls(&self) -> String {
        fs::read_to_string(self.sandbox.path().join("crm.log")).unwrap_or_default()
    }

    pub fn clear_crm_calls(&self) {
        let _ = fs::remove_file(self.sandbox.path().join("crm.log"));
    }

    /// The fake `crm_resource` the agents' watchers report to.
    pub fn crm_resource(&self) -> FakeCrm {
        FakeCrm::in_dir(self.sandbox.path())
    }

    /// The environment every agent run gets besides its parameters: the per-boot state, the
    /// promotion scores and a watcher's reports stay in the sandbox.
    pub fn extra(&self) -> Vec<(String, String)> {
        let (hook, crm_resource) = self.crm_resource().hook();
        vec![
            ("MWHA_RUN_DIR".into(), self.sandbox.path().join("run").display().to_string()),
            ("MWHA_CRM_ATTRIBUTE".into(), self.sandbox.path().join("crm_attribute").display().to_string()),
            (hook.into(), crm_resource),
        ]
    }

    pub fn booster_params(&self) -> Vec<(String, String)> {
        vec![
            ("service_script".into(), self.path("Booster/omflow_booster_service")),
            ("install_dir".into(), self.path("Booster")),
            ("port".into(), self.booster_port.to_string()),
            ("promote_cmd".into(), format!("{} active", self.path("Booster/bin/booster-role"))),
            ("demote_cmd".into(), format!("{} standby", self.path("Booster/bin/booster-role"))),
        ]
    }

    pub fn server_params(&self) -> Vec<(String, String)> {
        vec![
            ("service_script".into(), self.path("BoosterAgent/omflow_booster_agent_service")),
            ("install_dir".into(), self.path("BoosterAgent")),
            ("server_match".into(), self.path("Server")),
            ("probe_url".into(), format!("http://127.0.0.1:{}/", self.http_port)),
        ]
    }

    /// GET path from the stand-in OMFLOW Server.
    pub fn server_get(&self, path: &str) -> Option<String> {
        http_get(self.http_port, path)
    }
}

pub fn http_get(port: u16, path: &str) -> Option<String> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(3))).ok()?;
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").as_bytes()).ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    Some(text.split_once("\r\n\r\n")?.1.to_string())
}

/// One agent run: `params` as OCF_RESKEY_*, `extra` as other variables.
pub fn run(agent: &Path, action: &str, o: &Omflow, params: &[(String, String)], extra: &[(&str, &str)]) -> AgentRun {
    let params: Vec<(&str, &str)> = params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let base = o.extra();
    let mut env: Vec<(&str, &str)> = base.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    env.extend_from_slice(extra);
    run_agent(agent, action, "booster", &params, &env)
}

pub const RECURRING: (&str, &str) = ("OCF_RESKEY_CRM_meta_interval", "10000");

pub fn expect(run: &AgentRun, code: i32, what: &str) {
    assert_eq!(run.code, code, "{what}: expected rc {code}\n--- stderr\n{}--- stdout\n{}", run.stderr, run.stdout);
}

pub fn alive(pid: i32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| !s.rsplit_once(')').is_some_and(|(_, r)| r.trim_start().starts_with('Z')))
}

/// A process that holds `port` (listening) and whose command line mentions only `tag`.
pub fn hold_port(port: u16, tag: &Path) -> Child {
    let code = "import socket,sys,time\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\ns.bind(('127.0.0.1',int(sys.argv[1])))\ns.listen()\nprint('ready',flush=True)\ntime.sleep(600)";
    let mut child = Command::new("python3").args(["-c", code]).arg(port.to_string()).arg(tag).stdout(Stdio::piped()).spawn().unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take().unwrap()), &mut line).unwrap();
    assert_eq!(line.trim(), "ready");
    child
}

/// A TCP listener standing in for the database (db_check).
pub fn fake_db() -> (std::net::TcpListener, String) {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("tcp://127.0.0.1:{}", l.local_addr().unwrap().port());
    (l, url)
}

pub fn with(params: &[(String, String)], more: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = params.iter().filter(|(k, _)| !more.iter().any(|(m, _)| m == k)).cloned().collect();
    out.extend(more.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    out
}
