//! model-bench's reference server on its own: the example MobileNet (`mobilenet`) and an identity
//! model (`identity`) over the Open Inference Protocol, REST and gRPC, on 127.0.0.1 until Ctrl-C.
//!
//! ```sh
//! cargo run --release --example reference_server -- [--fixed-ms 2] [--stall-ms 200 --period-ms 1000] \
//!     [--max-batch 8 --queue-delay-ms 2]
//! ```
//! Then bench it from another shell, e.g.
//! `MODEL_BENCH_REST_URL=http://127.0.0.1:PORT MODEL_BENCH_GRPC_URL=http://127.0.0.1:PORT cargo bench --bench serving`.

use std::time::Duration;

use model_bench::remote::{InjectedLatency, ReferenceConfig};
use model_bench::server::ReferenceServer;
use model_bench_suite::classify::model_path;

fn main() {
    if let Err(message) = run() {
        eprintln!("reference_server: {message}");
        std::process::exit(2);
    }
}

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let (mut fixed, mut stall, mut period, mut max_batch, mut queue_delay) = (0, 0, 1000, 0, 0);
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .ok_or_else(|| format!("{flag} needs a value"))?
            .parse::<u64>()
            .map_err(|e| format!("{flag}: {e}"))?;
        match flag.as_str() {
            "--fixed-ms" => fixed = value,
            "--stall-ms" => stall = value,
            "--period-ms" => period = value,
            "--max-batch" => max_batch = value,
            "--queue-delay-ms" => queue_delay = value,
            other => return Err(format!("unknown flag {other}")),
        }
    }
    let mut config = ReferenceConfig::new()
        .onnx("mobilenet", model_path())
        .identity("identity");
    if fixed > 0 || stall > 0 {
        config = config.latency(
            InjectedLatency::fixed(Duration::from_millis(fixed))
                .with_stall(Duration::from_millis(stall), Duration::from_millis(period)),
        );
    }
    if max_batch > 1 {
        config = config.batching(max_batch as usize, Duration::from_millis(queue_delay));
    }
    let server = ReferenceServer::start(&config).map_err(|e| e.to_string())?;
    println!("REST: {}", server.rest_url());
    println!("gRPC: {}", server.grpc_url());
    println!("models: mobilenet (input `input` FP32 [-1, 3, 224, 224]), identity; Ctrl-C stops");
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}
