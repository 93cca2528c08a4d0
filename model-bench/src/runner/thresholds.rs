//! Thresholds on absolute figures (`p99 < 50ms`, `error_rate < 1%`, `throughput > 200/s`,
//! `cold_overhead < 2s`, and for token streams `ttft_p99 < 500ms`, `ttfo_p99 < 2s`, `goodput > 95%`), written per bench in `model-bench.toml` and checked after a run; a
//! run that breaks one exits with its own code, with a line per broken threshold.

use crate::results::{BenchResult, PointResult};

/// What a threshold limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// Stage: criterion's median; remote: latency p50.
    Median,
    /// Stage: criterion's mean; remote: mean latency.
    Mean,
    P50,
    P90,
    /// Stage: p95 of the samples; remote: latency p95.
    P95,
    P99,
    P999,
    /// Stage: the slowest sample; remote: the slowest request.
    Max,
    /// Remote: failed requests / requests.
    ErrorRate,
    /// Stage: items per second; remote: successful responses per second.
    Throughput,
    /// Cold bench: mean time of a fresh process's first call, setup included.
    ColdMean,
    /// Cold bench: cold mean minus warm median.
    ColdOverhead,
    /// Token streams: time to first token (from the intended send) at a percentile.
    Ttft(Pick),
    /// Token streams: time to the first answer token (from the intended send) at a percentile.
    Ttfo(Pick),
    /// Token streams: ITL per request (TPOT) at a percentile.
    Itl(Pick),
    /// Token streams: the gap between text chunks at a percentile.
    ChunkGap(Pick),
    /// Token streams: output tokens per second, all streams together.
    TokensPerSecond,
    /// Token streams: the share of requests that met every SLO.
    Goodput,
    /// Token streams: requests per second that met every SLO.
    GoodputRate,
}

/// Which percentile of a token-stream figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pick {
    P50,
    P90,
    P99,
    Max,
}

impl Pick {
    fn parse(name: &str) -> Option<Pick> {
        Some(match name {
            "p50" | "median" => Pick::P50,
            "p90" => Pick::P90,
            "p99" => Pick::P99,
            "max" => Pick::Max,
            _ => return None,
        })
    }

