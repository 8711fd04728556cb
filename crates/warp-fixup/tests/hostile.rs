//! Hostile input, kept as a permanent suite ("Never touch what is not the product"): links
//! anywhere below data_dir, the store and the sweep folders; sweep folders that are, hold or lie
//! in what the agent protects; server.xconf nested absurdly deep; files too big to read, and
//! things that are not files at all. Every case runs the real binary (CLI and OCF agent) and
//! asserts both the refusal and that the other tree is byte-, inode- and mode-identical.

mod support;

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use support::*;
use testkit::{run_agent, AgentRun};

// --- running the agent like Pacemaker does ---

fn agent(node: &Node, action: &str, overrides: &[(&str, &str)], env: &[(&str, &str)]) -> AgentRun {
    let run_dir = node.sandbox.path().join("run").display().to_string();
    let mut params: Vec<(&str, String)> =
        vec![("data_dir", node.data_str()), ("store", node.store_str()), ("identity_paths", IDENTITY_PATHS.to_string())];
    for (name, value) in overrides {
        params.retain(|(n, _)| n != name);
        params.push((name, value.to_string()));
    }
    let params: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut all_env: Vec<(&str, &str)> = vec![("MWHA_RUN_DIR", &run_dir)];
    all_env.extend(env);
    run_agent(Path::new(BIN), action, "fixup", &params, &all_env)
}

fn recurring_monitor(node: &Node) -> AgentRun {
    agent(node, "monitor", &[], &[("OCF_RESKEY_CRM_meta_interval", "30000")])
}

fn expect_rc(run: &AgentRun, code: i32, what: &str) {
    assert_eq!(run.code, code, "{what}: expected rc {code}\n--- stderr\n{}--- stdout\n{}", run.stderr, run.stdout);
}

fn expect_reason(run: &AgentRun, needle: &str) {
    let reason = run.exit_reason().unwrap_or_default();
    assert!(reason.contains(needle), "expected {needle:?} in the exit reason {reason:?}\n--- stderr\n{}", run.stderr);
}

/// Runs the CLI and asserts its exit code and that its output names `needle`.
fn cli_refuses(node: &Node, subcommand: &str, extra: &[&str], code: i32, needle: &str) {
    let out = node.cli(&[subcommand], extra);
    expect(&out, code, &format!("{subcommand} {extra:?}"));
    assert!(text(&out).contains(needle), "{subcommand}: expected {needle:?} in\n{}", text(&out));
}

// --- what "untouched" means for a whole tree ---

/// Every file (content, inode, mtime, mode, owner) and every folder (mode, owner) below `dir`,
/// `dir` included.
#[derive(Debug, PartialEq, Eq)]
struct Tree {
    files: Vec<FileState>,
    folders: Vec<(PathBuf, u32, u32, u32)>,
}

fn tree(dir: &Path) -> Tree {
    fn folders(dir: &Path, out: &mut Vec<(PathBuf, u32, u32, u32)>) {
        let meta = fs::symlink_metadata(dir).unwrap();
        out.push((dir.to_path_buf(), meta.mode(), meta.uid(), meta.gid()));
        for entry in files_in(dir) {
            if fs::symlink_metadata(&entry).unwrap().is_dir() {
                folders(&entry, out);
            }
        }
    }
    let mut all = Vec::new();
    folders(dir, &mut all);
    Tree { files: snapshot(dir), folders: all }
}

/// The other node's `system` folder somewhere outside the data folder, with modes apply would
/// "restore" and files it would replace, quarantine or rewrite if it ever got there.
fn other_system(node: &Node) -> PathBuf {
    let other = node.sandbox.path().join("other-node/system");
    fs::create_dir_all(other.join("license")).unwrap();
    fs::create_dir_all(other.join("conf")).unwrap();
    fs::write(other.join("license/license.key"), OTHER_LICENSE).unwrap();
    fs::write(other.join("license/node2-extra.key"), "NODE2-EXTRA\n").unwrap();
    fs::write(other.join("conf/server.xconf"), OTHER_XCONF).unwrap();
    fs::set_permissions(other.join("license"), fs::Permissions::from_mode(0o777)).unwrap();
    fs::set_permissions(other.join("license/license.key"), fs::Permissions::from_mode(0o666)).unwrap();
    other
}

