//! Recommendations read off a run's results, each with the numbers behind it: the batch size to
//! serve with, the load level to run at (under a p99 SLO when one is set), cold-start advice when
//! the first call costs too much, results too noisy to trust, device timings that measured the
//! host's launch rate, and what held an LLM server back (its own metrics, read by name).

use std::time::Duration;

use crate::results::{AdviceKind as Kind, Recommendation};

use crate::export::format::{duration_ns, rate_of};
use crate::results::{BenchResult, LoadPoint, PointResult, ServerKind, ServerState};

/// What counts as too slow or too noisy (`[recommend]` in `model-bench.toml`).
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// The latency SLO a load level's p99 must stay under.
    pub slo_p99: Option<Duration>,
    /// Cold-start overhead (cold mean − warm median) above which preloading is advised.
    pub cold_overhead: Duration,
    /// IQR / median above which a point is flagged as noisy.
    pub noise_ratio: f64,
    /// Growth of the process's resident memory over one bench above which it is flagged.
    pub memory_growth_bytes: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            slo_p99: None,
            cold_overhead: Duration::from_secs(1),
            noise_ratio: 0.10,
            memory_growth_bytes: 64 << 20,
        }
    }
}

pub fn recommend(benches: &[BenchResult], settings: &Settings) -> Vec<Recommendation> {
    let mut out = Vec::new();
    for bench in benches {
        out.extend(best_batch(bench));
        out.extend(best_load(bench, settings));
        out.extend(cold_start(bench, settings));
        out.extend(memory_growth(bench, settings));
        out.extend(server_memory_growth(bench, settings));
        out.extend(saturation(bench));
        for point in &bench.points {
            out.extend(launch_bound(point));
            let (Some(iqr), median) = (point.sample.iqr, point.estimates.median.point) else {
                continue;
            };
            if median > 0.0 && iqr / median > settings.noise_ratio {
                out.push(Recommendation {
                    bench: point.id.clone(),
                    kind: Kind::Noise,
                    advice: "noisy: re-run on a quieter machine or with a longer measurement_time"
                        .into(),
                    evidence: format!(
                        "IQR {} is {:.0} % of the median {}",
                        duration_ns(iqr),
                        100.0 * iqr / median,
                        duration_ns(median)
                    ),
                });
            }
        }
    }
    out
}

/// A device-timed point whose host could not queue calls ahead of the device in most samples.
fn launch_bound(point: &PointResult) -> Option<Recommendation> {
    let timing = point.device_timing.as_ref()?;
    let samples = point.sample.samples;
    (samples > 0 && timing.launch_bound_samples * 2 > samples).then(|| Recommendation {
        bench: point.id.clone(),
        kind: Kind::LaunchBound,
        advice: "launch-bound: the device waited for the host, so its time includes idle gaps; \
                 give each call more work, launch with less host overhead, or replay a CUDA graph"
            .into(),
        evidence: format!(
            "in {} of {samples} samples the host took as long to queue the calls as the device \
             took to run them ({} per call on the device)",
            timing.launch_bound_samples,
            duration_ns(point.estimates.median.point)
        ),
    })
}

/// The process's resident memory grew over one bench by more than the limit. Not for a remote
/// bench on the in-process reference server: this process is then the client and the server, and
/// the server's model runtime allocates its working memory on its first requests, which is no
/// leak; a leak of either shows as the steady slope under load `server_memory_growth` looks for
/// in this process.
fn memory_growth(bench: &BenchResult, settings: &Settings) -> Option<Recommendation> {
    if bench
        .remote
        .as_ref()
        .is_some_and(|r| r.server == ServerKind::Reference)
    {
        return None;
    }
    let memory = bench.memory?;
    let growth = memory.growth_bytes();
    (growth > settings.memory_growth_bytes as i64).then(|| {
        let mib = |bytes: u64| bytes as f64 / (1u64 << 20) as f64;
        Recommendation {
            bench: bench.id.clone(),
            kind: Kind::Memory,
            advice: "memory grew: if it keeps growing with a longer measurement_time, look for a \
                     leak or a cache without a bound"
                .into(),
            evidence: format!(
                "resident memory {:.1} MiB before the bench, {:.1} MiB after (+{:.1} MiB, over \
                 the {:.0} MiB limit)",
                mib(memory.rss_before_bytes),
                mib(memory.rss_after_bytes),
                mib(growth as u64),
                mib(settings.memory_growth_bytes)
            ),
        }
    })
}

