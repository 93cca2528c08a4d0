//! Many token streams open at once: a closed loop of `LOADGEN_STREAMS` users (10,000 in a
//! full run) each sending one chat request to the reference LLM server in its own process,
//! whose script keeps every stream open for seconds (a token every 100 ms), so all of them are
//! in flight together. Reported: client errors (goal: none), the streams in flight on average
//! (rate × mean E2E), and the client's memory per open stream: peak RSS during the run less
//! the RSS before it, over the streams (goal ≤ 32 KiB).

use std::time::Duration;

use model_bench::remote::llm::SyntheticPrompts;
use model_bench::remote::{Endpoint, LoadPlan};

use super::rss_sampled;

/// The script: a token every `ITL_MS`, `OUTPUT_TOKENS` of them, so a stream lasts 6 s.
const ITL_MS: u64 = 100;
const OUTPUT_TOKENS: u32 = 60;
const PROMPT_TOKENS: u32 = 128;

/// Opens the streams and prints errors and memory per open stream.
pub fn many_streams(full: bool) {
    let wanted: usize = std::env::var("LOADGEN_STREAMS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if full { 10_000 } else { 200 });
    // Each stream is a socket in this process and one in the server's, which inherits the
    // limit raised here.
    let limit = model_bench::remote::load::raise_open_files_limit().unwrap_or(1024);
    let streams = wanted.min(
        usize::try_from(limit)
            .unwrap_or(usize::MAX)
            .saturating_sub(256),
    );
    if streams < wanted {
        println!(
            "(the open-file limit is {limit}: {streams} streams instead of {wanted}; raise it with `ulimit -Hn`)"
        );
    }
    println!(
        "== {streams} streams at once: a token every {ITL_MS} ms, {OUTPUT_TOKENS} tokens each ({PROMPT_TOKENS}-token prompts)"
    );
    let (itl, tokens) = (ITL_MS.to_string(), OUTPUT_TOKENS.to_string());
    let (line, mut server) = match super::spawn_self(&["--serve-llm", "1", &itl, &tokens]) {
        Ok(started) => started,
        Err(message) => {
            println!("cannot start the LLM server: {message}");
            return;
        }
    };
    let endpoint = Endpoint::openai_chat(super::llm::MODEL).synthetic_prompts(
        SyntheticPrompts::new(PROMPT_TOKENS)
            .output(OUTPUT_TOKENS)
            .count(1000),
    );
    match super::llm_client(&endpoint, line.trim()) {
        Ok((runtime, client)) => {
            let before = super::rss_mib();
            let plan =
                LoadPlan::closed(streams, Duration::from_secs(120)).max_requests(streams as u64);
            let (run, rss) =
                rss_sampled(|| runtime.block_on(model_bench::remote::load::run(client, &plan)));
            let stats = run.stats();
            let mean_e2e_s = stats.service.as_ref().map_or(f64::NAN, |p| p.mean / 1e9);
            let peak = rss.iter().copied().fold(before, f64::max);
            println!(
                "{} requests, {} ok, {} errors in {:.1} s; {:.0} streams in flight on average (E2E mean {:.2} s)",
                stats.requests,
                stats.ok,
                stats.errors,
                stats.elapsed_s,
                stats.throughput_rps * mean_e2e_s,
                mean_e2e_s
            );
            if let Some(ttft) = stats.stream.as_ref().and_then(|s| s.ttft_service.as_ref()) {
                println!(
                    "TTFT from the send (connection included) p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
                    ttft.p50 / 1e6,
                    ttft.p99 / 1e6,
                    ttft.max / 1e6
                );
            }
            if stats.errors > 0 {
                println!("first errors: {:?}", stats.first_errors);
            }
            let samples: Vec<String> = rss.iter().map(|mib| format!("{mib:.0}")).collect();
            println!(
                "client RSS before {before:.1} MiB, peak {peak:.1} MiB: {:.1} KiB per open stream (every 250 ms: {})",
                (peak - before) * 1024.0 / streams as f64,
                samples.join(" ")
            );
        }
        Err(message) => println!("model-bench: {message}"),
    }
    drop(server.stdin.take());
    let _ = server.wait();
}
