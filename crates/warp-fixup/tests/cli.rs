//! The `warp-fixup` CLI run as a child process against a stand-in data folder: capture, apply,
//! verify and inspect, the refusals (symlinks, unsafe stores, ambiguous locations, malformed
//! files) that must write nothing, idempotence, quarantine, and owners and modes.

mod support;

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};

use support::*;

#[test]
fn capture_apply_verify_round_trip_puts_this_nodes_identity_back() {
    if !root() {
        return;
    }
    let node = Node::captured("roundtrip");
    let store_meta = fs::metadata(&node.store).unwrap();
    assert_eq!((store_meta.mode() & 0o7777, store_meta.uid()), (0o700, 0), "store is 0700 root");
    // The manifest is `sha256sum -c` compatible.
    let check = std::process::Command::new("sha256sum").arg("-c").arg("SHA256SUMS").current_dir(&node.store).output().unwrap();
    assert!(check.status.success(), "{}", text(&check));

    expect(&node.cli(&["verify"], &[]), 0, "verify right after capture");
    node.overwrite_with_other_node();
    let verify = node.cli(&["verify"], &[]);
    expect(&verify, 1, "verify after the other node's sync");
    let report = text(&verify);
    for item in [
        "/server/serverId",
        "-   \"standin-id\"",
        "+   \"node2-id\"",
        "license.key: content differs",
        "+ ",
        "node2-extra.key: not in the store",
    ] {
        assert!(report.contains(item), "{item:?} missing from\n{report}");
    }

    let apply = node.cli(&["apply"], &[]);
    expect(&apply, 0, "apply");
    assert_eq!(fs::read_to_string(node.xconf()).unwrap(), OWN_XCONF, "every other byte kept");
    assert_eq!(fs::read_to_string(node.license()).unwrap(), OWN_LICENSE);
    assert!(!node.license_dir().join("node2-extra.key").exists());
    // Nothing of the other node is lost: its key and the extra file are quarantined, its
    // server.xconf is the backup.
    let quarantined: Vec<String> = node.quarantined().iter().map(|p| fs::read_to_string(p).unwrap()).collect();
    assert!(quarantined.contains(&OTHER_LICENSE.to_string()) && quarantined.contains(&"NODE2-EXTRA\n".to_string()), "{quarantined:?}");
    let backups = node.backups();
    assert_eq!(backups.len(), 1);
    assert_eq!(fs::read_to_string(&backups[0]).unwrap(), OTHER_XCONF);
    expect(&node.cli(&["verify"], &[]), 0, "verify after apply");
}

#[test]
fn a_second_apply_writes_nothing() {
    if !root() {
        return;
    }
    let node = Node::captured("idem");
    node.overwrite_with_other_node();
    expect(&node.cli(&["apply"], &[]), 0, "first apply");
    let data_before = snapshot(&node.data.join("system"));
    let store_before = snapshot(&node.store);
    let conf_dir_mtime = fs::metadata(node.xconf().parent().unwrap()).unwrap().mtime_nsec();
    let second = node.cli(&["apply"], &[]);
    expect(&second, 0, "second apply");
    assert!(text(&second).contains("already in place: nothing written"), "{}", text(&second));
    assert_eq!(snapshot(&node.data.join("system")), data_before, "data folder untouched (content, inode, mtime, mode, owner)");
    assert_eq!(snapshot(&node.store), store_before, "store untouched (no new backup or quarantine)");
    assert_eq!(fs::metadata(node.xconf().parent().unwrap()).unwrap().mtime_nsec(), conf_dir_mtime, "no temp file created");
    let dry = node.cli(&["apply"], &["--dry-run"]);
    expect(&dry, 0, "dry run with nothing to do");
}

#[test]
fn dry_run_reports_and_writes_nothing() {
    if !root() {
        return;
    }
    let node = Node::captured("dry");
    node.overwrite_with_other_node();
    let before = snapshot(&node.data);
    let dry = node.cli(&["apply"], &["--dry-run"]);
    expect(&dry, 1, "dry run with changes pending");
    assert!(text(&dry).contains("would change"), "{}", text(&dry));
    assert_eq!(snapshot(&node.data), before);
    assert!(node.backups().is_empty() && node.quarantined().is_empty());
}

