//! Token streams measured against aiperf (`aiperf==0.13.0`, PyPI) on one machine, in one run:
//! the reference LLM server in a separate process (this binary re-run with `--serve-llm`), the
//! same chat requests, concurrency and stream count for both tools.
//!
//! - **Client cost**: many fast streams (1 ms between tokens, 256 tokens each): tokens/s
//!   received and the client's CPU per token. aiperf's CPU is its processes' (`RUSAGE_CHILDREN`
//!   after it exits); its fixed start-up cost (Python imports, dataset, services) is measured
//!   with a tiny run and taken off, so the figure compared is its cost per extra token.
//! - **Client memory**: model-bench's RSS sampled over the whole run (2M tokens in a full run),
//!   half-way against the end.
//! - **Agreement**: a server that is not saturated (20 ms to the first token, 2 ms between
//!   tokens), where the script is the truth: both tools' TTFT, ITL and E2E against it.
//!
//! aiperf is `LOADGEN_AIPERF` (default `aiperf` on `PATH`); without it only model-bench's side
//! runs. It needs a local tokenizer: a word-level one (one token per `t{j}` word the server
//! sends) is written to a temp directory, so it downloads nothing.

use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::Duration;

use model_bench::remote::llm::{SyntheticPrompts, TokenScript};
use model_bench::remote::{Endpoint, LoadPlan};
use model_bench::server::LlmServer;

use super::{cpu_seconds, rss_sampled, run_tool};

pub(super) const MODEL: &str = "tiny";
const PROMPT_TOKENS: u32 = 128;

/// One server script and the load both tools put on it.
struct Case {
    name: &'static str,
    ttft_ms: u64,
    itl_ms: u64,
    output_tokens: u32,
    streams: usize,
    requests: u64,
}

/// What one tool measured in one case.
#[derive(Debug, Default)]
struct Side {
    tokens: f64,
    tokens_per_s: f64,
    cpu_s: f64,
    ttft_p50_ms: f64,
    ttft_p99_ms: f64,
    itl_p50_ms: f64,
    chunk_gap_p50_ms: f64,
    e2e_p50_ms: f64,
    /// Streams in flight on average: rate × mean E2E (Little's law) for model-bench, aiperf's
    /// own `effective_concurrency`.
    in_flight: f64,
    errors: u64,
}

impl Side {
    fn cpu_us_per_token(&self) -> f64 {
        self.cpu_s / self.tokens * 1e6
    }

    fn show(&self) -> String {
        format!(
            "{:.0} tokens at {:.0} tokens/s, {:.2} µs client CPU per token; TTFT p50 {:.2} ms p99 {:.2} ms, ITL (per request) p50 {:.3} ms, chunk gap p50 {:.3} ms, E2E p50 {:.1} ms, {:.0} streams in flight on average, {} errors",
            self.tokens,
            self.tokens_per_s,
            self.cpu_us_per_token(),
            self.ttft_p50_ms,
            self.ttft_p99_ms,
            self.itl_p50_ms,
            self.chunk_gap_p50_ms,
            self.e2e_p50_ms,
            self.in_flight,
            self.errors
        )
    }
}

