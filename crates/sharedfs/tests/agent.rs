//! The sharedfs binary driven like Pacemaker drives it, against real mounts: tmpfs and
//! loop-mounted ext4 images, remounted read-only, filled up, frozen with `fsfreeze`. Each test
//! works under its own directory in /tmp with its own /run state, and its `Lab` guard thaws,
//! unmounts and detaches everything even when an assertion fails.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use testkit::{have, is_root, require, run_agent, wait_until, AgentRun};

const AGENT: &str = env!("CARGO_BIN_EXE_sharedfs");

/// Mounts, loop devices and frozen filesystems of one test, undone on drop.
struct Lab {
    dir: PathBuf,
    mounts: Vec<PathBuf>,
    loops: Vec<String>,
    frozen: Vec<PathBuf>,
    links: Vec<PathBuf>,
}

impl Lab {
    fn new(name: &str) -> Lab {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!("mwha-sharedfs-{name}-{}-{}", std::process::id(), SEQ.fetch_add(1, Ordering::SeqCst)));
        fs::create_dir_all(&dir).unwrap();
        Lab { dir, mounts: Vec::new(), loops: Vec::new(), frozen: Vec::new(), links: Vec::new() }
    }

    /// A fresh directory in the lab (a mount point, or the plain directory underneath).
    fn mkdir(&self, name: &str) -> PathBuf {
        let path = self.dir.join(name);
        fs::create_dir_all(&path).unwrap();
        path
    }

    /// A tmpfs mounted at `name` with `options` (e.g. `size=1m`); its source is `src-NAME`.
    fn tmpfs(&mut self, name: &str, options: &str) -> PathBuf {
        let dir = self.mkdir(name);
        sh("mount", &["-t", "tmpfs", "-o", options, &format!("src-{name}"), &dir.display().to_string()]);
        self.mounts.push(dir.clone());
        dir
    }

    /// A 20 MiB ext4 image on a loop device, mounted at `name`; returns the mount point and
    /// the device.
    fn ext4(&mut self, name: &str) -> (PathBuf, String) {
        let image = self.dir.join(format!("{name}.img"));
        fs::File::create(&image).unwrap().set_len(20 << 20).unwrap();
        sh("mkfs.ext4", &["-q", "-F", &image.display().to_string()]);
        let device = sh("losetup", &["--find", "--show", &image.display().to_string()]).trim().to_string();
        self.loops.push(device.clone());
        let dir = self.mkdir(name);
        sh("mount", &[&device, &dir.display().to_string()]);
        self.mounts.push(dir.clone());
        (dir, device)
    }

    fn freeze(&mut self, dir: &Path) {
        sh("fsfreeze", &["-f", &dir.display().to_string()]);
        self.frozen.push(dir.to_path_buf());
    }

    fn thaw(&mut self, dir: &Path) {
        sh("fsfreeze", &["-u", &dir.display().to_string()]);
        self.frozen.retain(|d| d != dir);
    }

    fn umount(&mut self, dir: &Path) {
        sh("umount", &[&dir.display().to_string()]);
        self.mounts.retain(|d| d != dir);
    }

    /// A symlink under /dev (removed on drop): another name for a device.
    fn dev_link(&mut self, target: &str) -> PathBuf {
        let link = PathBuf::from(format!("/dev/mwha-test-{}", self.dir.file_name().unwrap().to_string_lossy()));
        std::os::unix::fs::symlink(target, &link).unwrap();
        self.links.push(link.clone());
        link
    }

    /// A copy of the agent that any user can run (the I/O child may run as another user).
    fn agent_for_everyone(&self) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let copy = self.dir.join("sharedfs");
        fs::copy(AGENT, &copy).unwrap();
        fs::set_permissions(&copy, fs::Permissions::from_mode(0o755)).unwrap();
        fs::set_permissions(&self.dir, fs::Permissions::from_mode(0o755)).unwrap();
        copy
    }

    fn run_dir(&self) -> PathBuf {
        self.dir.join("run")
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for dir in self.frozen.drain(..) {
            let _ = Command::new("fsfreeze").arg("-u").arg(&dir).status();
        }
        for dir in self.mounts.drain(..).rev() {
            // A check child that was stuck on a thawed filesystem needs a moment to die.
            let unmounted = wait_until(Duration::from_secs(5), || Command::new("umount").arg(&dir).status().is_ok_and(|s| s.success()));
            if !unmounted {
                let _ = Command::new("umount").arg("-l").arg(&dir).status();
            }
        }
        for device in self.loops.drain(..) {
            let _ = Command::new("losetup").arg("-d").arg(&device).status();
        }
        for link in self.links.drain(..) {
            let _ = fs::remove_file(link);
        }
        // Never delete through a mount that could not be undone.
        let prefix = self.dir.display().to_string();
        let still_mounted = fs::read_to_string("/proc/self/mountinfo").is_ok_and(|t| t.contains(&prefix));
        if !still_mounted {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

fn sh(program: &str, args: &[&str]) -> String {
    let out = Command::new(program).args(args).output().unwrap_or_else(|e| panic!("running {program}: {e}"));
    assert!(out.status.success(), "{program} {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn can_mount() -> bool {
    require("root, mount and util-linux", is_root() && have("mount") && have("umount"))
}

fn can_loop_mount() -> bool {
    require("root, mkfs.ext4, losetup and fsfreeze", is_root() && have("mkfs.ext4") && have("losetup") && have("fsfreeze"))
}

/// One resource: its instance name, parameters and the lab's /run.
#[derive(Clone)]
struct Rsc {
    agent: PathBuf,
    run_dir: String,
    instance: String,
    params: Vec<(String, String)>,
}

impl Rsc {
    fn new(lab: &Lab, directory: &Path) -> Rsc {
        let params = vec![("directory".to_string(), directory.display().to_string())];
        Rsc { agent: PathBuf::from(AGENT), run_dir: lab.run_dir().display().to_string(), instance: "fs".into(), params }
    }

    fn with(&self, name: &str, value: impl Into<String>) -> Rsc {
        let mut rsc = self.clone();
        rsc.params.retain(|(n, _)| n != name);
        rsc.params.push((name.to_string(), value.into()));
        rsc
    }

    fn agent(&self, agent: &Path) -> Rsc {
        Rsc { agent: agent.to_path_buf(), ..self.clone() }
    }

    fn named(&self, instance: &str) -> Rsc {
        Rsc { instance: instance.into(), ..self.clone() }
    }

    fn run(&self, action: &str, extra: &[(&str, &str)]) -> AgentRun {
        let params: Vec<(&str, &str)> = self.params.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        let mut env: Vec<(&str, &str)> = vec![("MWHA_RUN_DIR", self.run_dir.as_str())];
        env.extend_from_slice(extra);
        run_agent(&self.agent, action, &self.instance, &params, &env)
    }

    fn start(&self) -> AgentRun {
        self.run("start", &[])
    }

    fn stop(&self) -> AgentRun {
        self.run("stop", &[])
    }

    fn probe(&self) -> AgentRun {
        self.run("monitor", &[])
    }

    /// A recurring monitor at `level`.
    fn monitor(&self, level: u32) -> AgentRun {
        let level = level.to_string();
        self.run("monitor", &[("OCF_RESKEY_CRM_meta_interval", "10000"), ("OCF_CHECK_LEVEL", &level)])
    }
}

fn expect(run: &AgentRun, code: i32, what: &str) {
    assert_eq!(run.code, code, "{what}: expected rc {code}\n--- stderr\n{}--- stdout\n{}", run.stderr, run.stdout);
}

/// Fails with `code` and an exit reason containing `needle`.
fn expect_reason(run: &AgentRun, code: i32, needle: &str, what: &str) {
    expect(run, code, what);
    let reason = run.exit_reason().unwrap_or_default();
    assert!(reason.contains(needle), "{what}: exit reason {reason:?} lacks {needle:?}\n{}", run.stderr);
    assert!(reason.len() <= 128, "{what}: exit reason longer than 128 bytes");
}

fn io_check_children(dir: &Path) -> Vec<i32> {
    testkit::processes_mentioning(dir)
        .into_iter()
        .filter(|pid| fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| String::from_utf8_lossy(&c).contains("__io-check")))
        .collect()
}

fn no_probe_files_left(dir: &Path) {
    let left: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".sharedfs-probe"))
        .collect();
    assert!(left.is_empty(), "probe files left in {}: {left:?}", dir.display());
}

