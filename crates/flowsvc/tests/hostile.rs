//! The flowsvc agent tried as a hostile or clumsy admin and a hostile node would: system folders
//! as install_dir, bystander processes that mention the install folder, PID files that are links,
//! devices or someone's config, bad environment values. Kill tests run in a PID namespace of
//! their own (`testkit::in_private_pid_namespace`), so a regression can only hit processes there.

use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use testkit::{alive, in_private_pid_namespace, run_agent, AgentRun, Bystander, Sandbox, Warp};

mod fakecrm;
use fakecrm::FakeCrm;

const AGENT: &str = env!("CARGO_BIN_EXE_flowsvc");

/// Runs the agent with its per-boot state in the sandbox beside install_dir.
fn run(action: &str, install: &Path, extra_params: &[(&str, &str)], env: &[(&str, &str)]) -> AgentRun {
    let install_s = install.display().to_string();
    let run_dir = install.with_file_name("run").display().to_string();
    let mut params = vec![("install_dir", install_s.as_str())];
    params.extend_from_slice(extra_params);
    let (hook, crm) = FakeCrm::in_dir(install.parent().unwrap()).hook();
    let mut env = env.to_vec();
    env.push(("MWHA_RUN_DIR", &run_dir));
    env.push((hook, &crm));
    run_agent(Path::new(AGENT), action, "warp", &params, &env)
}

fn expect(r: &AgentRun, code: i32, what: &str) {
    assert_eq!(r.code, code, "{what}: expected rc {code}\n--- stderr\n{}", r.stderr);
}

const RECURRING: (&str, &str) = ("OCF_RESKEY_CRM_meta_interval", "10000");

#[test]
fn system_folders_are_refused_as_install_dir_and_stop_touches_nothing() {
    if !in_private_pid_namespace("system_folders_are_refused_as_install_dir_and_stop_touches_nothing") {
        return;
    }
    // Processes of root and of nobody whose command lines lie under /usr, reparented to init:
    // what sshd and corosync look like to an agent that matches on command lines.
    let root_sleep = Bystander::start("root sleep under /usr", None, None, &["/usr/bin/sleep", "600"]);
    let nobody_sleep = Bystander::start("nobody sleep under /usr", Some("nobody"), None, &["/usr/bin/sleep", "600"]);
    for dir in ["/usr", "/", "/opt", "/tmp", "/var/lib", "/usr/local/", "/opt/warp/../.."] {
        for action in ["validate-all", "start", "monitor"] {
            let r = run_agent(Path::new(AGENT), action, "warp", &[("install_dir", dir)], &[]);
            expect(&r, 6, &format!("{action} with install_dir={dir}"));
            assert!(r.exit_reason().is_some_and(|e| e.contains("system folder")), "{dir}: {:?}", r.exit_reason());
        }
        let r = run_agent(Path::new(AGENT), "validate-all", "warp", &[("install_dir", "/srv/warp"), ("data_dir", dir)], &[]);
        expect(&r, 6, &format!("data_dir={dir}"));
        // Nothing can have been started with these parameters: stop succeeds and signals nobody.
        expect(&run_agent(Path::new(AGENT), "stop", "warp", &[("install_dir", dir)], &[]), 0, &format!("stop with install_dir={dir}"));
        root_sleep.assert_alive(&format!("stop with install_dir={dir}"));
        nobody_sleep.assert_alive(&format!("stop with install_dir={dir}"));
    }
}

#[test]
fn an_install_folder_without_the_product_is_not_installed_and_a_probe_there_is_7() {
    let sandbox = Sandbox::new("empty-install");
    let install = sandbox.path().join("warp");
    fs::create_dir_all(install.join("log")).unwrap();
    let r = run("validate-all", &install, &[], &[]);
    expect(&r, 5, "validate-all of a folder without boot/bin/flowsvc");
    assert!(r.exit_reason().is_some_and(|e| e.contains("boot/bin/flowsvc")), "{:?}", r.exit_reason());
    expect(&run("start", &install, &[], &[]), 5, "start");
    expect(&run("monitor", &install, &[], &[]), 7, "probe");
    let absent = sandbox.path().join("not-mounted");
    expect(&run("monitor", &absent, &[], &[]), 7, "probe where the folder is absent (passive node)");
}

