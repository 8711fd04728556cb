//! The crash watcher: a small process an agent leaves after start that waits on the product's
//! verified main process and, the moment it exits, tells Pacemaker (`crm_resource --fail
//! --resource R --node N`, which records a failed monitor and starts recovery), so a crash is
//! recovered in about a second instead of after the next recurring monitor.
//!
//! The watcher is the agent's own binary run as `AGENT __watch INSTANCE` ([`WATCH_ARG`]): no new
//! dependency, and the agent dispatches that first argument to [`main`]. [`Watcher::arm`] starts
//! it detached like [`crate::spawn::detached`] starts a daemon (new session, so Pacemaker's kill
//! of the agent's process group at a timeout never reaches it; stdin/stdout/stderr `/dev/null`;
//! cwd `/`), as root like the agent, with a clean environment: `PATH`, locale and time zone, the
//! ocf_log settings (`HA_LOGFACILITY`, `HA_LOGFILE`, `HA_debug`), `OCF_RESOURCE_INSTANCE` for the
//! log tag, and what to watch in `MWHA_WATCH_*` (the command line is world-readable and stays free
//! of the product's folders, so nothing that looks for the product by its folder counts the
//! watcher). In test builds the `MWHA_RUN_DIR`, `MWHA_CRM_RESOURCE` and `MWHA_SYSLOG_SOCKET` hooks
//! are passed on.
//!
//! The watcher opens a pidfd on the main process (`pidfd_open`, then the start time is checked,
//! so a reused PID is never watched), records itself in the resource's state directory
//! (`/run/mwha/<agent>/<instance>/watcher`: its own PID and start time and those of the main
//! process), and sleeps in `poll` on the pidfd: no polling loop, no CPU while the product runs.
//! This is the one wait of the project without a [`Deadline`]: it is not an op, and nothing waits
//! on it. When the main process exits, the watcher reports within milliseconds unless:
//! - the record no longer names it (a newer watcher took over, or the agent forgot it);
//! - the agent marked the resource as being stopped (`stopping`, written by
//!   [`Watcher::stand_down`] at the start of stop or demote, removed by [`Watcher::arm`]);
//! - the PID file already names another verified main process (someone restarted the product);
//! - the cluster does not manage the resource now: `crm_resource --query-xml` shows
//!   `managed="false"`, which is the scheduler's view of `maintenance-mode`, the resource's (or
//!   its parent's, or rsc_defaults') `is-managed=false` and `maintenance=true`, and node
//!   maintenance. A query that fails or times out counts as managed: the report is made, and
//!   the recurring monitor stays the source of truth.
//!
//! Then it exits. It signals no process, writes nothing but its record, holds no file open on
//! the product's folders (the PID file is read once, bounded, at the exit) and reports at most
//! once.
//!
//! The agent ends the watcher through its record: a [`ProcRef`] whose start time is re-checked
//! when it is signalled ([`crate::escalate::send`]), and only while that process runs as the agent's
//! user with the command line `AGENT __watch INSTANCE`. Never by name. Stop ends it before it
//! touches the product; a watcher that dies or is killed costs nothing but the speed.

use std::ffi::OsString;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::Signal;

use crate::deadline::Deadline;
use crate::env::Env;
use crate::identity::{self, MainProcess, ProcRef, ProductMatch};
use crate::pidfile::PidFile;
use crate::proc;
use crate::spawn::{self, CommandLine};
use crate::state::StateDir;

/// `argv[1]` of the watcher.
pub const WATCH_ARG: &str = "__watch";

/// The watcher's record: its PID and start time, then those of the main process it watches.
const RECORD: &str = "watcher";
/// Written when the resource is being stopped (or demoted): a watcher that sees it stays quiet.
const STOPPING: &str = "stopping";

/// What to watch, passed in the watcher's environment.
const MAIN_VAR: &str = "MWHA_WATCH_MAIN";
const NODE_VAR: &str = "MWHA_WATCH_NODE";
const PIDFILE_VAR: &str = "MWHA_WATCH_PIDFILE";
const PRODUCT_DIR_VAR: &str = "MWHA_WATCH_PRODUCT_DIR";
const UID_VAR: &str = "MWHA_WATCH_UID";

