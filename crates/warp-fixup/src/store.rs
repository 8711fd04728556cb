//! A node's identity store: its license files (content, owner, group, mode), the values of its
//! server ID and name, and a whole copy of its server.xconf (for `identity_mode=whole-file`, the
//! vendor's "restore from that node's backup"), kept outside the shared folder with a SHA-256
//! manifest.
//!
//! ```text
//! <store>/                 0700 root
//!   SHA256SUMS             `sha256sum -c` format; covers `identity`, `server.xconf` and every `license/*`
//!   identity               values and license and server.xconf attributes, one tab-separated record a line
//!   license/<name>         content of each license file (0600 root; real attributes in identity)
//!   server.xconf           the whole server.xconf as captured (0600 root; real attributes in identity;
//!                          absent in stores captured before it was kept)
//!   backup/                previous server.xconf files (the last BACKUPS_KEPT)
//!   quarantine/<UTC time>/ license files not in the store, leftovers of the sweep
//! ```
//!
//! Invariants: a store is only used after [`load`] checked it: the store and its parents are
//! owned by root and writable by no one else (a sticky parent like /tmp is fine), no symlink
//! anywhere inside, and the manifest matches the files exactly. [`write`] writes the manifest
//! last, so a store interrupted while being written fails that check instead of being half used.
//! Below the store's own path everything is reached through directory descriptors without
//! following a link, and every file is read with a size limit.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fmt::Write as _;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::{bail, Context, Result};
use ocf::atomic::{self, Attrs, Dir, Previous, Replace};
use ocf::exit::OcfError;
use sha2::{Digest, Sha256};

use crate::beneath::{self, Below, Descend, LICENSE_MAX, STORE_TEXT_MAX, XCONF_MAX};
use crate::location::Location;
use crate::params::Target;
use crate::xconf::{Value, Xconf};

pub const MANIFEST: &str = "SHA256SUMS";
pub const IDENTITY: &str = "identity";
pub const LICENSE: &str = "license";
pub const BACKUP: &str = "backup";
pub const QUARANTINE: &str = "quarantine";
/// The store's copy of the whole server.xconf.
pub const XCONF_COPY: &str = "server.xconf";
/// How many previous server.xconf files the store keeps.
pub const BACKUPS_KEPT: usize = 5;
/// How deep the store is checked: quarantine/<time>/sweep/<sweep folder>/<leftover's folders>.
const STORE_DEPTH: usize = 256;

const HEADER: &str = "# warp-fixup identity store, format 2. Written by `warp-fixup capture`; checked against SHA256SUMS.";
const STORE_FILE: Attrs = Attrs { uid: 0, gid: 0, mode: 0o600 };

/// What makes a node itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// Free text: when, where and from what it was captured.
    pub captured: String,
    pub values: Vec<(Location, String)>,
    pub license_dir: Attrs,
    /// Sorted by name.
    pub licenses: Vec<License>,
    /// The whole server.xconf as captured; `None` in a store captured before it was kept.
    pub xconf: Option<WholeFile>,
}

/// A whole file and the owner and mode it had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WholeFile {
    pub attrs: Attrs,
    pub content: Vec<u8>,
}