#[test]
fn owners_and_modes_of_license_files_are_restored() {
    if !root() {
        return;
    }
    let node = Node::new("owners");
    std::os::unix::fs::chown(node.license(), Some(4321), Some(4322)).unwrap();
    fs::set_permissions(node.license(), fs::Permissions::from_mode(0o640)).unwrap();
    std::os::unix::fs::chown(node.license_dir(), Some(4321), Some(4322)).unwrap();
    fs::set_permissions(node.license_dir(), fs::Permissions::from_mode(0o750)).unwrap();
    expect(&node.cli(&["capture"], &[]), 0, "capture");
    // A copy made as root: same content, wrong owner and mode.
    std::os::unix::fs::chown(node.license(), Some(0), Some(0)).unwrap();
    fs::set_permissions(node.license(), fs::Permissions::from_mode(0o666)).unwrap();
    std::os::unix::fs::chown(node.license_dir(), Some(0), Some(0)).unwrap();
    let verify = node.cli(&["verify"], &[]);
    expect(&verify, 1, "verify");
    assert!(text(&verify).contains("owner and mode 0:0 0666 now, 4321:4322 0640 in the store"), "{}", text(&verify));
    let inode = fs::metadata(node.license()).unwrap().ino();
    expect(&node.cli(&["apply"], &[]), 0, "apply");
    let meta = fs::metadata(node.license()).unwrap();
    assert_eq!((meta.uid(), meta.gid(), meta.mode() & 0o7777), (4321, 4322, 0o640));
    assert_eq!(meta.ino(), inode, "same content: fixed in place, not rewritten");
    let dir = fs::metadata(node.license_dir()).unwrap();
    assert_eq!((dir.uid(), dir.gid(), dir.mode() & 0o7777), (4321, 4322, 0o750));
    // A missing file comes back with its owner and mode; a missing folder too.
    fs::remove_dir_all(node.license_dir()).unwrap();
    expect(&node.cli(&["apply"], &[]), 0, "apply into a missing license folder");
    let meta = fs::metadata(node.license()).unwrap();
    assert_eq!((meta.uid(), meta.gid(), meta.mode() & 0o7777), (4321, 4322, 0o640));
    assert_eq!(fs::read_to_string(node.license()).unwrap(), OWN_LICENSE);
    let dir = fs::metadata(node.license_dir()).unwrap();
    assert_eq!((dir.uid(), dir.gid(), dir.mode() & 0o7777), (4321, 4322, 0o750));
}

#[test]
fn extra_license_files_are_quarantined_never_deleted() {
    if !root() {
        return;
    }
    let node = Node::captured("quarantine");
    for round in 0..2 {
        fs::write(node.license_dir().join("extra.key"), format!("extra {round}")).unwrap();
        expect(&node.cli(&["apply"], &[]), 0, "apply");
        assert!(!node.license_dir().join("extra.key").exists());
    }
    let mut kept: Vec<String> = node.quarantined().iter().map(|p| fs::read_to_string(p).unwrap()).collect();
    kept.sort();
    assert_eq!(kept, ["extra 0", "extra 1"], "a second extra of the same name never overwrites the first");
    for path in node.quarantined() {
        assert!(path.starts_with(node.store.join("quarantine")) && path.to_string_lossy().contains("/license/"), "{}", path.display());
    }
}

/// Asserts that `args` is refused (exit 2) with `why`, and that neither the data folder nor the
/// store changed.
fn refused(node: &Node, why: &str) {
    let data = snapshot(&node.data);
    let store = snapshot(&node.store);
    let out = node.cli(&["apply"], &[]);
    expect(&out, 2, why);
    assert!(text(&out).contains(why), "expected {why:?} in\n{}", text(&out));
    assert_eq!(snapshot(&node.data), data, "the data folder was written ({why})");
    assert_eq!(snapshot(&node.store), store, "the store was written ({why})");
}

#[test]
fn a_symlink_in_the_license_folder_is_refused() {
    if !root() {
        return;
    }
    let node = Node::captured("symlink-license");
    node.overwrite_with_other_node();
    let victim = node.sandbox.path().join("victim");
    fs::write(&victim, "precious").unwrap();
    std::os::unix::fs::symlink(&victim, node.license_dir().join("zz-link.key")).unwrap();
    refused(&node, "is a symlink");
    assert_eq!(fs::read_to_string(&victim).unwrap(), "precious");
    // The store's own file name as a symlink: never written through.
    fs::remove_file(node.license_dir().join("zz-link.key")).unwrap();
    fs::remove_file(node.license()).unwrap();
    std::os::unix::fs::symlink(&victim, node.license()).unwrap();
    refused(&node, "is a symlink");
    assert_eq!(fs::read_to_string(&victim).unwrap(), "precious");
}

#[test]
fn a_symlinked_license_folder_or_server_xconf_is_refused() {
    if !root() {
        return;
    }
    let node = Node::captured("symlink-dirs");
    node.overwrite_with_other_node();
    let elsewhere = node.sandbox.path().join("elsewhere");
    fs::rename(node.license_dir(), &elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, node.license_dir()).unwrap();
    refused(&node, "is a symlink");
    fs::remove_file(node.license_dir()).unwrap();
    fs::rename(&elsewhere, node.license_dir()).unwrap();
    let real = node.sandbox.path().join("real.xconf");
    fs::rename(node.xconf(), &real).unwrap();
    std::os::unix::fs::symlink(&real, node.xconf()).unwrap();
    refused(&node, "is a symlink");
    assert_eq!(fs::read_to_string(&real).unwrap(), OTHER_XCONF);
}

