//! PID files, read strictly: one positive integer, an optional newline, nothing else.
//!
//! A PID file is only a claim; [`crate::identity`] decides whether the process is the product.
//! See: resource-agents #496 (`anything` grabbed every number in a PID file and killed them).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use nix::fcntl::OFlag;

/// A PID file holds at most 10 digits and a line end; anything longer is not a PID file.
const READ_LIMIT: u64 = 16;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PidFileState {
    Missing,
    /// Present but not one integer (or not a regular file): never trusted, never signalled,
    /// never deleted. The text describes it without quoting it (it may be a secret).
    Garbage(String),
    Claim {
        pid: i32,
        written: SystemTime,
    },
}

#[derive(Debug, Clone)]
pub struct PidFile {
    path: PathBuf,
}

impl PidFile {
    pub fn new(path: impl Into<PathBuf>) -> PidFile {
        PidFile { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the file: never through a symbolic link (`O_NOFOLLOW`), only a regular file (a FIFO
    /// is opened non-blocking and refused), at most a few bytes. Call it under a deadline when
    /// it may live on network storage (see [`crate::fsio::bounded`]).
    pub fn read(&self) -> io::Result<PidFileState> {
        let file = match open_nofollow(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(PidFileState::Missing),
            Err(e) if e.raw_os_error() == Some(nix::libc::ELOOP) => return Ok(PidFileState::Garbage("is a symbolic link".into())),
            Err(e) => return Err(e),
        };
        let meta = file.metadata()?;
        if !meta.is_file() {
            return Ok(PidFileState::Garbage(format!("is not a regular file ({})", kind(&meta.file_type()))));
        }
        let mut bytes = Vec::new();
        file.take(READ_LIMIT + 1).read_to_end(&mut bytes)?;
        if bytes.len() as u64 > READ_LIMIT {
            return Ok(PidFileState::Garbage(format!("is {} bytes long, too long for a PID", meta.len())));
        }
        Ok(match parse_pid(&bytes) {
            Ok(pid) => PidFileState::Claim { pid, written: meta.modified()? },
            Err(why) => PidFileState::Garbage(why),
        })
    }

    /// Removes the file only if it still is what [`PidFile::read`] found: a regular file claiming
    /// `pid` (which the caller proved stale). Anything else (garbage, a link, a different PID)
    /// is left alone: it may be a file that is not ours at all. Returns whether it was removed.
    pub fn remove_stale_claim(&self, pid: i32) -> io::Result<bool> {
        match self.read()? {
            PidFileState::Claim { pid: claimed, .. } if claimed == pid => match fs::remove_file(&self.path) {
                Ok(()) => Ok(true),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
                Err(e) => Err(e),
            },
            _ => Ok(false),
        }
    }
}

fn open_nofollow(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .custom_flags((OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC | OFlag::O_NOCTTY).bits())
        .open(path)
}

fn kind(t: &fs::FileType) -> &'static str {
    crate::fsio::file_kind(t)
}

/// Strict parse: ASCII digits, optionally one trailing `\n` (or `\r\n`), value > 1.
pub fn parse_pid(bytes: &[u8]) -> Result<i32, String> {
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    let body = body.strip_suffix(b"\r").unwrap_or(body);
    if body.is_empty() {
        return Err("empty".into());
    }
    if !body.iter().all(u8::is_ascii_digit) || body.len() > 10 {
        // Never quote it: the file may be a secret the PID file parameter was pointed at.
        return Err(format!("does not hold a single PID ({} bytes)", bytes.len()));
    }
    let text = std::str::from_utf8(body).map_err(|e| e.to_string())?;
    match text.parse::<i32>() {
        Ok(pid) if pid > 1 => Ok(pid),
        _ => Err(format!("PID {text} out of range")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_one_plain_integer_is_a_pid() {
        for (input, expected) in [
            (&b"4242\n"[..], Some(4242)),
            (b"4242", Some(4242)),
            (b"4242\r\n", Some(4242)),
            (b"", None),
            (b"\n", None),
            (b" 4242\n", None),
            (b"4242\n\n", None),
            (b"4242 4243\n", None),
            (b"Welcome! 12 34\n4242\n", None),
            (b"1\n", None),
            (b"0\n", None),
            (b"-5\n", None),
            (b"99999999999\n", None),
        ] {
            assert_eq!(parse_pid(input).ok(), expected, "{:?}", String::from_utf8_lossy(input));
        }
        assert!(!parse_pid(b"secret=hunter2\n").unwrap_err().contains("hunter2"));
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("mwha-pidfile-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn links_devices_fifos_and_long_files_are_garbage_and_never_removed() {
        let dir = scratch("hostile");
        let secret = dir.join("secret");
        fs::write(&secret, "4242\n").unwrap();
        let link = dir.join("link.pid");
        std::os::unix::fs::symlink(&secret, &link).unwrap();
        let zero = dir.join("zero.pid");
        std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
        let fifo = dir.join("fifo.pid");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        let long = dir.join("long.pid");
        fs::write(&long, "4242\n".repeat(1000)).unwrap();
        for path in [&link, &zero, &fifo, &long, &dir] {
            let state = PidFile::new(path).read().unwrap();
            assert!(matches!(state, PidFileState::Garbage(_)), "{path:?}: {state:?}");
            assert!(!PidFile::new(path).remove_stale_claim(4242).unwrap(), "{path:?}");
            assert!(path.symlink_metadata().is_ok(), "{path:?} was removed");
        }
        assert_eq!(fs::read_to_string(&secret).unwrap(), "4242\n");
        let _ = fs::remove_dir_all(dir);
    }

    #[test]
    fn only_the_stale_claim_itself_is_removed() {
        let dir = scratch("stale");
        let pidfile = PidFile::new(dir.join("x.pid"));
        assert_eq!(pidfile.read().unwrap(), PidFileState::Missing);
        fs::write(pidfile.path(), "4242\n").unwrap();
        assert!(matches!(pidfile.read().unwrap(), PidFileState::Claim { pid: 4242, .. }));
        assert!(!pidfile.remove_stale_claim(4243).unwrap(), "another PID than the one proved stale");
        let config = dir.join("app.conf");
        fs::write(&config, "listen=80\n").unwrap();
        assert!(!PidFile::new(&config).remove_stale_claim(4242).unwrap());
        assert!(config.exists(), "a file that is not a PID file is never deleted");
        assert!(pidfile.remove_stale_claim(4242).unwrap());
        assert!(!pidfile.path().exists());
        let _ = fs::remove_dir_all(dir);
    }
}
