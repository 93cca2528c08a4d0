//! An OpenAI-compatible request's option does nothing for a V2 endpoint: it is not there.
use model_bench::prelude::*;

#[model_bench(remote, concurrency = [1])]
fn rest() -> V2Endpoint {
    Endpoint::rest("m").url("http://127.0.0.1:8000").max_tokens(16)
}

#[model_bench(remote, concurrency = [1])]
fn grpc() -> V2Endpoint {
    Endpoint::grpc("m")
        .url("http://127.0.0.1:8001")
        .slo_ttft(std::time::Duration::from_millis(50))
}

fn main() {}