#[test]
fn start_monitor_stop_cycle_on_tmpfs_at_every_depth() {
    if !can_mount() {
        return;
    }
    let mut lab = Lab::new("cycle");
    let dir = lab.tmpfs("share", "size=4m");
    let rsc = Rsc::new(&lab, &dir).with("source", "src-share").with("fstype", "tmpfs").with("min_free", "1M");
    expect(&rsc.probe(), 7, "probe before start");
    expect(&rsc.monitor(0), 7, "monitor before start");
    expect(&rsc.stop(), 0, "stop before start");
    expect(&rsc.start(), 0, "start");
    expect(&rsc.start(), 0, "second start");
    for level in [0, 10, 20] {
        expect(&rsc.monitor(level), 0, &format!("monitor at level {level}"));
    }
    expect(&rsc.probe(), 0, "probe while started");
    no_probe_files_left(&dir);
    expect(&rsc.stop(), 0, "stop");
    expect(&rsc.monitor(20), 7, "monitor after stop");
    expect(&rsc.stop(), 0, "second stop");
    let other = Rsc::new(&lab, &dir).named("fs-other");
    expect(&other.monitor(0), 7, "another resource was never started");
}

#[test]
fn a_plain_directory_fails_and_an_absent_one_probes_as_not_running() {
    if !can_mount() {
        return;
    }
    let mut lab = Lab::new("plain");
    let plain = lab.mkdir("plain");
    let rsc = Rsc::new(&lab, &plain);
    let start = rsc.start();
    expect_reason(&start, 1, "not a mount point", "start on the directory underneath");
    assert!(fs::read_dir(&plain).unwrap().next().is_none(), "nothing was written to the directory underneath");
    expect(&rsc.probe(), 7, "a failed start is not started");

    let dir = lab.tmpfs("share", "size=1m");
    let rsc = Rsc::new(&lab, &dir);
    expect(&rsc.start(), 0, "start");
    lab.umount(&dir);
    expect_reason(&rsc.monitor(0), 1, "not a mount point (the share is not mounted", "monitor after umount");
    expect_reason(&rsc.probe(), 1, "not a mount point", "probe: the directory underneath is still there");
    fs::remove_dir(&dir).unwrap();
    expect(&rsc.probe(), 7, "probe with the directory absent");
    expect(&rsc.monitor(0), 7, "the probe forgot the start");
}

