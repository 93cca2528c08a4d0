//! The remote clients and the load generator against a real MLServer 1.7.1: an Open Inference
//! Protocol server that no one here wrote, so a client bug cannot hide behind a matching bug in
//! our own reference server. One server (the `identity` model from `tests/mlserver/`, see its
//! README for what was verified by hand) is started on ephemeral 127.0.0.1 ports and shared by
//! the steps of one test: health, metadata and one inference over REST and gRPC, short closed and
//! open loops, an unknown model, and MLServer's refusal of the REST binary extension.
//!
//! MLServer comes from `$MODEL_BENCH_MLSERVER`, else `.venv-mlserver/bin/mlserver`, which
//! `./scripts/test.sh` installs. Without it this test fails; it never passes silently.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use model_bench::remote::error::ErrorClass;
use model_bench::remote::watch::prometheus::Scraper;
use model_bench::remote::{Arrival, Endpoint, LoadPlan, Tensor, V2Endpoint, V2Protocol};

mod common;

use common::{connect, run, runtime};

const MODEL: &str = "identity";
/// The MLServer scripts/test.sh installs.
const MLSERVER_VERSION: &str = "1.7.1";
/// How long MLServer may take to load the model (2.5–4 s was measured on two busy cores).
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);
/// Per-request timeout; also bounds each load run's drain.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The mlserver executable, or a failure that says how to install it.
fn mlserver_binary() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let from_env = std::env::var_os("MODEL_BENCH_MLSERVER").filter(|v| !v.is_empty());
    let (path, origin) = match from_env {
        Some(path) => (PathBuf::from(path), "$MODEL_BENCH_MLSERVER"),
        None => (
            manifest_dir.join(".venv-mlserver/bin/mlserver"),
            "the default location",
        ),
    };
    assert!(
        path.is_file(),
        "MLServer not found at {} ({origin}). Run ./scripts/test.sh, which installs mlserver 1.7.1 \
         into .venv-mlserver, or set MODEL_BENCH_MLSERVER to an mlserver 1.7.1 executable.",
        path.display()
    );
    path
}

/// A running MLServer; dropping it kills the process and waits for it.
struct MlServer {
    child: Child,
    http_port: u16,
    grpc_port: u16,
    metrics_port: u16,
    log: PathBuf,
    // Last: removed after the process is gone.
    _dir: tempfile::TempDir,
}

impl MlServer {
    /// Starts MLServer and waits until the model is ready. A server that exits on its own (most
    /// likely another process took a port between picking and binding) gets one more try on new
    /// ports.
    fn start() -> MlServer {
        let binary = mlserver_binary();
        match MlServer::try_start(&binary) {
            Ok(server) => server,
            Err(first) => match MlServer::try_start(&binary) {
                Ok(server) => server,
                Err(second) => panic!(
                    "MLServer exited during startup twice.\nfirst try:\n{first}\nsecond try:\n{second}"
                ),
            },
        }
    }

