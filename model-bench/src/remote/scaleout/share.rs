//! One worker's share of a benchmark run from N machines: which worker this process is (from
//! the environment a Kubernetes Indexed Job gives its pods), which arrivals of the seeded
//! open-loop schedule it sends, and how much of a closed loop's concurrency it keeps. A leaf:
//! the load loops ask it, it asks nothing of them.
//!
//! - Open loop: every worker computes the whole schedule and sends arrival `k` when
//!   `k ≡ index (mod N)`, so the union of the workers' sends is the one-machine schedule.
//! - Closed loop: worker `i` keeps `round(C(i+1)/N) − round(Ci/N)` of `C` requests in flight,
//!   which sums to exactly `C` (a worker may get none when `C < N`), and a request budget is
//!   split in proportion to those parts.

use thiserror::Error;

/// The worker index Kubernetes sets in each pod of an Indexed Job.
pub const KUBERNETES_INDEX_VAR: &str = "JOB_COMPLETION_INDEX";
/// The worker index outside Kubernetes (wins over [`KUBERNETES_INDEX_VAR`] when both are set
/// and agree).
pub const INDEX_VAR: &str = "MODEL_BENCH_WORKER_INDEX";
/// How many workers share the run.
pub const WORKERS_VAR: &str = "MODEL_BENCH_WORKERS";

/// This process's place among the workers of one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkerShare {
    /// 0-based, below `count`.
    pub index: usize,
    /// At least 1.
    pub count: usize,
}

/// Worker settings that do not describe one worker of a run: refused before any load.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ShareError {
    /// A variable that must be a whole number is not.
    #[error("{var}=`{value}` is not a whole number")]
    NotANumber {
        /// The variable.
        var: &'static str,
        /// Its value.
        value: String,
    },
    /// An index without a worker count.
    #[error("{index_var}={index} is set but {WORKERS_VAR} is not: set {WORKERS_VAR} to the number of workers (the Job's completions)")]
    NoCount {
        /// The variable the index came from.
        index_var: &'static str,
        /// The index.
        index: usize,
    },
    /// A worker count without an index.
    #[error("{WORKERS_VAR}={count} is set but neither {INDEX_VAR} nor {KUBERNETES_INDEX_VAR} is: each worker needs its index")]
    NoIndex {
        /// The worker count.
        count: usize,
    },
    /// Zero workers.
    #[error("{WORKERS_VAR}=0: a run needs at least one worker")]
    NoWorkers,
    /// An index past the last worker.
    #[error("worker index {index} is not below {WORKERS_VAR}={count}")]
    IndexTooLarge {
        /// The index.
        index: usize,
        /// The worker count.
        count: usize,
    },
    /// Two indexes that disagree.
    #[error("{INDEX_VAR}={ours} and {KUBERNETES_INDEX_VAR}={kubernetes} disagree")]
    Disagree {
        /// `MODEL_BENCH_WORKER_INDEX`.
        ours: usize,
        /// `JOB_COMPLETION_INDEX`.
        kubernetes: usize,
    },
}

impl WorkerShare {
    /// The whole run in one process.
    pub const ALONE: WorkerShare = WorkerShare { index: 0, count: 1 };

    /// Worker `index` of `count`; `None` unless `index < count`.
    pub fn new(index: usize, count: usize) -> Option<WorkerShare> {
        (index < count).then_some(WorkerShare { index, count })
    }

    /// This process's share from `env` (a lookup such as `std::env::var`): `None` when no
    /// worker variable is set (a one-machine run), an error when they are set but do not
    /// describe one worker.
    pub fn from_env(
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<WorkerShare>, ShareError> {
        let number = |var: &'static str| -> Result<Option<usize>, ShareError> {
            env(var)
                .map(|value| {
                    value
                        .trim()
                        .parse::<usize>()
                        .map_err(|_| ShareError::NotANumber {
                            var,
                            value: value.clone(),
                        })
                })
                .transpose()
        };
        let ours = number(INDEX_VAR)?;
        let kubernetes = number(KUBERNETES_INDEX_VAR)?;
        let count = number(WORKERS_VAR)?;
        let index = match (ours, kubernetes) {
            (Some(ours), Some(kubernetes)) if ours != kubernetes => {
                return Err(ShareError::Disagree { ours, kubernetes })
            }
            (Some(index), _) => Some((INDEX_VAR, index)),
            (None, Some(index)) => Some((KUBERNETES_INDEX_VAR, index)),
            (None, None) => None,
        };
        match (index, count) {
            (None, None) => Ok(None),
            (Some((index_var, index)), None) => Err(ShareError::NoCount { index_var, index }),
            (None, Some(count)) => Err(ShareError::NoIndex { count }),
            (Some(_), Some(0)) => Err(ShareError::NoWorkers),
            (Some((_, index)), Some(count)) => WorkerShare::new(index, count)
                .map(Some)
                .ok_or(ShareError::IndexTooLarge { index, count }),
        }
    }

    /// Whether this worker sends arrival `k` (0-based, counted over the whole schedule).
    pub fn sends(&self, arrival: u64) -> bool {
        arrival % self.count as u64 == self.index as u64
    }