impl WholeFile {
    pub fn sha256(&self) -> String {
        sha256_hex(&self.content)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct License {
    pub name: String,
    pub attrs: Attrs,
    pub content: Vec<u8>,
}

impl License {
    pub fn sha256(&self) -> String {
        sha256_hex(&self.content)
    }
}

impl Identity {
    pub fn value(&self, location: &Location) -> Option<&str> {
        self.values.iter().find(|(l, _)| l == location).map(|(_, v)| v.as_str())
    }

    pub fn license(&self, name: &str) -> Option<&License> {
        self.licenses.iter().find(|l| l.name == name)
    }
}

/// Reads the identity the data folder has now (for `capture`): every license file, the value at
/// every identity path and the whole server.xconf. Refuses symlinks, anything but regular files,
/// file names that cannot be recorded, and values that cannot be decoded.
pub fn read_current(target: &Target) -> Result<Identity> {
    // The error names the folder (or the link on its way).
    let dir = target.license_dir.open_dir()?;
    let mut licenses = Vec::new();
    for name in dir.entries()? {
        let meta = dir.lstat(&name)?.with_context(|| format!("{} vanished", dir.display_path(&name).display()))?;
        let shown = dir.display_path(&name);
        if meta.file_type().is_symlink() {
            bail!("{} is a symlink; the license folder must hold regular files only", shown.display());
        }
        if atomic::is_temp_name(&name) {
            ocf::warn!("ignoring {}, a temporary file of an interrupted write", shown.display());
            continue;
        }
        if !meta.is_file() {
            bail!("{} is not a regular file; the license folder must hold regular files only", shown.display());
        }
        let text = recordable_name(&name).with_context(|| format!("license file {}", shown.display()))?;
        let content = dir.read(&name, LICENSE_MAX)?.with_context(|| format!("{} vanished", shown.display()))?;
        licenses.push(License { name: text, attrs: Attrs::of(&meta), content });
    }
    let whole = read_whole_xconf(&target.xconf)?.with_context(|| format!("{} not found", target.xconf.display()))?;
    let xconf = Xconf::parse(whole.content.clone()).with_context(|| format!("reading {}", target.xconf.display()))?;
    let mut values = Vec::new();
    for location in &target.identity_paths {
        match xconf.get(location)? {
            Value::Text(text) => values.push((location.clone(), text)),
            undecodable @ Value::Undecodable { .. } => bail!(
                "{location} is {} (server.xconf declares {:?}); warp-fixup can record only ASCII values of a non-UTF-8 file: \
                 write the value as character references (&#x…;) in server.xconf first",
                undecodable.describe(),
                xconf.encoding()
            ),
        }
    }
    let host = nix::unistd::gethostname().map(|h| h.to_string_lossy().into_owned()).unwrap_or_else(|_| "?".into());
    let captured = format!("{} on {host} from {}", atomic::utc_stamp(SystemTime::now()), target.license_dir.display());
    Ok(Identity { captured, values, license_dir: Attrs::of(&dir.metadata()?), licenses, xconf: Some(whole) })
}

/// server.xconf with its owner and mode, both from one descriptor opened without following a
/// link, read with a size limit; `None` when absent.
pub fn read_whole_xconf(path: &Below) -> Result<Option<WholeFile>> {
    let (dir, name) = path.parent_and_name()?;
    let mut file = match dir.open_file(&name) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let content = atomic::read_bounded(&mut file, XCONF_MAX, path.path())?;
    Ok(Some(WholeFile { attrs: Attrs::of(&file.metadata()?), content }))
}

/// Reads and parses server.xconf, refusing a link on its path below the root and a file too
/// big to be one.
pub fn read_xconf(path: &Below) -> Result<Xconf> {
    Xconf::parse(read_xconf_bytes(path)?).with_context(|| format!("reading {}", path.display()))
}

/// The bytes of server.xconf (see [`read_xconf`]).
pub fn read_xconf_bytes(path: &Below) -> Result<Vec<u8>> {
    let (dir, name) = path.parent_and_name()?;
    dir.read(&name, XCONF_MAX)?.with_context(|| format!("{} not found", path.display()))
}

/// Loads a store after checking its ownership, permissions, symlinks and manifest. A missing
/// store is an [`OcfError::installed`] (5: this node lacks it).
pub fn load(store: &Path) -> Result<Identity> {
    if fs::symlink_metadata(store).is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound) {
        return Err(OcfError::installed(format!(
            "identity store {} does not exist on this node (create it with warp-fixup capture)",
            store.display()
        )));
    }
    check_secure(store)?;
    let dir = Dir::open(store)?;
    let manifest =
        dir.read(OsStr::new(MANIFEST), STORE_TEXT_MAX)?.with_context(|| format!("store {} has no {MANIFEST}", store.display()))?;
    let manifest = parse_manifest(&manifest).with_context(|| format!("reading {}", store.join(MANIFEST).display()))?;
    let mut actual: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for name in dir.entries()? {
        let text = name.to_string_lossy();
        match text.as_ref() {
            MANIFEST | BACKUP | QUARANTINE => {}
            IDENTITY => {
                actual.insert(IDENTITY.into(), dir.read(&name, STORE_TEXT_MAX)?.unwrap_or_default());
            }
            XCONF_COPY => {
                actual.insert(XCONF_COPY.into(), dir.read(&name, XCONF_MAX)?.unwrap_or_default());
            }
            LICENSE => {
                let licenses = dir.sub_dir(&name)?;
                for file in licenses.entries()? {
                    if atomic::is_temp_name(&file) {
                        continue;
                    }
                    let content = licenses.read(&file, LICENSE_MAX)?.unwrap_or_default();
                    actual.insert(format!("{LICENSE}/{}", file.to_string_lossy()), content);
                }
            }
            _ if atomic::is_temp_name(&name) => {}
            _ => bail!("store {} holds {text}, which its manifest does not cover", store.display()),
        }
    }
    let mismatch = |what: String| anyhow::anyhow!("store {} does not match its manifest: {what}", store.display());
    for (path, hash) in &manifest {
        let Some(content) = actual.get(path) else { return Err(mismatch(format!("{path} is missing"))) };
        if sha256_hex(content) != *hash {
            return Err(mismatch(format!("{path} has changed")));
        }
    }
    if let Some(extra) = actual.keys().find(|p| !manifest.contains_key(*p)) {
        return Err(mismatch(format!("{extra} is not listed")));
    }
    let identity = actual.remove(IDENTITY).ok_or_else(|| mismatch(format!("{IDENTITY} is missing")))?;
    let identity = std::str::from_utf8(&identity).map_err(|_| mismatch(format!("{IDENTITY} is not UTF-8")))?;
    parse_identity(identity, actual).with_context(|| format!("reading {}", store.join(IDENTITY).display()))
}

/// Writes `identity` to the store (creating it, 0700 root), replacing what it held. Refuses
/// unless running as root.
pub fn write(store: &Path, identity: &Identity) -> Result<()> {
    if !nix::unistd::Uid::effective().is_root() {
        bail!("the identity store must belong to root: run warp-fixup capture as root");
    }
    let parent = store.parent().with_context(|| format!("{} has no parent folder", store.display()))?;
    let name = store.file_name().with_context(|| format!("{} names no folder", store.display()))?;
    let parent = Dir::create_all(parent, 0o700).with_context(|| format!("creating {}", parent.display()))?;
    // Nothing is created where someone else could swap it.
    check_ancestors(store)?;
    parent.create_dir(name, 0o700).with_context(|| format!("creating {}", store.display()))?;
    check_secure(store)?;
    let dir = Dir::open(store)?;
    for name in [IDENTITY, MANIFEST, XCONF_COPY] {
        atomic::remove_stale_temps(&dir, OsStr::new(name))?;
    }
    let licenses = dir.create_dir(OsStr::new(LICENSE), 0o700)?;
    let plain = Replace { attrs: Some(STORE_FILE), backups: None, previous: Previous::Unchecked, limit: LICENSE_MAX, pace: None };
    for license in &identity.licenses {
        let _ = atomic::replace(&licenses, OsStr::new(&license.name), &license.content, &plain)?;
    }
    for old in licenses.entries()? {
        if identity.license(&old.to_string_lossy()).is_none() {
            licenses.remove_file(&old)?;
        }
    }
    licenses.sync()?;
    match &identity.xconf {
        Some(whole) => {
            let how = Replace { limit: XCONF_MAX, ..plain };
            let _ = atomic::replace(&dir, OsStr::new(XCONF_COPY), &whole.content, &how)?;
        }
        None => dir.remove_file(OsStr::new(XCONF_COPY))?,
    }
    let identity_text = render_identity(identity);
    let _ = atomic::replace(&dir, OsStr::new(IDENTITY), identity_text.as_bytes(), &plain)?;
    let mut manifest = format!("{}  {IDENTITY}\n", sha256_hex(identity_text.as_bytes()));
    if let Some(whole) = &identity.xconf {
        let _ = writeln!(manifest, "{}  {XCONF_COPY}", whole.sha256());
    }
    for license in &identity.licenses {
        let _ = writeln!(manifest, "{}  {LICENSE}/{}", license.sha256(), license.name);
    }
    let _ = atomic::replace(&dir, OsStr::new(MANIFEST), manifest.as_bytes(), &plain)?;
    Ok(())
}

/// What differs between two identities, one line each (`capture` shows it before overwriting):
/// the values and the license files, which tell one node from another. The copy of server.xconf
/// is compared by [`copy_differences`].
pub fn differences(stored: &Identity, current: &Identity) -> Vec<String> {
    let mut lines = Vec::new();
    for (location, value) in &current.values {
        match stored.value(location) {
            Some(old) if old == value => {}
            Some(old) => lines.push(format!("~ {location}: {old:?} -> {value:?}")),
            None => lines.push(format!("+ {location}: {value:?}")),
        }
    }
    for (location, old) in &stored.values {
        if current.value(location).is_none() {
            lines.push(format!("- {location}: {old:?}"));
        }
    }
    if stored.license_dir != current.license_dir {
        lines.push(format!("~ license folder: {} -> {}", describe_attrs(&stored.license_dir), describe_attrs(&current.license_dir)));
    }
    for license in &current.licenses {
        match stored.license(&license.name) {
            None => lines.push(format!("+ {LICENSE}/{} ({} bytes)", license.name, license.content.len())),
            Some(old) if old.content != license.content => lines.push(format!("~ {LICENSE}/{}: content differs", license.name)),
            Some(old) if old.attrs != license.attrs => {
                lines.push(format!("~ {LICENSE}/{}: {} -> {}", license.name, describe_attrs(&old.attrs), describe_attrs(&license.attrs)))
            }
            Some(_) => {}
        }
    }
    for old in &stored.licenses {
        if current.license(&old.name).is_none() {
            lines.push(format!("- {LICENSE}/{}", old.name));
        }
    }
    lines
}

/// What differs between the store's copy of server.xconf and the file now, one line each: the
/// rest of the configuration, which a capture refreshes when the identity itself is unchanged.
pub fn copy_differences(stored: &Identity, current: &Identity) -> Vec<String> {
    match (&stored.xconf, &current.xconf) {
        (None, None) => Vec::new(),
        (None, Some(now)) => vec![format!("+ {XCONF_COPY} ({} bytes; not kept by the store yet)", now.content.len())],
        (Some(_), None) => vec![format!("- {XCONF_COPY}")],
        (Some(old), Some(now)) if old.content != now.content => {
            vec![format!("~ {XCONF_COPY}: content differs (sha256 {} in the store, {} now)", &old.sha256()[..12], &now.sha256()[..12])]
        }
        (Some(old), Some(now)) if old.attrs != now.attrs => {
            vec![format!("~ {XCONF_COPY}: {} -> {}", describe_attrs(&old.attrs), describe_attrs(&now.attrs))]
        }
        (Some(_), Some(_)) => Vec::new(),
    }
}

pub fn describe_attrs(attrs: &Attrs) -> String {
    format!("{}:{} {:04o}", attrs.uid, attrs.gid, attrs.mode)
}

pub fn sha256_hex(content: &[u8]) -> String {
    Sha256::digest(content).iter().fold(String::with_capacity(64), |mut hex, byte| {
        let _ = write!(hex, "{byte:02x}");
        hex
    })
}

/// The store and the folders above it belong to root and no one else can write them (a sticky
/// folder such as /tmp may be world-writable); no symlink anywhere inside; every folder and
/// every file outside quarantine/ (which keeps files as they were found) belongs to root and is
/// writable by no one else.
pub fn check_secure(store: &Path) -> Result<()> {
    // The path is the store or inside it, so it names the store (and the reason stays short).
    let insecure = |path: &Path, why: &str| anyhow::anyhow!("refusing the identity store: {} {why}", path.display());
    let meta = fs::symlink_metadata(store).with_context(|| format!("reading {}", store.display()))?;
    if meta.file_type().is_symlink() {
        return Err(insecure(store, "is a symlink"));
    }
    if !meta.is_dir() {
        return Err(insecure(store, "is not a folder"));
    }
    check_ancestors(store)?;
    let dir = Dir::open(store).map_err(|e| insecure(store, &format!("cannot be opened: {e}")))?;
    check_owner(&dir.metadata()?).map_err(|why| insecure(store, &why))?;
    let mut visit = |entry: &beneath::Entry| -> Result<Descend> {
        let path = store.join(entry.relative);
        if entry.meta.file_type().is_symlink() {
            return Err(insecure(&path, "is a symlink"));
        }
        // Quarantined files keep the owner and mode they were found with.
        if !(entry.meta.is_file() && entry.relative.starts_with(QUARANTINE)) {
            check_owner(entry.meta).map_err(|why| insecure(&path, &why))?;
        }
        Ok(Descend::Yes)
    };
    let mut problem = |e: anyhow::Error| -> Result<()> { Err(e.context(format!("checking the identity store {}", store.display()))) };
    beneath::walk(&dir, STORE_DEPTH, &mut visit, &mut problem)
}

/// Owned by root and writable by no one else, or why not.
fn check_owner(meta: &fs::Metadata) -> std::result::Result<(), String> {
    if meta.uid() != 0 {
        return Err(format!("belongs to uid {}, not root", meta.uid()));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(format!("is writable by others than root (mode {:04o})", meta.mode() & 0o7777));
    }
    Ok(())
}

/// The folders above the store belong to root and only root can rename entries in them.
fn check_ancestors(store: &Path) -> Result<()> {
    for ancestor in store.ancestors().skip(1) {
        let meta = fs::metadata(ancestor).with_context(|| format!("reading {}", ancestor.display()))?;
        let insecure = |why: &str| anyhow::anyhow!("refusing the identity store {}: {} {why}", store.display(), ancestor.display());
        if meta.uid() != 0 {
            return Err(insecure(&format!("belongs to uid {}, not root", meta.uid())));
        }
        if meta.mode() & 0o022 != 0 && meta.mode() & 0o1000 == 0 {
            return Err(insecure("is writable by others than root"));
        }
    }
    Ok(())
}

fn parse_manifest(bytes: &[u8]) -> Result<BTreeMap<String, String>> {
    let text = std::str::from_utf8(bytes).context("not UTF-8")?;
    let mut entries = BTreeMap::new();
    for (number, line) in text.lines().enumerate() {
        let Some((hash, path)) = line.split_once("  ") else { bail!("line {} is not '<sha256>  <file>'", number + 1) };
        if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()) {
            bail!("line {}: {hash:?} is not a SHA-256", number + 1);
        }
        if entries.insert(path.to_string(), hash.to_string()).is_some() {
            bail!("line {}: {path} is listed twice", number + 1);
        }
    }
    Ok(entries)
}

