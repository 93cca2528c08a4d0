//! The load generator measured against its peers, in one run on one machine: REST closed-loop
//! throughput against `oha` and `wrk` (same endpoint, same connection count), gRPC `ModelInfer`
//! throughput against `h2load` (same framed request, one connection, same streams), open-loop
//! rate accuracy and send lateness, and client memory over a long run. The server is the
//! reference server's identity model in a separate process (this binary re-run with `--serve`),
//! so the client's memory is its own. A peer that is not installed is skipped with a note.
//! Each tool's client CPU time per request is printed beside its throughput: on a machine the
//! server shares, it is the steadier measure of what the client itself costs. Ratios go to
//! `docs/PERFORMANCE.md`. Token streams against aiperf are in `loadgen/llm.rs` (section `llm`);
//! one open-loop schedule from N scale-out worker processes in `loadgen/scaleout.rs` (`scaleout`);
//! a Mooncake trace replayed on time in `loadgen/replay.rs` (`trace`); multi-turn sessions
//! against aiperf in `loadgen/sessions.rs` (`sessions`); many streams open at once in `loadgen/streams.rs` (`streams`).

#[path = "loadgen/llm.rs"]
mod llm;
#[path = "common/process.rs"]
mod process;
#[path = "loadgen/replay.rs"]
mod replay;
#[path = "loadgen/scaleout.rs"]
mod scaleout;
#[path = "loadgen/sessions.rs"]
mod sessions;
#[path = "loadgen/streams.rs"]
mod streams;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use model_bench::remote::load::load_threads;
use model_bench::remote::{
    Arrival, Client, Endpoint, LoadPlan, ReferenceConfig, Request, Tensor, V2Endpoint,
};
use model_bench::server::ReferenceServer;
use process::{cpu_seconds, status_mib};
use prost::Message;

const CONNECTIONS: usize = 16;

/// One tool's run: its throughput and the client CPU time (user + system) it spent per request,
/// which the other process on these two cores (the server) does not blur as much.
#[derive(Clone, Copy)]
struct Measured {
    rate: f64,
    cpu_us_per_request: f64,
}

impl Measured {
    fn show(&self) -> String {
        format!(
            "{:.0} req/s, {:.1} µs client CPU per request",
            self.rate, self.cpu_us_per_request
        )
    }
}

