//! Assembles the report from the benches' results: run settings, environment, pipeline breakdowns.

use super::cli::CriterionArgs;
use super::config::Config;
use crate::registry::Stage;
use crate::results::Breakdown;
use crate::results::{
    BenchResult, BenchStatus, Environment, Report, RunInfo, RunSettings, SCHEMA_VERSION,
};
use crate::stats::breakdown::{self, StageTime};

pub fn build(
    benches: Vec<BenchResult>,
    config: &Config,
    args: &CriterionArgs,
    environment: &Environment,
    interrupted: bool,
) -> Report {
    let mut environment = environment.clone();
    environment.keep_crates_used_by(&benches);
    if let Some(machine) = &mut environment.machine {
        machine.end = Some(crate::resources::machine::sample());
    }
    let pipelines = breakdowns(&benches);
    let recommendations = super::recommend::recommend(&benches, &config.recommend);
    let created_unix_s = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    Report {
        schema_version: SCHEMA_VERSION,
        model_bench_version: env!("CARGO_PKG_VERSION").to_string(),
        created_unix_s,
        created_at: crate::export::format::rfc3339_utc(created_unix_s),
        interrupted,
        run: RunInfo {
            quick: config.quick,
            filter: args.filter_text.clone(),
            baseline: args.baseline.clone(),
            config_file: config.file.as_ref().map(|p| p.display().to_string()),
            settings: Some(settings(config)),
        },
        environment,
        benches,
        pipelines,
        recommendations,
        scaleout: None,
    }
}

fn settings(config: &Config) -> RunSettings {
    RunSettings {
        cold_runs: config.cold_runs,
        cold_timeout_s: config.cold_timeout.as_secs_f64(),
        sample_size: config.sample_size,
        warm_up_time_s: config.warm_up_time.map(|d| d.as_secs_f64()),
        measurement_time_s: config.measurement_time.map(|d| d.as_secs_f64()),
        gate_enabled: config.gate.is_on(),
        gate_same_setup: config.gate.same_setup,
        significance_level: config.gate.significance_level,
        noise_threshold: config.gate.noise_threshold,
        noise_by_bench: config.gate.noise_by_bench.iter().cloned().collect(),
        thresholds: config
            .thresholds
            .iter()
            .map(|t| format!("{}: {}", t.bench, t.text))
            .collect(),
        slo_p99_ns: config.recommend.slo_p99.map(|d| d.as_nanos() as f64),
        cold_overhead_ns: config.recommend.cold_overhead.as_nanos() as f64,
        noise_ratio: config.recommend.noise_ratio,
        memory_growth_bytes: config.recommend.memory_growth_bytes,
    }
}

/// One breakdown per pipeline that has per-request stages measured at a common batch size: the
/// smallest batch every stage (and the end-to-end bench, when it shares one) was measured at.
pub fn breakdowns(benches: &[BenchResult]) -> Vec<Breakdown> {
    let mut names: Vec<&str> = Vec::new();
    // Remote benches time a whole server round trip, not a stage of the pipeline.
    for bench in benches.iter().filter(|b| b.remote.is_none()) {
        if let Some(pipeline) = bench.pipeline.as_deref() {
            if !names.contains(&pipeline) {
                names.push(pipeline);
            }
        }
    }
    names
        .into_iter()
        .filter_map(|name| {
            let members: Vec<&BenchResult> = benches
                .iter()
                .filter(|b| {
                    b.pipeline.as_deref() == Some(name)
                        && b.remote.is_none()
                        && b.status != BenchStatus::Failed
                        && !b.points.is_empty()
                })
                .collect();
            let parts: Vec<&BenchResult> = members
                .iter()
                .copied()
                .filter(|b| b.stage != Stage::Load.as_str() && b.stage != Stage::EndToEnd.as_str())
                .collect();
            let end_to_end = members
                .iter()
                .copied()
                .find(|b| b.stage == Stage::EndToEnd.as_str());
            let common = |benches: &[&BenchResult]| -> Vec<usize> {
                let Some(first) = benches.first() else {
                    return Vec::new();
                };
                let mut batches: Vec<usize> = first.points.iter().map(|p| p.batch).collect();
                batches.retain(|batch| benches.iter().all(|b| b.point(*batch).is_some()));
                batches.sort_unstable();
                batches
            };
            let with_e2e: Vec<&BenchResult> = parts.iter().copied().chain(end_to_end).collect();
            let (batch, e2e) = match common(&with_e2e).first() {
                Some(&batch) if end_to_end.is_some() => (batch, end_to_end),
                _ => (*common(&parts).first()?, None),
            };
            let stages: Vec<StageTime> = parts
                .iter()
                .filter_map(|b| {
                    Some(StageTime {
                        bench: b.name.clone(),
                        stage: b.stage.clone(),
                        median_ns: b.point(batch)?.estimates.median.point,
                    })
                })
                .collect();
            let e2e_ns = e2e
                .and_then(|b| b.point(batch))
                .map(|p| p.estimates.median.point);
            Some(breakdown::breakdown(name, batch, &stages, e2e_ns))
        })
        .collect()
}
