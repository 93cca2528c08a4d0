//! Cold vs warm: first calls in fresh processes against criterion's warm median, never mixed.

use crate::results::ColdSummary;

use super::sample::{mean, quantile, std_dev};

/// Summarises cold runs; `None` when there is no run. `total_ns[i]` and `first_call_ns[i]` belong to
/// the same run.
pub fn summarize(
    batch: usize,
    total_ns: &[f64],
    first_call_ns: &[f64],
    warm_median_ns: Option<f64>,
) -> Option<ColdSummary> {
    let mean_ns = mean(total_ns)?;
    let overhead_ns = warm_median_ns.map(|warm| mean_ns - warm);
    let overhead_pct = warm_median_ns
        .zip(overhead_ns)
        .filter(|(warm, _)| *warm > 0.0)
        .map(|(warm, overhead)| 100.0 * overhead / warm);
    Some(ColdSummary {
        batch,
        runs: total_ns.len(),
        samples_ns: total_ns.to_vec(),
        mean_ns,
        p95_ns: quantile(total_ns, 0.95)?,
        min_ns: quantile(total_ns, 0.0)?,
        max_ns: quantile(total_ns, 1.0)?,
        std_dev_ns: std_dev(total_ns)?,
        first_call_mean_ns: mean(first_call_ns).unwrap_or(mean_ns),
        warm_median_ns,
        overhead_ns,
        overhead_pct,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overhead_is_cold_mean_minus_warm_median() {
        let cold = summarize(
            1,
            &[300.0, 500.0, 400.0, 400.0, 400.0],
            &[100.0; 5],
            Some(100.0),
        )
        .unwrap();
        assert_eq!(cold.mean_ns, 400.0);
        assert_eq!(cold.overhead_ns, Some(300.0));
        assert_eq!(cold.overhead_pct, Some(300.0));
        assert!((cold.p95_ns - 480.0).abs() < 1e-9);
        assert_eq!(cold.first_call_mean_ns, 100.0);
        assert_eq!(cold.runs, 5);
    }

    #[test]
    fn no_runs_no_summary() {
        assert_eq!(summarize(1, &[], &[], Some(1.0)), None);
    }

    #[test]
    fn without_warm_median_there_is_no_overhead() {
        let cold = summarize(2, &[10.0], &[5.0], None).unwrap();
        assert_eq!(cold.overhead_ns, None);
        assert_eq!(cold.overhead_pct, None);
    }
}