#[test]
fn a_symlink_in_the_store_is_refused() {
    if !root() {
        return;
    }
    for place in ["license/license.key", "quarantine/link", "backup"] {
        let node = Node::captured("symlink-store");
        node.overwrite_with_other_node();
        let target = node.store.join(place);
        if target.exists() {
            let moved = node.sandbox.path().join("moved");
            fs::rename(&target, &moved).unwrap();
            std::os::unix::fs::symlink(&moved, &target).unwrap();
        } else {
            fs::create_dir_all(target.parent().unwrap()).unwrap();
            fs::set_permissions(target.parent().unwrap(), fs::Permissions::from_mode(0o700)).unwrap();
            std::os::unix::fs::symlink("/etc", &target).unwrap();
        }
        refused(&node, "is a symlink");
    }
}

#[test]
fn a_store_others_can_write_is_refused() {
    if !root() {
        return;
    }
    let node = Node::captured("writable-store");
    node.overwrite_with_other_node();
    for (path, mode) in [(node.store.clone(), 0o777), (node.store.join("license/license.key"), 0o666), (node.store.join("identity"), 0o620)]
    {
        let before = fs::metadata(&path).unwrap().mode() & 0o7777;
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
        refused(&node, "writable by others than root");
        fs::set_permissions(&path, fs::Permissions::from_mode(before)).unwrap();
    }
    std::os::unix::fs::chown(node.store.join("SHA256SUMS"), Some(1234), None).unwrap();
    refused(&node, "belongs to uid 1234");
    std::os::unix::fs::chown(node.store.join("SHA256SUMS"), Some(0), None).unwrap();
    // The parent folder matters too: whoever can write it can swap the store.
    let parent = node.sandbox.path();
    fs::set_permissions(parent, fs::Permissions::from_mode(0o777)).unwrap();
    refused(&node, "writable by others than root");
    fs::set_permissions(parent, fs::Permissions::from_mode(0o755)).unwrap();
    expect(&node.cli(&["apply"], &[]), 0, "apply once the store is safe again");
}

#[test]
fn a_store_that_does_not_match_its_manifest_is_refused() {
    if !root() {
        return;
    }
    for (what, damage) in [
        ("has changed", Box::new(|n: &Node| fs::write(n.store.join("license/license.key"), "TAMPERED").unwrap()) as Box<dyn Fn(&Node)>),
        (
            "has changed",
            Box::new(|n: &Node| {
                let identity = fs::read_to_string(n.store.join("identity")).unwrap();
                fs::write(n.store.join("identity"), identity.replace("standin-id", "forged-id")).unwrap();
            }),
        ),
        ("is missing", Box::new(|n: &Node| fs::remove_file(n.store.join("license/license.key")).unwrap())),
        ("is not listed", Box::new(|n: &Node| fs::write(n.store.join("license/planted.key"), "x").unwrap())),
        ("does not cover", Box::new(|n: &Node| fs::write(n.store.join("stray"), "x").unwrap())),
    ] {
        let node = Node::captured("manifest");
        node.overwrite_with_other_node();
        damage(&node);
        refused(&node, what);
        expect(&node.cli(&["verify"], &[]), 2, "verify of a damaged store");
    }
}

#[test]
fn ambiguous_missing_or_malformed_xconf_is_refused() {
    if !root() {
        return;
    }
    let node = Node::captured("xconf");
    fs::write(node.license(), OTHER_LICENSE).unwrap();
    let cases = [
        ("<server><serverId>a</serverId><serverId>b</serverId><serverName>n</serverName></server>", "matches 2 elements"),
        ("<server><serverName>n</serverName></server>", "/server/serverId matches nothing"),
        ("<server><serverId>a</serverId><serverName>n</serverName>", "is not closed"),
        ("<server><serverId>a&b</serverId><serverName>n</serverName></server>", "not well-formed"),
        ("", "no root element"),
    ];
    for (xconf, why) in cases {
        fs::write(node.xconf(), xconf).unwrap();
        refused(&node, why);
        assert_eq!(fs::read_to_string(node.license()).unwrap(), OTHER_LICENSE, "license untouched when server.xconf is refused");
    }
    fs::remove_file(node.xconf()).unwrap();
    refused(&node, "not found");
    // A store captured with other identity paths cannot serve these.
    fs::write(node.xconf(), OWN_XCONF).unwrap();
    let (store, data) = (node.store_str(), node.data_str());
    let out = run(&["apply", "--store", &store, "--data-dir", &data, "--identity-paths", "/server/serverId /server/@version"]);
    expect(&out, 2, "a path the store does not hold");
    assert!(text(&out).contains("holds no value for /server/@version"), "{}", text(&out));
}

