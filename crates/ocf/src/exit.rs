//! OCF exit codes and the one place where a result becomes a code.
//!
//! Answers (`Status`) are not failures: a monitor that finds the service stopped returns
//! `Ok(Status::Stopped)`. Failures are `anyhow::Error`s; an [`OcfError`] anywhere in the chain
//! picks the code, anything unclassified is [`Fault::Generic`] (1).

use std::fmt;

/// What a successful action reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// 0: running (monitor) or done (other actions).
    Running,
    /// 7: cleanly stopped (monitor only).
    Stopped,
    /// 8: running in the promoted role (monitor only).
    Promoted,
}

impl Status {
    pub fn code(self) -> u8 {
        match self {
            Status::Running => 0,
            Status::Stopped => 7,
            Status::Promoted => 8,
        }
    }
}

/// Why an action failed, as Pacemaker distinguishes it (see docs/ocf-contract.md §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// 1: soft failure, restart in place.
    Generic,
    /// 2: parameters invalid on this host (hard: banned from this node).
    Args,
    /// 3: action not implemented.
    Unimplemented,
    /// 4: insufficient privileges (hard).
    Perm,
    /// 5: software missing on this host (hard).
    Installed,
    /// 6: parameters wrong on every node (fatal: banned cluster-wide).
    Configured,
    /// 9: promoted but failed.
    FailedPromoted,
}

impl Fault {
    pub fn code(self) -> u8 {
        match self {
            Fault::Generic => 1,
            Fault::Args => 2,
            Fault::Unimplemented => 3,
            Fault::Perm => 4,
            Fault::Installed => 5,
            Fault::Configured => 6,
            Fault::FailedPromoted => 9,
        }
    }
}

/// An error that knows its OCF code. Put it in an `anyhow` chain where the code matters.
#[derive(Debug)]
pub struct OcfError {
    fault: Fault,
    message: String,
}

impl OcfError {
    pub fn with_fault(fault: Fault, message: impl Into<String>) -> anyhow::Error {
        anyhow::Error::new(OcfError { fault, message: message.into() })
    }
    pub fn configured(message: impl Into<String>) -> anyhow::Error {
        Self::with_fault(Fault::Configured, message)
    }
    pub fn installed(message: impl Into<String>) -> anyhow::Error {
        Self::with_fault(Fault::Installed, message)
    }
    pub fn args(message: impl Into<String>) -> anyhow::Error {
        Self::with_fault(Fault::Args, message)
    }
    pub fn failed_promoted(message: impl Into<String>) -> anyhow::Error {
        Self::with_fault(Fault::FailedPromoted, message)
    }
    pub fn fault(&self) -> Fault {
        self.fault
    }
}

impl fmt::Display for OcfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for OcfError {}

/// The fault an error maps to: the first [`OcfError`] in its chain, else generic.
pub fn fault_of(err: &anyhow::Error) -> Fault {
    err.chain().find_map(|cause| cause.downcast_ref::<OcfError>()).map_or(Fault::Generic, OcfError::fault)
}

/// The exit code of an action's result.
pub fn exit_code(result: &anyhow::Result<Status>) -> u8 {
    match result {
        Ok(status) => status.code(),
        Err(err) => fault_of(err).code(),
    }
}

/// The text of the one `ocf-exit-reason:` line: `<instance>: <cause>`, one line, at most 128
/// bytes (Pacemaker truncates at 128), no trailing period.
pub fn exit_reason(instance: &str, err: &anyhow::Error) -> String {
    let mut text = format!("{instance}: {err:#}");
    text = text.replace(['\n', '\r'], " ");
    while text.ends_with('.') {
        text.pop();
    }
    truncate_on_char(&mut text, 128);
    text
}

fn truncate_on_char(text: &mut String, max: usize) {
    if text.len() <= max {
        return;
    }
    let mut cut = max;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    text.truncate(cut);
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn code_comes_from_the_first_ocf_error_in_the_chain() {
        let err = Err::<(), _>(OcfError::configured("install_dir must be absolute")).context("reading parameters").unwrap_err();
        assert_eq!(exit_code(&Err(err)), 6);
        assert_eq!(exit_code(&Err(anyhow::anyhow!("plain"))), 1);
        assert_eq!(exit_code(&Ok(Status::Stopped)), 7);
        assert_eq!(exit_code(&Ok(Status::Promoted)), 8);
    }

    #[test]
    fn exit_reason_is_one_short_line_naming_the_resource() {
        let err = anyhow::anyhow!("line one\nline two.").context("starting");
        let reason = exit_reason("warp", &err);
        assert_eq!(reason, "warp: starting: line one line two");
        let long = anyhow::anyhow!("{}", "é".repeat(200));
        let reason = exit_reason("warp", &long);
        assert!(reason.len() <= 128, "{}", reason.len());
        assert!(reason.starts_with("warp: é"));
    }
}
