//! Scale-out through the real load loops against the reference server over loopback: the
//! workers' shares of one open-loop schedule and of one closed loop, run one after another in
//! this process, add up exactly to the one-machine run, and each worker's histograms, written as
//! an interval log and read back, merge into the histogram of every request. Then the bench
//! binary as a worker (the fixture, with the variables a Kubernetes pod gets): its share of a
//! bench, and the clear errors for worker settings that do not add up or a start it missed.
//! Last, the Kubernetes Job `model-bench k8s-job` prints, checked against the Job schema offline by
//! the official Python client's models: from `$MODEL_BENCH_K8S_PYTHON`, else `.venv/bin/python`,
//! where `./scripts/test.sh` installs `kubernetes`. Without it that test fails; it never passes
//! silently.

use std::process::{Command, Output};
use std::time::{Duration, SystemTime};

use model_bench::remote::llm::TokenScript;
use model_bench::remote::load::IntervalLogTarget;
use model_bench::remote::load::{interval_log, WorkerShare};
use model_bench::remote::scaleout::{format_rfc3339, merge, merge_dirs};
use model_bench::remote::{Arrival, InjectedLatency, LoadPlan, ReferenceConfig, V2Protocol};
use model_bench::server::{LlmServer, ReferenceServer};

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
    let endpoint = common::identity_endpoint(V2Protocol::RestJson, TIMEOUT);
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
    let endpoint = common::identity_endpoint(V2Protocol::Grpc, TIMEOUT);
    let client = connect(&runtime, &endpoint, &server.grpc_url());
    // Two in flight over three workers: the middle one keeps none and sends nothing (it idles
    // for the run's 3 s).
    let plan = LoadPlan::closed(2, Duration::from_secs(3)).max_requests(30);
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
fn worker_interval_logs_merge_into_the_histograms_of_every_request() {
    let _serial = serial();
    let server = ReferenceServer::start(&ReferenceConfig::default()).unwrap();
    let runtime = runtime();
    let endpoint = common::identity_endpoint(V2Protocol::RestJson, TIMEOUT);
    let client = connect(&runtime, &endpoint, &server.rest_url());
    // Steps of 100 ms over a run of about a second: many intervals per worker.
    let plan = LoadPlan::open(300.0, Arrival::Poisson, Duration::from_secs(20))
        .warm_up(Duration::from_millis(100))
        .series_step(Duration::from_millis(100))
        .max_requests(300);
    let dir = tempfile::tempdir().unwrap();
    let base_time = SystemTime::now();
    let mut totals = Vec::new();
    let mut logs = Vec::new();
    for index in 0..3 {
        let path = dir.path().join(format!("worker-{index}.hlog"));
        let worker_plan = plan
            .clone()
            .for_worker(WorkerShare::new(index, 3).unwrap())
            .log_intervals(IntervalLogTarget {
                path: path.clone(),
                base_time,
            });
        let run = runtime.block_on(model_bench::remote::load::run(
            std::sync::Arc::clone(&client),
            &worker_plan,
        ));
        assert_eq!(run.stats.requests, 100);
        assert_eq!(run.stats.errors, 0, "{:?}", run.stats.first_errors);
        let requests = &run.tally.requests;
        totals.push((
            requests.latency.clone(),
            requests.service.clone(),
            requests.lateness.clone(),
        ));
        let log = interval_log::read_log(&path).unwrap();
        assert!(log.damaged_tail.is_none());
        assert!(
            log.intervals.iter().filter(|i| i.tag == "latency").count() >= 3,
            "one interval per step: {:?}",
            log.intervals
                .iter()
                .map(|i| (&i.tag, i.start))
                .collect::<Vec<_>>()
        );
        logs.push(log);
    }
    let merged = merge::merge(&logs).unwrap();
    // One histogram fed every request: the workers' own totals added up.
    let mut all = totals[0].clone();
    for (latency, service, lateness) in &totals[1..] {
        all.0.add(latency).unwrap();
        all.1.add(service).unwrap();
        all.2.add(lateness).unwrap();
    }
    for (tag, whole) in [
        ("latency", &all.0),
        ("service", &all.1),
        ("lateness", &all.2),
    ] {
        let total = &merged.totals[tag];
        assert_eq!(total.len(), 300, "{tag}");
        assert!(
            *total == *whole,
            "{tag}: every bucket of the merge equals every request's"
        );
        for q in [0.5, 0.9, 0.99, 1.0] {
            assert_eq!(
                total.value_at_quantile(q),
                whole.value_at_quantile(q),
                "{tag} {q}"
            );
        }
    }
}

