//! The admin CLI: `warp-fixup capture|apply|verify|inspect|sweep`. Options are the resource's
//! parameters spelled with dashes (`--data-dir` for `data_dir`), so a runbook line and a
//! resource definition read alike. Human output by default, `--json` for scripts.
//!
//! Exit codes, like diff(1): 0 done or in sync, 1 differences found or a change refused
//! (nothing written), 2 error (bad arguments, refused input, I/O failure).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use ocf::deadline::Deadline;

use crate::apply;
use crate::beneath::Below;
use crate::location;
use crate::params::{self, IdentityMode, SweepAction, SweepPlan, Target};
use crate::store;
use crate::sweep::{self, Protected};

const EXIT_CODES: &str = "Exit codes: 0 done or in sync, 1 differences found or change refused (nothing written), 2 error.";
const INSPECT_EXIT_CODES: &str =
    "Exit codes: 0 listed (with --compare: no value differs), 1 with --compare: values differ (listed), 2 error (with --compare: \
     the two files do not have the same structure).";

#[derive(Debug, Parser)]
#[command(
    name = "warp-fixup",
    version,
    about = "Keeps each node's own ASTERIA Warp license and server ID/name in place, and sweeps leftover intermediate files",
    long_about = "Keeps each node's own ASTERIA Warp license files and server ID/name in place after a switch-over \
(shared-folder layout) or a file-copy sync (individual-folder and load-balance layouts), and sweeps intermediate files \
that interrupted flows leave behind.\n\nOnce per node, from its correct data folder: warp-fixup capture. Then the \
ocf:mwha:warp-fixup resource (or warp-fixup apply) puts that identity back whenever it was overwritten.\n\nThe same \
binary is the OCF agent: 'warp-fixup start|stop|monitor|validate-all|meta-data' with OCF_RESKEY_* parameters.",
    after_help = EXIT_CODES
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Record this node's license files and server ID/name in its identity store
    #[command(after_help = EXIT_CODES)]
    Capture(CaptureArgs),
    /// Put the stored identity back into the data folder (and sweep, if --sweep-dirs is given)
    #[command(after_help = EXIT_CODES)]
    Apply(ApplyArgs),
    /// Show what differs between the data folder and the store (writes nothing)
    #[command(after_help = EXIT_CODES)]
    Verify(VerifyArgs),
    /// List every element text and attribute of a server.xconf with a location to use in --identity-paths, or
    /// (--compare) only those that differ from another node's server.xconf
    #[command(after_help = INSPECT_EXIT_CODES)]
    Inspect(InspectArgs),
    /// Quarantine or delete leftover intermediate files
    #[command(after_help = EXIT_CODES)]
    Sweep(SweepArgs),
}

#[derive(Debug, Args)]
struct StoreArgs {
    /// Identity store folder [default: /var/lib/mwha/warp/NAME]
    #[arg(long, value_name = "DIR")]
    store: Option<PathBuf>,
    /// Store name: the resource id of the ocf:mwha:warp-fixup resource
    #[arg(long, default_value = "default", conflicts_with = "store")]
    name: String,
}

impl StoreArgs {
    fn path(&self) -> Result<PathBuf> {
        match &self.store {
            Some(store) => absolute("--store", store),
            None => Ok(params::default_store(&self.name)),
        }
    }
}

#[derive(Debug, Args)]
struct TargetArgs {
    /// [DATA_DIR] of ASTERIA Warp
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Space-separated locations of the server ID and name in server.xconf, e.g. "/config/server/@id /config/server/@name"
    /// (may be repeated; `warp-fixup inspect` lists candidates)
    #[arg(long, value_name = "LOCATIONS", required = true, action = clap::ArgAction::Append)]
    identity_paths: Vec<String>,
    /// License folder [default: DATA_DIR/system/license]
    #[arg(long, value_name = "DIR")]
    license_dir: Option<PathBuf>,
    /// server.xconf [default: DATA_DIR/system/conf/server.xconf]
    #[arg(long, value_name = "FILE")]
    xconf: Option<PathBuf>,
    /// values: set only the values at the identity paths in server.xconf; whole-file: make server.xconf equal to the
    /// store's copy (the vendor's "restore from that node's backup"; loses configuration changed since the capture).
    /// capture always keeps both.
    #[arg(long, value_name = "MODE", default_value = "values")]
    identity_mode: String,
}