fn symlink(to: &Path, at: &Path) {
    std::os::unix::fs::symlink(to, at).unwrap();
}

fn age(path: &Path, by: Duration) {
    fs::File::options().write(true).open(path).unwrap().set_modified(SystemTime::now() - by).unwrap();
}

const HOURS_3: Duration = Duration::from_secs(3 * 3600);

// --- 1. links below data_dir, the store and the sweep folders ---

/// `data_dir/system`, `system/license` or `system/conf` is a link into another tree: every
/// action that reads or writes the identity refuses, naming the link, and the other tree stays
/// as it was (no chmod, no quarantine, no rewrite).
#[test]
fn a_link_below_data_dir_is_refused_and_the_other_tree_is_untouched() {
    if !root() {
        return;
    }
    for linked in ["system", "system/license", "system/conf"] {
        let node = Node::captured("hostile-link");
        expect_rc(&agent(&node, "start", &[], &[]), 0, "start before the link appears");
        let other = other_system(&node);
        let target = other.join(linked.strip_prefix("system").unwrap().trim_start_matches('/'));
        let at = node.data.join(linked);
        fs::remove_dir_all(&at).unwrap();
        symlink(&target, &at);
        let before = tree(&other);
        let message = format!("{} is a symlink, not a directory (refused)", at.display());

        cli_refuses(&node, "apply", &[], 2, &message);
        cli_refuses(&node, "apply", &["--dry-run"], 2, &message);
        cli_refuses(&node, "verify", &[], 2, &message);
        cli_refuses(&node, "capture", &["--force"], 2, &message);
        if linked != "system/license" {
            let out = run(&["inspect", "--data-dir", &node.data_str()]);
            expect(&out, 2, "inspect");
            assert!(text(&out).contains(&message), "{linked}: {}", text(&out));
        }
        let start = agent(&node, "start", &[], &[]);
        expect_rc(&start, 1, &format!("start with {linked} linked"));
        expect_reason(&start, "is a symlink, not a directory (refused)");
        let monitor = recurring_monitor(&node);
        expect_rc(&monitor, 1, &format!("monitor with {linked} linked"));
        expect_reason(&monitor, "is a symlink, not a directory (refused)");

        assert_eq!(tree(&other), before, "{linked}: the other tree was touched");
        assert!(node.quarantined().is_empty(), "{linked}: nothing quarantined: {:?}", node.quarantined());
        assert!(node.backups().is_empty(), "{linked}: no server.xconf backed up");
    }
}

/// A folder of the store (license, backup, quarantine) replaced by a link into another tree:
/// the store is refused and nothing in the other tree is written.
#[test]
fn a_link_below_the_store_is_refused_and_the_other_tree_is_untouched() {
    if !root() {
        return;
    }
    for place in ["license", "backup", "quarantine"] {
        let node = Node::captured("hostile-store");
        node.overwrite_with_other_node();
        expect(&node.cli(&["apply"], &[]), 0, "apply creates backup/ and quarantine/");
        let elsewhere = node.sandbox.path().join("elsewhere");
        fs::rename(node.store.join(place), &elsewhere).unwrap();
        symlink(&elsewhere, &node.store.join(place));
        node.overwrite_with_other_node();
        let before = tree(&elsewhere);
        let data_before = snapshot(&node.data);
        let message = format!("{} is a symlink", node.store.join(place).display());

        cli_refuses(&node, "apply", &[], 2, &message);
        cli_refuses(&node, "verify", &[], 2, &message);
        let work = node.data.join("work");
        fs::create_dir_all(&work).unwrap();
        fs::write(work.join("old.tmp"), "old").unwrap();
        age(&work.join("old.tmp"), HOURS_3);
        let store = node.store_str();
        let out = run(&["sweep", "--store", &store, "--sweep-dirs", &work.display().to_string(), "--sweep-age", "1h"]);
        expect(&out, 2, "a quarantine sweep into a linked store");
        assert!(text(&out).contains(&message), "{}", text(&out));
        assert!(work.join("old.tmp").exists());
        let start = agent(&node, "start", &[], &[]);
        expect_rc(&start, 1, &format!("start with store/{place} linked"));
        expect_reason(&start, "is a symlink");

        assert_eq!(tree(&elsewhere), before, "store/{place}: the other tree was touched");
        fs::remove_dir_all(&work).unwrap();
        assert_eq!(snapshot(&node.data), data_before, "store/{place}: the data folder was written");
    }
}