#[test]
fn a_wrong_source_or_type_fails() {
    if !can_mount() || !can_loop_mount() {
        return;
    }
    let mut lab = Lab::new("source");
    let (dir, device) = lab.ext4("disk");
    let tmp = lab.tmpfs("tmp", "size=1m");
    let ok = |rsc: &Rsc, what: &str| expect(&rsc.start(), 0, what);
    ok(&Rsc::new(&lab, &dir).with("source", device.as_str()).with("fstype", "ext4"), "the right device and type");
    ok(&Rsc::new(&lab, &dir).with("source", format!("{device}/")), "a trailing slash");
    let link = lab.dev_link(&device);
    ok(&Rsc::new(&lab, &dir).with("source", link.display().to_string()), "the device under another name");
    ok(&Rsc::new(&lab, &tmp).with("source", "src-tmp").with("fstype", "tmpfs"), "a tmpfs by name");

    let wrong = Rsc::new(&lab, &dir).with("source", "/dev/loop-none");
    expect_reason(&wrong.start(), 1, "wrong volume: ", "another device");
    let wrong = Rsc::new(&lab, &tmp).with("source", "nas:/export/warp");
    expect_reason(&wrong.start(), 1, "wrong volume: src-tmp is mounted, expected nas:/export/warp", "a tmpfs instead of NFS");
    let wrong = Rsc::new(&lab, &dir).with("fstype", "xfs");
    expect_reason(&wrong.start(), 1, "filesystem type is ext4, expected xfs", "another type");
    let wrong = Rsc::new(&lab, &dir).with("options", "rw,nosuid");
    expect_reason(&wrong.start(), 1, "mount option nosuid missing", "a missing option");
}