/// A watched server process whose memory grew steadily over a load point by more than the
/// memory limit: a leak shows as a slope.
fn server_memory_growth(bench: &BenchResult, settings: &Settings) -> Vec<Recommendation> {
    let mib = |bytes: f64| bytes / f64::from(1u32 << 20);
    let in_process = bench
        .remote
        .as_ref()
        .is_some_and(|r| r.server == ServerKind::Reference);
    bench
        .points
        .iter()
        .filter_map(|point| {
            let load = point.load.as_ref()?;
            // A watched server process, else the in-process reference server, which is this
            // process: the one watched as the client.
            let watched = load.processes.iter().find(|p| p.role == "server");
            let in_process = watched.is_none() && in_process;
            let server = watched.or_else(|| {
                in_process
                    .then(|| load.processes.iter().find(|p| p.role == "client"))
                    .flatten()
            })?;
            let slope = server.rss_slope_bytes_per_s?;
            let growth = slope * load.stats.elapsed_s;
            (growth > settings.memory_growth_bytes as f64).then(|| Recommendation {
                bench: point.id.clone(),
                kind: Kind::Memory,
                advice: if in_process {
                    "this process (the client and the in-process reference server) grew \
                     steadily under load: run a soak (a long `rate` level) to see whether it \
                     levels off or leaks"
                } else {
                    "the server's memory grew steadily under load: run a soak (a long `rate` \
                     level) to see whether it levels off or leaks"
                }
                .into(),
                evidence: format!(
                    "{} PID {} resident memory {:.1} → {:.1} MiB, a slope of {:+.1} MiB/s \
                     ({:+.1} MiB over {:.1} s, over the {:.0} MiB limit)",
                    if in_process { "process" } else { "server" },
                    server.pid,
                    mib(server.rss_first_bytes as f64),
                    mib(server.rss_last_bytes as f64),
                    mib(slope),
                    mib(growth),
                    load.stats.elapsed_s,
                    mib(settings.memory_growth_bytes as f64)
                ),
            })
        })
        .collect()
}

fn best_batch(bench: &BenchResult) -> Option<Recommendation> {
    let sweep = bench.sweep.as_ref()?;
    let best = sweep.best_batch?;
    let first = sweep.points.first()?;
    let at_best = sweep.points.iter().find(|p| p.batch == best)?;
    if sweep.points.len() < 2 {
        return None;
    }
    let mut evidence = if best == first.batch {
        // Batching does not pay: compare with the best of the larger sizes.
        let runner_up = sweep
            .points
            .iter()
            .filter(|p| p.batch != best)
            .max_by(|a, b| a.items_per_sec.total_cmp(&b.items_per_sec))?;
        format!(
            "{} at batch {best}; the best larger size, batch {}, gives {:.2}× that",
            rate_of(at_best.items_per_sec, "items"),
            runner_up.batch,
            runner_up.items_per_sec / at_best.items_per_sec
        )
    } else {
        format!(
            "{} at batch {best}, {:.2}× batch {}",
            rate_of(at_best.items_per_sec, "items"),
            at_best.items_per_sec / first.items_per_sec,
            first.batch
        )
    };
    if let Some(knee) = &sweep.knee {
        evidence.push_str(&format!(
            "; latency grows faster than throughput from batch {} to {}",
            knee.from_batch, knee.batch
        ));
    }
    Some(Recommendation {
        bench: bench.id.clone(),
        kind: Kind::Batch,
        advice: format!("serve with batch {best}"),
        evidence,
    })
}