/// A sweep folder below data_dir reached through a link (`data_dir/work -> elsewhere`,
/// `sweep_dirs=data_dir/work/in`): not swept, the failure names the link, the other tree stays.
/// Links inside a sweep folder and a sweep folder that is itself a link are never followed.
#[test]
fn a_link_on_the_way_to_a_sweep_folder_is_refused_and_the_other_tree_is_untouched() {
    if !root() {
        return;
    }
    let node = Node::captured("hostile-sweep");
    let other = node.sandbox.path().join("other-work");
    fs::create_dir_all(other.join("in/deeper")).unwrap();
    for file in ["in/old.tmp", "in/deeper/old.csv"] {
        fs::write(other.join(file), file).unwrap();
        fs::set_permissions(other.join(file), fs::Permissions::from_mode(0o640)).unwrap();
        age(&other.join(file), HOURS_3);
    }
    symlink(&other, &node.data.join("work"));
    // Inside a real sweep folder: a link to the other tree, and a sweep folder that is a link.
    let real = node.data.join("real-work");
    fs::create_dir_all(&real).unwrap();
    symlink(&other.join("in"), &real.join("linked-in"));
    symlink(&other.join("in"), &node.data.join("linked-work"));
    let before = tree(&other);
    let sweep_dir = node.data.join("work/in").display().to_string();
    let message = format!("{} is a symlink, not a directory (refused)", node.data.join("work").display());

    for action in ["quarantine", "delete"] {
        cli_refuses(&node, "apply", &["--sweep-dirs", &sweep_dir, "--sweep-age", "1h", "--sweep-action", action], 1, &message);
        let store = node.store_str();
        let data = node.data_str();
        let out = run(&["sweep", "--store", &store, "--data-dir", &data, "--sweep-dirs", &sweep_dir, "--sweep-action", action]);
        expect(&out, 1, "sweep through a link");
        assert!(text(&out).contains(&message), "{}", text(&out));
    }
    let start = agent(&node, "start", &[("sweep_dirs", &sweep_dir), ("sweep_age", "1h"), ("sweep_action", "delete")], &[]);
    expect_rc(&start, 0, "a refused sweep is logged, it does not keep the flow service down");
    assert!(start.stderr.contains(&message), "{}", start.stderr);

    let (real_dir, linked) = (real.display().to_string(), node.data.join("linked-work").display().to_string());
    let both = format!("{real_dir} {linked}");
    let out = node.cli(&["apply"], &["--sweep-dirs", &both, "--sweep-age", "1h", "--sweep-action", "delete"]);
    expect(&out, 0, "links inside a sweep folder and a linked sweep folder are left alone");
    assert!(text(&out).contains("1 symlink(s) not followed") && text(&out).contains("is a symlink: not swept"), "{}", text(&out));

    assert_eq!(tree(&other), before, "the other tree was touched");
    assert!(node.quarantined().is_empty(), "{:?}", node.quarantined());
}

// --- 2. sweep folders that are, hold or lie in what the agent protects ---