/// The fixture bench binary run as `cargo bench` would, on `filter`, in a fresh directory, with
/// `envs`; its output, `results.json` (when written) and the directory.
fn fixture(
    filter: &str,
    envs: &[(&str, &str)],
) -> (Output, Option<serde_json::Value>, tempfile::TempDir) {
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
    (output, results, dir)
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
    let (alone, results, _) = fixture(filter, &[]);
    assert_eq!(alone.status.code(), Some(0), "{}", stderr(&alone));
    let whole = requests(&results.unwrap());
    assert!(whole >= 90, "200/s over 0.5 s: {whole}");
    let mut shares = Vec::new();
    let mut records = Vec::new();
    let mut logs = Vec::new();
    for (index_var, index) in [
        ("JOB_COMPLETION_INDEX", "0"),
        ("MODEL_BENCH_WORKER_INDEX", "1"),
    ] {
        let (worker, results, dir) =
            fixture(filter, &[("MODEL_BENCH_WORKERS", "2"), (index_var, index)]);
        assert_eq!(worker.status.code(), Some(0), "{}", stderr(&worker));
        assert!(
            stderr(&worker).contains(&format!("model-bench: worker {index} of 2")),
            "{}",
            stderr(&worker)
        );
        shares.push(requests(&results.unwrap()));
        // The worker's own files for the merge: the point's record and its interval log.
        let files = dir.path().join(format!("model-bench/worker-{index}"));
        let record: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(files.join("serving_rest_open_loop_r200.json")).unwrap(),
        )
        .unwrap();
        logs.push(interval_log::read_log(&files.join("serving_rest_open_loop_r200.hlog")).unwrap());
        records.push(record);
    }
    // A constant schedule's window holds the same arrivals in every run (±1 at its edges).
    let sum: u64 = shares.iter().sum();
    assert!(sum.abs_diff(whole) <= 1, "{shares:?} against {whole} alone");
    assert!(shares[0].abs_diff(shares[1]) <= 1, "{shares:?}");
    for (index, record) in records.iter().enumerate() {
        assert_eq!(record["schema"], "model-bench-worker/2");
        assert_eq!(record["complete"], true);
        assert_eq!(record["point"], "serving/rest_open_loop/r200");
        assert_eq!(record["worker"]["index"], index);
        assert_eq!(record["worker"]["count"], 2);
        assert_eq!(record["summary"]["requests"], shares[index]);
        assert_eq!(record["tally"]["slices"].as_array().map(Vec::len), Some(10));
        assert_eq!(record["histograms"]["significant_figures"], 3);
    }
    assert_eq!(
        records[0]["config_hash"], records[1]["config_hash"],
        "one configuration"
    );
    // Every successful request of both workers is in their logs.
    let latency: u64 = logs
        .iter()
        .flat_map(|log| &log.intervals)
        .filter(|interval| interval.tag == "latency")
        .map(|interval| interval.histogram.len())
        .sum();
    let ok: u64 = records
        .iter()
        .map(|r| r["summary"]["ok"].as_u64().unwrap())
        .sum();
    assert_eq!(latency, ok);
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
        let (output, results, _) = fixture(filter, &envs);
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
    let (output, results, _) = fixture(
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

/// The fixture's `scaleout/open/r400` (Poisson, seeded) against `url` as `workers` worker
/// processes started together, each in its own directory; returns their directories.
fn run_workers(url: &str, workers: usize) -> Vec<tempfile::TempDir> {
    let start_at = SystemTime::now() + Duration::from_secs(2);
    spawn_workers(url, workers, start_at, false, "^scaleout/open/r400$")
        .into_iter()
        .map(|(child, dir)| {
            let output = child.wait_with_output().unwrap();
            assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
            dir
        })
        .collect()
}

/// The worker processes of [`run_workers`], started, sharing the start `start_at`; with
/// `to_stdout`, printing their files to a piped stdout (`MODEL_BENCH_WORKER_STDOUT=1`); on the
/// fixture's benches `filter`, against `url`.
fn spawn_workers(
    url: &str,
    workers: usize,
    start_at: SystemTime,
    to_stdout: bool,
    filter: &str,
) -> Vec<(std::process::Child, tempfile::TempDir)> {
    let start_at = format_rfc3339(start_at);
    let count = workers.to_string();
    let spawned: Vec<(std::process::Child, tempfile::TempDir)> = (0..workers)
        .map(|index| {
            let dir = tempfile::tempdir().unwrap();
            let child = Command::new(env!("CARGO_BIN_EXE_model-bench-fixture"))
                .current_dir(dir.path())
                .env("MODEL_BENCH_QUICK", "1")
                .env("CRITERION_HOME", dir.path().join("criterion"))
                .env("MODEL_BENCH_OUTPUT_DIR", dir.path().join("model-bench"))
                .env_remove("MODEL_BENCH_CONFIG")
                .env_remove("MODEL_BENCH_WORKER_INDEX")
                .env("FIXTURE_SCALED_URL", url)
                .env("FIXTURE_SCALED_LLM_URL", url)
                .env("MODEL_BENCH_WORKERS", &count)
                .env("JOB_COMPLETION_INDEX", index.to_string())
                .env("MODEL_BENCH_START_AT", &start_at)
                .env("HOSTNAME", format!("pod-{index}"))
                .env(
                    "MODEL_BENCH_WORKER_STDOUT",
                    if to_stdout { "1" } else { "0" },
                )
                .args(["--bench", filter])
                .stdout(if to_stdout {
                    std::process::Stdio::piped()
                } else {
                    std::process::Stdio::null()
                })
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("the fixture starts");
            (child, dir)
        })
        .collect();
    spawned
}

#[test]
fn a_worker_killed_mid_run_is_named_and_the_merge_exits_partial() {
    let _serial = serial();
    let server = ReferenceServer::start(&ReferenceConfig::default()).unwrap();
    let start_at = SystemTime::now() + Duration::from_secs(3);
    let mut workers = spawn_workers(
        &server.rest_url(),
        3,
        start_at,
        false,
        "^scaleout/open/r400$",
    );
    // Once worker 2 has started its 1.2 s point (warm-up and window; its record says so) and
    // half a second has passed, it is killed (SIGKILL: no chance to tidy up).
    let record_path = workers[2]
        .1
        .path()
        .join("model-bench/worker-2/scaleout_open_r400.json");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !record_path.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "worker 2 never started its point"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(500));
    workers[2].0.kill().unwrap();
    let dirs: Vec<tempfile::TempDir> = workers
        .into_iter()
        .enumerate()
        .map(|(index, (child, dir))| {
            let output = child.wait_with_output().unwrap();
            if index < 2 {
                assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
            }
            dir
        })
        .collect();
    let outputs: Vec<std::path::PathBuf> =
        dirs.iter().map(|d| d.path().join("model-bench")).collect();
    let record: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(outputs[2].join("worker-2/scaleout_open_r400.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(record["complete"], false, "killed before the point ended");
    let out = tempfile::tempdir().unwrap();
    let merged = model_bench_command()
        .arg("merge")
        .args(&outputs)
        .arg("-o")
        .arg(out.path())
        .output()
        .unwrap();
    assert_eq!(merged.status.code(), Some(7), "{}", stderr(&merged));
    assert!(
        stderr(&merged).contains("worker(s) [2] did not finish"),
        "{}",
        stderr(&merged)
    );
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("results.json")).unwrap())
            .unwrap();
    assert_eq!(results["scaleout"]["partial"], true);
    assert_eq!(
        results["scaleout"]["points"][0]["incomplete"],
        serde_json::json!([2])
    );
    // What the killed worker logged before it died is kept, never made up for: the merge
    // holds at least the two whole workers' requests, and its counts agree with its histogram.
    let whole: u64 = results["scaleout"]["points"][0]["workers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["complete"] == true)
        .map(|w| w["ok"].as_u64().unwrap())
        .sum();
    let stats = &results["benches"][0]["points"][0]["load"]["stats"];
    let merged_ok = stats["ok"].as_u64().unwrap();
    assert!(
        merged_ok >= whole,
        "{merged_ok} merged, {whole} from the whole workers"
    );
    assert_eq!(stats["latency"]["count"], merged_ok);
}

#[test]
fn worker_processes_merge_into_the_figures_of_one_machine() {
    let _serial = serial();
    // 3 ms per request, and every 500 ms a 50 ms stall: a tenth of the arrivals wait for the
    // rest of it, so from the intended send p50 is 3 ms and p99 3 + 50 × (1 − 0.01 / 0.1) =
    // 48 ms (46.75–48.8 ms whether 8 or 12 % of a run's Poisson arrivals land in a stall).
    let latency = InjectedLatency::fixed(Duration::from_millis(3))
        .with_stall(Duration::from_millis(50), Duration::from_millis(500));
    let server = ReferenceServer::start(&ReferenceConfig::default().latency(latency)).unwrap();
    let url = server.rest_url();
    let dirs = run_workers(&url, 3);
    let outputs: Vec<std::path::PathBuf> =
        dirs.iter().map(|d| d.path().join("model-bench")).collect();
    let points = merge_dirs(&outputs).unwrap();
    assert_eq!(points.len(), 1);
    let point = &points[0];
    assert_eq!(point.point, "scaleout/open/r400");
    assert!(
        point.is_whole(),
        "missing {:?}, incomplete {:?}",
        point.missing,
        point.incomplete
    );
    assert!(point.all_running.is_some());
    let identities: Vec<&str> = point
        .records
        .iter()
        .map(|r| r.worker.identity.as_str())
        .collect();
    assert_eq!(identities, ["pod-0", "pod-1", "pod-2"]);
    for record in &point.records {
        assert!(
            record.wake_lag_ms.is_some_and(|lag| lag < 1000.0),
            "{record:?}"
        );
    }
    let merged = &point.tally.requests.latency;
    let ok: u64 = point.records.iter().map(|r| r.summary.unwrap().ok).sum();
    assert_eq!(merged.len(), ok, "every successful request of every worker");
    // One second at 400/s over three workers: about 400 requests.
    assert!((300..=500).contains(&ok), "{ok}");

    let ms = |ns: u64| ns as f64 / 1e6;
    let (p50, p99) = (
        ms(merged.value_at_quantile(0.5)),
        ms(merged.value_at_quantile(0.99)),
    );
    // Loopback and the server's own work add well under 3 ms on this machine's busiest runs.
    assert!(
        (3.0..6.0).contains(&p50),
        "merged p50 {p50} ms, injected 3 ms"
    );
    assert!(
        (40.0..56.0).contains(&p99),
        "merged p99 {p99} ms, expected 46.75–48.8 ms"
    );

    // The same schedule from one process: the same figures within the same bounds.
    let (alone, results, _) = fixture("^scaleout/open/r400$", &[("FIXTURE_SCALED_URL", &url)]);
    assert_eq!(alone.status.code(), Some(0), "{}", stderr(&alone));
    let stats = &results.unwrap()["benches"][0]["points"][0]["load"]["stats"];
    let single_p50 = stats["latency"]["p50"].as_f64().unwrap() / 1e6;
    let single_p99 = stats["latency"]["p99"].as_f64().unwrap() / 1e6;
    println!(
        "merged p50 {p50:.2} ms p99 {p99:.2} ms over {ok} requests; \
         one process p50 {single_p50:.2} ms p99 {single_p99:.2} ms"
    );
    merge_command_writes_the_merged_run(&outputs, merged.len(), p99);

    assert!(
        (p50 - single_p50).abs() < 2.0,
        "p50 {p50} merged, {single_p50} alone"
    );
    assert!(
        (p99 - single_p99).abs() < 12.0,
        "p99 {p99} merged, {single_p99} alone"
    );
}

/// The `model-bench` command, built beside the fixture by the workspace's test command.
fn model_bench_command() -> Command {
    let path = std::path::Path::new(env!("CARGO_BIN_EXE_model-bench-fixture"))
        .with_file_name("model-bench");
    assert!(
        path.exists(),
        "{} is not built: run the tests with --workspace --features model-bench/cli",
        path.display()
    );
    Command::new(path)
}

/// `model-bench merge` over the workers' `outputs`: the merged files, the same figures as the
/// library's merge, and the partial exit code when a worker's output is left out.
fn merge_command_writes_the_merged_run(outputs: &[std::path::PathBuf], ok: u64, p99_ms: f64) {
    let out = tempfile::tempdir().unwrap();
    let merged_dir = out.path().join("merged");
    let whole = model_bench_command()
        .arg("merge")
        .args(outputs)
        .arg("-o")
        .arg(&merged_dir)
        .output()
        .unwrap();
    assert_eq!(whole.status.code(), Some(0), "{}", stderr(&whole));
    let stdout = String::from_utf8_lossy(&whole.stdout).into_owned();
    assert!(
        stdout.contains("scaleout/open/r400: 3 worker(s)") && stdout.contains("pod-2"),
        "{stdout}"
    );
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(merged_dir.join("results.json")).unwrap())
            .unwrap();
    let stats = &results["benches"][0]["points"][0]["load"]["stats"];
    assert_eq!(stats["ok"], ok);
    let merged_p99 = stats["latency"]["p99"].as_f64().unwrap() / 1e6;
    assert!(
        (merged_p99 - p99_ms).abs() < 1e-9,
        "{merged_p99} against {p99_ms}"
    );
    assert!(!stats["time_series"].as_array().unwrap().is_empty());
    assert_eq!(results["scaleout"]["workers"], 3);
    assert_eq!(results["scaleout"]["partial"], false);
    let summary = std::fs::read_to_string(merged_dir.join("summary.md")).unwrap();
    assert!(
        summary.contains("Workers (3 load machines, merged)") && summary.contains("pod-2"),
        "{summary}"
    );
    assert!(merged_dir.join("report/index.html").exists());

    let partial = model_bench_command()
        .arg("merge")
        .args(&outputs[..2])
        .arg("-o")
        .arg(out.path().join("partial"))
        .args(["--save-baseline", "main", "--criterion-dir"])
        .arg(out.path().join("criterion"))
        .output()
        .unwrap();
    assert_eq!(partial.status.code(), Some(7), "{}", stderr(&partial));
    assert!(
        stderr(&partial).contains("no output of worker(s) [2]")
            && stderr(&partial).contains("a partial run is not saved as baseline `main`"),
        "{}",
        stderr(&partial)
    );
    assert!(
        !out.path().join("criterion").exists(),
        "a partial run never becomes the baseline"
    );
    let accepted = model_bench_command()
        .args(["merge", "--allow-partial", "-o"])
        .arg(out.path().join("accepted"))
        .args(&outputs[..2])
        .output()
        .unwrap();
    assert_eq!(accepted.status.code(), Some(0), "{}", stderr(&accepted));
}

