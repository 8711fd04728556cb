//! Which processes hold a local TCP port: the sockets with that local port in
//! `/proc/net/tcp` and `/proc/net/tcp6` (of this network namespace), by inode, then every
//! process with a `socket:[inode]` link under `/proc/<pid>/fd`.
//!
//! Only the *local* port counts (a listener, or a connection it accepted): a client talking to
//! that port elsewhere has an ephemeral local port and is never a holder. Reading `/proc` never
//! blocks on storage, so no deadline is needed.

use std::collections::BTreeSet;
use std::fs;

use crate::identity::ProcRef;
use crate::proc;

/// One line of `/proc/net/tcp{,6}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpSocket {
    pub local_port: u16,
    /// `st`: 0x0A is LISTEN, 0x01 ESTABLISHED.
    pub state: u8,
    /// 0 for sockets no process owns any more (TIME_WAIT).
    pub inode: u64,
}

pub const LISTEN: u8 = 0x0A;

/// Parses the text of `/proc/net/tcp` or `/proc/net/tcp6` (header line skipped, bad lines ignored).
pub fn parse_proc_net_tcp(text: &str) -> Vec<TcpSocket> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let local_port = u16::from_str_radix(f.get(1)?.rsplit_once(':')?.1, 16).ok()?;
            let state = u8::from_str_radix(f.get(3)?, 16).ok()?;
            let inode = f.get(9)?.parse().ok()?;
            Some(TcpSocket { local_port, state, inode })
        })
        .collect()
}

/// The TCP sockets of this network namespace, IPv4 and IPv6 (a table that cannot be read counts
/// as empty).
fn tcp_sockets() -> impl Iterator<Item = TcpSocket> {
    ["/proc/net/tcp", "/proc/net/tcp6"].into_iter().filter_map(|p| fs::read_to_string(p).ok()).flat_map(|text| parse_proc_net_tcp(&text))
}

/// Inodes of the sockets whose local port is `port`.
pub fn port_inodes(port: u16) -> BTreeSet<u64> {
    tcp_sockets().filter(|s| s.local_port == port && s.inode != 0).map(|s| s.inode).collect()
}

/// Whether something listens on `port`.
pub fn is_listening(port: u16) -> bool {
    tcp_sockets().any(|s| s.local_port == port && s.state == LISTEN)
}

/// The socket inode an `/proc/<pid>/fd/<n>` link names (`socket:[12345]`).
pub fn socket_inode(link: &str) -> Option<u64> {
    link.strip_prefix("socket:[")?.strip_suffix(']')?.parse().ok()
}

/// Live processes holding a socket with local port `port` (this process excluded).
pub fn port_holders(port: u16) -> Vec<ProcRef> {
    let inodes = port_inodes(port);
    if inodes.is_empty() {
        return Vec::new();
    }
    let me = std::process::id() as i32;
    let mut holders = Vec::new();
    for entry in fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else { continue };
        if pid == me {
            continue;
        }
        let Ok(fds) = fs::read_dir(entry.path().join("fd")) else { continue };
        let holds = fds
            .flatten()
            .any(|fd| fs::read_link(fd.path()).ok().and_then(|l| socket_inode(&l.to_string_lossy())).is_some_and(|i| inodes.contains(&i)));
        if holds {
            if let Some(stat) = proc::read_stat(pid).filter(|s| s.state != 'Z' && s.state != 'X') {
                holders.push(ProcRef::of(&stat));
            }
        }
    }
    holders
}

#[cfg(test)]
mod tests {
    use super::*;

    const TCP: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:1431 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 41234 1 0000000000000000 100 0 0 10 0
   1: 0100007F:D2F0 0100007F:1431 01 00000000:00000000 00:00000000 00000000     0        0 51234 1 0000000000000000 20 4 30 10 -1
   2: 0100007F:1431 0100007F:D2F0 01 00000000:00000000 00:00000000 00000000     0        0 51235 1 0000000000000000 20 4 30 10 -1
   3: 0100007F:1431 0100007F:D2F2 06 00000000:00000000 03:00001234 00000000     0        0 0 3 0000000000000000
";

    #[test]
    fn only_the_local_port_counts() {
        let sockets = parse_proc_net_tcp(TCP);
        assert_eq!(sockets.len(), 4);
        assert_eq!(sockets[0], TcpSocket { local_port: 5169, state: LISTEN, inode: 41234 });
        let held: Vec<u64> = sockets.iter().filter(|s| s.local_port == 5169 && s.inode != 0).map(|s| s.inode).collect();
        // The listener and the accepted connection; not the client (local port 0xD2F0), not TIME_WAIT.
        assert_eq!(held, [41234, 51235]);
        let v6 = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:1431 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 777 1 0000000000000000 100 0 0 10 0
";
        assert_eq!(parse_proc_net_tcp(v6), [TcpSocket { local_port: 5169, state: LISTEN, inode: 777 }]);
        assert_eq!(socket_inode("socket:[41234]"), Some(41234));
        assert_eq!(socket_inode("pipe:[41234]"), None);
    }

    #[test]
    fn finds_a_listener_of_this_test_in_another_process() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        assert!(is_listening(port));
        // This process is excluded on purpose (an agent never signals itself).
        assert!(port_holders(port).is_empty());
        let mut child = std::process::Command::new("python3")
            .args(["-c", "import socket,sys,time; s=socket.socket(); s.bind(('127.0.0.1',0)); s.listen(); print(s.getsockname()[1], flush=True); time.sleep(30)"])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take().unwrap()), &mut line).unwrap();
        let child_port: u16 = line.trim().parse().unwrap();
        let holders = port_holders(child_port);
        assert_eq!(holders.iter().map(|p| p.pid).collect::<Vec<_>>(), [child.id() as i32]);
        child.kill().unwrap();
        let _ = child.wait();
    }
}
