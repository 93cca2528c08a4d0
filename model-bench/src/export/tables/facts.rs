//! What each bench ran on, from the facts it recorded (`model_bench::facts`): the backend and its
//! version, where the model ran, the model file with its size and digest, and any other fact.

use super::table::Table;
use crate::facts::model_key;
use crate::results::Report;

/// Facts shown in their own columns; the rest go to "other".
const OWN_COLUMNS: &[&str] = &[
    "backend",
    "backend.version",
    "backend.library",
    "execution_provider",
];

pub(super) fn what_ran(report: &Report) -> Vec<Table> {
    let mut table = Table::new("What ran", &["bench", "backend", "on", "model", "other"]);
    table.prose = true;
    for bench in report.benches.iter().filter(|b| !b.facts.is_empty()) {
        let facts = &bench.facts;
        let get = |key: &str| facts.get(key).map(String::as_str).unwrap_or("");
        let backend = format!("{} {}", get("backend"), get("backend.version"))
            .trim()
            .to_string();
        let mut models = Vec::new();
        let mut model_keys = Vec::new();
        for n in 1.. {
            let Some(path) = facts.get(&model_key(n, "path")) else {
                break;
            };
            let name = std::path::Path::new(path)
                .file_name()
                .map_or(path.clone(), |file| file.to_string_lossy().into_owned());
            let bytes = facts
                .get(&model_key(n, "bytes"))
                .and_then(|b| b.parse::<f64>().ok())
                .map(|b| format!(", {:.1} MiB", b / f64::from(1u32 << 20)))
                .unwrap_or_default();
            let digest = facts
                .get(&model_key(n, "sha256"))
                .map(|d| format!(", sha256 {}", d.get(..12).unwrap_or(d)))
                .unwrap_or_default();
            models.push(format!("{name}{bytes}{digest}"));
            model_keys.extend(["path", "bytes", "sha256"].map(|f| model_key(n, f)));
        }
        let other: Vec<String> = facts
            .iter()
            .filter(|(key, _)| !OWN_COLUMNS.contains(&key.as_str()) && !model_keys.contains(key))
            .map(|(key, value)| format!("{key}={value}"))
            .collect();
        table.rows.push(vec![
            bench.id.clone(),
            backend,
            get("execution_provider").to_string(),
            models.join("; "),
            other.join(", "),
        ]);
    }
    vec![table]
}
