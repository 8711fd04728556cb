//! A stand-in `crm_resource` for the agent tests, through the `MWHA_CRM_RESOURCE` hook, so a
//! watcher started by a test never talks to a real cluster. Each call appends `SECONDS ARGS` to
//! `calls` beside the script; `--query-xml` answers `managed` from the file `managed` (default
//! `true`). A shell only in the tests, as in testkit.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

const SCRIPT: &str = r#"#!/bin/sh
here=${0%/*}
printf '%s %s\n' "$(date +%s.%N)" "$*" >> "$here/calls"
case " $* " in
*" --query-xml "*)
    managed=true
    if [ -f "$here/managed" ]; then managed=$(cat "$here/managed"); fi
    printf '<pacemaker-result api-version="2.25"><resource_config><resource id="%s" managed="%s"/></resource_config><status code="0" message="OK"/></pacemaker-result>\n' "$2" "$managed"
    ;;
esac
exit 0
"#;

pub struct FakeCrm {
    dir: PathBuf,
}

impl FakeCrm {
    /// The fake in `dir/crm`, created on first use.
    pub fn in_dir(dir: &Path) -> FakeCrm {
        let fake = FakeCrm { dir: dir.join("crm") };
        if !fake.program().exists() {
            fs::create_dir_all(&fake.dir).unwrap();
            let tmp = fake.dir.join(".crm_resource.tmp");
            fs::write(&tmp, SCRIPT).unwrap();
            fs::set_permissions(&tmp, fs::Permissions::from_mode(0o755)).unwrap();
            fs::rename(tmp, fake.program()).unwrap();
        }
        fake
    }

    pub fn program(&self) -> PathBuf {
        self.dir.join("crm_resource")
    }

    /// The hook that points an agent (and its watcher) at this fake.
    pub fn hook(&self) -> (&'static str, String) {
        ("MWHA_CRM_RESOURCE", self.program().display().to_string())
    }

    /// The arguments of every call so far.
    pub fn calls(&self) -> Vec<String> {
        let text = fs::read_to_string(self.dir.join("calls")).unwrap_or_default();
        text.lines().map(|l| l.split_once(' ').map_or(l, |(_, args)| args).to_string()).collect()
    }

    /// The `crm_resource --fail` calls.
    pub fn reports(&self) -> Vec<String> {
        self.calls().into_iter().filter(|c| c.starts_with("--fail ")).collect()
    }

    /// What `--query-xml` says about `managed`.
    pub fn set_managed(&self, managed: bool) {
        fs::write(self.dir.join("managed"), managed.to_string()).unwrap();
    }
}
