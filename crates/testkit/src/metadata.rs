//! An agent's meta-data against the tools admins use: xmllint with ocf-tester's DTD (run from the
//! DTD's directory, as ocf-tester runs it) and with pcs's RNG, the checked-in copy under `ocf/`,
//! and ocf-tester itself. The negative controls prove each validator bites on the agent's own XML,
//! so a passing check means something.
//!
//! Invariant: an agent's crate, binary and checked-in `ocf/<agent>.xml` share one name.

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::{have, repo_root, require, Sandbox};

/// Where ocf-tester's `ra-api-1.dtd` lives; the XML's DOCTYPE names the DTD relative to it.
pub const DTD_DIR: &str = "/usr/share/resource-agents";
/// The schema pcs checks agents' meta-data against.
pub const PCS_RNG: &str = "/usr/share/pcs/data/ocf-1.1.rng";

/// `bin meta-data` with an empty environment (meta-data reads no parameter): its XML.
pub fn metadata_of(bin: impl AsRef<Path>) -> String {
    let out = Command::new(bin.as_ref()).arg("meta-data").env_clear().output().expect("running meta-data");
    assert!(out.status.success(), "meta-data failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("meta-data is UTF-8")
}

/// True when xmllint, the DTD and pcs's RNG are present (see `require` for the skip rule).
pub fn validators_present() -> bool {
    require(
        "xmllint, ra-api-1.dtd and pcs's ocf-1.1.rng",
        have("xmllint") && Path::new(DTD_DIR).join("ra-api-1.dtd").exists() && Path::new(PCS_RNG).exists(),
    )
}

/// `xmllint --valid` from the DTD's directory, as ocf-tester runs it.
pub fn dtd_valid(xml: &str) -> bool {
    xmllint(&["--noout", "--valid", "-"], xml)
}

/// `xmllint --relaxng` with pcs's schema.
pub fn rng_valid(xml: &str) -> bool {
    xmllint(&["--noout", "--relaxng", PCS_RNG, "-"], xml)
}

fn xmllint(args: &[&str], xml: &str) -> bool {
    let mut child = Command::new("xmllint")
        .args(args)
        .current_dir(DTD_DIR)
        .stdin(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("running xmllint");
    child.stdin.take().expect("stdin is piped").write_all(xml.as_bytes()).expect("writing to xmllint");
    child.wait().expect("waiting for xmllint").success()
}

/// `xml` declaring `reload-agent`, an action ra-api-1.dtd does not know.
pub fn with_reload_agent(xml: &str) -> String {
    xml.replace("<actions>", "<actions>\n    <action name=\"reload-agent\" timeout=\"5s\"/>")
}

/// `xml` without its DOCTYPE line, so `xmllint --valid` has no DTD to check against.
pub fn without_doctype(xml: &str) -> String {
    xml.lines().filter(|l| !l.starts_with("<!DOCTYPE")).collect::<Vec<_>>().join("\n")
}

/// `xml` with `private="1"` on its first parameter, an attribute pcs's schema does not allow.
pub fn with_private_parameter(xml: &str) -> String {
    xml.replacen("<parameter name=", "<parameter private=\"1\" name=", 1)
}

/// `bin`'s meta-data passes ra-api-1.dtd and pcs's schema (skipped without the validators).
pub fn assert_metadata_valid(bin: impl AsRef<Path>) {
    if !validators_present() {
        return;
    }
    let xml = metadata_of(bin);
    assert!(dtd_valid(&xml), "ra-api-1.dtd rejects:\n{xml}");
    assert!(rng_valid(&xml), "ocf-1.1.rng rejects:\n{xml}");
}

/// The negative controls: both validators reject broken variants of `bin`'s meta-data, so
/// [`assert_metadata_valid`] passing means something (skipped without the validators).
pub fn assert_validators_reject_broken(bin: impl AsRef<Path>) {
    if !validators_present() {
        return;
    }
    let xml = metadata_of(bin);
    assert!(!dtd_valid(&with_reload_agent(&xml)), "the DTD accepted reload-agent");
    assert!(!dtd_valid(&without_doctype(&xml)), "the DTD check passed without a DOCTYPE");
    let private = with_private_parameter(&xml);
    assert!(private != xml, "no <parameter> to mark private in:\n{xml}");
    assert!(!rng_valid(&private), "pcs's schema accepted private=\"1\"");
}

/// `current` equals the checked-in `repo_rel_path` (`ocf/<agent>.xml`); with `MWHA_BLESS` set the
/// file is rewritten first, for review in the diff.
pub fn assert_checked_in(repo_rel_path: &str, current: &str) {
    let checked_in = repo_root().join(repo_rel_path);
    if std::env::var_os("MWHA_BLESS").is_some() {
        fs::write(&checked_in, current).expect("writing the checked-in meta-data");
    }
    let stored = fs::read_to_string(&checked_in).unwrap_or_default();
    let agent = Path::new(repo_rel_path).file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    assert!(
        stored == current,
        "{repo_rel_path} is out of date: run `MWHA_BLESS=1 cargo test -p {agent} --test validators` and review the diff"
    );
}

/// A 0755 copy of `bin` named `name` in the sandbox: ocf-tester runs `meta-data` as nobody, so
/// the agent must sit where nobody can reach it.
pub fn reachable_copy(sandbox: &Sandbox, bin: impl AsRef<Path>, name: &str) -> PathBuf {
    let target = sandbox.path().join(name);
    fs::copy(bin.as_ref(), &target).expect("copying the agent into the sandbox");
    fs::set_permissions(&target, fs::Permissions::from_mode(0o755)).expect("chmod the agent copy");
    target
}

/// True when ocf-tester is installed (see `require` for the skip rule).
pub fn ocf_tester_present() -> bool {
    require("ocf-tester", have("ocf-tester"))
}

/// How one ocf-tester run ended, and what it printed (stdout, then stderr).
#[derive(Debug)]
pub struct TesterRun {
    pub success: bool,
    pub text: String,
}

impl TesterRun {
    /// Exit 0 and the "passed all tests" line.
    pub fn passed_all_tests(&self) -> bool {
        self.success && self.text.contains("passed all tests")
    }

    pub fn assert_passed_all_tests(&self) {
        assert!(self.passed_all_tests(), "{}", self.text);
    }
}

/// `ocf-tester -n INSTANCE -o OPTION… AGENT` with the extra environment `env`. `crm_attribute` is
/// the real one (no cluster here: publishing promotion scores must be best effort).
pub fn ocf_tester(agent: &Path, instance: &str, options: &[String], env: &[(&str, &Path)]) -> TesterRun {
    let mut cmd = Command::new("ocf-tester");
    cmd.arg("-n").arg(instance);
    for option in options {
        cmd.arg("-o").arg(option);
    }
    cmd.envs(env.iter().copied()).env_remove("MWHA_CRM_ATTRIBUTE");
    let out = cmd.arg(agent).output().expect("running ocf-tester");
    TesterRun {
        success: out.status.success(),
        text: format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)),
    }
}
