//! What the `model-bench` command does without running benches: compare two result files
//! (critcmp-like), and move a criterion baseline in and out of one portable file for CI artifacts.

pub mod baseline_file;
pub mod compare;
#[cfg(feature = "remote")]
pub mod k8s;
#[cfg(feature = "remote")]
pub mod merge;

use std::path::Path;

use crate::results::{Report, SCHEMA_VERSION};

/// Why a file the command was given cannot be used; each says which file and what is wrong.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    #[error("cannot read {path}: {message}")]
    Read { path: String, message: String },
    #[error("{path} is not a model-bench {what}: {message}")]
    Invalid {
        path: String,
        what: &'static str,
        message: String,
    },
    #[error("{path} has {what} version {found}; this model-bench reads version {supported}")]
    Version {
        path: String,
        what: &'static str,
        found: u64,
        supported: u64,
    },
    #[error("cannot write {path}: {message}")]
    Write { path: String, message: String },
    /// A scale-out run whose outputs cannot be merged (`model-bench merge`).
    #[error("{0}")]
    Merge(String),
    /// A flag or value the command cannot use.
    #[error("{0}")]
    Usage(String),
}

pub(crate) fn read_text(path: &Path) -> Result<String, ToolError> {
    std::fs::read_to_string(path).map_err(|e| ToolError::Read {
        path: path.display().to_string(),
        message: e.to_string(),
    })
}

/// The error for `path` not being a valid `what`.
pub(crate) fn invalid(path: &Path, what: &'static str, message: impl Into<String>) -> ToolError {
    ToolError::Invalid {
        path: path.display().to_string(),
        what,
        message: message.into(),
    }
}

/// Reads `path` as JSON; a file that does not parse is not a valid `what`.
pub(crate) fn read_json(path: &Path, what: &'static str) -> Result<serde_json::Value, ToolError> {
    serde_json::from_str(&read_text(path)?).map_err(|e| invalid(path, what, e.to_string()))
}

/// A `found` version other than `supported` is an error saying both.
pub(crate) fn check_version(
    path: &Path,
    what: &'static str,
    found: u64,
    supported: u64,
) -> Result<(), ToolError> {
    if found == supported {
        return Ok(());
    }
    Err(ToolError::Version {
        path: path.display().to_string(),
        what,
        found,
        supported,
    })
}

/// Reads a `results.json`, checking its schema version before anything else.
pub fn read_results(path: &Path) -> Result<Report, ToolError> {
    let value = read_json(path, "results file")?;
    let version = value
        .get("schema_version")
        .and_then(|v| v.as_u64())
        .ok_or_else(|| invalid(path, "results file", "no `schema_version`"))?;
    check_version(path, "results schema", version, u64::from(SCHEMA_VERSION))?;
    serde_json::from_value(value).map_err(|e| invalid(path, "results file", e.to_string()))
}
