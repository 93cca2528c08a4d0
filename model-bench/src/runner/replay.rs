//! A load point's time slices handed to criterion as its samples: each slice's mean is replayed
//! as the time of its iterations (criterion's own warm-up and planning see next to nothing), and
//! criterion's files are read back with the comparison against the baseline. The point's
//! end-to-end latency goes through here, and a token stream's time to first token too.

use std::path::Path;
use std::time::{Duration, SystemTime};

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId};

use super::criterion_files::{self, CriterionPlace, Measured};
use crate::results::{BaselineUse, BenchResult, Change};
use crate::stats::compare::Rule;

/// criterion's warm-up: a 1 ns warm-up ends after one call.
pub(super) const REPLAY_WARM_UP: Duration = Duration::from_nanos(1);
/// criterion's "measurement": 1 ms asks for thousands of iterations per sample, each worth
/// exactly the slice's mean.
const REPLAY_MEASUREMENT: Duration = Duration::from_millis(1);

/// Replays `means` (ns, at least ten) as benchmark `function`/`label` of `group`, whose files are
/// in `dir`, and reads them back, compared with the baseline's samples `base` under `rule`.
/// `None` (with the reason on stderr) when criterion's files cannot be read.
#[allow(clippy::too_many_arguments)]
pub(super) fn replay(
    group: &mut BenchmarkGroup<'_, WallTime>,
    function: &str,
    label: &str,
    means: &[f64],
    dir: &Path,
    base: Option<&[f64]>,
    rule: Rule,
    point_id: &str,
) -> Option<Measured> {
    let started = SystemTime::now();
    group.sample_size(means.len());
    group.measurement_time(REPLAY_MEASUREMENT);
    let mut next = 0usize;
    super::quiet_stderr::replay_quietly(|| {
        group.bench_function(BenchmarkId::new(function, label), |b| {
            b.iter_custom(|iters| {
                let mean = means[next % means.len()];
                next += 1;
                Duration::from_nanos((mean * iters as f64) as u64)
            })
        });
    });
    match criterion_files::read(dir, started, base, rule) {
        Ok(measured) => Some(measured),
        Err(error) => {
            eprintln!("model-bench: {point_id}: measured, but {error}");
            None
        }
    }
}

/// A point's figure (its end-to-end latency; a stream's TTFT through [`replay_ttft`]): its
/// slices' means (`means`, those that had a successful
/// request) replayed as benchmark `label` of `place`, compared with the baseline's samples
/// under `rule`; a baseline that cannot be read is noted in `result`. `None` (said on stderr)
/// with fewer than criterion's ten samples.
pub(super) fn replay_latency(
    group: &mut BenchmarkGroup<'_, WallTime>,
    place: &CriterionPlace<'_>,
    label: &str,
    point_id: &str,
    means: &[f64],
    rule: Rule,
    result: &mut BenchResult,
) -> Option<Measured> {
    let dir = place.dir(Some(label));
    let name = place.baseline.map_or("base", BaselineUse::name);
    let base = criterion_files::baseline_sample_or_note(&dir, name, point_id, result);
    if means.len() < 10 {
        eprintln!(
            "model-bench: {point_id}: only {} time slices had a successful request (criterion \
             needs 10); criterion statistics are skipped for this point",
            means.len()
        );
        return None;
    }
    replay(
        group,
        place.function,
        label,
        means,
        &dir,
        base.as_deref(),
        rule,
        point_id,
    )
}

/// Token streams: the slices' mean times to first token (from the intended send) replayed to
/// criterion as a benchmark of its own, `<point>/ttft`, so that baselines keep it and the gate
/// judges it beside the point's end-to-end latency. `None` for other endpoints, with fewer than
/// ten slices, or without a TTFT baseline to compare with (an older baseline: said on stderr).
pub(super) fn replay_ttft(
    group: &mut BenchmarkGroup<'_, WallTime>,
    place: &CriterionPlace<'_>,
    label: &str,
    point_id: &str,
    means: &[f64],
    rule: Rule,
    result: &mut BenchResult,
) -> Option<Change> {
    if means.len() < 10 {
        return None;
    }
    let ttft_id = format!("{point_id}/ttft");
    let ttft_label = format!("{label}/ttft");
    let dir = place.dir(Some(&ttft_label));
    if let Some(message) = criterion_files::missing_baseline(&dir, place.baseline) {
        eprintln!("model-bench: {ttft_id}: not compared: {message}");
        return None;
    }
    replay_latency(group, place, &ttft_label, &ttft_id, means, rule, result)
        .and_then(|measured| measured.change)
}
