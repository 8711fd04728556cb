//! Test hooks: environment variables that point a root agent at other programs, sockets or
//! folders, so the test suite can run agents without a cluster or root-owned `/run`.
//!
//! They exist only in builds with the `test-hooks` feature, which the agents' dev-dependencies
//! enable (so `cargo test` builds agents that honour them); a release build (`make install`,
//! the packages) ignores them: nothing in the environment of a root agent may change what it
//! runs or where it writes. `tests/cluster/packaging` checks the installed binaries.

use std::ffi::OsString;

/// The root of the per-boot state instead of `/run/mwha`.
pub const RUN_DIR: &str = "MWHA_RUN_DIR";
/// The program run instead of `crm_attribute`.
pub const CRM_ATTRIBUTE: &str = "MWHA_CRM_ATTRIBUTE";
/// The program run instead of `crm_resource` (the crash watcher's report and query).
pub const CRM_RESOURCE: &str = "MWHA_CRM_RESOURCE";
/// The socket written instead of `/dev/log`.
pub const SYSLOG_SOCKET: &str = "MWHA_SYSLOG_SOCKET";
/// warp-fixup's crash tests: a pause (ms) between the steps of every atomic write.
pub const FIXUP_PACE_MS: &str = "MWHA_FIXUP_TEST_PACE_MS";

/// The value of hook `name` in a test build; always `None` in a release build.
pub fn var(name: &str) -> Option<OsString> {
    #[cfg(feature = "test-hooks")]
    {
        std::env::var_os(name)
    }
    #[cfg(not(feature = "test-hooks"))]
    {
        let _ = name;
        None
    }
}