impl TargetArgs {
    fn data_dir(&self) -> Result<Option<PathBuf>> {
        self.data_dir.as_deref().map(|d| absolute("--data-dir", d)).transpose()
    }

    fn target(&self) -> Result<Target> {
        let data_dir = self.data_dir()?;
        let derived = |given: &Option<PathBuf>, option: &str, default: fn(&Path) -> PathBuf| -> Result<PathBuf> {
            match (given, &data_dir) {
                (Some(path), _) => absolute(option, path),
                (None, Some(data_dir)) => Ok(default(data_dir)),
                (None, None) => bail!("give --data-dir (or both --license-dir and --xconf)"),
            }
        };
        let license_dir = derived(&self.license_dir, "--license-dir", params::default_license_dir)?;
        let xconf = derived(&self.xconf, "--xconf", params::default_xconf)?;
        let mode: IdentityMode = self.identity_mode.parse()?;
        Target::new(data_dir.as_deref(), &license_dir, &xconf, location::parse_list(&self.identity_paths.join(" "))?, mode)
    }
}

#[derive(Debug, Args)]
struct SweepOptions {
    /// Space-separated folders of intermediate files
    #[arg(long, value_name = "DIRS")]
    sweep_dirs: Option<String>,
    /// Files older than this are leftovers (s, m, h or d)
    #[arg(long, value_name = "AGE", default_value = params::DEFAULT_SWEEP_AGE)]
    sweep_age: String,
    /// quarantine (into the store) or delete
    #[arg(long, value_name = "ACTION", default_value = "quarantine")]
    sweep_action: String,
}

impl SweepOptions {
    /// The sweep, refused (before anything is touched, dry run or not) when a folder is, holds
    /// or lies in what the agent protects: `protected`, the store, or a system tree.
    fn plan(&self, data_dir: Option<&Path>, mut protected: Vec<Protected>, store: &Path) -> Result<Option<SweepPlan>> {
        let Some(dirs) = &self.sweep_dirs else { return Ok(None) };
        let dirs = dirs.split_whitespace().map(|d| absolute("--sweep-dirs", Path::new(d))).collect::<Result<Vec<_>>>()?;
        if dirs.is_empty() {
            return Ok(None);
        }
        protected.push(Protected::new(store, "the identity store", false));
        sweep::check_dirs(&dirs, &protected, "--sweep-dirs")?;
        Ok(Some(SweepPlan {
            sweep_dirs: dirs.iter().map(|d| Below::anchor(data_dir, d)).collect::<Result<Vec<_>>>()?,
            sweep_age: params::parse_age(&self.sweep_age)?,
            sweep_action: self.sweep_action.parse()?,
            // One sweep per run: the interval is the resource's.
            sweep_interval: Duration::ZERO,
            protected,
        }))
    }
}

