//! Latency percentiles, as every figure of results.json that is a distribution keeps them (a
//! leaf the other results files name).

use serde::{Deserialize, Serialize};

/// Percentiles of an HDR histogram (3 significant figures), in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    /// Values recorded: one per successful request for `latency` and `service` (a closed loop's
    /// corrected `latency` adds the correction's values), one per send for `lateness`.
    pub count: u64,
    /// The smallest value, ns.
    pub min: f64,
    /// The mean, ns.
    pub mean: f64,
    /// The median, ns.
    pub p50: f64,
    /// The 90th percentile, ns.
    pub p90: f64,
    /// The 95th percentile, ns.
    pub p95: f64,
    /// The 99th percentile, ns.
    pub p99: f64,
    /// The 99.9th percentile, ns.
    pub p999: f64,
    /// The largest value, ns.
    pub max: f64,
}

/// One step of a percentile spectrum: `percentile` % of the successful requests (or of the
/// values of another distribution: TTFT, gaps between chunks) took at most `value_ns`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SpectrumPoint {
    /// Percent of the values (successful requests, first tokens, gaps), 0–100.
    pub percentile: f64,
    /// The value that share of them is at most, ns.
    pub value_ns: f64,
}
