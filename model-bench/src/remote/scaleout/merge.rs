//! Adding the workers' interval logs: the histograms of every worker and step are added, which
//! is exact (an HDR histogram is a vector of counts over fixed buckets, and adding two of the
//! same bounds and precision adds the counts), so the merged percentiles are those of one
//! histogram fed every request. Logs of other bounds or precision are refused rather than added
//! approximately. Steps are added into the totals: a merged point's time series comes from
//! the workers' records, step by step of their windows, as one run's does.

use std::collections::btree_map::Entry;
use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use thiserror::Error;

use crate::remote::load::counts::{Count, Shape};
use crate::remote::load::interval_log::{Interval, WorkerLog};

/// The workers' histograms added up, per tag over the whole run.
#[derive(Debug, Clone, Default)]
pub struct Merged {
    /// Every interval of a tag, of every worker, added.
    pub totals: BTreeMap<String, Histogram<u64>>,
}

/// Logs that cannot be added exactly.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum MergeError {
    /// A histogram of other bounds or precision than the first one seen.
    #[error("{source_name}: a `{tag}` histogram of {theirs}, where the others are {ours}: workers must share bounds and precision (adding them otherwise is not exact)")]
    Settings {
        /// The file (or name) the log came from.
        source_name: String,
        /// The histogram's tag.
        tag: String,
        /// Its bounds and precision.
        theirs: String,
        /// The first histogram's.
        ours: String,
    },
}

fn settings(shape: Shape) -> String {
    format!(
        "values {}..{} at {} significant figures",
        shape.low, shape.high, shape.sigfig
    )
}

/// Adds every interval of `logs`; refuses logs whose histograms differ in bounds or precision
/// from the first one.
pub fn merge(logs: &[WorkerLog]) -> Result<Merged, MergeError> {
    let mut merger = Merger::default();
    for log in logs {
        for interval in &log.intervals {
            merger.add(&log.source, interval)?;
        }
    }
    Ok(merger.finish())
}

/// Adds intervals one at a time, so a merge holds the totals, not the logs: its memory grows
/// with the tags of a run, not with its workers or steps.
#[derive(Debug, Default)]
pub struct Merger {
    merged: Merged,
    /// The first histogram's bounds and precision.
    reference: Option<Shape>,
}

impl Merger {
    /// Adds one interval of the log `source`.
    pub fn add(&mut self, source: &str, interval: &Interval) -> Result<(), MergeError> {
        let histogram = &interval.histogram;
        let shape = Shape {
            low: histogram.low(),
            high: histogram.high(),
            sigfig: histogram.sigfig(),
        };
        let counts: Vec<Count> = histogram
            .iter_recorded()
            .map(|bucket| (bucket.value_iterated_to(), bucket.count_at_value()))
            .collect();
        self.add_counts(source, &interval.tag, shape, &counts)
    }

    /// Adds one interval of the log `source`, given as its histogram's shape and non-zero
    /// counts (a value of each bucket, its count), as
    /// [`CountsReader`](crate::remote::load::counts::CountsReader) reads them: recorded straight
    /// into the total, so no histogram is built per interval.
    pub fn add_counts(
        &mut self,
        source: &str,
        tag: &str,
        shape: Shape,
        counts: &[Count],
    ) -> Result<(), MergeError> {
        // Shapes are compared as they are; words only for an error.
        let refused = |ours: &str| MergeError::Settings {
            source_name: source.to_owned(),
            tag: tag.to_owned(),
            theirs: settings(shape),
            ours: ours.to_owned(),
        };
        match self.reference {
            Some(ours) if ours != shape => return Err(refused(&settings(ours))),
            Some(_) => {}
            None => self.reference = Some(shape),
        }
        let total = match self.merged.totals.entry(tag.to_owned()) {
            Entry::Occupied(total) => total.into_mut(),
            Entry::Vacant(slot) => slot.insert(
                Histogram::<u64>::new_with_bounds(shape.low, shape.high, shape.sigfig)
                    .map_err(|_| refused("a shape a histogram can have"))?,
            ),
        };
        for &(value, count) in counts {
            total
                .record_n(value, count)
                .map_err(|_| refused("values within the histogram's bounds"))?;
        }
        Ok(())
    }