/// Runs the comparison; `full` is a `cargo bench` run, otherwise a smoke run.
pub fn compare(full: bool) {
    let fast = Case {
        name: "client cost",
        ttft_ms: 1,
        itl_ms: 1,
        output_tokens: 256,
        streams: if full { 1000 } else { 50 },
        // 8,000 streams of 256 tokens: 2.05M tokens, so memory after the first million can be
        // compared with the end (LOADGEN_LLM_REQUESTS for a longer run).
        requests: std::env::var("LOADGEN_LLM_REQUESTS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(if full { 8000 } else { 100 }),
    };
    let agreement = Case {
        name: "agreement",
        ttft_ms: 20,
        itl_ms: 2,
        output_tokens: 64,
        streams: 8,
        requests: if full { 400 } else { 40 },
    };
    let aiperf = std::env::var("LOADGEN_AIPERF").unwrap_or_else(|_| "aiperf".into());
    let tokenizer = match write_tokenizer() {
        Ok(dir) => Some(dir),
        Err(message) => {
            println!("aiperf: skipped (cannot write its tokenizer: {message})");
            None
        }
    };
    for case in [fast, agreement] {
        println!(
            "== LLM streams, {}: script TTFT {} ms, ITL {} ms, {} tokens; {} streams at once, {} requests",
            case.name, case.ttft_ms, case.itl_ms, case.output_tokens, case.streams, case.requests
        );
        let (url, mut server) = match spawn_llm_server(&case) {
            Ok(started) => started,
            Err(message) => {
                println!("cannot start the LLM server: {message}");
                continue;
            }
        };
        let (ours, rss) = rss_sampled(|| ours(&url, &case));
        println!("model-bench: {}", ours.show());
        report_rss(&rss);
        if let Some(tokenizer) = &tokenizer {
            match peer(&aiperf, tokenizer, &url, &case) {
                Ok(theirs) => report(&case, &ours, &theirs),
                Err(message) => println!("aiperf: skipped ({message})"),
            }
        }
        drop(server.stdin.take());
        let _ = server.wait();
    }
    if let Some(dir) = tokenizer {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// The RSS samples, and the change from half-way through the load to its end (the last
/// sample is taken after the run, its connections closed, so it is left out of that).
fn report_rss(rss: &[f64]) {
    let samples: Vec<String> = rss.iter().map(|mib| format!("{mib:.0}")).collect();
    println!(
        "model-bench client RSS every 250 ms (MiB; the last after the run): {}",
        samples.join(" ")
    );
    if rss.len() >= 4 {
        let during = &rss[..rss.len() - 1];
        let (half, end) = (during[during.len() / 2], during[during.len() - 1]);
        println!(
            "model-bench client RSS half-way {half:.1} MiB, at the end {end:.1} MiB ({:+.1} %)",
            100.0 * (end / half - 1.0)
        );
    }
}

fn report(case: &Case, ours: &Side, theirs: &Side) {
    println!("aiperf (start-up taken off): {}", theirs.show());
    println!(
        "model-bench / aiperf: tokens/s {:.2}×, CPU per token {:.3}× (aiperf uses {:.1}× model-bench's CPU per token)",
        ours.tokens_per_s / theirs.tokens_per_s,
        ours.cpu_us_per_token() / theirs.cpu_us_per_token(),
        theirs.cpu_us_per_token() / ours.cpu_us_per_token(),
    );
    let itl = case.itl_ms as f64;
    let e2e = case.ttft_ms as f64 + (case.output_tokens.saturating_sub(1) as f64) * itl;
    println!(
        "against the script (TTFT {} ms, ITL {itl} ms, E2E {e2e} ms): TTFT p50 {:.2} vs {:.2} ms (ratio {:.3}), ITL p50 {:.3} vs {:.3} ms (ratio {:.3}), chunk gap p50 {:.3} vs {:.3} ms, E2E p50 {:.1} vs {:.1} ms (ratio {:.3})",
        case.ttft_ms,
        ours.ttft_p50_ms,
        theirs.ttft_p50_ms,
        ours.ttft_p50_ms / theirs.ttft_p50_ms,
        ours.itl_p50_ms,
        theirs.itl_p50_ms,
        ours.itl_p50_ms / theirs.itl_p50_ms,
        ours.chunk_gap_p50_ms,
        theirs.chunk_gap_p50_ms,
        ours.e2e_p50_ms,
        theirs.e2e_p50_ms,
        ours.e2e_p50_ms / theirs.e2e_p50_ms,
    );
}

/// The reference LLM server in this process until stdin closes; prints its URL first.
/// Arguments: TTFT ms, ITL ms, output tokens, and optionally the prefill per uncached prompt
/// token in µs with a prefix cache of that many 16-token blocks.
pub fn serve(args: &[String]) {
    let number = |at: usize| {
        args.get(at)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(1)
    };
    let script = TokenScript {
        ttft: Duration::from_millis(number(0)),
        itl: Duration::from_millis(number(1)),
        default_output_tokens: number(2) as u32,
        ..TokenScript::default()
    };
    let script = match (args.get(3), args.get(4)) {
        (Some(_), Some(_)) => TokenScript {
            prefill_per_token: Duration::from_micros(number(3)),
            prefix_cache: Some(model_bench::remote::llm::PrefixCache {
                block_tokens: 16,
                blocks: number(4) as usize,
            }),
            ..script
        },
        _ => script,
    };
    let server = match LlmServer::start(MODEL, script) {
        Ok(server) => server,
        Err(error) => {
            eprintln!("{error}");
            std::process::exit(1);
        }
    };
    println!("{}", server.url());
    super::wait_for_stdin_to_close();
}

fn spawn_llm_server(case: &Case) -> Result<(String, Child), String> {
    let (ttft, itl, tokens) = (
        case.ttft_ms.to_string(),
        case.itl_ms.to_string(),
        case.output_tokens.to_string(),
    );
    let (line, child) = super::spawn_self(&["--serve-llm", &ttft, &itl, &tokens])?;
    match line.trim() {
        url if url.starts_with("http://") => Ok((url.to_owned(), child)),
        other => Err(format!("unexpected first line `{other}`")),
    }
}

/// model-bench's closed loop over `case`, on the load runtime the runner would give it.
fn ours(url: &str, case: &Case) -> Side {
    let endpoint = Endpoint::openai_chat(MODEL).synthetic_prompts(
        SyntheticPrompts::new(PROMPT_TOKENS)
            .output(case.output_tokens)
            .count(1000),
    );
    let (runtime, client) = match super::llm_client(&endpoint, url) {
        Ok(connected) => connected,
        Err(message) => {
            println!("model-bench: {message}");
            return Side::default();
        }
    };
    let plan = LoadPlan::closed(case.streams, Duration::from_secs(600)).max_requests(case.requests);
    let cpu = cpu_seconds(libc::RUSAGE_SELF);
    let run = runtime.block_on(model_bench::remote::load::run(client, &plan));
    let cpu_s = cpu_seconds(libc::RUSAGE_SELF) - cpu;
    let stats = run.stats();
    if stats.errors > 0 {
        println!("model-bench: first errors {:?}", stats.first_errors);
    }
    let ms = |ns: f64| ns / 1e6;
    let Some(stream) = stats.stream.clone() else {
        println!(
            "model-bench: no stream figures ({} requests)",
            stats.requests
        );
        return Side::default();
    };
    let p50 =
        |p: &Option<model_bench::results::Percentiles>| p.as_ref().map_or(f64::NAN, |p| ms(p.p50));
    Side {
        tokens: stream.output_tokens as f64,
        tokens_per_s: stream.output_tokens_per_s,
        cpu_s,
        ttft_p50_ms: p50(&stream.ttft_service),
        ttft_p99_ms: stream.ttft_service.as_ref().map_or(f64::NAN, |p| ms(p.p99)),
        itl_p50_ms: p50(&stream.itl_per_request),
        chunk_gap_p50_ms: p50(&stream.chunk_gap),
        e2e_p50_ms: p50(&stats.service),
        in_flight: stats.throughput_rps * stats.service.as_ref().map_or(f64::NAN, |p| p.mean / 1e9),
        errors: stats.errors,
    }
}

/// aiperf over `case`, with its start-up cost (a 2-request run's CPU and tokens) taken off.
fn peer(aiperf: &str, tokenizer: &Path, url: &str, case: &Case) -> Result<Side, String> {
    let startup = aiperf_run(aiperf, tokenizer, url, case, 2)?;
    let mut side = aiperf_run(aiperf, tokenizer, url, case, case.requests)?;
    side.cpu_s -= startup.cpu_s;
    side.tokens -= startup.tokens;
    Ok(side)
}

fn aiperf_run(
    aiperf: &str,
    tokenizer: &Path,
    url: &str,
    case: &Case,
    requests: u64,
) -> Result<Side, String> {
    let out = std::env::temp_dir().join(format!("model-bench-aiperf-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let args: Vec<String> = aiperf_args(url, tokenizer, &out)
        .into_iter()
        .chain([
            "--concurrency".into(),
            case.streams.min(requests as usize).to_string(),
            "--request-count".into(),
            requests.to_string(),
            "--prompt-input-tokens-mean".into(),
            PROMPT_TOKENS.to_string(),
            "--prompt-output-tokens-mean".into(),
            case.output_tokens.to_string(),
        ])
        .collect();
    let run = run_aiperf(aiperf, &args, &out)?;
    let stat = |metric: &str, stat: &str| run.stat(metric, stat);
    Ok(Side {
        tokens: stat("total_output_tokens", "avg"),
        tokens_per_s: stat("output_token_throughput", "avg"),
        cpu_s: run.cpu_s,
        ttft_p50_ms: stat("time_to_first_token", "p50"),
        ttft_p99_ms: stat("time_to_first_token", "p99"),
        itl_p50_ms: stat("inter_token_latency", "p50"),
        chunk_gap_p50_ms: stat("inter_chunk_latency", "p50"),
        e2e_p50_ms: stat("request_latency", "p50"),
        in_flight: stat("effective_concurrency", "avg"),
        errors: run
            .summary
            .get("error_summary")
            .and_then(serde_json::Value::as_array)
            .map_or(0, |errors| errors.len() as u64),
    })
}

/// What one aiperf run left: its summary (`profile_export_aiperf.json`), its per-request
/// records (`profile_export.jsonl`, one JSON object a line) and the CPU its processes used.
pub(super) struct AiperfRun {
    pub summary: serde_json::Value,
    pub records: String,
    pub cpu_s: f64,
}

impl AiperfRun {
    /// Statistic `stat` (`avg`, `p50`, …) of `metric` in the summary; NaN when it has none.
    pub fn stat(&self, metric: &str, stat: &str) -> f64 {
        self.summary
            .get(metric)
            .and_then(|m| m.get(stat))
            .and_then(serde_json::Value::as_f64)
            .unwrap_or(f64::NAN)
    }
}

/// Runs aiperf with `args` (whose artifacts go to `out`), charging it its processes' CPU, and
/// reads what it wrote; `out` is removed after.
pub(super) fn run_aiperf(aiperf: &str, args: &[String], out: &Path) -> Result<AiperfRun, String> {
    let cpu = cpu_seconds(libc::RUSAGE_CHILDREN);
    let ran = run_tool(aiperf, args);
    let cpu_s = cpu_seconds(libc::RUSAGE_CHILDREN) - cpu;
    ran?;
    let read = |name: &str| {
        let path = out.join(name);
        std::fs::read_to_string(&path).map_err(|e| format!("no {}: {e}", path.display()))
    };
    let summary = read("profile_export_aiperf.json").and_then(|text| {
        serde_json::from_str(&text).map_err(|e| format!("profile_export_aiperf.json: {e}"))
    });
    let records = read("profile_export.jsonl").unwrap_or_default();
    let _ = std::fs::remove_dir_all(out);
    Ok(AiperfRun {
        summary: summary?,
        records,
        cpu_s,
    })
}

/// What every aiperf run here is given: `MODEL`'s chat endpoint at `url`, streamed, the
/// server's token counts, no UI and no server or GPU readings, seed 1, the word-level
/// `tokenizer` ([`write_tokenizer`]), its files in `out`.
pub(super) fn aiperf_args(url: &str, tokenizer: &Path, out: &Path) -> Vec<String> {
    let fixed = [
        "profile",
        "--model",
        MODEL,
        "--url",
        url,
        "--endpoint-type",
        "chat",
        "--streaming",
        "--use-legacy-max-tokens",
        "--use-server-token-count",
        "--ui-type",
        "none",
        "--no-server-metrics",
        "--no-gpu-telemetry",
        "--random-seed",
        "1",
    ];
    fixed
        .iter()
        .map(|s| s.to_string())
        .chain([
            "--tokenizer".into(),
            tokenizer.display().to_string(),
            "--output-artifact-dir".into(),
            out.display().to_string(),
        ])
        .collect()
}

/// A word-level Hugging Face tokenizer (`t0` … `t4095`, anything else one unknown token) in a
/// fresh temp directory, for aiperf, which otherwise downloads one.
pub(super) fn write_tokenizer() -> Result<PathBuf, String> {
    let dir = std::env::temp_dir().join(format!(
        "model-bench-aiperf-tokenizer-{}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let mut vocab = serde_json::Map::new();
    vocab.insert("[UNK]".into(), 0.into());
    for j in 0..4096u32 {
        vocab.insert(format!("t{j}"), (j + 1).into());
    }
    let tokenizer = serde_json::json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": [{"id": 0, "content": "[UNK]", "single_word": false, "lstrip": false,
                          "rstrip": false, "normalized": false, "special": true}],
        "normalizer": null,
        "pre_tokenizer": {"type": "WhitespaceSplit"},
        "post_processor": null,
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": true},
        "model": {"type": "WordLevel", "vocab": vocab, "unk_token": "[UNK]"},
    });
    let config = serde_json::json!({
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": 1_000_000,
        "unk_token": "[UNK]",
    });
    for (name, value) in [
        ("tokenizer.json", tokenizer),
        ("tokenizer_config.json", config),
    ] {
        std::fs::write(dir.join(name), value.to_string()).map_err(|e| e.to_string())?;
    }
    Ok(dir)
}