/// validate-all (and so start) refuses such sweep_dirs with 6 and an exit reason naming the
/// parameter and the cause; folders inside data_dir or inside /tmp are fine.
#[test]
fn validate_refuses_sweep_dirs_that_hold_what_the_agent_protects() {
    if !root() {
        return;
    }
    let node = Node::captured("hostile-validate");
    let data = node.data_str();
    let store = node.store_str();
    let cases = [
        (data.clone(), format!("sweep_dirs: {data} is data_dir")),
        (format!("{data}/"), format!("sweep_dirs: {data} is data_dir")),
        (format!("{data}/system"), "contains the license folder".to_string()),
        (format!("{data}/system/license"), "is the license folder".to_string()),
        (format!("{data}/system/license/old"), "is inside the license folder".to_string()),
        (format!("{data}/system/conf"), "is the folder of server.xconf".to_string()),
        (format!("{data}/work {data}/./system/conf/"), "is the folder of server.xconf".to_string()),
        (node.sandbox.path().display().to_string(), "contains the license folder".to_string()),
        (store.clone(), "is the identity store".to_string()),
        (format!("{store}/quarantine"), "is inside the identity store".to_string()),
        ("/".to_string(), "sweep_dirs: / is a system folder".to_string()),
        ("/etc".to_string(), "sweep_dirs: /etc is a system folder".to_string()),
        ("/etc/".to_string(), "sweep_dirs: /etc is a system folder".to_string()),
        ("/tmp".to_string(), "sweep_dirs: /tmp is a system folder".to_string()),
        ("/var/tmp/.".to_string(), "sweep_dirs: /var/tmp is a system folder".to_string()),
        ("/usr/local/bin/..".to_string(), "sweep_dirs: /usr/local is a system folder".to_string()),
        ("/home".to_string(), "sweep_dirs: /home is a system folder".to_string()),
        ("/var/lib".to_string(), "sweep_dirs: /var/lib is a system folder".to_string()),
    ];
    for (dirs, why) in &cases {
        let validate = agent(&node, "validate-all", &[("sweep_dirs", dirs)], &[]);
        expect_rc(&validate, 6, &format!("validate-all with sweep_dirs={dirs:?}"));
        expect_reason(&validate, why);
    }
    let keep = node.sandbox.path().join("keep");
    let (keep, keep_store) = (keep.display().to_string(), keep.join("store").display().to_string());
    let validate = agent(&node, "validate-all", &[("sweep_dirs", &keep), ("store", &keep_store)], &[]);
    expect_rc(&validate, 6, "a sweep folder holding the store");
    expect_reason(&validate, &format!("sweep_dirs: {keep} contains the identity store"));
    // start refuses too, before anything is written.
    node.overwrite_with_other_node();
    let before = snapshot(&node.data);
    let start = agent(&node, "start", &[("sweep_dirs", &data)], &[]);
    expect_rc(&start, 6, "start with sweep_dirs=data_dir");
    expect_reason(&start, "is data_dir");
    assert_eq!(snapshot(&node.data), before, "nothing written");
    for fine in [format!("{data}/work"), format!("{data}/work/tmp {data}/log"), "/tmp/warp-work".to_string(), "/var/tmp/warp".to_string()] {
        expect_rc(&agent(&node, "validate-all", &[("sweep_dirs", &fine)], &[]), 0, &format!("sweep_dirs={fine:?}"));
    }
}

