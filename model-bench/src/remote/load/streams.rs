//! A load point's token-stream figures, recorded per successful stream beside its latency:
//! time to first token from the intended and from the actual send, every gap between text
//! events, ITL per request, and token counts with their sources. Same histogram bounds as every
//! other latency the generator keeps, so workers' and members' figures add exactly. With SLOs,
//! each stream is also judged against them (goodput). A conversation's streams are also kept by
//! turn index (TTFT, input tokens, the cached share), and each conversation that ended by its
//! turns, its duration and whether every turn was good (session goodput).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use super::counts::{decode_into, encode};
use super::hdr::{histogram, nanos, percentiles, spectrum};
use crate::remote::client::Reply;
use crate::remote::error::RequestError;
use crate::remote::llm::StreamRecord;
use crate::results::{
    Goodput, PrefixCacheStats, ReasoningStats, SessionStats, Slo, StreamStats, TurnStats,
};

/// The most turn indices a point keeps figures for (a conversation's later turns are still
/// counted in the point's own figures).
const MAX_TURNS: usize = 256;

/// The interval-log tags of the stream histograms: time to first token from the intended and
/// from the actual send, chunk gaps, ITL per request, time to the first answer token, and time
/// to first token of the streams whose prompt hit and missed the server's prefix cache.
pub const STREAM_TAGS: [&str; 7] = [
    "ttft",
    "ttft_service",
    "chunk_gap",
    "itl",
    "ttfo",
    "ttft_hit",
    "ttft_miss",
];

/// A worker's token streams over its window, as numbers: with the stream histograms of its
/// interval log ([`STREAM_TAGS`]), all its stream figures are made of these, and workers' add
/// exactly.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StreamCounts {
    /// Successful streams.
    pub streams: u64,
    /// Their output tokens.
    pub output_tokens: u64,
    /// Their input tokens, of the streams that reported them.
    pub input_tokens: u64,
    /// Streams that reported input tokens.
    pub with_input: u64,
    /// Over streams, each stream's output tokens per second, added.
    pub per_stream_rate_sum: f64,
    /// Streams by where their output token count came from.
    pub token_sources: BTreeMap<String, u64>,
    /// Streams by where their input token count came from.
    pub input_token_sources: BTreeMap<String, u64>,
    /// Streams that reasoned.
    #[serde(default)]
    pub with_reasoning: u64,
    /// Their reasoning tokens.
    #[serde(default)]
    pub reasoning_tokens: u64,
    /// Streams that reasoned by where their reasoning token count came from.
    #[serde(default)]
    pub reasoning_token_sources: BTreeMap<String, u64>,
    /// Streams whose server said how much of the prompt its prefix cache held.
    #[serde(default)]
    pub cache_reports: u64,
    /// Their prompt tokens.
    #[serde(default)]
    pub cache_prompt_tokens: u64,
    /// Of those, the cached ones.
    #[serde(default)]
    pub cached_tokens: u64,
    /// Those streams with at least one cached token.
    #[serde(default)]
    pub cache_hits: u64,
    /// The objectives streams were judged against.
    pub slo: Slo,
    /// Streams that met every objective.
    pub good: u64,
}

impl StreamCounts {
    /// `other` added to these (the objectives are the run's, equal on every worker).
    pub fn add(&mut self, other: &StreamCounts) {
        // Saturating: a worker's counts come from a file.
        self.streams = self.streams.saturating_add(other.streams);
        self.output_tokens = self.output_tokens.saturating_add(other.output_tokens);
        self.input_tokens = self.input_tokens.saturating_add(other.input_tokens);
        self.with_input = self.with_input.saturating_add(other.with_input);
        self.per_stream_rate_sum += other.per_stream_rate_sum;
        self.good = self.good.saturating_add(other.good);
        self.with_reasoning = self.with_reasoning.saturating_add(other.with_reasoning);
        self.reasoning_tokens = self.reasoning_tokens.saturating_add(other.reasoning_tokens);
        self.cache_reports = self.cache_reports.saturating_add(other.cache_reports);
        self.cache_prompt_tokens = self
            .cache_prompt_tokens
            .saturating_add(other.cache_prompt_tokens);
        self.cached_tokens = self.cached_tokens.saturating_add(other.cached_tokens);
        self.cache_hits = self.cache_hits.saturating_add(other.cache_hits);
        for (sources, theirs) in [
            (&mut self.token_sources, &other.token_sources),
            (&mut self.input_token_sources, &other.input_token_sources),
            (
                &mut self.reasoning_token_sources,
                &other.reasoning_token_sources,
            ),
        ] {
            for (source, count) in theirs {
                let total = sources.entry(source.clone()).or_default();
                *total = total.saturating_add(*count);
            }
        }
        if !self.slo.is_set() {
            self.slo = other.slo;
        }
    }
}