/// `model-bench merge` over `outputs` into `cwd/<out>` with `<flag> <name>` (a baseline flag),
/// run in `cwd` (no `model-bench.toml`) with the gate on and criterion's files in
/// `cwd/criterion`.
fn merge_with(
    outputs: &[std::path::PathBuf],
    cwd: &std::path::Path,
    out: &str,
    (flag, name): (&str, &str),
) -> Output {
    model_bench_command()
        .current_dir(cwd)
        .env("MODEL_BENCH_GATE", "1")
        .env_remove("MODEL_BENCH_CONFIG")
        .env_remove("CRITERION_HOME")
        .arg("merge")
        .args(outputs)
        .args(["-o", out, flag, name, "--criterion-dir"])
        .arg(cwd.join("criterion"))
        .output()
        .unwrap()
}

/// The workers' outputs of [`run_workers`] against a server answering in `latency`.
fn worker_outputs(
    latency: Duration,
    workers: usize,
) -> (Vec<tempfile::TempDir>, Vec<std::path::PathBuf>) {
    let config = ReferenceConfig::default().latency(InjectedLatency::fixed(latency));
    let server = ReferenceServer::start(&config).unwrap();
    let dirs = run_workers(&server.rest_url(), workers);
    let outputs = dirs.iter().map(|d| d.path().join("model-bench")).collect();
    (dirs, outputs)
}

