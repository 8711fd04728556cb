//! The meta-data against the validators admins' tools use (xmllint with ocf-tester's DTD and
//! pcs's RNG, and ocf-tester itself), plus negative controls proving the validators bite.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};

use testkit::{have, require, Sandbox, Warp};

const AGENT: &str = env!("CARGO_BIN_EXE_flowsvc");
const DTD_DIR: &str = "/usr/share/resource-agents";
const PCS_RNG: &str = "/usr/share/pcs/data/ocf-1.1.rng";

fn metadata() -> String {
    let out = Command::new(AGENT).arg("meta-data").output().unwrap();
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
}

#[test]
fn the_validators_reject_broken_metadata() {
    if !validators_present() {
        return;
    }
    let xml = metadata();
    let reload_agent = xml.replace("<actions>", "<actions>\n    <action name=\"reload-agent\" timeout=\"5s\"/>");
    assert!(!dtd_valid(&reload_agent), "the DTD accepted reload-agent");
    let no_doctype: String = xml.lines().filter(|l| !l.starts_with("<!DOCTYPE")).collect::<Vec<_>>().join("\n");
    assert!(!dtd_valid(&no_doctype), "the DTD check passed without a DOCTYPE");
    let private = xml.replacen("<parameter name=\"user\"", "<parameter private=\"1\" name=\"user\"", 1);
    assert!(!rng_valid(&private), "pcs's schema accepted private=\"1\"");
}

#[test]
fn checked_in_metadata_matches_the_binary() {
    let checked_in = testkit::repo_root().join("ocf/flowsvc.xml");
    let current = metadata();
    if std::env::var_os("MWHA_BLESS").is_some() {
        fs::write(&checked_in, &current).unwrap();
    }
    let stored = fs::read_to_string(&checked_in).unwrap_or_default();
    assert!(
        stored == current,
        "ocf/flowsvc.xml is out of date: run `MWHA_BLESS=1 cargo test -p flowsvc --test validators` and review the diff"
    );
}

/// ocf-tester runs `meta-data` as nobody, so the agent must sit where nobody can reach it.
fn copy_reachable(sandbox: &Sandbox, source: &Path, name: &str) -> String {
    let target = sandbox.path().join(name);
    fs::copy(source, &target).unwrap();
    fs::set_permissions(&target, fs::Permissions::from_mode(0o755)).unwrap();
    target.display().to_string()
}

fn ocf_tester(agent: &str, options: &[String]) -> std::process::Output {
    let mut cmd = Command::new("ocf-tester");
    cmd.arg("-n").arg("warp");
    for o in options {
        cmd.arg("-o").arg(o);
    }
    cmd.arg(agent).output().unwrap()
}

#[test]
fn ocf_tester_passes() {
    if !require("ocf-tester", have("ocf-tester")) {
        return;
    }
    let sandbox = Sandbox::new("ocft");
    let warp = Warp::create(&sandbox, "warp", None, &[]);
    let agent = copy_reachable(&sandbox, Path::new(AGENT), "flowsvc");
    let out = ocf_tester(&agent, &[format!("install_dir={}", warp.install_dir.display()), format!("probe_url={}", warp.probe_url())]);
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && text.contains("passed all tests"), "{text}");
    assert!(warp.processes().is_empty(), "ocf-tester left processes: {:?}", warp.processes());
}

#[test]
fn ocf_tester_fails_an_agent_with_broken_metadata() {
    if !require("ocf-tester", have("ocf-tester")) {
        return;
    }
    let sandbox = Sandbox::new("ocft-neg");
    let broken = metadata().replace("<actions>", "<actions>\n    <action name=\"reload-agent\" timeout=\"5s\"/>");
    let xml_path = sandbox.path().join("broken.xml");
    fs::write(&xml_path, broken).unwrap();
    fs::set_permissions(&xml_path, fs::Permissions::from_mode(0o644)).unwrap();
    // A stub agent: the broken meta-data, and the real flowsvc for everything else.
    let real = copy_reachable(&sandbox, Path::new(AGENT), "flowsvc-real");
    let stub = sandbox.path().join("flowsvc-broken");
    fs::write(
        &stub,
        format!("#!/bin/sh\nif [ \"$1\" = meta-data ]; then cat '{}'; exit 0; fi\nexec '{real}' \"$@\"\n", xml_path.display()),
    )
    .unwrap();
    fs::set_permissions(&stub, fs::Permissions::from_mode(0o755)).unwrap();
    let warp = Warp::create(&sandbox, "warp", None, &[]);
    let out = ocf_tester(&stub.display().to_string(), &[format!("install_dir={}", warp.install_dir.display())]);
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!out.status.success(), "ocf-tester accepted broken meta-data:\n{text}");
    assert!(text.contains("does not conform to ra-api-1.dtd") || text.contains("failed"), "{text}");
}