fn render_identity(identity: &Identity) -> String {
    let mut text = format!("{HEADER}\ncaptured\t{}\n", escape(&identity.captured));
    let dir = &identity.license_dir;
    let _ = writeln!(text, "license-dir\t{}\t{}\t{:04o}", dir.uid, dir.gid, dir.mode);
    for license in &identity.licenses {
        let a = &license.attrs;
        let _ = writeln!(text, "license\t{}\t{}\t{}\t{:04o}", license.name, a.uid, a.gid, a.mode);
    }
    if let Some(whole) = &identity.xconf {
        let a = &whole.attrs;
        let _ = writeln!(text, "xconf\t{}\t{}\t{:04o}", a.uid, a.gid, a.mode);
    }
    for (location, value) in &identity.values {
        let _ = writeln!(text, "value\t{location}\t{}", escape(value));
    }
    text
}

fn parse_identity(text: &str, mut contents: BTreeMap<String, Vec<u8>>) -> Result<Identity> {
    let mut captured = String::new();
    let mut license_dir = None;
    let mut licenses = Vec::new();
    let mut values: Vec<(Location, String)> = Vec::new();
    let mut xconf = None;
    for (number, line) in text.lines().enumerate() {
        let context = || format!("line {}", number + 1);
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        match fields.as_slice() {
            ["captured", what] => captured = unescape(what).with_context(context)?,
            ["license-dir", uid, gid, mode] => license_dir = Some(parse_attrs(uid, gid, mode).with_context(context)?),
            ["license", name, uid, gid, mode] => {
                let content = contents
                    .remove(&format!("{LICENSE}/{name}"))
                    .with_context(|| format!("{}: {LICENSE}/{name} is not in the store", context()))?;
                licenses.push(License { name: name.to_string(), attrs: parse_attrs(uid, gid, mode).with_context(context)?, content });
            }
            ["xconf", uid, gid, mode] => {
                let content = contents.remove(XCONF_COPY).with_context(|| format!("{}: {XCONF_COPY} is not in the store", context()))?;
                xconf = Some(WholeFile { attrs: parse_attrs(uid, gid, mode).with_context(context)?, content });
            }
            ["value", location, value] => {
                let location: Location = location.parse().with_context(context)?;
                values.push((location, unescape(value).with_context(context)?));
            }
            _ => bail!("{}: unknown record {:?}", context(), fields.first().unwrap_or(&"")),
        }
    }
    if let Some(extra) = contents.keys().next() {
        bail!("{extra} is in the store but not recorded in {IDENTITY}");
    }
    licenses.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Identity { captured, values, license_dir: license_dir.context("no license-dir record")?, licenses, xconf })
}

