//! Shared set-up of the warp-fixup tests: a node with a stand-in ASTERIA Warp data folder (from
//! `tests/standin/warp/make-warp`) and an identity store in its own sandbox, the CLI run as a
//! child process, and what "the other node's sync" does to a data folder.

#![allow(dead_code)] // Each test crate uses its own part of this module.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use testkit::{Sandbox, Warp};

pub const BIN: &str = env!("CARGO_BIN_EXE_warp-fixup");
/// Where the stand-in's server.xconf keeps the identity.
pub const IDENTITY_PATHS: &str = "/server/serverId /server/serverName";
/// What the stand-in writes, and so what every node captures.
pub const OWN_XCONF: &str =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<server>\n  <serverId>standin-id</serverId>\n  <serverName>standin-name</serverName>\n</server>\n";
pub const OWN_LICENSE: &str = "STANDIN-LICENSE\n";
/// The same file as the other node has it: only the identity values differ.
pub const OTHER_XCONF: &str =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<server>\n  <serverId>node2-id</serverId>\n  <serverName>node2</serverName>\n</server>\n";
pub const OTHER_LICENSE: &str = "NODE2-LICENSE\n";

pub struct Node {
    pub sandbox: Sandbox,
    pub data: PathBuf,
    pub store: PathBuf,
}

impl Node {
    /// A fresh data folder; the store path is not created yet.
    pub fn new(name: &str) -> Node {
        let sandbox = Sandbox::new(name);
        let warp = Warp::create(&sandbox, "warp", None, &[]);
        let store = sandbox.path().join("store");
        Node { data: warp.data_dir, store, sandbox }
    }

    /// A data folder with this node's identity captured in its store.
    pub fn captured(name: &str) -> Node {
        let node = Node::new(name);
        let out = node.cli(&["capture"], &[]);
        expect(&out, 0, "capture");
        node
    }

    pub fn license_dir(&self) -> PathBuf {
        self.data.join("system/license")
    }

    pub fn license(&self) -> PathBuf {
        self.license_dir().join("license.key")
    }

    pub fn xconf(&self) -> PathBuf {
        self.data.join("system/conf/server.xconf")
    }

    pub fn store_str(&self) -> String {
        self.store.display().to_string()
    }

    pub fn data_str(&self) -> String {
        self.data.display().to_string()
    }

    /// `warp-fixup <subcommand> --store S --data-dir D --identity-paths P <extra>`.
    pub fn cli(&self, subcommand: &[&str], extra: &[&str]) -> Output {
        let store = self.store_str();
        let data = self.data_str();
        let mut args: Vec<&str> = subcommand.to_vec();
        args.extend(["--store", &store, "--data-dir", &data, "--identity-paths", IDENTITY_PATHS]);
        args.extend(extra);
        run(&args)
    }

    /// What a file-copy sync from the other node (or a switch-over of the shared folder) leaves.
    pub fn overwrite_with_other_node(&self) {
        fs::write(self.xconf(), OTHER_XCONF).unwrap();
        fs::write(self.license(), OTHER_LICENSE).unwrap();
        fs::write(self.license_dir().join("node2-extra.key"), "NODE2-EXTRA\n").unwrap();
    }

    /// Makes the store look as an earlier warp-fixup wrote it: no copy of server.xconf, no
    /// record of it, a manifest without it.
    pub fn strip_xconf_copy(&self) {
        fs::remove_file(self.store.join("server.xconf")).unwrap();
        let identity = fs::read_to_string(self.store.join("identity")).unwrap();
        let identity: String = identity.lines().filter(|l| !l.starts_with("xconf\t")).map(|l| format!("{l}\n")).collect();
        fs::write(self.store.join("identity"), identity).unwrap();
        let sums = Command::new("sha256sum").args(["identity", "license/license.key"]).current_dir(&self.store).output().unwrap();
        assert!(sums.status.success());
        fs::write(self.store.join("SHA256SUMS"), sums.stdout).unwrap();
    }

    pub fn backups(&self) -> Vec<PathBuf> {
        files_in(&self.store.join("backup"))
    }

    /// Every file under `<store>/quarantine`.
    pub fn quarantined(&self) -> Vec<PathBuf> {
        walk_files(&self.store.join("quarantine"))
    }
}

pub fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).stdin(Stdio::null()).output().expect("running warp-fixup")
}

pub fn expect(out: &Output, code: i32, what: &str) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "{what}: expected exit {code}\n--- stdout\n{}--- stderr\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

pub fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

pub fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir).into_iter().flatten().flatten().map(|e| e.path()).collect();
    files.sort();
    files
}

pub fn walk_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in files_in(dir) {
        if entry.symlink_metadata().is_ok_and(|m| m.is_dir()) {
            files.extend(walk_files(&entry));
        } else {
            files.push(entry);
        }
    }
    files
}

/// What "nothing was written" means for one file: same content, inode, modification time,
/// mode and owner.
#[derive(Debug, PartialEq, Eq)]
pub struct FileState {
    pub path: PathBuf,
    pub content: Vec<u8>,
    pub ino: u64,
    pub mtime: (i64, i64),
    pub mode: u32,
    pub owner: (u32, u32),
}

/// The state of every file below `dir`: equal snapshots mean nothing was written.
pub fn snapshot(dir: &Path) -> Vec<FileState> {
    walk_files(dir)
        .into_iter()
        .map(|path| {
            let meta = fs::symlink_metadata(&path).unwrap();
            let content = if meta.is_file() { fs::read(&path).unwrap() } else { Vec::new() };
            FileState {
                content,
                ino: meta.ino(),
                mtime: (meta.mtime(), meta.mtime_nsec()),
                mode: meta.mode(),
                owner: (meta.uid(), meta.gid()),
                path,
            }
        })
        .collect()
}

pub fn root() -> bool {
    testkit::require("root (the identity store belongs to root; owners are restored)", testkit::is_root())
}
