//! Application-level health probes: `http://host:port/path` (2xx/3xx is healthy) or
//! `tcp://host:port` (a connection is accepted), always under a deadline.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use anyhow::{Context, Result};

use crate::deadline::Deadline;
use crate::exit::OcfError;
use crate::fsio;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    Http { host: String, port: u16, path: String },
    Tcp { host: String, port: u16 },
}

impl Probe {
    /// Parses a probe URL; a malformed one is wrong on every node (6).
    pub fn parse(url: &str) -> Result<Probe> {
        let bad = |why: &str| OcfError::configured(format!("probe URL {url:?}: {why}"));
        let (scheme, rest) = url.split_once("://").ok_or_else(|| bad("expected http://host:port/path or tcp://host:port"))?;
        if scheme != "http" && scheme != "tcp" {
            return Err(bad("only http:// and tcp:// are supported"));
        }
        let (hostport, path) = match rest.find('/') {
            Some(i) => (&rest[..i], rest[i..].to_string()),
            None => (rest, "/".to_string()),
        };
        let (host, port) = split_host_port(hostport, if scheme == "http" { Some(80) } else { None }).ok_or_else(|| bad("bad host:port"))?;
        if path.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad("path contains spaces or control characters"));
        }
        match scheme {
            "http" => Ok(Probe::Http { host, port, path }),
            "tcp" if path == "/" => Ok(Probe::Tcp { host, port }),
            _ => Err(bad("tcp probes take no path")),
        }
    }

    /// Checks the service; the error says what failed. Failing because the deadline passed
    /// gives a [`crate::deadline::TimedOut`].
    pub fn check(&self, deadline: &Deadline) -> Result<()> {
        self.check_once(deadline).map_err(|err| {
            if deadline.is_expired() && !crate::deadline::is_timeout(&err) {
                crate::deadline::TimedOut::error(&format!("{self} ({err:#})"), deadline.elapsed())
            } else {
                err
            }
        })
    }

    fn check_once(&self, deadline: &Deadline) -> Result<()> {
        match self {
            Probe::Tcp { host, port } => {
                connect(host, *port, deadline)?;
                Ok(())
            }
            Probe::Http { host, port, path } => {
                let mut stream = connect(host, *port, deadline)?;
                let io_timeout = Some(deadline.remaining().max(Duration::from_millis(1)));
                stream.set_read_timeout(io_timeout)?;
                stream.set_write_timeout(io_timeout)?;
                let request = format!("GET {path} HTTP/1.0\r\nHost: {host}:{port}\r\nUser-Agent: mwha\r\nConnection: close\r\n\r\n");
                stream.write_all(request.as_bytes()).with_context(|| format!("sending request to {host}:{port}"))?;
                let mut head = [0u8; 64];
                let mut got = 0;
                while got < 12 {
                    let n = stream.read(&mut head[got..]).with_context(|| format!("reading answer of {host}:{port}{path}"))?;
                    if n == 0 {
                        break;
                    }
                    got += n;
                }
                let status =
                    parse_status_line(&head[..got]).ok_or_else(|| anyhow::anyhow!("{host}:{port}{path} sent no HTTP status line"))?;
                if (200..400).contains(&status) {
                    Ok(())
                } else {
                    anyhow::bail!("{host}:{port}{path} answered HTTP {status}")
                }
            }
        }
    }
}

impl std::fmt::Display for Probe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Probe::Http { host, port, path } => write!(f, "http://{host}:{port}{path}"),
            Probe::Tcp { host, port } => write!(f, "tcp://{host}:{port}"),
        }
    }
}

fn connect(host: &str, port: u16, deadline: &Deadline) -> Result<TcpStream> {
    let addrs = resolve(host, port, deadline)?;
    let mut last = None;
    for addr in addrs {
        let timeout = deadline.remaining();
        if timeout.is_zero() {
            break;
        }
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(s) => return Ok(s),
            Err(e) => last = Some(e),
        }
    }
    match last {
        Some(e) => Err(anyhow::anyhow!("cannot connect to {host}:{port}: {e}")),
        None => Err(anyhow::anyhow!("cannot connect to {host}:{port}: no time left")),
    }
}

fn resolve(host: &str, port: u16, deadline: &Deadline) -> Result<Vec<SocketAddr>> {
    if let Ok(ip) = host.trim_matches(['[', ']']).parse::<std::net::IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    // Name resolution can block on a dead DNS server: bound it like filesystem I/O.
    let name = host.to_string();
    let resolved =
        fsio::bounded(deadline, &format!("resolving {host}"), move || (name.as_str(), port).to_socket_addrs().map(Vec::from_iter))?;
    resolved.with_context(|| format!("resolving {host}"))
}

fn split_host_port(s: &str, default_port: Option<u16>) -> Option<(String, u16)> {
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let (h, after) = rest.split_once(']')?;
        (h.to_string(), after.strip_prefix(':'))
    } else {
        match s.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (s.to_string(), None),
        }
    };
    let port = match port {
        Some(p) => p.parse().ok()?,
        None => default_port?,
    };
    (!host.is_empty() && port > 0).then_some((host, port))
}

fn parse_status_line(head: &[u8]) -> Option<u16> {
    let text = std::str::from_utf8(head).ok()?;
    let mut parts = text.split_whitespace();
    parts.next().filter(|v| v.starts_with("HTTP/"))?;
    parts.next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls() {
        assert_eq!(
            Probe::parse("http://127.0.0.1:28080/fsmc").unwrap(),
            Probe::Http { host: "127.0.0.1".into(), port: 28080, path: "/fsmc".into() }
        );
        assert_eq!(Probe::parse("tcp://localhost:5169").unwrap(), Probe::Tcp { host: "localhost".into(), port: 5169 });
        assert_eq!(Probe::parse("http://[::1]:80").unwrap(), Probe::Http { host: "::1".into(), port: 80, path: "/".into() });
        for bad in ["ftp://x:1", "http://:80/", "tcp://h", "tcp://h:1/x", "nonsense", "http://h:99999/"] {
            let err = Probe::parse(bad).unwrap_err();
            assert_eq!(crate::exit::fault_of(&err).code(), 6, "{bad}");
        }
        // The reason names the real problem.
        assert!(Probe::parse("ftp://host/x").unwrap_err().to_string().contains("only http:// and tcp://"));
    }

    #[test]
    fn status_line() {
        assert_eq!(parse_status_line(b"HTTP/1.1 302 Found\r\n"), Some(302));
        assert_eq!(parse_status_line(b"SSH-2.0"), None);
    }

    #[test]
    fn http_probe_against_a_local_listener() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            for answer in ["HTTP/1.0 200 OK\r\n\r\nok", "HTTP/1.0 503 Busy\r\n\r\n"] {
                let (mut s, _) = listener.accept().unwrap();
                let mut buf = [0u8; 512];
                let _ = s.read(&mut buf);
                s.write_all(answer.as_bytes()).unwrap();
            }
        });
        let probe = Probe::parse(&format!("http://127.0.0.1:{port}/x")).unwrap();
        let d = Deadline::after(Duration::from_secs(5));
        probe.check(&d).unwrap();
        let err = probe.check(&d).unwrap_err();
        assert!(err.to_string().contains("HTTP 503"), "{err}");
        server.join().unwrap();
    }
}
