//! Making the data folder carry the store's identity: [`plan`] reads everything and decides,
//! refusing (before anything is written) whatever is unsafe or ambiguous; [`execute`] carries a
//! plan out, one atomic step at a time; an empty plan writes nothing.
//!
//! The license folder is made equal to the store in both identity modes; server.xconf gets the
//! stored values at `identity_paths` spliced in (`values`) or is made equal to the store's
//! whole copy, owner and mode included (`whole-file`).
//!
//! Invariant: only [`execute`] writes, and only while the caller holds the store's lock; it
//! re-checks that server.xconf still holds what the plan read before replacing it. Both reach the
//! license folder and server.xconf from `data_dir` through directory descriptors, refusing a
//! link at any component below it, and read every file with a size limit.

use std::ffi::OsStr;
use std::fs::File;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use nix::fcntl::{Flock, FlockArg};
use ocf::atomic::{self, Attrs, Backups, Dir, Previous, Replace};
use ocf::deadline::Deadline;

use crate::beneath::{LICENSE_MAX, XCONF_MAX};
use crate::location::Location;
use crate::params::{IdentityMode, Target};
use crate::store::{self, describe_attrs, Identity, Quarantine, WholeFile, BACKUPS_KEPT, LICENSE};
use crate::xconf::{Value, Xconf};

/// Everything that differs between the data folder and the store.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Plan {
    /// The license folder is absent and will be created.
    pub create_license_dir: bool,
    /// Owner or mode of the license folder differ: (now, wanted).
    #[serde(serialize_with = "ser_attrs_pair")]
    pub license_dir_attrs: Option<(Attrs, Attrs)>,
    pub licenses: Vec<LicenseChange>,
    /// Temporary files of an interrupted write, removed before the files they were for are written.
    pub stale_temps: Vec<String>,
    pub xconf: Option<XconfChange>,
}

#[derive(Debug, Clone, serde::Serialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum LicenseChange {
    /// Absent: written from the store.
    Missing { name: String },
    /// Different content: replaced (the old content goes to the quarantine).
    Differs { name: String, sha256_now: String, sha256_store: String },
    /// Same content, other owner or mode: restored in place.
    Attrs {
        name: String,
        #[serde(serialize_with = "ser_attrs")]
        now: Attrs,
        #[serde(serialize_with = "ser_attrs")]
        store: Attrs,
    },
    /// Not in the store: moved to the quarantine.
    Extra { name: String, size: u64 },
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct XconfChange {
    /// The identity values that differ from the store (in whole-file mode, as far as the file
    /// now can be read).
    pub values: Vec<ValueChange>,
    /// Whole-file mode: how the file differs from the store's copy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub whole_file: Option<WholeFileChange>,
    /// The content now; `None` when the file is absent (whole-file mode only).
    #[serde(skip)]
    pub old: Option<Vec<u8>>,
    #[serde(skip)]
    pub new: Vec<u8>,
    /// Owner and mode to set (whole-file mode); `None` keeps the file's own.
    #[serde(skip)]
    pub attrs: Option<Attrs>,
}

/// How server.xconf differs from the store's copy (whole-file mode).
#[derive(Debug, Clone, serde::Serialize)]
pub struct WholeFileChange {
    /// `None`: server.xconf is absent.
    pub sha256_now: Option<String>,
    pub sha256_store: String,
    /// Owner and mode now and in the store, when they differ.
    #[serde(serialize_with = "ser_attrs_pair")]
    pub attrs: Option<(Attrs, Attrs)>,
    /// Other locations whose values differ (the identity values are in `values`).
    pub other_values: Vec<ValueChange>,
    /// Why the differences could not all be named (the file now is not well-formed, or its
    /// structure differs from the copy's).
    pub note: Option<String>,
}

