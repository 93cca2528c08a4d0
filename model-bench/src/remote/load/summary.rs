//! A load point's statistics: its [`PointTally`] — one run's, or a scale-out merge's — made
//! into `LoadStats` (percentiles on the stated latency basis, the late share, the spectrum,
//! logarithmic buckets, the per-step time series, the token streams). The one place these
//! figures are made, so a merge can never disagree with a run on how.

use std::time::Duration;

use hdrhistogram::Histogram;

use super::hdr::{percentiles, spectrum};
use super::tally::PointTally;
use crate::results::{HistogramBucket, LatencyBasis, LoadStats, SeriesPoint};

/// A send later than this after its intended time counts as late.
pub const LATE_AFTER: Duration = Duration::from_millis(1);

impl PointTally {
    /// The point's statistics. Requests and successes are counted by the histograms that hold
    /// every one (send lateness, latency); throughput over the measured span (the window's
    /// start to the last measured response, or the window).
    pub fn stats(&self) -> LoadStats {
        let shape = &self.shape;
        let histograms = &self.requests;
        let (requests, ok) = (self.requests(), self.ok());
        let elapsed = self
            .elapsed
            .unwrap_or(shape.window)
            .max(Duration::from_nanos(1));
        let corrected;
        let latency = match shape.basis {
            LatencyBasis::IntendedSend => &histograms.latency,
            LatencyBasis::CorrectedClosedLoop => {
                // HdrHistogram's correction, the median service time as the expected interval.
                let expected_interval = histograms.service.value_at_quantile(0.5);
                if expected_interval == 0 {
                    &histograms.service
                } else {
                    corrected = histograms.service.clone_correct(expected_interval);
                    &corrected
                }
            }
        };
        let open_loop = shape.basis == LatencyBasis::IntendedSend;
        let attempted = requests.max(1) as f64;
        let late = late_sends(&histograms.lateness);
        let mut stats = LoadStats {
            latency_basis: shape.basis,
            requests,
            ok,
            errors: requests - ok,
            success_rate: ok as f64 / attempted,
            elapsed_s: elapsed.as_secs_f64(),
            throughput_rps: ok as f64 / elapsed.as_secs_f64(),
            sent_rps: requests as f64 / shape.window.as_secs_f64().max(1e-9),
            latency: percentiles(latency),
            service: percentiles(&histograms.service),
            errors_by_class: self.errors_by_class.clone(),
            first_errors: self.first_errors.clone(),
            late_pct: open_loop.then(|| 100.0 * late as f64 / attempted),
            lateness: open_loop
                .then(|| percentiles(&histograms.lateness))
                .flatten(),
            dropped: self.dropped,
            spectrum: spectrum(latency),
            histogram: log_buckets(latency),
            time_series: time_series(self),
            // Goodput is over every arrival of the window: dropped ones never met an SLO.
            stream: self
                .stream
                .as_ref()
                .map(|stream| stream.summarize(elapsed.as_secs_f64(), requests + self.dropped)),
            stopped: None,
        };
        stats.stopped = self.stopped.map(|stop| {
            let first = stats
                .first_error()
                .map(|first| format!("; first: {first}"))
                .unwrap_or_default();
            format!(
                "stopped {:.2} s into the window after {} failed requests (the error limit){first}",
                stop.after.as_secs_f64(),
                stop.failed
            )
        });
        stats
    }
}

/// Sends strictly more than [`LATE_AFTER`] late, from the lateness histogram: every bucket
/// wholly above the one that holds 1 ms (to the histogram's precision, a thousandth).
fn late_sends(lateness: &Histogram<u64>) -> u64 {
    let threshold = u64::try_from(LATE_AFTER.as_nanos()).unwrap_or(u64::MAX);
    let over = lateness.highest_equivalent(threshold) + 1;
    if lateness.is_empty() || lateness.max() < over {
        return 0;
    }
    lateness.count_between(over, lateness.max())
}

