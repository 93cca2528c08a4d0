//! model-bench's reference LLM server on its own: an OpenAI-compatible `/v1/chat/completions`
//! and `/v1/completions` (streamed only), `/v1/models` and `/health` on 127.0.0.1 until Ctrl-C,
//! streaming tokens on a scripted schedule (token `j` is the text `t{j} `).
//!
//! ```sh
//! cargo run --release --example llm_server -- [--model tiny] [--ttft-ms 20] [--itl-ms 2] \
//!     [--tokens-per-chunk 1] [--output-tokens 32] [--capacity 8] [--no-usage] \
//!     [--stall-ms 200 --period-ms 1000]
//! ```
//! Then, e.g., `curl -N $URL/v1/chat/completions -d '{"model":"tiny","stream":true,"max_tokens":8,"messages":[]}'`.

use std::time::Duration;

use model_bench::remote::llm::{Stall, TokenScript};
use model_bench::server::LlmServer;

fn main() {
    if let Err(message) = run() {
        eprintln!("llm_server: {message}");
        std::process::exit(2);
    }
}

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let mut script = TokenScript::default();
    let mut model = "tiny".to_owned();
    let (mut stall, mut period) = (0, 1000);
    while let Some(flag) = args.next() {
        if flag == "--no-usage" {
            script.usage = false;
            continue;
        }
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number = || value.parse::<u64>().map_err(|e| format!("{flag}: {e}"));
        match flag.as_str() {
            "--model" => model = value.clone(),
            "--ttft-ms" => script.ttft = Duration::from_millis(number()?),
            "--itl-ms" => script.itl = Duration::from_millis(number()?),
            "--tokens-per-chunk" => script.tokens_per_chunk = number()?.max(1) as u32,
            "--output-tokens" => script.default_output_tokens = number()? as u32,
            "--capacity" => script.capacity = Some(number()?.max(1) as usize),
            "--stall-ms" => stall = number()?,
            "--period-ms" => period = number()?,
            other => return Err(format!("unknown flag {other}")),
        }
    }
    if stall > 0 {
        script.stall = Some(Stall {
            stall: Duration::from_millis(stall),
            period: Duration::from_millis(period.max(1)),
        });
    }
    let server = LlmServer::start(&model, script).map_err(|e| e.to_string())?;
    println!(
        "OpenAI-compatible: {}/v1 (model `{model}`); Ctrl-C stops",
        server.url()
    );
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}