#[test]
fn bystanders_that_mention_the_install_folder_are_never_signalled() {
    if !in_private_pid_namespace("bystanders_that_mention_the_install_folder_are_never_signalled") {
        return;
    }
    // The product runs as root (owner of the folder): only the launch ID tells its processes
    // from an admin's.
    let sandbox = Sandbox::new("bystanders");
    let warp = Warp::create(&sandbox, "warp", None, &[]);
    let install = warp.install_dir.clone();
    let notes = install.join("notes.txt");
    fs::write(&notes, "admin notes\n").unwrap();
    let notes = notes.display().to_string();
    let renamed = install.join("boot/bin/flowsvc").display().to_string();
    let tail = Bystander::start("admin's setsid tail -f", None, None, &["/usr/bin/tail", "-f", &notes]);
    let exec_a = Bystander::start("exec -a <install_dir>/boot/bin/flowsvc", None, Some(&renamed), &["/usr/bin/sleep", "600"]);
    let nobody = Bystander::start("nobody's tail -f", Some("nobody"), None, &["/usr/bin/tail", "-f", &notes]);
    let all = [&tail, &exec_a, &nobody];

    // A leftover admin process does not make a probe of a stopped service "failed".
    expect(&run("monitor", &install, &[], &[]), 7, "probe with bystanders only");
    expect(&run("stop", &install, &[], &[]), 0, "stop with bystanders only");
    all.iter().for_each(|b| b.assert_alive("stop of a stopped service"));

    let url = warp.probe_url();
    expect(&run("start", &install, &[("probe_url", &url)], &[]), 0, "start");
    let product = warp.processes().into_iter().filter(|p| !all.iter().any(|b| b.pid == *p)).collect::<Vec<_>>();
    assert!(product.len() >= 4, "main + 3 children: {product:?}");
    expect(&run("stop", &install, &[], &[]), 0, "stop");
    all.iter().for_each(|b| b.assert_alive("stop"));
    for pid in &product {
        assert!(!alive(*pid), "product process {pid} survived stop");
    }

    // The main process dies; its children (one of them left the session with setsid) live on.
    expect(&run("start", &install, &[], &[]), 0, "start again");
    let product = warp.processes().into_iter().filter(|p| !all.iter().any(|b| b.pid == *p)).collect::<Vec<_>>();
    let main = warp.main_pid().unwrap();
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(main), nix::sys::signal::Signal::SIGKILL).unwrap();
    assert!(testkit::wait_until(Duration::from_secs(5), || !alive(main)));
    let r = run("monitor", &install, &[], &[]);
    expect(&r, 1, "probe with the product's orphaned children");
    for b in all {
        assert!(
            !r.exit_reason().unwrap_or_default().contains(&b.pid.to_string()),
            "{} counted as a leftover: {:?}",
            b.what,
            r.exit_reason()
        );
    }
    expect(&run("stop", &install, &[], &[]), 0, "stop of the orphans");
    for pid in &product {
        assert!(!alive(*pid), "orphaned product process {pid} (setsid child included) survived stop");
    }
    all.iter().for_each(|b| b.assert_alive("stop of the orphans"));
    expect(&run("monitor", &install, &[], &[]), 7, "probe after stop");
}

#[test]
fn a_pid_file_naming_another_users_process_is_not_the_product() {
    if !in_private_pid_namespace("a_pid_file_naming_another_users_process_is_not_the_product") {
        return;
    }
    let sandbox = Sandbox::new("other-user");
    let warp = Warp::create(&sandbox, "warp", None, &[]);
    let script = warp.install_dir.join("boot/bin/flowsvc").display().to_string();
    // nobody's process mentions install_dir and was born before the PID file.
    let nobody = Bystander::start("nobody's lookalike", Some("nobody"), Some(&script), &["/usr/bin/sleep", "600"]);
    std::thread::sleep(Duration::from_millis(100));
    fs::write(warp.pidfile(), format!("{}\n", nobody.pid)).unwrap();
    let r = run("monitor", &warp.install_dir, &[], &[RECURRING]);
    expect(&r, 1, "recurring monitor");
    assert!(r.exit_reason().is_some_and(|e| e.contains("not as the product's user")), "{:?}", r.exit_reason());
    expect(&run("monitor", &warp.install_dir, &[], &[]), 7, "probe");
    expect(&run("stop", &warp.install_dir, &[], &[]), 0, "stop");
    nobody.assert_alive("stop");
}

