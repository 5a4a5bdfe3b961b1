//! qc's one error type, grouped by whose fault it is; the exit code follows from the group.
//!
//! Data problems inside a table (a rule that fails, a malformed CSV record) are *results*,
//! never errors. Rule-pack problems are [`crate::diagnostic::Diagnostic`]s, all collected and
//! printed by the command that found them. Only what stops a run is an [`Error`].

use std::path::{Path, PathBuf};

/// Exit status of the `qc` process (documented in README).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0: every rule met its threshold.
    Passed = 0,
    /// 1: some table failed a rule threshold.
    ThresholdFailed = 1,
    /// 2: usage error or rule-pack error.
    RuleError = 2,
    /// 3: data or runtime error (unreadable input, engine failure, I/O).
    RuntimeError = 3,
    /// 130: interrupted (Ctrl-C), nothing written.
    Interrupted = 130,
}

impl ExitStatus {
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// Why a command could not complete.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad command-line usage that clap could not catch (e.g. `--data` naming no table).
    #[error("{0}")]
    Usage(String),

    /// Input data that cannot be read at all (file-level damage).
    #[error("{}: {message}", path.display())]
    Data { path: PathBuf, message: String },

    /// An I/O failure on a named file or folder.
    #[error("{}: {error}", path.display())]
    Io {
        path: PathBuf,
        // Shown in the message itself, so not a `#[source]` (it would print twice).
        error: std::io::Error,
    },

    /// The query engine failed; the string says what qc was doing at the time.
    #[error("{context}: {error}")]
    Engine {
        context: String,
        error: Box<datafusion::error::DataFusionError>,
    },

    /// A cluster could not run the audit (unreachable, missing qc's functions, or a table or
    /// rule that cannot run distributed); the message names what and why.
    #[error("{0}")]
    Cluster(String),

    /// A set-based rule's computation made no progress for the stall timeout and was stopped;
    /// the message names the rule.
    #[error("{0}")]
    Stalled(String),

    /// What a rule must hold does not fit the memory limit; the message names the rule.
    #[error("{what}: {message}")]
    Memory { what: String, message: String },

    /// Stopped by Ctrl-C (SIGINT) before the run completed.
    #[error(
        "已中断（Ctrl-C），未留下结果 / interrupted (Ctrl-C): the run stopped and left no result"
    )]
    Interrupted,

    /// A bug in qc: an invariant did not hold.
    #[error("internal error (a qc bug): {0}")]
    Internal(String),
}

impl Error {
    pub fn exit_status(&self) -> ExitStatus {
        match self {
            Error::Usage(_) => ExitStatus::RuleError,
            Error::Interrupted => ExitStatus::Interrupted,
            Error::Data { .. }
            | Error::Io { .. }
            | Error::Engine { .. }
            | Error::Cluster(_)
            | Error::Stalled(_)
            | Error::Memory { .. }
            | Error::Internal(_) => ExitStatus::RuntimeError,
        }
    }

    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            error: source,
        }
    }

    pub fn data(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::Data {
            path: path.into(),
            message: message.into(),
        }
    }

    pub fn engine(context: impl Into<String>, source: datafusion::error::DataFusionError) -> Self {
        // A qc error raised inside a DataFusion stream (e.g. an unreadable CSV file) comes back
        // wrapped as External: unwrap it so the user sees the file-level message, not the engine's.
        if let datafusion::error::DataFusionError::External(inner) = &source
            && let Some(qc) = inner.downcast_ref::<Error>()
        {
            return qc.clone_shallow();
        }
        Error::Engine {
            context: context.into(),
            error: Box::new(source),
        }
    }

    /// A damaged `file`, as an error pointing at `--keep-going`; `reason` may already name
    /// the file.
    pub fn damaged(file: &Path, reason: &str) -> Self {
        let prefix = format!("{}: ", file.display());
        let reason = reason.strip_prefix(&prefix).unwrap_or(reason);
        Error::data(
            file,
            format!(
                "{reason} (`qc run --keep-going` audits the other files and marks the run partial)"
            ),
        )
    }

    /// A copy of a data/I-O error reported from inside a stream (the original stays boxed there).
    fn clone_shallow(&self) -> Self {
        match self {
            Error::Data { path, message } => Error::data(path.clone(), message.clone()),
            Error::Io { path, error } => Error::io(
                path.clone(),
                std::io::Error::new(error.kind(), error.to_string()),
            ),
            other => Error::Internal(other.to_string()),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