#[test]
fn a_merged_run_is_saved_as_a_baseline_and_gated_like_one_machine() {
    let _serial = serial();
    let cwd = tempfile::tempdir().unwrap();
    let criterion = cwd.path().join("criterion");
    // Two workers against a server answering in 2 ms: saved as baseline `main`.
    let (_fast_dirs, fast) = worker_outputs(Duration::from_millis(2), 2);
    let saved = merge_with(&fast, cwd.path(), "saved", ("--save-baseline", "main"));
    assert_eq!(saved.status.code(), Some(0), "{}", stderr(&saved));
    let baseline = criterion.join("scaleout/open/r400/main");
    for file in ["estimates.json", "sample.json", "model-bench-setup.json"] {
        assert!(
            baseline.join(file).is_file(),
            "{} missing",
            baseline.join(file).display()
        );
    }
    let sample: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(baseline.join("sample.json")).unwrap())
            .unwrap();
    assert!(
        sample["times"].as_array().unwrap().len() >= 10,
        "one sample per slice"
    );
    let results: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(cwd.path().join("saved/results.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        results["run"]["baseline"],
        serde_json::json!({"action": "save", "name": "main"})
    );

    // The same run merged again and compared with it: the gate judges it (no regression
    // asserted: two merges of one run replay the same slices, so the change is zero).
    let same = merge_with(&fast, cwd.path(), "same", ("--baseline", "main"));
    assert_eq!(same.status.code(), Some(0), "{}", stderr(&same));
    assert!(
        stderr(&same).contains("no regression against baseline `main` (1 points compared)"),
        "{}",
        stderr(&same)
    );

    // Two workers against a server answering in 30 ms: a regression, exit 3 as for one machine.
    let (_slow_dirs, slow) = worker_outputs(Duration::from_millis(30), 2);
    let gated = merge_with(&slow, cwd.path(), "gated", ("--baseline", "main"));
    assert_eq!(gated.status.code(), Some(3), "{}", stderr(&gated));
    assert!(
        stderr(&gated).contains("1 regression(s) against baseline `main`")
            && stderr(&gated).contains("scaleout/open/r400: mean time +"),
        "{}",
        stderr(&gated)
    );
    let results: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(cwd.path().join("gated/results.json")).unwrap(),
    )
    .unwrap();
    let change = &results["benches"][0]["points"][0]["change"];
    assert_eq!(change["verdict"], "regressed", "{change}");

    // A baseline no point has fails as `cargo bench -- --baseline` does, naming it.
    let missing = merge_with(&slow, cwd.path(), "missing", ("--baseline", "other"));
    assert_eq!(missing.status.code(), Some(1), "{}", stderr(&missing));
    assert!(
        stderr(&missing).contains("no baseline `other` to compare with"),
        "{}",
        stderr(&missing)
    );
}