    /// This worker's part of `total` (requests in flight, or a request budget):
    /// `round(total(i+1)/N) − round(total·i/N)`, so the parts sum to `total` exactly.
    pub fn part_of(&self, total: u64) -> u64 {
        let boundary =
            |i: usize| rounded_ratio(u128::from(total) * i as u128, self.count as u128) as u64;
        boundary(self.index + 1) - boundary(self.index)
    }

    /// [`part_of`](Self::part_of) for a number of requests in flight.
    pub fn concurrency(&self, total: usize) -> usize {
        self.part_of(total as u64) as usize
    }

    /// This worker's part of a closed loop's request budget `total`, in proportion to its part
    /// of `concurrency` (a worker with none in flight gets none); the parts sum to `total`.
    pub fn budget(&self, total: u64, concurrency: usize) -> u64 {
        if concurrency == 0 {
            return self.part_of(total);
        }
        let whole = concurrency as u128;
        let boundary = |i: usize| {
            let in_flight = rounded_ratio(whole * i as u128, self.count as u128);
            rounded_ratio(u128::from(total) * in_flight, whole) as u64
        };
        boundary(self.index + 1) - boundary(self.index)
    }
}

/// `round(numerator / denominator)`, halves up, in integers.
fn rounded_ratio(numerator: u128, denominator: u128) -> u128 {
    (2 * numerator + denominator) / (2 * denominator)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |var| pairs.iter().find(|(k, _)| k == var).map(|(_, v)| v.clone())
    }

    #[test]
    fn every_arrival_is_sent_by_exactly_one_worker() {
        for count in 1..=16 {
            for arrival in 0..1000u64 {
                let senders = (0..count)
                    .filter(|&index| WorkerShare { index, count }.sends(arrival))
                    .count();
                assert_eq!(senders, 1, "arrival {arrival} of {count} workers");
            }
        }
    }

    #[test]
    fn concurrency_parts_sum_to_the_whole_and_differ_by_at_most_one() {
        for count in 1..=16 {
            for total in 0..200usize {
                let parts: Vec<usize> = (0..count)
                    .map(|index| WorkerShare { index, count }.concurrency(total))
                    .collect();
                assert_eq!(parts.iter().sum::<usize>(), total, "{total} over {count}");
                let (min, max) = (parts.iter().min().unwrap(), parts.iter().max().unwrap());
                assert!(max - min <= 1, "{total} over {count}: {parts:?}");
            }
        }
        let huge = WorkerShare { index: 2, count: 3 };
        assert!(huge.part_of(u64::MAX) > 0);
    }

    #[test]
    fn a_request_budget_follows_the_concurrency_parts() {
        for count in 1..=16 {
            for concurrency in 1..40usize {
                for total in [0u64, 1, 7, 30, 1000] {
                    let shares = (0..count).map(|index| WorkerShare { index, count });
                    let parts: Vec<(usize, u64)> = shares
                        .map(|w| (w.concurrency(concurrency), w.budget(total, concurrency)))
                        .collect();
                    let sum: u64 = parts.iter().map(|&(_, budget)| budget).sum();
                    assert_eq!(sum, total, "{total} over {count} at {concurrency}");
                    assert!(
                        parts.iter().all(|&(c, budget)| c > 0 || budget == 0),
                        "a worker with nothing in flight gets no budget: {parts:?}"
                    );
                }
            }
        }
        // Two in flight over three workers: 1, 0, 1; thirty requests: 15, 0, 15.
        let budgets: Vec<u64> = (0..3)
            .map(|i| WorkerShare { index: i, count: 3 }.budget(30, 2))
            .collect();
        assert_eq!(budgets, [15, 0, 15]);
    }

    #[test]
    fn the_environment_names_one_worker_or_a_clear_error() {
        assert_eq!(WorkerShare::from_env(env(&[])), Ok(None));
        let k8s = env(&[(KUBERNETES_INDEX_VAR, "3"), (WORKERS_VAR, "8")]);
        assert_eq!(WorkerShare::from_env(k8s), Ok(WorkerShare::new(3, 8)));
        let ours = env(&[(INDEX_VAR, "0"), (WORKERS_VAR, " 2 ")]);
        assert_eq!(WorkerShare::from_env(ours), Ok(WorkerShare::new(0, 2)));
        let both = env(&[
            (INDEX_VAR, "1"),
            (KUBERNETES_INDEX_VAR, "1"),
            (WORKERS_VAR, "2"),
        ]);
        assert_eq!(WorkerShare::from_env(both), Ok(WorkerShare::new(1, 2)));

        let error = |pairs: &[(&str, &str)]| {
            WorkerShare::from_env(env(pairs))
                .expect_err("refused")
                .to_string()
        };
        assert!(error(&[(KUBERNETES_INDEX_VAR, "1")]).contains("MODEL_BENCH_WORKERS is not"));
        assert!(error(&[(WORKERS_VAR, "4")]).contains("needs its index"));
        assert!(error(&[(INDEX_VAR, "4"), (WORKERS_VAR, "4")]).contains("not below"));
        assert!(error(&[(INDEX_VAR, "0"), (WORKERS_VAR, "0")]).contains("at least one"));
        assert!(error(&[(INDEX_VAR, "x"), (WORKERS_VAR, "2")]).contains("`x` is not a whole"));
        assert!(error(&[
            (INDEX_VAR, "0"),
            (KUBERNETES_INDEX_VAR, "1"),
            (WORKERS_VAR, "2")
        ])
        .contains("disagree"));
    }
}
