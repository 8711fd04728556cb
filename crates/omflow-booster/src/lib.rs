//! What the two OMFLOW agents (`omflow-booster`, `omflow-server`) share. Nothing here names the
//! product: it is the next candidate for `crates/ocf` once a third agent needs it.
//!
//! - [`service`]: an init-style service script (`SCRIPT {start|stop|status}`) run bounded, and
//!   what its `status` means.
//! - [`sockets`]: which processes hold a TCP port (`/proc/net/tcp{,6}` inode → `/proc/*/fd`).

pub mod service;
pub mod sockets;
