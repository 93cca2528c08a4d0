//! A V2 request's options (input tensors, expected outputs, model version) do nothing for an
//! OpenAI-compatible endpoint: they are not there.
use model_bench::prelude::*;

#[model_bench(remote, concurrency = [1])]
fn chat() -> OpenAiEndpoint {
    Endpoint::openai_chat("m")
        .url("http://127.0.0.1:8000")
        .input(Tensor::fp32("INPUT0", [1], &[1.0]).unwrap())
}

#[model_bench(remote, concurrency = [1])]
fn completions() -> OpenAiEndpoint {
    Endpoint::openai_completions("m")
        .url("http://127.0.0.1:8000")
        .expect_output("OUTPUT0")
        .model_version("2")
}

fn main() {}
