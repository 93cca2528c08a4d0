//! An LLM server's state over a load point, read by name (`names.rs`) from the Prometheus
//! readings the scraper took during the window: its gauges averaged, its counters and time
//! histograms diffed from the first reading to the last, each figure with the metric it came
//! from. `breakdown.rs` then says where the client's TTFT and end-to-end time went, `energy.rs`
//! what each output token cost the GPUs.

pub mod breakdown;
pub mod energy;
pub mod names;

use std::collections::BTreeMap;

use names::{Figure, Server};

use super::prometheus::{Buckets, Reading};
use crate::results::{Level, ServerState, ServerTime, StateSample};

/// The server's state from `readings` (the scraper's, the window starting `window_start_s` into
/// them); `None` when no reading carries a known LLM server's names.
pub fn read(readings: &[Reading], window_start_s: f64) -> Option<ServerState> {
    let server = detect(readings)?;
    let (first, last) = (readings.first()?, readings.last()?);
    let window_s = last.at_s - first.at_s;
    let mut state = ServerState {
        server: server.name().into(),
        running: None,
        waiting: None,
        kv_cache_usage: None,
        preemptions: None,
        prefix_cache_hit_rate: None,
        spec_decode_acceptance: None,
        prompt_tokens_per_s: None,
        generation_tokens_per_s: None,
        requests: None,
        times: Vec::new(),
        sources: BTreeMap::new(),
        timeline: Vec::new(),
        ttft_breakdown: None,
        e2e_breakdown: None,
        agreement: Vec::new(),
        notes: Vec::new(),
    };
    let mut reader = Reader {
        server,
        readings,
        state: &mut state,
    };
    let running = reader.gauge(Figure::Running);
    let waiting = reader.gauge(Figure::Waiting);
    let kv = reader.gauge(Figure::KvUsage);
    let hit_rate = reader.gauge(Figure::PrefixHitRate);
    let accept_rate = reader.gauge(Figure::SpecAcceptRate);
    let preemptions = reader.counter(Figure::Preemptions);
    let queries = reader.counter(Figure::PrefixQueries);
    let hits = reader.counter(Figure::PrefixHits);
    let misses = reader.counter(Figure::PrefixMisses);
    let drafted = reader.counter(Figure::SpecDrafted);
    let accepted = reader.counter(Figure::SpecAccepted);
    let prompt = reader.counter(Figure::PromptTokens);
    let generated = reader.counter(Figure::GenerationTokens);
    let requests = reader.counter(Figure::Requests);
    let times: Vec<ServerTime> = [
        Figure::Ttft,
        Figure::Queue,
        Figure::Prefill,
        Figure::Decode,
        Figure::E2e,
        Figure::Itl,
    ]
    .into_iter()
    .filter_map(|figure| reader.time(figure))
    .collect();
    let per_s = |delta: Option<f64>| delta.filter(|_| window_s > 0.0).map(|d| d / window_s);
    state.running = level(&running);
    state.waiting = level(&waiting);
    state.kv_cache_usage = level(&kv);
    state.preemptions = preemptions;
    let queries = queries.or_else(|| Some(hits? + misses?));
    state.prefix_cache_hit_rate = match (queries, hits) {
        (Some(queries), Some(hits)) if queries > 0.0 => Some(hits / queries),
        _ => level(&hit_rate).map(|level| level.mean),
    };
    state.spec_decode_acceptance = match (drafted, accepted) {
        (Some(drafted), Some(accepted)) if drafted > 0.0 => Some(accepted / drafted),
        _ => level(&accept_rate).map(|level| level.mean),
    };
    state.prompt_tokens_per_s = per_s(prompt);
    state.generation_tokens_per_s = per_s(generated);
    state.requests = requests;
    state.times = times;
    state.timeline = readings
        .iter()
        .enumerate()
        .map(|(at, reading)| StateSample {
            t_s: reading.at_s - window_start_s,
            running: running.get(at).copied().flatten(),
            waiting: waiting.get(at).copied().flatten(),
            kv_cache_usage: kv.get(at).copied().flatten(),
        })
        .filter(|s| s.running.is_some() || s.waiting.is_some() || s.kv_cache_usage.is_some())
        .collect();
    Some(state)
}