/// How long [`Watcher::arm`] waits for the watcher to record itself.
const ARM_LIMIT: Duration = Duration::from_secs(2);
const ARM_POLL: Duration = Duration::from_millis(5);
/// How long the agent waits for the watcher to exit after each signal.
const END_LIMIT: Duration = Duration::from_secs(2);
/// How long the watcher may take to read the PID file at the exit (it may be on a share that hangs).
const PIDFILE_LIMIT: Duration = Duration::from_millis(500);
/// The `crm_resource` query and report.
const QUERY_LIMIT: Duration = Duration::from_secs(5);
const REPORT_LIMIT: Duration = Duration::from_secs(10);

/// Where `crm_resource` is looked for; the `MWHA_CRM_RESOURCE` hook overrides it in test builds.
const CRM_RESOURCE: &[&str] = &["/usr/sbin/crm_resource", "/usr/bin/crm_resource", "/sbin/crm_resource", "/bin/crm_resource"];
const SYSTEM_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// What a watcher watches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watch {
    /// The node the failure is reported for (`crm_resource --node`).
    pub node: String,
    /// The verified main process.
    pub main: ProcRef,
    /// How to tell, at the exit, that someone else has already started a new main process.
    pub claim: Option<PidFileClaim>,
}

/// The PID file and how its claim is verified ([`identity::main_process`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PidFileClaim {
    pub pidfile: PathBuf,
    pub product_dir: PathBuf,
    pub uid: Option<u32>,
}

/// The node an action runs for: `CRM_meta_on_node`, else this host's name (as `uname -n`).
pub fn node_of(env: &Env) -> String {
    env.on_node()
        .map(str::to_string)
        .or_else(|| nix::unistd::gethostname().ok().map(|h| h.to_string_lossy().into_owned()))
        .unwrap_or_default()
}

/// A recorded watcher and the main process it watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record {
    pub watcher: ProcRef,
    pub main: ProcRef,
}

impl Record {
    fn to_line(self) -> String {
        format!("{} {} {} {}\n", self.watcher.pid, self.watcher.starttime, self.main.pid, self.main.starttime)
    }
}

/// `WATCHER_PID WATCHER_START MAIN_PID MAIN_START`, nothing else.
fn parse_record(text: &str) -> Option<Record> {
    let mut fields = text.split_whitespace();
    let mut next_ref = || -> Option<ProcRef> {
        let pid = fields.next()?.parse::<i32>().ok().filter(|p| *p > 1)?;
        let starttime = fields.next()?.parse().ok()?;
        Some(ProcRef { pid, starttime })
    };
    let record = Record { watcher: next_ref()?, main: next_ref()? };
    fields.next().is_none().then_some(record)
}

fn read_record(state: &StateDir) -> Option<Record> {
    parse_record(&state.read(RECORD).ok()??)
}

/// Whether `p` is still a watcher of `instance`: the same process (start time), running as us,
/// with the command line `AGENT __watch INSTANCE`.
fn is_watcher(p: &ProcRef, instance: &str) -> bool {
    if !p.is_alive() || proc::read_uid(p.pid) != Some(nix::unistd::geteuid().as_raw()) {
        return false;
    }
    let cmdline = proc::read_cmdline(p.pid);
    cmdline.len() == 3 && cmdline[1] == WATCH_ARG && cmdline[2] == instance
}

/// The agent's side: start, find and end the watcher of one resource instance.
#[derive(Debug, Clone)]
pub struct Watcher {
    instance: String,
    state: StateDir,
}

impl Watcher {
    pub fn new(agent: &str, instance: &str) -> Watcher {
        Watcher { instance: instance.to_string(), state: StateDir::new(agent, instance) }
    }

    /// The recorded watcher, while it lives.
    pub fn current(&self) -> Option<Record> {
        read_record(&self.state).filter(|r| is_watcher(&r.watcher, &self.instance))
    }

