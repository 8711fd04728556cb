//! The Booster's crash watcher (`ocf::watch`), for a Booster with a main process: only when
//! `pidfile` is set (the vendor documents no PID file; without one there is no single process
//! whose exit means the Booster failed, and the recurring monitor alone finds a failure).
//! Armed once start has the Booster ready and by a monitor that finds it healthy without one;
//! stood down at the start of stop, and around promote and demote (their site commands may
//! restart the Booster), then armed again. Best-effort: nothing here fails an action.

use ocf::action::Ctx;
use ocf::deadline::Deadline;
use ocf::watch::{self, PidFileClaim, Watch, Watcher};

use crate::booster::main_process;
use crate::params::{Params, META};

fn watcher(cx: &Ctx) -> Watcher {
    Watcher::new(META.name, cx.instance())
}

/// One watcher on the Booster's verified main process (none with `watcher=false`, none without
/// `pidfile`).
pub fn arm(cx: &Ctx, p: &Params, deadline: &Deadline) {
    let Some(pidfile) = &p.pidfile else { return };
    let watcher = watcher(cx);
    if !p.watcher {
        return watcher.keep(None, deadline);
    }
    // A live watcher watches a live Booster (it exits within milliseconds of it): the recurring
    // monitor need not read the PID file a second time.
    if watcher.current().is_some() {
        return;
    }
    let main = match main_process(p, deadline) {
        Ok(Some(main)) => main,
        Ok(None) => return ocf::debug!("no verified Booster process in {}: no watcher", pidfile.display()),
        Err(err) => return ocf::warn!("no watcher: {err:#}"),
    };
    let claim = PidFileClaim { pidfile: pidfile.clone(), product_dir: p.service.install_dir.clone(), uid: p.service.uid() };
    let watch = Watch { node: watch::node_of(cx.env()), main, claim: Some(claim) };
    watcher.keep(Some(&watch), deadline);
}

/// From now on no watcher reports, and the watcher is gone.
pub fn stand_down(cx: &Ctx) {
    watcher(cx).stand_down_or_warn(cx.deadline());
}
