//! `results.json`: the full data model, pretty-printed.

use super::file::Exporter;
use crate::error::{Error, Result};
use crate::results::Report;

pub struct Json;

impl Exporter for Json {
    fn file_name(&self) -> &'static str {
        "results.json"
    }

    fn render(&self, report: &Report) -> Result<Vec<u8>> {
        let mut bytes = serde_json::to_vec_pretty(report).map_err(|e| Error::Encode {
            what: "results.json",
            message: e.to_string(),
        })?;
        bytes.push(b'\n');
        Ok(bytes)
    }
}
