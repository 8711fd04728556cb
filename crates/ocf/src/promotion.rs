//! Promotion scores through `crm_attribute`, and the notification variables of promotable
//! clones (docs/ocf-contract.md §3, §5; Pacemaker `tools/crm_attribute.c`, `lib/common/attrs.c`).
//!
//! The score is the transient node attribute `master-<OCF_RESOURCE_INSTANCE>` on the node the
//! action runs for (`CRM_meta_on_node`, or `CRM_meta_physical_host` in a bundle whose
//! `container_attribute_target` is `host`), written with lifetime `reboot` so a rebooted node never
//! comes back with a stale score. Every call runs through [`crate::spawn::bounded`] with a clean
//! environment, so the resource and the node are passed as arguments, never through the
//! environment.
//!
//! Invariant: publishing a score never fails an action. ocf-tester, `crm_resource --force-*` and a
//! node leaving the cluster all run agents where `crm_attribute` cannot reach the cluster; the
//! `*_best_effort` calls log and go on, each bounded by [`CALL_LIMIT`] and the op's deadline.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Result};

use crate::deadline::Deadline;
use crate::env::Env;
use crate::spawn::{self, CommandLine};

/// The longest one `crm_attribute` call may take (it talks to attrd and the CIB over IPC).
pub const CALL_LIMIT: Duration = Duration::from_secs(10);

/// Where `crm_attribute` is looked for; the `MWHA_CRM_ATTRIBUTE` hook overrides it in test builds.
const CRM_ATTRIBUTE: &[&str] = &["/usr/sbin/crm_attribute", "/usr/bin/crm_attribute", "/sbin/crm_attribute", "/bin/crm_attribute"];

/// The promotion score of one resource instance on one node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromotionScore {
    resource: String,
    /// `None`: `crm_attribute` picks the local node.
    node: Option<String>,
    /// `None`: the installed `crm_attribute` (or the test hook's).
    program: Option<PathBuf>,
}

impl PromotionScore {
    /// The score of the instance this action runs for.
    pub fn from_env(env: &Env) -> PromotionScore {
        let in_bundle = env.reskey("CRM_meta_container_attribute_target") == Some("host");
        let node = match env.reskey("CRM_meta_physical_host") {
            Some(host) if in_bundle => Some(host),
            _ => env.on_node(),
        };
        PromotionScore { resource: env.instance().to_string(), node: node.map(str::to_string), program: None }
    }

    /// The same score, set through `program` instead of `crm_attribute`.
    pub fn through(self, program: &Path) -> PromotionScore {
        PromotionScore { program: Some(program.to_path_buf()), ..self }
    }

    /// `crm_attribute --promotion=<rsc> --lifetime reboot [--node N] <what>`.
    pub fn argv(&self, what: &[&str]) -> Vec<String> {
        let mut argv = vec![format!("--promotion={}", self.resource), "--lifetime".into(), "reboot".into()];
        if let Some(node) = &self.node {
            argv.push("--node".into());
            argv.push(node.clone());
        }
        argv.extend(what.iter().map(|w| w.to_string()));
        argv
    }

    /// Sets the score (`-v N`).
    pub fn set(&self, score: i64, deadline: &Deadline) -> Result<()> {
        let value = score.to_string();
        self.run(&["--update", &value], deadline)?;
        Ok(())
    }

    /// Deletes the score (`-D`); deleting an absent score succeeds.
    pub fn delete(&self, deadline: &Deadline) -> Result<()> {
        self.run(&["--delete"], deadline)?;
        Ok(())
    }

    /// The current score (`-G -q`); `None` when it is not set. (Only the tests read scores back.)
    #[cfg(test)]
    fn query(&self, deadline: &Deadline) -> Result<Option<i64>> {
        let out = self.run_raw(&["--query", "--quiet"], deadline)?;
        let text = out.stdout.trim();
        if !out.success() {
            // crm_attribute exits 105 (no such object) for an unset attribute.
            if out.status.and_then(|s| s.code()) == Some(105) {
                return Ok(None);
            }
            bail!("crm_attribute --query {}: {}", out.describe(), out.last_line());
        }
        if text.is_empty() || text == "(null)" {
            return Ok(None);
        }
        Ok(Some(parse_score(text)?))
    }

    /// Sets the score; a failure is logged, never returned (see the module invariant).
    pub fn set_best_effort(&self, score: i64, deadline: &Deadline) {
        match self.set(score, deadline) {
            Ok(()) => crate::info!("promotion score of {} set to {score}{}", self.resource, self.on()),
            Err(err) => crate::warn!("could not set the promotion score of {} to {score}: {err:#}", self.resource),
        }
    }