    fn of(self, figures: &crate::results::Percentiles) -> f64 {
        match self {
            Pick::P50 => figures.p50,
            Pick::P90 => figures.p90,
            Pick::P99 => figures.p99,
            Pick::Max => figures.max,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Time,
    Fraction,
    Rate,
}

impl Metric {
    fn parse(name: &str) -> Option<Metric> {
        Some(match name {
            "median" => Metric::Median,
            "mean" => Metric::Mean,
            "p50" => Metric::P50,
            "p90" => Metric::P90,
            "p95" => Metric::P95,
            "p99" => Metric::P99,
            "p999" | "p99.9" => Metric::P999,
            "max" => Metric::Max,
            "error_rate" => Metric::ErrorRate,
            "throughput" => Metric::Throughput,
            "cold_mean" => Metric::ColdMean,
            "cold_overhead" => Metric::ColdOverhead,
            "tokens_per_s" => Metric::TokensPerSecond,
            "goodput" => Metric::Goodput,
            "goodput_rate" => Metric::GoodputRate,
            // E2E is the point's latency.
            "e2e_p50" => Metric::P50,
            "e2e_p90" => Metric::P90,
            "e2e_p99" => Metric::P99,
            "e2e_max" => Metric::Max,
            _ => {
                let (figure, pick) = name.rsplit_once('_')?;
                let pick = Pick::parse(pick)?;
                match figure {
                    "ttft" => Metric::Ttft(pick),
                    "ttfo" => Metric::Ttfo(pick),
                    "itl" | "tpot" => Metric::Itl(pick),
                    "chunk_gap" => Metric::ChunkGap(pick),
                    _ => return None,
                }
            }
        })
    }

    fn kind(self) -> Kind {
        match self {
            Metric::ErrorRate | Metric::Goodput => Kind::Fraction,
            Metric::Throughput | Metric::TokensPerSecond | Metric::GoodputRate => Kind::Rate,
            _ => Kind::Time,
        }
    }

    fn is_cold(self) -> bool {
        matches!(self, Metric::ColdMean | Metric::ColdOverhead)
    }

    /// The figure for one measured point (times in ns), when the point has it.
    fn of_point(self, point: &PointResult) -> Option<f64> {
        if let Some(load) = &point.load {
            let stats = &load.stats;
            let latency = stats.latency.as_ref();
            let stream = stats.stream.as_ref();
            return match self {
                Metric::Median | Metric::P50 => latency.map(|l| l.p50),
                Metric::Mean => latency.map(|l| l.mean),
                Metric::P90 => latency.map(|l| l.p90),
                Metric::P95 => latency.map(|l| l.p95),
                Metric::P99 => latency.map(|l| l.p99),
                Metric::P999 => latency.map(|l| l.p999),
                Metric::Max => latency.map(|l| l.max),
                Metric::ErrorRate => {
                    (stats.requests > 0).then(|| stats.errors as f64 / stats.requests as f64)
                }
                Metric::Throughput => Some(stats.throughput_rps),
                Metric::ColdMean | Metric::ColdOverhead => None,
                Metric::Ttft(pick) => stream.and_then(|s| s.ttft.as_ref()).map(|p| pick.of(p)),
                Metric::Ttfo(pick) => stream.and_then(|s| s.ttfo.as_ref()).map(|p| pick.of(p)),
                Metric::Itl(pick) => stream
                    .and_then(|s| s.itl_per_request.as_ref())
                    .map(|p| pick.of(p)),
                Metric::ChunkGap(pick) => stream
                    .and_then(|s| s.chunk_gap.as_ref())
                    .map(|p| pick.of(p)),
                Metric::TokensPerSecond => stream.map(|s| s.output_tokens_per_s),
                Metric::Goodput => stream.and_then(|s| s.goodput.as_ref()).map(|g| g.share),
                Metric::GoodputRate => stream
                    .and_then(|s| s.goodput.as_ref())
                    .map(|g| g.rate_per_s),
            };
        }
        match self {
            Metric::Median | Metric::P50 => Some(point.estimates.median.point),
            Metric::Mean => Some(point.estimates.mean.point),
            Metric::P95 => Some(point.sample.p95),
            Metric::Max => Some(point.sample.max),
            Metric::Throughput => point.items_per_sec,
            _ => None,
        }
    }

    fn of_cold_bench(self, bench: &BenchResult) -> Option<f64> {
        let summary = bench.cold.as_ref()?.summary.as_ref()?;
        match self {
            Metric::ColdMean => Some(summary.mean_ns),
            Metric::ColdOverhead => summary.overhead_ns,
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Lt,
    Le,
    Gt,
    Ge,
}

impl Op {
    fn holds(self, value: f64, limit: f64) -> bool {
        match self {
            Op::Lt => value < limit,
            Op::Le => value <= limit,
            Op::Gt => value > limit,
            Op::Ge => value >= limit,
        }
    }
}

/// One threshold: `metric op limit` for the points of `bench` (a point id, or a prefix of ids
/// ending at a `/`).
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    pub bench: String,
    pub text: String,
    metric: Metric,
    op: Op,
    /// In ns for times, a fraction for rates of errors, per second for throughput.
    limit: f64,
}

impl Threshold {
    /// Parses `p99 < 50ms`, `error_rate <= 1%`, `throughput > 200/s`, `cold_overhead < 2s`.
    pub fn parse(bench: &str, text: &str) -> Result<Threshold, String> {
        let (at, op, width) = ["<=", ">=", "<", ">"]
            .iter()
            .find_map(|symbol| text.find(symbol).map(|at| (at, *symbol, symbol.len())))
            .ok_or_else(|| format!("`{text}`: expected `metric < limit` (or <=, >, >=)"))?;
        let op = match op {
            "<=" => Op::Le,
            ">=" => Op::Ge,
            "<" => Op::Lt,
            _ => Op::Gt,
        };
        let name = text[..at].trim();
        let metric = Metric::parse(name).ok_or_else(|| {
            format!(
                "`{text}`: unknown metric `{name}` (median, mean, p50, p90, p95, p99, p999, max, \
                 error_rate, throughput, cold_mean, cold_overhead; token streams: ttft_p50/p90/p99/max, \
                 ttfo_…, itl_…, chunk_gap_…, e2e_…, tokens_per_s, goodput, goodput_rate)"
            )
        })?;
        let value = text[at + width..].trim();
        let limit = match metric.kind() {
            Kind::Time => super::values::parse_duration(value, text)
                .map_err(|_| format!("`{text}`: `{value}` is not a duration such as 50ms or 2s"))?
                .as_nanos() as f64,
            Kind::Fraction => parse_fraction(value)
                .ok_or_else(|| format!("`{text}`: `{value}` is not a share such as 1% or 0.01"))?,
            Kind::Rate => value
                .strip_suffix("/s")
                .unwrap_or(value)
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v >= 0.0)
                .ok_or_else(|| format!("`{text}`: `{value}` is not a rate such as 200/s"))?,
        };
        Ok(Threshold {
            bench: bench.to_string(),
            text: text.trim().to_string(),
            metric,
            op,
            limit,
        })
    }

    fn applies_to(&self, id: &str) -> bool {
        super::values::covers(&self.bench, id)
    }

    fn show(&self, value: f64) -> String {
        match self.metric.kind() {
            Kind::Time => crate::export::format::duration_ns(value),
            Kind::Fraction => format!("{:.3} %", 100.0 * value),
            Kind::Rate => format!("{value:.1}/s"),
        }
    }
}

fn parse_fraction(value: &str) -> Option<f64> {
    let fraction = match value.strip_suffix('%') {
        Some(percent) => percent.trim().parse::<f64>().ok()? / 100.0,
        None => value.parse::<f64>().ok()?,
    };
    (0.0..=1.0).contains(&fraction).then_some(fraction)
}

/// What the thresholds found in one run.
#[derive(Debug, Default, PartialEq)]
pub struct Outcome {
    /// One line per broken threshold and point.
    pub broken: Vec<String>,
    /// Thresholds that matched no measured figure (a typo, a filtered-out bench, a metric the
    /// bench does not have).
    pub unmatched: Vec<String>,
    pub checked: usize,
}

pub fn check(results: &[BenchResult], thresholds: &[Threshold]) -> Outcome {
    let mut outcome = Outcome::default();
    for threshold in thresholds {
        let mut figures: Vec<(String, f64)> = Vec::new();
        for bench in results {
            if threshold.metric.is_cold() {
                if threshold.applies_to(&bench.id) {
                    figures.extend(
                        threshold
                            .metric
                            .of_cold_bench(bench)
                            .map(|v| (bench.id.clone(), v)),
                    );
                }
                continue;
            }
            for point in bench.points.iter().filter(|p| threshold.applies_to(&p.id)) {
                figures.extend(
                    threshold
                        .metric
                        .of_point(point)
                        .map(|v| (point.id.clone(), v)),
                );
            }
        }
        if figures.is_empty() {
            outcome.unmatched.push(format!(
                "{}: `{}` matched no measured figure",
                threshold.bench, threshold.text
            ));
        }
        for (id, value) in figures {
            outcome.checked += 1;
            if !threshold.op.holds(value, threshold.limit) {
                outcome.broken.push(format!(
                    "{id}: `{}` broken: measured {}",
                    threshold.text,
                    threshold.show(value)
                ));
            }
        }
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_parse_with_their_units() {
        let t = Threshold::parse("a/b", "p99 < 50ms").unwrap();
        assert_eq!((t.metric, t.op, t.limit), (Metric::P99, Op::Lt, 50e6));
        let t = Threshold::parse("a/b", "error_rate <= 1%").unwrap();
        assert_eq!((t.metric, t.op, t.limit), (Metric::ErrorRate, Op::Le, 0.01));
        let t = Threshold::parse("a/b", "throughput > 200/s").unwrap();
        assert_eq!(
            (t.metric, t.op, t.limit),
            (Metric::Throughput, Op::Gt, 200.0)
        );
        let t = Threshold::parse("a/b", "cold_overhead >= 2s").unwrap();
        assert_eq!(
            (t.metric, t.op, t.limit),
            (Metric::ColdOverhead, Op::Ge, 2e9)
        );
        let t = Threshold::parse("llm", "ttft_p99 < 500ms").unwrap();
        assert_eq!((t.metric, t.limit), (Metric::Ttft(Pick::P99), 500e6));
        let t = Threshold::parse("llm", "ttfo_p90 < 2s").unwrap();
        assert_eq!((t.metric, t.limit), (Metric::Ttfo(Pick::P90), 2e9));
        let t = Threshold::parse("llm", "tpot_p50 <= 20ms").unwrap();
        assert_eq!(t.metric, Metric::Itl(Pick::P50));
        let t = Threshold::parse("llm", "goodput > 95%").unwrap();
        assert_eq!((t.metric, t.limit), (Metric::Goodput, 0.95));
        let t = Threshold::parse("llm", "tokens_per_s >= 1000/s").unwrap();
        assert_eq!((t.metric, t.limit), (Metric::TokensPerSecond, 1000.0));
        assert_eq!(
            Threshold::parse("llm", "e2e_p99 < 2s").unwrap().metric,
            Metric::P99
        );
        for (bad, says) in [
            ("ttft_p98 < 1s", "unknown metric `ttft_p98`"),
            ("goodput > 2", "not a share"),
            ("p99 50ms", "expected `metric < limit`"),
            ("p98 < 50ms", "unknown metric `p98`"),
            ("p99 < fast", "not a duration"),
            ("error_rate < 150%", "not a share"),
            ("throughput > lots", "not a rate"),
        ] {
            let error = Threshold::parse("a/b", bad).unwrap_err();
            assert!(error.contains(says), "{bad}: {error}");
        }
    }

    #[test]
    fn a_threshold_applies_to_its_bench_and_the_points_under_it() {
        let t = Threshold::parse("serving/rest", "p99 < 1ms").unwrap();
        assert!(t.applies_to("serving/rest"));
        assert!(t.applies_to("serving/rest/c4"));
        assert!(!t.applies_to("serving/rest_binary/c4"));
    }
}