#[test]
fn capture_refuses_to_overwrite_another_identity_without_force() {
    if !root() {
        return;
    }
    let node = Node::captured("force");
    let again = node.cli(&["capture"], &[]);
    expect(&again, 0, "capture of the same identity");
    assert!(text(&again).contains("already holds this identity"), "{}", text(&again));
    node.overwrite_with_other_node();
    let store = snapshot(&node.store);
    let refused = node.cli(&["capture"], &[]);
    expect(&refused, 1, "capture over another identity");
    let out = text(&refused);
    for item in [
        "~ /server/serverId: \"standin-id\" -> \"node2-id\"",
        "~ license/license.key: content differs",
        "+ license/node2-extra.key",
        "--force",
    ] {
        assert!(out.contains(item), "{item:?} missing from\n{out}");
    }
    assert_eq!(snapshot(&node.store), store, "nothing written without --force");
    expect(&node.cli(&["capture"], &["--force"]), 0, "capture --force");
    expect(&node.cli(&["verify"], &[]), 0, "the store now holds node2's identity");
    assert!(node.store.join("license/node2-extra.key").exists());
    // A damaged store is shown as unusable and replaced only with --force.
    fs::write(node.store.join("license/license.key"), "TAMPERED").unwrap();
    let out = node.cli(&["capture"], &[]);
    expect(&out, 1, "capture over a damaged store");
    assert!(text(&out).contains("cannot be used") && text(&out).contains("does not match its manifest"), "{}", text(&out));
    expect(&node.cli(&["capture"], &["--force"]), 0, "capture --force over a damaged store");
    expect(&node.cli(&["verify"], &[]), 0, "verify after the repair");
}

#[test]
fn capture_refuses_symlinks_and_a_store_under_a_symlink() {
    if !root() {
        return;
    }
    let node = Node::new("capture-refusals");
    std::os::unix::fs::symlink("/etc/hostname", node.license_dir().join("link.key")).unwrap();
    let out = node.cli(&["capture"], &[]);
    expect(&out, 2, "capture with a symlink in the license folder");
    assert!(text(&out).contains("is a symlink"), "{}", text(&out));
    assert!(!node.store.exists());
    fs::remove_file(node.license_dir().join("link.key")).unwrap();
    let real = node.sandbox.path().join("real-store");
    fs::create_dir(&real).unwrap();
    fs::set_permissions(&real, fs::Permissions::from_mode(0o700)).unwrap();
    std::os::unix::fs::symlink(&real, &node.store).unwrap();
    let out = node.cli(&["capture"], &[]);
    expect(&out, 2, "capture into a symlinked store");
    assert!(text(&out).contains("symlink"), "{}", text(&out));
    assert!(fs::read_dir(&real).unwrap().next().is_none(), "nothing written through the symlink");
    // Under a folder anyone can write (not sticky), someone could swap the store: not created.
    let open = node.sandbox.path().join("open");
    fs::create_dir(&open).unwrap();
    fs::set_permissions(&open, fs::Permissions::from_mode(0o777)).unwrap();
    let store = open.join("store").display().to_string();
    let data = node.data_str();
    let out = run(&["capture", "--store", &store, "--data-dir", &data, "--identity-paths", IDENTITY_PATHS]);
    expect(&out, 2, "capture under a world-writable folder");
    assert!(text(&out).contains("is writable by others than root"), "{}", text(&out));
    assert!(!open.join("store").exists());
}

#[test]
fn missing_store_and_bad_arguments() {
    let node = Node::new("args");
    let out = node.cli(&["apply"], &[]);
    expect(&out, 2, "apply without a store");
    assert!(text(&out).contains("does not exist on this node"), "{}", text(&out));
    expect(&run(&["apply", "--data-dir", "/x"]), 2, "missing --identity-paths");
    expect(&run(&["apply", "--identity-paths", "/a/@b"]), 2, "no --data-dir");
    expect(&run(&["apply", "--data-dir", "rel", "--identity-paths", "/a/@b"]), 2, "relative --data-dir");
    expect(&run(&["apply", "--data-dir", "/x", "--identity-paths", "a/@b"]), 2, "relative location");
    expect(&run(&["frobnicate"]), 3, "an unknown word is an OCF action: 3");
    for sub in ["capture", "apply", "verify", "inspect", "sweep"] {
        let out = run(&[sub, "--help"]);
        expect(&out, 0, &format!("{sub} --help"));
        assert!(text(&out).contains("Exit codes"), "{}", text(&out));
    }
    let out = run(&["--help"]);
    expect(&out, 0, "--help");
    for sub in ["capture", "apply", "verify", "inspect", "sweep"] {
        assert!(text(&out).contains(sub));
    }
    let json = node.cli(&["verify"], &["--json"]);
    expect(&json, 2, "verify --json without a store");
}

