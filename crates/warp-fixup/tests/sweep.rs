//! `warp-fixup sweep`: age, dry run, quarantine versus delete, symlinks never followed, the walk
//! never leaving the sweep folder, and files open by a process left alone.

mod support;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use support::*;

fn age(path: &Path, by: Duration) {
    let file = fs::File::options().write(true).open(path).unwrap();
    file.set_modified(SystemTime::now() - by).unwrap();
}

const HOUR: Duration = Duration::from_secs(3600);

/// A sweep folder with old and fresh files, an old file behind a symlinked folder outside, and
/// a symlink to an old file outside.
struct Leftovers {
    node: Node,
    work: PathBuf,
    outside: PathBuf,
}

fn leftovers(name: &str) -> Leftovers {
    let node = Node::captured(name);
    let work = node.data.join("work");
    let outside = node.sandbox.path().join("outside");
    fs::create_dir_all(work.join("flow1/tmp")).unwrap();
    fs::create_dir_all(&outside).unwrap();
    for (path, old) in [("old.tmp", true), ("flow1/tmp/half.csv", true), ("fresh.tmp", false), ("flow1/fresh.csv", false)] {
        fs::write(work.join(path), format!("content of {path}")).unwrap();
        if old {
            age(&work.join(path), 3 * HOUR);
        }
    }
    fs::write(outside.join("precious.dat"), "outside").unwrap();
    age(&outside.join("precious.dat"), 30 * HOUR);
    std::os::unix::fs::symlink(outside.join("precious.dat"), work.join("link-to-file")).unwrap();
    std::os::unix::fs::symlink(&outside, work.join("link-to-dir")).unwrap();
    Leftovers { node, work, outside }
}

fn sweep(l: &Leftovers, extra: &[&str]) -> std::process::Output {
    let store = l.node.store_str();
    let dirs = l.work.display().to_string();
    let mut args = vec!["sweep", "--store", &store, "--sweep-dirs", &dirs, "--sweep-age", "1h"];
    args.extend(extra);
    run(&args)
}

fn assert_outside_untouched(l: &Leftovers) {
    assert_eq!(fs::read_to_string(l.outside.join("precious.dat")).unwrap(), "outside");
    assert!(fs::symlink_metadata(l.work.join("link-to-file")).unwrap().file_type().is_symlink(), "symlinks are left alone");
    assert!(fs::symlink_metadata(l.work.join("link-to-dir")).unwrap().file_type().is_symlink());
}

#[test]
fn dry_run_lists_what_would_go_and_changes_nothing() {
    if !root() {
        return;
    }
    let l = leftovers("sweep-dry");
    let before = snapshot(&l.work);
    let out = sweep(&l, &["--dry-run"]);
    expect(&out, 0, "sweep --dry-run");
    let listing = text(&out);
    assert!(listing.contains(&format!("would quarantine {}", l.work.join("old.tmp").display())), "{listing}");
    assert!(listing.contains(&format!("would quarantine {}", l.work.join("flow1/tmp/half.csv").display())), "{listing}");
    assert!(!listing.contains("fresh"), "{listing}");
    assert!(!listing.contains("precious"), "{listing}");
    assert!(
        listing.contains("would quarantine 2 file(s)") && listing.contains("oldest 3h00m") && listing.contains("2 symlink(s) not followed"),
        "{listing}"
    );
    assert_eq!(snapshot(&l.work), before);
    assert!(l.node.quarantined().is_empty());
    assert_outside_untouched(&l);
}

#[test]
fn quarantine_keeps_the_files_under_their_original_path() {
    if !root() {
        return;
    }
    let l = leftovers("sweep-quarantine");
    let out = sweep(&l, &[]);
    expect(&out, 0, "sweep");
    assert!(!l.work.join("old.tmp").exists() && !l.work.join("flow1/tmp/half.csv").exists());
    assert!(l.work.join("fresh.tmp").exists() && l.work.join("flow1/fresh.csv").exists());
    let kept = l.node.quarantined();
    assert_eq!(kept.len(), 2, "{kept:?}");
    let half = kept.iter().find(|p| p.ends_with("flow1/tmp/half.csv")).expect("half.csv quarantined");
    let below = half.strip_prefix(l.node.store.join("quarantine")).unwrap().to_string_lossy().into_owned();
    assert!(below.contains(&format!("/sweep{}/", l.work.display())), "{below}");
    assert_eq!(fs::read_to_string(half).unwrap(), "content of flow1/tmp/half.csv");
    assert_outside_untouched(&l);
    // The store stays usable: quarantined files keep their owners, which the store check allows.
    expect(&l.node.cli(&["verify"], &[]), 0, "verify after a sweep");
}

