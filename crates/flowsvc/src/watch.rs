//! The flow service's crash watcher (`ocf::watch`): armed once start has the service ready and
//! by a monitor that finds the service running without one, ended at the start of stop before
//! the service is touched. Best-effort: the watcher only makes recovery faster, so nothing here
//! fails an action.

use ocf::action::Ctx;
use ocf::identity::ProcRef;
use ocf::watch::{self, PidFileClaim, Watch, Watcher};

use crate::params::{Params, META};
use crate::warp::{self, DiskView};

fn watcher(cx: &Ctx) -> Watcher {
    Watcher::new(META.name, cx.instance())
}

/// One watcher on the verified main process `main` (none with `watcher=false`).
pub fn arm(cx: &Ctx, p: &Params, main: ProcRef, view: &DiskView) {
    let claim = PidFileClaim { pidfile: p.pidfile.clone(), product_dir: p.install_dir.clone(), uid: warp::product_uid(p, Some(view)) };
    let watch = Watch { node: watch::node_of(cx.env()), main, claim: Some(claim) };
    watcher(cx).keep(p.watcher.then_some(&watch), cx.deadline());
}

/// From now on no watcher reports, and the watcher is gone.
pub fn stand_down(cx: &Ctx) {
    watcher(cx).stand_down_or_warn(cx.deadline());
}
