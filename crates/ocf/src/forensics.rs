//! What a stuck process was doing, written to the log before it is killed or abandoned: state,
//! kernel wait channel, kernel stack (root only) and command line. Reads `/proc` only, so it
//! cannot hang on the storage the process is stuck on.

use std::fs;

use crate::proc;

/// Message ID of forensics lines (see docs/messages.md).
pub const STUCK_PROCESS_ID: &str = "MWHA6002W";

/// One line describing `pid`, or `None` when it is gone.
pub fn describe(pid: i32) -> Option<String> {
    let stat = proc::read_stat(pid)?;
    let wchan = fs::read_to_string(format!("/proc/{pid}/wchan")).unwrap_or_default();
    let wchan = if wchan.is_empty() || wchan == "0" { "-".to_string() } else { wchan };
    let stack: Vec<String> = fs::read_to_string(format!("/proc/{pid}/stack"))
        .map(|s| {
            s.lines().take(6).filter_map(|l| l.split_whitespace().nth(1)).map(|f| f.split('+').next().unwrap_or(f).to_string()).collect()
        })
        .unwrap_or_default();
    let cmdline = proc::read_cmdline(pid).join(" ");
    let cmdline: String = cmdline.chars().take(200).collect();
    let mut line = format!("pid {pid} state {} wchan {wchan}", stat.state);
    if !stack.is_empty() {
        line += &format!(" stack {}", stack.join("<"));
    }
    line += &format!(": {cmdline}");
    Some(line)
}

/// Logs a forensics line per process, with `why` ("before SIGKILL", "abandoned at deadline").
pub fn log_stuck(pids: &[i32], why: &str) {
    for pid in pids {
        if let Some(line) = describe(*pid) {
            crate::warn!("[{STUCK_PROCESS_ID}] {why}: {line}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_a_sleeping_process() {
        let mut child = std::process::Command::new("sleep").arg("30").spawn().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(50));
        let line = describe(child.id() as i32).unwrap();
        assert!(line.contains("state S"), "{line}");
        assert!(line.ends_with(": sleep 30"), "{line}");
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(describe(child.id() as i32).is_none());
    }
}
