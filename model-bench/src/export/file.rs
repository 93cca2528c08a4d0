//! A result file: the [`Exporter`] trait every format implements, and the atomic write every file
//! goes through.

use std::fs;
use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};
use crate::results::Report;

/// A file format the results are written in.
pub trait Exporter {
    /// The file's name inside the output directory.
    fn file_name(&self) -> &'static str;
    fn render(&self, report: &Report) -> Result<Vec<u8>>;
}

/// Writes `bytes` to a temporary file beside `path`, then renames it over `path`: a reader sees the
/// old file or the new one, never a half-written one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // Unique per write, so two writers of one file (Ctrl-C during the final write) never share it.
    static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = dir.join(format!(".{file_name}.{}.{n}.tmp", std::process::id()));
    let result = (|| {
        let mut file = fs::File::create(&tmp).map_err(|e| Error::io("create", &tmp, e))?;
        file.write_all(bytes)
            .and_then(|()| file.sync_all())
            .map_err(|e| Error::io("write", &tmp, e))?;
        fs::rename(&tmp, path).map_err(|e| Error::io("replace", path, e))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("results.json");
        write_atomic(&path, b"old").unwrap();
        write_atomic(&path, b"new").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn failed_write_keeps_the_previous_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("results.json");
        write_atomic(&path, b"previous").unwrap();
        // A directory where the temp file would go makes the write fail.
        let blocked = dir.path().join("missing-dir").join("results.json");
        let error = write_atomic(&blocked, b"new").unwrap_err();
        assert!(error.to_string().contains("missing-dir"), "{error}");
        assert_eq!(fs::read(&path).unwrap(), b"previous");
    }
}