/// The CLI refuses the same folders before it touches anything, dry run or not (exit 2).
#[test]
fn the_cli_refuses_sweep_dirs_that_hold_what_the_agent_protects() {
    if !root() {
        return;
    }
    let node = Node::captured("hostile-cli-sweep");
    node.overwrite_with_other_node();
    let data = node.data_str();
    let store = node.store_str();
    let data_before = snapshot(&node.data);
    let store_before = snapshot(&node.store);
    for (dirs, why) in [
        (data.clone(), format!("--sweep-dirs: {data} is data_dir")),
        (format!("{data}/system"), format!("--sweep-dirs: {data}/system contains the license folder")),
        (format!("{data}/system/conf"), "is the folder of server.xconf".to_string()),
        (format!("{store}/backup"), "is inside the identity store".to_string()),
        ("/etc".to_string(), "--sweep-dirs: /etc is a system folder".to_string()),
    ] {
        for dry_run in [true, false] {
            let mut extra = vec!["--sweep-dirs", &dirs, "--sweep-age", "1s"];
            if dry_run {
                extra.push("--dry-run");
            }
            cli_refuses(&node, "apply", &extra, 2, &why);
            let mut args = vec!["sweep", "--store", &store, "--data-dir", &data];
            args.extend(&extra);
            let out = run(&args);
            expect(&out, 2, &format!("sweep {dirs} (dry run: {dry_run})"));
            assert!(text(&out).contains(&why), "{}", text(&out));
        }
    }
    // Without --data-dir the store and the system trees are still off limits.
    for (dirs, why) in [("/etc", "--sweep-dirs: /etc is a system folder"), ("/", "--sweep-dirs: / is a system folder")] {
        let out = run(&["sweep", "--store", &store, "--sweep-dirs", dirs, "--sweep-action", "delete", "--dry-run"]);
        expect(&out, 2, dirs);
        assert!(text(&out).contains(why) && !text(&out).contains("would delete"), "{}", text(&out));
    }
    let out = run(&["sweep", "--store", &store, "--sweep-dirs", &store]);
    expect(&out, 2, "sweep of the store");
    assert!(text(&out).contains("is the identity store"), "{}", text(&out));
    assert_eq!(snapshot(&node.data), data_before, "the data folder was touched");
    assert_eq!(snapshot(&node.store), store_before, "the store was touched");
}

// --- 3. server.xconf nested absurdly deep ---

fn nested(depth: usize) -> String {
    format!("<?xml version=\"1.0\"?>\n{}{}\n", "<server>".repeat(depth), "</server>".repeat(depth))
}

/// 50,000 nested elements: every reader refuses with the reason (inspect used to panic in
/// its formatting), and nothing is written.
#[test]
fn a_deeply_nested_server_xconf_is_refused_by_every_reader() {
    if !root() {
        return;
    }
    let node = Node::captured("hostile-deep");
    expect_rc(&agent(&node, "start", &[], &[]), 0, "start");
    fs::write(node.xconf(), nested(50_000)).unwrap();
    fs::write(node.license(), OTHER_LICENSE).unwrap();
    let why = "server.xconf nests elements more than 256 deep";
    let out = run(&["inspect", "--data-dir", &node.data_str()]);
    expect(&out, 2, "inspect");
    assert!(text(&out).contains(why), "{}", text(&out));
    let out = run(&["inspect", "--xconf", &node.xconf().display().to_string(), "--json"]);
    expect(&out, 2, "inspect --json");
    let before = snapshot(&node.data);
    for subcommand in ["apply", "verify", "capture"] {
        cli_refuses(&node, subcommand, &["--force"][..usize::from(subcommand == "capture")], 2, why);
    }
    let monitor = recurring_monitor(&node);
    expect_rc(&monitor, 1, "monitor");
    expect_reason(&monitor, "nests elements more than 256 deep");
    let start = agent(&node, "start", &[], &[]);
    expect_rc(&start, 1, "start");
    expect_reason(&start, "nests elements more than 256 deep");
    assert_eq!(snapshot(&node.data), before, "nothing written");
}

/// An element name longer than a format width may be: inspect lists it instead of panicking.
#[test]
fn inspect_lists_a_huge_element_name() {
    let sandbox = testkit::Sandbox::new("hostile-long-name");
    let name = "n".repeat(70_000);
    let xconf = sandbox.path().join("server.xconf");
    fs::write(&xconf, format!("<server><{name}>value</{name}><id>x</id></server>")).unwrap();
    let out = run(&["inspect", "--xconf", &xconf.display().to_string()]);
    expect(&out, 0, "inspect");
    assert!(text(&out).contains(&format!("/server/{name}  \"value\"")), "the long location is listed");
    let listing = text(&out);
    assert!(listing.lines().any(|l| l.starts_with("/server/id ") && l.ends_with(" \"x\"")), "{}", &listing[listing.len() - 200..]);
}

// --- 4. files too big to read, and things that are not files ---

