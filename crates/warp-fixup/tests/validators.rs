//! The meta-data against the validators admins' tools use (xmllint with ocf-tester's DTD and
//! pcs's RNG), the checked-in copy in `ocf/warp-fixup.xml`, and ocf-tester on a captured store.

mod support;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};

use support::*;
use testkit::{have, require};

const DTD_DIR: &str = "/usr/share/resource-agents";
const PCS_RNG: &str = "/usr/share/pcs/data/ocf-1.1.rng";

fn metadata() -> String {
    let out = Command::new(BIN).arg("meta-data").output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

/// `xmllint --valid` from the DTD's directory, as ocf-tester runs it.
fn dtd_valid(xml: &str) -> bool {
    xmllint(&["--noout", "--valid", "-"], xml)
}

fn rng_valid(xml: &str) -> bool {
    xmllint(&["--noout", "--relaxng", PCS_RNG, "-"], xml)
}

fn xmllint(args: &[&str], xml: &str) -> bool {
    use std::io::Write;
    let mut child = Command::new("xmllint").args(args).current_dir(DTD_DIR).stdin(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(xml.as_bytes()).unwrap();
    child.wait().unwrap().success()
}

fn validators_present() -> bool {
    require(
        "xmllint, ra-api-1.dtd and pcs's ocf-1.1.rng",
        have("xmllint") && Path::new(DTD_DIR).join("ra-api-1.dtd").exists() && Path::new(PCS_RNG).exists(),
    )
}

#[test]
fn metadata_validates_against_the_dtd_and_the_pcs_schema() {
    if !validators_present() {
        return;
    }
    let xml = metadata();
    assert!(dtd_valid(&xml), "ra-api-1.dtd rejects:\n{xml}");
    assert!(rng_valid(&xml), "ocf-1.1.rng rejects:\n{xml}");
    // Negative control: the validators bite.
    let broken = xml.replace("<actions>", "<actions>\n    <action name=\"reload-agent\" timeout=\"5s\"/>");
    assert!(!dtd_valid(&broken), "the DTD accepted reload-agent");
    let private = xml.replacen("<parameter name=\"store\"", "<parameter private=\"1\" name=\"store\"", 1);
    assert!(!rng_valid(&private), "pcs's schema accepted private=\"1\"");
}

#[test]
fn checked_in_metadata_matches_the_binary() {
    let checked_in = testkit::repo_root().join("ocf/warp-fixup.xml");
    let current = metadata();
    if std::env::var_os("MWHA_BLESS").is_some() {
        fs::write(&checked_in, &current).unwrap();
    }
    let stored = fs::read_to_string(&checked_in).unwrap_or_default();
    assert!(
        stored == current,
        "ocf/warp-fixup.xml is out of date: run `MWHA_BLESS=1 cargo test -p warp-fixup --test validators` and review the diff"
    );
}

#[test]
fn ocf_tester_passes() {
    if !require("ocf-tester", have("ocf-tester")) || !root() {
        return;
    }
    let node = Node::captured("ocft");
    node.overwrite_with_other_node();
    // ocf-tester runs meta-data as nobody: the agent must sit where nobody can reach it.
    let agent = node.sandbox.path().join("warp-fixup");
    fs::copy(BIN, &agent).unwrap();
    fs::set_permissions(&agent, fs::Permissions::from_mode(0o755)).unwrap();
    let out = Command::new("ocf-tester")
        .args(["-n", "fixup"])
        .arg("-o")
        .arg(format!("data_dir={}", node.data_str()))
        .arg("-o")
        .arg(format!("store={}", node.store_str()))
        .arg("-o")
        .arg(format!("identity_paths={IDENTITY_PATHS}"))
        .arg(&agent)
        .env("MWHA_RUN_DIR", node.sandbox.path().join("run"))
        .output()
        .unwrap();
    let report = text(&out);
    assert!(out.status.success() && report.contains("passed all tests"), "{report}");
    assert_eq!(fs::read_to_string(node.xconf()).unwrap(), OWN_XCONF, "the starts put the identity back");
}
