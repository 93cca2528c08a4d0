//! Scale-out through the real load loops against the reference server over loopback: the
//! workers' shares of one open-loop schedule and of one closed loop, run one after another in
//! this process, add up exactly to the one-machine run, and each worker's histograms, written as
//! an interval log and read back, merge into the histogram of every request. Then the bench
//! binary as a worker (the fixture, with the variables a Kubernetes pod gets): its share of a
//! bench, and the clear errors for worker settings that do not add up or a start it missed.

use std::process::{Command, Output};
use std::time::{Duration, SystemTime};

use model_bench::remote::scaleout::{interval_log, merge, Interval, WorkerShare};
use model_bench::remote::{Arrival, LoadPlan, Protocol, ReferenceConfig};
use model_bench::server::ReferenceServer;

mod common;
#[path = "common/serial.rs"]
mod serial;

use common::{connect, run, runtime};
use serial::serial;

const TIMEOUT: Duration = Duration::from_secs(5);

#[test]
fn open_loop_workers_send_disjoint_shares_of_one_schedule() {
    let _serial = serial();
    let server = ReferenceServer::start(&ReferenceConfig::default()).unwrap();
    let runtime = runtime();
    let endpoint = common::identity_endpoint(Protocol::RestJson, TIMEOUT);
    let client = connect(&runtime, &endpoint, &server.rest_url());
    let plan = LoadPlan::open(400.0, Arrival::Poisson, Duration::from_secs(20))
        .warm_up(Duration::from_millis(100))
        .max_requests(300);
    for workers in [1, 3, 4] {
        let mut sent = Vec::new();
        for index in 0..workers {
            let share = WorkerShare::new(index, workers).unwrap();
            let stats = run(&runtime, &client, &plan.clone().for_worker(share));
            assert_eq!(stats.errors, 0, "{:?}", stats.first_errors);
            assert_eq!(stats.dropped, 0);
            sent.push(stats.requests);
        }
        // The window's arrivals are consecutive in the schedule, so each worker's residue class
        // holds an equal share (±1) and the shares add up to the whole budget.
        assert_eq!(sent.iter().sum::<u64>(), 300, "{workers} workers: {sent:?}");
        let (min, max) = (sent.iter().min().unwrap(), sent.iter().max().unwrap());
        assert!(max - min <= 1, "{workers} workers: {sent:?}");
    }
}

#[test]
fn closed_loop_workers_split_concurrency_and_budget_exactly() {
    let _serial = serial();
    let server = ReferenceServer::start(&ReferenceConfig::default()).unwrap();
    let runtime = runtime();
    let endpoint = common::identity_endpoint(Protocol::Grpc, TIMEOUT);
    let client = connect(&runtime, &endpoint, &server.grpc_url());
    // Two in flight over three workers: the middle one keeps none and sends nothing.
    let plan = LoadPlan::closed(2, Duration::from_secs(20)).max_requests(30);
    let sent: Vec<u64> = (0..3)
        .map(|index| {
            let share = WorkerShare::new(index, 3).unwrap();
            let stats = run(&runtime, &client, &plan.clone().for_worker(share));
            assert_eq!(stats.errors, 0, "{:?}", stats.first_errors);
            stats.requests
        })
        .collect();
    assert_eq!(sent, [15, 0, 15]);
}

#[test]
fn worker_logs_merge_into_the_histogram_of_every_request() {
    let _serial = serial();
    let server = ReferenceServer::start(&ReferenceConfig::default()).unwrap();
    let runtime = runtime();
    let endpoint = common::identity_endpoint(Protocol::RestJson, TIMEOUT);
    let client = connect(&runtime, &endpoint, &server.rest_url());
    let plan = LoadPlan::closed(2, Duration::from_secs(20)).max_requests(200);
    let dir = tempfile::tempdir().unwrap();
    let base = SystemTime::now();
    let mut latencies = Vec::new();
    let mut logs = Vec::new();
    for index in 0..2 {
        let share = WorkerShare::new(index, 2).unwrap();
        let run = runtime.block_on(model_bench::remote::load::run(
            std::sync::Arc::clone(&client),
            &plan.clone().for_worker(share),
        ));
        assert_eq!(run.stats.requests, 100);
        let latency = run.recorder.latency.clone();
        latencies.push(latency.clone());
        let path = dir.path().join(format!("worker-{index}.hlog"));
        let mut file = std::fs::File::create(&path).unwrap();
        let interval = Interval {
            tag: "latency".into(),
            start: Duration::ZERO,
            length: Duration::from_secs(1),
            histogram: latency,
        };
        interval_log::write_log(&mut file, base, [interval]).unwrap();
        logs.push(interval_log::read_log(&path).unwrap());
    }
    let merged = merge::merge(&logs).unwrap();
    let total = &merged.totals["latency"];
    // One histogram fed every request: the first worker's, with the second's values added.
    let mut all = latencies[0].clone();
    all.add(&latencies[1]).unwrap();
    assert_eq!(total.len(), 200);
    assert!(*total == all, "the merge is exact");
    for q in [0.5, 0.9, 0.99, 1.0] {
        assert_eq!(total.value_at_quantile(q), all.value_at_quantile(q));
    }
}

