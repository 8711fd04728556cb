//! Reading `/proc`: process status, command lines and the process table.
//!
//! The parsers take text, so identity decisions are tested against captured `/proc` content.
//! Reading `/proc` never blocks on storage.

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;

/// The fields of `/proc/<pid>/stat` we use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stat {
    pub pid: i32,
    pub comm: String,
    pub state: char,
    pub ppid: i32,
    pub pgrp: i32,
    pub session: i32,
    /// Field 22: clock ticks after boot when the process started.
    pub starttime: u64,
}

/// Parses `/proc/<pid>/stat`. `comm` may contain spaces and parentheses, so fields are counted
/// from the last `)`.
pub fn parse_stat(text: &str) -> Option<Stat> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let pid = text[..open].trim().parse().ok()?;
    let comm = text[open + 1..close].to_string();
    let rest: Vec<&str> = text[close + 1..].split_whitespace().collect();
    // rest[0] is field 3 (state); field N is rest[N - 3].
    Some(Stat {
        pid,
        comm,
        state: rest.first()?.chars().next()?,
        ppid: rest.get(1)?.parse().ok()?,
        pgrp: rest.get(2)?.parse().ok()?,
        session: rest.get(3)?.parse().ok()?,
        starttime: rest.get(19)?.parse().ok()?,
    })
}

/// The real uid from `/proc/<pid>/status`.
pub fn parse_status_uid(text: &str) -> Option<u32> {
    text.lines().find_map(|l| l.strip_prefix("Uid:"))?.split_whitespace().next()?.parse().ok()
}

pub fn read_stat(pid: i32) -> Option<Stat> {
    parse_stat(&fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

pub fn read_uid(pid: i32) -> Option<u32> {
    parse_status_uid(&fs::read_to_string(format!("/proc/{pid}/status")).ok()?)
}

/// The command line, one entry per argument (lossy UTF-8).
pub fn read_cmdline(pid: i32) -> Vec<String> {
    fs::read(format!("/proc/{pid}/cmdline")).map(|bytes| split_cmdline(&bytes)).unwrap_or_default()
}

pub fn split_cmdline(bytes: &[u8]) -> Vec<String> {
    bytes.split(|b| *b == 0).filter(|a| !a.is_empty()).map(|a| String::from_utf8_lossy(a).into_owned()).collect()
}

pub fn read_exe(pid: i32) -> Option<PathBuf> {
    fs::read_link(format!("/proc/{pid}/exe")).ok()
}

/// One pass over `/proc`: every live (non-zombie) process with its parent.
#[derive(Debug, Default)]
pub struct ProcessTable {
    pub stats: BTreeMap<i32, Stat>,
}

impl ProcessTable {
    pub fn scan() -> ProcessTable {
        let mut stats = BTreeMap::new();
        if let Ok(dir) = fs::read_dir("/proc") {
            for entry in dir.flatten() {
                let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else { continue };
                if let Some(stat) = read_stat(pid) {
                    if stat.state != 'Z' && stat.state != 'X' {
                        stats.insert(pid, stat);
                    }
                }
            }
        }
        ProcessTable { stats }
    }

    /// All descendants of `root` (not `root` itself), by parent links.
    pub fn descendants(&self, root: i32) -> Vec<i32> {
        let mut children: BTreeMap<i32, Vec<i32>> = BTreeMap::new();
        for s in self.stats.values() {
            children.entry(s.ppid).or_default().push(s.pid);
        }
        let mut out = Vec::new();
        let mut todo = vec![root];
        while let Some(p) = todo.pop() {
            for c in children.get(&p).into_iter().flatten() {
                if !out.contains(c) && *c != root {
                    out.push(*c);
                    todo.push(*c);
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_with_spaces_and_parens_in_comm() {
        let text = "4242 (java (main) x) S 1 4242 4242 0 -1 4194560 100 0 0 0 5 3 0 0 20 0 30 0 987654 1000 100 18446744073709551615\n";
        let s = parse_stat(text).unwrap();
        assert_eq!(s.pid, 4242);
        assert_eq!(s.comm, "java (main) x");
        assert_eq!((s.state, s.ppid, s.pgrp, s.session), ('S', 1, 4242, 4242));
        assert_eq!(s.starttime, 987654);
        assert!(parse_stat("garbage").is_none());
    }

    #[test]
    fn uid_and_cmdline() {
        assert_eq!(parse_status_uid("Name:\tx\nUid:\t1001\t1001\t1001\t1001\n"), Some(1001));
        assert_eq!(split_cmdline(b"java\0-Dx=/opt/warp\0\0"), ["java", "-Dx=/opt/warp"]);
    }

    #[test]
    fn this_process_is_in_the_table_with_its_parent() {
        let table = ProcessTable::scan();
        let me = std::process::id() as i32;
        let stat = table.stats.get(&me).expect("own pid in /proc");
        assert!(table.descendants(stat.ppid).contains(&me));
    }
}