/// The first known server (in [`Server::ALL`]'s order) any of whose names a reading carries.
fn detect(readings: &[Reading]) -> Option<Server> {
    Server::ALL.into_iter().find(|server| {
        names::NAMES
            .iter()
            .any(|n| n.server == *server && carried(readings, n.metric))
    })
}

/// Whether a reading has a sample or kept histogram of that name.
fn carried(readings: &[Reading], metric: &str) -> bool {
    readings.iter().any(|r| {
        let exposition = &r.exposition;
        exposition.samples.iter().any(|s| s.name == metric)
            || exposition.histograms.iter().any(|h| h.name == metric)
    })
}

fn level(values: &[Option<f64>]) -> Option<Level> {
    let present: Vec<f64> = values.iter().flatten().copied().collect();
    if present.is_empty() {
        return None;
    }
    Some(Level {
        mean: present.iter().sum::<f64>() / present.len() as f64,
        max: present.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    })
}

/// Reads one server's figures out of the readings, noting sources and problems on the state.
struct Reader<'a> {
    server: Server,
    readings: &'a [Reading],
    state: &'a mut ServerState,
}

impl Reader<'_> {
    /// The first of the figure's names whose sample `{name}{suffix}` a reading has.
    fn find(&self, figure: Figure, suffix: &str) -> Option<&'static str> {
        names::names_of(self.server, figure)
            .map(|name| name.metric)
            .find(|metric| carried(self.readings, &format!("{metric}{suffix}")))
    }

    /// Notes that `figure` was read from `metric`.
    fn source(&mut self, figure: Figure, metric: &str) {
        self.state
            .sources
            .insert(figure.key().into(), metric.into());
    }

    /// A gauge at each reading: its series summed (a count) or averaged (a fraction).
    fn gauge(&mut self, figure: Figure) -> Vec<Option<f64>> {
        let Some(metric) = self.find(figure, "") else {
            return Vec::new();
        };
        self.source(figure, metric);
        let average = matches!(
            figure,
            Figure::KvUsage | Figure::PrefixHitRate | Figure::SpecAcceptRate
        );
        self.readings
            .iter()
            .map(|reading| {
                let values: Vec<f64> = reading
                    .exposition
                    .samples
                    .iter()
                    .filter(|s| s.name == metric)
                    .map(|s| s.value)
                    .collect();
                if values.is_empty() {
                    return None;
                }
                let sum: f64 = values.iter().sum();
                Some(if average {
                    sum / values.len() as f64
                } else {
                    sum
                })
            })
            .collect()
    }

    /// A counter's increase over the window, its series added; `None` (and a note) when one of
    /// them went backwards between two readings: the server restarted, and its figure over this
    /// window cannot be known.
    fn counter(&mut self, figure: Figure) -> Option<f64> {
        let metric = self.find(figure, "")?;
        match increase(self.readings, metric) {
            Ok(delta) => {
                self.source(figure, metric);
                Some(delta)
            }
            Err(note) => {
                self.state.notes.push(note);
                None
            }
        }
    }

    /// A time histogram over the window: its count and sum diffed (seconds → ns), and its p90
    /// from the diffed buckets.
    fn time(&mut self, figure: Figure) -> Option<ServerTime> {
        let metric = self.find(figure, "_count")?;
        let count = increase(self.readings, &format!("{metric}_count"));
        let sum = increase(self.readings, &format!("{metric}_sum"));
        let (count, sum) = match (count, sum) {
            (Ok(count), Ok(sum)) => (count, sum),
            (Err(note), _) | (_, Err(note)) => {
                self.state.notes.push(note);
                return None;
            }
        };
        if count <= 0.0 {
            return None;
        }
        self.source(figure, metric);
        let buckets = |reading: Option<&Reading>| {
            reading.map(|r| summed_buckets(&r.exposition.histograms, metric))
        };
        let p90 = match (
            buckets(self.readings.first()),
            buckets(self.readings.last()),
        ) {
            (Some(first), Some(last)) => quantile(&diff_buckets(&first, &last), 0.9),
            _ => None,
        };
        Some(ServerTime {
            part: figure.key().into(),
            metric: metric.into(),
            count,
            mean_ns: sum / count * 1e9,
            p90_ns: p90.map(|seconds| seconds * 1e9),
        })
    }
}

