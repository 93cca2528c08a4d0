//! Each kind's reference server takes its own configuration: a token script does not serve a V2
//! endpoint, a V2 model set does not serve an OpenAI-compatible one, and a POST endpoint has no
//! reference server.
use model_bench::prelude::*;

#[model_bench(remote, concurrency = [1])]
fn grpc() -> V2Endpoint {
    Endpoint::grpc("m").reference(TokenScript::default())
}

#[model_bench(remote, concurrency = [1])]
fn chat() -> OpenAiEndpoint {
    Endpoint::openai_chat("m").reference(ReferenceConfig::default())
}

#[model_bench(remote, concurrency = [1])]
fn post() -> PostEndpoint {
    Endpoint::post("/p", "text/plain", Vec::new()).reference(ReferenceConfig::default())
}

fn main() {}
