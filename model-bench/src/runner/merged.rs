//! A merged scale-out result through criterion's baselines and the regression gate, as a
//! single-machine run's load points go (`model-bench merge --save-baseline NAME` /
//! `--baseline NAME`): each merged point's slices — every worker's slice sums added, so each
//! slice's mean is that of every request of the run — are replayed to criterion in the same
//! benchmark directory a single-machine run uses (the end-to-end latency, and a token stream's
//! time to first token as `<point>/ttft`), the setup is checked against the baseline's and saved
//! beside it, and the gate judges the changes under `model-bench.toml`'s `[gate]` settings, and
//! its thresholds the merged figures.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::SystemTime;

use criterion::{Criterion, SamplingMode};

use super::config::Config;
use super::criterion_files::{self, CriterionPlace};
use super::replay::{replay_latency, replay_ttft, REPLAY_WARM_UP};
use super::{gate, report_gate, report_thresholds, setup_check, thresholds, GateVerdict};
use crate::remote::load::SliceSums;
use crate::results::{BaselineUse, BenchStatus, Report};

/// What judging a merged result found, as the exit code a single-machine run would give
/// (0, [`EXIT_BENCH_FAILED`](super::EXIT_BENCH_FAILED) when a point had no baseline to compare
/// with under `--baseline`, or one of the gate's codes).
pub fn judge(
    report: &mut Report,
    slices: &BTreeMap<String, Vec<SliceSums>>,
    baseline: &BaselineUse,
    criterion_dir: &Path,
    config: &Config,
) -> i32 {
    let mut criterion = Criterion::default()
        .output_directory(criterion_dir)
        .without_plots();
    criterion = match baseline {
        BaselineUse::Save(name) => criterion.save_baseline(name.clone()),
        BaselineUse::Compare(name) => criterion.retain_baseline(name.clone(), true),
        BaselineUse::CompareLenient(name) => criterion.retain_baseline(name.clone(), false),
    };
    report.run.baseline = Some(baseline.clone());
    let mut failed = Vec::new();
    for bench in report.benches.iter_mut() {
        let since = SystemTime::now();
        let Some(group_name) = bench
            .id
            .strip_suffix(&bench.name)
            .and_then(|group| group.strip_suffix('/'))
            .map(str::to_owned)
        else {
            continue;
        };
        let function = bench.name.clone();
        let place = CriterionPlace {
            criterion_dir,
            group: &group_name,
            function: &function,
            baseline: Some(baseline),
        };
        let mut group = criterion.benchmark_group(&group_name);
        group.sampling_mode(SamplingMode::Flat);
        group.warm_up_time(REPLAY_WARM_UP);
        let prefix = format!("{}/", bench.id);
        for index in 0..bench.points.len() {
            let point_id = bench.points[index].id.clone();
            let (Some(point_slices), Some(label)) =
                (slices.get(&point_id), point_id.strip_prefix(&prefix))
            else {
                continue;
            };
            let dir = place.dir(Some(label));
            if let Some(message) = criterion_files::missing_baseline(&dir, Some(baseline)) {
                eprintln!("\nmodel-bench: {point_id} failed: {message}");
                bench.status = BenchStatus::Failed;
                bench.error = Some(message);
                failed.push(point_id);
                continue;
            }
            let rule = config.gate.rule_for(&point_id);
            let measured = replay_latency(
                &mut group,
                &place,
                label,
                &point_id,
                &SliceSums::latency_means(point_slices),
                rule,
                bench,
            );
            let ttft_change = replay_ttft(
                &mut group,
                &place,
                label,
                &point_id,
                &SliceSums::ttft_means(point_slices),
                rule,
                bench,
            );
            // Without a replay the merge's exact estimates stay (`tool::merge`).
            let point = &mut bench.points[index];
            if let Some(measured) = measured {
                point.estimates = measured.estimates;
                point.sample = measured.sample;
                point.change = measured.change;
            }
            point.ttft_change = ttft_change;
        }
        group.finish();
        let point_ids: Vec<String> = bench.points.iter().map(|p| p.id.clone()).collect();
        setup_check::compare_and_save(bench, &place, &point_ids, &report.environment, since);
    }
    // Everything is judged and said before the exit code is picked, in a run's order.
    let verdict = config.gate.is_on().then(|| {
        let outcome = gate::evaluate(&report.benches, &config.gate);
        let saving = matches!(baseline, BaselineUse::Save(_));
        report_gate(&outcome, baseline.name(), saving)
    });
    let broken = (!config.thresholds.is_empty())
        .then(|| thresholds::check(&report.benches, &config.thresholds))
        .is_some_and(|outcome| report_thresholds(&outcome));
    if !failed.is_empty() {
        return super::EXIT_BENCH_FAILED;
    }
    match verdict {
        Some(GateVerdict::Unreadable) => super::EXIT_BASELINE_UNREADABLE,
        Some(GateVerdict::Refused) => super::EXIT_SETUP_CHANGED,
        Some(GateVerdict::Regressed) => super::EXIT_REGRESSION,
        _ if broken => super::EXIT_THRESHOLD,
        _ => 0,
    }
}