impl XconfChange {
    fn content_changes(&self) -> bool {
        self.old.as_deref() != Some(self.new.as_slice())
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ValueChange {
    pub location: String,
    pub now: Value,
    pub store: String,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        !self.create_license_dir
            && self.license_dir_attrs.is_none()
            && self.licenses.is_empty()
            && self.stale_temps.is_empty()
            && self.xconf.is_none()
    }

    /// One line per difference, `-` for what the store has, `+` for what the data folder has,
    /// `~` for an item whose details differ (the `verify` report).
    pub fn report_lines(&self, target: &Target) -> Vec<String> {
        let mut lines = Vec::new();
        let license_dir = target.license_dir.display();
        if self.create_license_dir {
            lines.push(format!("- {license_dir}/: missing (in the store)"));
        }
        if let Some((now, wanted)) = &self.license_dir_attrs {
            lines.push(format!("~ {license_dir}/: owner and mode {} now, {} in the store", describe_attrs(now), describe_attrs(wanted)));
        }
        for change in &self.licenses {
            match change {
                LicenseChange::Missing { name } => lines.push(format!("- {license_dir}/{name}: missing (in the store)")),
                LicenseChange::Differs { name, sha256_now, sha256_store } => lines.push(format!(
                    "~ {license_dir}/{name}: content differs (sha256 {} now, {} in the store)",
                    &sha256_now[..12],
                    &sha256_store[..12]
                )),
                LicenseChange::Attrs { name, now, store } => lines.push(format!(
                    "~ {license_dir}/{name}: owner and mode {} now, {} in the store",
                    describe_attrs(now),
                    describe_attrs(store)
                )),
                LicenseChange::Extra { name, size } => lines.push(format!("+ {license_dir}/{name}: not in the store ({size} bytes)")),
            }
        }
        for temp in &self.stale_temps {
            lines.push(format!("+ {license_dir}/{temp}: temporary file of an interrupted write"));
        }
        if let Some(xconf) = &self.xconf {
            let shown = target.xconf.display();
            if let Some(whole) = &xconf.whole_file {
                match &whole.sha256_now {
                    None => lines.push(format!("- {shown}: missing (the store has a copy)")),
                    Some(now) if *now != whole.sha256_store => lines.push(format!(
                        "~ {shown}: differs from the store's copy (sha256 {} now, {} in the store)",
                        &now[..12],
                        &whole.sha256_store[..12]
                    )),
                    Some(_) => {}
                }
                if let Some((now, wanted)) = &whole.attrs {
                    lines.push(format!("~ {shown}: owner and mode {} now, {} in the store", describe_attrs(now), describe_attrs(wanted)));
                }
            }
            let others = xconf.whole_file.iter().flat_map(|w| &w.other_values);
            for value in xconf.values.iter().chain(others) {
                lines.push(format!("~ {shown} {}", value.location));
                lines.push(format!("-   {:?}", value.store));
                lines.push(format!("+   {}", value.now.describe()));
            }
            if let Some(note) = xconf.whole_file.as_ref().and_then(|w| w.note.as_ref()) {
                lines.push(format!("~ {shown}: {note}"));
            }
        }
        lines
    }

    /// The first difference in one short line (monitor's exit reason).
    pub fn first_difference(&self) -> String {
        if self.create_license_dir {
            return "license folder is missing".into();
        }
        if let Some(xconf) = &self.xconf {
            if let Some(v) = xconf.values.first() {
                return format!("{} is {}, store has {:?}", v.location, v.now.describe(), v.store);
            }
            if let Some(whole) = &xconf.whole_file {
                if whole.sha256_now.is_none() {
                    return "server.xconf is missing".into();
                }
                if let Some(v) = whole.other_values.first() {
                    return format!(
                        "server.xconf is not the store's copy: {} is {}, store has {:?}",
                        v.location,
                        v.now.describe(),
                        v.store
                    );
                }
                if xconf.content_changes() {
                    return "server.xconf is not the store's copy".into();
                }
                if let Some((now, wanted)) = &whole.attrs {
                    return format!("server.xconf is {}, store has {}", describe_attrs(now), describe_attrs(wanted));
                }
            }
        }
        match self.licenses.first() {
            Some(LicenseChange::Missing { name }) => format!("license file {name} is missing"),
            Some(LicenseChange::Differs { name, .. }) => format!("license file {name} differs from the store"),
            Some(LicenseChange::Attrs { name, now, store }) => {
                format!("license file {name} is {}, store has {}", describe_attrs(now), describe_attrs(store))
            }
            Some(LicenseChange::Extra { name, .. }) => format!("license file {name} is not in the store"),
            None if self.license_dir_attrs.is_some() => "license folder owner or mode differs from the store".into(),
            None => self.stale_temps.first().map(|t| format!("temporary file {t} in the license folder")).unwrap_or_default(),
        }
    }
}

/// What [`execute`] did, for the log and the CLI.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Applied {
    pub actions: Vec<String>,
    pub xconf_backup: Option<PathBuf>,
    pub quarantined: Vec<PathBuf>,
}