/// How much a counter's series, added, rose from the first reading to the last; a series first
/// seen after the first reading was born in the window, from zero. An error when any series went
/// backwards between two readings.
fn increase(readings: &[Reading], metric: &str) -> Result<f64, String> {
    let mut last_seen: BTreeMap<&BTreeMap<String, String>, (f64, f64)> = BTreeMap::new();
    for (at, reading) in readings.iter().enumerate() {
        for sample in reading
            .exposition
            .samples
            .iter()
            .filter(|s| s.name == metric)
        {
            let born = if at == 0 { sample.value } else { 0.0 };
            let entry = last_seen
                .entry(&sample.labels)
                .or_insert((born, sample.value));
            if sample.value < entry.1 {
                return Err(format!(
                    "{metric} went backwards between two scrapes ({} → {}): the server \
                     restarted? its figures over this point are left out",
                    entry.1, sample.value
                ));
            }
            entry.1 = sample.value;
        }
    }
    Ok(last_seen.values().map(|(first, last)| last - first).sum())
}

/// A histogram's buckets in one reading, its series added bound by bound.
fn summed_buckets(histograms: &[Buckets], metric: &str) -> Vec<(f64, f64)> {
    let mut summed: Vec<(f64, f64)> = Vec::new();
    for histogram in histograms.iter().filter(|h| h.name == metric) {
        for &(bound, count) in &histogram.buckets {
            match summed.iter_mut().find(|(b, _)| *b == bound) {
                Some((_, total)) => *total += count,
                None => summed.push((bound, count)),
            }
        }
    }
    summed.sort_by(|a, b| a.0.total_cmp(&b.0));
    summed
}

/// The window's buckets: the last reading's cumulative counts less the first's.
fn diff_buckets(first: &[(f64, f64)], last: &[(f64, f64)]) -> Vec<(f64, f64)> {
    last.iter()
        .map(|&(bound, count)| {
            let before = first
                .iter()
                .find(|(b, _)| *b == bound)
                .map_or(0.0, |(_, c)| *c);
            (bound, (count - before).max(0.0))
        })
        .collect()
}

/// The `q` quantile of cumulative buckets, interpolated linearly inside its bucket, as
/// Prometheus's `histogram_quantile`; `None` without observations, or when it falls in the first
/// bucket (all that is known is that it is under its bound: vLLM's request-time buckets start at
/// 0.3 s, and interpolating from zero would make up a figure) or the open `+Inf` one.
pub fn quantile(buckets: &[(f64, f64)], q: f64) -> Option<f64> {
    let total = buckets.last()?.1;
    if total <= 0.0 {
        return None;
    }
    let rank = q * total;
    let mut lower: Option<(f64, f64)> = None;
    for &(bound, count) in buckets {
        if count >= rank {
            let lower = lower?;
            if bound.is_infinite() {
                return None;
            }
            let (lower_bound, lower_count) = lower;
            let inside = count - lower_count;
            if inside <= 0.0 {
                return Some(bound);
            }
            return Some(lower_bound + (bound - lower_bound) * (rank - lower_count) / inside);
        }
        lower = Some((bound, count));
    }
    None
}

#[cfg(test)]
mod tests;