    /// The merge so far.
    pub fn finish(self) -> Merged {
        self.merged
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::*;
    use crate::remote::load::hdr::{histogram, HIGHEST_NS, LOWEST_DISCERNIBLE_NS};
    use crate::remote::load::interval_log::{parse_log, write_log};
    use crate::stats::rng::SplitMix64;

    /// A value spread log-uniformly over the histogram's range, as latencies are.
    fn latency(rng: &mut SplitMix64) -> u64 {
        let (low, high) = (
            (LOWEST_DISCERNIBLE_NS as f64).ln(),
            (HIGHEST_NS as f64).ln(),
        );
        ((low + rng.next_open01() * (high - low)).exp() as u64).clamp(1, HIGHEST_NS)
    }

    /// Workers' logs written and read back, from `values` spread over them at random.
    fn worker_logs(
        rng: &mut SplitMix64,
        workers: usize,
        steps: u64,
        values: &[u64],
    ) -> Vec<WorkerLog> {
        let mut per_worker: Vec<BTreeMap<u64, Histogram<u64>>> = vec![BTreeMap::new(); workers];
        for &value in values {
            let worker = (rng.next_u64() % workers as u64) as usize;
            let step = rng.next_u64() % steps;
            per_worker[worker]
                .entry(step)
                .or_insert_with(histogram)
                .record(value)
                .expect("in bounds");
        }
        let base = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        per_worker
            .into_iter()
            .enumerate()
            .map(|(index, steps)| {
                let intervals = steps.into_iter().map(|(step, histogram)| Interval {
                    tag: "latency".into(),
                    start: Duration::from_secs(step),
                    length: Duration::from_secs(1),
                    histogram,
                });
                let mut bytes = Vec::new();
                write_log(&mut bytes, base, intervals).expect("a Vec takes every write");
                parse_log(&format!("worker-{index}.hlog"), &bytes).expect("parses")
            })
            .collect()
    }

    #[test]
    fn merged_workers_equal_one_histogram_of_every_value() {
        let mut rng = SplitMix64(0x5ca1e);
        for case in 0..40 {
            let workers = 1 + (rng.next_u64() % 16) as usize;
            let steps = 1 + rng.next_u64() % 10;
            let count = 1 + (rng.next_u64() % 5_000) as usize;
            let values: Vec<u64> = (0..count).map(|_| latency(&mut rng)).collect();
            let mut single = histogram();
            for &value in &values {
                single.record(value).expect("in bounds");
            }
            let logs = worker_logs(&mut rng, workers, steps, &values);
            let merged = merge(&logs).expect("same bounds");
            let total = &merged.totals["latency"];
            let what = format!("case {case}: {count} values over {workers} workers");
            assert_eq!(total.len(), single.len(), "{what}");
            assert_eq!(total.min(), single.min(), "{what}");
            assert_eq!(total.max(), single.max(), "{what}");
            assert_eq!(total.mean(), single.mean(), "{what}");
            for q in [0.0, 0.1, 0.5, 0.9, 0.99, 0.999, 0.9999, 1.0] {
                assert_eq!(
                    total.value_at_quantile(q),
                    single.value_at_quantile(q),
                    "{what}, quantile {q}"
                );
            }
            assert!(*total == single, "{what}: every bucket");
        }
    }

    #[test]
    fn other_bounds_are_refused_and_other_starts_still_add_up() {
        let mut rng = SplitMix64(7);
        let mut logs = worker_logs(&mut rng, 2, 2, &[1_000, 2_000, 3_000, 4_000]);
        let mut coarse = Histogram::<u64>::new_with_bounds(1_000, HIGHEST_NS, 2).expect("valid");
        coarse.record(5_000).expect("in bounds");
        logs[1].intervals.push(Interval {
            tag: "latency".into(),
            start: Duration::ZERO,
            length: Duration::from_secs(1),
            histogram: coarse,
        });
        let error = merge(&logs).expect_err("two significant figures against three");
        assert!(
            error
                .to_string()
                .starts_with("worker-1.hlog: a `latency` histogram of values")
                && error.to_string().contains("at 2 significant figures"),
            "{error}"
        );

        // Logs of other base times add up as well; their steps fall where their clocks put them.
        let mut logs = worker_logs(&mut rng, 2, 2, &[1_000, 2_000]);
        logs[1].base_time = logs[1]
            .base_time
            .map(|base| base + Duration::from_secs(100));
        let merged = merge(&logs).expect("same bounds");
        assert_eq!(merged.totals["latency"].len(), 2);
    }
}