    /// Deletes the score; a failure is logged, never returned (see the module invariant).
    pub fn delete_best_effort(&self, deadline: &Deadline) {
        match self.delete(deadline) {
            Ok(()) => crate::info!("promotion score of {} withdrawn{}", self.resource, self.on()),
            Err(err) => crate::warn!("could not withdraw the promotion score of {}: {err:#}", self.resource),
        }
    }

    fn on(&self) -> String {
        self.node.as_ref().map(|n| format!(" on {n}")).unwrap_or_default()
    }

    fn run(&self, what: &[&str], deadline: &Deadline) -> Result<spawn::Finished> {
        let out = self.run_raw(what, deadline)?;
        if !out.success() {
            bail!("crm_attribute {} {}: {}", what.join(" "), out.describe(), out.last_line());
        }
        Ok(out)
    }

    fn run_raw(&self, what: &[&str], deadline: &Deadline) -> Result<spawn::Finished> {
        let program = match &self.program {
            Some(p) => p.clone(),
            None => crm_attribute()?,
        };
        let mut cmd = CommandLine::new(program);
        for arg in self.argv(what) {
            cmd = cmd.arg(arg);
        }
        if deadline.is_expired() {
            bail!("no time left to run crm_attribute");
        }
        spawn::bounded(None, &cmd, &deadline.within(CALL_LIMIT))
    }
}

fn crm_attribute() -> Result<PathBuf> {
    if let Some(path) = crate::hooks::var(crate::hooks::CRM_ATTRIBUTE) {
        return Ok(PathBuf::from(path));
    }
    CRM_ATTRIBUTE.iter().map(PathBuf::from).find(|p| p.is_file()).ok_or_else(|| anyhow::anyhow!("crm_attribute is not installed"))
}

/// A score as crm_attribute prints it: an integer or ±INFINITY.
#[cfg(test)]
fn parse_score(text: &str) -> Result<i64> {
    const INFINITY: i64 = 1_000_000;
    match text.trim() {
        "INFINITY" | "+INFINITY" => Ok(INFINITY),
        "-INFINITY" => Ok(-INFINITY),
        t => t.parse::<i64>().map(|s| s.clamp(-INFINITY, INFINITY)).map_err(|_| anyhow::anyhow!("not a score: {t:?}")),
    }
}

/// One clone instance in a notification list: `resource[i]` running on `uname[i]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    resource: String,
    /// Empty for lists without nodes (`inactive`).
    uname: String,
}

/// The notification a `notify` action carries (`notify=true` clones). Lists are space-separated
/// and parallel; an empty list is a single space (docs/ocf-contract.md §3).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Notification {
    /// `pre` or `post`; empty when Pacemaker sent none (ocf-tester).
    kind: String,
    /// `start`, `stop`, `promote` or `demote`.
    operation: String,
    start: Vec<Peer>,
    stop: Vec<Peer>,
    active: Vec<Peer>,
    inactive: Vec<Peer>,
    promote: Vec<Peer>,
    demote: Vec<Peer>,
    promoted: Vec<Peer>,
    unpromoted: Vec<Peer>,
}

impl Notification {
    pub fn from_env(env: &Env) -> Notification {
        let text = |name: &str| env.reskey(&format!("CRM_meta_notify_{name}")).unwrap_or("").trim().to_string();
        let list = |name: &str| peers(env, name, None);
        Notification {
            kind: text("type"),
            operation: text("operation"),
            start: list("start"),
            stop: list("stop"),
            active: list("active"),
            inactive: peers(env, "inactive", None),
            promote: list("promote"),
            demote: list("demote"),
            // Pacemaker 2.1 sends both the new names and the legacy master/slave ones.
            promoted: peers(env, "promoted", Some("master")),
            unpromoted: peers(env, "unpromoted", Some("slave")),
        }
    }

    /// One line for the log: `post-promote: promote=[booster on n2] promoted=[...]`.
    pub fn describe(&self) -> String {
        let mut out = if self.kind.is_empty() && self.operation.is_empty() {
            "notification without notify variables".to_string()
        } else {
            format!("{}-{}", self.kind, self.operation)
        };
        for (name, list) in [
            ("start", &self.start),
            ("stop", &self.stop),
            ("promote", &self.promote),
            ("demote", &self.demote),
            ("promoted", &self.promoted),
            ("unpromoted", &self.unpromoted),
            ("active", &self.active),
            ("inactive", &self.inactive),
        ] {
            if !list.is_empty() {
                let shown: Vec<String> = list
                    .iter()
                    .map(|p| if p.uname.is_empty() { p.resource.clone() } else { format!("{} on {}", p.resource, p.uname) })
                    .collect();
                out.push_str(&format!(" {name}=[{}]", shown.join(", ")));
            }
        }
        out
    }
}

