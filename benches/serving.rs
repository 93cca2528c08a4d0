//! The main job's remote half: the example MobileNet served over the Open Inference Protocol —
//! REST with JSON tensors, REST with the binary tensor extension, and gRPC — by model-bench's
//! in-process reference server, or by any V2 server at `$MODEL_BENCH_REST_URL` /
//! `$MODEL_BENCH_GRPC_URL` (serving a model named `mobilenet` with input `input`); and a token
//! stream and multi-turn chat sessions from model-bench's reference LLM server or any
//! OpenAI-compatible one.

use std::time::Duration;

use model_bench::prelude::*;
use model_bench::remote::llm::PrefixCache;
use model_bench_suite::classify::{model_path, preprocess, read_images, ClassifyError};

#[derive(Debug, thiserror::Error)]
enum ServingError {
    #[error(transparent)]
    Classify(#[from] ClassifyError),
    #[error(transparent)]
    Tensor(#[from] TensorError),
}

/// One preprocessed 640×480 photo as the request, checked to come back as 1000 logits.
fn mobilenet(protocol: V2Protocol) -> Result<V2Endpoint, ServingError> {
    let image = preprocess(&read_images()?[0])?;
    let pixels: Vec<f32> = image.iter().copied().collect();
    let url_var = match protocol {
        V2Protocol::Grpc => "MODEL_BENCH_GRPC_URL",
        _ => "MODEL_BENCH_REST_URL",
    };
    Ok(Endpoint::rest("mobilenet")
        .with_protocol(protocol)
        .url_from_env(url_var)
        .reference(ReferenceConfig::new().onnx("mobilenet", model_path()))
        .input(Tensor::fp32("input", [1, 3, 224, 224], &pixels)?)
        .expect_output_shape("logits", [1, 1000]))
}

/// Closed loop over REST with JSON tensors: 150 528 numbers written and parsed per request.
#[model_bench(remote, pipeline = "serving", concurrency = [1, 4], warm_up_time = "500ms", measurement_time = "2s")]
fn rest_json() -> Result<V2Endpoint, ServingError> {
    mobilenet(V2Protocol::RestJson)
}

/// The same requests with the tensor as raw bytes after a small JSON header.
#[model_bench(remote, pipeline = "serving", concurrency = [1, 4], warm_up_time = "500ms", measurement_time = "2s")]
fn rest_binary() -> Result<V2Endpoint, ServingError> {
    mobilenet(V2Protocol::RestBinary)
}

#[model_bench(remote, pipeline = "serving", concurrency = [1, 4], warm_up_time = "500ms", measurement_time = "2s")]
fn grpc() -> Result<V2Endpoint, ServingError> {
    mobilenet(V2Protocol::Grpc)
}

/// Open loop: arrivals at fixed rates whether or not answers come back, latency from each
/// request's intended send time. Constant spacing keeps every one of the ten time slices
/// (criterion's samples) populated at these low rates; `arrival = poisson` is the other choice.
#[model_bench(
    remote,
    pipeline = "serving",
    rate = [5, 10],
    arrival = constant,
    warm_up_time = "500ms",
    measurement_time = "3s"
)]
fn grpc_open_loop() -> Result<V2Endpoint, ServingError> {
    mobilenet(V2Protocol::Grpc)
}

/// An LLM endpoint: OpenAI-compatible chat completions, 16 tokens each, for 1000 different
/// synthetic prompts of 128 tokens (so no prefix cache flatters the server), with goodput
/// against a 25 ms TTFT and 100 ms end-to-end SLO, streamed by
/// model-bench's reference LLM server (10 ms to the first token, 1 ms per token, 8 streams at
/// once: at 16 in flight half of them queue, which shows in TTFT), or by any OpenAI-compatible
/// server at `$MODEL_BENCH_OPENAI_URL` serving `$MODEL_BENCH_OPENAI_MODEL`. The reference server
/// exports vLLM's metric names, so the summary shows its state during each point (8 running, 8
/// waiting at 16) and where TTFT went: the queue, the prefill, and what is outside the server.
#[model_bench(
    remote,
    pipeline = "llm",
    concurrency = [1, 16],
    warm_up_time = "500ms",
    measurement_time = "3s"
)]
fn chat_stream() -> OpenAiEndpoint {
    let model = std::env::var("MODEL_BENCH_OPENAI_MODEL").unwrap_or_else(|_| "tiny".into());
    Endpoint::openai_chat(model)
        .url_from_env("MODEL_BENCH_OPENAI_URL")
        .max_tokens(16)
        .synthetic_prompts(SyntheticPrompts::new(128).seed(1))
        .slo_ttft(Duration::from_millis(25))
        .slo_e2e(Duration::from_millis(100))
        .reference(TokenScript {
            ttft: Duration::from_millis(10),
            itl: Duration::from_millis(1),
            capacity: Some(8),
            ..TokenScript::default()
        })
}

/// Multi-turn chat: 8 users, each holding conversations of three turns (256 new tokens a turn,
/// 32 tokens of reply, 20–80 ms to think between, drawn so the users do not move in step), every turn's request carrying the conversation
/// so far. The reference LLM server keeps a prefix cache (blocks of 16 tokens) and takes 5 ms
/// plus 50 µs per prompt token it does not hold to the first token, so the "Turns" table shows
/// the cache at work: each turn's prompt grows, its cached share with it, and its TTFT does
/// not (turn 3's 832 tokens would take 42 ms to prefill uncached).
#[model_bench(
    remote,
    pipeline = "llm",
    concurrency = [8],
    warm_up_time = "500ms",
    measurement_time = "3s"
)]
fn chat_sessions() -> OpenAiEndpoint {
    let model = std::env::var("MODEL_BENCH_OPENAI_MODEL").unwrap_or_else(|_| "tiny".into());
    let conversations = SyntheticPrompts::new(256).output(32).count(1000).seed(2);
    Endpoint::openai_chat(model)
        .url_from_env("MODEL_BENCH_OPENAI_URL")
        .sessions(
            Sessions::synthetic(3, conversations)
                .think_time_uniform(Duration::from_millis(20), Duration::from_millis(80)),
        )
        .reference(TokenScript {
            ttft: Duration::from_millis(5),
            itl: Duration::from_millis(1),
            prefill_per_token: Duration::from_micros(50),
            prefix_cache: Some(PrefixCache {
                block_tokens: 16,
                blocks: 65_536,
            }),
            ..TokenScript::default()
        })
}

model_bench::main!();
