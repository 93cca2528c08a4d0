//! Multi-turn sessions measured against aiperf (`aiperf==0.13.0`) on the same conversations:
//! one file in aiperf's `multi_turn` JSON lines (which `Sessions::jsonl` reads too), each
//! conversation three turns of 128 new words (`t{j}`, one token each for both tools' counts
//! and the word-level tokenizer aiperf is given) asking for 32 tokens, no think time; the same
//! number of users, conversations taken in order; the reference LLM server in its own process
//! with a prefix cache (blocks of 16 tokens; 5 ms to the first token plus 50 µs per uncached
//! prompt token, 1 ms per token), a fresh one for each run so every run meets a cold cache.
//!
//! Compared: tokens/s and client CPU per token (aiperf's start-up taken off, as in `llm.rs`),
//! and by turn index the TTFT p50 and the input tokens the server counted — which history
//! each tool sent. aiperf's per-turn figures come from its per-request export
//! (`profile_export.jsonl`: `metadata.turn_index`).

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use model_bench::remote::llm::Sessions;
use model_bench::remote::{Endpoint, LoadPlan};

use super::cpu_seconds;

const TURNS: usize = 3;
const WORDS_PER_TURN: usize = 128;
const OUTPUT_TOKENS: u32 = 32;
const USERS: usize = 16;

/// One tool's run: tokens, CPU, and per turn index (TTFT p50 ms, input tokens mean).
#[derive(Debug, Default)]
struct Side {
    tokens: f64,
    tokens_per_s: f64,
    cpu_s: f64,
    turns: Vec<(f64, f64)>,
}

impl Side {
    fn show(&self) -> String {
        let turns: Vec<String> = self
            .turns
            .iter()
            .enumerate()
            .map(|(i, (ttft, input))| {
                format!(
                    "turn {}: TTFT p50 {ttft:.2} ms, {input:.0} input tokens",
                    i + 1
                )
            })
            .collect();
        format!(
            "{:.0} tokens at {:.0} tokens/s, {:.2} µs client CPU per token; {}",
            self.tokens,
            self.tokens_per_s,
            self.cpu_s / self.tokens * 1e6,
            turns.join("; ")
        )
    }
}

