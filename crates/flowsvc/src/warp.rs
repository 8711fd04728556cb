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
pub use ocf::identity::MainProcess;
use ocf::identity::{self, ProcRef, ProductMatch};
use ocf::pidfile::{PidFile, PidFileState};
use ocf::scope::LaunchScope;
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

/// The uid the flow service runs as, when it can be known without blocking: `user`, else the
/// owner of install_dir as read in `view`.
pub fn product_uid(p: &Params, view: Option<&DiskView>) -> Option<u32> {
    match &p.user {
        Some(name) => RunAs::uid_of(name),
        None => view.and_then(|v| v.install_owner),
    }
}

/// The main process according to the PID file, verified (user, command line, start time).
pub fn main_process(p: &Params, view: &DiskView) -> MainProcess {
    identity::main_process(&p.pidfile, &view.pidfile, &product(p), product_uid(p, Some(view)))
}

/// Every process of the service: the main process, its descendants, and what carries the launch
/// ID recorded at start; all running as the product's user.
pub fn processes(p: &Params, main: Option<ProcRef>, view: Option<&DiskView>, scope: Option<&LaunchScope>) -> ProductProcesses {
    ProductProcesses { main, scope: scope.cloned(), uid: product_uid(p, view) }
}

/// Processes of the service still alive although the main process is not.
pub fn leftovers(p: &Params, view: &DiskView, scope: Option<&LaunchScope>) -> Vec<i32> {
    processes(p, None, Some(view), scope).find(&mut BTreeSet::new()).iter().map(|r| r.pid).collect()
}

/// The OS user that runs the product: `user`, or the owner of install_dir.
pub fn run_as(p: &Params, deadline: &Deadline) -> Result<RunAs> {
    match &p.user {
        Some(name) => RunAs::by_name(name),
        None => RunAs::owner_of(&p.install_dir, deadline).context("finding the default user (owner of install_dir)"),
    }
}
