//! PID files, read strictly: one positive integer, an optional newline, nothing else.
//!
//! A PID file is only a claim; [`crate::identity`] decides whether the process is the product.
//! See: resource-agents #496 (`anything` grabbed every number in a PID file and killed them).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PidFileState {
    Missing,
    /// Present but not one integer: never trusted, never signalled.
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

    /// Reads the file. Call it under a deadline when it may live on network storage
    /// (see [`crate::fsio::bounded`]).
    pub fn read(&self) -> io::Result<PidFileState> {
        let bytes = match fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(PidFileState::Missing),
            Err(e) => return Err(e),
        };
        let written = fs::metadata(&self.path)?.modified()?;
        Ok(match parse_pid(&bytes) {
            Ok(pid) => PidFileState::Claim { pid, written },
            Err(why) => PidFileState::Garbage(why),
        })
    }

    /// Removes the file; a missing file is fine.
    pub fn remove(&self) -> io::Result<()> {
        match fs::remove_file(&self.path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

/// Strict parse: ASCII digits, optionally one trailing `\n` (or `\r\n`), value > 1.
pub fn parse_pid(bytes: &[u8]) -> Result<i32, String> {
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    let body = body.strip_suffix(b"\r").unwrap_or(body);
    if body.is_empty() {
        return Err("empty".into());
    }
    if !body.iter().all(u8::is_ascii_digit) || body.len() > 10 {
        let shown: String = String::from_utf8_lossy(&bytes[..bytes.len().min(40)]).escape_debug().collect();
        return Err(format!("not a single PID: \"{shown}\""));
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
    }
}
