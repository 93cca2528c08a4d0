//! `results.csv`: one row per measured point (bench × batch size, or remote bench × load level),
//! times in nanoseconds; token-stream columns (TTFT, ITL per request, chunk gaps, tokens/s,
//! goodput as a fraction 0–1, unlike `late_pct`) filled for LLM endpoints, and the LLM server's
//! state (`server_*`: its metrics read by name; KV usage a fraction) and the energy per token
//! where they were read.

use super::file::Exporter;
use crate::error::Result;
use crate::results::{BenchResult, PointResult, Report};

pub struct Csv;

const HEADER: &[&str] = &[
    "id",
    "bench",
    "pipeline",
    "stage",
    "device",
    "batch",
    "status",
    "unit",
    "mean",
    "mean_lower",
    "mean_upper",
    "median",
    "median_lower",
    "median_upper",
    "std_dev",
    "median_abs_dev",
    "p95",
    "samples",
    "items_per_sec",
    "change_mean_pct",
    "cold_mean",
    "cold_p95",
    "cold_overhead_pct",
    "protocol",
    "load_mode",
    "concurrency",
    "target_rate",
    "requests",
    "errors",
    "success_rate",
    "throughput_rps",
    "latency_p50",
    "latency_p90",
    "latency_p99",
    "latency_p999",
    "latency_max",
    "service_p99",
    "late_pct",
    "dropped",
    "ttft_p50",
    "ttft_p90",
    "ttft_p99",
    "ttfo_p50",
    "ttfo_p99",
    "reasoning_tokens_mean",
    "cached_share",
    "itl_p50",
    "itl_p99",
    "chunk_gap_p50",
    "chunk_gap_p99",
    "output_tokens_per_s",
    "output_tokens_mean",
    "goodput",
    "goodput_rps",
    "server_running_mean",
    "server_waiting_mean",
    "server_waiting_max",
    "server_kv_cache_usage_mean",
    "server_kv_cache_usage_max",
    "server_preemptions",
    "server_prefix_cache_hit_rate",
    "server_spec_decode_acceptance",
    "server_generation_tokens_per_s",
    "server_queue_mean",
    "server_prefill_mean",
    "server_ttft_mean",
    "joules_per_output_token",
    "error",
    "backend",
    "backend_version",
    "execution_provider",
    "model_sha256",
];

impl Exporter for Csv {
    fn file_name(&self) -> &'static str {
        "results.csv"
    }

    fn render(&self, report: &Report) -> Result<Vec<u8>> {
        let mut out = String::new();
        push_row(&mut out, HEADER.iter().map(|h| h.to_string()));
        for bench in &report.benches {
            if bench.points.is_empty() {
                push_row(&mut out, failed_row(bench));
            }
            for point in &bench.points {
                push_row(&mut out, point_row(bench, point));
            }
        }
        Ok(out.into_bytes())
    }
}

