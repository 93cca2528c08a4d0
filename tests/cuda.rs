//! GPU tests: the fixture's CUDA benches on a real GPU. They run wherever the suite runs; without
//! a driver (this machine, CI) each checks that the runner says why it skipped instead. To run
//! them on a GPU machine with binaries built elsewhere, `MODEL_BENCH_FIXTURE` names the fixture.

use std::process::Command;

use serde_json::Value;

/// The reason CUDA cannot run here, or `None` on a machine with a usable GPU.
fn no_gpu() -> Option<String> {
    model_bench::measure::cuda_unavailable()
}

/// Runs the fixture on `filter` in a fresh directory and returns its exit code, stderr and
/// results.json.
fn run_fixture(filter: &str) -> (Option<i32>, String, Value) {
    let dir = tempfile::tempdir().expect("temp dir");
    let fixture = std::env::var_os("MODEL_BENCH_FIXTURE")
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_model-bench-fixture").into());
    let output = Command::new(fixture)
        .args(["--bench", filter])
        .current_dir(dir.path())
        .env("MODEL_BENCH_QUICK", "1")
        .env("CRITERION_HOME", dir.path().join("criterion"))
        .env("MODEL_BENCH_OUTPUT_DIR", dir.path().join("model-bench"))
        .env_remove("MODEL_BENCH_CONFIG")
        .output()
        .expect("the fixture runs");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let results = std::fs::read_to_string(dir.path().join("model-bench/results.json"))
        .unwrap_or_else(|e| panic!("results.json: {e}\n{stderr}"));
    (
        output.status.code(),
        stderr,
        serde_json::from_str(&results).expect("results.json parses"),
    )
}

fn bench<'a>(results: &'a Value, id: &str) -> &'a Value {
    results["benches"]
        .as_array()
        .and_then(|benches| benches.iter().find(|b| b["id"] == id))
        .unwrap_or_else(|| panic!("no {id} in {results}"))
}

fn gib(bytes: &Value) -> f64 {
    bytes.as_u64().expect("bytes") as f64 / f64::from(1u32 << 30)
}

#[test]
fn a_gpu_sweep_records_memory_per_batch_and_ends_at_out_of_memory() {
    let (code, stderr, results) = run_fixture("model_bench_fixture/cuda_memory");
    let bench = bench(&results, "model_bench_fixture/cuda_memory");
    if let Some(reason) = no_gpu() {
        assert_eq!(code, Some(0), "{stderr}");
        assert_eq!(bench["status"], "skipped", "{reason}");
        assert_eq!(bench["error"].as_str(), Some(reason.as_str()), "{bench}");
        assert!(bench["points"].as_array().unwrap().is_empty(), "{bench}");
        return;
    }
    // The ceiling is a result, not a failure.
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(bench["status"], "ceiling", "{bench}");
    let ceiling = &bench["sweep"]["ceiling"];
    assert_eq!(ceiling["batch"], 4096, "{ceiling}");
    assert_eq!(ceiling["out_of_memory"], true, "{ceiling}");
    let points = bench["points"].as_array().unwrap();
    assert_eq!(points.len(), 3, "{bench}");
    for point in points {
        let held = point["batch"].as_u64().unwrap() as f64;
        let memory = &point["gpu_memory"];
        let (before, peak, after) = (
            gib(&memory["before_bytes"]),
            gib(&memory["peak_bytes"]),
            gib(&memory["after_bytes"]),
        );
        // The point's buffer is on the GPU while it runs, on top of what was there before.
        assert!(peak >= before + held * 0.99, "{memory}");
        assert!(peak >= after, "{memory}");
    }
    let usage = bench["gpu_usage"].as_array().unwrap();
    assert!(
        usage.iter().any(|u| u["samples"].as_u64() >= Some(1)),
        "{bench}"
    );
    let gpus = &results["environment"]["gpu"]["gpus"];
    assert!(gpus[0]["memory_bytes"].as_u64() > Some(0), "{gpus}");
}

#[test]
fn a_gpu_stage_is_timed_on_both_clocks() {
    let (code, stderr, results) = run_fixture("model_bench_fixture/cuda_gemm");
    let bench = bench(&results, "model_bench_fixture/cuda_gemm");
    if let Some(reason) = no_gpu() {
        assert_eq!(code, Some(0), "{stderr}");
        assert_eq!(bench["status"], "skipped", "{reason}");
        assert_eq!(bench["error"].as_str(), Some(reason.as_str()), "{bench}");
        return;
    }
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(bench["status"], "ok", "{bench}");
    let point = &bench["points"][0];
    let timing = &point["device_timing"];
    assert_eq!(timing["clock"], "device_events");
    assert_eq!(timing["regime"], "warm");
    // The host's span of a sample encloses its two events, so per call it is never shorter.
    let device_mean = point["estimates"]["mean"]["point"].as_f64().unwrap();
    let host_mean = timing["host_mean_ns"].as_f64().unwrap();
    assert!(device_mean > 0.0 && host_mean >= device_mean, "{point}");
}