#[test]
fn inspect_lists_every_value_with_a_usable_location() {
    let node = Node::new("inspect");
    fs::write(
        node.xconf(),
        "<?xml version=\"1.0\"?>\n<config>\n  <server id=\"s-1\" name=\"one\"/>\n  <property name=\"server.name\">Tokyo &amp; Co</property>\n  <property name=\"port\">21381</property>\n</config>\n",
    )
    .unwrap();
    let out = run(&["inspect", "--data-dir", &node.data_str()]);
    expect(&out, 0, "inspect");
    let listing = String::from_utf8_lossy(&out.stdout).into_owned();
    for line in [
        "/config/server/@id \"s-1\"",
        "/config/server/@name \"one\"",
        "/config/property[@name='server.name'] \"Tokyo & Co\"",
        "/config/property[@name='port'] \"21381\"",
    ] {
        assert!(listing.lines().any(|l| l.split_whitespace().collect::<Vec<_>>().join(" ") == line), "{line:?} missing from\n{listing}");
    }
    let json = run(&["inspect", "--xconf", &node.xconf().display().to_string(), "--json"]);
    expect(&json, 0, "inspect --json");
    let parsed: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let entries = parsed["entries"].as_array().unwrap();
    assert!(
        entries.iter().any(|e| e["location"] == "/config/server/@id" && e["value"]["text"] == "s-1" && e["matches"] == 1),
        "{parsed:#}"
    );
    // What inspect prints works as identity paths.
    if !root() {
        return;
    }
    let paths = "/config/server/@id /config/property[@name='server.name']";
    let data = node.data_str();
    let store = node.store_str();
    expect(&run(&["capture", "--store", &store, "--data-dir", &data, "--identity-paths", paths]), 0, "capture with inspected paths");
    fs::write(
        node.xconf(),
        "<?xml version=\"1.0\"?>\n<config>\n  <server id=\"s-2\" name=\"one\"/>\n  <property name=\"server.name\">Osaka</property>\n  <property name=\"port\">21381</property>\n</config>\n",
    )
    .unwrap();
    expect(&run(&["apply", "--store", &store, "--data-dir", &data, "--identity-paths", paths]), 0, "apply");
    assert_eq!(
        fs::read_to_string(node.xconf()).unwrap(),
        "<?xml version=\"1.0\"?>\n<config>\n  <server id=\"s-1\" name=\"one\"/>\n  <property name=\"server.name\">Tokyo &amp; Co</property>\n  <property name=\"port\">21381</property>\n</config>\n"
    );
}

#[test]
fn json_output_for_scripts() {
    if !root() {
        return;
    }
    let node = Node::captured("json");
    node.overwrite_with_other_node();
    let verify = node.cli(&["verify"], &["--json"]);
    expect(&verify, 1, "verify --json");
    let parsed: serde_json::Value = serde_json::from_slice(&verify.stdout).unwrap();
    assert_eq!(parsed["in_sync"], false);
    assert_eq!(parsed["differences"]["xconf"]["values"][0]["location"], "/server/serverId");
    assert_eq!(parsed["differences"]["xconf"]["values"][0]["store"], "standin-id");
    let apply = node.cli(&["apply"], &["--json"]);
    expect(&apply, 0, "apply --json");
    let parsed: serde_json::Value = serde_json::from_slice(&apply.stdout).unwrap();
    assert!(parsed["outcome"]["applied"]["xconf_backup"].as_str().unwrap().starts_with(&node.store_str()), "{parsed:#}");
    let capture = node.cli(&["capture"], &["--json"]);
    expect(&capture, 0, "capture --json");
    let parsed: serde_json::Value = serde_json::from_slice(&capture.stdout).unwrap();
    assert_eq!(parsed["state"], "unchanged");
    assert_eq!(parsed["values"][1]["value"], "standin-name");
}

#[test]
fn the_default_store_is_named_after_the_resource() {
    let out = run(&["verify", "--name", "mwha-test-no-such-store", "--data-dir", "/nonexistent", "--identity-paths", "/a/@b"]);
    expect(&out, 2, "verify with a named store");
    assert!(text(&out).contains("/var/lib/mwha/warp/mwha-test-no-such-store does not exist"), "{}", text(&out));
    let out = run(&["verify", "--name", "a", "--store", "/x", "--data-dir", "/nonexistent", "--identity-paths", "/a/@b"]);
    expect(&out, 2, "--name and --store together");
}

#[test]
fn the_cli_man_page_comes_from_the_clap_definition() {
    let out = std::process::Command::new(BIN).arg("man-cli").output().unwrap();
    assert!(out.status.success());
    let page = String::from_utf8(out.stdout).unwrap();
    assert!(page.lines().any(|l| l.starts_with(".TH warp-fixup 8")), "{page}");
    for sub in ["capture", "apply", "verify", "inspect", "sweep"] {
        assert!(page.contains(sub), "{sub} missing from the man page");
    }
}

