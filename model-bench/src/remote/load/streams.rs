//! A load point's token-stream figures, recorded per successful stream beside the recorder's
//! latency: time to first token from the intended and from the actual send, every gap between
//! text events, ITL per request, and token counts with their sources. Same histogram bounds as
//! every other latency the generator keeps, so workers' and members' figures add exactly. With
//! SLOs, each stream is also judged against them (goodput).

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use super::hdr::{histogram, nanos, percentiles, spectrum};
use crate::remote::llm::StreamRecord;
use crate::remote::scaleout::record::StreamCounts;
use crate::results::{Goodput, Slo, StreamStats};

/// The interval-log tags of the stream histograms: time to first token from the intended and
/// from the actual send, chunk gaps, and ITL per request.
pub const STREAM_TAGS: [&str; 4] = ["ttft", "ttft_service", "chunk_gap", "itl"];

/// What the successful streams of a run gave.
#[derive(Debug, Clone)]
pub struct StreamHistograms {
    /// Streams, tokens, sources and good streams: what adds as numbers.
    counts: StreamCounts,
    ttft: Histogram<u64>,
    ttft_service: Histogram<u64>,
    chunk_gap: Histogram<u64>,
    itl_per_request: Histogram<u64>,
}

impl Default for StreamHistograms {
    fn default() -> Self {
        StreamHistograms {
            counts: StreamCounts::default(),
            ttft: histogram(),
            ttft_service: histogram(),
            chunk_gap: histogram(),
            itl_per_request: histogram(),
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

    /// A scale-out merge's figures: the workers' counts added, and their histograms added from
    /// the interval logs' [`STREAM_TAGS`] (`histogram_of(tag)`; `None`, no stream gave one:
    /// empty).
    pub fn from_parts(
        counts: StreamCounts,
        histogram_of: impl Fn(&str) -> Option<Histogram<u64>>,
    ) -> Self {
        let mut figures = StreamHistograms {
            counts,
            ..StreamHistograms::default()
        };
        for (tag, slot) in figures.tagged_mut() {
            if let Some(histogram) = histogram_of(tag) {
                *slot = histogram;
            }
        }
        figures
    }

    /// Each histogram with its interval-log tag, in [`STREAM_TAGS`] order: what a scale-out
    /// worker logs per step and the merge adds back.
    pub fn tagged_mut(&mut self) -> impl Iterator<Item = (&'static str, &mut Histogram<u64>)> {
        let histograms = [
            &mut self.ttft,
            &mut self.ttft_service,
            &mut self.chunk_gap,
            &mut self.itl_per_request,
        ];
        STREAM_TAGS.into_iter().zip(histograms)
    }

    /// The counts (a scale-out worker's record carries them beside its interval log).
    pub fn counts(&self) -> &StreamCounts {
        &self.counts
    }

    /// One successful stream, intended at `intended` and sent at `sent` (its record's times
    /// run from `sent`).
    pub fn record(&mut self, intended: Instant, sent: Instant, stream: &StreamRecord) {
        self.counts.streams += 1;
        let lateness = sent.saturating_duration_since(intended);
        if self.meets_slo(lateness, stream) {
            self.counts.good += 1;
        }
        if let Some(ttft) = stream.ttft_ns {
            let ttft = Duration::from_nanos(ttft);
            let _ = self.ttft.record(nanos(lateness + ttft));
            let _ = self.ttft_service.record(nanos(ttft));
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

    /// Whether a stream sent `lateness` after its intended time met every objective: TTFT and
    /// E2E from the intended send, ITL per request. No token at all fails a TTFT objective.
    fn meets_slo(&self, lateness: Duration, stream: &StreamRecord) -> bool {
        let late = nanos(lateness);
        let within = |limit: Option<u64>, value: Option<u64>| match limit {
            None => true,
            Some(limit) => value.is_some_and(|value| value <= limit),
        };
        // A stream of fewer than two tokens has no ITL, and meets an ITL objective.
        let itl = stream
            .itl_per_request_ns()
            .map_or(0, |itl| itl.round() as u64);
        let slo = &self.counts.slo;
        within(slo.ttft_ns, stream.ttft_ns.map(|ttft| late + ttft))
            && within(slo.e2e_ns, Some(late + stream.e2e_ns))
            && within(slo.itl_ns, Some(itl))
    }

    /// Adds `other`'s streams into these (exact: the histograms share bounds).
    pub fn merge(&mut self, other: &StreamHistograms) {
        self.counts.add(&other.counts);
        let _ = self.ttft.add(&other.ttft);
        let _ = self.ttft_service.add(&other.ttft_service);
        let _ = self.chunk_gap.add(&other.chunk_gap);
        let _ = self.itl_per_request.add(&other.itl_per_request);
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
            ttft_spectrum: spectrum(&self.ttft),
            chunk_gap_spectrum: spectrum(&self.chunk_gap),
            goodput: counts.slo.is_set().then(|| Goodput {
                slo: counts.slo,
                good: counts.good,
                share: counts.good as f64 / requests.max(1) as f64,
                rate_per_s: counts.good as f64 / elapsed_s,
            }),
        }
    }
}
