//! Logging in the ocf_log convention: `<type>(<instance>)[<pid>]: LEVEL: message`.
//!
//! Like ocf-shellfuncs: to stderr when it is a terminal or when Pacemaker gave no log target;
//! otherwise appended to `HA_LOGFILE` and sent to syslog when `HA_LOGFACILITY` is set. Debug
//! lines only with `HA_debug` ≠ 0. Set up once by the run loop; logging never fails an action.
//! stdout is reserved for meta-data.

use std::fs::OpenOptions;
use std::io::{IsTerminal, Write};
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::sync::OnceLock;

use crate::civil::UtcTime;
use crate::env::Env;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Debug,
    Info,
    Warn,
    Error,
}

impl Level {
    fn label(self) -> &'static str {
        match self {
            Level::Debug => "DEBUG",
            Level::Info => "INFO",
            Level::Warn => "WARNING",
            Level::Error => "ERROR",
        }
    }
    fn syslog_severity(self) -> u8 {
        match self {
            Level::Debug => 7,
            Level::Info => 6,
            Level::Warn => 4,
            Level::Error => 3,
        }
    }
}

struct Logger {
    tag: String,
    to_stderr: bool,
    logfile: Option<PathBuf>,
    syslog_facility: Option<u8>,
    debug: bool,
}

static LOGGER: OnceLock<Logger> = OnceLock::new();

/// Sets the logger up from the environment; later calls are ignored.
pub fn init(agent_type: &str, env: &Env) {
    let logfile = env.var("HA_LOGFILE").filter(|s| !s.is_empty()).map(PathBuf::from);
    let syslog_facility = env.var("HA_LOGFACILITY").and_then(facility_code);
    let to_stderr = std::io::stderr().is_terminal() || (logfile.is_none() && syslog_facility.is_none());
    let debug = env.var("HA_debug").is_some_and(|v| !v.is_empty() && v != "0");
    let tag = format!("{agent_type}({})[{}]", env.instance(), std::process::id());
    let _ = LOGGER.set(Logger { tag, to_stderr, logfile, syslog_facility, debug });
}

pub fn log(level: Level, message: &str) {
    let Some(logger) = LOGGER.get() else {
        eprintln!("{}: {message}", level.label());
        return;
    };
    if level == Level::Debug && !logger.debug {
        return;
    }
    let line = format!("{}: {}: {message}", logger.tag, level.label());
    if logger.to_stderr {
        let _ = writeln!(std::io::stderr(), "{line}");
    }
    if let Some(path) = &logger.logfile {
        if let Ok(mut file) = OpenOptions::new().create(true).append(true).open(path) {
            let _ = file.write_all(format!("{} {line}\n", timestamp()).as_bytes());
        }
    }
    if let Some(facility) = logger.syslog_facility {
        send_syslog(facility, level, &line);
    }
}

/// The exit reason Pacemaker records: the last `ocf-exit-reason:` line on stderr.
pub fn exit_reason(text: &str) {
    let _ = writeln!(std::io::stderr(), "ocf-exit-reason:{text}");
}

fn send_syslog(facility: u8, level: Level, line: &str) {
    // If syslog is absent we lose only syslog.
    let _ = syslog(facility, level.syslog_severity(), line);
}

/// The syslog socket: `/dev/log`, or the `MWHA_SYSLOG_SOCKET` hook's in test builds.
pub fn syslog_socket() -> std::path::PathBuf {
    crate::hooks::var(crate::hooks::SYSLOG_SOCKET).map_or_else(|| "/dev/log".into(), Into::into)
}

/// Sends one syslog record `<PRI>text` (the caller puts the tag into `text`): a datagram to the
/// syslog socket, or a newline-terminated record on a stream socket (syslog-ng may listen on
/// one). Never blocks for more than a second.
pub fn syslog(facility: u8, severity: u8, text: &str) -> std::io::Result<()> {
    use std::os::unix::net::UnixStream;
    let socket = syslog_socket();
    let record = format!("<{}>{text}", u32::from(facility) * 8 + u32::from(severity));
    let timeout = Some(std::time::Duration::from_secs(1));
    let datagram = UnixDatagram::unbound().and_then(|s| {
        s.set_write_timeout(timeout)?;
        s.send_to(record.as_bytes(), &socket)
    });
    match datagram {
        Ok(_) => Ok(()),
        Err(e) if e.raw_os_error() == Some(nix::libc::EPROTOTYPE) => {
            let mut stream = UnixStream::connect(&socket)?;
            stream.set_write_timeout(timeout)?;
            stream.write_all(format!("{record}\n").as_bytes())
        }
        Err(e) => Err(e),
    }
}

/// The syslog facility code of a name (`daemon`, `local0`…); `None` for `none` or unknown.
pub fn facility_code(name: &str) -> Option<u8> {
    Some(match name.trim().to_ascii_lowercase().as_str() {
        "kern" => 0,
        "user" => 1,
        "mail" => 2,
        "daemon" => 3,
        "auth" => 4,
        "syslog" => 5,
        "local0" => 16,
        "local1" => 17,
        "local2" => 18,
        "local3" => 19,
        "local4" => 20,
        "local5" => 21,
        "local6" => 22,
        "local7" => 23,
        _ => return None, // "none" or unknown: no syslog
    })
}

fn timestamp() -> String {
    timestamp_of(std::time::SystemTime::now())
}

fn timestamp_of(time: std::time::SystemTime) -> String {
    let t = UtcTime::of(time);
    format!("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", t.year, t.month, t.day, t.hour, t.minute, t.second)
}

#[macro_export]
macro_rules! info {
    ($($arg:tt)*) => { $crate::log::log($crate::log::Level::Info, &format!($($arg)*)) };
}
#[macro_export]
macro_rules! warn {
    ($($arg:tt)*) => { $crate::log::log($crate::log::Level::Warn, &format!($($arg)*)) };
}
#[macro_export]
macro_rules! error {
    ($($arg:tt)*) => { $crate::log::log($crate::log::Level::Error, &format!($($arg)*)) };
}
#[macro_export]
macro_rules! debug {
    ($($arg:tt)*) => { $crate::log::log($crate::log::Level::Debug, &format!($($arg)*)) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(timestamp_of(std::time::SystemTime::UNIX_EPOCH), "1970-01-01T00:00:00Z");
        let day_20_417 = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(20_417 * 86_400);
        assert_eq!(timestamp_of(day_20_417), "2025-11-25T00:00:00Z");
        assert_eq!(facility_code("daemon"), Some(3));
        assert_eq!(facility_code("none"), None);
    }
}