/// Two nodes' own server.xconf: the same layout and settings, their own ID and name.
const NODE1_XCONF: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<config>\n  <server id=\"warp-0001\" port=\"21381\"/>\n  <property name=\"server.name\">Tokyo</property>\n  <property name=\"console.port\">28080</property>\n</config>\n";
const NODE2_XCONF: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<config>\n  <server id=\"warp-0002\" port=\"21381\"/>\n  <property name=\"server.name\">Osaka</property>\n  <property name=\"console.port\">28080</property>\n</config>\n";

#[test]
fn inspect_compare_lists_exactly_the_values_that_differ_and_a_line_to_paste() {
    let node = Node::new("compare");
    let (node1, node2) = (node.sandbox.path().join("node1.xconf"), node.sandbox.path().join("node2.xconf"));
    fs::write(&node1, NODE1_XCONF).unwrap();
    fs::write(&node2, NODE2_XCONF).unwrap();
    let (a, b) = (node1.display().to_string(), node2.display().to_string());
    let out = run(&["inspect", "--xconf", &a, "--compare", &b]);
    expect(&out, 1, "inspect --compare of two nodes' files");
    let listing = String::from_utf8_lossy(&out.stdout).into_owned();
    let squeezed: Vec<String> = listing.lines().map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")).collect();
    for line in ["/config/server/@id \"warp-0001\" | \"warp-0002\"", "/config/property[@name='server.name'] \"Tokyo\" | \"Osaka\""] {
        assert!(squeezed.iter().any(|l| l == line), "{line:?} missing from\n{listing}");
    }
    assert!(!listing.contains("port") && !listing.contains("28080"), "values that agree are not listed:\n{listing}");
    let paste = "identity_paths=\"/config/server/@id /config/property[@name='server.name']\"";
    assert_eq!(listing.lines().last(), Some(paste), "{listing}");

    let json = run(&["inspect", "--xconf", &a, "--compare", &b, "--json"]);
    expect(&json, 1, "inspect --compare --json");
    let parsed: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let differences = parsed["differences"].as_array().unwrap();
    assert_eq!(differences.len(), 2, "{parsed:#}");
    assert_eq!(differences[0]["location"], "/config/server/@id");
    assert_eq!(differences[0]["value"]["text"], "warp-0001");
    assert_eq!(differences[0]["other"]["text"], "warp-0002");
    assert_eq!(differences[1]["matches"], 1);
    let identity_paths = parsed["identity_paths"].as_str().unwrap().to_string();
    assert_eq!(identity_paths, "/config/server/@id /config/property[@name='server.name']");

    // Identical files: nothing differs, and it says so.
    let same = run(&["inspect", "--xconf", &a, "--compare", &a]);
    expect(&same, 0, "inspect --compare of a file with itself");
    assert!(text(&same).contains("no value differs between"), "{}", text(&same));
    let same = run(&["inspect", "--xconf", &a, "--compare", &a, "--json"]);
    expect(&same, 0, "inspect --compare --json of a file with itself");
    let parsed: serde_json::Value = serde_json::from_slice(&same.stdout).unwrap();
    assert_eq!((parsed["differences"].as_array().unwrap().len(), &parsed["identity_paths"]), (0, &serde_json::json!("")));

    // Another layout: refused with the first structural difference named.
    let other = node.sandbox.path().join("other-layout.xconf");
    fs::write(&other, NODE2_XCONF.replace("<property name=\"console.port\">28080</property>", "<console port=\"28080\"/>")).unwrap();
    let out = run(&["inspect", "--xconf", &a, "--compare", &other.display().to_string()]);
    expect(&out, 2, "inspect --compare of two layouts");
    let message = text(&out);
    assert!(
        message.contains("do not have the same structure")
            && message.contains("/config/property in the first and /config/console in the second"),
        "{message}"
    );
    // The other file is read like the first: never through a link.
    let link = node.sandbox.path().join("link.xconf");
    std::os::unix::fs::symlink(&node2, &link).unwrap();
    let out = run(&["inspect", "--xconf", &a, "--compare", &link.display().to_string()]);
    expect(&out, 2, "inspect --compare of a symlink");
    assert!(text(&out).contains("is a symlink"), "{}", text(&out));

    // What compare prints works as identity paths, on either node's file.
    if !root() {
        return;
    }
    fs::write(node.xconf(), NODE1_XCONF).unwrap();
    let (store, data) = (node.store_str(), node.data_str());
    expect(&run(&["capture", "--store", &store, "--data-dir", &data, "--identity-paths", &identity_paths]), 0, "capture");
    fs::write(node.xconf(), NODE2_XCONF).unwrap();
    expect(&run(&["apply", "--store", &store, "--data-dir", &data, "--identity-paths", &identity_paths]), 0, "apply");
    assert_eq!(fs::read_to_string(node.xconf()).unwrap(), NODE1_XCONF);
}