fn parse_attrs(uid: &str, gid: &str, mode: &str) -> Result<Attrs> {
    let mode = u32::from_str_radix(mode, 8).ok().filter(|m| *m <= 0o7777).with_context(|| format!("bad mode {mode:?}"))?;
    Ok(Attrs {
        uid: uid.parse().with_context(|| format!("bad uid {uid:?}"))?,
        gid: gid.parse().with_context(|| format!("bad gid {gid:?}"))?,
        mode,
    })
}

/// A license file name the store can record: UTF-8, no control characters, no backslash.
fn recordable_name(name: &OsStr) -> Result<String> {
    let text = name.to_str().context("the name is not UTF-8")?;
    if text.chars().any(|c| c.is_control() || c == '\\') {
        bail!("the name {text:?} holds control characters or a backslash");
    }
    Ok(text.to_string())
}

fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('\t', "\\t").replace('\n', "\\n").replace('\r', "\\r")
}

fn unescape(text: &str) -> Result<String> {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('\\') => out.push('\\'),
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            other => bail!("bad escape \\{}", other.map(String::from).unwrap_or_default()),
        }
    }
    Ok(out)
}

/// A fresh, dated folder under `<store>/quarantine/` for this run, created on first use.
pub struct Quarantine {
    store: PathBuf,
    run: Option<Dir>,
}

