//! The one error type of the core. Every front end branches on its variants, never on text.

use serde::Serialize;
use std::path::PathBuf;
use ts_rs::TS;

use crate::endpoint::Attempt;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No endpoint answered. `attempts` says what was tried and what each one answered.
    #[error("Docker is not running or not reachable ({})", summary(.attempts))]
    DaemonUnavailable { attempts: Vec<Attempt> },

    #[error("no image named {0:?}")]
    ImageNotFound(String),

    /// The daemon answered, but with an error.
    #[error("Docker answered {status}: {message}")]
    Daemon { status: u16, message: String },

    /// The connection broke or the daemon sent something we could not read.
    #[error("lost the connection to Docker: {0}")]
    Stream(String),

    #[error("{0}")]
    InvalidInput(String),

    /// A squash plan's setting that cannot be written or that Docker would refuse: which one,
    /// and which row of a list, so a window can say it at the field.
    #[error("{message}")]
    InvalidSetting {
        setting: crate::squash::PlanField,
        row: Option<u32>,
        message: String,
    },

    /// An image archive (the stream `docker save` writes) that cannot be read: truncated,
    /// not a tar, or missing the manifest, config or a layer.
    #[error("the image archive is malformed: {0}")]
    MalformedArchive(String),

    /// A build the daemon ran and reported as failed (an `errorDetail` in its stream).
    #[error("the build failed: {0}")]
    BuildFailed(String),

    #[error("cancelled")]
    Cancelled,

    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// One attempt in full when it decided the outcome (the only one, or an address the user chose,
/// after which nothing else was tried): its words carry the fix of a known problem.
fn summary(attempts: &[Attempt]) -> String {
    match attempts.first() {
        None => "no endpoint to try".into(),
        Some(first) if attempts.len() == 1 || first.endpoint.source.is_chosen() => {
            let place = match first.endpoint.host.as_str() {
                "" => first.endpoint.source.describe(),
                host => host.to_owned(),
            };
            format!("{place}: {}", first.outcome)
        }
        Some(_) => format!("tried {} endpoints", attempts.len()),
    }
}

/// A stable, machine-readable name for each variant: the IPC layer and the CLI's exit codes
/// key on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub enum ErrorCode {
    DaemonUnavailable,
    ImageNotFound,
    Daemon,
    Stream,
    InvalidInput,
    MalformedArchive,
    BuildFailed,
    Cancelled,
    Io,
}

impl Error {
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::DaemonUnavailable { .. } => ErrorCode::DaemonUnavailable,
            Error::ImageNotFound(_) => ErrorCode::ImageNotFound,
            Error::Daemon { .. } => ErrorCode::Daemon,
            Error::Stream(_) => ErrorCode::Stream,
            Error::InvalidInput(_) | Error::InvalidSetting { .. } => ErrorCode::InvalidInput,
            Error::MalformedArchive(_) => ErrorCode::MalformedArchive,
            Error::BuildFailed(_) => ErrorCode::BuildFailed,
            Error::Cancelled => ErrorCode::Cancelled,
            Error::Io { .. } => ErrorCode::Io,
        }
    }

    /// Maps a bollard error from a request whose connection was already established.
    pub(crate) fn from_docker(err: bollard::errors::Error) -> Self {
        use bollard::errors::Error as B;
        match err {
            B::DockerResponseServerError {
                status_code,
                message,
            } => Error::Daemon {
                status: status_code,
                message,
            },
            other => Error::Stream(other.to_string()),
        }
    }
}