/// What the successful streams of a run gave. Its counts are serialised with a point's tally;
/// its histograms travel in a worker's interval log.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StreamHistograms {
    /// Streams, tokens, sources and good streams: what adds as numbers.
    counts: StreamCounts,
    #[serde(skip, default = "histogram")]
    ttft: Histogram<u64>,
    #[serde(skip, default = "histogram")]
    ttft_service: Histogram<u64>,
    #[serde(skip, default = "histogram")]
    chunk_gap: Histogram<u64>,
    #[serde(skip, default = "histogram")]
    itl_per_request: Histogram<u64>,
    #[serde(skip, default = "histogram")]
    ttfo: Histogram<u64>,
    #[serde(skip, default = "histogram")]
    ttft_hit: Histogram<u64>,
    #[serde(skip, default = "histogram")]
    ttft_miss: Histogram<u64>,
    /// Multi-turn sessions: the streams of each turn index, in order (their histograms
    /// travel in the record, encoded: a run has a handful of turn indices, not one per step).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    turns: Vec<TurnFigures>,
    /// Multi-turn sessions: the conversations that ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sessions: Option<SessionFigures>,
}

/// The conversations that ended: counts and their durations.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SessionFigures {
    sessions: u64,
    completed: u64,
    good: u64,
    turns: u64,
    #[serde(
        serialize_with = "serialize_histogram",
        deserialize_with = "deserialize_histogram"
    )]
    duration: Histogram<u64>,
}

impl SessionFigures {
    fn add(&mut self, other: &SessionFigures) {
        self.sessions = self.sessions.saturating_add(other.sessions);
        self.completed = self.completed.saturating_add(other.completed);
        self.good = self.good.saturating_add(other.good);
        self.turns = self.turns.saturating_add(other.turns);
        let _ = self.duration.add(&other.duration);
    }
}

/// One conversation as it ended.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SessionOutcome {
    /// Turns sent.
    pub turns: u32,
    /// Every turn answered.
    pub completed: bool,
    /// Completed, and every turn met every objective.
    pub good: bool,
    /// From the first turn's intended send to the last turn's end.
    pub duration: Duration,
}

/// One user's conversation as a load loop sees it, turn by turn.
#[derive(Debug, Default)]
pub struct ConversationTracker {
    start: Option<Instant>,
    turns: u32,
    missed: bool,
}

impl ConversationTracker {
    /// One turn came back (its intended, send and end times, its outcome), judged against
    /// `slo`; `goes_on` when the conversation has another turn. Once the conversation ended
    /// (its last turn answered, or this one failed): its first turn's intended time and its
    /// outcome, and the tracker is ready for the next conversation.
    pub fn turn(
        &mut self,
        slo: &Slo,
        (intended, sent, done): (Instant, Instant, Instant),
        outcome: &Result<Reply, RequestError>,
        goes_on: bool,
    ) -> Option<(Instant, SessionOutcome)> {
        let start = *self.start.get_or_insert(intended);
        self.turns += 1;
        let met = match outcome {
            Ok(Some(stream)) => meets_slo(slo, sent.saturating_duration_since(intended), stream),
            Ok(None) => true,
            Err(_) => false,
        };
        self.missed |= !met;
        if goes_on && outcome.is_ok() {
            return None;
        }
        let ended = SessionOutcome {
            turns: self.turns,
            completed: outcome.is_ok(),
            good: outcome.is_ok() && !self.missed,
            duration: done.saturating_duration_since(start),
        };
        *self = ConversationTracker::default();
        Some((start, ended))
    }
}

