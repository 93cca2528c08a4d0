//! The library's typed errors: each says what failed and where (file, bench, variable).

use std::path::PathBuf;

/// An error from the library: a setting, a file, a cold run, a chart or an export that failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A setting (in the config file, an environment variable or a command-line filter) is invalid.
    #[error("invalid configuration in {origin}: {message}")]
    Config {
        /// Where the setting came from: the file and key, an environment variable, or the bench
        /// name filter.
        origin: String,
        /// What is wrong with the value.
        message: String,
    },

    /// A file system operation failed.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// What was being done, as a verb phrase (`read`, `create directory`, `replace`).
        action: &'static str,
        /// The file or directory it was done to.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },

    /// A file criterion should have written in this run is missing, stale, unparsable or has no
    /// samples.
    #[error("criterion's output {path} is unreadable: {message}")]
    CriterionOutput {
        /// The criterion output file.
        path: PathBuf,
        /// Why it could not be used.
        message: String,
    },

    /// A cold run (one first call in a fresh process) of a bench failed.
    #[error("cold run of `{bench}` failed: {message}")]
    ColdRun {
        /// The bench's name.
        bench: String,
        /// What went wrong.
        message: String,
    },

    /// A chart could not be drawn, or its SVG rasterised to PNG.
    #[error("cannot draw chart `{chart}`: {message}")]
    Plot {
        /// The chart's name.
        chart: String,
        /// What went wrong.
        message: String,
    },

    /// An export could not be serialized.
    #[error("cannot encode {what}: {message}")]
    Encode {
        /// The output being encoded, by file name (`results.json`, `bencher.json`).
        what: &'static str,
        /// The serializer's error.
        message: String,
    },
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

/// A `Result` whose error defaults to the library's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
