use model_bench::prelude::*;
use model_bench::remote::TensorError;

#[model_bench(remote, pipeline = "serving", concurrency = [1, 4, 16])]
fn closed_loop() -> V2Endpoint {
    Endpoint::grpc("identity").url("http://127.0.0.1:8001")
}

#[model_bench(remote, pipeline = "serving", rate = [10, 12.5], arrival = constant, max_in_flight = 8, requests = 100, seed = 3, measurement_time = "2s")]
fn open_loop() -> Result<V2Endpoint, TensorError> {
    Ok(Endpoint::rest("identity")
        .url("http://127.0.0.1:8000")
        .input(Tensor::fp32("INPUT0", [1, 2], &[1.0, 2.0])?))
}

/// Any endpoint kind may be returned, with no change to the attribute.
#[model_bench(remote, pipeline = "llm", concurrency = [2])]
fn chat() -> OpenAiEndpoint {
    Endpoint::openai_chat("tiny")
        .url("http://127.0.0.1:8002")
        .max_tokens(16)
        .synthetic_prompts(SyntheticPrompts::new(64).seed(1))
}

#[model_bench(remote, pipeline = "plain", concurrency = [1])]
fn predictions() -> Result<PostEndpoint, std::convert::Infallible> {
    Ok(Endpoint::post("/predictions/m", "application/json", b"{}".to_vec())
        .url("http://127.0.0.1:8080"))
}

fn main() {
    let benches = model_bench::registry::all();
    let ids: Vec<Vec<String>> = benches.iter().map(|bench| bench.point_ids()).collect();
    assert_eq!(
        ids,
        [
            vec!["serving/closed_loop/c1", "serving/closed_loop/c4", "serving/closed_loop/c16"],
            vec!["serving/open_loop/r10", "serving/open_loop/r12.5"],
            vec!["llm/chat/c2"],
            vec!["plain/predictions/c1"],
        ]
    );
    let open = benches[1].remote().expect("a remote bench");
    assert!(!open.poisson);
    assert_eq!((open.max_in_flight, open.requests, open.seed), (Some(8), Some(100), Some(3)));
    let endpoint = (open.endpoint)().expect("the endpoint builds");
    assert_eq!(endpoint.protocol(), Protocol::RestJson);
    let chat = (benches[2].remote().expect("a remote bench").endpoint)().expect("builds");
    assert_eq!((chat.protocol(), chat.name()), (Protocol::OpenAiChat, "tiny"));
    let post = (benches[3].remote().expect("a remote bench").endpoint)().expect("builds");
    assert_eq!((post.protocol(), post.name()), (Protocol::HttpPost, "/predictions/m"));
}