/// Compares the data folder with the store. Reads only; refuses symlinks and anything the
/// store cannot vouch for.
pub fn plan(target: &Target, identity: &Identity) -> Result<Plan> {
    let mut plan = Plan::default();
    let mut wanted = Vec::new();
    for location in &target.identity_paths {
        let value = identity.value(location).with_context(|| {
            format!("the store holds no value for {location} (it was captured with other identity_paths): run warp-fixup capture --force")
        })?;
        wanted.push((location.clone(), value.to_string()));
    }
    plan_licenses(target, identity, &mut plan)?;
    plan.xconf = match target.mode {
        IdentityMode::Values => plan_values(target, &wanted)?,
        IdentityMode::WholeFile => plan_whole_file(target, identity, &wanted)?,
    };
    Ok(plan)
}

/// The stored values spliced into server.xconf, every other byte kept.
fn plan_values(target: &Target, wanted: &[(Location, String)]) -> Result<Option<XconfChange>> {
    let old = store::read_xconf_bytes(&target.xconf)?;
    let xconf = Xconf::parse(old.clone()).with_context(|| format!("reading {}", target.xconf.display()))?;
    let Some(new) = xconf.with_values(wanted).with_context(|| format!("updating {}", target.xconf.display()))? else { return Ok(None) };
    let mut values = Vec::new();
    for (location, value) in wanted {
        let now = xconf.get(location)?;
        if now.as_text() != Some(value.as_str()) {
            values.push(ValueChange { location: location.to_string(), now, store: value.clone() });
        }
    }
    Ok(Some(XconfChange { values, whole_file: None, old: Some(old), new, attrs: None }))
}

/// server.xconf made equal to the store's copy, owner and mode included. The file now need not
/// be well-formed (it is replaced, not edited); reading it only serves to name what differs.
fn plan_whole_file(target: &Target, identity: &Identity, wanted: &[(Location, String)]) -> Result<Option<XconfChange>> {
    let stored = identity.xconf.as_ref().context(
        "the store holds no copy of server.xconf (it was captured by an older warp-fixup), which identity_mode=whole-file \
         needs: run warp-fixup capture",
    )?;
    let now = store::read_whole_xconf(&target.xconf)?;
    if now.as_ref() == Some(stored) {
        return Ok(None);
    }
    let attrs = now.as_ref().filter(|n| n.attrs != stored.attrs).map(|n| (n.attrs, stored.attrs));
    let (values, other_values, note) = match &now {
        Some(now) if now.content != stored.content => name_differences(now, stored, wanted),
        _ => (Vec::new(), Vec::new(), None),
    };
    let whole_file =
        WholeFileChange { sha256_now: now.as_ref().map(WholeFile::sha256), sha256_store: stored.sha256(), attrs, other_values, note };
    Ok(Some(XconfChange {
        values,
        whole_file: Some(whole_file),
        old: now.map(|n| n.content),
        new: stored.content.clone(),
        attrs: Some(stored.attrs),
    }))
}

/// For reports: the identity values that differ, every other value that differs, and why not
/// everything could be named.
fn name_differences(
    now: &WholeFile,
    stored: &WholeFile,
    wanted: &[(Location, String)],
) -> (Vec<ValueChange>, Vec<ValueChange>, Option<String>) {
    let current = match Xconf::parse(now.content.clone()) {
        Ok(current) => current,
        Err(err) => return (Vec::new(), Vec::new(), Some(format!("{err:#}"))),
    };
    let mut values = Vec::new();
    for (location, value) in wanted {
        if let Ok(found) = current.get(location) {
            if found.as_text() != Some(value.as_str()) {
                values.push(ValueChange { location: location.to_string(), now: found, store: value.clone() });
            }
        }
    }
    let copy = match Xconf::parse(stored.content.clone()) {
        Ok(copy) => copy,
        Err(err) => return (values, Vec::new(), Some(format!("the store's copy: {err:#}"))),
    };
    match current.compare(&copy) {
        Ok(differences) => {
            let others = differences
                .into_iter()
                .filter(|d| !values.iter().any(|v| v.location == d.location))
                .map(|d| ValueChange {
                    location: d.location,
                    store: d.other.as_text().map_or_else(|| d.other.describe(), str::to_string),
                    now: d.value,
                })
                .collect();
            (values, others, None)
        }
        Err(err) => (values, Vec::new(), Some(format!("{err:#}"))),
    }
}