#[test]
fn workers_without_a_shared_volume_merge_from_their_logs() {
    let _serial = serial();
    let server = ReferenceServer::start(&ReferenceConfig::default()).unwrap();
    let start_at = SystemTime::now() + Duration::from_secs(2);
    let outputs: Vec<(String, tempfile::TempDir)> = spawn_workers(
        &server.rest_url(),
        2,
        start_at,
        true,
        "^scaleout/open/r400$",
    )
    .into_iter()
    .map(|(child, dir)| {
        let output = child.wait_with_output().unwrap();
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        (String::from_utf8(output.stdout).unwrap(), dir)
    })
    .collect();
    // As `kubectl logs -l … --prefix` saves them: both pods' lines, interleaved and prefixed.
    let mut log = String::new();
    let lines: Vec<Vec<&str>> = outputs
        .iter()
        .map(|(out, _)| out.lines().collect())
        .collect();
    for at in 0..lines.iter().map(Vec::len).max().unwrap_or(0) {
        for (pod, lines) in lines.iter().enumerate() {
            if let Some(line) = lines.get(at) {
                log.push_str(&format!("[pod/run-{pod}-x7k2p/worker] {line}\n"));
            }
        }
    }
    let on_disk: Vec<std::path::PathBuf> = outputs
        .iter()
        .map(|(_, dir)| dir.path().join("model-bench"))
        .collect();
    let from_disk = &merge_dirs(&on_disk).unwrap()[0];
    let cwd = tempfile::tempdir().unwrap();
    let log_path = cwd.path().join("run.log");
    std::fs::write(&log_path, &log).unwrap();
    // The workers' own directories are gone, as a pod's scratch volume is.
    drop(outputs);
    let merged = model_bench_command()
        .current_dir(cwd.path())
        .args(["merge", "run.log", "-o", "merged"])
        .output()
        .unwrap();
    assert_eq!(merged.status.code(), Some(0), "{}", stderr(&merged));
    assert!(
        stderr(&merged).contains("of 2 worker(s) unpacked from the logs"),
        "{}",
        stderr(&merged)
    );
    let results: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(cwd.path().join("merged/results.json")).unwrap(),
    )
    .unwrap();
    let stats = &results["benches"][0]["points"][0]["load"]["stats"];
    let latency = &from_disk.tally.requests.latency;
    assert_eq!(stats["ok"], latency.len(), "the same requests as on disk");
    assert_eq!(
        stats["latency"]["p99"].as_f64().unwrap(),
        latency.value_at_quantile(0.99) as f64
    );
    assert_eq!(results["scaleout"]["partial"], false);

    // A log cut short after one worker's interval log (its record and results.json lost):
    // that worker is named as missing, the other's requests kept.
    let cut: String = log
        .lines()
        .filter(|line| !(line.starts_with("[pod/run-1-") && line.contains(".json ")))
        .map(|line| format!("{line}\n"))
        .collect();
    std::fs::write(cwd.path().join("cut.log"), cut).unwrap();
    let partial = model_bench_command()
        .current_dir(cwd.path())
        .args(["merge", "cut.log", "-o", "partial"])
        .output()
        .unwrap();
    assert_eq!(partial.status.code(), Some(7), "{}", stderr(&partial));
    assert!(
        stderr(&partial).contains("no output of worker(s) [1]"),
        "{}",
        stderr(&partial)
    );
}

