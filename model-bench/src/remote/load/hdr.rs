//! The load generator's histograms: one set of bounds and precision for every latency it keeps
//! (a leaf that the recorder and the stream figures share), their percentiles and spectra.

use std::time::Duration;

use hdrhistogram::Histogram;

use crate::results::{Percentiles, SpectrumPoint};

/// Largest latency a histogram holds (longer values are clamped): ten minutes, in nanoseconds.
pub(crate) const HIGHEST_NS: u64 = 600_000_000_000;
/// Values are nanoseconds; below a microsecond they are told apart to 1 µs, which no network
/// round trip needs finer. Together these keep a histogram near 160 KB.
pub(crate) const LOWEST_DISCERNIBLE_NS: u64 = 1_000;
const SIGNIFICANT_FIGURES: u8 = 3;
/// The bounds and precision every histogram of the load generator has (lowest discernible
/// and highest trackable value in nanoseconds, significant figures): what scale-out workers
/// write beside their logs, since only histograms of one shape add exactly.
pub(crate) const SHAPE: (u64, u64, u8) = (LOWEST_DISCERNIBLE_NS, HIGHEST_NS, SIGNIFICANT_FIGURES);
/// An empty histogram of the load generator's bounds and precision.
pub(crate) fn histogram() -> Histogram<u64> {
    // The bounds are constants known to be valid.
    Histogram::new_with_bounds(LOWEST_DISCERNIBLE_NS, HIGHEST_NS, SIGNIFICANT_FIGURES)
        .expect("constant histogram bounds are valid")
}

/// A duration as histogram nanoseconds: at least 1, at most [`HIGHEST_NS`].
pub(crate) fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos())
        .unwrap_or(u64::MAX)
        .clamp(1, HIGHEST_NS)
}

/// The percentiles of `histogram`; `None` when it is empty.
pub(crate) fn percentiles(histogram: &Histogram<u64>) -> Option<Percentiles> {
    if histogram.is_empty() {
        return None;
    }
    let q = |quantile: f64| histogram.value_at_quantile(quantile) as f64;
    Some(Percentiles {
        count: histogram.len(),
        min: histogram.min() as f64,
        mean: histogram.mean(),
        p50: q(0.50),
        p90: q(0.90),
        p95: q(0.95),
        p99: q(0.99),
        p999: q(0.999),
        max: histogram.max() as f64,
    })
}

/// HdrHistogram's percentile distribution (5 ticks per half distance to 100 %), one step per
/// distinct value.
pub(crate) fn spectrum(histogram: &Histogram<u64>) -> Vec<SpectrumPoint> {
    let mut points: Vec<SpectrumPoint> = Vec::new();
    for step in histogram.iter_quantiles(5) {
        let point = SpectrumPoint {
            percentile: step.quantile_iterated_to() * 100.0,
            value_ns: histogram.highest_equivalent(step.value_iterated_to()) as f64,
        };
        match points.last_mut() {
            Some(last) if last.value_ns == point.value_ns => *last = point,
            _ => points.push(point),
        }
    }
    points
}
