//! Token streams (OpenAI-compatible endpoints): per load point, time to first token, the gaps
//! between chunks and ITL per request, and output tokens per second overall and per stream,
//! with where the token counts came from, end-to-end latency and goodput; for reasoning models,
//! the time to the first answer token and the thinking's tokens; where the server reports its
//! prefix cache, the cached share and TTFT with and without a hit; for multi-turn sessions, the
//! same by turn index; and per LLM bench, the prompts it sent.

use std::collections::BTreeMap;

use super::cells::{load_label, loads};
use super::table::Table;
use crate::export::format::{duration_ns, rate};
use crate::results::{LoadPoint, Percentiles, Report, StreamStats};

/// Every load point of `report` that streamed tokens: its id, its load and its streams'
/// figures. Each table below picks what it shows from these.
fn stream_points(report: &Report) -> impl Iterator<Item = (&String, &LoadPoint, &StreamStats)> {
    report.benches.iter().flat_map(|bench| {
        loads(bench).filter_map(|(id, load)| Some((id, load, load.stats.stream.as_ref()?)))
    })
}

/// Where counts came from, `source ×count` each.
fn sources(counts: &BTreeMap<String, u64>) -> String {
    let counts: Vec<String> = counts
        .iter()
        .map(|(source, count)| format!("{source} ×{count}"))
        .collect();
    counts.join(", ")
}

pub(super) fn token_streams(report: &Report) -> Vec<Table> {
    let mut table = Table::new(
        "Token streams (TTFT from the intended send time; chunk gap = vLLM's ITL, ITL/request = aiperf's ITL and vLLM's TPOT)",
        &[
            "point", "load", "streams", "TTFT p50", "TTFT p90", "TTFT p99", "gap p50", "gap p99",
            "ITL/req p50", "ITL/req p99", "E2E p50", "E2E p99", "tokens/s", "tokens/s/stream",
            "tokens/stream", "token count", "goodput",
        ],
    );
    for (id, load, stream) in stream_points(report) {
        table.rows.push(vec![
            id.clone(),
            load_label(load),
            stream.streams.to_string(),
            cell(&stream.ttft, |p| p.p50),
            cell(&stream.ttft, |p| p.p90),
            cell(&stream.ttft, |p| p.p99),
            cell(&stream.chunk_gap, |p| p.p50),
            cell(&stream.chunk_gap, |p| p.p99),
            cell(&stream.itl_per_request, |p| p.p50),
            cell(&stream.itl_per_request, |p| p.p99),
            cell(&load.stats.latency, |p| p.p50),
            cell(&load.stats.latency, |p| p.p99),
            rate(stream.output_tokens_per_s),
            rate(stream.output_tokens_per_s_per_stream),
            format!("{:.1}", stream.output_tokens_mean),
            sources(&stream.token_sources),
            stream
                .goodput
                .as_ref()
                .map(|good| format!("{:.1} % ({})", 100.0 * good.share, rate(good.rate_per_s)))
                .unwrap_or_else(|| "-".into()),
        ]);
    }
    vec![
        table,
        reasoning(report),
        prefix_cache(report),
        turns(report),
        sessions(report),
        prompts(report),
    ]
}

/// A time cell of `figures` at `pick`, or `-`.
fn cell(figures: &Option<Percentiles>, pick: fn(&Percentiles) -> f64) -> String {
    figures
        .as_ref()
        .map(|figures| duration_ns(pick(figures)))
        .unwrap_or_else(|| "-".into())
}

/// The points whose server reported its prefix cache: the cached share of the prompt tokens,
/// and time to first token with a hit against without one.
fn prefix_cache(report: &Report) -> Table {
    let mut table = Table::new(
        "Prefix cache (the server's `cached_tokens`; TTFT from the intended send time)",
        &[
            "point",
            "load",
            "streams with a hit",
            "cached share",
            "TTFT hit p50",
            "TTFT hit p99",
            "TTFT miss p50",
            "TTFT miss p99",
        ],
    );
    for (id, load, stream) in stream_points(report) {
        let Some(cache) = &stream.prefix_cache else {
            continue;
        };
        table.rows.push(vec![
            id.clone(),
            load_label(load),
            format!("{} of {}", cache.hits, cache.streams),
            format!("{:.1} %", 100.0 * cache.cached_share),
            cell(&cache.ttft_hit, |p| p.p50),
            cell(&cache.ttft_hit, |p| p.p99),
            cell(&cache.ttft_miss, |p| p.p50),
            cell(&cache.ttft_miss, |p| p.p99),
        ]);
    }
    table
}