    /// `Err` only when the process exited by itself; a timeout fails the test at once.
    fn try_start(binary: &Path) -> Result<MlServer, String> {
        let dir = tempfile::Builder::new()
            .prefix("model-bench-mlserver-")
            .tempdir()
            .expect("a temp dir for MLServer");
        let [http_port, grpc_port, metrics_port] = free_ports();
        let settings = serde_json::json!({
            "host": "127.0.0.1",
            "http_port": http_port,
            "grpc_port": grpc_port,
            "metrics_port": metrics_port,
            "metrics_endpoint": "/metrics",
            "parallel_workers": 0,
            "debug": false,
        });
        std::fs::write(dir.path().join("settings.json"), settings.to_string())
            .expect("write settings.json");
        copy_model(&dir.path().join(MODEL));

        let log = dir.path().join("mlserver.log");
        let log_file = File::create(&log).expect("create the MLServer log");
        let mut command = Command::new(binary);
        command
            .arg("start")
            .arg(dir.path())
            .current_dir(dir.path())
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("clone the log handle"))
            .stderr(log_file);
        // settings.json decides; nothing from the caller's environment may change it.
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("MLSERVER_") {
                command.env_remove(name);
            }
        }
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let mut server = MlServer {
            child,
            http_port,
            grpc_port,
            metrics_port,
            log,
            _dir: dir,
        };

        let deadline = Instant::now() + STARTUP_TIMEOUT;
        let ready_path = format!("/v2/models/{MODEL}/ready");
        loop {
            if let Some(status) = server.child.try_wait().expect("poll the MLServer process") {
                return Err(format!(
                    "MLServer ({}) exited with {status} before the model was ready \
                     (http {http_port}, grpc {grpc_port}); its output:\n{}",
                    binary.display(),
                    server.log_tail()
                ));
            }
            let rest_ready = http_status(http_port, &ready_path) == Some(200);
            if rest_ready && TcpStream::connect(("127.0.0.1", grpc_port)).is_ok() {
                return Ok(server);
            }
            if Instant::now() >= deadline {
                // `server` is dropped (killed) by the unwinding.
                panic!(
                    "MLServer was not ready within {STARTUP_TIMEOUT:?} (GET {ready_path} on port \
                     {http_port}, gRPC port {grpc_port}); its output:\n{}",
                    server.log_tail()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn rest_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.http_port)
    }

    fn grpc_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.grpc_port)
    }

    /// Its Prometheus metrics (Python's prometheus_client, on a port of their own).
    fn metrics_url(&self) -> String {
        format!("http://127.0.0.1:{}/metrics", self.metrics_port)
    }

    fn url_for(&self, protocol: V2Protocol) -> String {
        match protocol {
            V2Protocol::Grpc => self.grpc_url(),
            _ => self.rest_url(),
        }
    }

    /// The last lines MLServer wrote.
    fn log_tail(&self) -> String {
        let text = std::fs::read(&self.log)
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_else(|e| format!("(cannot read {}: {e})", self.log.display()));
        let lines: Vec<&str> = text.lines().collect();
        let tail = &lines[lines.len().saturating_sub(40)..];
        if tail.is_empty() {
            "(no output)".into()
        } else {
            tail.join("\n")
        }
    }
}

impl Drop for MlServer {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("MLServer output (last lines):\n{}", self.log_tail());
        }
        // With parallel_workers 0 it has no worker processes, so killing it leaves nothing behind.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Distinct ports that were free a moment ago (all bound at once, so none repeats).
fn free_ports<const N: usize>() -> [u16; N] {
    let listeners: [TcpListener; N] =
        std::array::from_fn(|_| TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port"));
    listeners.map(|l| l.local_addr().expect("a local address").port())
}

/// The fixture model, copied so that nothing MLServer might write lands in the repository.
fn copy_model(to: &Path) {
    let from = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/mlserver")
        .join(MODEL);
    std::fs::create_dir(to).expect("create the model dir");
    let entries = std::fs::read_dir(&from)
        .unwrap_or_else(|e| panic!("cannot read the fixture {}: {e}", from.display()));
    for entry in entries {
        let entry = entry.expect("a fixture entry");
        if entry.file_type().expect("a file type").is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name()))
                .unwrap_or_else(|e| panic!("cannot copy {}: {e}", entry.path().display()));
        }
    }
}

/// The status of `GET path` on 127.0.0.1:port, or `None` when nothing answers (yet).
fn http_status(port: u16, path: &str) -> Option<u16> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(1)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).ok()?;
    // "HTTP/1.1 200"
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

fn identity_endpoint(protocol: V2Protocol) -> V2Endpoint {
    common::identity_endpoint(protocol, REQUEST_TIMEOUT)
}

fn step(start: Instant, what: &str) {
    eprintln!("[{:>6.2} s] {what}", start.elapsed().as_secs_f64());
}