#[derive(Debug, Args)]
struct CaptureArgs {
    #[command(flatten)]
    store: StoreArgs,
    #[command(flatten)]
    target: TargetArgs,
    /// Replace an existing store that holds something else
    #[arg(long)]
    force: bool,
    /// Print the result as JSON
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct ApplyArgs {
    #[command(flatten)]
    store: StoreArgs,
    #[command(flatten)]
    target: TargetArgs,
    #[command(flatten)]
    sweep: SweepOptions,
    /// Show what would change, write nothing (exit 1 if something would)
    #[arg(long)]
    dry_run: bool,
    /// Print the result as JSON
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct VerifyArgs {
    #[command(flatten)]
    store: StoreArgs,
    #[command(flatten)]
    target: TargetArgs,
    /// Print the result as JSON
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct InspectArgs {
    /// server.xconf to list
    #[arg(long, value_name = "FILE", required_unless_present = "data_dir")]
    xconf: Option<PathBuf>,
    /// [DATA_DIR]: inspect DATA_DIR/system/conf/server.xconf
    #[arg(long, value_name = "DIR", conflicts_with = "xconf")]
    data_dir: Option<PathBuf>,
    /// Another node's server.xconf (each node's own file, taken before any sync): list only the locations whose values
    /// differ, the identity candidates, and an identity_paths line to paste
    #[arg(long, value_name = "FILE")]
    compare: Option<PathBuf>,
    /// Print the result as JSON
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct SweepArgs {
    #[command(flatten)]
    store: StoreArgs,
    #[command(flatten)]
    sweep: SweepOptions,
    /// [DATA_DIR] of ASTERIA Warp: its license and conf folders are never swept, and sweep
    /// folders inside it are reached without following links
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// List what would go, remove nothing
    #[arg(long)]
    dry_run: bool,
    /// Print the result as JSON
    #[arg(long)]
    json: bool,
}

/// The arguments that select the CLI rather than an OCF action.
pub fn is_cli(first_arg: Option<&str>) -> bool {
    matches!(first_arg, None | Some("capture" | "apply" | "verify" | "inspect" | "sweep" | "help" | "--help" | "-h"))
}

/// `warp-fixup man-cli`: the CLI's man page (section 8), generated from the same clap definition
/// as `--help` so the two never drift. (`warp-fixup man` is the agent's page, section 7.)
pub fn print_man_page() -> ExitCode {
    use clap::CommandFactory;
    let man = clap_mangen::Man::new(Cli::command().name("warp-fixup")).section("8");
    match man.render(&mut std::io::stdout().lock()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::from(2),
    }
}

/// Runs the CLI; returns its exit code.
pub fn run(pace: Option<Duration>) -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return ExitCode::from(u8::try_from(err.exit_code()).unwrap_or(2));
        }
    };
    let result = match cli.command {
        Command::Capture(args) => capture(&args),
        Command::Apply(args) => apply(&args, pace),
        Command::Verify(args) => verify(&args),
        Command::Inspect(args) => inspect(&args),
        Command::Sweep(args) => sweep(&args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            eprintln!("warp-fixup: error: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn capture(args: &CaptureArgs) -> Result<u8> {
    let store_path = args.store.path()?;
    let target = args.target.target()?;
    let current = store::read_current(&target)?;
    let exists = std::fs::symlink_metadata(&store_path).is_ok();
    let _lock = if exists { Some(apply::lock(&store_path, &Deadline::after(Duration::from_secs(30)))?) } else { None };
    // The identity (values, license files) tells this node from another: a different one is
    // replaced only with --force. The rest of server.xconf is configuration: with the same
    // identity, its copy is refreshed (what identity_mode=whole-file restores).
    let (state, differences) = if exists {
        match store::load(&store_path) {
            Ok(stored) => {
                let lines = store::differences(&stored, &current);
                let copy = store::copy_differences(&stored, &current);
                match (lines.is_empty(), copy.is_empty()) {
                    (true, true) => ("unchanged", lines),
                    (true, false) => ("refreshed", copy),
                    (false, _) => ("differs", lines.into_iter().chain(copy).collect()),
                }
            }
            Err(err) => ("unusable", vec![format!("{err:#}")]),
        }
    } else {
        ("new", Vec::new())
    };
    let refused = matches!(state, "differs" | "unusable") && !args.force;
    if !refused && state != "unchanged" {
        store::write(&store_path, &current)?;
        // Read it back through the same checks every later use will make.
        store::load(&store_path).context("checking the store just written")?;
    }
    if args.json {
        let json = serde_json::json!({
            "store": store_path,
            "state": state,
            "written": !refused && state != "unchanged",
            "differences": differences,
            "values": current.values.iter().map(|(l, v)| serde_json::json!({"location": l, "value": v})).collect::<Vec<_>>(),
            "licenses": current.licenses.iter().map(|l| serde_json::json!({
                "name": l.name, "sha256": l.sha256(), "owner": store::describe_attrs(&l.attrs), "size": l.content.len()
            })).collect::<Vec<_>>(),
            "xconf": current.xconf.as_ref().map(|x| serde_json::json!({
                "sha256": x.sha256(), "owner": store::describe_attrs(&x.attrs), "size": x.content.len()
            })),
        });
        println!("{json:#}");
    } else {
        match state {
            "unchanged" => println!("{} already holds this identity: nothing written", store_path.display()),
            "new" | "differs" | "unusable" if refused => {
                println!(
                    "{} exists and {}:",
                    store_path.display(),
                    if state == "differs" { "holds another identity" } else { "cannot be used" }
                );
                for line in &differences {
                    println!("  {line}");
                }
                println!("nothing written; run again with --force to replace it");
            }
            "refreshed" => {
                println!("{} already holds this identity; its copy of server.xconf was refreshed:", store_path.display());
                for line in &differences {
                    println!("  {line}");
                }
            }
            _ => {
                if !differences.is_empty() {
                    println!("replaced (--force):");
                    for line in &differences {
                        println!("  {line}");
                    }
                }
                println!("captured into {}:", store_path.display());
                for (location, value) in &current.values {
                    println!("  {location} = {value:?}");
                }
                for license in &current.licenses {
                    println!(
                        "  license/{} ({} bytes, {}, sha256 {})",
                        license.name,
                        license.content.len(),
                        store::describe_attrs(&license.attrs),
                        &license.sha256()[..12]
                    );
                }
                if let Some(xconf) = &current.xconf {
                    println!(
                        "  {} ({} bytes, {}, sha256 {}): whole copy, for identity_mode=whole-file",
                        store::XCONF_COPY,
                        xconf.content.len(),
                        store::describe_attrs(&xconf.attrs),
                        &xconf.sha256()[..12]
                    );
                }
            }
        }
    }
    Ok(if refused { 1 } else { 0 })
}

fn apply(args: &ApplyArgs, pace: Option<Duration>) -> Result<u8> {
    let store_path = args.store.path()?;
    let target = args.target.target()?;
    let data_dir = args.target.data_dir()?;
    let sweep_plan = args.sweep.plan(data_dir.as_deref(), target.protected(data_dir.as_deref()), &store_path)?;
    let outcome = apply::run(&target, &store_path, &Deadline::after(Duration::from_secs(30)), pace, args.dry_run)?;
    let swept = sweep_plan.as_ref().map(|plan| {
        let found = sweep::find(plan, Some(&store_path), SystemTime::now());
        sweep::execute(found, plan.sweep_action, &store_path, args.dry_run)
    });
    if args.json {
        println!("{:#}", serde_json::json!({ "store": store_path, "dry_run": args.dry_run, "outcome": outcome, "sweep": swept }));
    } else {
        match &outcome.applied {
            None if outcome.plan.is_empty() => println!("identity already in place: nothing written"),
            None => {
                println!("would change (--dry-run):");
                for line in outcome.plan.report_lines(&target) {
                    println!("{line}");
                }
            }
            Some(applied) => {
                for action in &applied.actions {
                    println!("{action}");
                }
                if let Some(backup) = &applied.xconf_backup {
                    println!("previous server.xconf kept as {}", backup.display());
                }
            }
        }
        if let (Some(swept), Some(plan)) = (&swept, &sweep_plan) {
            print_sweep(swept, &plan.sweep_dirs);
        }
    }
    let sweep_failed = swept.as_ref().is_some_and(|s| !s.failed.is_empty());
    Ok(if (args.dry_run && !outcome.plan.is_empty()) || sweep_failed { 1 } else { 0 })
}

fn verify(args: &VerifyArgs) -> Result<u8> {
    let store_path = args.store.path()?;
    let target = args.target.target()?;
    let plan = apply::check(&target, &store_path, &Deadline::after(Duration::from_secs(30)))?;
    if args.json {
        println!("{:#}", serde_json::json!({ "store": store_path, "in_sync": plan.is_empty(), "differences": plan }));
    } else if plan.is_empty() {
        println!("in sync with {}", store_path.display());
    } else {
        println!("--- store {}", store_path.display());
        println!("+++ data folder ({}, {})", target.license_dir.display(), target.xconf.display());
        for line in plan.report_lines(&target) {
            println!("{line}");
        }
    }
    Ok(if plan.is_empty() { 0 } else { 1 })
}

fn inspect(args: &InspectArgs) -> Result<u8> {
    let path = match (&args.xconf, &args.data_dir) {
        (Some(xconf), _) => Below::anchor(None, &absolute_or_cwd(xconf)?)?,
        (None, Some(data_dir)) => {
            let data_dir = absolute_or_cwd(data_dir)?;
            Below::anchor(Some(&data_dir), &params::default_xconf(&data_dir))?
        }
        (None, None) => bail!("give --xconf or --data-dir"),
    };
    let xconf = store::read_xconf(&path)?;
    if let Some(other) = &args.compare {
        return compare(args, &path, &xconf, other);
    }
    let entries = xconf.entries();
    if args.json {
        println!("{:#}", serde_json::json!({ "xconf": path.path(), "encoding": format!("{:?}", xconf.encoding()), "entries": entries }));
        return Ok(0);
    }
    // Aligned up to a readable width; a longer location just pushes its value out (a width
    // past 65535 would panic in the formatter).
    let width = entries.iter().map(|e| e.location.chars().count()).max().unwrap_or(0).min(INSPECT_WIDTH);
    for entry in &entries {
        let note =
            if entry.matches > 1 { format!("   (matches {} nodes: not usable as an identity path)", entry.matches) } else { String::new() };
        println!("{:width$}  {}{note}", entry.location, entry.value.describe());
    }
    Ok(0)
}

/// The widest location column `inspect` pads to.
const INSPECT_WIDTH: usize = 100;

/// `inspect --compare`: the locations whose values differ between two nodes' files, and the
/// `identity_paths` line made of those a location can name.
fn compare(args: &InspectArgs, path: &Below, xconf: &crate::xconf::Xconf, other: &Path) -> Result<u8> {
    let other_path = Below::anchor(None, &absolute_or_cwd(other)?)?;
    let other_xconf = store::read_xconf(&other_path)?;
    let differences = xconf.compare(&other_xconf).with_context(|| format!("comparing {} with {}", path.display(), other_path.display()))?;
    let usable: Vec<&str> = differences.iter().filter(|d| d.matches == 1).map(|d| d.location.as_str()).collect();
    let identity_paths = usable.join(" ");
    if args.json {
        println!(
            "{:#}",
            serde_json::json!({
                "xconf": path.path(),
                "compare": other_path.path(),
                "differences": differences,
                "identity_paths": identity_paths,
            })
        );
        return Ok(if differences.is_empty() { 0 } else { 1 });
    }
    if differences.is_empty() {
        println!("no value differs between {} and {}", path.display(), other_path.display());
        println!("(are both the same node's file? compare each node's own server.xconf, taken before any sync)");
        return Ok(0);
    }
    println!(
        "{} value(s) differ between {} (first) and {} (second): the identity candidates",
        differences.len(),
        path.display(),
        other_path.display()
    );
    let width = differences.iter().map(|d| d.location.chars().count()).max().unwrap_or(0).min(INSPECT_WIDTH);
    for d in &differences {
        let note = if d.matches > 1 { format!("   (matches {} nodes: not usable as an identity path)", d.matches) } else { String::new() };
        println!("  {:width$}  {} | {}{note}", d.location, d.value.describe(), d.other.describe());
    }
    if usable.is_empty() {
        println!("no location names one of them alone: nothing to paste");
    } else {
        println!("identity_paths for the resource (or --identity-paths for the CLI), ready to paste:");
        println!("identity_paths={}", shell_quote(&identity_paths));
    }
    Ok(1)
}

/// `text` in double quotes, safe for a shell, pcs and crm: `"`, `$`, `` ` `` and `\` escaped.
fn shell_quote(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('"');
    for c in text.chars() {
        if matches!(c, '"' | '$' | '`' | '\\') {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    quoted.push('"');
    quoted
}

fn sweep(args: &SweepArgs) -> Result<u8> {
    let store_path = args.store.path()?;
    let data_dir = args.data_dir.as_deref().map(|d| absolute("--data-dir", d)).transpose()?;
    let protected = match &data_dir {
        Some(data_dir) => {
            let target = Target::new(
                Some(data_dir),
                &params::default_license_dir(data_dir),
                &params::default_xconf(data_dir),
                Vec::new(),
                IdentityMode::Values,
            )?;
            target.protected(Some(data_dir))
        }
        None => Vec::new(),
    };
    let plan = args.sweep.plan(data_dir.as_deref(), protected, &store_path)?.context("give --sweep-dirs")?;
    if plan.sweep_action == SweepAction::Quarantine && !args.dry_run {
        store::check_secure(&store_path).context("the quarantine lives in the identity store")?;
    }
    let found = sweep::find(&plan, Some(&store_path), SystemTime::now());
    let swept = sweep::execute(found, plan.sweep_action, &store_path, args.dry_run);
    if args.json {
        println!("{:#}", serde_json::json!(swept));
    } else {
        print_sweep(&swept, &plan.sweep_dirs);
    }
    Ok(if swept.failed.is_empty() { 0 } else { 1 })
}

fn print_sweep(swept: &sweep::Swept, dirs: &[Below]) {
    let verb = match (swept.dry_run, swept.action) {
        (true, SweepAction::Quarantine) => "would quarantine",
        (true, SweepAction::Delete) => "would delete",
        (false, SweepAction::Quarantine) => "quarantined",
        (false, SweepAction::Delete) => "deleted",
    };
    for file in &swept.files {
        println!("{verb} {} ({}, {} old)", file.path.display(), sweep::human_bytes(file.size), sweep::human_age(file.age_seconds));
    }
    for path in &swept.in_use {
        println!("left alone (open by a process): {}", path.display());
    }
    for warning in &swept.warnings {
        println!("warning: {warning}");
    }
    for failure in &swept.failed {
        println!("failed: {failure}");
    }
    println!("{}", swept.summary(dirs));
}

fn absolute(option: &str, path: &Path) -> Result<PathBuf> {
    if !path.is_absolute() {
        bail!("{option} must be an absolute path, not {:?}", path.display().to_string());
    }
    Ok(path.to_path_buf())
}

/// inspect is read-only: a relative path is taken from the current folder.
fn absolute_or_cwd(path: &Path) -> Result<PathBuf> {
    if path.is_absolute() {
        return Ok(path.to_path_buf());
    }
    Ok(std::env::current_dir()?.join(path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn paste_lines_are_shell_quoted() {
        assert_eq!(shell_quote("/a/@id /b[@n='x']"), "\"/a/@id /b[@n='x']\"");
        assert_eq!(shell_quote("/a[@v=\"it's $x\"]"), "\"/a[@v=\\\"it's \\$x\\\"]\"");
    }

    #[test]
    fn the_cli_definition_is_consistent() {
        Cli::command().debug_assert();
        assert!(is_cli(Some("capture")) && is_cli(Some("-h")) && is_cli(None));
        assert!(!is_cli(Some("start")) && !is_cli(Some("meta-data")) && !is_cli(Some("validate-all")));
    }
}