fn peers(env: &Env, name: &str, legacy: Option<&str>) -> Vec<Peer> {
    let get = |key: String| env.reskey(&key).map(|v| v.split_whitespace().map(str::to_string).collect::<Vec<_>>()).unwrap_or_default();
    let mut resources = get(format!("CRM_meta_notify_{name}_resource"));
    let mut unames = get(format!("CRM_meta_notify_{name}_uname"));
    if let Some(old) = legacy {
        if resources.is_empty() && unames.is_empty() {
            resources = get(format!("CRM_meta_notify_{old}_resource"));
            unames = get(format!("CRM_meta_notify_{old}_uname"));
        }
    }
    let n = resources.len().max(unames.len());
    (0..n)
        .map(|i| Peer { resource: resources.get(i).cloned().unwrap_or_default(), uname: unames.get(i).cloned().unwrap_or_default() })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> Env {
        Env::from_vars(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())), "booster")
    }

    #[test]
    fn argv_names_the_resource_the_node_and_a_reboot_lifetime() {
        let s = PromotionScore::from_env(&env(&[("OCF_RESOURCE_INSTANCE", "booster"), ("OCF_RESKEY_CRM_meta_on_node", "n1")]));
        assert_eq!(s.argv(&["--update", "5"]), ["--promotion=booster", "--lifetime", "reboot", "--node", "n1", "--update", "5"]);
        // ocf-tester: no clone variables at all; crm_attribute picks the local node.
        let s = PromotionScore::from_env(&env(&[]));
        assert_eq!(s.argv(&["--delete"]), ["--promotion=booster", "--lifetime", "reboot", "--delete"]);
        // In a bundle the score belongs to the physical host.
        let s = PromotionScore::from_env(&env(&[
            ("OCF_RESKEY_CRM_meta_on_node", "bundle-0"),
            ("OCF_RESKEY_CRM_meta_physical_host", "n2"),
            ("OCF_RESKEY_CRM_meta_container_attribute_target", "host"),
        ]));
        assert_eq!(s.node.as_deref(), Some("n2"));
    }

    #[test]
    fn scores_parse_with_infinity() {
        assert_eq!(parse_score("10").unwrap(), 10);
        assert_eq!(parse_score("INFINITY\n").unwrap(), 1_000_000);
        assert_eq!(parse_score("-INFINITY").unwrap(), -1_000_000);
        assert!(parse_score("ten").is_err());
    }

    #[test]
    fn best_effort_calls_never_fail_and_stay_bounded() {
        // A crm_attribute that cannot reach a cluster, and one that hangs.
        let dir = std::env::temp_dir().join(format!("mwha-promotion-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let hang = dir.join("hang");
        std::fs::write(&hang, "#!/bin/sh\nsleep 30\n").unwrap();
        std::fs::set_permissions(&hang, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        let s = PromotionScore::from_env(&env(&[])).through(&hang);
        let d = Deadline::after(Duration::from_millis(300));
        let started = std::time::Instant::now();
        s.set_best_effort(5, &d);
        s.delete_best_effort(&d);
        assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
        assert!(s.query(&Deadline::after(Duration::from_millis(200))).is_err());
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn notification_lists_are_parallel_and_a_single_space_is_empty() {
        let n = Notification::from_env(&env(&[
            ("OCF_RESKEY_CRM_meta_notify_type", "post"),
            ("OCF_RESKEY_CRM_meta_notify_operation", "promote"),
            ("OCF_RESKEY_CRM_meta_notify_promote_resource", "booster:1 "),
            ("OCF_RESKEY_CRM_meta_notify_promote_uname", "n2 "),
            ("OCF_RESKEY_CRM_meta_notify_demote_resource", " "),
            ("OCF_RESKEY_CRM_meta_notify_demote_uname", " "),
            ("OCF_RESKEY_CRM_meta_notify_master_resource", "booster:0"),
            ("OCF_RESKEY_CRM_meta_notify_master_uname", "n1"),
            ("OCF_RESKEY_CRM_meta_notify_inactive_resource", "booster:2"),
        ]));
        assert_eq!(n.promote, [Peer { resource: "booster:1".into(), uname: "n2".into() }]);
        assert!(n.demote.is_empty());
        assert_eq!(n.promoted, [Peer { resource: "booster:0".into(), uname: "n1".into() }], "legacy master list");
        assert_eq!(n.describe(), "post-promote promote=[booster:1 on n2] promoted=[booster:0 on n1] inactive=[booster:2]");
        assert_eq!(Notification::from_env(&env(&[])).describe(), "notification without notify variables");
    }
}