/// KV-cache usage from which a server counts as memory-bound.
const KV_FULL: f64 = 0.95;
/// KV-cache usage under which waiting requests were not held by memory.
const KV_SPARE: f64 = 0.80;
/// The share of TTFT outside the server above which that is said.
const OUTSIDE_SHARE: f64 = 0.5;

/// What held an LLM server back at each level, from its own metrics (`server_state`): a full KV
/// cache with requests waiting (memory-bound, from the first level where it held on), requests
/// waiting with memory to spare (its batch limit), preemptions, or TTFT spent mostly outside
/// the server. Each verdict names the figures it rests on.
fn saturation(bench: &BenchResult) -> Vec<Recommendation> {
    let states: Vec<(String, &ServerState)> = bench
        .points
        .iter()
        .filter_map(|p| {
            let load = p.load.as_ref()?;
            Some((level(load), load.server_state.as_ref()?))
        })
        .collect();
    verdicts(&bench.id, &states)
}

/// [`saturation`]'s verdicts on each level's server state, in the levels' order.
fn verdicts(bench: &str, states: &[(String, &ServerState)]) -> Vec<Recommendation> {
    let mut out = Vec::new();
    let full = |state: &ServerState| {
        state.kv_cache_usage.is_some_and(|kv| kv.max >= KV_FULL)
            && state.waiting.is_some_and(|w| w.max >= 1.0)
    };
    if let Some(first) = states.iter().position(|(_, state)| full(state)) {
        let (at, state) = &states[first];
        let held_on = states[first..].iter().all(|(_, state)| full(state));
        let kv = state.kv_cache_usage.map_or(0.0, |kv| kv.max);
        let waiting = state.waiting.map_or(0.0, |w| w.max);
        let preempted = states[first..]
            .iter()
            .filter_map(|(_, s)| s.preemptions)
            .sum::<f64>();
        out.push(Recommendation {
            bench: bench.to_owned(),
            kind: Kind::Saturation,
            advice: format!(
                "the server is memory-bound {} {}: more KV cache (GPU memory, a smaller model \
                 or quantised KV) or fewer requests at once",
                if held_on { "from" } else { "at" },
                at
            ),
            evidence: format!(
                "KV cache full ({:.0} %) with {waiting:.0} requests waiting at {}; preemptions \
                 {preempted:.0}",
                kv * 100.0,
                at
            ),
        });
    }
    for (at, state) in states {
        let waited = state.waiting.map_or(0.0, |w| w.max);
        let kv = state.kv_cache_usage.map(|kv| kv.max);
        let queue = state.times.iter().find(|t| t.part == "queue");
        if let (Some(kv), Some(queue)) = (kv, queue) {
            if waited >= 1.0 && kv < KV_SPARE && !full(state) {
                out.push(Recommendation {
                    bench: bench.to_owned(),
                    kind: Kind::Saturation,
                    advice: format!(
                        "requests waited at {} with memory to spare: the server's batch limit \
                         (vLLM's max_num_seqs, TGI's max_batch_size) or its compute held them",
                        at
                    ),
                    evidence: format!(
                        "up to {waited:.0} waiting, queue {} per request, KV cache at most \
                         {:.0} %",
                        duration_ns(queue.mean_ns),
                        kv * 100.0
                    ),
                });
            }
        }
        if let Some(preempted) = state.preemptions.filter(|p| *p > 0.0) {
            if !full(state) {
                out.push(Recommendation {
                    bench: bench.to_owned(),
                    kind: Kind::Saturation,
                    advice: format!(
                        "the server preempted requests at {}: their KV cache was taken back \
                         and recomputed",
                        at
                    ),
                    evidence: format!("{preempted:.0} preemptions over the window"),
                });
            }
        }
        let outside = state.ttft_breakdown.as_ref().and_then(|b| {
            let part = b.parts.iter().find(|p| p.name.starts_with("outside"))?;
            (b.client_mean_ns > 0.0).then(|| (part.mean_ns / b.client_mean_ns, b))
        });
        if let Some((share, breakdown)) = outside.filter(|(share, _)| *share > OUTSIDE_SHARE) {
            out.push(Recommendation {
                bench: bench.to_owned(),
                kind: Kind::Saturation,
                advice: format!(
                    "most of TTFT at {} is outside the server: the network, a proxy, or the \
                     client",
                    at
                ),
                evidence: format!(
                    "{:.0} % of the mean TTFT {}",
                    share * 100.0,
                    duration_ns(breakdown.client_mean_ns)
                ),
            });
        }
    }
    out
}