#[test]
fn token_stream_figures_merge_from_the_workers_histograms_and_counts() {
    let _serial = serial();
    // 20 ms to the first token, then a token every 2 ms: 8 tokens a stream.
    let script = TokenScript {
        ttft: Duration::from_millis(20),
        itl: Duration::from_millis(2),
        ..TokenScript::default()
    };
    let server = LlmServer::start("tiny", script).unwrap();
    let start_at = SystemTime::now() + Duration::from_secs(2);
    let dirs: Vec<tempfile::TempDir> =
        spawn_workers(&server.url(), 2, start_at, false, "^scaleout/stream/r100$")
            .into_iter()
            .map(|(child, dir)| {
                let output = child.wait_with_output().unwrap();
                assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
                dir
            })
            .collect();
    let outputs: Vec<std::path::PathBuf> =
        dirs.iter().map(|d| d.path().join("model-bench")).collect();
    let own: Vec<serde_json::Value> = outputs
        .iter()
        .map(|dir| {
            let text = std::fs::read_to_string(dir.join("results.json")).unwrap();
            let results: serde_json::Value = serde_json::from_str(&text).unwrap();
            results["benches"][0]["points"][0]["load"]["stats"]["stream"].clone()
        })
        .collect();
    let cwd = tempfile::tempdir().unwrap();
    let merged = model_bench_command()
        .current_dir(cwd.path())
        .arg("merge")
        .args(&outputs)
        .args(["-o", "merged"])
        .output()
        .unwrap();
    assert_eq!(merged.status.code(), Some(0), "{}", stderr(&merged));
    let results: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(cwd.path().join("merged/results.json")).unwrap(),
    )
    .unwrap();
    let stats = &results["benches"][0]["points"][0]["load"]["stats"];
    let stream = &stats["stream"];
    // Counts are the workers' added: every successful request is a stream of 8 tokens.
    let sum = |key: &str| own.iter().map(|s| s[key].as_u64().unwrap()).sum::<u64>();
    assert_eq!(stream["streams"], sum("streams"), "{stream}");
    assert_eq!(stream["streams"], stats["ok"]);
    assert_eq!(stream["output_tokens"], sum("output_tokens"));
    assert_eq!(
        stream["output_tokens"].as_u64().unwrap(),
        8 * stream["streams"].as_u64().unwrap()
    );
    assert_eq!(
        stream["goodput"]["good"], stream["streams"],
        "every stream meets a minute"
    );
    // The histograms are the workers' added: as many first tokens as streams, and the
    // figures of the script (20 ms to the first token from the send, 2 ms per token after).
    assert_eq!(stream["ttft_service"]["count"], stream["streams"]);
    let ms = |figure: &serde_json::Value| figure.as_f64().unwrap() / 1e6;
    let ttft = ms(&stream["ttft_service"]["p50"]);
    assert!((20.0..30.0).contains(&ttft), "TTFT p50 {ttft} ms");
    let itl = ms(&stream["itl_per_request"]["p50"]);
    assert!((1.5..4.0).contains(&itl), "ITL p50 {itl} ms");
    assert!(stream["chunk_gap"]["count"].as_u64().unwrap() >= 7 * sum("streams"));
}