    /// Makes sure one watcher watches `watch.main`: the recorded one if it does, else a new one
    /// (a watcher of another main process is ended first). Clears the stopping mark. Returns the
    /// watcher once it has recorded itself (at most 2 s, within `deadline`).
    pub fn arm(&self, watch: &Watch, deadline: &Deadline) -> Result<ProcRef> {
        self.state.remove(STOPPING).context("clearing the stopping mark under /run")?;
        if let Some(current) = self.current() {
            if current.main == watch.main {
                crate::debug!("watcher pid {} already watches pid {}", current.watcher.pid, watch.main.pid);
                return Ok(current.watcher);
            }
            crate::info!("watcher pid {} watches pid {}, not pid {}: replacing it", current.watcher.pid, current.main.pid, watch.main.pid);
            self.end_watcher(current.watcher, deadline)?;
        }
        let mut child = self.spawn(watch)?;
        let pid = child.id() as i32;
        // Our child, not reaped yet: its PID cannot name another process.
        let spawned = proc::read_stat(pid).map(|s| ProcRef::of(&s));
        let armed = deadline.within(ARM_LIMIT).wait_for("the watcher to record itself", ARM_POLL, || {
            if let Some(record) = read_record(&self.state).filter(|r| r.watcher.pid == pid) {
                return Ok(Some(Some(record.watcher)));
            }
            Ok(child.try_wait()?.map(|_| None))
        });
        let armed = match armed {
            Ok(armed) => armed,
            Err(err) => {
                // A watcher that is not recorded could not be found by stop: none is left.
                if let Some(spawned) = spawned {
                    crate::escalate::send(&spawned, Signal::SIGKILL);
                }
                let _ = deadline.within(END_LIMIT).wait_for("the watcher to exit", ARM_POLL, || Ok(child.try_wait()?.map(|_| ())));
                return Err(err);
            }
        };
        match armed {
            Some(watcher) => {
                crate::info!("watcher pid {} watches main process pid {} of {}", watcher.pid, watch.main.pid, self.instance);
                Ok(watcher)
            }
            None => bail!("the watcher (pid {pid}) exited at once (its log lines say why)"),
        }
    }

    /// What an agent does after start and from a monitor that finds the product running, both
    /// best-effort (the watcher only makes recovery faster, so nothing here fails an action):
    /// `Some(watch)` (the agent's `watcher` parameter on): one watcher on `watch.main`; `None`
    /// (off): none, and one left from before, when the parameter was on, is ended.
    pub fn keep(&self, watch: Option<&Watch>, deadline: &Deadline) {
        let Some(watch) = watch else {
            if let Err(err) = self.end(deadline) {
                crate::warn!("ending the watcher: {err:#}");
            }
            return;
        };
        if let Err(err) = self.arm(watch, deadline) {
            crate::warn!("no watcher for {} (the recurring monitor still finds a failure): {err:#}", self.instance);
        }
    }

    /// [`Watcher::stand_down`], best-effort: what stop, demote and promote do first.
    pub fn stand_down_or_warn(&self, deadline: &Deadline) {
        if let Err(err) = self.stand_down(deadline) {
            crate::warn!("standing the watcher down: {err:#}");
        }
    }

    /// At the start of stop (or demote): marks the resource as being stopped, so no watcher
    /// reports from now on, and ends the watcher. Both are tried; the first error is returned.
    /// Without a state directory no watcher was recorded since boot (and [`Watcher::arm`] leaves
    /// none unrecorded): nothing is written.
    pub fn stand_down(&self, deadline: &Deadline) -> Result<()> {
        if !self.state.path().is_dir() {
            return Ok(());
        }
        let marked = self.state.write(STOPPING, "").context("recording under /run that the resource is being stopped");
        let ended = self.end(deadline);
        marked.and(ended)
    }

    /// Ends the recorded watcher, if it lives, and forgets it.
    pub fn end(&self, deadline: &Deadline) -> Result<()> {
        let Some(record) = read_record(&self.state) else { return Ok(()) };
        if is_watcher(&record.watcher, &self.instance) {
            self.end_watcher(record.watcher, deadline)?;
            crate::info!("watcher pid {} of {} ended", record.watcher.pid, self.instance);
        }
        self.state.remove(RECORD).context("forgetting the watcher")
    }