/// Ten buckets per decade from the power of ten at or below the minimum; empty buckets are left out.
fn log_buckets(histogram: &Histogram<u64>) -> Vec<HistogramBucket> {
    if histogram.is_empty() {
        return Vec::new();
    }
    let first = 10f64.powf((histogram.min().max(1) as f64).log10().floor()) as u64;
    let mut low = 0.0;
    let mut buckets = Vec::new();
    for step in histogram.iter_log(first.max(1), 10f64.powf(0.1)) {
        let high = step.value_iterated_to() as f64;
        if step.count_since_last_iteration() > 0 {
            buckets.push(HistogramBucket {
                low_ns: low,
                high_ns: high,
                count: step.count_since_last_iteration(),
            });
        }
        low = high;
    }
    buckets
}

/// The time series of a point: one point per step of the window, then the drain steps in which
/// responses still arrived.
fn time_series(tally: &PointTally) -> Vec<SeriesPoint> {
    let step_s = tally.shape.series_step.as_secs_f64();
    let in_window = tally.shape.series_steps();
    let last_arrival = tally
        .series
        .iter()
        .rposition(|step| step.arrived_ok > 0)
        .map_or(0, |i| i + 1);
    tally
        .series
        .iter()
        .take(in_window.max(last_arrival))
        .enumerate()
        .map(|(index, step)| {
            let q = |quantile: f64| {
                step.latency
                    .as_ref()
                    .map(|h| h.value_at_quantile(quantile) as f64)
            };
            SeriesPoint {
                start_s: index as f64 * step_s,
                sent: step.sent,
                ok: step.ok,
                errors: step.errors,
                throughput_rps: step.arrived_ok as f64 / step_s.max(1e-9),
                p50_ns: q(0.5),
                p99_ns: q(0.99),
                max_ns: step.latency.as_ref().map(|h| h.max() as f64),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;
    use crate::remote::error::{ErrorClass, RequestError};
    use crate::remote::load::hdr::histogram;
    use crate::remote::load::recorder::{Recorders, RecordingPlan};
    use crate::remote::load::tally::TallyShape;
    use crate::results::Slo;

    /// A run's shards for a window of `window` cut into `slices`, from `start`, on `basis`.
    fn recorders(
        start: Instant,
        window: Duration,
        slices: usize,
        basis: LatencyBasis,
    ) -> Recorders {
        Recorders::new(RecordingPlan {
            start,
            shape: TallyShape {
                basis,
                window,
                slices,
                series_step: Duration::from_secs(1),
            },
            count_window: None,
            error_limit: None,
            log: None,
            slo: Slo::default(),
            members: 0,
        })
    }

    #[test]
    fn only_requests_inside_the_window_count() {
        let start = Instant::now();
        let ms = Duration::from_millis;
        let run = recorders(start + ms(1000), ms(2000), 4, LatencyBasis::IntendedSend);
        let at = |intended: u64, sent: u64, done: u64| {
            (start + ms(intended), start + ms(sent), start + ms(done))
        };
        assert!(!run.record(0, at(0, 0, 5), Ok(None)));
        assert!(run.record(0, at(1000, 1000, 1010), Ok(None)));
        assert!(run.record(0, at(2999, 3001, 3020), Ok(None)));
        assert!(!run.record(0, at(3000, 3000, 3001), Ok(None)));
        let unavailable =
            |message: &str| Err(RequestError::new(ErrorClass::HttpStatus(503), message));
        assert!(run.record(0, at(1600, 1600, 1700), unavailable("first")));
        run.record(0, at(1700, 1700, 1800), unavailable("second"));
        let tally = run.finish(0).tally;
        assert_eq!((tally.requests(), tally.ok()), (4, 2));
        assert_eq!(tally.errors_by_class["http_503"], 2);
        assert_eq!(tally.first_errors["http_503"], "first");
        assert_eq!(tally.slices[0].sums.ok, 1);
        assert_eq!(tally.slices[3].sums.ok, 1);
        // Slices 1 and 2 have no success: only the 10 ms and 21 ms requests have means.
        assert_eq!(tally.slice_means(), vec![10e6, 21e6]);
        let stats = tally.stats();
        assert_eq!((stats.requests, stats.ok, stats.errors), (4, 2, 2));
        assert_eq!(stats.success_rate, 0.5);
        let latency = stats.latency.unwrap();
        // 10 ms and 21 ms (from the intended time, not the late send).
        assert!((latency.min - 10e6).abs() < 10e3, "{latency:?}");
        assert!((latency.max - 21e6).abs() < 25e3, "{latency:?}");
        // One send of four was 2 ms late.
        assert_eq!(stats.late_pct, Some(25.0));
    }

    #[test]
    fn closed_loop_correction_fills_in_a_stall() {
        let start = Instant::now();
        let ms = Duration::from_millis;
        let run = |basis| {
            let run = recorders(start, ms(10_000), 10, basis);
            let mut at = start;
            for _ in 0..99 {
                run.record(0, (at, at, at + ms(2)), Ok(None));
                at += ms(2);
            }
            run.record(0, (at, at, at + ms(200)), Ok(None));
            run.finish(0).tally.stats()
        };
        let raw = run(LatencyBasis::IntendedSend);
        let corrected = run(LatencyBasis::CorrectedClosedLoop);
        // One stalled request in a hundred hides under p99 uncorrected; the correction adds the
        // ~99 requests a steady client would have sent during the stall.
        assert!(raw.latency.as_ref().unwrap().p99 < 3e6);
        assert!(
            corrected.latency.as_ref().unwrap().p90 > 50e6,
            "{corrected:?}"
        );
        // About 99 back-filled values (the histogram's bucketing may drop the last step).
        let count = corrected.latency.as_ref().unwrap().count;
        assert!((197..=199).contains(&count), "{count}");
        assert_eq!(corrected.late_pct, None, "a closed loop has no late sends");
    }

    #[test]
    fn a_send_is_late_strictly_past_a_millisecond() {
        let mut lateness = histogram();
        for ns in [0, 999_000, 1_000_000, 1_000_400, 1_002_000, 50_000_000] {
            lateness.record(ns.max(1)).unwrap();
        }
        // 1.0004 ms is within the millisecond's bucket at three significant figures.
        assert_eq!(late_sends(&lateness), 2);
        assert_eq!(late_sends(&histogram()), 0);
    }

    #[test]
    fn spectrum_and_buckets_describe_the_histogram() {
        let mut histogram = histogram();
        for value_us in 1..=1000u64 {
            histogram.record(value_us * 1_000).unwrap();
        }
        let spectrum = spectrum(&histogram);
        assert!(spectrum.len() > 20, "{}", spectrum.len());
        assert!(spectrum
            .windows(2)
            .all(|w| w[0].percentile < w[1].percentile && w[0].value_ns < w[1].value_ns));
        let last = spectrum.last().unwrap();
        assert_eq!(last.percentile, 100.0);
        assert!((last.value_ns - 1e6).abs() < 1e3, "{last:?}");
        let median = spectrum.iter().find(|p| p.percentile >= 50.0).unwrap();
        assert!((median.value_ns - 500e3).abs() < 1e3, "{median:?}");

        let buckets = log_buckets(&histogram);
        assert_eq!(buckets.iter().map(|b| b.count).sum::<u64>(), 1000);
        // 1 µs .. 1 ms: three decades of ten buckets each.
        assert!((28..=31).contains(&buckets.len()), "{}", buckets.len());
        let bucket_of_100us = buckets
            .iter()
            .find(|b| b.low_ns < 100e3 && 100e3 <= b.high_ns)
            .unwrap();
        assert!(bucket_of_100us.high_ns / bucket_of_100us.low_ns < 1.3);
    }
}
