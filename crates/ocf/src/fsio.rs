//! Filesystem work with a deadline. The product's files may live on NFS/CIFS, where a `stat`
//! can block for minutes; the work runs on its own thread and the caller stops waiting at the
//! deadline. A thread stuck on a dead server is abandoned (NFS waits are killable, so it does
//! not outlive the process).

use std::path::Path;
use std::sync::mpsc;

use anyhow::{Context, Result};

use crate::deadline::{Deadline, TimedOut};

pub fn bounded<T: Send + 'static>(deadline: &Deadline, what: &str, work: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("fsio".into())
        .spawn(move || {
            let _ = tx.send(work());
        })
        .context("starting a thread for filesystem I/O")?;
    rx.recv_timeout(deadline.remaining()).map_err(|_| TimedOut::error(&format!("{what} (hung storage?)"), deadline.elapsed()))
}

/// What a file that is not a regular file is, for messages: "a directory", "a FIFO", "a device",
/// "a socket", "a symbolic link" or "a special file".
pub fn file_kind(t: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_char_device() || t.is_block_device() {
        "a device"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_symlink() {
        "a symbolic link"
    } else {
        "a special file"
    }
}

/// Whether `path` exists (as anything), under a deadline.
pub fn exists(deadline: &Deadline, path: &Path) -> Result<bool> {
    let owned = path.to_path_buf();
    bounded(deadline, &format!("checking {}", path.display()), move || owned.symlink_metadata().is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn abandons_work_at_the_deadline() {
        let d = Deadline::after(Duration::from_millis(50));
        let err = bounded(&d, "a hung read", || std::thread::sleep(Duration::from_secs(5))).unwrap_err();
        assert!(err.to_string().contains("a hung read (hung storage?) did not finish"), "{err}");
        assert!(crate::deadline::is_timeout(&err));
        assert!(exists(&Deadline::after(Duration::from_secs(5)), Path::new("/proc/self")).unwrap());
    }
}
