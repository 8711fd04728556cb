//! The environment Pacemaker gives an agent, parsed once and without side effects.
//!
//! Invariant: nothing here touches the OS; [`Env::from_vars`] takes the variables as data so
//! probe detection and check-level rounding are tested as plain functions.

use std::collections::BTreeMap;
use std::time::Duration;

/// Pacemaker's default op timeout when `CRM_meta_timeout` is absent (`CRM_DEFAULT_OP_TIMEOUT_S`).
pub const DEFAULT_OP_TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Debug, Clone)]
pub struct Env {
    vars: BTreeMap<String, String>,
    instance: String,
    timeout: Duration,
    interval: Option<Duration>,
    requested_level: u32,
    /// `CRM_meta_timeout` was set but unusable: the warning to log (the default applies).
    timeout_problem: Option<String>,
    /// `OCF_RESKEY_*` names whose value is not UTF-8 (an error if the agent declares them).
    not_utf8: Vec<String>,
}

impl Env {
    /// Reads the process environment.
    pub fn from_process(agent_type: &str) -> Env {
        let mut not_utf8 = Vec::new();
        let vars: Vec<(String, String)> = std::env::vars_os()
            .filter_map(|(k, v)| {
                let k = k.into_string().ok()?;
                match v.into_string() {
                    Ok(v) => Some((k, v)),
                    Err(_) => {
                        not_utf8.extend(k.strip_prefix("OCF_RESKEY_").map(str::to_string));
                        None
                    }
                }
            })
            .collect();
        Env { not_utf8, ..Env::from_vars(vars, agent_type) }
    }

    pub fn from_vars<I, K, V>(vars: I, agent_type: &str) -> Env
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let vars: BTreeMap<String, String> = vars.into_iter().map(|(k, v)| (k.into(), v.into())).collect();
        let instance = vars.get("OCF_RESOURCE_INSTANCE").filter(|s| !s.is_empty()).cloned().unwrap_or_else(|| agent_type.to_string());
        let (timeout, timeout_problem) = match vars.get("OCF_RESKEY_CRM_meta_timeout").map(|ms| (ms, ms.trim().parse::<u64>())) {
            None => (DEFAULT_OP_TIMEOUT, None),
            Some((_, Ok(ms))) if ms > 0 => (Duration::from_millis(ms), None),
            Some((raw, _)) => (
                DEFAULT_OP_TIMEOUT,
                Some(format!(
                    "CRM_meta_timeout {:?} is not a positive number of milliseconds: using the default op timeout of {} s",
                    raw.escape_debug().to_string(),
                    DEFAULT_OP_TIMEOUT.as_secs()
                )),
            ),
        };
        let interval = vars
            .get("OCF_RESKEY_CRM_meta_interval")
            .and_then(|ms| ms.trim().parse::<u64>().ok())
            .filter(|ms| *ms > 0)
            .map(Duration::from_millis);
        let requested_level = vars
            .get("OCF_CHECK_LEVEL")
            .or_else(|| vars.get("OCF_RESKEY_OCF_CHECK_LEVEL"))
            .and_then(|l| l.trim().parse::<u32>().ok())
            .unwrap_or(0);
        Env { vars, instance, timeout, interval, requested_level, timeout_problem, not_utf8: Vec::new() }
    }

    /// Why `CRM_meta_timeout` was not used, when it was set but unusable.
    pub fn timeout_problem(&self) -> Option<&str> {
        self.timeout_problem.as_deref()
    }

    /// Whether parameter `name` was given a value that is not UTF-8.
    pub fn is_not_utf8(&self, name: &str) -> bool {
        self.not_utf8.iter().any(|n| n == name)
    }

    /// `OCF_RESOURCE_INSTANCE`, or the agent type when unset (meta-data, hand runs).
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// The op timeout Pacemaker will enforce with SIGKILL.
    pub fn op_timeout(&self) -> Duration {
        self.timeout
    }

    /// Interval of a recurring monitor; `None` for probes and one-shot actions.
    pub fn interval(&self) -> Option<Duration> {
        self.interval
    }

    /// An instance parameter `OCF_RESKEY_<name>`; empty values count as unset, as in shell agents.
    pub fn reskey(&self, name: &str) -> Option<&str> {
        self.vars.get(&format!("OCF_RESKEY_{name}")).map(String::as_str).filter(|v| !v.is_empty())
    }

    /// Any other variable (`HA_LOGFILE`, `HA_debug`, ...).
    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    /// The node this action runs for (`CRM_meta_on_node`), when Pacemaker says.
    pub fn on_node(&self) -> Option<&str> {
        self.reskey("CRM_meta_on_node")
    }

    /// `OCF_CHECK_LEVEL` rounded down to the nearest level the agent implements ("next lower
    /// level", OCF spec). `levels` must contain 0.
    pub fn check_level(&self, levels: &[u32]) -> u32 {
        round_check_level(self.requested_level, levels)
    }

    /// A probe is a monitor without an interval (missing or 0).
    pub fn is_probe(&self, action: &str) -> bool {
        action == "monitor" && self.interval.is_none()
    }
}

pub fn round_check_level(requested: u32, levels: &[u32]) -> u32 {
    levels.iter().copied().filter(|l| *l <= requested).max().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> Env {
        Env::from_vars(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())), "flowsvc")
    }

    #[test]
    fn probe_is_monitor_without_interval_or_with_zero() {
        assert!(env(&[]).is_probe("monitor"));
        assert!(env(&[("OCF_RESKEY_CRM_meta_interval", "0")]).is_probe("monitor"));
        assert!(!env(&[("OCF_RESKEY_CRM_meta_interval", "10000")]).is_probe("monitor"));
        assert!(!env(&[]).is_probe("start"));
    }

    #[test]
    fn check_level_rounds_to_next_lower_implemented_level() {
        for (requested, expected) in [("0", 0), ("5", 0), ("10", 10), ("15", 10), ("20", 20), ("99", 20), ("x", 0)] {
            let e = env(&[("OCF_CHECK_LEVEL", requested)]);
            assert_eq!(e.check_level(&[0, 10, 20]), expected, "level {requested}");
        }
        assert_eq!(env(&[("OCF_RESKEY_OCF_CHECK_LEVEL", "10")]).check_level(&[0, 10, 20]), 10);
    }

    #[test]
    fn timeout_in_ms_with_default_and_instance_fallback() {
        assert_eq!(env(&[("OCF_RESKEY_CRM_meta_timeout", "90000")]).op_timeout(), Duration::from_secs(90));
        assert_eq!(env(&[("OCF_RESKEY_CRM_meta_timeout", "90000")]).timeout_problem(), None);
        assert_eq!(env(&[]).timeout_problem(), None);
        for bad in ["junk", "0", "-5", "", "1e3"] {
            let e = env(&[("OCF_RESKEY_CRM_meta_timeout", bad)]);
            assert_eq!(e.op_timeout(), DEFAULT_OP_TIMEOUT, "{bad:?}");
            let problem = e.timeout_problem().unwrap_or_else(|| panic!("no warning for {bad:?}"));
            assert!(problem.contains(&format!("{bad:?}")) && problem.contains("20 s"), "{problem}");
        }
        assert_eq!(env(&[]).instance(), "flowsvc");
        assert_eq!(env(&[("OCF_RESOURCE_INSTANCE", "warp")]).instance(), "warp");
        assert_eq!(env(&[("OCF_RESKEY_user", "")]).reskey("user"), None);
    }
}