#[test]
fn clients_and_load_generator_against_a_real_mlserver() {
    let start = Instant::now();
    step(start, "starting MLServer");
    let server = MlServer::start();
    step(
        start,
        &format!(
            "MLServer ready: {} (REST), {} (gRPC)",
            server.rest_url(),
            server.grpc_url()
        ),
    );
    let rt = runtime();
    let both = [V2Protocol::RestJson, V2Protocol::Grpc];

    for protocol in both {
        step(
            start,
            &format!("{protocol}: health, metadata, one inference"),
        );
        let endpoint = identity_endpoint(protocol);
        let client = connect(&rt, &endpoint, &server.url_for(protocol));

        rt.block_on(client.health())
            .unwrap_or_else(|e| panic!("{protocol}: health (live, ready, model ready): {e}"));

        let metadata = rt
            .block_on(client.metadata())
            .unwrap_or_else(|e| panic!("{protocol}: metadata: {e}"));
        assert_eq!(metadata.name, MODEL, "{protocol}: {metadata:?}");
        assert_eq!(metadata.platform, "python", "{protocol}: {metadata:?}");
        assert_eq!(metadata.inputs.len(), 1, "{protocol}: {metadata:?}");
        assert_eq!(
            metadata.inputs[0].name, "INPUT0",
            "{protocol}: {metadata:?}"
        );
        assert_eq!(
            metadata.inputs[0].datatype, "FP32",
            "{protocol}: {metadata:?}"
        );
        assert_eq!(
            metadata.inputs[0].shape,
            [-1, 4],
            "{protocol}: {metadata:?}"
        );
        assert_eq!(metadata.outputs.len(), 1, "{protocol}: {metadata:?}");
        assert_eq!(
            metadata.outputs[0].name, "OUTPUT0",
            "{protocol}: {metadata:?}"
        );
        assert_eq!(
            metadata.outputs[0].datatype, "FP32",
            "{protocol}: {metadata:?}"
        );

        // The server's own metadata, which a bench records as its `server.*` facts: MLServer
        // names itself and the version test.sh installed.
        let server_metadata = rt
            .block_on(client.server_metadata())
            .unwrap_or_else(|e| panic!("{protocol}: server metadata: {e}"));
        assert_eq!(
            server_metadata.name, "mlserver",
            "{protocol}: {server_metadata:?}"
        );
        assert_eq!(
            server_metadata.version, MLSERVER_VERSION,
            "{protocol}: {server_metadata:?}"
        );

        // The response carries OUTPUT0 with shape [2, 4] and 8 values (raw bytes over gRPC).
        rt.block_on(client.send())
            .unwrap_or_else(|e| panic!("{protocol}: inference: {e}"));

        // The output check is real: the same response with another expected shape is refused.
        let strict = identity_endpoint(protocol).expect_output_shape("OUTPUT0", [8]);
        let strict = connect(&rt, &strict, &server.url_for(protocol));
        let error = rt
            .block_on(strict.send())
            .expect_err("an output shape that MLServer does not return must be an error");
        assert_eq!(error.class, ErrorClass::Decode, "{protocol}: {error}");
        assert!(
            error.message.contains("expected [8]"),
            "{protocol}: {error}"
        );

        step(
            start,
            &format!("{protocol}: closed loop, 4 in flight, 200 requests"),
        );
        // MLServer's own Prometheus counter, scraped around and during the loop (no warm-up, so
        // every request is measured), counts exactly the requests that succeeded.
        let plan = LoadPlan::closed(4, Duration::from_secs(30)).max_requests(200);
        let scraper = rt
            .block_on(Scraper::start(
                &server.metrics_url(),
                Duration::ZERO,
                Duration::from_millis(200),
            ))
            .expect("an HTTP client for the scraper");
        let stats = run(&rt, &client, &plan);
        let metrics = rt
            .block_on(scraper.finish())
            .unwrap_or_else(|e| panic!("{protocol}: MLServer's metrics: {e}"))
            .metrics;
        assert_eq!(stats.errors, 0, "{protocol}: {:?}", stats.first_errors);
        assert_eq!(stats.requests, 200, "{protocol}: {stats:?}");
        assert_eq!(stats.ok, stats.requests, "{protocol}: {stats:?}");
        assert!(stats.latency.is_some(), "{protocol}: {stats:?}");
        assert_eq!(metrics.failed_scrapes, 0, "{protocol}: {metrics:?}");
        // One series per protocol: MLServer labels REST requests `version="None"` and gRPC
        // requests `version=""`.
        let counted: f64 = metrics
            .series
            .iter()
            .filter(|s| {
                s.name == "model_infer_request_success_total"
                    && s.labels.get("model").map(String::as_str) == Some(MODEL)
            })
            .map(|s| {
                assert_eq!(s.kind, "counter", "{s:?}");
                s.last - s.first
            })
            .sum();
        assert_eq!(counted, 200.0, "{protocol}: {metrics:?}");
        let memory = metrics
            .series
            .iter()
            .find(|s| s.name == "process_resident_memory_bytes")
            .unwrap_or_else(|| panic!("{protocol}: no process memory in {metrics:?}"));
        assert!(memory.min > 0.0 && memory.max >= memory.min, "{memory:?}");
    }

    // A metrics URL that answers something else is an error that names it: JSON (its REST
    // health route), and a path it does not serve.
    for (url, expected) in [
        (
            format!("{}/v2/health/ready", server.rest_url()),
            "Prometheus",
        ),
        (format!("{}/nope", server.rest_url()), "HTTP 404"),
    ] {
        let error = rt
            .block_on(model_bench::remote::watch::prometheus::scrape_once(&url))
            .expect_err("not a metrics URL");
        assert!(error.contains(&url) && error.contains(expected), "{error}");
    }

    // Nor over gRPC: ModelStatistics is Triton's addition to the service.
    let grpc = connect(
        &rt,
        &identity_endpoint(V2Protocol::Grpc),
        &server.grpc_url(),
    );
    let error = rt
        .block_on(grpc.model_statistics())
        .expect("a gRPC endpoint asks")
        .expect_err("MLServer does not implement ModelStatistics");
    assert_eq!(
        error.class,
        ErrorClass::GrpcCode("unimplemented".into()),
        "{error}"
    );

    // MLServer has no Triton statistics extension: reading it is an error naming the URL,
    // which the runner turns into a note beside an unaffected load point.
    let stats_url = model_bench::remote::watch::server_stats::url(&server.rest_url(), MODEL);
    let error = rt
        .block_on(model_bench::remote::watch::server_stats::fetch(
            &stats_url, MODEL,
        ))
        .expect_err("MLServer does not offer Triton's statistics");
    assert!(error.contains(&stats_url), "{error}");

    step(start, "rest: open loop, Poisson 50 req/s for 2 s");
    let client = connect(
        &rt,
        &identity_endpoint(V2Protocol::RestJson),
        &server.rest_url(),
    );
    let plan = LoadPlan::open(50.0, Arrival::Poisson, Duration::from_secs(2));
    let stats = run(&rt, &client, &plan);
    assert_eq!(stats.errors, 0, "{:?}", stats.first_errors);
    // Poisson arrivals at 50/s for 2 s: 100 expected, within four standard deviations (√100).
    assert!((60..=140).contains(&stats.requests), "{stats:?}");
    assert_eq!(stats.ok, stats.requests, "{stats:?}");
    assert_eq!(stats.dropped, 0, "{stats:?}");

    for (protocol, key) in [
        (V2Protocol::RestJson, "http_404"),
        (V2Protocol::Grpc, "grpc_not_found"),
    ] {
        step(start, &format!("{protocol}: unknown model `nope`"));
        let endpoint = Endpoint::rest("nope")
            .with_protocol(protocol)
            .input(Tensor::fp32("INPUT0", [1, 4], &[1.0, 2.0, 3.0, 4.0]).unwrap())
            .timeout(REQUEST_TIMEOUT);
        let client = connect(&rt, &endpoint, &server.url_for(protocol));
        let error = rt
            .block_on(client.health())
            .expect_err("an unknown model is not ready");
        assert!(error.message.contains("nope"), "{protocol}: {error}");
        let plan = LoadPlan::closed(1, Duration::from_secs(10)).max_requests(20);
        let stats = run(&rt, &client, &plan);
        assert_eq!(stats.requests, 20, "{protocol}: {stats:?}");
        assert_eq!(stats.ok, 0, "{protocol}: {stats:?}");
        assert_eq!(
            stats.errors_by_class.get(key),
            Some(&20),
            "{protocol}: {:?}",
            stats.errors_by_class
        );
        assert!(
            stats.first_errors[key].contains("nope"),
            "{protocol}: {:?}",
            stats.first_errors
        );
    }

    step(
        start,
        "rest-binary: MLServer does not speak the binary extension",
    );
    let endpoint = identity_endpoint(V2Protocol::RestBinary);
    let client = connect(&rt, &endpoint, &server.rest_url());
    let error = rt
        .block_on(client.send())
        .expect_err("MLServer 1.7.1 refuses binary-extension bodies");
    assert!(
        matches!(error.class, ErrorClass::HttpStatus(400..=599)),
        "an HTTP error status, not {error}"
    );
    // Every request fails and is counted. After such a 500 (an exception in MLServer's error
    // handler) uvicorn resets the keep-alive connection without `Connection: close`, so a request
    // that the client sends on that pooled connection meanwhile fails as `io`, not with a status.
    let plan = LoadPlan::closed(2, Duration::from_secs(10)).max_requests(10);
    let stats = run(&rt, &client, &plan);
    step(start, &format!("rest-binary: {:?}", stats.errors_by_class));
    assert_eq!(stats.requests, 10, "{stats:?}");
    assert_eq!(stats.errors, 10, "{stats:?}");
    let is_status = |key: &String| key.starts_with("http_4") || key.starts_with("http_5");
    assert!(
        stats.errors_by_class.keys().any(is_status),
        "{:?}",
        stats.first_errors
    );
    assert!(
        stats
            .errors_by_class
            .keys()
            .all(|key| is_status(key) || key == "io"),
        "{:?}",
        stats.first_errors
    );

    step(start, "done; stopping MLServer");
    drop(rt);
    drop(server);
}
