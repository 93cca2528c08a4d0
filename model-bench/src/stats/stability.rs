//! Whether a load point's figures can be trusted: perf_analyzer's stability rule (the last few
//! measurement windows agree on throughput and latency within a percentage) and MLPerf LoadGen's
//! minimums (duration and request count). A point is VALID or UNSTABLE, with every reason. The
//! windows are the point's equal time slices (criterion's samples), or windows of a number of
//! responses each.

use crate::results::Validity;

/// One measurement window's figures; latency figures are `None` when nothing succeeded in it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WindowFigures {
    pub throughput_rps: f64,
    pub mean_ns: Option<f64>,
    pub p50_ns: Option<f64>,
    pub p99_ns: Option<f64>,
}

/// The rule a load point is held to (`[stability]` in `model-bench.toml`).
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// How many of the last measurement windows must agree.
    pub windows: usize,
    /// How far (%) each of them may be from their mean, for throughput and for latency.
    pub within_pct: f64,
    /// The latency figure compared: each window's mean (perf_analyzer's default), p50 or p99.
    pub latency: LatencyFigure,
    /// The least measured time and requests for a valid point.
    pub min_duration_s: f64,
    pub min_requests: u64,
    /// Runs of a point until it is stable (the last run is kept); 1 runs it once.
    pub max_trials: u32,
    /// Windows by count (perf_analyzer's `count_windows`): each window is this many successful
    /// responses in the order they arrived; `None` judges the point's time slices.
    pub window_requests: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LatencyFigure {
    Mean,
    P50,
    P99,
}

impl LatencyFigure {
    pub fn name(self) -> &'static str {
        match self {
            LatencyFigure::Mean => "mean latency",
            LatencyFigure::P50 => "p50",
            LatencyFigure::P99 => "p99",
        }
    }

    pub fn parse(text: &str) -> Option<LatencyFigure> {
        match text {
            "mean" => Some(LatencyFigure::Mean),
            "p50" => Some(LatencyFigure::P50),
            "p99" => Some(LatencyFigure::P99),
            _ => None,
        }
    }

    fn of(self, window: &WindowFigures) -> Option<f64> {
        match self {
            LatencyFigure::Mean => window.mean_ns,
            LatencyFigure::P50 => window.p50_ns,
            LatencyFigure::P99 => window.p99_ns,
        }
    }
}

impl Default for Rule {
    /// perf_analyzer's defaults: 3 windows within 10 % on mean latency; no minimums; one trial.
    fn default() -> Self {
        Rule {
            windows: 3,
            within_pct: 10.0,
            latency: LatencyFigure::Mean,
            min_duration_s: 0.0,
            min_requests: 0,
            max_trials: 1,
            window_requests: None,
        }
    }
}