/// A sparse file far bigger than any real one, in place of server.xconf, a license file or the
/// store's manifest: refused by size, never read into memory.
#[test]
fn oversized_files_are_refused_not_read() {
    if !root() {
        return;
    }
    let node = Node::captured("hostile-big");
    expect_rc(&agent(&node, "start", &[], &[]), 0, "start");
    let huge = |path: &Path| fs::File::create(path).unwrap().set_len(64 << 20).unwrap();

    huge(&node.xconf());
    let why = format!("{} is 67108864 bytes, more than the 16777216 read at most (refused)", node.xconf().display());
    for subcommand in ["apply", "verify"] {
        cli_refuses(&node, subcommand, &[], 2, &why);
        // Replacing it whole does not mean reading it whole.
        cli_refuses(&node, subcommand, &["--identity-mode", "whole-file"], 2, &why);
    }
    cli_refuses(&node, "capture", &["--force"], 2, &why);
    let out = run(&["inspect", "--data-dir", &node.data_str()]);
    expect(&out, 2, "inspect");
    assert!(text(&out).contains(&why), "{}", text(&out));
    let monitor = recurring_monitor(&node);
    expect_rc(&monitor, 1, "monitor");
    expect_reason(&monitor, "more than the 16777216 read at most");
    assert_eq!(fs::metadata(node.xconf()).unwrap().len(), 64 << 20, "left as it was");
    fs::write(node.xconf(), OWN_XCONF).unwrap();

    huge(&node.license());
    let why = format!("{} is 67108864 bytes, more than the 4194304 read at most (refused)", node.license().display());
    cli_refuses(&node, "apply", &[], 2, &why);
    cli_refuses(&node, "capture", &["--force"], 2, &why);
    assert_eq!(fs::metadata(node.license()).unwrap().len(), 64 << 20, "left as it was");
    fs::write(node.license(), OWN_LICENSE).unwrap();

    huge(&node.store.join("server.xconf"));
    cli_refuses(&node, "apply", &[], 2, "server.xconf is 67108864 bytes, more than the 16777216 read at most (refused)");
    huge(&node.store.join("SHA256SUMS"));
    cli_refuses(&node, "apply", &[], 2, "SHA256SUMS is 67108864 bytes, more than the 1048576 read at most (refused)");
}

/// A FIFO (which would block a reader forever), a device node like /dev/zero (which never ends)
/// and a link to /dev/zero, in place of server.xconf or a license file: refused at once.
#[test]
fn fifos_devices_and_links_to_them_are_refused() {
    if !root() {
        return;
    }
    let node = Node::captured("hostile-special");
    let device = node.sandbox.path().join("zero");
    let have_device = nix::sys::stat::mknod(
        &device,
        nix::sys::stat::SFlag::S_IFCHR,
        nix::sys::stat::Mode::from_bits_truncate(0o666),
        nix::sys::stat::makedev(1, 5),
    )
    .is_ok();
    for (file, own) in [(node.xconf(), OWN_XCONF), (node.license(), OWN_LICENSE)] {
        fs::remove_file(&file).unwrap();
        nix::unistd::mkfifo(&file, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        let why = format!("{} is not a regular file", file.display());
        cli_refuses(&node, "apply", &[], 2, &why);
        cli_refuses(&node, "apply", &["--identity-mode", "whole-file"], 2, &why);
        cli_refuses(&node, "capture", &["--force"], 2, "is not a regular file");
        fs::remove_file(&file).unwrap();
        symlink(Path::new("/dev/zero"), &file);
        cli_refuses(&node, "apply", &[], 2, "is a symlink");
        cli_refuses(&node, "apply", &["--identity-mode", "whole-file"], 2, "is a symlink");
        fs::remove_file(&file).unwrap();
        if have_device {
            fs::rename(&device, &file).unwrap();
            cli_refuses(&node, "apply", &[], 2, &why);
            fs::rename(&file, &device).unwrap();
        }
        fs::write(&file, own).unwrap();
    }
    if !have_device {
        eprintln!("SKIPPED (part): mknod of a character device failed here");
    }
    expect(&node.cli(&["verify"], &[]), 0, "everything back in place");
}
