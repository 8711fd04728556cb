//! omflow-booster tried as a clumsy admin and a hostile node would: system folders as install_dir,
//! a service script outside the install folder, bystanders that mention the install folder, a
//! short stop timeout. Kill tests run in a PID namespace of their own.

use std::path::Path;
use std::time::Duration;

use testkit::omflow::{alive, expect, run, with, Omflow};
use testkit::{in_private_pid_namespace, run_agent, Bystander};

const AGENT: &str = env!("CARGO_BIN_EXE_omflow-booster");

fn agent() -> &'static Path {
    Path::new(AGENT)
}

#[test]
fn system_folders_and_scripts_outside_the_install_folder_are_refused() {
    if !in_private_pid_namespace("system_folders_and_scripts_outside_the_install_folder_are_refused") {
        return;
    }
    let root_sleep = Bystander::start("root sleep under /usr", None, None, &["/usr/bin/sleep", "600"]);
    let nobody_sleep = Bystander::start("nobody sleep under /usr", Some("nobody"), None, &["/usr/bin/sleep", "600"]);
    for dir in ["/usr", "/", "/opt", "/usr/bin/..", "/home"] {
        let script = format!("{}/omflow_booster_service", dir.trim_end_matches('/'));
        let params = [("install_dir", dir), ("service_script", script.as_str())];
        for action in ["validate-all", "start", "monitor"] {
            let r = run_agent(agent(), action, "booster", &params, &[]);
            assert_eq!(r.code, 6, "{action} with install_dir={dir}: {}", r.stderr);
            assert!(r.exit_reason().is_some_and(|e| e.contains("system folder")), "{:?}", r.exit_reason());
        }
        let r = run_agent(agent(), "stop", "booster", &params, &[]);
        assert_eq!(r.code, 0, "stop with install_dir={dir}: {}", r.stderr);
        root_sleep.assert_alive(&format!("stop with install_dir={dir}"));
        nobody_sleep.assert_alive(&format!("stop with install_dir={dir}"));
    }
    let o = Omflow::create("outside", &[]);
    let params = with(&o.booster_params(), &[("service_script", "/etc/init.d/omflow_booster_service")]);
    let r = run(agent(), "validate-all", &o, &params, &[]);
    expect(&r, 6, "a service script outside install_dir");
    assert!(r.exit_reason().is_some_and(|e| e.contains("not inside install_dir")), "{:?}", r.exit_reason());
}

#[test]
fn bystanders_that_mention_the_install_folder_survive_stop() {
    if !in_private_pid_namespace("bystanders_that_mention_the_install_folder_survive_stop") {
        return;
    }
    // Without `user` the Booster runs as root, like the admin's processes below: only the
    // launch ID tells them apart.
    let o = Omflow::create("bystanders", &["BOOSTER_WORKER=1"]);
    let log = o.path("Booster/log/console.log");
    let renamed = o.path("Booster/lib/booster.py");
    let tail = Bystander::start("admin's setsid tail -f", None, None, &["/usr/bin/tail", "-F", &log]);
    let exec_a = Bystander::start("exec -a <install_dir>/lib/booster.py", None, Some(&renamed), &["/usr/bin/sleep", "600"]);
    let nobody = Bystander::start("nobody's tail -f", Some("nobody"), None, &["/usr/bin/tail", "-F", &log]);
    let all = [&tail, &exec_a, &nobody];
    expect(&run(agent(), "monitor", &o, &o.booster_params(), &[]), 7, "probe with bystanders only");

    expect(&run(agent(), "start", &o, &o.booster_params(), &[]), 0, "start");
    let booster: Vec<i32> = o.all_processes().into_iter().filter(|p| !all.iter().any(|b| b.pid == *p)).collect();
    assert!(booster.len() >= 2, "Booster + worker: {booster:?}");
    expect(&run(agent(), "stop", &o, &o.booster_params(), &[]), 0, "stop");
    for pid in &booster {
        assert!(!alive(*pid), "Booster process {pid} survived stop");
    }
    all.iter().for_each(|b| b.assert_alive("the Booster's stop"));
    expect(&run(agent(), "monitor", &o, &o.booster_params(), &[]), 7, "probe after stop");
}

#[test]
fn a_short_stop_timeout_still_leaves_the_stop_its_budget() {
    // 4 s: the score withdrawal of a promotable clone's instance must not take the time the
    // Booster's own stop needs (a stop that worked but reports failure gets the node fenced).
    let promotable = ("OCF_RESKEY_CRM_meta_promoted_max", "1");
    let o = Omflow::create("short-stop", &[]);
    expect(&run(agent(), "start", &o, &o.booster_params(), &[promotable]), 0, "start");
    let before = o.all_processes();
    let r = run(agent(), "stop", &o, &o.booster_params(), &[promotable, ("OCF_RESKEY_CRM_meta_timeout", "4000")]);
    expect(&r, 0, "stop with a 4 s timeout");
    // The vendor's stop script still gets its turn: the Booster is not simply SIGKILLed.
    assert!(r.stderr.contains("stopped after Graceful"), "{}", r.stderr);
    assert!(r.stderr.contains("MWHA6004W") && r.stderr.contains("below the 15 s"), "the short timeout is warned about: {}", r.stderr);
    assert!(r.elapsed < Duration::from_secs(4), "{:?}", r.elapsed);
    for pid in before {
        assert!(!alive(pid), "pid {pid} survived");
    }
    assert!(o.crm_calls().lines().last().is_some_and(|l| l.ends_with("--delete")), "the score is still withdrawn: {}", o.crm_calls());
}