/// Session benches: each turn index's streams, TTFT, input tokens (the conversation so far)
/// and the cached share, where a later turn's history shows in the server's prefix cache.
fn turns(report: &Report) -> Table {
    let mut table = Table::new(
        "Turns of multi-turn sessions (TTFT from the intended send time; input = the conversation so far)",
        &[
            "point", "load", "turn", "streams", "TTFT p50", "TTFT p99", "input tokens/stream",
            "cached share",
        ],
    );
    for (id, load, stream) in stream_points(report) {
        for turn in &stream.turns {
            table.rows.push(vec![
                id.clone(),
                load_label(load),
                turn.turn.to_string(),
                turn.streams.to_string(),
                cell(&turn.ttft, |p| p.p50),
                cell(&turn.ttft, |p| p.p99),
                turn.input_tokens_mean
                    .map_or_else(|| "-".into(), |mean| format!("{mean:.1}")),
                turn.cached_share
                    .map_or_else(|| "-".into(), |share| format!("{:.1} %", 100.0 * share)),
            ]);
        }
    }
    table
}

/// Session benches: the conversations that ended, how many were completed and good (every
/// turn within the objectives), their turns and their duration.
fn sessions(report: &Report) -> Table {
    let mut table = Table::new(
        "Sessions (conversations that ended in the window; good = every turn answered within the objectives)",
        &[
            "point", "load", "sessions", "completed", "good", "good/s", "turns/session",
            "duration p50", "duration p99",
        ],
    );
    for (id, load, stream) in stream_points(report) {
        let Some(sessions) = &stream.sessions else {
            continue;
        };
        table.rows.push(vec![
            id.clone(),
            load_label(load),
            sessions.sessions.to_string(),
            sessions.completed.to_string(),
            format!("{} ({:.1} %)", sessions.good, 100.0 * sessions.good_share),
            rate(sessions.good_rate_per_s),
            format!("{:.2}", sessions.turns_mean),
            cell(&sessions.duration, |p| p.p50),
            cell(&sessions.duration, |p| p.p99),
        ]);
    }
    table
}

/// The points whose streams reasoned: time to the first token (thinking) against time to the
/// first answer token, and the thinking's tokens.
fn reasoning(report: &Report) -> Table {
    let mut table = Table::new(
        "Reasoning (TTFT to the first token of thinking, TTFO to the first answer token, both from the intended send time)",
        &[
            "point", "load", "streams that reasoned", "TTFT p50", "TTFO p50", "TTFO p90",
            "TTFO p99", "reasoning tokens/stream", "counted by",
        ],
    );
    for (id, load, stream) in stream_points(report) {
        let Some(thinking) = &stream.reasoning else {
            continue;
        };
        table.rows.push(vec![
            id.clone(),
            load_label(load),
            format!("{} of {}", thinking.streams, stream.streams),
            cell(&stream.ttft, |p| p.p50),
            cell(&stream.ttfo, |p| p.p50),
            cell(&stream.ttfo, |p| p.p90),
            cell(&stream.ttfo, |p| p.p99),
            format!("{:.1}", thinking.tokens_mean),
            sources(&thinking.token_sources),
        ]);
    }
    table
}

/// Each LLM bench's prompts: where they came from, how long, how tokens were counted.
fn prompts(report: &Report) -> Table {
    let mut table = Table::new(
        "Prompts (input tokens of the prompt text; a chat template adds the server's own)",
        &[
            "bench",
            "source",
            "prompts",
            "input tokens",
            "min",
            "max",
            "max_tokens",
            "counted by",
        ],
    );
    for bench in &report.benches {
        let Some(prompts) = bench
            .remote
            .as_ref()
            .and_then(|remote| remote.prompts.as_ref())
        else {
            continue;
        };
        table.rows.push(vec![
            bench.id.clone(),
            prompts.source.clone(),
            prompts.prompts.to_string(),
            format!("{:.1}", prompts.input_tokens_mean),
            prompts.input_tokens_min.to_string(),
            prompts.input_tokens_max.to_string(),
            prompts
                .max_tokens_mean
                .map(|mean| format!("{mean:.1}"))
                .unwrap_or_else(|| "endpoint's".into()),
            prompts.token_counts.clone(),
        ]);
    }
    table
}