/// This node's file with a setting besides the identity, owned by the product's user.
const OWN_XCONF_WITH_PORT: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<server>\n  <serverId>standin-id</serverId>\n  <serverName>standin-name</serverName>\n  <port>21381</port>\n</server>\n";

fn node_with_port(name: &str) -> Node {
    let node = Node::new(name);
    fs::write(node.xconf(), OWN_XCONF_WITH_PORT).unwrap();
    std::os::unix::fs::chown(node.xconf(), Some(4321), Some(4322)).unwrap();
    fs::set_permissions(node.xconf(), fs::Permissions::from_mode(0o640)).unwrap();
    expect(&node.cli(&["capture"], &[]), 0, "capture");
    node
}

const WHOLE: [&str; 2] = ["--identity-mode", "whole-file"];

#[test]
fn whole_file_mode_restores_the_nodes_own_file_byte_for_byte() {
    if !root() {
        return;
    }
    let node = node_with_port("whole-file");
    assert_eq!(fs::read_to_string(node.store.join("server.xconf")).unwrap(), OWN_XCONF_WITH_PORT, "capture keeps the whole file");
    // The other node's file is copied in (as root: other owner and mode).
    let other = OWN_XCONF_WITH_PORT.replace("standin-id", "node2-id").replace("standin-name", "node2").replace("21381", "21999");
    fs::remove_file(node.xconf()).unwrap();
    fs::write(node.xconf(), &other).unwrap();
    let verify = node.cli(&["verify"], &WHOLE);
    expect(&verify, 1, "verify --identity-mode whole-file");
    let report = text(&verify);
    for item in [
        "differs from the store's copy",
        "owner and mode 0:0 0644 now, 4321:4322 0640 in the store",
        "/server/serverId",
        "+   \"node2-id\"",
        "/server/port",
        "-   \"21381\"",
    ] {
        assert!(report.contains(item), "{item:?} missing from\n{report}");
    }
    let json = node.cli(&["verify"], &["--identity-mode", "whole-file", "--json"]);
    let parsed: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(parsed["differences"]["xconf"]["whole_file"]["other_values"][0]["location"], "/server/port", "{parsed:#}");

    let apply = node.cli(&["apply"], &WHOLE);
    expect(&apply, 0, "apply --identity-mode whole-file");
    assert!(text(&apply).contains("with the store's copy"), "{}", text(&apply));
    assert_eq!(fs::read(node.xconf()).unwrap(), OWN_XCONF_WITH_PORT.as_bytes(), "byte for byte");
    let meta = fs::metadata(node.xconf()).unwrap();
    assert_eq!((meta.uid(), meta.gid(), meta.mode() & 0o7777), (4321, 4322, 0o640), "owner and mode too");
    assert_eq!(fs::read_to_string(node.license()).unwrap(), OWN_LICENSE, "the license folder as in values mode");
    let backups = node.backups();
    assert_eq!(backups.len(), 1);
    assert_eq!(fs::read_to_string(&backups[0]).unwrap(), other, "the replaced file is kept");
    expect(&node.cli(&["verify"], &WHOLE), 0, "verify after apply");
    let again = node.cli(&["apply"], &WHOLE);
    expect(&again, 0, "second apply");
    assert!(text(&again).contains("nothing written"), "{}", text(&again));

    // Same bytes, other owner: fixed in place.
    std::os::unix::fs::chown(node.xconf(), Some(0), Some(0)).unwrap();
    let inode = fs::metadata(node.xconf()).unwrap().ino();
    expect(&node.cli(&["apply"], &WHOLE), 0, "apply of the owner");
    let meta = fs::metadata(node.xconf()).unwrap();
    assert_eq!((meta.uid(), meta.gid(), meta.ino()), (4321, 4322, inode));
    // Gone, or not even XML: the copy comes back all the same.
    fs::remove_file(node.xconf()).unwrap();
    expect(&node.cli(&["apply"], &WHOLE), 0, "apply of a missing server.xconf");
    assert_eq!(fs::read(node.xconf()).unwrap(), OWN_XCONF_WITH_PORT.as_bytes());
    fs::write(node.xconf(), "<server><serverId>").unwrap();
    let verify = node.cli(&["verify"], &WHOLE);
    expect(&verify, 1, "verify of a broken server.xconf");
    assert!(text(&verify).contains("is not closed"), "{}", text(&verify));
    expect(&node.cli(&["apply"], &WHOLE), 0, "apply over a broken server.xconf");
    assert_eq!(fs::read(node.xconf()).unwrap(), OWN_XCONF_WITH_PORT.as_bytes());
}

