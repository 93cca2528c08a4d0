//! `bencher.json`: Bencher's Metric Format (BMF), for `bencher run --adapter json`. Each point is
//! a benchmark; `latency` is criterion's median with its confidence interval (ns), `throughput`
//! items (or successful responses) per second, and remote points add `latency-p99` (ns).

use serde_json::{json, Map, Value};

use super::file::Exporter;
use crate::error::{Error, Result};
use crate::results::Report;

pub struct Bencher;

impl Exporter for Bencher {
    fn file_name(&self) -> &'static str {
        "bencher.json"
    }

    fn render(&self, report: &Report) -> Result<Vec<u8>> {
        let mut benchmarks = Map::new();
        for point in report.benches.iter().flat_map(|b| &b.points) {
            let median = &point.estimates.median;
            let mut measures = Map::new();
            measures.insert(
                "latency".into(),
                json!({"value": median.point, "lower_value": median.lower, "upper_value": median.upper}),
            );
            let load = point.load.as_ref().map(|l| &l.stats);
            let throughput = load.map(|s| s.throughput_rps).or(point.items_per_sec);
            if let Some(throughput) = throughput {
                measures.insert("throughput".into(), json!({ "value": throughput }));
            }
            if let Some(latency) = load.and_then(|s| s.latency.as_ref()) {
                measures.insert("latency-p99".into(), json!({ "value": latency.p99 }));
            }
            benchmarks.insert(point.id.clone(), Value::Object(measures));
        }
        serde_json::to_vec_pretty(&Value::Object(benchmarks)).map_err(|e| Error::Encode {
            what: "bencher.json",
            message: e.to_string(),
        })
    }
}
