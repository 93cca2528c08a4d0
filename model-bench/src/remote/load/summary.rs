//! A finished run's statistics: the recorder's histograms, slices and time series summarised
//! into `LoadStats` (percentiles on the stated latency basis, the spectrum, logarithmic
//! buckets, the per-step time series).

use std::time::Duration;

use hdrhistogram::Histogram;

use super::hdr::{percentiles, spectrum};
use super::metrics::Recorder;
use super::streams::StreamHistograms;
use crate::results::{HistogramBucket, LoadStats, SeriesPoint};

/// What a run's figures mean, for the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LatencyBasis {
    /// Open loop: from each request's intended send time (no coordinated omission).
    IntendedSend,
    /// Closed loop: service times, with HdrHistogram's correction for coordinated omission at
    /// the median service time as the expected interval.
    CorrectedClosedLoop,
}

impl LatencyBasis {
    /// The basis's name in results: `intended_send` or `corrected_closed_loop`.
    pub fn as_str(self) -> &'static str {
        match self {
            LatencyBasis::IntendedSend => "intended_send",
            LatencyBasis::CorrectedClosedLoop => "corrected_closed_loop",
        }
    }
}

/// Summarises a finished run. `elapsed` is the measured span (window start to the last
/// measured response, or the window's length).
pub(crate) fn summarize(
    recorder: &Recorder,
    basis: LatencyBasis,
    dropped: u64,
    open_loop: bool,
) -> LoadStats {
    let elapsed = recorder
        .last_done
        .and_then(|done| done.checked_duration_since(recorder.window.start))
        .unwrap_or(recorder.window.len)
        .max(Duration::from_nanos(1));
    let corrected;
    let latency_histogram = match basis {
        LatencyBasis::IntendedSend => &recorder.latency,
        LatencyBasis::CorrectedClosedLoop => {
            let expected_interval = recorder.service.value_at_quantile(0.5);
            if expected_interval == 0 {
                &recorder.service
            } else {
                corrected = recorder.service.clone_correct(expected_interval);
                &corrected
            }
        }
    };
    let errors: u64 = recorder.errors.values().sum();
    let attempted = recorder.sent.max(1);
    LoadStats {
        latency_basis: basis.as_str().to_string(),
        requests: recorder.sent,
        ok: recorder.ok,
        errors,
        success_rate: recorder.ok as f64 / attempted as f64,
        elapsed_s: elapsed.as_secs_f64(),
        throughput_rps: recorder.ok as f64 / elapsed.as_secs_f64(),
        sent_rps: recorder.sent as f64 / recorder.window.len.as_secs_f64().max(1e-9),
        latency: percentiles(latency_histogram),
        service: percentiles(&recorder.service),
        errors_by_class: recorder.errors.clone(),
        first_errors: recorder.first_errors.clone(),
        late_pct: open_loop.then(|| 100.0 * recorder.late as f64 / attempted as f64),
        lateness: if open_loop {
            percentiles(&recorder.lateness)
        } else {
            None
        },
        dropped,
        spectrum: spectrum(latency_histogram),
        histogram: log_buckets(latency_histogram),
        time_series: time_series(recorder),
        stream: recorder
            .stream
            .as_ref()
            // Goodput is over every arrival of the window: dropped ones never met an SLO.
            .map(|stream| stream.summarize(elapsed.as_secs_f64(), recorder.sent + dropped))
            // Every stream failed: still a goodput, of none.
            .or_else(|| {
                recorder.stream_slo.is_set().then(|| {
                    StreamHistograms::with_slo(recorder.stream_slo)
                        .summarize(elapsed.as_secs_f64(), recorder.sent + dropped)
                })
            }),
        stopped: recorder.stopped_at.map(|at| {
            let first = recorder
                .first_errors
                .iter()
                .next()
                .map(|(class, message)| format!("; first: {class}: {message}"))
                .unwrap_or_default();
            format!(
                "stopped {:.2} s into the window after {} failed requests (the error limit){first}",
                at.saturating_duration_since(recorder.window.start)
                    .as_secs_f64(),
                errors
            )
        }),
    }
}

