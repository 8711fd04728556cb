//! Test support for mwha agents (dev only): a sandbox directory, a stand-in product built from
//! `tests/standin/`, running an agent binary in an OCF environment, and waiting with a limit;
//! `metadata`: an agent's meta-data against xmllint, pcs's schema and ocf-tester; `omflow`: the
//! stand-in OMFLOW of the omflow-booster and omflow-server tests.
//!
//! Invariant: every process a test leaves behind is found by its sandbox path and killed by
//! PID when the sandbox drops; nothing is ever killed by name.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

pub mod fakecrm;
pub mod metadata;
pub mod omflow;

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repository root exists")
}

pub fn is_root() -> bool {
    nix::unistd::Uid::effective().is_root()
}

/// Whether `program` is on PATH (or /usr/sbin, /sbin for root tools).
pub fn have(program: &str) -> bool {
    let path = std::env::var("PATH").unwrap_or_default();
    let found = path.split(':').chain(["/usr/sbin", "/sbin"]).any(|dir| Path::new(dir).join(program).is_file());
    found
}

/// True when a test may run: the requirement is met, or it is not and we are outside CI (the
/// skip is printed). In CI (`CI` or `MWHA_REQUIRE_ALL` set) a missing requirement fails.
pub fn require(what: &str, met: bool) -> bool {
    if met {
        return true;
    }
    if std::env::var_os("CI").is_some() || std::env::var_os("MWHA_REQUIRE_ALL").is_some() {
        panic!("test requirement missing in CI: {what}");
    }
    eprintln!("SKIPPED: needs {what}");
    false
}

/// Kill tests run in a PID namespace of their own, so an agent that signals the wrong process can
/// only hit processes of that namespace, never the test machine's. Call it first in the test:
/// outside the namespace it runs this same test again inside a new one (`unshare --pid --fork
/// --mount-proc`, the test binary as its PID 1) and asserts that it passed, then returns false;
/// inside it returns true and the test body runs.
pub fn in_private_pid_namespace(test: &str) -> bool {
    const INSIDE: &str = "MWHA_TEST_IN_PID_NAMESPACE";
    if std::env::var_os(INSIDE).is_some() {
        return true;
    }
    if !require("root and unshare (a private PID namespace for kill tests)", is_root() && have("unshare")) {
        return false;
    }
    let exe = std::env::current_exe().expect("the test binary");
    let out = Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc", "--kill-child", "--"])
        .arg(exe)
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(INSIDE, "1")
        .stdin(Stdio::null())
        .output()
        .expect("running unshare");
    let log = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && log.contains("1 passed"), "{test} in its PID namespace: {}\n{log}", out.status);
    false
}

/// Whether `pid` is alive (not a zombie).
pub fn alive(pid: i32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| !s.rsplit_once(')').is_some_and(|(_, r)| r.trim_start().starts_with('Z')))
}

/// A process that is not the product, started the way an admin or another service would, and
/// left to init: its PID and start-up wait.
pub struct Bystander {
    pub pid: i32,
    pub what: String,
}

impl Bystander {
    /// `argv` run detached (`setsid`, parent reparented to init) as `user` (None: root).
    /// `argv0` renames the process (`exec -a`).
    pub fn start(what: &str, user: Option<&str>, argv0: Option<&str>, argv: &[&str]) -> Bystander {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let pidfile = std::env::temp_dir().join(format!("mwha-bystander-{}-{}", std::process::id(), SEQ.fetch_add(1, Ordering::SeqCst)));
        let _ = fs::remove_file(&pidfile);
        // A shell only in the test, to stand in for an admin's command line.
        let exec = match argv0 {
            Some(name) => format!("exec -a '{name}' \"$@\""),
            None => "exec \"$@\"".to_string(),
        };
        let script = format!("echo $$ > '{}'; {exec}", pidfile.display());
        let mut inner = vec!["setsid", "-f", "/bin/bash", "-c", script.as_str(), "bystander"];
        inner.extend_from_slice(argv);
        let mut cmd = match user {
            Some(u) => {
                let mut c = Command::new("runuser");
                c.args(["-u", u, "--"]).args(&inner);
                c
            }
            None => {
                let mut c = Command::new(inner[0]);
                c.args(&inner[1..]);
                c
            }
        };
        let status = cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).status().expect("starting a bystander");
        assert!(status.success(), "starting bystander {what}");
        assert!(wait_until(Duration::from_secs(5), || fs::read_to_string(&pidfile).is_ok_and(|t| t.trim().parse::<i32>().is_ok())));
        let pid = fs::read_to_string(&pidfile).unwrap().trim().parse().unwrap();
        let _ = fs::remove_file(&pidfile);
        // exec replaces the shell; wait until the new program runs.
        assert!(wait_until(Duration::from_secs(5), || fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| !c.starts_with(b"/bin/bash"))));
        Bystander { pid, what: what.to_string() }
    }

    pub fn assert_alive(&self, after: &str) {
        assert!(alive(self.pid), "bystander {} (pid {}) was killed by {after}", self.what, self.pid);
    }
}

impl Drop for Bystander {
    fn drop(&mut self) {
        let _ = kill(Pid::from_raw(self.pid), Signal::SIGKILL);
    }
}

