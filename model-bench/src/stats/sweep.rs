//! Batch-size sweep analysis: per-item latency and throughput per batch, the best batch and the knee.

use crate::results::{Ceiling, Knee, SweepPoint, SweepSummary};

/// One measured batch size: the median time of one call that processes `batch` items.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeasuredBatch {
    pub batch: usize,
    pub median_ns: f64,
}

impl Ceiling {
    pub fn new(batch: usize, message: String) -> Self {
        Ceiling {
            batch,
            out_of_memory: is_out_of_memory(&message),
            message,
        }
    }
}

/// Whether a failure message is an out-of-memory error, as CUDA
/// (`CUDA_ERROR_OUT_OF_MEMORY`), PyTorch (`CUDA out of memory`) and ONNX Runtime (`Failed to
/// allocate memory`) word it.
pub fn is_out_of_memory(message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    [
        "out_of_memory",
        "out of memory",
        "failed to allocate memory",
    ]
    .iter()
    .any(|needle| message.contains(needle))
}

/// Items per second when one call processing `batch` items takes `latency_ns`.
pub fn items_per_sec(batch: usize, latency_ns: f64) -> f64 {
    batch as f64 * 1e9 / latency_ns
}

/// Summarises a sweep from its measured batches (in increasing batch order) and its ceiling.
pub fn summarize(measured: &[MeasuredBatch], ceiling: Option<Ceiling>) -> SweepSummary {
    let points: Vec<SweepPoint> = measured
        .iter()
        .filter(|m| m.batch > 0 && m.median_ns > 0.0)
        .map(|m| SweepPoint {
            batch: m.batch,
            latency_ns: m.median_ns,
            latency_per_item_ns: m.median_ns / m.batch as f64,
            items_per_sec: items_per_sec(m.batch, m.median_ns),
        })
        .collect();
    let best_batch = points
        .iter()
        .max_by(|a, b| a.items_per_sec.total_cmp(&b.items_per_sec))
        .map(|p| p.batch);
    let knee = points.windows(2).find_map(|pair| {
        let (prev, next) = (&pair[0], &pair[1]);
        let latency_growth = next.latency_ns / prev.latency_ns - 1.0;
        let throughput_growth = next.items_per_sec / prev.items_per_sec - 1.0;
        (latency_growth > throughput_growth).then_some(Knee {
            batch: next.batch,
            from_batch: prev.batch,
            latency_growth,
            throughput_growth,
        })
    });
    SweepSummary {
        points,
        best_batch,
        knee,
        ceiling,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(batch: usize, median_ns: f64) -> MeasuredBatch {
        MeasuredBatch { batch, median_ns }
    }

    #[test]
    fn best_batch_is_the_highest_throughput() {
        // items/s: 1e6, 1.6e6, 2e6, 1.9e6
        let summary = summarize(
            &[
                batch(1, 1000.0),
                batch(2, 1250.0),
                batch(4, 2000.0),
                batch(8, 4210.0),
            ],
            None,
        );
        assert_eq!(summary.best_batch, Some(4));
        assert_eq!(summary.points[1].items_per_sec, 1.6e6);
        assert_eq!(summary.points[2].latency_per_item_ns, 500.0);
    }

    #[test]
    fn knee_is_where_latency_outgrows_throughput() {
        // 1→2: latency +10 %, throughput +82 %; 2→4: latency +40 %, throughput +43 %;
        // 4→8: latency +90 %, throughput +5 % → knee at 8.
        let summary = summarize(
            &[
                batch(1, 1000.0),
                batch(2, 1100.0),
                batch(4, 1540.0),
                batch(8, 2926.0),
            ],
            None,
        );
        let knee = summary.knee.expect("a knee");
        assert_eq!((knee.from_batch, knee.batch), (4, 8));
        assert!((knee.latency_growth - 0.9).abs() < 1e-9);
        assert!(knee.throughput_growth < knee.latency_growth);
    }

    #[test]
    fn linear_scaling_has_no_knee() {
        // Constant latency per call: throughput doubles, latency flat.
        let summary = summarize(&[batch(1, 100.0), batch(2, 100.0), batch(4, 100.0)], None);
        assert_eq!(summary.knee, None);
        assert_eq!(summary.best_batch, Some(4));
    }

    #[test]
    fn ceiling_is_kept_with_the_points_before_it() {
        let ceiling = Ceiling::new(16, "out of memory".into());
        let summary = summarize(&[batch(1, 10.0), batch(8, 40.0)], Some(ceiling.clone()));
        assert_eq!(summary.ceiling, Some(ceiling));
        assert_eq!(summary.points.len(), 2);
        assert_eq!(summary.best_batch, Some(8));
    }

    #[test]
    fn out_of_memory_is_told_from_other_failures() {
        for message in [
            "allocating a: DriverError(CUDA_ERROR_OUT_OF_MEMORY, \"out of memory\")",
            "CUDA out of memory. Tried to allocate 20.00 GiB",
            "BFCArena::AllocateRawInternal Failed to allocate memory for requested buffer",
        ] {
            assert!(Ceiling::new(64, message.into()).out_of_memory, "{message}");
        }
        assert!(!Ceiling::new(64, "shape mismatch at input 0".into()).out_of_memory);
    }
}
