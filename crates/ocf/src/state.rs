//! Per-resource state that must not survive a reboot ("started" markers of check resources,
//! roles, counters), kept under `/run/mwha/<agent>/<instance>/`.
//!
//! `/run` is a tmpfs: a reboot forgets everything, so a node never comes back believing a
//! resource is started (docs/ocf-contract.md §6). Clone instance suffixes (`rsc:2`) are kept
//! apart by replacing `:` and `/` in the directory name.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// The root of mwha's per-boot state; the `MWHA_RUN_DIR` hook overrides it in test builds.
pub fn run_root() -> PathBuf {
    crate::hooks::var(crate::hooks::RUN_DIR).map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/run/mwha"))
}

#[derive(Debug, Clone)]
pub struct StateDir {
    root: PathBuf,
    dir: PathBuf,
}

impl StateDir {
    pub fn new(agent: &str, instance: &str) -> StateDir {
        StateDir::under(&run_root(), agent, instance)
    }

    /// The state directory of `instance` of `agent` under `root`.
    pub fn under(root: &Path, agent: &str, instance: &str) -> StateDir {
        StateDir { root: root.to_path_buf(), dir: root.join(agent).join(dir_name(instance)) }
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Writes `name` (atomically: temp file then rename), creating the directory (0700). The
    /// root (`/run/mwha`) is 0755 so the alert agent, which runs as hacluster, can reach its own
    /// directory under it.
    pub fn write(&self, name: &str, content: &str) -> io::Result<()> {
        use std::os::unix::fs::DirBuilderExt;
        fs::DirBuilder::new().recursive(true).mode(0o755).create(&self.root)?;
        fs::DirBuilder::new().recursive(true).mode(0o700).create(&self.dir)?;
        let tmp = self.dir.join(format!(".{name}.tmp"));
        fs::write(&tmp, content)?;
        fs::rename(&tmp, self.dir.join(name))
    }

    /// The content of `name`, `None` when absent.
    pub fn read(&self, name: &str) -> io::Result<Option<String>> {
        match fs::read_to_string(self.dir.join(name)) {
            Ok(s) => Ok(Some(s)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub fn remove(&self, name: &str) -> io::Result<()> {
        match fs::remove_file(self.dir.join(name)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// The "started" marker of a resource that has no process of its own.
    pub fn mark_started(&self) -> io::Result<()> {
        self.write("started", "")
    }

    pub fn is_started(&self) -> bool {
        self.dir.join("started").exists()
    }

    pub fn clear_started(&self) -> io::Result<()> {
        self.remove("started")
    }
}

/// The directory name of an instance: one path component inside the agent's directory whatever
/// the name (`.`, `..`, `/`, NUL and control characters cannot climb out or hide). Pacemaker's
/// IDs are XML IDs, which pass unchanged but for the `:` of clone instances.
fn dir_name(instance: &str) -> String {
    let safe: String = instance.chars().map(|c| if c == '/' || c == ':' || c.is_control() { '_' } else { c }).collect();
    if safe.is_empty() || safe.starts_with('.') {
        format!("_{safe}")
    } else {
        safe
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_round_trip_and_clone_suffixes_are_safe() {
        let root = std::env::temp_dir().join(format!("mwha-state-{}", std::process::id()));
        let s = StateDir::under(&root, "sharedfs", "fs:1");
        assert!(s.path().ends_with("sharedfs/fs_1"));
        assert!(!s.is_started());
        s.mark_started().unwrap();
        assert!(s.is_started());
        s.write("role", "Promoted").unwrap();
        assert_eq!(s.read("role").unwrap().as_deref(), Some("Promoted"));
        s.clear_started().unwrap();
        s.clear_started().unwrap();
        assert!(!s.is_started());
        let _ = fs::remove_dir_all(root);
    }

    #[test]
    fn every_instance_name_stays_one_component_inside_the_agent_directory() {
        for name in [".", "..", "../..", "/", "/etc", "a/../../b", "", ".hidden", "x\0y", "line\nbreak", "fs:1", "warp"] {
            let dir = dir_name(name);
            let path = Path::new("/run/mwha/agent").join(&dir);
            assert_eq!(path.parent(), Some(Path::new("/run/mwha/agent")), "{name:?} -> {dir:?}");
            assert!(!dir.is_empty() && dir != "." && dir != ".." && !dir.contains('/'), "{name:?} -> {dir:?}");
            assert!(path.components().all(|c| !matches!(c, std::path::Component::ParentDir)), "{name:?}");
        }
        assert_eq!(dir_name("warp"), "warp");
        assert_eq!(dir_name("fs:1"), "fs_1");
    }
}