fn level(load: &LoadPoint) -> String {
    match (load.concurrency, load.target_rate) {
        (Some(concurrency), _) => format!("concurrency {concurrency}"),
        (None, Some(rate_per_s)) => format!("{rate_per_s}/s"),
        _ => load.mode.as_str().to_owned(),
    }
}

fn best_load(bench: &BenchResult, settings: &Settings) -> Option<Recommendation> {
    let levels: Vec<(&LoadPoint, f64)> = bench
        .points
        .iter()
        .filter_map(|p| {
            let load = p.load.as_ref()?;
            Some((load, load.stats.latency.as_ref()?.p99))
        })
        .collect();
    if levels.len() < 2 {
        return None;
    }
    if let Some(advice) = best_goodput(bench, &levels) {
        return Some(advice);
    }
    let slo_ns = settings.slo_p99.map(|slo| slo.as_nanos() as f64);
    let best = levels
        .iter()
        .filter(|(load, p99)| load.stats.errors == 0 && slo_ns.is_none_or(|slo| *p99 <= slo))
        .max_by(|a, b| {
            a.0.stats
                .throughput_rps
                .total_cmp(&b.0.stats.throughput_rps)
        });
    let (advice, evidence) = match (best, slo_ns) {
        (Some((load, p99)), slo) => (
            format!("run at {}", level(load)),
            format!(
                "{} with p99 {}{}, the most of the levels{}",
                rate_of(load.stats.throughput_rps, "ok"),
                duration_ns(*p99),
                slo.map(|s| format!(" under the {} SLO", duration_ns(s)))
                    .unwrap_or_default(),
                if slo.is_some() {
                    " that kept it"
                } else {
                    " without errors"
                }
            ),
        ),
        (None, Some(slo)) => {
            let (load, p99) = levels.iter().min_by(|a, b| a.1.total_cmp(&b.1))?;
            (
                format!("no load level kept p99 under {}", duration_ns(slo)),
                format!(
                    "the lowest p99 was {} at {}",
                    duration_ns(*p99),
                    level(load)
                ),
            )
        }
        (None, None) => (
            "every load level had errors".into(),
            format!("{} levels measured", levels.len()),
        ),
    };
    Some(Recommendation {
        bench: bench.id.clone(),
        kind: Kind::Load,
        advice,
        evidence,
    })
}

/// Token streams with SLOs: the level with the most good requests per second (goodput), the
/// capacity an LLM server is planned by; `None` when the levels have no goodput.
fn best_goodput(bench: &BenchResult, levels: &[(&LoadPoint, f64)]) -> Option<Recommendation> {
    let goodput = |load: &LoadPoint| load.stats.stream.as_ref()?.goodput.clone();
    let (load, good) = levels
        .iter()
        .filter_map(|(load, _)| Some((*load, goodput(load)?)))
        .max_by(|a, b| a.1.rate_per_s.total_cmp(&b.1.rate_per_s))?;
    let advice = if good.good == 0 {
        "no load level met the SLOs".to_string()
    } else {
        format!("run at {}", level(load))
    };
    Some(Recommendation {
        bench: bench.id.clone(),
        kind: Kind::Load,
        advice,
        evidence: format!(
            "{} met every SLO ({:.1} % of requests), the most goodput of the levels",
            rate_of(good.rate_per_s, "good"),
            100.0 * good.share
        ),
    })
}

