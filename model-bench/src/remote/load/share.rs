//! One worker's share of a load run from N machines: which arrivals of the seeded open-loop
//! schedule it sends, and how much of a closed loop's concurrency and request budget it keeps.
//! A leaf the load plan holds and the loops ask; where the worker's index and count come from
//! (the environment of a Kubernetes Indexed Job's pods) is `remote::scaleout`'s.
//!
//! - Open loop: every worker computes the whole schedule and sends arrival `k` when
//!   `k ≡ index (mod N)`, so the union of the workers' sends is the one-machine schedule.
//! - Closed loop: worker `i` keeps `round(C(i+1)/N) − round(Ci/N)` of `C` requests in flight,
//!   which sums to exactly `C` (a worker may get none when `C < N`), and a request budget is
//!   split in proportion to those parts.

/// This process's place among the workers of one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkerShare {
    /// 0-based, below `count`.
    pub index: usize,
    /// At least 1.
    pub count: usize,
}

impl WorkerShare {
    /// The whole run in one process.
    pub const ALONE: WorkerShare = WorkerShare { index: 0, count: 1 };

    /// Worker `index` of `count`; `None` unless `index < count`.
    pub fn new(index: usize, count: usize) -> Option<WorkerShare> {
        (index < count).then_some(WorkerShare { index, count })
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
}
