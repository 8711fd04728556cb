//! Getting a line out: appended to a file, or sent to syslog, never blocking past the deadline.
//!
//! A file line is one `write(2)` on a descriptor opened with `O_APPEND`, so concurrent alert
//! processes (Pacemaker runs one per event and recipient, all at once) never interleave within
//! a line. A short write counts as a failure. The open and the write run on a thread bounded by
//! the deadline: a log directory on a hung NFS server must not hold Pacemaker's alert slot.
//!
//! Syslog is a datagram to `/dev/log` (a stream socket as fallback); `MWHA_SYSLOG_SOCKET`
//! names another socket (tests).

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::net::{UnixDatagram, UnixStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, bail, Result};

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
    let result = ocf::fsio::bounded(deadline, &format!("writing to {}", path.display()), move || write_once(&owned, &bytes))?;
    result.map_err(|e| anyhow!("{e}"))
}

fn write_once(path: &PathBuf, bytes: &[u8]) -> io::Result<()> {
    let mut file = OpenOptions::new().append(true).create(true).mode(0o640).custom_flags(nix::libc::O_CLOEXEC).open(path)?;
    // One write(2): the line is either in the file whole or reported as not delivered.
    let written = file.write(bytes)?;
    if written != bytes.len() {
        return Err(io::Error::new(io::ErrorKind::WriteZero, format!("short write ({written} of {} bytes)", bytes.len())));
    }
    Ok(())
}

/// Sends one syslog record: `<PRI>mwha-alert[pid]: text`.
pub fn syslog(facility: u8, severity: Severity, text: &str) -> Result<()> {
    let socket = std::env::var_os("MWHA_SYSLOG_SOCKET").map_or_else(|| PathBuf::from("/dev/log"), PathBuf::from);
    let record = format!(
        "<{}>mwha-alert[{}]: {}",
        u32::from(facility) * 8 + u32::from(severity.syslog()),
        std::process::id(),
        truncate(text, MAX_LINE)
    );
    let timeout = Some(Duration::from_secs(1));
    let datagram = UnixDatagram::unbound().and_then(|s| {
        s.set_write_timeout(timeout)?;
        s.send_to(record.as_bytes(), &socket)
    });
    match datagram {
        Ok(_) => Ok(()),
        // syslog-ng may listen on a stream socket; records end with a newline there.
        Err(e) if e.raw_os_error() == Some(nix::libc::EPROTOTYPE) => {
            let mut stream = UnixStream::connect(&socket)?;
            stream.set_write_timeout(timeout)?;
            stream.write_all(format!("{record}\n").as_bytes())?;
            Ok(())
        }
        Err(e) => bail!("syslog socket {}: {e}", socket.display()),
    }
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
        assert!(err.to_string().contains("No such file"), "{err}");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_full_disk_is_an_error() {
        let err = append_line(Path::new("/dev/full"), "x", &Deadline::after(Duration::from_secs(5))).unwrap_err();
        assert!(err.to_string().contains("No space left"), "{err}");
    }

    #[test]
    fn long_lines_are_cut_on_a_character_boundary() {
        assert_eq!(truncate("ééé", 3), "é");
        assert_eq!(truncate("abc", 10), "abc");
    }
}