fn status(bench: &BenchResult) -> String {
    serde_json::to_value(bench.status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn number(value: Option<f64>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

fn point_row(bench: &BenchResult, point: &PointResult) -> Vec<String> {
    let e = &point.estimates;
    let load = point.load.as_ref();
    let stats = load.map(|l| &l.stats);
    let latency = stats.and_then(|s| s.latency.as_ref());
    let stream = stats.and_then(|s| s.stream.as_ref());
    let ttft = stream.and_then(|s| s.ttft.as_ref());
    let ttfo = stream.and_then(|s| s.ttfo.as_ref());
    let itl = stream.and_then(|s| s.itl_per_request.as_ref());
    let gap = stream.and_then(|s| s.chunk_gap.as_ref());
    let goodput = stream.and_then(|s| s.goodput.as_ref());
    let state = load.and_then(|l| l.server_state.as_ref());
    let server_mean = |part: &str| {
        state
            .and_then(|s| s.times.iter().find(|t| t.part == part))
            .map(|t| t.mean_ns)
    };
    let cold = bench
        .cold
        .as_ref()
        .and_then(|c| c.summary.as_ref())
        .filter(|s| s.batch == point.batch);
    vec![
        point.id.clone(),
        bench.name.clone(),
        bench.pipeline.clone().unwrap_or_default(),
        bench.stage.clone(),
        bench.device.clone(),
        point.batch.to_string(),
        status(bench),
        point.unit.clone(),
        e.mean.point.to_string(),
        e.mean.lower.to_string(),
        e.mean.upper.to_string(),
        e.median.point.to_string(),
        e.median.lower.to_string(),
        e.median.upper.to_string(),
        e.std_dev.point.to_string(),
        e.median_abs_dev.point.to_string(),
        point.sample.p95.to_string(),
        point.sample.samples.to_string(),
        number(point.items_per_sec),
        number(point.change.map(|c| 100.0 * c.mean.point)),
        number(cold.map(|c| c.mean_ns)),
        number(cold.map(|c| c.p95_ns)),
        number(cold.and_then(|c| c.overhead_pct)),
        bench
            .remote
            .as_ref()
            .map(|r| r.protocol.to_string())
            .unwrap_or_default(),
        load.map(|l| l.mode.as_str().to_owned()).unwrap_or_default(),
        load.and_then(|l| l.concurrency)
            .map(|c| c.to_string())
            .unwrap_or_default(),
        number(load.and_then(|l| l.target_rate)),
        stats.map(|s| s.requests.to_string()).unwrap_or_default(),
        stats.map(|s| s.errors.to_string()).unwrap_or_default(),
        number(stats.map(|s| s.success_rate)),
        number(stats.map(|s| s.throughput_rps)),
        number(latency.map(|l| l.p50)),
        number(latency.map(|l| l.p90)),
        number(latency.map(|l| l.p99)),
        number(latency.map(|l| l.p999)),
        number(latency.map(|l| l.max)),
        number(stats.and_then(|s| s.service.map(|l| l.p99))),
        number(stats.and_then(|s| s.late_pct)),
        stats.map(|s| s.dropped.to_string()).unwrap_or_default(),
        number(ttft.map(|p| p.p50)),
        number(ttft.map(|p| p.p90)),
        number(ttft.map(|p| p.p99)),
        number(ttfo.map(|p| p.p50)),
        number(ttfo.map(|p| p.p99)),
        number(
            stream
                .and_then(|s| s.reasoning.as_ref())
                .map(|r| r.tokens_mean),
        ),
        number(
            stream
                .and_then(|s| s.prefix_cache.as_ref())
                .map(|c| c.cached_share),
        ),
        number(itl.map(|p| p.p50)),
        number(itl.map(|p| p.p99)),
        number(gap.map(|p| p.p50)),
        number(gap.map(|p| p.p99)),
        number(stream.map(|s| s.output_tokens_per_s)),
        number(stream.map(|s| s.output_tokens_mean)),
        number(goodput.map(|g| g.share)),
        number(goodput.map(|g| g.rate_per_s)),
        number(state.and_then(|s| s.running.map(|l| l.mean))),
        number(state.and_then(|s| s.waiting.map(|l| l.mean))),
        number(state.and_then(|s| s.waiting.map(|l| l.max))),
        number(state.and_then(|s| s.kv_cache_usage.map(|l| l.mean))),
        number(state.and_then(|s| s.kv_cache_usage.map(|l| l.max))),
        number(state.and_then(|s| s.preemptions)),
        number(state.and_then(|s| s.prefix_cache_hit_rate)),
        number(state.and_then(|s| s.spec_decode_acceptance)),
        number(state.and_then(|s| s.generation_tokens_per_s)),
        number(server_mean("queue")),
        number(server_mean("prefill")),
        number(server_mean("ttft")),
        number(
            load.and_then(|l| l.energy.as_ref())
                .and_then(|e| e.joules_per_output_token),
        ),
        String::new(),
    ]
    .into_iter()
    .chain(fact_cells(bench))
    .collect()
}

/// The facts in the last columns, in `HEADER`'s order.
const FACT_KEYS: [&str; 4] = [
    "backend",
    "backend.version",
    "execution_provider",
    "model.sha256",
];

/// The last columns: what ran (`model_bench::facts`), empty where the bench recorded nothing.
fn fact_cells(bench: &BenchResult) -> [String; 4] {
    FACT_KEYS.map(|key| bench.facts.get(key).cloned().unwrap_or_default())
}

/// The `error` column's index: the facts' columns follow it.
const ERROR_COLUMN: usize = HEADER.len() - 1 - FACT_KEYS.len();

fn failed_row(bench: &BenchResult) -> Vec<String> {
    let mut row = vec![String::new(); HEADER.len()];
    row[0] = bench.id.clone();
    row[1] = bench.name.clone();
    row[2] = bench.pipeline.clone().unwrap_or_default();
    row[3] = bench.stage.clone();
    row[4] = bench.device.clone();
    row[6] = status(bench);
    row[ERROR_COLUMN] = bench.error.clone().unwrap_or_default();
    for (cell, fact) in row[ERROR_COLUMN + 1..].iter_mut().zip(fact_cells(bench)) {
        *cell = fact;
    }
    row
}

fn push_row(out: &mut String, cells: impl IntoIterator<Item = String>) {
    let escaped: Vec<String> = cells.into_iter().map(|cell| escape(&cell)).collect();
    out.push_str(&escaped.join(","));
    out.push('\n');
}

fn escape(cell: &str) -> String {
    if cell.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", cell.replace('"', "\"\""))
    } else {
        cell.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn the_facts_columns_follow_the_error_column() {
        assert_eq!(super::HEADER[super::ERROR_COLUMN], "error");
        for (header, key) in super::HEADER[super::ERROR_COLUMN + 1..]
            .iter()
            .zip(super::FACT_KEYS)
        {
            assert_eq!(header.replace('_', "."), key.replace('_', "."));
        }
    }

    #[test]
    fn cells_with_separators_are_quoted() {
        assert_eq!(escape("plain"), "plain");
        assert_eq!(escape("a,b"), "\"a,b\"");
        assert_eq!(escape("say \"hi\"\nthere"), "\"say \"\"hi\"\"\nthere\"");
    }
}