#[test]
fn a_share_remounted_read_only_fails() {
    if !can_mount() {
        return;
    }
    let mut lab = Lab::new("ro");
    let dir = lab.tmpfs("share", "size=1m");
    let rsc = Rsc::new(&lab, &dir);
    expect(&rsc.start(), 0, "start");
    let target = dir.display().to_string();
    sh("mount", &["-o", "remount,ro", &target]);
    expect_reason(&rsc.monitor(0), 1, "mounted read-only", "filesystem remounted read-only");
    expect(&rsc.with("options", "any").monitor(0), 0, "options=any accepts it");
    expect(&rsc.with("options", "ro").monitor(0), 0, "options=ro asks for it");
    sh("mount", &["-o", "remount,rw", &target]);
    expect(&rsc.monitor(20), 0, "read-write again");
    sh("mount", &["-o", "remount,bind,ro", &target]);
    expect_reason(&rsc.monitor(0), 1, "mounted read-only", "read-only per mount only");
}

#[test]
fn a_full_filesystem_fails_min_free() {
    if !can_mount() {
        return;
    }
    let mut lab = Lab::new("full");
    let dir = lab.tmpfs("share", "size=2m");
    let rsc = Rsc::new(&lab, &dir).with("min_free", "1M");
    expect(&rsc.start(), 0, "start while empty");
    fill(&dir.join("filler"));
    expect(&rsc.monitor(0), 0, "level 0 does not look at free space");
    expect_reason(&rsc.monitor(10), 1, "(min_free 1M)", "full at level 10");
    expect_reason(&rsc.with("min_free", "5%").monitor(20), 1, "(min_free 5%)", "full by percentage");
    expect_reason(&rsc.start(), 1, "free of 2.0 MiB (min_free 1M)", "start on a full share");
    fs::remove_file(dir.join("filler")).unwrap();
    expect(&rsc.start(), 0, "space again");
    expect(&rsc.monitor(20), 0, "space again");
}

/// Writes until the filesystem is full.
fn fill(path: &Path) {
    use std::io::Write;
    let mut file = fs::File::create(path).unwrap();
    let chunk = vec![0x5a_u8; 64 * 1024];
    while file.write_all(&chunk).is_ok() {}
}

#[test]
fn a_wrong_or_missing_marker_fails() {
    if !can_mount() {
        return;
    }
    let mut lab = Lab::new("marker");
    let dir = lab.tmpfs("share", "size=1m");
    let rsc = Rsc::new(&lab, &dir).with("marker", ".warp-volume").with("marker_content", "vol-1");
    expect_reason(&rsc.start(), 1, "marker .warp-volume is missing (wrong volume?)", "no marker");
    fs::write(dir.join(".warp-volume"), "vol-2\n").unwrap();
    expect_reason(&rsc.start(), 1, "marker .warp-volume holds \"vol-2\", expected \"vol-1\"", "another volume's marker");
    fs::write(dir.join(".warp-volume"), "vol-1\n").unwrap();
    expect(&rsc.start(), 0, "the right marker");
    expect(&rsc.monitor(0), 0, "level 0 does not read the marker");
    fs::remove_file(dir.join(".warp-volume")).unwrap();
    expect(&rsc.monitor(0), 0, "level 0 still does not");
    expect_reason(&rsc.monitor(10), 1, "is missing", "level 10 does");
    let exists_only = Rsc::new(&lab, &dir).with("marker", "sub/.warp-volume");
    fs::create_dir(dir.join("sub")).unwrap();
    fs::write(dir.join("sub/.warp-volume"), "").unwrap();
    expect(&exists_only.start(), 0, "a marker that only has to exist");
}

#[test]
fn level_0_never_touches_a_frozen_share() {
    if !can_loop_mount() {
        return;
    }
    let mut lab = Lab::new("level0");
    let (dir, _) = lab.ext4("disk");
    let rsc = Rsc::new(&lab, &dir).with("io_timeout", "2");
    expect(&rsc.start(), 0, "start");
    lab.freeze(&dir);
    let started = Instant::now();
    expect(&rsc.monitor(0), 0, "level 0 on a frozen share");
    assert!(started.elapsed() < Duration::from_secs(1), "level 0 took {:?}", started.elapsed());
    expect(&rsc.monitor(10), 0, "level 10 only reads, which a frozen filesystem allows");
    assert!(io_check_children(&dir).is_empty());
}

