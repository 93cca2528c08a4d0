//! The library's typed errors: each says what failed and where (file, bench, variable).

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid configuration in {origin}: {message}")]
    Config { origin: String, message: String },

    #[error("cannot {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("criterion's output {path} is unreadable: {message}")]
    CriterionOutput { path: PathBuf, message: String },

    #[error("cold run of `{bench}` failed: {message}")]
    ColdRun { bench: String, message: String },

    #[error("cannot draw chart `{chart}`: {message}")]
    Plot { chart: String, message: String },

    #[error("cannot encode {what}: {message}")]
    Encode { what: &'static str, message: String },
}

impl Error {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        Error::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