fn plan_licenses(target: &Target, identity: &Identity, plan: &mut Plan) -> Result<()> {
    let path = &target.license_dir;
    let (parent, name) = path.parent_and_name()?;
    if parent.lstat(&name)?.is_none() {
        plan.create_license_dir = true;
        plan.licenses = identity.licenses.iter().map(|l| LicenseChange::Missing { name: l.name.clone() }).collect();
        return Ok(());
    }
    // The error names the folder: no context that repeats it (the exit reason is 128 bytes).
    let dir = parent.sub_dir(&name)?;
    let now = Attrs::of(&dir.metadata()?);
    if now != identity.license_dir {
        plan.license_dir_attrs = Some((now, identity.license_dir));
    }
    let entries = dir.entries()?;
    // Refuse first, so a symlink anywhere stops everything before a single write.
    for name in &entries {
        let meta = dir.lstat(name)?.with_context(|| format!("{} vanished", dir.display_path(name).display()))?;
        if meta.file_type().is_symlink() {
            let to = std::fs::read_link(dir.entry_path(name)?).map(|t| t.display().to_string()).unwrap_or_default();
            bail!("{} is a symlink (to {to:?}); refusing to touch the license folder", dir.display_path(name).display());
        }
        if !meta.is_file() {
            bail!("{} is not a regular file; the license folder must hold regular files only", dir.display_path(name).display());
        }
        if name.to_str().is_none() {
            bail!("{} has a name that is not UTF-8; move it away by hand", dir.display_path(name).display());
        }
    }
    for license in &identity.licenses {
        let name = OsStr::new(&license.name);
        if !entries.iter().any(|e| e == name) {
            plan.licenses.push(LicenseChange::Missing { name: license.name.clone() });
            continue;
        }
        let mut file = dir.open_file(name)?;
        let content = atomic::read_bounded(&mut file, LICENSE_MAX, &dir.display_path(name))?;
        let attrs = Attrs::of(&file.metadata()?);
        if content != license.content {
            let (sha256_now, sha256_store) = (store::sha256_hex(&content), license.sha256());
            plan.licenses.push(LicenseChange::Differs { name: license.name.clone(), sha256_now, sha256_store });
        } else if attrs != license.attrs {
            plan.licenses.push(LicenseChange::Attrs { name: license.name.clone(), now: attrs, store: license.attrs });
        }
    }
    for name in &entries {
        let text = name.to_string_lossy().into_owned();
        if identity.license(&text).is_some() {
            continue;
        }
        let is_ours = identity
            .licenses
            .iter()
            .any(|l| atomic::is_temp_name(name) && text.starts_with(&format!(".{}{}", l.name, atomic::TEMP_MARKER)));
        if is_ours {
            plan.stale_temps.push(text);
        } else {
            let size = dir.lstat(name)?.map_or(0, |m| m.len());
            plan.licenses.push(LicenseChange::Extra { name: text, size });
        }
    }
    Ok(())
}