#[test]
fn a_frozen_share_fails_within_io_timeout_without_piling_up_children() {
    if !can_loop_mount() {
        return;
    }
    let mut lab = Lab::new("frozen");
    let (dir, device) = lab.ext4("disk");
    let rsc = Rsc::new(&lab, &dir).with("io_timeout", "1");
    expect(&rsc.start(), 0, "start");
    lab.freeze(&dir);

    let hung = rsc.monitor(20);
    expect_reason(&hung, 1, &format!("{} ({device}): I/O did not finish within 1.0s", dir.display()), "level 20 on a frozen share");
    assert!(hung.elapsed < Duration::from_millis(2500), "took {:?} with io_timeout=1", hung.elapsed);
    let stuck = io_check_children(&dir);
    assert_eq!(stuck.len(), 1, "one stuck child: {stuck:?}");
    assert!(hung.stderr.contains(&format!("I/O check pid {} is stuck", stuck[0])), "{}", hung.stderr);
    expect(&rsc.monitor(0), 0, "level 0 reads mountinfo only");

    for (what, run) in [
        ("a second level-20 monitor", rsc.monitor(20)),
        ("a level-10 monitor", rsc.monitor(10)),
        ("start", rsc.start()),
        ("another resource on the same share", Rsc::new(&lab, &dir).named("fs-2").start()),
    ] {
        expect_reason(&run, 1, &format!("{}: earlier I/O check pid {} did not finish within", dir.display(), stuck[0]), what);
        assert!(run.elapsed < Duration::from_millis(500), "{what} waited {:?}", run.elapsed);
        assert_eq!(io_check_children(&dir), stuck, "{what} started another child");
    }
    expect(&rsc.stop(), 0, "stop with on_hang=fail");

    lab.thaw(&dir);
    assert!(wait_until(Duration::from_secs(5), || io_check_children(&dir).is_empty()), "the stuck child ended after thawing");
    expect(&rsc.start(), 0, "start after thawing");
    expect(&rsc.monitor(20), 0, "level 20 after thawing");
    no_probe_files_left(&dir);
}

#[test]
fn on_hang_fence_makes_the_next_stop_fail() {
    if !can_loop_mount() {
        return;
    }
    let mut lab = Lab::new("fence");
    let (dir, _) = lab.ext4("disk");
    let fence = Rsc::new(&lab, &dir).with("io_timeout", "1").with("on_hang", "fence");
    expect(&fence.start(), 0, "start");
    expect(&fence.stop(), 0, "stop without a hang");
    expect(&fence.start(), 0, "start again");
    lab.freeze(&dir);
    expect_reason(&fence.monitor(20), 1, "I/O did not finish", "level 20 on a frozen share");
    let stop = fence.stop();
    expect_reason(&stop, 1, "fenced (on_hang=fence)", "stop after a hang");
    expect(&fence.monitor(0), 7, "the failed stop still forgot the start");
    expect(&fence.stop(), 0, "only one stop fails per hang");

    // on_hang=fail: the same hang does not fail the stop.
    let fail = Rsc::new(&lab, &dir).named("fs-fail").with("io_timeout", "1");
    expect_reason(&fail.start(), 1, "earlier I/O check pid", "start on a hung share");
    expect(&fail.stop(), 0, "stop with on_hang=fail");

    // A hang seen by start arms the stop too.
    expect_reason(&fence.start(), 1, "earlier I/O check pid", "start on a hung share");
    expect_reason(&fence.stop(), 1, "fenced", "stop after a failed start on a hung share");
    lab.thaw(&dir);
    assert!(wait_until(Duration::from_secs(5), || io_check_children(&dir).is_empty()), "the stuck child ended after thawing");
    expect(&fence.start(), 0, "start after thawing");
    expect(&fence.stop(), 0, "stop after thawing");

    // Pacemaker did not recover (e.g. on-fail=ignore) and the share came back: no fence later.
    expect(&fence.start(), 0, "start");
    lab.freeze(&dir);
    expect_reason(&fence.monitor(20), 1, "I/O did not finish", "a hang");
    lab.thaw(&dir);
    assert!(wait_until(Duration::from_secs(5), || io_check_children(&dir).is_empty()), "the stuck child ended after thawing");
    expect(&fence.monitor(20), 0, "the share works again");
    expect(&fence.stop(), 0, "a working share took the hang back");
}

