//! The meta-data against the validators admins' tools use (xmllint with ocf-tester's DTD and
//! pcs's RNG), the checked-in copy in ocf/sharedfs.xml, and ocf-tester on a real tmpfs mount.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};

use testkit::{have, is_root, require, Sandbox};

const AGENT: &str = env!("CARGO_BIN_EXE_sharedfs");
const DTD_DIR: &str = "/usr/share/resource-agents";
const PCS_RNG: &str = "/usr/share/pcs/data/ocf-1.1.rng";

fn metadata() -> String {
    let out = Command::new(AGENT).arg("meta-data").env_clear().output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
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
    assert!(xmllint(&["--noout", "--valid", "-"], &xml), "ra-api-1.dtd rejects:\n{xml}");
    assert!(xmllint(&["--noout", "--relaxng", PCS_RNG, "-"], &xml), "ocf-1.1.rng rejects:\n{xml}");
    // Negative control: the same validators bite on this agent's XML.
    let broken = xml.replacen("<parameter name=\"directory\"", "<parameter private=\"1\" name=\"directory\"", 1);
    assert!(!xmllint(&["--noout", "--relaxng", PCS_RNG, "-"], &broken), "pcs's schema accepted private=\"1\"");
    let no_doctype: String = xml.lines().filter(|l| !l.starts_with("<!DOCTYPE")).collect::<Vec<_>>().join("\n");
    assert!(!xmllint(&["--noout", "--valid", "-"], &no_doctype), "the DTD check passed without a DOCTYPE");
}

#[test]
fn checked_in_metadata_matches_the_binary() {
    let checked_in = testkit::repo_root().join("ocf/sharedfs.xml");
    let current = metadata();
    if std::env::var_os("MWHA_BLESS").is_some() {
        fs::write(&checked_in, &current).unwrap();
    }
    let stored = fs::read_to_string(&checked_in).unwrap_or_default();
    assert!(
        stored == current,
        "ocf/sharedfs.xml is out of date: run `MWHA_BLESS=1 cargo test -p sharedfs --test validators` and review the diff"
    );
}

/// Undoes the tmpfs mount even when the test fails.
struct Mounted<'a>(&'a Path);

impl Drop for Mounted<'_> {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.0).status();
    }
}

#[test]
fn ocf_tester_passes() {
    if !require("ocf-tester (as root, with mount)", have("ocf-tester") && is_root() && have("mount")) {
        return;
    }
    let sandbox = Sandbox::new("sharedfs-ocft");
    // ocf-tester runs meta-data as nobody: the agent must sit where nobody can reach it.
    let agent = sandbox.path().join("sharedfs");
    fs::copy(AGENT, &agent).unwrap();
    fs::set_permissions(&agent, fs::Permissions::from_mode(0o755)).unwrap();
    let share = sandbox.path().join("share");
    fs::create_dir(&share).unwrap();
    let status = Command::new("mount").args(["-t", "tmpfs", "-o", "size=1m", "ocft-share"]).arg(&share).status().unwrap();
    assert!(status.success(), "mounting a tmpfs");
    let mounted = Mounted(&share);
    let out = Command::new("ocf-tester")
        .env("MWHA_RUN_DIR", sandbox.path().join("run"))
        .args(["-n", "shared", "-o"])
        .arg(format!("directory={}", share.display()))
        .args(["-o", "source=ocft-share", "-o", "fstype=tmpfs", "-o", "min_free=1%"])
        .arg(&agent)
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && text.contains("passed all tests"), "{text}");
    assert!(fs::read_dir(&share).unwrap().next().is_none(), "ocf-tester's starts left files on the share");
    drop(mounted);
}
