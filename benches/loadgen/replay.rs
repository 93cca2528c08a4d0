//! A long trace replayed on time: a Mooncake trace of 100,000 requests, one every millisecond
//! (1,000 req/s), each 1,024 prompt tokens in two 512-token blocks (the first shared by groups
//! of 64 requests, as a system prompt is) asking for 16 tokens, against the reference LLM server
//! in its own process (2 ms to the first token, 1 ms per token). What is measured is the client:
//! how late the dispatcher sent each request (goal: p99 under 100 µs) and its resident memory
//! over the whole replay (goal: under 256 MiB). So that `cargo bench` stays short, it replays
//! the trace's first 5,000 requests, a smoke run (`cargo test --benches`) 1,000;
//! `LOADGEN_TRACE_REQUESTS=100000` replays the whole trace (100 s).

use std::io::Write;
use std::time::Duration;

use model_bench::remote::llm::Trace;
use model_bench::remote::{Endpoint, LoadPlan};

use super::rss_sampled;

/// Requests per second in the trace.
const RATE: u64 = 1_000;

/// Writes the trace, replays it and prints lateness, errors and memory.
pub fn replay(full: bool) {
    let requests: u64 = std::env::var("LOADGEN_TRACE_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if full { 5_000 } else { 1_000 });
    println!(
        "== trace replay: {requests} Mooncake requests at {RATE}/s, 1,024 prompt tokens and 16 output tokens each"
    );
    let path = std::env::temp_dir().join(format!("model-bench-trace-{}.jsonl", std::process::id()));
    if let Err(message) = write_trace(&path, requests) {
        println!("cannot write the trace: {message}");
        return;
    }
    let (line, mut server) = match super::spawn_self(&["--serve-llm", "2", "1", "16"]) {
        Ok(started) => started,
        Err(message) => {
            println!("cannot start the LLM server: {message}");
            let _ = std::fs::remove_file(&path);
            return;
        }
    };
    let url = line.trim().to_owned();
    let endpoint = Endpoint::openai_chat("tiny").trace(Trace::mooncake(&path));
    let (outcome, rss) = rss_sampled(|| {
        let (runtime, client) = super::llm_client(&endpoint, &url)?;
        let schedule = client.schedule().ok_or("the endpoint replays no trace")?;
        let plan = LoadPlan::replay(schedule, Duration::ZERO);
        Ok::<_, String>(runtime.block_on(model_bench::remote::load::run(client, &plan)))
    });
    match outcome {
        Ok(run) => {
            let stats = run.stats();
            let ns = |pick: fn(&model_bench::results::Percentiles) -> f64| {
                stats.lateness.as_ref().map_or(f64::NAN, pick) / 1e3
            };
            println!(
                "sent {:.1}/s over {:.1} s, {} requests, {} errors, {} dropped; send lateness p50 {:.1} µs p99 {:.1} µs max {:.1} µs, sent > 1 ms late {:.3} %",
                stats.sent_rps,
                stats.elapsed_s,
                stats.requests,
                stats.errors,
                stats.dropped,
                ns(|p| p.p50),
                ns(|p| p.p99),
                ns(|p| p.max),
                stats.late_pct.unwrap_or(0.0),
            );
            if stats.errors > 0 {
                println!("first errors: {:?}", stats.first_errors);
            }
        }
        Err(error) => println!("model-bench: {error}"),
    }
    let peak = rss.iter().copied().fold(0.0, f64::max);
    println!(
        "client RSS peak {peak:.1} MiB (sampled every 250 ms; {:.1} MiB at the start)",
        rss.first().copied().unwrap_or(0.0)
    );
    drop(server.stdin.take());
    let _ = server.wait();
    let _ = std::fs::remove_file(&path);
}

/// One row per millisecond; block ids: the first shared by each group of 64 requests, the
/// second the request's own.
fn write_trace(path: &std::path::Path, requests: u64) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    for i in 0..requests {
        let timestamp = i * 1_000 / RATE;
        let (shared, own) = (i / 64, 1_000_000 + i);
        writeln!(
            out,
            r#"{{"timestamp": {timestamp}, "input_length": 1024, "output_length": 16, "hash_ids": [{shared}, {own}]}}"#
        )?;
    }
    out.flush()
}
