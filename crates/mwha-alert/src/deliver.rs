//! Getting a line out: appended to a file, or sent to syslog, never blocking past the deadline.
//!
//! A file line is one `write(2)` on a descriptor opened with `O_APPEND`, so concurrent alert
//! processes (Pacemaker runs one per event and recipient, all at once) never interleave within
//! a line. A short write counts as a failure. The open and the write run on a thread bounded by
//! the deadline: a log directory on a hung NFS server must not hold Pacemaker's alert slot.
//!
//! Only a plain file is written: a symbolic link at the recipient's name (to a file we should
//! not touch, or dangling so that `O_CREAT` would make its target), a FIFO, a device or a file
//! with other hard links is refused and the line goes to syslog instead.
//!
//! Syslog is a datagram to `/dev/log` (a stream socket as fallback); the `MWHA_SYSLOG_SOCKET`
//! hook names another socket in test builds.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use nix::fcntl::OFlag;

use ocf::deadline::Deadline;

use crate::catalogue::Severity;

/// The longest line written; longer ones are cut (exit reasons are ≤128 bytes, so only a
/// runaway description gets here).
const MAX_LINE: usize = 4000;

/// Appends `line` and a newline to `path` in one write.
pub fn append_line(path: &Path, line: &str, deadline: &Deadline) -> Result<()> {
    let mut bytes = truncate(line, MAX_LINE).as_bytes().to_vec();
    bytes.push(b'\n');
    let owned = path.to_path_buf();
    ocf::fsio::bounded(deadline, &format!("writing to {}", path.display()), move || write_once(&owned, &bytes))?
}

fn write_once(path: &Path, bytes: &[u8]) -> Result<()> {
    // Looked at before the open so that a device is never opened (opening some has effects:
    // a tape rewinds, a modem line rises); the fstat below is what counts.
    match std::fs::symlink_metadata(path) {
        Ok(found) => ensure_plain_file(&found)?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).context("examining"),
    }
    // O_NOFOLLOW: a link at the name is never followed, not even a dangling one with O_CREAT.
    // O_NONBLOCK: a FIFO that replaced the file fails at once instead of waiting for a reader
    // (it changes nothing for a regular file).
    // O_NOCTTY: a terminal never becomes our controlling terminal.
    let flags = OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_NOCTTY | OFlag::O_CLOEXEC;
    let mut file = OpenOptions::new().append(true).create(true).mode(0o640).custom_flags(flags.bits()).open(path).map_err(|e| {
        match e.raw_os_error() {
            Some(nix::libc::ELOOP) => anyhow!("is a symbolic link: not followed"),
            Some(nix::libc::ENXIO) => anyhow!("is a FIFO or socket, not a plain file: not written"),
            _ => anyhow::Error::new(e).context("opening"),
        }
    })?;
    ensure_plain_file(&file.metadata().context("examining")?)?;
    // One write(2): the line is either in the file whole or reported as not delivered.
    let written = file.write(bytes).context("writing")?;
    if written != bytes.len() {
        bail!("short write ({written} of {} bytes)", bytes.len());
    }
    Ok(())
}

/// A recipient file is a regular file with no other name.
fn ensure_plain_file(meta: &std::fs::Metadata) -> Result<()> {
    let kind = meta.file_type();
    if kind.is_symlink() {
        bail!("is a symbolic link: not followed");
    }
    if !kind.is_file() {
        bail!("is {}, not a plain file: not written", ocf::fsio::file_kind(&kind));
    }
    // Another name could be any file the alert agent may write (the CIB is hacluster's too).
    if meta.nlink() > 1 {
        bail!("has {} hard links: not written", meta.nlink());
    }
    Ok(())
}

/// Sends one syslog record: `<PRI>mwha-alert[pid]: text` (through ocf's one syslog sender).
pub fn syslog(facility: u8, severity: Severity, text: &str) -> Result<()> {
    let text = format!("mwha-alert[{}]: {}", std::process::id(), truncate(text, MAX_LINE));
    ocf::log::syslog(facility, severity.syslog(), &text).map_err(|e| anyhow!("syslog socket {}: {e}", ocf::log::syslog_socket().display()))
}

fn truncate(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn lines_are_appended_whole() {
        let dir = std::env::temp_dir().join(format!("mwha-alert-deliver-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("a.log");
        let d = Deadline::after(Duration::from_secs(5));
        append_line(&log, "one", &d).unwrap();
        append_line(&log, "two", &d).unwrap();
        assert_eq!(std::fs::read_to_string(&log).unwrap(), "one\ntwo\n");
        let err = append_line(&dir.join("missing/a.log"), "three", &d).unwrap_err();
        assert!(format!("{err:#}").contains("opening: No such file"), "{err:#}");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn only_plain_files_are_written() {
        let dir = std::env::temp_dir().join(format!("mwha-alert-deliver-plain-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let d = Deadline::after(Duration::from_secs(5));
        let refused = |path: &Path| format!("{:#}", append_line(path, "x", &d).unwrap_err());
        // /dev/full would say "No space left" if it were opened: it is not.
        for device in ["/dev/full", "/dev/null"] {
            assert_eq!(refused(Path::new(device)), "is a device, not a plain file: not written");
        }
        assert_eq!(refused(&dir), "is a directory, not a plain file: not written");
        let victim = dir.join("victim");
        std::fs::write(&victim, "precious\n").unwrap();
        let link = dir.join("link.log");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        assert_eq!(refused(&link), "is a symbolic link: not followed");
        let hard = dir.join("hard.log");
        std::fs::hard_link(&victim, &hard).unwrap();
        assert_eq!(refused(&hard), "has 2 hard links: not written");
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn long_lines_are_cut_on_a_character_boundary() {
        assert_eq!(truncate("ééé", 3), "é");
        assert_eq!(truncate("abc", 10), "abc");
    }
}