    /// SIGTERM, then SIGKILL, each sent only while `watcher` is still our watcher.
    fn end_watcher(&self, watcher: ProcRef, deadline: &Deadline) -> Result<()> {
        for signal in [Signal::SIGTERM, Signal::SIGKILL] {
            if !is_watcher(&watcher, &self.instance) {
                return Ok(());
            }
            crate::escalate::send(&watcher, signal);
            let gone = deadline.within(END_LIMIT).wait_for("the watcher to exit", ARM_POLL, || Ok((!watcher.is_alive()).then_some(())));
            if gone.is_ok() {
                return Ok(());
            }
        }
        bail!("watcher pid {} survived SIGKILL", watcher.pid)
    }

    fn spawn(&self, watch: &Watch) -> Result<Child> {
        let mut cmd = Command::new(self_exe());
        cmd.arg(WATCH_ARG)
            .arg(&self.instance)
            .env_clear()
            .current_dir("/")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .env("PATH", SYSTEM_PATH)
            .env("OCF_RESOURCE_INSTANCE", &self.instance)
            .env(MAIN_VAR, format!("{} {}", watch.main.pid, watch.main.starttime))
            .env(NODE_VAR, &watch.node);
        for keep in ["LANG", "LC_ALL", "TZ", "HA_LOGFACILITY", "HA_LOGFILE", "HA_debug"] {
            if let Some(value) = std::env::var_os(keep) {
                cmd.env(keep, value);
            }
        }
        if let Some(claim) = &watch.claim {
            cmd.env(PIDFILE_VAR, &claim.pidfile).env(PRODUCT_DIR_VAR, &claim.product_dir);
            if let Some(uid) = claim.uid {
                cmd.env(UID_VAR, uid.to_string());
            }
        }
        for hook in [crate::hooks::RUN_DIR, crate::hooks::CRM_RESOURCE, crate::hooks::SYSLOG_SOCKET] {
            if let Some(value) = crate::hooks::var(hook) {
                cmd.env(hook, value);
            }
        }
        crate::sys::prepare_child(&mut cmd, None, true);
        cmd.spawn().context("starting the watcher")
    }
}

/// The binary to re-execute: our own path, or `/proc/self/exe` once a package upgrade has
/// replaced it.
fn self_exe() -> PathBuf {
    match std::env::current_exe() {
        Ok(path) if path.is_file() => path,
        _ => PathBuf::from("/proc/self/exe"),
    }
}

// ---------------------------------------------------------------------------------------------
// The watcher

/// `AGENT __watch INSTANCE` (`args`: what follows [`WATCH_ARG`]): watches, reports at most once,
/// exits. The exit status means nothing to anyone (2: started by hand without its environment).
pub fn main(agent: &'static str, args: impl IntoIterator<Item = OsString>) -> u8 {
    let env = Env::from_process(agent);
    crate::log::init(agent, &env);
    let args: Vec<OsString> = args.into_iter().collect();
    let (instance, watch) = match (args.as_slice(), watch_from_env()) {
        ([instance], Some(watch)) if instance.to_str() == Some(env.instance()) => (env.instance().to_string(), watch),
        _ => {
            crate::error!("usage: {agent} {WATCH_ARG} INSTANCE, started by the agent (MWHA_WATCH_* set)");
            return 2;
        }
    };
    watch_and_report(agent, &instance, &watch);
    0
}

fn watch_from_env() -> Option<Watch> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let main = var(MAIN_VAR)?;
    let (pid, starttime) = main.split_once(' ')?;
    let main = ProcRef { pid: pid.parse().ok().filter(|p| *p > 1)?, starttime: starttime.parse().ok()? };
    let claim = match (std::env::var_os(PIDFILE_VAR), std::env::var_os(PRODUCT_DIR_VAR)) {
        (Some(pidfile), Some(dir)) => {
            Some(PidFileClaim { pidfile: pidfile.into(), product_dir: dir.into(), uid: var(UID_VAR).and_then(|u| u.parse().ok()) })
        }
        _ => None,
    };
    Some(Watch { node: var(NODE_VAR)?, main, claim })
}