#[test]
fn delete_removes_only_old_files_inside_the_folder() {
    if !root() {
        return;
    }
    let l = leftovers("sweep-delete");
    let json = sweep(&l, &["--sweep-action", "delete", "--json"]);
    expect(&json, 0, "sweep --sweep-action delete");
    let parsed: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(parsed["files"].as_array().unwrap().len(), 2, "{parsed:#}");
    assert_eq!(parsed["action"], "delete");
    assert!(!l.work.join("old.tmp").exists() && !l.work.join("flow1/tmp/half.csv").exists());
    assert!(l.work.join("fresh.tmp").exists() && l.work.join("flow1/tmp").is_dir(), "folders are kept");
    assert!(l.node.quarantined().is_empty());
    assert_outside_untouched(&l);
}

#[test]
fn open_files_and_symlinked_sweep_folders_are_left_alone() {
    if !root() {
        return;
    }
    let l = leftovers("sweep-open");
    // This test process holds the file open, as a running flow would.
    let held = fs::File::open(l.work.join("old.tmp")).unwrap();
    let linked = l.node.sandbox.path().join("linked-work");
    std::os::unix::fs::symlink(&l.outside, &linked).unwrap();
    let store = l.node.store_str();
    let dirs = format!("{} {} {}", l.work.display(), linked.display(), l.node.sandbox.path().join("absent").display());
    let out = run(&["sweep", "--store", &store, "--sweep-dirs", &dirs, "--sweep-age", "1h", "--sweep-action", "delete"]);
    expect(&out, 0, "sweep");
    let listing = text(&out);
    assert!(l.work.join("old.tmp").exists(), "an open file is never removed:\n{listing}");
    assert!(listing.contains("left alone (open by a process)"), "{listing}");
    assert!(listing.contains("is a symlink: not swept"), "{listing}");
    assert!(listing.contains("does not exist: not swept"), "{listing}");
    assert!(!l.work.join("flow1/tmp/half.csv").exists());
    assert_outside_untouched(&l);
    drop(held);
}

#[test]
fn a_sweep_folder_holding_the_store_and_bad_options_are_refused() {
    if !root() {
        return;
    }
    let l = leftovers("sweep-args");
    let store = l.node.store_str();
    for store_file in support::walk_files(&l.node.store) {
        age(&store_file, 5 * HOUR);
    }
    let parent = l.node.sandbox.path().display().to_string();
    let before = snapshot(&l.node.store);
    let out = run(&["sweep", "--store", &store, "--sweep-dirs", &parent, "--sweep-age", "1h"]);
    expect(&out, 2, "sweep of a folder holding the store");
    assert!(text(&out).contains(&format!("--sweep-dirs: {parent} contains the identity store")), "{}", text(&out));
    assert_eq!(snapshot(&l.node.store), before, "the store is not swept");
    expect(&run(&["sweep", "--store", &store, "--sweep-dirs", "relative/dir"]), 2, "relative sweep folder");
    expect(&run(&["sweep", "--store", &store, "--sweep-dirs", &parent, "--sweep-age", "1w"]), 2, "bad age");
    expect(&run(&["sweep", "--store", &store, "--sweep-dirs", &parent, "--sweep-action", "shred"]), 2, "bad action");
    expect(&run(&["sweep", "--store", &store]), 2, "no sweep folder");
}

#[test]
fn apply_sweeps_too_when_asked() {
    if !root() {
        return;
    }
    let l = leftovers("sweep-apply");
    l.node.overwrite_with_other_node();
    let dirs = l.work.display().to_string();
    let out = l.node.cli(&["apply"], &["--sweep-dirs", &dirs, "--sweep-age", "2h"]);
    expect(&out, 0, "apply with a sweep");
    assert!(text(&out).contains("quarantined 2 file(s)"), "{}", text(&out));
    assert_eq!(fs::read_to_string(l.node.xconf()).unwrap(), OWN_XCONF);
}
