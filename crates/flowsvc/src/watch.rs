//! The flow service's crash watcher (`ocf::watch`): armed once start has the service ready and
//! by a monitor that finds the service running without one, ended at the start of stop before
//! the service is touched. Best-effort: the watcher only makes recovery faster, so nothing here
//! fails an action.

use ocf::action::Ctx;
use ocf::identity::ProcRef;
use ocf::warn;
use ocf::watch::{self, PidFileClaim, Watch, Watcher};

use crate::params::{Params, META};
use crate::warp::{self, DiskView};

fn watcher(cx: &Ctx) -> Watcher {
    Watcher::new(META.name, cx.instance())
}

/// One watcher on the verified main process `main` (none with `watcher=false`).
pub fn arm(cx: &Ctx, p: &Params, main: ProcRef, view: &DiskView) {
    let watcher = watcher(cx);
    if !p.watcher {
        if let Err(err) = watcher.end(cx.deadline()) {
            warn!("ending the watcher: {err:#}");
        }
        return;
    }
    let claim = PidFileClaim { pidfile: p.pidfile.clone(), product_dir: p.install_dir.clone(), uid: warp::product_uid(p, Some(view)) };
    let watch = Watch { node: watch::node_of(cx.env()), main, claim: Some(claim) };
    if let Err(err) = watcher.arm(&watch, cx.deadline()) {
        warn!("no watcher for {} (the recurring monitor still finds a failure): {err:#}", cx.instance());
    }
}

/// From now on no watcher reports, and the watcher is gone.
pub fn stand_down(cx: &Ctx) {
    if let Err(err) = watcher(cx).stand_down(cx.deadline()) {
        warn!("standing the watcher down: {err:#}");
    }
}
