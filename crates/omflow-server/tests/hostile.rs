//! omflow-server tried as a clumsy admin and a hostile node would: system folders as install_dir
//! or server_match, and bystanders whose command lines mention server_match. Kill tests run in a
//! PID namespace of their own.

use std::path::Path;
use std::process::Command;

use testkit::omflow::{alive, expect, run, with, Omflow};
use testkit::{in_private_pid_namespace, Bystander};

const AGENT: &str = env!("CARGO_BIN_EXE_omflow-server");

fn agent() -> &'static Path {
    Path::new(AGENT)
}

#[test]
fn system_folders_are_refused_as_install_dir_and_server_match() {
    let o = Omflow::create("system", &[]);
    for dir in ["/usr", "/", "/opt", "/var/", "/tmp/.."] {
        let r = run(agent(), "validate-all", &o, &with(&o.server_params(), &[("server_match", dir)]), &[]);
        expect(&r, 6, &format!("server_match={dir}"));
        let script = format!("{}/omflow_booster_agent_service", dir.trim_end_matches('/'));
        let params = with(&o.server_params(), &[("install_dir", dir), ("service_script", &script)]);
        for action in ["validate-all", "start", "monitor"] {
            let r = run(agent(), action, &o, &params, &[]);
            expect(&r, 6, &format!("{action} with install_dir={dir}"));
            assert!(r.exit_reason().is_some_and(|e| e.contains("system folder")), "{:?}", r.exit_reason());
        }
    }
}

#[test]
fn bystanders_that_mention_server_match_survive_stop() {
    if !in_private_pid_namespace("bystanders_that_mention_server_match_survive_stop") {
        return;
    }
    let o = Omflow::create("bystanders", &["AGENT_STOPS_SERVER=0", "SERVER_DETACH=1"]);
    let out = Command::new(o.root.join("Booster/omflow_booster_service")).arg("start").output().unwrap();
    assert!(out.status.success());
    let server_lib = o.path("Server/lib/omflow_server.py");
    let renamed = Bystander::start("exec -a <server_match>/lib/omflow_server.py", None, Some(&server_lib), &["/usr/bin/sleep", "600"]);
    let nobody =
        Bystander::start("nobody's sleep renamed into server_match", Some("nobody"), Some(&server_lib), &["/usr/bin/sleep", "600"]);
    expect(&run(agent(), "monitor", &o, &o.server_params(), &[]), 7, "probe with bystanders only");
    expect(&run(agent(), "start", &o, &o.server_params(), &[]), 0, "start");
    let servers: Vec<i32> = o.processes("Server").into_iter().filter(|p| *p != renamed.pid && *p != nobody.pid).collect();
    assert_eq!(servers.len(), 1, "{servers:?}");
    expect(&run(agent(), "stop", &o, &o.server_params(), &[]), 0, "stop");
    assert!(!alive(servers[0]), "the detached OMFLOW Server survived stop");
    renamed.assert_alive("stop");
    nobody.assert_alive("stop");
    expect(&run(agent(), "monitor", &o, &o.server_params(), &[]), 7, "probe after stop");
    let _ = Command::new(o.root.join("Booster/omflow_booster_service")).arg("stop").output();
}