/// The streams of one turn index.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct TurnFigures {
    streams: u64,
    /// Their input tokens, of the streams whose were known.
    input_tokens: u64,
    with_input: u64,
    /// Of the streams whose server reported its cache: their prompt tokens and the cached ones.
    cache_prompt_tokens: u64,
    cached_tokens: u64,
    /// Time to first token from the intended send.
    #[serde(
        serialize_with = "serialize_histogram",
        deserialize_with = "deserialize_histogram"
    )]
    ttft: Histogram<u64>,
}

impl Default for TurnFigures {
    fn default() -> Self {
        TurnFigures {
            streams: 0,
            input_tokens: 0,
            with_input: 0,
            cache_prompt_tokens: 0,
            cached_tokens: 0,
            ttft: histogram(),
        }
    }
}

impl TurnFigures {
    fn add(&mut self, other: &TurnFigures) {
        self.streams = self.streams.saturating_add(other.streams);
        self.input_tokens = self.input_tokens.saturating_add(other.input_tokens);
        self.with_input = self.with_input.saturating_add(other.with_input);
        self.cache_prompt_tokens = self
            .cache_prompt_tokens
            .saturating_add(other.cache_prompt_tokens);
        self.cached_tokens = self.cached_tokens.saturating_add(other.cached_tokens);
        let _ = self.ttft.add(&other.ttft);
    }

    fn summarize(&self, turn: u32) -> TurnStats {
        TurnStats {
            turn,
            streams: self.streams,
            ttft: percentiles(&self.ttft),
            input_tokens_mean: (self.with_input > 0)
                .then(|| self.input_tokens as f64 / self.with_input as f64),
            cached_share: (self.cache_prompt_tokens > 0)
                .then(|| self.cached_tokens as f64 / self.cache_prompt_tokens as f64),
        }
    }
}

fn serialize_histogram<S: serde::Serializer>(
    histogram: &Histogram<u64>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::Error as _;
    serializer.serialize_str(&encode(histogram).map_err(S::Error::custom)?)
}

fn deserialize_histogram<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Histogram<u64>, D::Error> {
    use serde::de::Error as _;
    let text = String::deserialize(deserializer)?;
    let mut into = histogram();
    decode_into(&text, &mut into, "a turn's TTFT histogram").map_err(D::Error::custom)?;
    Ok(into)
}

impl Default for StreamHistograms {
    fn default() -> Self {
        StreamHistograms {
            counts: StreamCounts::default(),
            ttft: histogram(),
            ttft_service: histogram(),
            chunk_gap: histogram(),
            itl_per_request: histogram(),
            ttfo: histogram(),
            ttft_hit: histogram(),
            ttft_miss: histogram(),
            turns: Vec::new(),
            sessions: None,
        }
    }
}

impl StreamHistograms {
    /// Empty figures whose streams are judged against `slo`.
    pub fn with_slo(slo: Slo) -> Self {
        let mut empty = StreamHistograms::default();
        empty.counts.slo = slo;
        empty
    }

    /// Each histogram with its interval-log tag, in [`STREAM_TAGS`] order: what a scale-out
    /// worker logs per step and the merge adds back.
    pub fn tagged_mut(&mut self) -> impl Iterator<Item = (&'static str, &mut Histogram<u64>)> {
        let histograms = [
            &mut self.ttft,
            &mut self.ttft_service,
            &mut self.chunk_gap,
            &mut self.itl_per_request,
            &mut self.ttfo,
            &mut self.ttft_hit,
            &mut self.ttft_miss,
        ];
        STREAM_TAGS.into_iter().zip(histograms)
    }

    /// The counts (a scale-out worker's record carries them beside its interval log).
    pub fn counts(&self) -> &StreamCounts {
        &self.counts
    }

