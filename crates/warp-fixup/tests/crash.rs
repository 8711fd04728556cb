//! kill -9 during `warp-fixup apply`, at many random instants, in both identity modes:
//! server.xconf and the license file are always entirely the old or entirely the new content
//! (never a mix, never empty), once the new server.xconf is in place a backup of the old one
//! exists, the store stays valid, and the next apply finishes the job and leaves no temporary
//! file.

mod support;

use std::fs;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use support::*;

const ITERATIONS: usize = 50;
/// Pause between the steps of each atomic write (`MWHA_FIXUP_TEST_PACE_MS`), so the random
/// kills land inside the write windows and not only before or after them.
const PACE_MS: &str = "1";

/// xorshift64*: enough randomness for kill instants, reproducible from the printed seed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

#[test]
fn sigkill_at_any_instant_leaves_old_or_new_never_a_mix() {
    if !root() {
        return;
    }
    // One mode after the other: two at once would disturb each other's timing.
    for mode in ["values", "whole-file"] {
        eprintln!("identity_mode={mode}");
        kill_applies(mode);
    }
}

fn kill_applies(mode: &str) {
    let node = Node::captured(&format!("crash-{mode}"));
    let seed = std::env::var("MWHA_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64) | 1);
    eprintln!("crash test seed {seed} (rerun with MWHA_CRASH_SEED={seed})");
    let mut rng = Rng(seed);
    let (store, data) = (node.store_str(), node.data_str());
    let apply = || {
        Command::new(BIN)
            .args(["apply", "--store", &store, "--data-dir", &data, "--identity-paths", IDENTITY_PATHS, "--identity-mode", mode])
            .env("MWHA_FIXUP_TEST_PACE_MS", PACE_MS)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let other_nodes_sync = || {
        fs::write(node.xconf(), OTHER_XCONF).unwrap();
        fs::write(node.license(), OTHER_LICENSE).unwrap();
    };
    // How long a whole apply takes here (the fsyncs dominate): the kills are spread over it,
    // and a little past it so that some land after the new content is in place.
    let mut slowest = Duration::ZERO;
    for _ in 0..3 {
        other_nodes_sync();
        let started = Instant::now();
        assert!(apply().wait().unwrap().success());
        slowest = slowest.max(started.elapsed());
    }
    let window = slowest.mul_f64(1.5).max(Duration::from_millis(20));
    eprintln!("an apply takes up to {slowest:?}; kills spread over 0..{window:?}");
    let mut outcomes = [0usize; 2];
    let mut in_flight = 0;
    for iteration in 0..ITERATIONS {
        other_nodes_sync();
        let mut child = apply();
        // Stratified: iteration i kills somewhere in the i-th fiftieth of the window, so every
        // part of the apply is hit.
        let stratum = window.as_micros() as u64 / ITERATIONS as u64;
        std::thread::sleep(Duration::from_micros(stratum * iteration as u64 + rng.below(stratum.max(1))));
        let _ = kill(Pid::from_raw(child.id() as i32), Signal::SIGKILL);
        let _ = child.wait();

        let temps = [node.xconf().parent().unwrap().to_path_buf(), node.license_dir(), node.store.join("backup")]
            .iter()
            .flat_map(|d| files_in(d))
            .any(|p| p.to_string_lossy().contains(".mwha-tmp."));
        in_flight += usize::from(temps);
        let xconf = fs::read_to_string(node.xconf()).unwrap();
        let at = format!("iteration {iteration} (seed {seed})");
        assert!(xconf == OTHER_XCONF || xconf == OWN_XCONF, "{at}: server.xconf is neither old nor new: {xconf:?}");
        let license = fs::read_to_string(node.license()).unwrap();
        assert!(license == OTHER_LICENSE || license == OWN_LICENSE, "{at}: license.key is neither old nor new: {license:?}");
        if xconf == OWN_XCONF {
            outcomes[1] += 1;
            let backups = node.backups();
            assert!(
                backups.iter().any(|b| fs::read_to_string(b).is_ok_and(|c| c == OTHER_XCONF)),
                "{at}: the new server.xconf is in place but no backup holds the old one: {backups:?}"
            );
            // No count check: an earlier killed apply may already have left this very backup.
        } else {
            outcomes[0] += 1;
        }
        assert!(
            node.backups()
                .iter()
                .all(|b| fs::read_to_string(b).is_ok_and(|c| c == OTHER_XCONF) || b.to_string_lossy().contains(".mwha-tmp.")),
            "{at}: a backup holds something else than a whole old server.xconf"
        );
        let verify = node.cli(&["verify"], &["--identity-mode", mode]);
        assert_ne!(verify.status.code(), Some(2), "{at}: the store or the data folder became unusable:\n{}", text(&verify));
    }
    eprintln!(
        "kills left the old server.xconf {} times and the new one {} times; a temporary file was present after {in_flight} kills",
        outcomes[0], outcomes[1]
    );
    assert!(outcomes[0] > 0 && outcomes[1] > 0, "the kills missed the write window (seed {seed}): {outcomes:?}");

    // The next apply (without a kill) finishes the job and cleans up after the killed ones.
    fs::write(node.xconf(), OTHER_XCONF).unwrap();
    expect(&node.cli(&["apply"], &["--identity-mode", mode]), 0, "apply after the kills");
    assert_eq!(fs::read_to_string(node.xconf()).unwrap(), OWN_XCONF);
    assert_eq!(fs::read_to_string(node.license()).unwrap(), OWN_LICENSE);
    expect(&node.cli(&["verify"], &["--identity-mode", mode]), 0, "verify after the kills");
    let temps: Vec<_> = [node.xconf().parent().unwrap().to_path_buf(), node.license_dir(), node.store.join("backup")]
        .iter()
        .flat_map(|d| files_in(d))
        .filter(|p| p.to_string_lossy().contains(".mwha-tmp."))
        .collect();
    assert!(temps.is_empty(), "temporary files left in the data folder or the backups: {temps:?}");
    let backups = node.backups();
    assert!(backups.len() <= 5, "backups are bounded: {backups:?}");
}
