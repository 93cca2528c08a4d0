//! Result files and the terminal summary: one module per format behind one [`Exporter`] trait, each
//! file written atomically.

pub mod bencher;
pub mod csv;
mod file;
pub mod format;
pub mod github_benchmark;
pub mod html;
pub mod json;
pub mod markdown;
pub mod tables;
pub mod terminal;

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::results::Report;

pub use file::{write_atomic, Exporter};

/// Every file format written at the end of a run.
pub fn exporters() -> Vec<Box<dyn Exporter>> {
    vec![
        Box::new(json::Json),
        Box::new(csv::Csv),
        Box::new(markdown::Markdown),
        Box::new(bencher::Bencher),
        Box::new(github_benchmark::GithubBenchmark),
    ]
}

/// Writes `report` in every format into `dir`. A format that fails does not stop the others; the
/// paths written and the errors are both returned.
pub fn write_all(report: &Report, dir: &Path) -> (Vec<PathBuf>, Vec<Error>) {
    let mut written = Vec::new();
    let mut errors = Vec::new();
    if let Err(source) = fs::create_dir_all(dir) {
        errors.push(Error::io("create directory", dir, source));
        return (written, errors);
    }
    for exporter in exporters() {
        let path = dir.join(exporter.file_name());
        match exporter
            .render(report)
            .and_then(|bytes| write_atomic(&path, &bytes))
        {
            Ok(()) => written.push(path),
            Err(error) => errors.push(error),
        }
    }
    (written, errors)
}