    /// One successful stream, sent `lateness` after its intended time (its record's times run
    /// from the send).
    pub fn record(&mut self, lateness: Duration, stream: &StreamRecord) {
        if let Some(turn) = stream.turn {
            self.record_turn(turn, lateness, stream);
        }
        self.counts.streams += 1;
        if self.meets_slo(lateness, stream) {
            self.counts.good += 1;
        }
        if let Some(ttft) = stream.ttft_ns {
            let ttft = Duration::from_nanos(ttft);
            let _ = self.ttft.record(nanos(lateness + ttft));
            let _ = self.ttft_service.record(nanos(ttft));
            let by_cache = match stream.cached_prompt_tokens {
                Some(0) => Some(&mut self.ttft_miss),
                Some(_) => Some(&mut self.ttft_hit),
                None => None,
            };
            if let Some(histogram) = by_cache {
                let _ = histogram.record(nanos(lateness + ttft));
            }
        }
        if let Some(cached) = stream.cached_prompt_tokens {
            let counts = &mut self.counts;
            counts.cache_reports += 1;
            counts.cached_tokens += cached;
            counts.cache_prompt_tokens += stream.prompt_tokens.unwrap_or(cached);
            counts.cache_hits += u64::from(cached > 0);
        }
        if let Some(ttfo) = stream.ttfo_ns {
            let _ = self
                .ttfo
                .record(nanos(lateness + Duration::from_nanos(ttfo)));
        }
        if let Some((tokens, source)) = stream.reasoning_tokens {
            let counts = &mut self.counts;
            counts.with_reasoning += 1;
            counts.reasoning_tokens += tokens;
            *counts
                .reasoning_token_sources
                .entry(source.key().to_owned())
                .or_default() += 1;
        }
        for &gap in &stream.chunk_gaps_ns {
            // A gap of zero (two events in one read) is recorded as the smallest value.
            let _ = self.chunk_gap.record(nanos(Duration::from_nanos(gap)));
        }
        if let Some(itl) = stream.itl_per_request_ns() {
            let _ = self
                .itl_per_request
                .record(nanos(Duration::from_nanos(itl.round() as u64)));
        }
        self.counts.output_tokens += stream.output_tokens;
        // Input tokens: the server's count when it gave one, else the client's.
        let (input, source) = match (stream.prompt_tokens, stream.counted_prompt_tokens) {
            (Some(input), _) => (Some(input), "usage"),
            (None, Some(input)) => (Some(input), "counted"),
            (None, None) => (None, ""),
        };
        if let Some(input) = input {
            self.counts.input_tokens += input;
            self.counts.with_input += 1;
            *self
                .counts
                .input_token_sources
                .entry(source.to_owned())
                .or_default() += 1;
        }
        let seconds = Duration::from_nanos(stream.e2e_ns.max(1)).as_secs_f64();
        self.counts.per_stream_rate_sum += stream.output_tokens as f64 / seconds;
        *self
            .counts
            .token_sources
            .entry(stream.token_source.key().to_owned())
            .or_default() += 1;
    }

    /// A conversation's stream into its turn index's figures (turn indices past a bound a
    /// run can reach are left out, so a hostile count cannot grow the list).
    fn record_turn(&mut self, turn: u32, lateness: Duration, stream: &StreamRecord) {
        let Some(index) = usize::try_from(turn).ok().filter(|&i| i < MAX_TURNS) else {
            return;
        };
        if self.turns.len() <= index {
            self.turns.resize_with(index + 1, TurnFigures::default);
        }
        let figures = &mut self.turns[index];
        figures.streams += 1;
        if let Some(ttft) = stream.ttft_ns {
            let _ = figures
                .ttft
                .record(nanos(lateness + Duration::from_nanos(ttft)));
        }
        if let Some(input) = stream.prompt_tokens.or(stream.counted_prompt_tokens) {
            figures.input_tokens += input;
            figures.with_input += 1;
        }
        if let Some(cached) = stream.cached_prompt_tokens {
            figures.cached_tokens += cached;
            figures.cache_prompt_tokens += stream.prompt_tokens.unwrap_or(cached);
        }
    }

    /// Whether a stream sent `lateness` after its intended time met this run's objectives.
    fn meets_slo(&self, lateness: Duration, stream: &StreamRecord) -> bool {
        meets_slo(&self.counts.slo, lateness, stream)
    }

