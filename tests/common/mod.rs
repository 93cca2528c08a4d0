//! What the remote integration tests share: a runtime, the identity model's endpoint, a client,
//! and one load run's statistics.

use std::sync::Arc;
use std::time::Duration;

use model_bench::remote::{Client, Endpoint, LoadPlan, Request, Tensor, V2Endpoint, V2Protocol};
use model_bench::results::LoadStats;

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

pub fn no_env(_: &str) -> Option<String> {
    None
}

/// `identity` with one FP32 `[2, 4]` input, whose response must carry `OUTPUT0` of that shape.
pub fn identity_endpoint(protocol: V2Protocol, timeout: Duration) -> V2Endpoint {
    let data = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0];
    Endpoint::rest("identity")
        .with_protocol(protocol)
        .input(Tensor::fp32("INPUT0", [2, 4], &data).unwrap())
        .expect_output_shape("OUTPUT0", [2, 4])
        .timeout(timeout)
}

pub fn connect<R: Request>(
    runtime: &tokio::runtime::Runtime,
    endpoint: &Endpoint<R>,
    url: &str,
) -> Arc<Client> {
    let client = runtime.block_on(Client::connect(endpoint, url, no_env));
    Arc::new(client.unwrap_or_else(|e| panic!("{} client for {url}: {e}", endpoint.protocol())))
}

pub fn run(runtime: &tokio::runtime::Runtime, client: &Arc<Client>, plan: &LoadPlan) -> LoadStats {
    runtime
        .block_on(model_bench::remote::load::run(Arc::clone(client), plan))
        .stats
}
