//! The exit-code contract (ARCHITECTURE §2), and how an error chain maps onto it.
//!
//! Core modules return `thiserror` enums; each implements [`Coded`] and is listed in
//! `crate::CODED_ERRORS`. At the command edge errors travel as `anyhow::Error` with context;
//! [`classify`] walks the chain and returns the code of the first error that knows its own.
//! This module is a leaf: it names no other module's types.

use std::fmt;

/// Process exit statuses. The numbers are a public contract: documented in the README, stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExitStatus {
    /// Success.
    Ok,
    /// An unexpected failure (a bug, or an error nothing classified).
    Failure,
    /// The command line could not be parsed.
    Usage,
    /// Invalid project or input: config, compose, ignore file, version.
    InvalidInput,
    /// Docker engine error: unreachable, build failed.
    Engine,
    /// Registry: push or pull failed, registry credentials missing or refused.
    Registry,
    /// AWS: an API error, or AWS credentials missing, refused or of another account.
    Aws,
    /// The deploy failed: environment unhealthy or EB reported failure.
    DeployFailed,
    /// Timed out.
    TimedOut,
    /// The deploy failed and the previous version was restored.
    RolledBack,
    /// The environment is busy or a lock is held.
    Busy,
    /// Interrupted by Ctrl-C.
    Interrupted,
    /// A command run in a container (`run`, `shell`, tasks) exited with this code; passed on.
    Child(u8),
}

impl ExitStatus {
    /// The numeric process exit code.
    pub fn code(self) -> u8 {
        match self {
            ExitStatus::Ok => 0,
            ExitStatus::Failure => 1,
            ExitStatus::Usage => 2,
            ExitStatus::InvalidInput => 3,
            ExitStatus::Engine => 4,
            ExitStatus::Registry => 5,
            ExitStatus::Aws => 6,
            ExitStatus::DeployFailed => 7,
            ExitStatus::TimedOut => 8,
            ExitStatus::RolledBack => 9,
            ExitStatus::Busy => 10,
            ExitStatus::Interrupted => 130,
            ExitStatus::Child(code) => code,
        }
    }
}

impl fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code())
    }
}

/// An error that knows which exit status it deserves.
pub trait Coded {
    /// The exit status for this error.
    fn exit_status(&self) -> ExitStatus;
}

/// An error raised at the command edge with an explicit status and a message that already
/// says what to do.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct CommandError {
    /// The status to exit with.
    pub status: ExitStatus,
    /// The full, user-facing message.
    pub message: String,
}

impl CommandError {
    /// A new error with `status` and `message`.
    pub fn new(status: ExitStatus, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }
}

impl Coded for CommandError {
    fn exit_status(&self) -> ExitStatus {
        self.status
    }
}

/// Asks one error whether it is of a type that knows its exit status.
pub type Classifier = fn(&(dyn std::error::Error + 'static)) -> Option<ExitStatus>;

/// The [`Classifier`] of error type `T`.
pub fn classifier<T: Coded + std::error::Error + 'static>(
    cause: &(dyn std::error::Error + 'static),
) -> Option<ExitStatus> {
    cause.downcast_ref::<T>().map(Coded::exit_status)
}

/// Find the exit status of an error chain: the first error in it that one of `types` knows
/// (the crate's list is `crate::CODED_ERRORS`; this module knows no other module's errors).
pub fn classify(err: &anyhow::Error, types: &[Classifier]) -> ExitStatus {
    for cause in err.chain() {
        if let Some(status) = types.iter().find_map(|known| known(cause)) {
            return status;
        }
        if let Some(io) = cause.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::Interrupted
        {
            return ExitStatus::Interrupted;
        }
    }
    ExitStatus::Failure
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_the_documented_contract() {
        let table = [
            (ExitStatus::Ok, 0),
            (ExitStatus::Failure, 1),
            (ExitStatus::Usage, 2),
            (ExitStatus::InvalidInput, 3),
            (ExitStatus::Engine, 4),
            (ExitStatus::Registry, 5),
            (ExitStatus::Aws, 6),
            (ExitStatus::DeployFailed, 7),
            (ExitStatus::TimedOut, 8),
            (ExitStatus::RolledBack, 9),
            (ExitStatus::Busy, 10),
            (ExitStatus::Interrupted, 130),
        ];
        for (status, code) in table {
            assert_eq!(status.code(), code, "{status:?}");
        }
    }

    #[test]
    fn classify_finds_a_coded_error_behind_context() {
        let err = anyhow::Error::new(CommandError::new(ExitStatus::Busy, "locked"))
            .context("deploying prod");
        let known: [Classifier; 1] = [classifier::<CommandError>];
        assert_eq!(classify(&err, &known), ExitStatus::Busy);
        assert_eq!(classify(&err, &[]), ExitStatus::Failure, "an unknown type");
        assert_eq!(
            classify(&anyhow::anyhow!("plain"), &known),
            ExitStatus::Failure
        );
    }
}