impl Quarantine {
    pub fn new(store: &Path) -> Quarantine {
        Quarantine { store: store.to_path_buf(), run: None }
    }

    /// `<store>/quarantine/<UTC time>/<sub…>`, created (0700) as needed, each folder reached
    /// through its parent's descriptor without following a link.
    pub fn dir(&mut self, sub: &[&OsStr]) -> Result<Dir> {
        if self.run.is_none() {
            let store = Dir::open(&self.store)?;
            let all = store.create_dir(OsStr::new(QUARANTINE), 0o700)?;
            let name = atomic::unused_name(&all, &atomic::utc_stamp(SystemTime::now()))?;
            self.run = Some(all.create_dir(&name, 0o700)?);
        }
        let mut dir = self.run.as_ref().expect("created above").try_clone()?;
        for part in sub {
            dir = dir.create_dir(part, 0o700)?;
        }
        Ok(dir)
    }
}

/// `<store>/backup/`, created (0700) as needed.
pub fn backup_dir(store: &Path) -> Result<Dir> {
    Ok(Dir::open(store)?.create_dir(OsStr::new(BACKUP), 0o700)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity() -> Identity {
        Identity {
            captured: "now\ton node1".into(),
            values: vec![("/a/@id".parse().unwrap(), "n1".into()), ("/a/name".parse().unwrap(), "Node\\1\nline2".into())],
            license_dir: Attrs { uid: 1000, gid: 1000, mode: 0o755 },
            licenses: vec![License {
                name: "license.key".into(),
                attrs: Attrs { uid: 1000, gid: 100, mode: 0o640 },
                content: b"KEY".to_vec(),
            }],
            xconf: Some(WholeFile { attrs: Attrs { uid: 1000, gid: 1000, mode: 0o644 }, content: b"<a id=\"n1\"/>".to_vec() }),
        }
    }

    #[test]
    fn identity_records_round_trip() {
        let original = identity();
        let text = render_identity(&original);
        assert!(text.contains("license\tlicense.key\t1000\t100\t0640\n"), "{text}");
        assert!(text.contains("value\t/a/name\tNode\\\\1\\nline2\n"), "{text}");
        assert!(text.contains("xconf\t1000\t1000\t0644\n"), "{text}");
        let contents =
            || BTreeMap::from([(format!("{LICENSE}/license.key"), b"KEY".to_vec()), (XCONF_COPY.to_string(), b"<a id=\"n1\"/>".to_vec())]);
        assert_eq!(parse_identity(&text, contents()).unwrap(), original);
        let err = parse_identity(&text, BTreeMap::new()).unwrap_err();
        assert!(err.to_string().contains("not in the store"), "{err}");
        let mut without_copy = contents();
        without_copy.remove(XCONF_COPY);
        assert!(parse_identity(&text, without_copy).unwrap_err().to_string().contains("server.xconf is not in the store"));
        let mut extra = contents();
        extra.insert(format!("{LICENSE}/x"), vec![]);
        assert!(parse_identity(&text, extra).unwrap_err().to_string().contains("not recorded"));
        // A store captured before the copy was kept has no xconf record and no copy.
        let old = Identity { xconf: None, ..original };
        let text = render_identity(&old);
        assert!(!text.contains("\nxconf\t"), "{text}");
        let contents = BTreeMap::from([(format!("{LICENSE}/license.key"), b"KEY".to_vec())]);
        assert_eq!(parse_identity(&text, contents).unwrap(), old);
    }

    #[test]
    fn manifests_are_strict() {
        let hash = sha256_hex(b"");
        assert_eq!(hash, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert!(parse_manifest(format!("{hash}  identity\n").as_bytes()).is_ok());
        for bad in
            [format!("{hash} identity"), format!("{}  identity", hash.to_uppercase()), format!("{hash}  a\n{hash}  a"), "xyz  a".into()]
        {
            assert!(parse_manifest(bad.as_bytes()).is_err(), "{bad}");
        }
    }

    #[test]
    fn differences_name_every_item() {
        let stored = identity();
        let mut current = identity();
        current.values[0].1 = "n2".into();
        current.licenses[0].attrs.mode = 0o644;
        current.licenses.push(License { name: "extra".into(), attrs: current.licenses[0].attrs, content: vec![1] });
        let lines = differences(&stored, &current);
        assert_eq!(
            lines,
            ["~ /a/@id: \"n1\" -> \"n2\"", "~ license/license.key: 1000:100 0640 -> 1000:100 0644", "+ license/extra (1 bytes)"]
        );
        assert!(differences(&stored, &stored).is_empty());
        // The copy of server.xconf is configuration, listed apart.
        assert!(copy_differences(&stored, &current).is_empty());
        let mut changed = identity();
        changed.xconf.as_mut().unwrap().content = b"<a id=\"n1\" port=\"1\"/>".to_vec();
        let lines = copy_differences(&stored, &changed);
        assert!(lines.len() == 1 && lines[0].starts_with("~ server.xconf: content differs"), "{lines:?}");
        assert!(differences(&stored, &changed).is_empty());
        let old = Identity { xconf: None, ..identity() };
        assert_eq!(copy_differences(&old, &stored), ["+ server.xconf (12 bytes; not kept by the store yet)"]);
        assert!(recordable_name(OsStr::new("a\nb")).is_err());
        assert!(recordable_name(OsStr::new("ライセンス.key")).is_ok());
    }
}