#[test]
fn pid_files_that_are_links_devices_or_other_files_are_never_read_echoed_or_deleted() {
    let sandbox = Sandbox::new("pidfiles");
    let warp = Warp::create(&sandbox, "warp", None, &[]);
    let install = &warp.install_dir;
    let secret = sandbox.path().join("secret");
    fs::write(&secret, "TOPSECRET-hunter2\n").unwrap();
    let config = sandbox.path().join("app.conf");
    fs::write(&config, "listen=80\nworkers=4\n").unwrap();
    let pidfile = warp.pidfile();

    type Plant<'a> = Box<dyn Fn() + 'a>;
    let cases: Vec<(&str, Plant)> = vec![
        ("a link to /dev/zero", Box::new(|| std::os::unix::fs::symlink("/dev/zero", &pidfile).unwrap())),
        ("a link to a root-only file", Box::new(|| std::os::unix::fs::symlink(&secret, &pidfile).unwrap())),
        ("a huge file", Box::new(|| fs::File::create(&pidfile).unwrap().set_len(1 << 30).unwrap())),
        ("a FIFO", Box::new(|| nix::unistd::mkfifo(&pidfile, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap())),
        ("a config file", Box::new(|| fs::write(&pidfile, "TOPSECRET=hunter2\n").unwrap())),
    ];
    for (what, make) in cases {
        let _ = fs::remove_file(&pidfile);
        make();
        for (label, env) in [("probe", &[][..]), ("recurring monitor", &[RECURRING][..])] {
            let r = run("monitor", install, &[], env);
            assert!(r.elapsed < Duration::from_secs(5), "{what}: {label} took {:?}", r.elapsed);
            assert!(!r.stderr.contains("hunter2"), "{what}: content leaked into the log or exit reason:\n{}", r.stderr);
            assert_eq!(r.code, if label == "probe" { 7 } else { 1 }, "{what}: {label}\n{}", r.stderr);
        }
        expect(&run("stop", install, &[], &[]), 0, &format!("stop with {what} as PID file"));
        assert!(pidfile.symlink_metadata().is_ok(), "{what} was deleted by stop");
    }
    assert_eq!(fs::read_to_string(&secret).unwrap(), "TOPSECRET-hunter2\n");

    // `pidfile` pointed at someone's config: stop leaves it alone.
    let r = run("stop", install, &[("pidfile", &config.display().to_string())], &[]);
    expect(&r, 0, "stop with pidfile=<a config file>");
    assert_eq!(fs::read_to_string(&config).unwrap(), "listen=80\nworkers=4\n", "the config file was changed or deleted");

    // A stale PID file that really is one is still removed.
    let _ = fs::remove_file(&pidfile);
    fs::write(&pidfile, "4194000\n").unwrap();
    expect(&run("stop", install, &[], &[]), 0, "stop with a stale PID file");
    assert!(!pidfile.exists(), "a stale PID file is removed");
}

#[test]
fn parameters_that_are_not_utf8_are_refused_by_name() {
    let sandbox = Sandbox::new("utf8");
    let warp = Warp::create(&sandbox, "warp", None, &[]);
    for (name, value) in [("install_dir", OsStr::from_bytes(b"\xff")), ("user", OsStr::from_bytes(b"war\xffp"))] {
        let mut cmd = Command::new(AGENT);
        cmd.arg("validate-all").env_clear().env("OCF_RESOURCE_INSTANCE", "warp").env(format!("OCF_RESKEY_{name}"), value);
        if name != "install_dir" {
            cmd.env("OCF_RESKEY_install_dir", &warp.install_dir);
        }
        let out = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(6), "{name}: {stderr}");
        assert!(stderr.contains(&format!("parameter {name} is not valid UTF-8")), "{name}: {stderr}");
    }
}

#[test]
fn an_unusable_op_timeout_is_a_warning_naming_it_then_the_default() {
    let sandbox = Sandbox::new("timeout");
    let warp = Warp::create(&sandbox, "warp", None, &[]);
    for bad in ["0", "-5", "soon"] {
        let r = run("monitor", &warp.install_dir, &[], &[("OCF_RESKEY_CRM_meta_timeout", bad)]);
        expect(&r, 7, &format!("probe with CRM_meta_timeout={bad}"));
        assert!(r.stderr.contains(&format!("CRM_meta_timeout \"{bad}\"")) && r.stderr.contains("WARNING"), "{bad}: {}", r.stderr);
    }
}

#[test]
fn instance_names_cannot_move_state_out_of_the_agents_directory() {
    let sandbox = Sandbox::new("instance");
    let warp = Warp::create(&sandbox, "warp", None, &[]);
    let run_dir = sandbox.path().join("run");
    let install = warp.install_dir.display().to_string();
    for instance in ["..", ".", "../../x", "/", "a/../../b"] {
        let env = [("MWHA_RUN_DIR", run_dir.to_str().unwrap())];
        let r = run_agent(Path::new(AGENT), "start", instance, &[("install_dir", &install)], &env);
        expect(&r, 0, &format!("start as {instance:?}"));
        expect(&run_agent(Path::new(AGENT), "stop", instance, &[("install_dir", &install)], &env), 0, &format!("stop as {instance:?}"));
        let outside: Vec<_> = fs::read_dir(&run_dir).unwrap().flatten().map(|e| e.file_name()).filter(|n| n != "flowsvc").collect();
        assert!(outside.is_empty(), "{instance:?} wrote {outside:?} beside the agent's directory");
        assert!(!sandbox.path().join("x").exists() && !sandbox.path().join("b").exists(), "{instance:?}");
    }
}
