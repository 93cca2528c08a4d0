//! `github-action-benchmark.json`: the custom "smaller is better" format of
//! `benchmark-action/github-action-benchmark` (`tool: customSmallerIsBetter`). One entry per
//! point with criterion's median (ns); remote points add an entry for their p99 latency.

use serde_json::{json, Value};

use super::file::Exporter;
use crate::error::{Error, Result};
use crate::results::Report;

pub struct GithubBenchmark;

impl Exporter for GithubBenchmark {
    fn file_name(&self) -> &'static str {
        "github-action-benchmark.json"
    }

    fn render(&self, report: &Report) -> Result<Vec<u8>> {
        let mut entries = Vec::new();
        for point in report.benches.iter().flat_map(|b| &b.points) {
            let median = &point.estimates.median;
            let load = point.load.as_ref().map(|l| &l.stats);
            let extra = match (load, point.items_per_sec) {
                (Some(stats), _) => format!(
                    "{:.1} ok/s, {} requests, {} errors",
                    stats.throughput_rps, stats.requests, stats.errors
                ),
                (None, Some(items)) => format!("{items:.1} items/s"),
                (None, None) => String::new(),
            };
            entries.push(json!({
                "name": point.id,
                "unit": point.unit,
                "value": median.point,
                "range": format!("± {:.1}", (median.upper - median.lower) / 2.0),
                "extra": extra,
            }));
            if let Some(latency) = load.and_then(|s| s.latency.as_ref()) {
                entries.push(json!({
                    "name": format!("{} (p99)", point.id),
                    "unit": "ns",
                    "value": latency.p99,
                }));
            }
        }
        serde_json::to_vec_pretty(&Value::Array(entries)).map_err(|e| Error::Encode {
            what: "github-action-benchmark.json",
            message: e.to_string(),
        })
    }
}