/// Judges one run from its measurement windows in order and its totals.
pub fn assess(
    rule: &Rule,
    windows: &[WindowFigures],
    elapsed_s: f64,
    requests: u64,
    trials: u32,
) -> Validity {
    let mut reasons = Vec::new();
    if elapsed_s + 1e-9 < rule.min_duration_s {
        reasons.push(format!(
            "measured {elapsed_s:.1} s, under the {:.1} s minimum",
            rule.min_duration_s
        ));
    }
    if requests < rule.min_requests {
        reasons.push(format!(
            "{requests} requests, under the {} minimum",
            rule.min_requests
        ));
    }
    let in_window = windows;
    let needed = rule.windows.max(2);
    if in_window.len() < needed {
        reasons.push(format!(
            "{} measurement window(s), fewer than the {needed} compared: measure longer",
            in_window.len()
        ));
    } else {
        let last = &in_window[in_window.len() - needed..];
        let spread = |name: &str, values: Vec<Option<f64>>| -> Option<String> {
            let values: Option<Vec<f64>> = values.into_iter().collect();
            let Some(values) = values else {
                return Some(format!("a window without a successful request ({name})"));
            };
            let mean = values.iter().sum::<f64>() / values.len() as f64;
            let worst = values
                .iter()
                .map(|v| 100.0 * (v - mean).abs() / mean.max(f64::MIN_POSITIVE))
                .fold(0.0, f64::max);
            (worst > rule.within_pct).then(|| {
                format!(
                    "{name} of the last {needed} windows differs by up to {worst:.0} % from their \
                     mean (limit {:.0} %)",
                    rule.within_pct
                )
            })
        };
        reasons.extend(spread(
            "throughput",
            last.iter().map(|p| Some(p.throughput_rps)).collect(),
        ));
        reasons.extend(spread(
            rule.latency.name(),
            last.iter().map(|p| rule.latency.of(p)).collect(),
        ));
    }
    Validity {
        label: if reasons.is_empty() {
            "VALID"
        } else {
            "UNSTABLE"
        }
        .into(),
        reasons,
        trials,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(throughput: f64, mean_ms: f64) -> WindowFigures {
        WindowFigures {
            throughput_rps: throughput,
            mean_ns: Some(mean_ms * 1e6),
            p50_ns: Some(mean_ms * 0.9e6),
            p99_ns: Some(mean_ms * 3e6),
        }
    }

    #[test]
    fn the_last_windows_must_agree_on_throughput_and_latency() {
        let rule = Rule::default();
        // A slow start, then three windows within 10 % of each other: valid.
        let settled = [
            window(50.0, 9.0),
            window(100.0, 5.0),
            window(104.0, 5.2),
            window(97.0, 4.9),
        ];
        let valid = assess(&rule, &settled, 4.0, 355, 1);
        assert_eq!(valid.label, "VALID", "{valid:?}");
        assert!(valid.is_valid());

        // Latency still climbing in the last windows.
        let climbing = [
            window(100.0, 5.0),
            window(100.0, 5.0),
            window(100.0, 8.0),
            window(100.0, 12.0),
        ];
        let unstable = assess(&rule, &climbing, 4.0, 400, 2);
        assert_eq!(unstable.label, "UNSTABLE");
        assert_eq!(unstable.reasons.len(), 1, "{unstable:?}");
        assert!(
            unstable.reasons[0].starts_with("mean latency of the last 3 windows"),
            "{unstable:?}"
        );
        // The same windows judged on p99 instead.
        let on_p99 = Rule {
            latency: LatencyFigure::P99,
            ..Rule::default()
        };
        let p99 = assess(&on_p99, &climbing, 4.0, 400, 1);
        assert!(
            p99.reasons[0].starts_with("p99 of the last 3 windows"),
            "{p99:?}"
        );
        assert_eq!(unstable.trials, 2);
    }

    #[test]
    fn loadgen_minimums_and_too_few_windows_are_reasons() {
        let rule = Rule {
            min_duration_s: 10.0,
            min_requests: 1000,
            ..Rule::default()
        };
        let short = [window(100.0, 5.0), window(100.0, 5.0)];
        let verdict = assess(&rule, &short, 2.0, 200, 1);
        assert_eq!(verdict.label, "UNSTABLE");
        assert_eq!(verdict.reasons.len(), 3, "{verdict:?}");
        assert!(verdict.reasons[0].contains("under the 10.0 s minimum"));
        assert!(verdict.reasons[1].contains("200 requests, under the 1000 minimum"));
        assert!(verdict.reasons[2].contains("fewer than the 3 compared"));

        // A window where nothing succeeded cannot be compared.
        let mut gap = [window(100.0, 5.0), window(100.0, 5.0), window(0.0, 5.0)];
        gap[2].mean_ns = None;
        let verdict = assess(&Rule::default(), &gap, 3.0, 300, 1);
        assert!(
            verdict
                .reasons
                .iter()
                .any(|r| r.contains("without a successful request")),
            "{verdict:?}"
        );
    }
}