/// Runs `work` (which returns a rate) and charges it the CPU that `who` used meanwhile.
fn measure(
    who: libc::c_int,
    work: impl FnOnce() -> Result<f64, String>,
) -> Result<Measured, String> {
    let cpu = cpu_seconds(who);
    let wall = std::time::Instant::now();
    let rate = work()?;
    let requests = rate * wall.elapsed().as_secs_f64();
    Ok(Measured {
        rate,
        cpu_us_per_request: (cpu_seconds(who) - cpu) / requests * 1e6,
    })
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--serve") {
        serve();
        return;
    }
    if args.first().map(String::as_str) == Some("--serve-llm") {
        llm::serve(&args[1..]);
        return;
    }
    if args.first().map(String::as_str) == Some("--scaleout-worker") {
        scaleout::worker(&args[1..]);
        return;
    }
    // `cargo test --benches` runs bench targets without `--bench`: a short smoke run then.
    let full = args.iter().any(|a| a == "--bench");
    let seconds = if full { 3 } else { 1 };
    let duration = Duration::from_secs(seconds);
    let (rest_url, grpc_url, mut server) = match spawn_server() {
        Ok(started) => started,
        Err(message) => {
            eprintln!("loadgen: cannot start the reference server: {message}");
            std::process::exit(1);
        }
    };
    let input = Tensor::fp32("INPUT0", [1, 16], &[0.5; 16]).expect("a valid tensor");
    let rest = Endpoint::rest("identity").input(input.clone());
    let grpc = Endpoint::grpc("identity").input(input);
    // The workers the runner's load runtime has for each endpoint (load::load_threads: half
    // the cores for REST, one per HTTP/2 connection for gRPC), unless LOADGEN_CLIENT_THREADS says.
    let client_threads: Option<usize> = std::env::var("LOADGEN_CLIENT_THREADS")
        .ok()
        .and_then(|v| v.parse().ok());
    let runtime_for = |endpoint: &V2Endpoint| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(client_threads.unwrap_or(load_threads(endpoint)))
            .enable_all()
            .build()
            .expect("a tokio runtime")
    };
    let runtime = runtime_for(&rest);
    let grpc_runtime = runtime_for(&grpc);
    // LOADGEN_ONLY=rest,grpc,open,scaleout,memory,llm,trace,sessions,streams runs some sections; LOADGEN_ROUNDS how many times each
    // tool runs, interleaved, so slow drift on a shared machine hits every tool alike.
    let only = std::env::var("LOADGEN_ONLY").unwrap_or_default();
    let wanted = |section: &str| only.is_empty() || only.split(',').any(|s| s.trim() == section);
    // The main job (`cargo bench`, every section) runs each peer once, so it stays within its
    // few minutes; a chosen section runs three rounds unless told.
    let whole_run = only.is_empty();
    let rounds: usize = std::env::var("LOADGEN_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if full && !whole_run { 3 } else { 1 });

    // First, while the process is fresh: memory over a long run.
    if wanted("memory") {
        let requests: u64 = std::env::var("LOADGEN_MEMORY_REQUESTS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(if full { 200_000 } else { 5_000 });
        memory_run(&runtime, &rest, &rest_url, requests);
    }

    if wanted("rest") {
        println!(
            "== REST closed loop, {CONNECTIONS} connections, {seconds} s each, {rounds} rounds"
        );
        let body = String::from_utf8(
            model_bench::remote::oip::v2::encode_json_request(&rest.infer_request())
                .expect("encodable"),
        )
        .expect("JSON is UTF-8");
        let infer_url = format!("{rest_url}/v2/models/identity/infer");
        let mut oha_ratios = Vec::new();
        let mut wrk_ratios = Vec::new();
        for round in 1..=rounds {
            let ours = ours(&runtime, &rest, &rest_url, duration);
            println!("round {round}: model-bench {}", ours.show());
            let peer = measure(libc::RUSAGE_CHILDREN, || oha(&infer_url, &body, seconds));
            oha_ratios.extend(report_peer("oha", ours, peer));
            let peer = measure(libc::RUSAGE_CHILDREN, || wrk(&infer_url, &body, seconds));
            wrk_ratios.extend(report_peer("wrk", ours, peer));
        }
        report_median("oha", &mut oha_ratios);
        report_median("wrk", &mut wrk_ratios);
    }

    if wanted("grpc") {
        println!(
            "== gRPC ModelInfer, 1 connection, {CONNECTIONS} streams, {seconds} s each, {rounds} rounds"
        );
        let mut ratios = Vec::new();
        for round in 1..=rounds {
            let ours = ours(&grpc_runtime, &grpc, &grpc_url, duration);
            println!("round {round}: model-bench {}", ours.show());
            let peer = measure(libc::RUSAGE_CHILDREN, || h2load(&grpc_url, &grpc, seconds));
            ratios.extend(report_peer("h2load", ours, peer));
        }
        report_median("h2load", &mut ratios);
    }

    if wanted("open") {
        println!("== open loop: target rate vs achieved, send lateness ({seconds} s each)");
        let client = connect(&runtime, &rest, &rest_url);
        for rate in [1_000.0, 5_000.0, 10_000.0, 20_000.0] {
            let plan = LoadPlan::open(rate, Arrival::Constant, duration)
                .warm_up(Duration::from_millis(200));
            let run = runtime.block_on(model_bench::remote::load::run(Arc::clone(&client), &plan));
            let s = run.stats();
            let lateness = s.lateness.expect("open loops record lateness");
            println!(
                "target {rate:>6.0}/s: sent {:.0}/s ({:+.2} %), ok {:.0}/s, lateness p50 {:.1} µs p99 {:.1} µs, late >1 ms {:.2} %, errors {}, dropped {}",
                s.sent_rps,
                100.0 * (s.sent_rps / rate - 1.0),
                s.throughput_rps,
                lateness.p50 / 1e3,
                lateness.p99 / 1e3,
                s.late_pct.unwrap_or(0.0),
                s.errors,
                s.dropped
            );
        }
    }

    if wanted("scaleout") {
        scaleout::compare(&rest_url, seconds, full, whole_run);
    }

    let _ = server.kill();
    let _ = server.wait();

    if wanted("llm") {
        llm::compare(full);
    }

    if wanted("trace") {
        replay::replay(full);
    }

    if wanted("sessions") {
        sessions::compare(full);
    }

    if wanted("streams") {
        streams::many_streams(full);
    }
}

/// The reference server in this process until stdin closes; prints its URLs first.
fn serve() {
    let server = match ReferenceServer::start(&ReferenceConfig::default()) {
        Ok(server) => server,
        Err(error) => {
            eprintln!("{error}");
            std::process::exit(1);
        }
    };
    println!("{} {}", server.rest_url(), server.grpc_url());
    wait_for_stdin_to_close();
}

/// Blocks a `--serve` child until its parent closes its stdin (or dies).
fn wait_for_stdin_to_close() {
    let _ = std::io::stdout().flush();
    let mut line = String::new();
    while std::io::stdin()
        .read_line(&mut line)
        .map(|n| n > 0)
        .unwrap_or(false)
    {}
}

fn spawn_server() -> Result<(String, String, std::process::Child), String> {
    let (line, child) = spawn_self(&["--serve"])?;
    let mut urls = line.split_whitespace();
    match (urls.next(), urls.next()) {
        (Some(rest), Some(grpc)) => Ok((rest.to_string(), grpc.to_string(), child)),
        _ => Err(format!("unexpected first line `{}`", line.trim())),
    }
}

/// This binary re-run with `args` (a `--serve…` mode): its first line (the URLs it serves) and
/// the child, which serves until its stdin closes.
fn spawn_self(args: &[&str]) -> Result<(String, std::process::Child), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut child = Command::new(exe)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    Ok((line, child))
}