    /// One conversation that ended, its first turn intended inside the window.
    pub fn record_session(&mut self, outcome: &SessionOutcome) {
        let figures = self.sessions.get_or_insert_with(|| SessionFigures {
            sessions: 0,
            completed: 0,
            good: 0,
            turns: 0,
            duration: histogram(),
        });
        figures.sessions += 1;
        figures.completed += u64::from(outcome.completed);
        figures.good += u64::from(outcome.good);
        figures.turns += u64::from(outcome.turns);
        let _ = figures.duration.record(nanos(outcome.duration));
    }

    /// Adds `other`'s streams into these (exact: the histograms share bounds).
    pub fn add(&mut self, other: &StreamHistograms) {
        self.counts.add(&other.counts);
        let _ = self.ttft.add(&other.ttft);
        let _ = self.ttft_service.add(&other.ttft_service);
        let _ = self.chunk_gap.add(&other.chunk_gap);
        let _ = self.itl_per_request.add(&other.itl_per_request);
        let _ = self.ttfo.add(&other.ttfo);
        let _ = self.ttft_hit.add(&other.ttft_hit);
        let _ = self.ttft_miss.add(&other.ttft_miss);
        let turns = other.turns.len().min(MAX_TURNS);
        if self.turns.len() < turns {
            self.turns.resize_with(turns, TurnFigures::default);
        }
        for (mine, theirs) in self.turns.iter_mut().zip(&other.turns) {
            mine.add(theirs);
        }
        match (&mut self.sessions, &other.sessions) {
            (Some(mine), Some(theirs)) => mine.add(theirs),
            (mine @ None, Some(theirs)) => *mine = Some(theirs.clone()),
            _ => {}
        }
    }

    /// The figures, with rates over `elapsed_s`, the run's measured span; goodput's share is
    /// over `requests`, every arrival of the window (failed and dropped ones never count as
    /// good).
    pub fn summarize(&self, elapsed_s: f64, requests: u64) -> StreamStats {
        let counts = &self.counts;
        let streams = counts.streams.max(1) as f64;
        let elapsed_s = elapsed_s.max(1e-9);
        let input_tokens = (counts.with_input > 0).then_some(counts.input_tokens);
        StreamStats {
            streams: counts.streams,
            ttft: percentiles(&self.ttft),
            ttft_service: percentiles(&self.ttft_service),
            ttfo: percentiles(&self.ttfo),
            chunk_gap: percentiles(&self.chunk_gap),
            itl_per_request: percentiles(&self.itl_per_request),
            output_tokens: counts.output_tokens,
            output_tokens_mean: counts.output_tokens as f64 / streams,
            output_tokens_per_s: counts.output_tokens as f64 / elapsed_s,
            output_tokens_per_s_per_stream: counts.per_stream_rate_sum / streams,
            input_tokens,
            input_tokens_per_s: input_tokens.map(|tokens| tokens as f64 / elapsed_s),
            token_sources: counts.token_sources.clone(),
            input_token_sources: counts.input_token_sources.clone(),
            prefix_cache: (counts.cache_reports > 0).then(|| PrefixCacheStats {
                streams: counts.cache_reports,
                hits: counts.cache_hits,
                prompt_tokens: counts.cache_prompt_tokens,
                cached_tokens: counts.cached_tokens,
                cached_share: counts.cached_tokens as f64
                    / counts.cache_prompt_tokens.max(1) as f64,
                ttft_hit: percentiles(&self.ttft_hit),
                ttft_miss: percentiles(&self.ttft_miss),
            }),
            reasoning: (counts.with_reasoning > 0).then(|| ReasoningStats {
                streams: counts.with_reasoning,
                tokens: counts.reasoning_tokens,
                tokens_mean: counts.reasoning_tokens as f64 / counts.with_reasoning as f64,
                token_sources: counts.reasoning_token_sources.clone(),
            }),
            ttft_spectrum: spectrum(&self.ttft),
            chunk_gap_spectrum: spectrum(&self.chunk_gap),
            goodput: counts.slo.is_set().then(|| Goodput {
                slo: counts.slo,
                good: counts.good,
                share: counts.good as f64 / requests.max(1) as f64,
                rate_per_s: counts.good as f64 / elapsed_s,
            }),
            turns: (1..)
                .zip(&self.turns)
                .map(|(turn, figures)| figures.summarize(turn))
                .collect(),
            sessions: self.sessions.as_ref().map(|figures| SessionStats {
                sessions: figures.sessions,
                completed: figures.completed,
                good: figures.good,
                good_share: figures.good as f64 / figures.sessions.max(1) as f64,
                good_rate_per_s: figures.good as f64 / elapsed_s,
                turns_mean: figures.turns as f64 / figures.sessions.max(1) as f64,
                duration: percentiles(&figures.duration),
            }),
        }
    }
}