/// Writes the conversations, runs both tools and prints them side by side.
pub fn compare(full: bool) {
    let sessions = if full { 300 } else { 12 };
    println!(
        "== multi-turn sessions: {sessions} conversations of {TURNS} turns ({WORDS_PER_TURN} new tokens a turn, {OUTPUT_TOKENS} out), {USERS} users"
    );
    let dir = std::env::temp_dir().join(format!("model-bench-sessions-{}", std::process::id()));
    let file = dir.join("conversations.jsonl");
    if let Err(message) =
        std::fs::create_dir_all(&dir).and_then(|()| write_sessions(&file, sessions))
    {
        println!("cannot write the conversations: {message}");
        return;
    }
    let requests = (sessions * TURNS) as u64;
    let ours = match on_fresh_server(|url| Ok(ours(url, &file, requests))) {
        Ok(side) => side,
        Err(message) => {
            println!("cannot start the LLM server: {message}");
            return;
        }
    };
    println!("model-bench: {}", ours.show());
    let aiperf = std::env::var("LOADGEN_AIPERF").unwrap_or_else(|_| "aiperf".into());
    match super::llm::write_tokenizer() {
        Ok(tokenizer) => {
            match peer(&aiperf, &tokenizer, &file, requests) {
                Ok(theirs) => {
                    println!("aiperf (start-up taken off): {}", theirs.show());
                    println!(
                        "model-bench / aiperf: tokens/s {:.2}×, aiperf uses {:.1}× model-bench's CPU per token",
                        ours.tokens_per_s / theirs.tokens_per_s,
                        (theirs.cpu_s / theirs.tokens) / (ours.cpu_s / ours.tokens)
                    );
                }
                Err(message) => println!("aiperf: skipped ({message})"),
            }
            let _ = std::fs::remove_dir_all(tokenizer);
        }
        Err(message) => println!("aiperf: skipped (cannot write its tokenizer: {message})"),
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// `work` against a reference LLM server of its own (started for it, so its prefix cache
/// starts cold: neither tool finds the other's conversations cached), stopped after.
fn on_fresh_server<T>(work: impl FnOnce(&str) -> Result<T, String>) -> Result<T, String> {
    let (line, mut server) = super::spawn_self(&["--serve-llm", "5", "1", "32", "50", "65536"])?;
    let done = work(line.trim());
    drop(server.stdin.take());
    let _ = server.wait();
    done
}

/// aiperf's `multi_turn` lines: each turn's words unique to its conversation and turn.
fn write_sessions(path: &Path, sessions: usize) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    for session in 0..sessions {
        let turns: Vec<serde_json::Value> = (0..TURNS)
            .map(|turn| {
                let first = (session * TURNS + turn) * 7;
                let text: Vec<String> = (0..WORDS_PER_TURN)
                    .map(|k| format!("t{}", (first + k * 13) % 4096))
                    .collect();
                serde_json::json!({"text": text.join(" "), "output_length": OUTPUT_TOKENS})
            })
            .collect();
        let line = serde_json::json!({"session_id": format!("s{session}"), "turns": turns});
        writeln!(out, "{line}")?;
    }
    out.flush()
}

fn ours(url: &str, file: &Path, requests: u64) -> Side {
    let endpoint = Endpoint::openai_chat(super::llm::MODEL).sessions(Sessions::jsonl(file));
    let (runtime, client) = match super::llm_client(&endpoint, url) {
        Ok(connected) => connected,
        Err(message) => {
            println!("model-bench: {message}");
            return Side::default();
        }
    };
    let plan = LoadPlan::closed(USERS, Duration::from_secs(600)).max_requests(requests);
    let cpu = cpu_seconds(libc::RUSAGE_SELF);
    let run = runtime.block_on(model_bench::remote::load::run(client, &plan));
    let stats = run.stats();
    let cpu_s = cpu_seconds(libc::RUSAGE_SELF) - cpu;
    if stats.errors > 0 {
        println!("model-bench: first errors {:?}", stats.first_errors);
    }
    let Some(stream) = &stats.stream else {
        return Side::default();
    };
    Side {
        tokens: stream.output_tokens as f64,
        tokens_per_s: stream.output_tokens_per_s,
        cpu_s,
        turns: stream
            .turns
            .iter()
            .map(|turn| {
                (
                    turn.ttft.map_or(f64::NAN, |p| p.p50 / 1e6),
                    turn.input_tokens_mean.unwrap_or(f64::NAN),
                )
            })
            .collect(),
    }
}

/// aiperf over the file, with its start-up cost (a run of one conversation) taken off; each
/// run on a server of its own.
fn peer(aiperf: &str, tokenizer: &Path, file: &Path, requests: u64) -> Result<Side, String> {
    let startup = on_fresh_server(|url| aiperf_run(aiperf, tokenizer, url, file, TURNS as u64))?;
    let mut side = on_fresh_server(|url| aiperf_run(aiperf, tokenizer, url, file, requests))?;
    side.cpu_s -= startup.cpu_s;
    side.tokens -= startup.tokens;
    Ok(side)
}

fn aiperf_run(
    aiperf: &str,
    tokenizer: &Path,
    url: &str,
    file: &Path,
    requests: u64,
) -> Result<Side, String> {
    let out = std::env::temp_dir().join(format!(
        "model-bench-aiperf-sessions-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&out);
    let args: Vec<String> = super::llm::aiperf_args(url, tokenizer, &out)
        .into_iter()
        .chain([
            "--custom-dataset-type".into(),
            "multi_turn".into(),
            "--dataset-sampling-strategy".into(),
            "sequential".into(),
            "--input-file".into(),
            file.display().to_string(),
            "--concurrency".into(),
            USERS.min(requests as usize).to_string(),
            "--request-count".into(),
            requests.to_string(),
        ])
        .collect();
    let run = super::llm::run_aiperf(aiperf, &args, &out)?;
    // Per turn index: every record's TTFT (ms) and input tokens.
    let mut by_turn: Vec<(Vec<f64>, Vec<f64>)> = vec![Default::default(); TURNS];
    for line in run.records.lines() {
        let Ok(record) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let turn = record["metadata"]["turn_index"]
            .as_u64()
            .unwrap_or(u64::MAX) as usize;
        let value = |metric: &str| record["metrics"][metric]["value"].as_f64();
        if let (Some(slot), Some(ttft)) = (by_turn.get_mut(turn), value("time_to_first_token")) {
            slot.0.push(ttft);
            slot.1.extend(value("input_sequence_length"));
        }
    }
    let median = |mut values: Vec<f64>| {
        values.sort_by(f64::total_cmp);
        values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
    };
    let mean = |values: &[f64]| values.iter().sum::<f64>() / values.len().max(1) as f64;
    Ok(Side {
        tokens: run.stat("total_output_tokens", "avg"),
        tokens_per_s: run.stat("output_token_throughput", "avg"),
        cpu_s: run.cpu_s,
        turns: by_turn
            .into_iter()
            .map(|(ttft, input)| (median(ttft), mean(&input)))
            .collect(),
    })
}