fn memory_run(runtime: &tokio::runtime::Runtime, rest: &V2Endpoint, rest_url: &str, requests: u64) {
    let memory_client = connect(runtime, rest, rest_url);
    println!("== client memory over {requests} requests (closed loop, {CONNECTIONS} in flight)");
    let plan = LoadPlan::closed(CONNECTIONS, Duration::from_secs(3600)).max_requests(requests);
    let (run, samples) =
        rss_sampled(|| runtime.block_on(model_bench::remote::load::run(memory_client, &plan)));
    let s = run.stats();
    let first = samples.first().copied().unwrap_or(0.0);
    let last = samples.last().copied().unwrap_or(0.0);
    let peak = samples.iter().copied().fold(0.0, f64::max);
    println!(
        "{} requests ({} ok) in {:.1} s: client RSS first {first:.1} MiB, last {last:.1} MiB, peak {peak:.1} MiB",
        s.requests, s.ok, s.elapsed_s
    );
}

/// Runs `work` while a thread samples this process's RSS (MiB) every 250 ms, the last sample
/// taken when `work` returns.
fn rss_sampled<T>(work: impl FnOnce() -> T) -> (T, Vec<f64>) {
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = {
        let sampling = Arc::clone(&sampling);
        std::thread::spawn(move || {
            let mut samples = Vec::new();
            while sampling.load(Ordering::Relaxed) {
                samples.push(rss_mib());
                std::thread::sleep(Duration::from_millis(250));
            }
            samples
        })
    };
    let done = work();
    sampling.store(false, Ordering::Relaxed);
    let mut samples = sampler.join().unwrap_or_default();
    samples.push(rss_mib());
    (done, samples)
}

/// A client for `endpoint` at `url` on the load runtime the runner would give it.
fn llm_client(
    endpoint: &model_bench::remote::OpenAiEndpoint,
    url: &str,
) -> Result<(tokio::runtime::Runtime, Arc<Client>), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(load_threads(endpoint))
        .enable_all()
        .build()
        .map_err(|e| format!("cannot build a tokio runtime: {e}"))?;
    let client = runtime
        .block_on(Client::connect(endpoint, url, |_| None))
        .map_err(|e| format!("cannot connect: {e}"))?;
    Ok((runtime, Arc::new(client)))
}

fn connect<R: Request>(
    runtime: &tokio::runtime::Runtime,
    endpoint: &Endpoint<R>,
    url: &str,
) -> Arc<Client> {
    let client = runtime.block_on(Client::connect(endpoint, url, |_| None));
    Arc::new(client.expect("the client builds"))
}

/// model-bench's closed loop at `CONNECTIONS` against `url`.
fn ours(
    runtime: &tokio::runtime::Runtime,
    endpoint: &V2Endpoint,
    url: &str,
    duration: Duration,
) -> Measured {
    let client = connect(runtime, endpoint, url);
    let plan = LoadPlan::closed(CONNECTIONS, duration).warm_up(Duration::from_millis(500));
    let measured = measure(libc::RUSAGE_SELF, || {
        let run = runtime.block_on(model_bench::remote::load::run(client, &plan));
        let stats = run.stats();
        if stats.errors > 0 {
            println!(
                "model-bench: {} errors: {:?}",
                stats.errors, stats.first_errors
            );
        }
        Ok(stats.throughput_rps)
    });
    measured.expect("model-bench's own run always has a rate")
}

