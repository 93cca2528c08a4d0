//! Did a bench change against its baseline? criterion's rule, reproduced so that a run can act
//! on it (criterion itself only prints it): a two-tailed Welch t-test on the per-iteration
//! times of the two samples, its p-value from a bootstrapped t distribution under the null
//! hypothesis (both samples drawn from one pool), then the relative change of the mean compared
//! with a noise threshold.

use crate::results::Verdict;

use super::rng::SplitMix64;

/// The rule's two settings (criterion's defaults: 0.05 and 0.01).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rule {
    pub significance_level: f64,
    /// Relative, e.g. 0.02 for ±2 %.
    pub noise_threshold: f64,
}

impl Default for Rule {
    fn default() -> Self {
        Rule {
            significance_level: 0.05,
            noise_threshold: 0.01,
        }
    }
}

/// criterion's verdict from the p-value and the confidence interval (`lower`, `upper`) of the
/// relative change of the mean.
pub fn verdict(p_value: f64, lower: f64, upper: f64, rule: Rule) -> Verdict {
    if p_value.is_nan() || p_value >= rule.significance_level {
        return Verdict::NoChange;
    }
    if lower > rule.noise_threshold {
        Verdict::Regressed
    } else if upper < -rule.noise_threshold {
        Verdict::Improved
    } else {
        Verdict::WithinNoise
    }
}

/// Welch's t statistic of `a` against `b` (NaN when either has fewer than two values or both
/// have no spread).
pub fn welch_t(a: &[f64], b: &[f64]) -> f64 {
    let (mean_a, var_a) = mean_var(a);
    let (mean_b, var_b) = mean_var(b);
    (mean_a - mean_b) / (var_a / a.len() as f64 + var_b / b.len() as f64).sqrt()
}

fn mean_var(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, var)
}

/// The two-tailed p-value of `new` against `base`: how often a t statistic at least as extreme
/// as the observed one comes from resampling both samples out of one pool (`resamples` times,
/// seeded, so one pair of samples always gives one answer). 1.0 when it cannot be computed.
pub fn p_value(new: &[f64], base: &[f64], resamples: usize, seed: u64) -> f64 {
    if new.len() < 2 || base.len() < 2 {
        return 1.0;
    }
    let observed = welch_t(new, base);
    if observed.is_nan() {
        return 1.0;
    }
    if observed.is_infinite() {
        // Two samples without spread and with different means: as different as can be.
        return 0.0;
    }
    let pool: Vec<f64> = new.iter().chain(base).copied().collect();
    let mut rng = SplitMix64(seed);
    let mut a = vec![0.0; new.len()];
    let mut b = vec![0.0; base.len()];
    let (mut below, mut total) = (0usize, 0usize);
    for _ in 0..resamples {
        for slot in a.iter_mut().chain(b.iter_mut()) {
            *slot = pool[rng.below(pool.len())];
        }
        let t = welch_t(&a, &b);
        if t.is_finite() {
            total += 1;
            if t < observed {
                below += 1;
            }
        }
    }
    if total == 0 {
        return 1.0;
    }
    let p = below as f64 / total as f64;
    if p < 0.5 {
        2.0 * p
    } else {
        2.0 * (1.0 - p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noisy(center: f64, n: usize, seed: u64) -> Vec<f64> {
        let mut rng = SplitMix64(seed);
        (0..n)
            .map(|_| center * (1.0 + 0.02 * (rng.next_open01() - 0.5)))
            .collect()
    }

    #[test]
    fn a_real_shift_is_significant_and_equal_samples_are_not() {
        let base = noisy(100.0, 50, 1);
        let slower = noisy(110.0, 50, 2);
        assert!(p_value(&slower, &base, 10_000, 7) < 0.001);
        let same = noisy(100.0, 50, 3);
        assert!(p_value(&same, &base, 10_000, 7) > 0.05);
        // Deterministic for one seed.
        assert_eq!(
            p_value(&same, &base, 2_000, 9),
            p_value(&same, &base, 2_000, 9)
        );
    }

    #[test]
    fn samples_too_small_or_without_spread_follow_criterion() {
        assert_eq!(p_value(&[1.0], &[2.0, 3.0], 100, 1), 1.0);
        assert_eq!(p_value(&[5.0, 5.0], &[5.0, 5.0], 100, 1), 1.0);
        // No spread but different means: a change, as criterion says.
        assert_eq!(p_value(&[6.0, 6.0], &[5.0, 5.0], 100, 1), 0.0);
    }

    #[test]
    fn verdicts_follow_criterion_rule() {
        let rule = Rule {
            significance_level: 0.05,
            noise_threshold: 0.02,
        };
        assert_eq!(verdict(0.001, 0.05, 0.09, rule), Verdict::Regressed);
        assert_eq!(verdict(0.001, -0.09, -0.05, rule), Verdict::Improved);
        assert_eq!(verdict(0.001, 0.01, 0.09, rule), Verdict::WithinNoise);
        assert_eq!(verdict(0.2, 0.05, 0.09, rule), Verdict::NoChange);
        assert_eq!(verdict(f64::NAN, 0.05, 0.09, rule), Verdict::NoChange);
    }

    #[test]
    fn welch_t_matches_a_hand_computed_value() {
        // means 2 and 5, variances 1 and 1, n = 3 each: t = -3 / sqrt(2/3).
        let t = welch_t(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0]);
        assert!((t - (-3.0 / (2.0f64 / 3.0).sqrt())).abs() < 1e-12, "{t}");
    }
}
