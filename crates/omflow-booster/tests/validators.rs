//! The meta-data against the validators admins' tools use (xmllint with ocf-tester's DTD and
//! pcs's RNG), the checked-in copy under ocf/, and ocf-tester itself including promote/demote
//! (run without clone variables or a cluster: score publishing must be best effort).

mod support;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};

use support::{fake_db, Omflow};
use testkit::{have, require};

const AGENT: &str = env!("CARGO_BIN_EXE_omflow-booster");
const NAME: &str = "omflow-booster";
const DTD_DIR: &str = "/usr/share/resource-agents";
const PCS_RNG: &str = "/usr/share/pcs/data/ocf-1.1.rng";

fn metadata() -> String {
    let out = Command::new(AGENT).arg("meta-data").output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

fn xmllint(args: &[&str], xml: &str) -> bool {
    use std::io::Write;
    let mut child = Command::new("xmllint").args(args).current_dir(DTD_DIR).stdin(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(xml.as_bytes()).unwrap();
    child.wait().unwrap().success()
}

#[test]
fn metadata_validates_against_the_dtd_and_the_pcs_schema() {
    let present = have("xmllint") && Path::new(DTD_DIR).join("ra-api-1.dtd").exists() && Path::new(PCS_RNG).exists();
    if !require("xmllint, ra-api-1.dtd and pcs's ocf-1.1.rng", present) {
        return;
    }
    let xml = metadata();
    assert!(xmllint(&["--noout", "--valid", "-"], &xml), "ra-api-1.dtd rejects:\n{xml}");
    assert!(xmllint(&["--noout", "--relaxng", PCS_RNG, "-"], &xml), "ocf-1.1.rng rejects:\n{xml}");
    // Negative control: the DTD bites.
    assert!(!xmllint(&["--noout", "--valid", "-"], &xml.replace("<actions>", "<actions>\n<action name=\"reload-agent\" timeout=\"5s\"/>")));
}

#[test]
fn checked_in_metadata_matches_the_binary() {
    let checked_in = testkit::repo_root().join(format!("ocf/{NAME}.xml"));
    let current = metadata();
    if std::env::var_os("MWHA_BLESS").is_some() {
        fs::write(&checked_in, &current).unwrap();
    }
    let stored = fs::read_to_string(&checked_in).unwrap_or_default();
    assert!(
        stored == current,
        "ocf/{NAME}.xml is out of date: run `MWHA_BLESS=1 cargo test -p {NAME} --test validators` and review the diff"
    );
}

#[test]
fn ocf_tester_passes_with_promote_and_demote() {
    if !require("ocf-tester", have("ocf-tester")) {
        return;
    }
    let o = Omflow::create("ocft", &[]);
    // ocf-tester runs meta-data as nobody: the binary must sit where nobody can reach it.
    let agent = o.sandbox.path().join(NAME);
    fs::copy(AGENT, &agent).unwrap();
    fs::set_permissions(&agent, fs::Permissions::from_mode(0o755)).unwrap();
    let (_db, db_url) = fake_db();
    let mut cmd = Command::new("ocf-tester");
    cmd.arg("-n").arg("booster");
    for (k, v) in o.booster_params() {
        cmd.arg("-o").arg(format!("{k}={v}"));
    }
    cmd.arg("-o").arg(format!("db_check={db_url}"));
    // The per-boot state goes to the sandbox; crm_attribute is the real one (no cluster here).
    cmd.env("MWHA_RUN_DIR", o.sandbox.path().join("run")).env_remove("MWHA_CRM_ATTRIBUTE");
    let out = cmd.arg(&agent).output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && text.contains("passed all tests"), "{text}");
    assert!(!text.contains("partially supports") && !text.contains("does not support the promote"), "{text}");
    assert!(o.all_processes().is_empty(), "ocf-tester left processes: {:?}", o.all_processes());
}