fn watch_and_report(agent: &str, instance: &str, watch: &Watch) {
    let state = StateDir::new(agent, instance);
    let Some(me) = proc::read_stat(std::process::id() as i32).map(|s| ProcRef::of(&s)) else { return };
    let main = watch.main;
    if let Some(other) = read_record(&state).filter(|r| r.watcher != me && is_watcher(&r.watcher, instance)) {
        crate::info!("watcher pid {} already watches {instance}: not starting a second one", other.watcher.pid);
        return;
    }
    // The pidfd first, then the start time: once the start time matches, the pidfd is that
    // process and no later holder of its PID.
    let pidfd = match crate::sys::pidfd_open(main.pid) {
        Ok(fd) => Some(fd),
        Err(e) if e.raw_os_error() == Some(Errno::ESRCH as i32) => None,
        Err(e) => {
            crate::warn!("cannot watch pid {} (pidfd_open: {e}): failures are found by the recurring monitor only", main.pid);
            return;
        }
    };
    if proc::read_stat(main.pid).is_some_and(|s| s.starttime != main.starttime) {
        crate::info!("pid {} is another process now (PID reused): nothing to watch", main.pid);
        return;
    }
    if let Err(e) = state.write(RECORD, &Record { watcher: me, main }.to_line()) {
        crate::warn!("cannot record the watcher under /run ({e}): not watching");
        return;
    }
    if let Some(fd) = pidfd.filter(|_| main.is_alive()) {
        crate::debug!("watching main process pid {} of {instance} for node {}", main.pid, watch.node);
        if let Err(e) = wait_for_exit(&fd) {
            crate::warn!("waiting on pid {} failed ({e}): failures are found by the recurring monitor only", main.pid);
            return;
        }
    }
    let exited = Instant::now();
    match quiet_reason(&state, me, watch).or_else(|| unmanaged(instance)) {
        Some(why) => crate::info!("main process pid {} of {instance} exited; not reporting it: {why}", main.pid),
        None => report(instance, watch, exited, exited.elapsed()),
    }
}