/// Ten buckets per decade from the power of ten at or below the minimum; empty buckets are left out.
pub(crate) fn log_buckets(histogram: &Histogram<u64>) -> Vec<HistogramBucket> {
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

/// The time series of a run: one point per step of the window, then the drain steps in which
/// responses still arrived.
pub(crate) fn time_series(recorder: &Recorder) -> Vec<SeriesPoint> {
    let step_s = recorder.window.series_step.as_secs_f64();
    let in_window = recorder.window.series_steps();
    let last_arrival = recorder
        .series
        .iter()
        .rposition(|step| step.arrived_ok > 0)
        .map_or(0, |i| i + 1);
    recorder
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
    use crate::remote::load::metrics::{Window, SERIES_STEP};

    #[test]
    fn only_requests_inside_the_window_count() {
        let start = Instant::now();
        let window = Window {
            start: start + Duration::from_secs(1),
            len: Duration::from_secs(2),
            slices: 4,
            series_step: Duration::from_secs(1),
        };
        let mut recorder = Recorder::new(window);
        let ms = Duration::from_millis;
        assert!(!recorder.record(start, start, start + ms(5), Ok(None)));
        assert!(recorder.record(
            start + ms(1000),
            start + ms(1000),
            start + ms(1010),
            Ok(None)
        ));
        assert!(recorder.record(
            start + ms(2999),
            start + ms(3001),
            start + ms(3020),
            Ok(None)
        ));
        assert!(!recorder.record(
            start + ms(3000),
            start + ms(3000),
            start + ms(3001),
            Ok(None)
        ));
        assert!(recorder.record(
            start + ms(1600),
            start + ms(1600),
            start + ms(1700),
            Err(RequestError::new(ErrorClass::HttpStatus(503), "first")),
        ));
        recorder.record(
            start + ms(1700),
            start + ms(1700),
            start + ms(1800),
            Err(RequestError::new(ErrorClass::HttpStatus(503), "second")),
        );
        assert_eq!(recorder.sent, 4);
        assert_eq!(recorder.ok, 2);
        assert_eq!(recorder.late, 1);
        assert_eq!(recorder.errors["http_503"], 2);
        assert_eq!(recorder.first_errors["http_503"], "first");
        assert_eq!(recorder.slices[0].ok, 1);
        assert_eq!(recorder.slices[3].ok, 1);
        // Slices 1 and 2 have no success: only the 10 ms and 21 ms requests have means.
        assert_eq!(recorder.slice_means(), vec![10e6, 21e6]);
        let stats = summarize(&recorder, LatencyBasis::IntendedSend, 0, true);
        assert_eq!(stats.success_rate, 0.5);
        let latency = stats.latency.unwrap();
        // 10 ms and 21 ms (from the intended time, not the late send).
        assert!((latency.min - 10e6).abs() < 10e3, "{latency:?}");
        assert!((latency.max - 21e6).abs() < 25e3, "{latency:?}");
        assert_eq!(stats.late_pct, Some(25.0));
    }

    #[test]
    fn closed_loop_correction_fills_in_a_stall() {
        let start = Instant::now();
        let window = Window {
            start,
            len: Duration::from_secs(10),
            slices: 10,
            series_step: SERIES_STEP,
        };
        let mut recorder = Recorder::new(window);
        let ms = Duration::from_millis;
        let mut at = start;
        for _ in 0..99 {
            recorder.record(at, at, at + ms(2), Ok(None));
            at += ms(2);
        }
        recorder.record(at, at, at + ms(200), Ok(None));
        let raw = summarize(&recorder, LatencyBasis::IntendedSend, 0, false);
        let corrected = summarize(&recorder, LatencyBasis::CorrectedClosedLoop, 0, false);
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