/// The fixture bench binary run as `cargo bench` would, on `filter`, in a fresh directory, with
/// `envs`; its output and `results.json` (when written).
fn fixture(filter: &str, envs: &[(&str, &str)]) -> (Output, Option<serde_json::Value>) {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_model-bench-fixture"))
        .current_dir(dir.path())
        .env("MODEL_BENCH_QUICK", "1")
        .env("CRITERION_HOME", dir.path().join("criterion"))
        .env("MODEL_BENCH_OUTPUT_DIR", dir.path().join("model-bench"))
        .env("FIXTURE_TOKEN", "t")
        .env_remove("MODEL_BENCH_CONFIG")
        .env_remove("MODEL_BENCH_WORKERS")
        .env_remove("MODEL_BENCH_WORKER_INDEX")
        .env_remove("JOB_COMPLETION_INDEX")
        .env_remove("MODEL_BENCH_START_AT")
        .args(["--bench", filter])
        .envs(envs.iter().copied())
        .output()
        .expect("the fixture runs");
    let results = std::fs::read_to_string(dir.path().join("model-bench/results.json"))
        .ok()
        .map(|text| serde_json::from_str(&text).expect("results.json is JSON"));
    (output, results)
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Requests measured at the first point of the first bench.
fn requests(results: &serde_json::Value) -> u64 {
    results["benches"][0]["points"][0]["load"]["stats"]["requests"]
        .as_u64()
        .expect("a measured load point")
}

#[test]
fn the_bench_binary_as_a_worker_sends_its_share() {
    let _serial = serial();
    let filter = "^serving/rest_open_loop/r200$";
    let (alone, results) = fixture(filter, &[]);
    assert_eq!(alone.status.code(), Some(0), "{}", stderr(&alone));
    let whole = requests(&results.unwrap());
    assert!(whole >= 90, "200/s over 0.5 s: {whole}");
    let mut shares = Vec::new();
    for (index_var, index) in [
        ("JOB_COMPLETION_INDEX", "0"),
        ("MODEL_BENCH_WORKER_INDEX", "1"),
    ] {
        let (worker, results) =
            fixture(filter, &[("MODEL_BENCH_WORKERS", "2"), (index_var, index)]);
        assert_eq!(worker.status.code(), Some(0), "{}", stderr(&worker));
        assert!(
            stderr(&worker).contains(&format!("model-bench: worker {index} of 2")),
            "{}",
            stderr(&worker)
        );
        shares.push(requests(&results.unwrap()));
    }
    // A constant schedule's window holds the same arrivals in every run (±1 at its edges).
    let sum: u64 = shares.iter().sum();
    assert!(sum.abs_diff(whole) <= 1, "{shares:?} against {whole} alone");
    assert!(shares[0].abs_diff(shares[1]) <= 1, "{shares:?}");
}

#[test]
fn worker_settings_that_do_not_add_up_stop_the_run_before_any_load() {
    let filter = "^serving/rest_open_loop/r200$";
    for (envs, message) in [
        (
            vec![("MODEL_BENCH_WORKERS", "2")],
            "each worker needs its index",
        ),
        (
            vec![("JOB_COMPLETION_INDEX", "2")],
            "MODEL_BENCH_WORKERS is not",
        ),
        (
            vec![("MODEL_BENCH_WORKERS", "2"), ("JOB_COMPLETION_INDEX", "2")],
            "not below MODEL_BENCH_WORKERS=2",
        ),
        (vec![("MODEL_BENCH_START_AT", "tomorrow")], "RFC 3339"),
    ] {
        let (output, results) = fixture(filter, &envs);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{envs:?}: {}",
            stderr(&output)
        );
        assert!(
            stderr(&output).contains(message),
            "{envs:?}: {}",
            stderr(&output)
        );
        assert!(results.is_none(), "{envs:?}: nothing ran, nothing written");
    }
}

#[test]
fn a_worker_that_missed_the_shared_start_fails_its_benches_and_says_why() {
    let _serial = serial();
    let (output, results) = fixture(
        "^serving/rest_open_loop/r200$",
        &[
            ("MODEL_BENCH_WORKERS", "2"),
            ("JOB_COMPLETION_INDEX", "1"),
            ("MODEL_BENCH_START_AT", "2020-01-01T00:00:00Z"),
        ],
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let bench = &results.expect("the failure is written")["benches"][0];
    assert_eq!(bench["status"], "failed");
    let error = bench["error"].as_str().unwrap();
    assert!(
        error.contains("reached the shared start MODEL_BENCH_START_AT")
            && error.contains("late, past the limit of 1s"),
        "{error}"
    );
}