fn cold_start(bench: &BenchResult, settings: &Settings) -> Option<Recommendation> {
    let summary = bench.cold.as_ref()?.summary.as_ref()?;
    let overhead = summary.overhead_ns?;
    if overhead <= settings.cold_overhead.as_nanos() as f64 {
        return None;
    }
    Some(Recommendation {
        bench: bench.id.clone(),
        kind: Kind::Cold,
        advice: "preload at startup or keep an instance warm".into(),
        evidence: format!(
            "a fresh process takes {} (mean of {}) against {} warm: {} more{}",
            duration_ns(summary.mean_ns),
            summary.runs,
            summary.warm_median_ns.map(duration_ns).unwrap_or_default(),
            duration_ns(overhead),
            summary
                .overhead_pct
                .map(|pct| format!(" (+{pct:.0} %)"))
                .unwrap_or_default()
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grown(server: Option<&str>) -> BenchResult {
        let mut bench: BenchResult = serde_json::from_value(serde_json::json!({
            "id": "serving/rest", "name": "rest", "pipeline": "serving", "stage": "remote",
            "device": "cpu", "source": "benches/serving.rs:1", "status": "ok", "error": null,
            "points": [], "sweep": null, "cold": null,
            "memory": {"rss_before_bytes": 40u64 << 20, "rss_after_bytes": 140u64 << 20}
        }))
        .unwrap();
        bench.remote = server.map(|server| {
            serde_json::from_value(serde_json::json!({
                "protocol": "rest", "url": "http://127.0.0.1:1", "model": "m", "server": server
            }))
            .unwrap()
        });
        bench
    }

    fn state(kv_max: f64, waiting_max: f64, preemptions: f64) -> ServerState {
        serde_json::from_value(serde_json::json!({
            "server": "vLLM",
            "kv_cache_usage": {"mean": kv_max / 2.0, "max": kv_max},
            "waiting": {"mean": waiting_max / 2.0, "max": waiting_max},
            "preemptions": preemptions,
            "times": [{"part": "queue", "metric": "q", "count": 10.0, "mean_ns": 2e7}],
            "sources": {}
        }))
        .unwrap()
    }

    #[test]
    fn a_full_kv_cache_with_requests_waiting_is_memory_bound_from_where_it_held_on() {
        let (low, full, fuller) = (
            state(0.3, 0.0, 0.0),
            state(0.98, 40.0, 12.0),
            state(0.99, 80.0, 300.0),
        );
        let levels = [
            ("1/s".to_string(), &low),
            ("12/s".to_string(), &full),
            ("24/s".to_string(), &fuller),
        ];
        let advice = verdicts("llm/chat", &levels);
        assert_eq!(advice.len(), 1, "{advice:?}");
        assert!(
            advice[0].advice.contains("memory-bound from 12/s"),
            "{advice:?}"
        );
        assert_eq!(
            advice[0].evidence,
            "KV cache full (98 %) with 40 requests waiting at 12/s; preemptions 312"
        );
        // Waiting with memory to spare is the batch limit; preemptions alone are named.
        let spare = state(0.4, 8.0, 0.0);
        let advice = verdicts("llm/chat", &[("c16".to_string(), &spare)]);
        assert_eq!(advice.len(), 1, "{advice:?}");
        assert!(advice[0].advice.contains("memory to spare"), "{advice:?}");
        assert!(advice[0].evidence.contains("queue 20.00 ms"), "{advice:?}");
        let preempted = state(0.9, 0.0, 5.0);
        let advice = verdicts("llm/chat", &[("c16".to_string(), &preempted)]);
        assert_eq!(advice.len(), 1, "{advice:?}");
        assert!(advice[0].advice.contains("preempted"), "{advice:?}");
        // Nothing held the server back: no verdict.
        assert!(verdicts("llm/chat", &[("c1".to_string(), &low)]).is_empty());
    }

    #[test]
    fn memory_growth_is_not_blamed_on_the_client_when_the_server_runs_in_this_process() {
        let settings = Settings::default();
        let advice = memory_growth(&grown(Some("external")), &settings).expect("flagged");
        assert!(
            advice.evidence.contains("+100.0 MiB"),
            "{}",
            advice.evidence
        );
        assert!(memory_growth(&grown(None), &settings).is_some());
        assert_eq!(memory_growth(&grown(Some("reference")), &settings), None);
    }
}