/// Carries out `plan`. The caller holds the store's lock ([`lock`]). `pace` is the crash tests'
/// knob (see `ocf::atomic::Replace::pace`).
pub fn execute(plan: &Plan, target: &Target, identity: &Identity, store_path: &Path, pace: Option<Duration>) -> Result<Applied> {
    let mut applied = Applied::default();
    let mut quarantine = Quarantine::new(store_path);
    let needs_dir =
        plan.create_license_dir || plan.license_dir_attrs.is_some() || !plan.licenses.is_empty() || !plan.stale_temps.is_empty();
    if needs_dir {
        let (parent, name) = target.license_dir.parent_and_name()?;
        let dir = if plan.create_license_dir {
            let dir = parent.create_dir(&name, 0o700)?;
            applied.actions.push(format!("created {}", target.license_dir.display()));
            dir
        } else {
            parent.sub_dir(&name)?
        };
        for temp in &plan.stale_temps {
            dir.remove_file(OsStr::new(temp))?;
            applied.actions.push(format!("removed {}", dir.display_path(OsStr::new(temp)).display()));
        }
        for change in &plan.licenses {
            apply_license(change, &dir, identity, &mut quarantine, &mut applied, pace)?;
        }
        if plan.create_license_dir || plan.license_dir_attrs.is_some() {
            dir.set_attrs(identity.license_dir)?;
            applied.actions.push(format!("set {} to {}", target.license_dir.display(), describe_attrs(&identity.license_dir)));
        }
        dir.sync()?;
    }
    if let Some(change) = &plan.xconf {
        let (dir, name) = target.xconf.parent_and_name()?;
        let name = name.as_os_str();
        for stale in atomic::remove_stale_temps(&dir, name)? {
            applied.actions.push(format!("removed {}", dir.display_path(&stale).display()));
        }
        if !change.content_changes() {
            // Same bytes, other owner or mode: fixed in place, like a license file.
            if let Some(attrs) = change.attrs {
                attrs.apply_to(&dir.open_file(name)?)?;
                applied.actions.push(format!("set {} to {}", target.xconf.display(), describe_attrs(&attrs)));
            }
            return Ok(applied);
        }
        let backups = store::backup_dir(store_path)?;
        let prefix = format!("{}.", name.to_string_lossy());
        let previous = match &change.old {
            Some(old) => Previous::Content(old),
            None => Previous::Absent,
        };
        let how = Replace {
            attrs: change.attrs,
            backups: Some(Backups { dir: &backups, prefix: &prefix, keep: BACKUPS_KEPT }),
            previous,
            limit: XCONF_MAX,
            pace,
        };
        match atomic::replace(&dir, name, &change.new, &how)? {
            atomic::Replaced::Written { backup } => {
                if change.whole_file.is_some() {
                    applied.actions.push(format!("replaced {} with the store's copy", target.xconf.display()));
                } else {
                    let what: Vec<String> = change.values.iter().map(|v| v.location.clone()).collect();
                    applied.actions.push(format!("set {} in {}", what.join(" "), target.xconf.display()));
                }
                applied.xconf_backup = backup;
            }
            atomic::Replaced::Unchanged => {}
        }
    }
    Ok(applied)
}

fn apply_license(
    change: &LicenseChange,
    dir: &Dir,
    identity: &Identity,
    quarantine: &mut Quarantine,
    applied: &mut Applied,
    pace: Option<Duration>,
) -> Result<()> {
    let license_of = |name: &str| identity.license(name).with_context(|| format!("{name} is not in the store"));
    match change {
        LicenseChange::Missing { name } => {
            let license = license_of(name)?;
            let how = Replace { attrs: Some(license.attrs), backups: None, previous: Previous::Absent, limit: LICENSE_MAX, pace };
            let _ = atomic::replace(dir, OsStr::new(name), &license.content, &how)?;
            applied.actions.push(format!("wrote {}", dir.display_path(OsStr::new(name)).display()));
        }
        LicenseChange::Differs { name, .. } => {
            let license = license_of(name)?;
            // The other node's key is kept, like every file this agent takes away.
            let keep = quarantine.dir(&[OsStr::new(LICENSE)])?;
            let prefix = format!("{name}.");
            let how = Replace {
                attrs: Some(license.attrs),
                backups: Some(Backups { dir: &keep, prefix: &prefix, keep: usize::MAX }),
                previous: Previous::Unchecked,
                limit: LICENSE_MAX,
                pace,
            };
            if let atomic::Replaced::Written { backup: Some(backup) } = atomic::replace(dir, OsStr::new(name), &license.content, &how)? {
                applied.quarantined.push(backup);
            }
            applied.actions.push(format!("replaced {}", dir.display_path(OsStr::new(name)).display()));
        }
        LicenseChange::Attrs { name, store, .. } => {
            store.apply_to(&dir.open_file(OsStr::new(name))?)?;
            applied.actions.push(format!("set {} to {}", dir.display_path(OsStr::new(name)).display(), describe_attrs(store)));
        }
        LicenseChange::Extra { name, .. } => {
            let keep = quarantine.dir(&[OsStr::new(LICENSE)])?;
            let to = atomic::unused_name(&keep, name)?;
            atomic::move_file(dir, OsStr::new(name), &keep, &to)?;
            applied.quarantined.push(keep.display_path(&to));
            applied.actions.push(format!("moved {} to {}", dir.display_path(OsStr::new(name)).display(), keep.display_path(&to).display()));
        }
    }
    Ok(())
}