/// Prints the peer's figures and model-bench's throughput ratio to it; the ratio, when the peer
/// ran.
fn report_peer(name: &str, ours: Measured, peer: Result<Measured, String>) -> Option<f64> {
    match peer {
        Ok(peer) => {
            let ratio = ours.rate / peer.rate;
            println!(
                "round: {name} {}; throughput ratio model-bench / {name} = {ratio:.3}, CPU per request {:.2}×",
                peer.show(),
                ours.cpu_us_per_request / peer.cpu_us_per_request
            );
            Some(ratio)
        }
        Err(message) => {
            println!("{name}: skipped ({message})");
            None
        }
    }
}

fn report_median(name: &str, ratios: &mut [f64]) {
    if ratios.is_empty() {
        return;
    }
    ratios.sort_by(f64::total_cmp);
    let shown: Vec<String> = ratios.iter().map(|r| format!("{r:.3}")).collect();
    println!(
        "model-bench / {name}: median {:.3} over {} rounds ({})",
        ratios[ratios.len() / 2],
        ratios.len(),
        shown.join(", ")
    );
}

fn run_tool(program: &str, args: &[String]) -> Result<String, String> {
    let output = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| format!("`{program}` not runnable: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "`{program}` exited with {}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The first number after `label` on the line that contains it.
fn number_after(text: &str, label: &str) -> Result<f64, String> {
    text.lines()
        .find_map(|line| {
            let rest = &line[line.find(label)? + label.len()..];
            rest.split_whitespace()
                .next()?
                .trim_end_matches(',')
                .parse()
                .ok()
        })
        .ok_or_else(|| format!("no `{label}` in its output"))
}

fn oha(url: &str, body: &str, seconds: u64) -> Result<f64, String> {
    let program = std::env::var("LOADGEN_OHA").unwrap_or_else(|_| "oha".into());
    let args: Vec<String> = [
        "-z",
        &format!("{seconds}s"),
        "-c",
        &CONNECTIONS.to_string(),
        "--no-tui",
        "-m",
        "POST",
        "-T",
        "application/json",
        "-d",
        body,
        url,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    number_after(&run_tool(&program, &args)?, "Requests/sec:")
}

fn wrk(url: &str, body: &str, seconds: u64) -> Result<f64, String> {
    let script = std::env::temp_dir().join(format!("model-bench-wrk-{}.lua", std::process::id()));
    let lua = format!(
        "wrk.method = \"POST\"\nwrk.body = {body:?}\nwrk.headers[\"Content-Type\"] = \"application/json\"\n"
    );
    std::fs::write(&script, lua).map_err(|e| e.to_string())?;
    let args: Vec<String> = vec![
        "-t2".into(),
        format!("-c{CONNECTIONS}"),
        format!("-d{seconds}s"),
        "-s".into(),
        script.display().to_string(),
        url.into(),
    ];
    let result = run_tool("wrk", &args);
    let _ = std::fs::remove_file(&script);
    number_after(&result?, "Requests/sec:")
}

fn h2load(grpc_url: &str, endpoint: &V2Endpoint, seconds: u64) -> Result<f64, String> {
    // The same ModelInferRequest bytes model-bench sends, in one gRPC length-prefixed frame.
    let request =
        model_bench::remote::client::encode_grpc_request(&endpoint.infer_request()).encode_to_vec();
    let mut frame = vec![0u8];
    frame.extend_from_slice(&(request.len() as u32).to_be_bytes());
    frame.extend_from_slice(&request);
    let data = std::env::temp_dir().join(format!("model-bench-h2load-{}.bin", std::process::id()));
    std::fs::write(&data, frame).map_err(|e| e.to_string())?;
    let args: Vec<String> = vec![
        "-c1".into(),
        format!("-m{CONNECTIONS}"),
        format!("-D{seconds}"),
        "--warm-up-time=1s".into(),
        format!("--data={}", data.display()),
        "-H".into(),
        "content-type: application/grpc".into(),
        "-H".into(),
        "te: trailers".into(),
        format!("{grpc_url}/inference.GRPCInferenceService/ModelInfer"),
    ];
    let result = run_tool("h2load", &args);
    let _ = std::fs::remove_file(&data);
    let text = result?;
    // "finished in 3.00s, 12345.67 req/s, ..."
    number_after(&text, "s, ").or_else(|_| number_after(&text, "finished in"))
}

fn rss_mib() -> f64 {
    status_mib("VmRSS:")
}