/// A user for "runs as non-root" tests; created when missing (root only).
pub fn ensure_user(name: &str) -> bool {
    if nix::unistd::User::from_name(name).ok().flatten().is_some() {
        return true;
    }
    is_root()
        && Command::new("useradd")
            .args(["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name])
            .status()
            .is_ok_and(|s| s.success())
}

pub fn wait_until(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    check()
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free local port")
}

/// A fresh directory under /tmp, world-traversable so a product user can reach its contents.
pub struct Sandbox {
    dir: PathBuf,
}

impl Sandbox {
    pub fn new(name: &str) -> Sandbox {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!("mwha-{name}-{}-{}", std::process::id(), SEQ.fetch_add(1, Ordering::SeqCst)));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("creating sandbox");
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).expect("chmod sandbox");
        Sandbox { dir }
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// PIDs of live processes whose command line mentions this sandbox.
    pub fn processes(&self) -> Vec<i32> {
        processes_mentioning(&self.dir)
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        for pid in self.processes() {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Live, non-zombie processes whose command line mentions `path`.
pub fn processes_mentioning(path: &Path) -> Vec<i32> {
    let needle = path.to_string_lossy().into_owned();
    let mut pids = Vec::new();
    for entry in fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else { continue };
        let Ok(cmdline) = fs::read(format!("/proc/{pid}/cmdline")) else { continue };
        let zombie = fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| s.rsplit_once(')').is_some_and(|(_, r)| r.trim_start().starts_with('Z')));
        if String::from_utf8_lossy(&cmdline).contains(&needle) && !zombie.unwrap_or(true) && pid != std::process::id() as i32 {
            pids.push(pid);
        }
    }
    pids
}

/// A stand-in ASTERIA Warp built by `tests/standin/warp/make-warp`.
pub struct Warp {
    pub install_dir: PathBuf,
    pub data_dir: PathBuf,
    pub http_port: u16,
}

impl Warp {
    pub fn create(sandbox: &Sandbox, name: &str, owner: Option<&str>, switches: &[&str]) -> Warp {
        let install_dir = sandbox.path().join(name);
        let http_port = free_port();
        let mut cmd = Command::new(repo_root().join("tests/standin/warp/make-warp"));
        cmd.arg(&install_dir).arg("--set").arg(format!("HTTP_PORT={http_port}"));
        if let Some(owner) = owner {
            cmd.arg("--owner").arg(owner);
        }
        for s in switches {
            cmd.arg("--set").arg(s);
        }
        let out = cmd.output().expect("running make-warp");
        assert!(out.status.success(), "make-warp failed: {}", String::from_utf8_lossy(&out.stderr));
        Warp { data_dir: install_dir.clone(), install_dir, http_port }
    }

    /// Changes a switch of the running stand-in (read by each process at its start).
    pub fn set(&self, switch: &str) {
        let conf = self.install_dir.join("standin.conf");
        let mut text = fs::read_to_string(&conf).expect("reading standin.conf");
        text.push_str(switch);
        text.push('\n');
        fs::write(conf, text).expect("writing standin.conf");
    }

    pub fn pidfile(&self) -> PathBuf {
        self.data_dir.join("log/flowsvc.pid")
    }

    pub fn main_pid(&self) -> Option<i32> {
        fs::read_to_string(self.pidfile()).ok()?.trim().parse().ok()
    }

    pub fn processes(&self) -> Vec<i32> {
        processes_mentioning(&self.install_dir)
    }

    /// PID of the child service `name` (`warpchild.py NAME`).
    pub fn child_pid(&self, name: &str) -> Option<i32> {
        self.processes().into_iter().find(|pid| {
            fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| {
                let c = String::from_utf8_lossy(&c);
                c.contains("warpchild.py") && c.contains(name)
            })
        })
    }

    pub fn probe_url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.http_port)
    }
}

/// What one agent invocation did.
#[derive(Debug)]
pub struct AgentRun {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl AgentRun {
    pub fn exit_reason(&self) -> Option<&str> {
        self.stderr.lines().filter_map(|l| l.strip_prefix("ocf-exit-reason:")).next_back()
    }
}

/// Runs `agent action` with a Pacemaker-like environment: only OCF variables, `PATH`, the
/// given parameters (`OCF_RESKEY_*`) and extra variables (e.g. `OCF_RESKEY_CRM_meta_interval`).
pub fn run_agent(agent: &Path, action: &str, instance: &str, params: &[(&str, &str)], extra: &[(&str, &str)]) -> AgentRun {
    let mut cmd = Command::new(agent);
    cmd.arg(action)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("OCF_ROOT", "/usr/lib/ocf")
        .env("OCF_RESOURCE_INSTANCE", instance)
        .env("OCF_RESKEY_CRM_meta_timeout", "20000")
        .stdin(Stdio::null());
    for (k, v) in params {
        cmd.env(format!("OCF_RESKEY_{k}"), v);
    }
    for (k, v) in extra {
        cmd.env(k, v);
    }
    let started = Instant::now();
    let out = cmd.output().expect("running the agent");
    AgentRun {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        elapsed: started.elapsed(),
    }
}
