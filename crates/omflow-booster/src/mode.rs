//! Which of the two layouts this resource runs in, read from what Pacemaker passes with every
//! action (docs/ocf-contract.md §3, §5). Pure: it reads the environment as data.
//!
//! - [`Mode::Plain`], the vendor's layout and the default: one primitive per Booster server, pinned
//!   there; the two Boosters pair with each other (HA Booster IP) and decide Active and Standby
//!   themselves. start, stop and monitor (0/7/1) only, and no promotion score.
//! - [`Mode::Promotable`]: an instance of a promotable clone, for sites that do not configure the
//!   Booster's own pairing; Pacemaker chooses the Active Booster (promote), monitor answers 8 for
//!   it, and the instances publish promotion scores.
//!
//! What Pacemaker 2.1 passes (its sources, tags Pacemaker-2.1.0 to 2.1.9): the scheduler gives every
//! action of a clone instance, probes and recurring monitors included, its clone's meta-attributes
//! (the graph producer's `add_action_attributes` → `pcmk_sched_clone.c` `clone_append_meta`,
//! `pcmk__clone_add_graph_meta` from 2.1.7): `CRM_meta_clone_max`, `…_clone_node_max`, `…_notify`,
//! `…_globally_unique`, and for a promotable clone only `CRM_meta_promoted_max`,
//! `…_promoted_node_max` and the legacy `CRM_meta_master_max`, `…_master_node_max`. It never
//! passes `CRM_meta_promotable` (none of the scheduler's regression graphs, `cts/scheduler/exp`,
//! has it). `crm_resource --force-*` passes the resource's meta-attributes instead, inherited from
//! the clone (`tools/crm_resource_runtime.c`, `lib/pengine/complex.c` `get_meta_attributes`), so
//! there `CRM_meta_promotable=true` is what says so. resource-agents' `ocf_is_ms`
//! (ocf-shellfuncs) tests the same two things. ocf-tester passes neither: a plain primitive.

use ocf::env::Env;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Plain,
    Promotable,
}

impl Mode {
    /// Promotable when `CRM_meta_promotable` is true (crm_resource) or `CRM_meta_promoted_max`
    /// or `CRM_meta_master_max` is a positive number (the scheduler); plain otherwise.
    pub fn of(env: &Env) -> Mode {
        let positive = |name: &str| env.reskey(name).and_then(|v| v.trim().parse::<i64>().ok()).is_some_and(|n| n > 0);
        if env.reskey("CRM_meta_promotable").is_some_and(is_true) || positive("CRM_meta_promoted_max") || positive("CRM_meta_master_max") {
            Mode::Promotable
        } else {
            Mode::Plain
        }
    }

    pub fn is_promotable(self) -> bool {
        self == Mode::Promotable
    }
}

/// Pacemaker's spelling of true (`crm_str_to_boolean`).
fn is_true(value: &str) -> bool {
    ["true", "on", "yes", "y", "1"].iter().any(|t| value.trim().eq_ignore_ascii_case(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(vars: &[(&str, &str)], expected: Mode) {
        let env = Env::from_vars(vars.iter().map(|(k, v)| (format!("OCF_RESKEY_{k}"), v.to_string())), "omflow-booster");
        assert_eq!(Mode::of(&env), expected, "{vars:?}");
    }

    #[test]
    fn a_clone_instance_of_a_promotable_clone_is_promotable() {
        // What Pacemaker 2.1.6 gave a promotable clone's instance (cts/scheduler/exp/*.exp).
        let scheduler = [
            ("CRM_meta_clone", "0"),
            ("CRM_meta_clone_max", "2"),
            ("CRM_meta_clone_node_max", "1"),
            ("CRM_meta_globally_unique", "false"),
            ("CRM_meta_master_max", "1"),
            ("CRM_meta_master_node_max", "1"),
            ("CRM_meta_notify", "true"),
            ("CRM_meta_promoted_max", "1"),
            ("CRM_meta_promoted_node_max", "1"),
            ("CRM_meta_timeout", "20000"),
        ];
        check(&scheduler, Mode::Promotable);
        check(&[("CRM_meta_promoted_max", "1")], Mode::Promotable);
        check(&[("CRM_meta_master_max", "2")], Mode::Promotable);
        // crm_resource --force-*: the clone's meta-attributes, no promoted_max unless configured.
        check(&[("CRM_meta_promotable", "true"), ("CRM_meta_clone_max", "2")], Mode::Promotable);
        check(&[("CRM_meta_promotable", "YES")], Mode::Promotable);
    }

    #[test]
    fn primitives_plain_clones_and_ocf_tester_are_plain() {
        check(&[], Mode::Plain);
        check(&[("CRM_meta_timeout", "20000"), ("CRM_meta_on_node", "b1")], Mode::Plain);
        // A plain clone gets the clone meta but no promoted_max.
        check(&[("CRM_meta_clone", "0"), ("CRM_meta_clone_max", "2"), ("CRM_meta_notify", "false")], Mode::Plain);
        check(&[("CRM_meta_promotable", "false")], Mode::Plain);
        check(&[("CRM_meta_promoted_max", "0")], Mode::Plain);
        check(&[("CRM_meta_promoted_max", ""), ("CRM_meta_master_max", "x")], Mode::Plain);
    }
}