/// An exclusive lock on the store (flock on its folder), so the agent and an admin's CLI never
/// write at once. Waits up to the deadline.
pub fn lock(store_path: &Path, deadline: &Deadline) -> Result<Flock<File>> {
    flock(store_path, deadline, FlockArg::LockExclusiveNonblock)
}

/// A shared lock on the store: readers (monitor, verify) never see an apply half-way.
pub fn lock_shared(store_path: &Path, deadline: &Deadline) -> Result<Flock<File>> {
    flock(store_path, deadline, FlockArg::LockSharedNonblock)
}

fn flock(store_path: &Path, deadline: &Deadline, how: FlockArg) -> Result<Flock<File>> {
    // A missing store must read as missing (5), not as a failure to lock it.
    if std::fs::symlink_metadata(store_path).is_err() {
        store::load(store_path)?;
    }
    let open = || {
        std::fs::OpenOptions::new().read(true).custom_flags(nix::libc::O_DIRECTORY | nix::libc::O_NOFOLLOW).open(store_path).map_err(|e| {
            match std::fs::symlink_metadata(store_path) {
                Ok(meta) if meta.file_type().is_symlink() => {
                    anyhow::anyhow!("refusing the identity store {}: it is a symlink", store_path.display())
                }
                _ => anyhow::Error::new(e).context(format!("opening {} to lock it", store_path.display())),
            }
        })
    };
    let mut file = Some(open()?);
    deadline.wait_for(&format!("the lock on {}", store_path.display()), Duration::from_millis(50), || {
        let candidate = match file.take() {
            Some(f) => f,
            None => open()?,
        };
        match Flock::lock(candidate, how) {
            Ok(lock) => Ok(Some(lock)),
            Err((returned, nix::errno::Errno::EWOULDBLOCK)) => {
                file = Some(returned);
                Ok(None)
            }
            Err((_, errno)) => bail!("locking {}: {errno}", store_path.display()),
        }
    })
}

fn ser_attrs<S: serde::Serializer>(attrs: &Attrs, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.collect_str(&describe_attrs(attrs))
}

fn ser_attrs_pair<S: serde::Serializer>(pair: &Option<(Attrs, Attrs)>, s: S) -> std::result::Result<S::Ok, S::Error> {
    match pair {
        Some((now, store)) => s.collect_str(&format!("{} now, {} in the store", describe_attrs(now), describe_attrs(store))),
        None => s.serialize_none(),
    }
}

/// The outcome of [`run`].
#[derive(Debug, Clone, serde::Serialize)]
pub struct Outcome {
    pub plan: Plan,
    /// `None` for a dry run or an empty plan (nothing written).
    pub applied: Option<Applied>,
}

/// Locks the store, loads and checks it, plans, and (unless `dry_run`) executes: the one path
/// both `start` and `warp-fixup apply` take.
pub fn run(target: &Target, store_path: &Path, deadline: &Deadline, pace: Option<Duration>, dry_run: bool) -> Result<Outcome> {
    let _lock = lock(store_path, deadline)?;
    let identity = store::load(store_path)?;
    let plan = plan(target, &identity)?;
    if dry_run || plan.is_empty() {
        return Ok(Outcome { plan, applied: None });
    }
    let applied = execute(&plan, target, &identity, store_path, pace)?;
    Ok(Outcome { plan, applied: Some(applied) })
}

/// Loads the store and compares, writing nothing (monitor, verify).
pub fn check(target: &Target, store_path: &Path, deadline: &Deadline) -> Result<Plan> {
    let _lock = lock_shared(store_path, deadline)?;
    let identity = store::load(store_path)?;
    plan(target, &identity)
}