#[test]
fn values_mode_keeps_the_other_settings_whole_file_reverts_them() {
    if !root() {
        return;
    }
    let node = node_with_port("modes");
    // A sync brings the other node's file: its identity and a setting changed there.
    let synced = OWN_XCONF_WITH_PORT.replace("standin-id", "node2-id").replace("21381", "21999");
    fs::write(node.xconf(), &synced).unwrap();
    expect(&node.cli(&["apply"], &[]), 0, "apply (values)");
    let kept = synced.replace("node2-id", "standin-id");
    assert_eq!(fs::read_to_string(node.xconf()).unwrap(), kept, "values mode: identity back, the setting kept");
    expect(&node.cli(&["verify"], &[]), 0, "values mode is in sync");
    let verify = node.cli(&["verify"], &WHOLE);
    expect(&verify, 1, "whole-file sees the setting");
    assert!(text(&verify).contains("/server/port"), "{}", text(&verify));
    expect(&node.cli(&["apply"], &WHOLE), 0, "apply (whole-file)");
    assert_eq!(fs::read_to_string(node.xconf()).unwrap(), OWN_XCONF_WITH_PORT, "whole-file: the setting reverted");

    // A setting changed on this node on purpose: capture refreshes the copy, no --force needed.
    fs::write(node.xconf(), &kept).unwrap();
    let capture = node.cli(&["capture"], &[]);
    expect(&capture, 0, "capture after a configuration change");
    assert!(text(&capture).contains("copy of server.xconf was refreshed"), "{}", text(&capture));
    assert_eq!(fs::read_to_string(node.store.join("server.xconf")).unwrap(), kept);
    expect(&node.cli(&["verify"], &WHOLE), 0, "whole-file in sync after the refresh");
    let json = node.cli(&["capture"], &["--json"]);
    let parsed: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!((&parsed["state"], &parsed["xconf"]["owner"]), (&serde_json::json!("unchanged"), &serde_json::json!("4321:4322 0640")));
    // Another identity is still refused without --force.
    fs::write(node.xconf(), kept.replace("standin-id", "node2-id")).unwrap();
    expect(&node.cli(&["capture"], &[]), 1, "capture of another identity");
    expect(&run(&["verify", "--identity-mode", "whole", "--data-dir", "/x", "--identity-paths", "/a"]), 2, "a bad mode");
}

#[test]
fn a_store_from_before_whole_copies_serves_values_and_is_completed_by_capture() {
    if !root() {
        return;
    }
    let node = Node::captured("old-store");
    node.strip_xconf_copy();
    node.overwrite_with_other_node();
    expect(&node.cli(&["verify"], &[]), 1, "values mode reads the old store");
    let out = node.cli(&["apply"], &WHOLE);
    expect(&out, 2, "whole-file needs the copy");
    assert!(text(&out).contains("holds no copy of server.xconf"), "{}", text(&out));
    expect(&node.cli(&["apply"], &[]), 0, "apply (values)");
    let capture = node.cli(&["capture"], &[]);
    expect(&capture, 0, "capture adds the copy without --force");
    assert!(text(&capture).contains("not kept by the store yet"), "{}", text(&capture));
    expect(&node.cli(&["verify"], &WHOLE), 0, "whole-file now");
}

#[test]
fn whole_file_mode_never_writes_through_a_link() {
    if !root() {
        return;
    }
    let node = Node::captured("whole-link");
    let real = node.sandbox.path().join("real.xconf");
    fs::write(&real, OTHER_XCONF).unwrap();
    fs::remove_file(node.xconf()).unwrap();
    std::os::unix::fs::symlink(&real, node.xconf()).unwrap();
    let data = snapshot(&node.data);
    let store = snapshot(&node.store);
    let out = node.cli(&["apply"], &WHOLE);
    expect(&out, 2, "whole-file apply onto a symlink");
    assert!(text(&out).contains("is a symlink"), "{}", text(&out));
    assert_eq!(fs::read_to_string(&real).unwrap(), OTHER_XCONF);
    assert_eq!((snapshot(&node.data), snapshot(&node.store)), (data, store), "nothing written");
    // A link on the way to it is refused too.
    fs::remove_file(node.xconf()).unwrap();
    let conf = node.xconf().parent().unwrap().to_path_buf();
    let moved = node.sandbox.path().join("conf-elsewhere");
    fs::rename(&conf, &moved).unwrap();
    std::os::unix::fs::symlink(&moved, &conf).unwrap();
    let out = node.cli(&["apply"], &WHOLE);
    expect(&out, 2, "whole-file apply through a linked folder");
    assert!(text(&out).contains("is a symlink"), "{}", text(&out));
    assert!(!moved.join("server.xconf").exists(), "nothing written through the link");
}