/// Whether a stream sent `lateness` after its intended time met every objective of `slo`:
/// TTFT, TTFO and E2E from the intended send, ITL per request. No token at all fails a TTFT
/// objective; a stream of fewer than two tokens has no ITL and meets an ITL objective.
fn meets_slo(slo: &Slo, lateness: Duration, stream: &StreamRecord) -> bool {
    let late = nanos(lateness);
    let within = |limit: Option<u64>, value: Option<u64>| match limit {
        None => true,
        Some(limit) => value.is_some_and(|value| value <= limit),
    };
    let itl = stream
        .itl_per_request_ns()
        .map_or(0, |itl| itl.round() as u64);
    within(slo.ttft_ns, stream.ttft_ns.map(|ttft| late + ttft))
        && within(slo.ttfo_ns, stream.ttfo_ns.map(|ttfo| late + ttfo))
        && within(slo.e2e_ns, Some(late + stream.e2e_ns))
        && within(slo.itl_ns, Some(itl))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remote::llm::TokenSource;

    fn turn_stream(turn: u32, ttft_ms: u64, prompt: u64, cached: u64) -> StreamRecord {
        StreamRecord {
            ttft_ns: Some(ttft_ms * 1_000_000),
            ttfo_ns: Some(ttft_ms * 1_000_000),
            e2e_ns: (ttft_ms + 10) * 1_000_000,
            chunk_gaps_ns: Vec::new(),
            content_events: 1,
            reasoning_events: 0,
            output_tokens: 1,
            token_source: TokenSource::Usage,
            reasoning_tokens: None,
            prompt_tokens: Some(prompt),
            cached_prompt_tokens: Some(cached),
            counted_prompt_tokens: None,
            finish_reason: Some("stop".into()),
            comments: 0,
            answer: None,
            turn: Some(turn),
        }
    }

    #[test]
    fn turn_figures_travel_in_a_record_and_add_exactly() {
        let mut one = StreamHistograms::default();
        one.record(Duration::ZERO, &turn_stream(0, 20, 32, 0));
        one.record(Duration::ZERO, &turn_stream(1, 30, 72, 32));
        let mut two = StreamHistograms::default();
        two.record(Duration::ZERO, &turn_stream(1, 40, 72, 64));
        two.record(Duration::from_millis(1), &turn_stream(2, 50, 112, 64));
        let json = serde_json::to_string(&two).unwrap();
        let mut back: StreamHistograms = serde_json::from_str(&json).unwrap();
        back.tagged_mut()
            .zip(two.clone().tagged_mut())
            .for_each(|((_, mine), (_, theirs))| *mine = theirs.clone());
        let mut merged = one.clone();
        merged.add(&back);
        let mut whole = one;
        whole.add(&two);
        let (merged, whole) = (merged.summarize(1.0, 4), whole.summarize(1.0, 4));
        assert_eq!(
            merged.turns, whole.turns,
            "the record's turns are the run's"
        );
        let turns = whole.turns;
        assert_eq!(turns.len(), 3);
        assert_eq!(turns[1].streams, 2);
        assert_eq!(turns[1].input_tokens_mean, Some(72.0));
        assert_eq!(turns[1].cached_share, Some(96.0 / 144.0));
        assert!(
            (turns[2].ttft.unwrap().min - 51e6).abs() < 51e3,
            "from the intended send"
        );
        // A record's histogram of another shape is refused.
        let bad = json.replace("\"ttft\":\"", "\"ttft\":\"AAAA");
        assert!(serde_json::from_str::<StreamHistograms>(&bad).is_err());
    }
}