/// Every load point's statistics in the `results.json` under `output`, by point id.
fn point_stats(output: &std::path::Path) -> Vec<(String, serde_json::Value)> {
    let text = std::fs::read_to_string(output.join("results.json")).unwrap();
    let results: serde_json::Value = serde_json::from_str(&text).unwrap();
    results["benches"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|bench| bench["points"].as_array().unwrap().iter())
        .map(|point| {
            let id = point["id"].as_str().unwrap().to_owned();
            (id, point["load"]["stats"].clone())
        })
        .collect()
}

#[test]
fn the_merge_of_one_worker_is_that_workers_own_figures_field_for_field() {
    let _serial = serial();
    // A server answering in 2 ms with a 40 ms stall every 300 ms, so the closed loop's
    // correction and the open loop's late sends both have something to do.
    let config = ReferenceConfig::default().latency(
        InjectedLatency::fixed(Duration::from_millis(2))
            .with_stall(Duration::from_millis(40), Duration::from_millis(300)),
    );
    let server = ReferenceServer::start(&config).unwrap();
    let script = TokenScript {
        ttft: Duration::from_millis(15),
        itl: Duration::from_millis(2),
        ..TokenScript::default()
    };
    let llm = LlmServer::start("tiny", script).unwrap();
    for (url, filter, points) in [
        (
            server.rest_url(),
            "^scaleout/(open/r400|closed/c4)$",
            ["scaleout/open/r400", "scaleout/closed/c4"].as_slice(),
        ),
        (
            llm.url(),
            "^scaleout/stream/r100$",
            ["scaleout/stream/r100"].as_slice(),
        ),
    ] {
        let start_at = SystemTime::now() + Duration::from_secs(2);
        let (child, dir) = spawn_workers(&url, 1, start_at, false, filter)
            .pop()
            .expect("one worker");
        let output = child.wait_with_output().unwrap();
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        let own = dir.path().join("model-bench");
        let merged_dir = dir.path().join("merged");
        let merged = model_bench_command()
            .arg("merge")
            .arg(&own)
            .arg("-o")
            .arg(&merged_dir)
            .output()
            .unwrap();
        assert_eq!(merged.status.code(), Some(0), "{}", stderr(&merged));
        let (own, merged) = (point_stats(&own), point_stats(&merged_dir));
        let ids: Vec<&str> = own.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(ids, points);
        for ((id, alone), (merged_id, merged)) in own.iter().zip(&merged) {
            assert_eq!(id, merged_id);
            assert!(alone["requests"].as_u64().unwrap() > 0, "{id}: {alone}");
            let fields = alone.as_object().unwrap();
            for (field, value) in fields {
                assert_eq!(
                    &merged[field], value,
                    "{id}: `{field}` merged from one worker differs from its own"
                );
            }
            assert_eq!(merged.as_object().unwrap().len(), fields.len(), "{id}");
        }
        let stream = &own[0].1["stream"];
        if points[0].contains("stream") {
            assert!(stream["streams"].as_u64().unwrap() > 0, "{stream}");
        } else {
            assert_eq!(own[1].1["latency_basis"], "corrected_closed_loop");
            assert!(own[0].1["late_pct"].is_number());
        }
    }
}

