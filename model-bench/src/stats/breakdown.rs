//! Pipeline breakdown: where a pipeline's per-request time goes, stage by stage.

use crate::results::{Breakdown, StageShare};

/// One stage's median time at the breakdown's batch size.
#[derive(Debug, Clone, PartialEq)]
pub struct StageTime {
    pub bench: String,
    pub stage: String,
    pub median_ns: f64,
}

/// Breaks a pipeline's per-request time down by stage. `stages` must not be empty for a
/// bottleneck to be named.
pub fn breakdown(
    pipeline: &str,
    batch: usize,
    stages: &[StageTime],
    end_to_end_ns: Option<f64>,
) -> Breakdown {
    let sum_ns: f64 = stages.iter().map(|s| s.median_ns).sum();
    let shares = stages
        .iter()
        .map(|s| StageShare {
            bench: s.bench.clone(),
            stage: s.stage.clone(),
            median_ns: s.median_ns,
            share_pct: if sum_ns > 0.0 {
                100.0 * s.median_ns / sum_ns
            } else {
                0.0
            },
        })
        .collect();
    let bottleneck = stages
        .iter()
        .max_by(|a, b| a.median_ns.total_cmp(&b.median_ns))
        .map(|s| s.bench.clone());
    Breakdown {
        pipeline: pipeline.to_string(),
        batch,
        stages: shares,
        sum_ns,
        end_to_end_ns,
        unaccounted_ns: end_to_end_ns.map(|e2e| e2e - sum_ns),
        bottleneck,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stage(bench: &str, median_ns: f64) -> StageTime {
        StageTime {
            bench: bench.into(),
            stage: bench.into(),
            median_ns,
        }
    }

    #[test]
    fn shares_sum_to_100_and_the_largest_is_the_bottleneck() {
        let b = breakdown(
            "p",
            1,
            &[
                stage("pre", 200.0),
                stage("fwd", 700.0),
                stage("post", 100.0),
            ],
            Some(1100.0),
        );
        assert_eq!(b.sum_ns, 1000.0);
        assert_eq!(b.bottleneck.as_deref(), Some("fwd"));
        let total: f64 = b.stages.iter().map(|s| s.share_pct).sum();
        assert!((total - 100.0).abs() < 1e-9);
        assert_eq!(b.stages[1].share_pct, 70.0);
        assert_eq!(b.unaccounted_ns, Some(100.0));
    }

    #[test]
    fn without_end_to_end_there_is_nothing_unaccounted() {
        let b = breakdown("p", 4, &[stage("only", 5.0)], None);
        assert_eq!(b.unaccounted_ns, None);
        assert_eq!(b.stages[0].share_pct, 100.0);
    }
}