/// Sleeps until the process of `pidfd` has exited.
fn wait_for_exit(pidfd: &OwnedFd) -> io::Result<()> {
    loop {
        let mut fds = [PollFd::new(pidfd.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) if fds[0].revents().is_some_and(|r| r.contains(PollFlags::POLLNVAL)) => return Err(io::Error::other("invalid pidfd")),
            Ok(n) if n > 0 => return Ok(()),
            Ok(_) | Err(Errno::EINTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
}

/// Why the exit of the main process must not be reported, from what this node knows: the
/// watcher was replaced or forgotten, the resource is being stopped, or the PID file already
/// names a new main process.
fn quiet_reason(state: &StateDir, me: ProcRef, watch: &Watch) -> Option<String> {
    if read_record(state).is_none_or(|r| r.watcher != me) {
        return Some("this watcher is no longer the recorded one".into());
    }
    if state.read(STOPPING).ok().flatten().is_some() {
        return Some("the resource is being stopped".into());
    }
    let claim = watch.claim.clone()?;
    let pidfile = PidFile::new(&claim.pidfile);
    let read = crate::fsio::bounded(&Deadline::after(PIDFILE_LIMIT), "reading the PID file", move || pidfile.read());
    let read = read.inspect_err(|e| crate::warn!("{e:#}")).ok()?;
    match identity::main_process(&claim.pidfile, &read, &ProductMatch::new(&claim.product_dir), claim.uid) {
        MainProcess::Running(new) if new != watch.main => Some(format!("the PID file names a new main process, pid {}", new.pid)),
        _ => None,
    }
}

/// A reason not to report when the cluster does not manage the resource now. Unsure is managed.
fn unmanaged(resource: &str) -> Option<String> {
    let program = crm_resource().inspect_err(|e| crate::warn!("{e:#}")).ok()?;
    let cmd = CommandLine::new(program).arg("--resource").arg(resource).arg("--query-xml").arg("--output-as=xml");
    let done = spawn::bounded(None, &cmd, &Deadline::after(QUERY_LIMIT)).inspect_err(|e| crate::warn!("{e:#}")).ok()?;
    if !done.success() {
        crate::warn!("crm_resource --query-xml {}: {}; reporting as if managed", done.describe(), done.last_line());
        return None;
    }
    (managed_attribute(&done.stdout, resource) == Some(false))
        .then(|| "the cluster does not manage it now (maintenance, or is-managed=false)".to_string())
}

/// The `managed` attribute of the `<resource id=RESOURCE>` element of `crm_resource
/// --query-xml --output-as=xml` (a clone instance's `:N` may be absent from the id).
fn managed_attribute(xml: &str, resource: &str) -> Option<bool> {
    use quick_xml::events::Event;
    let base = resource.split(':').next().unwrap_or(resource);
    let mut reader = quick_xml::Reader::from_str(xml);
    loop {
        match reader.read_event().ok()? {
            Event::Empty(e) | Event::Start(e) if e.name().as_ref() == b"resource" => {
                let attr =
                    |name: &str| e.try_get_attribute(name).ok().flatten().and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()));
                if attr("id").is_some_and(|id| id == resource || id == base) {
                    return match attr("managed")?.as_str() {
                        "true" => Some(true),
                        "false" => Some(false),
                        _ => None,
                    };
                }
            }
            Event::Eof => return None,
            _ => {}
        }
    }
}

/// `checked`: how long the checks before the report took (mostly the `--query-xml`).
fn report(resource: &str, watch: &Watch, exited: Instant, checked: Duration) {
    crate::warn!("main process pid {} of {resource} exited: reporting the failure on {} to the cluster", watch.main.pid, watch.node);
    let program = match crm_resource() {
        Ok(program) => program,
        Err(e) => return crate::warn!("{e:#}; the recurring monitor will find the failure"),
    };
    let cmd = CommandLine::new(program).arg("--fail").arg("--resource").arg(resource).arg("--node").arg(&watch.node);
    match spawn::bounded(None, &cmd, &Deadline::after(REPORT_LIMIT)) {
        Ok(done) if done.success() => {
            let ms = |d: Duration| d.as_secs_f64() * 1000.0;
            crate::info!("crm_resource --fail done, {:.0} ms after the exit (checks {:.0} ms)", ms(exited.elapsed()), ms(checked))
        }
        Ok(done) => {
            crate::warn!("crm_resource --fail {}: {}; the recurring monitor will find the failure", done.describe(), done.last_line())
        }
        Err(e) => crate::warn!("{e:#}; the recurring monitor will find the failure"),
    }
}

fn crm_resource() -> Result<PathBuf> {
    if let Some(path) = crate::hooks::var(crate::hooks::CRM_RESOURCE) {
        return Ok(PathBuf::from(path));
    }
    CRM_RESOURCE.iter().map(PathBuf::from).find(|p| p.is_file()).ok_or_else(|| anyhow::anyhow!("crm_resource is not installed"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    #[test]
    fn records_parse_strictly() {
        let r = Record { watcher: ProcRef { pid: 4242, starttime: 99 }, main: ProcRef { pid: 77, starttime: 12 } };
        assert_eq!(parse_record(&r.to_line()), Some(r));
        for bad in ["", "4242 99 77", "4242 99 77 12 1", "1 99 77 12", "-3 99 77 12", "x 99 77 12", "4242 99 77 -12"] {
            assert_eq!(parse_record(bad), None, "{bad:?}");
        }
    }

    /// What crm_resource 2.1.5 prints (captured with a CIB file).
    const QUERY_XML: &str = r#"<pacemaker-result api-version="2.25" request="crm_resource --resource warp --query-xml --output-as=xml">
  <resource_config>
    <resource id="warp" resource_agent="ocf:mwha:flowsvc" role="Started" active="true" orphaned="false" blocked="false" managed="false" failed="false" failure_ignored="false" nodes_running_on="1"/>
    <xml><![CDATA[<primitive id="other" class="ocf" provider="mwha" type="flowsvc"><resource id="warp" managed="true"/></primitive>]]></xml>
  </resource_config>
  <status code="0" message="OK"/>
</pacemaker-result>"#;

    #[test]
    fn managed_is_the_resources_own_attribute() {
        assert_eq!(managed_attribute(QUERY_XML, "warp"), Some(false));
        assert_eq!(managed_attribute(&QUERY_XML.replace(r#"managed="false""#, r#"managed="true""#), "warp"), Some(true));
        assert_eq!(managed_attribute(QUERY_XML, "warp:1"), Some(false), "a clone instance");
        assert_eq!(managed_attribute(QUERY_XML, "other"), None, "nothing in the CDATA counts");
        assert_eq!(managed_attribute(r#"<resource id="warp"/>"#, "warp"), None);
        assert_eq!(managed_attribute(r#"<resource id="warp" managed="maybe"/>"#, "warp"), None);
        assert_eq!(managed_attribute("Error: no such resource", "warp"), None);
    }

    fn sleeper() -> (std::process::Child, ProcRef) {
        let child = Command::new("sleep").arg("30").spawn().unwrap();
        let stat = proc::read_stat(child.id() as i32).unwrap();
        (child, ProcRef::of(&stat))
    }

    #[test]
    fn a_pidfd_wakes_the_waiter_when_the_process_exits() {
        let (mut child, _) = sleeper();
        let fd = crate::sys::pidfd_open(child.id() as i32).unwrap();
        let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
        assert_eq!(poll(&mut fds, PollTimeout::ZERO).unwrap(), 0, "readable while the process runs");
        let killer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            child.kill().unwrap();
            child
        });
        let started = Instant::now();
        wait_for_exit(&fd).unwrap();
        assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
        killer.join().unwrap().wait().unwrap();
        let err = crate::sys::pidfd_open(i32::MAX).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(Errno::ESRCH as i32), "{err}");
    }

    #[test]
    fn a_watcher_stays_quiet_when_replaced_forgotten_or_stopping() {
        let root = std::env::temp_dir().join(format!("mwha-watch-{}", std::process::id()));
        let state = StateDir::under(&root, "agent", "rsc");
        let (mut main_child, main) = sleeper();
        let me = ProcRef::of(&proc::read_stat(std::process::id() as i32).unwrap());
        let exe = std::env::current_exe().unwrap();
        let pidfile = root.join("main.pid");
        let claim = PidFileClaim { pidfile: pidfile.clone(), product_dir: exe.parent().unwrap().to_path_buf(), uid: None };
        let watch = Watch { node: "n1".into(), main, claim: Some(claim) };

        assert!(quiet_reason(&state, me, &watch).unwrap().contains("no longer the recorded one"), "no record");
        state.write(RECORD, &Record { watcher: ProcRef { pid: me.pid, starttime: me.starttime + 1 }, main }.to_line()).unwrap();
        assert!(quiet_reason(&state, me, &watch).unwrap().contains("no longer the recorded one"), "another watcher");
        state.write(RECORD, &Record { watcher: me, main }.to_line()).unwrap();
        assert_eq!(quiet_reason(&state, me, &watch), None, "no PID file: report");
        // A PID file naming this test process, which mentions its folder and started before
        // the file was written: a new main process.
        std::fs::write(&pidfile, format!("{}\n", me.pid)).unwrap();
        assert!(quiet_reason(&state, me, &watch).unwrap().contains(&format!("new main process, pid {}", me.pid)));
        std::fs::write(&pidfile, format!("{}\n", main.pid)).unwrap();
        assert_eq!(quiet_reason(&state, me, &watch), None, "the PID file names no other product process");
        state.write(STOPPING, "").unwrap();
        assert_eq!(quiet_reason(&state, me, &watch).as_deref(), Some("the resource is being stopped"));
        main_child.kill().unwrap();
        main_child.wait().unwrap();
        let _ = std::fs::remove_dir_all(root);
    }

    #[test]
    fn only_a_live_watcher_of_the_instance_is_a_watcher() {
        let (mut child, sleep) = sleeper();
        assert!(!is_watcher(&sleep, "rsc"), "a sleep is no watcher");
        let me = ProcRef::of(&proc::read_stat(std::process::id() as i32).unwrap());
        assert!(!is_watcher(&me, "rsc"));
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(!is_watcher(&sleep, "rsc"));
    }
}