/// Python with the official Kubernetes client.
fn k8s_python() -> std::path::PathBuf {
    let path = std::env::var_os("MODEL_BENCH_K8S_PYTHON")
        .filter(|v| !v.is_empty())
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python")
        });
    assert!(
        path.is_file(),
        "{} is missing: ./scripts/test.sh installs the Kubernetes client there (or set \
         MODEL_BENCH_K8S_PYTHON)",
        path.display()
    );
    path
}

/// Runs the schema check on `manifest`: its exit status and output.
fn check_job(manifest: &str) -> Output {
    use std::io::Write;
    let mut child = Command::new(k8s_python())
        .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/k8s/check_job.py"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(manifest.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn the_k8s_job_manifest_is_a_kubernetes_indexed_job() {
    let printed = model_bench_command()
        .args([
            "k8s-job",
            "--image",
            "registry.example/bench:1",
            "--workers",
            "16",
        ])
        .args([
            "--name",
            "llm-run",
            "--start-in",
            "90s",
            "--",
            "^scaleout/",
            "--quick",
        ])
        .output()
        .unwrap();
    assert_eq!(printed.status.code(), Some(0), "{}", stderr(&printed));
    let manifest = String::from_utf8(printed.stdout).unwrap();
    let checked = check_job(&manifest);
    assert_eq!(checked.status.code(), Some(0), "{}", stderr(&checked));
    let job: serde_json::Value = serde_json::from_slice(&checked.stdout).unwrap();
    assert_eq!(job["kind"], "Job");
    assert_eq!(job["completion_mode"], "Indexed");
    assert_eq!(job["completions"], 16);
    assert_eq!(job["parallelism"], 16);
    assert_eq!(job["backoff_limit_per_index"], 0);
    assert_eq!(job["restart_policy"], "Never");
    assert_eq!(job["env"]["MODEL_BENCH_WORKERS"], "16");
    assert_eq!(
        job["args"],
        serde_json::json!(["--bench", "^scaleout/", "--quick"])
    );
    // The start: a parseable instant about 90 s from now.
    let start = job["env"]["MODEL_BENCH_START_AT"].as_str().unwrap();
    let barrier = model_bench::remote::scaleout::StartBarrier::from_env(|var| {
        (var == "MODEL_BENCH_START_AT").then(|| start.to_owned())
    })
    .unwrap()
    .unwrap();
    let ahead = barrier.at.duration_since(SystemTime::now()).unwrap();
    assert!(
        ahead > Duration::from_secs(60) && ahead <= Duration::from_secs(90),
        "{ahead:?}"
    );

    assert_eq!(job["volumes"], serde_json::json!({"results": "claim"}));

    // Without a shared volume: the files go through the pods' logs.
    let printed = model_bench_command()
        .args([
            "k8s-job",
            "--image",
            "registry.example/bench:1",
            "--workers",
            "3",
            "--to-logs",
        ])
        .output()
        .unwrap();
    assert_eq!(printed.status.code(), Some(0), "{}", stderr(&printed));
    let to_logs = String::from_utf8(printed.stdout).unwrap();
    let checked = check_job(&to_logs);
    assert_eq!(checked.status.code(), Some(0), "{}", stderr(&checked));
    let job: serde_json::Value = serde_json::from_slice(&checked.stdout).unwrap();
    assert_eq!(job["env"]["MODEL_BENCH_WORKER_STDOUT"], "1");
    assert_eq!(job["volumes"], serde_json::json!({"results": "emptyDir"}));
    assert!(to_logs.contains("kubectl logs -l model-bench/run=model-bench --tail=-1"));

    // The check can fail: a field the Job schema does not know is caught.
    let misspelt = manifest.replace("backoffLimitPerIndex", "backoffLimitPerIdx");
    assert_eq!(check_job(&misspelt).status.code(), Some(1));

    let refused = model_bench_command()
        .args([
            "k8s-job",
            "--image",
            "x",
            "--workers",
            "2",
            "--name",
            "Bad_Name",
        ])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        stderr(&refused).contains("is not a Kubernetes name"),
        "{}",
        stderr(&refused)
    );
}
