//! What ASTERIA Warp looks like on disk and in the process table: its commands, its PID file
//! and how to tell its processes from everything else.

use std::collections::BTreeSet;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

use anyhow::{Context, Result};
use ocf::deadline::Deadline;
use ocf::escalate::ProductProcesses;
use ocf::fsio;
use ocf::identity::{self, PidCheck, ProcRef, ProductMatch};
use ocf::pidfile::{PidFile, PidFileState};
use ocf::spawn::{CommandLine, RunAs};

use crate::params::Params;

pub fn flowsvc(p: &Params) -> PathBuf {
    p.install_dir.join("boot/bin/flowsvc")
}

pub fn fsstop(p: &Params) -> PathBuf {
    p.install_dir.join("boot/bin/fsstop")
}

pub fn product(p: &Params) -> ProductMatch {
    ProductMatch::new(&p.install_dir)
}

/// A command of the product, run from install_dir with the configured extra environment.
pub fn command(p: &Params, program: PathBuf) -> CommandLine {
    CommandLine::new(program).cwd(&p.install_dir).envs(p.environment.clone())
}

/// What the folders and the PID file say, read in one bounded step (they may be on NFS).
#[derive(Debug)]
pub struct DiskView {
    pub install_dir_present: bool,
    pub data_dir_present: bool,
    pub install_owner: Option<u32>,
    pub pidfile: io::Result<PidFileState>,
}

pub fn look(p: &Params, deadline: &Deadline) -> Result<DiskView> {
    let (install_dir, data_dir, pidfile) = (p.install_dir.clone(), p.data_dir.clone(), PidFile::new(&p.pidfile));
    fsio::bounded(deadline, &format!("reading {}", p.pidfile.display()), move || {
        let install = install_dir.metadata().ok();
        DiskView {
            install_dir_present: install.as_ref().is_some_and(|m| m.is_dir()),
            data_dir_present: data_dir.is_dir(),
            install_owner: install.map(|m| m.uid()),
            pidfile: pidfile.read(),
        }
    })
}

/// The main process according to the PID file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MainProcess {
    Running(ProcRef),
    /// No PID file: cleanly stopped.
    NoPidFile,
    /// A PID file that names no flow service: the main process died, or the PID was reused.
    Stale(String),
}

pub fn main_process(p: &Params, view: &DiskView) -> MainProcess {
    match &view.pidfile {
        Ok(PidFileState::Missing) => MainProcess::NoPidFile,
        Ok(PidFileState::Garbage(why)) => MainProcess::Stale(format!("{} is unusable: {why}", p.pidfile.display())),
        Err(e) => MainProcess::Stale(format!("cannot read {}: {e}", p.pidfile.display())),
        Ok(PidFileState::Claim { pid, written }) => match identity::verify(*pid, *written, &product(p)) {
            PidCheck::Verified(main) => MainProcess::Running(main),
            PidCheck::Gone => MainProcess::Stale(format!("pid {pid} from the PID file is gone")),
            PidCheck::NotProduct => MainProcess::Stale(format!("pid {pid} from the PID file is not a flow service (reused PID)")),
            PidCheck::BornAfterPidFile { started_after_by } => MainProcess::Stale(format!(
                "pid {pid} started {:.1}s after the PID file was written (reused PID)",
                started_after_by.as_secs_f64()
            )),
        },
    }
}

/// Every process of the service, found from the main process and the install folder.
pub fn processes(p: &Params, main: Option<ProcRef>, view: Option<&DiskView>) -> ProductProcesses {
    let uid = match &p.user {
        Some(name) => RunAs::by_name(name).ok().map(|u| u.uid()),
        None => view.and_then(|v| v.install_owner),
    };
    ProductProcesses { main, product: product(p), uid }
}

/// Processes of the service still alive although the main process is not.
pub fn leftovers(p: &Params, view: &DiskView) -> Vec<i32> {
    processes(p, None, Some(view)).find(&mut BTreeSet::new()).iter().map(|r| r.pid).collect()
}

/// The OS user that runs the product: `user`, or the owner of install_dir.
pub fn run_as(p: &Params, deadline: &Deadline) -> Result<RunAs> {
    match &p.user {
        Some(name) => RunAs::by_name(name),
        None => RunAs::owner_of(&p.install_dir, deadline).context("finding the default user (owner of install_dir)"),
    }
}