#[test]
fn a_tolerated_timeout_passes_and_arms_nothing() {
    if !can_loop_mount() {
        return;
    }
    let mut lab = Lab::new("tolerated");
    let (dir, _) = lab.ext4("disk");
    let rsc = Rsc::new(&lab, &dir).with("io_timeout", "1").with("on_hang", "fence").with("check_timeouts_tolerated", "1");
    expect(&rsc.start(), 0, "start");
    lab.freeze(&dir);
    let tolerated = rsc.monitor(20);
    expect(&tolerated, 0, "the first timeout is tolerated");
    assert!(tolerated.stderr.contains("MWHA6003W"), "{}", tolerated.stderr);
    lab.thaw(&dir);
    assert!(wait_until(Duration::from_secs(5), || io_check_children(&dir).is_empty()), "the stuck child ended after thawing");
    expect(&rsc.monitor(20), 0, "a good check resets the count");
    expect(&rsc.stop(), 0, "a tolerated timeout does not arm on_hang=fence");

    expect(&rsc.start(), 0, "start again");
    lab.freeze(&dir);
    expect(&rsc.monitor(20), 0, "the first timeout is tolerated");
    expect_reason(&rsc.monitor(20), 1, "earlier I/O check pid", "the second in a row is not");
    expect_reason(&rsc.stop(), 1, "fenced (on_hang=fence)", "the failed monitor armed the stop");
}

#[test]
fn the_io_checks_run_as_user() {
    const USER: &str = "mwhatest";
    if !can_mount() || !require("user mwhatest", testkit::ensure_user(USER)) {
        return;
    }
    let mut lab = Lab::new("user");
    let dir = lab.tmpfs("share", "size=1m,mode=0755");
    let rsc = Rsc::new(&lab, &dir).agent(&lab.agent_for_everyone()).with("user", USER).with("marker", ".warp-volume");
    fs::write(dir.join(".warp-volume"), "").unwrap();
    // Like root on a root_squash export: the user may read but not create files here.
    expect_reason(&rsc.start(), 1, "creating probe file .sharedfs-probe", "a directory the user cannot write");
    expect(&rsc.with("user", "root").start(), 0, "root can");
    let uid = nix::unistd::User::from_name(USER).unwrap().unwrap().uid.as_raw();
    std::os::unix::fs::chown(&dir, Some(uid), None).unwrap();
    expect(&rsc.start(), 0, "the user's own directory");
    expect(&rsc.monitor(20), 0, "level 20 as the user");
    no_probe_files_left(&dir);
    expect_reason(&rsc.with("user", "mwha-no-such-user").monitor(10), 2, "does not exist on this node", "an unknown user");
}

#[test]
fn validate_all_checks_syntax_only() {
    let lab = Lab::new("validate");
    let absent = lab.dir.join("absent");
    let rsc = Rsc::new(&lab, &absent);
    expect(&rsc.run("validate-all", &[]), 0, "a directory that does not exist here");
    let full = Rsc::new(&lab, &absent)
        .with("source", "nas:/export/warp")
        .with("fstype", "nfs")
        .with("marker", ".warp-volume")
        .with("marker_content", "vol-1")
        .with("min_free", "500M")
        .with("options", "rw,hard")
        .with("io_timeout", "10s")
        .with("on_hang", "fence");
    expect(&full.run("validate-all", &[]), 0, "every parameter");
    for (name, value, needle) in [
        ("directory", "srv/warp", "absolute"),
        ("min_free", "lots", "min_free"),
        ("on_hang", "reboot", "on_hang"),
        ("io_timeout", "soon", "io_timeout"),
        ("marker", "/etc/hostname", "marker"),
    ] {
        let bad = Rsc::new(&lab, &absent).with(name, value);
        for action in ["validate-all", "start", "monitor"] {
            expect_reason(&bad.run(action, &[]), 6, needle, &format!("{action} with {name}={value}"));
        }
    }
    let missing = Rsc { params: Vec::new(), ..Rsc::new(&lab, &absent) };
    expect_reason(&missing.run("validate-all", &[]), 6, "directory is required", "no directory");
    // A user missing on this node is this node's problem (2), as start says.
    let stranger = Rsc::new(&lab, &absent).with("user", "mwha-no-such-user");
    expect_reason(&stranger.run("validate-all", &[]), 2, "does not exist", "a user missing here");
    assert!(!absent.exists() && !lab.run_dir().exists(), "validate-all touched nothing");
}
