//! The harness end to end: the fixture bench binary (`tests/fixture/bench.rs`) is run as
//! `cargo bench` runs a user's bench, in quick mode, with its output in a temporary directory; the
//! tests read what it printed and wrote. No assertion depends on how fast anything ran: bounds are
//! lower bounds that `sleep` guarantees, or derived from how the fixture is configured, with the
//! tolerance said beside them. One fixture process runs at a time (`serial`).

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

#[path = "common/serial.rs"]
mod serial;

use serial::serial;

struct Run {
    output: Output,
    dir: tempfile::TempDir,
}

impl Run {
    fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }

    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }

    fn code(&self) -> Option<i32> {
        self.output.status.code()
    }

    fn out_dir(&self) -> PathBuf {
        self.dir.path().join("model-bench")
    }

    fn results(&self) -> Value {
        let path = self.out_dir().join("results.json");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e}\nstderr:\n{}", path.display(), self.stderr()));
        serde_json::from_str(&text).expect("results.json is JSON")
    }

    fn bench(&self, id: &str) -> Value {
        let results = self.results();
        results["benches"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["id"] == id)
            .unwrap_or_else(|| panic!("no bench {id} in results.json"))
            .clone()
    }
}

fn fixture() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_model-bench-fixture"));
    command
        .env("MODEL_BENCH_QUICK", "1")
        .env_remove("MODEL_BENCH_CONFIG")
        .env_remove("MODEL_BENCH_COLD_BENCH")
        .env_remove("ORT_DYLIB_PATH")
        .env_remove("MODEL_BENCH_ORT_BACKEND");
    command
}

/// The fixture, working in `dir` and writing every file under it.
fn fixture_in(dir: &std::path::Path) -> Command {
    let mut command = fixture();
    command
        .current_dir(dir)
        .env("CRITERION_HOME", dir.join("criterion"))
        .env("MODEL_BENCH_OUTPUT_DIR", dir.join("model-bench"));
    command
}

/// Runs the fixture with `args` (after `--bench`, as `cargo bench` passes it) in a fresh directory.
fn run_in(dir: tempfile::TempDir, args: &[&str], envs: &[(&str, &str)]) -> Run {
    let mut command = fixture_in(dir.path());
    command.arg("--bench").args(args).envs(envs.iter().copied());
    let output = command.output().expect("the fixture runs");
    Run { output, dir }
}

fn run(args: &[&str], envs: &[(&str, &str)]) -> Run {
    run_in(tempfile::tempdir().unwrap(), args, envs)
}

/// Each `#[model_bench]` function of the fixture's source with the points it lists: one per entry
/// of its `batch`, `concurrency` or `rate` list, else one.
fn fixture_points() -> Vec<(String, usize)> {
    let source = include_str!("fixture/bench.rs");
    let attribute = regex::Regex::new(
        r"(?s)#\[model_bench(?:\((.*?)\))?\][ \t\r\n]*(?:///[^\n]*[ \t\r\n]*)*fn ([a-z0-9_]+)",
    )
    .unwrap();
    let list =
        regex::Regex::new(r"(?:batch|concurrency|rate)[ \t\r\n]*=[ \t\r\n]*\[([^\]]*)\]").unwrap();
    let found: Vec<(String, usize)> = attribute
        .captures_iter(source)
        .map(|c| {
            let options = c.get(1).map_or("", |m| m.as_str());
            let points = list.captures(options).map_or(1, |l| {
                l[1].split(',').filter(|v| !v.trim().is_empty()).count()
            });
            (c[2].to_string(), points)
        })
        .collect();
    assert_eq!(
        found.len(),
        source.matches("#[model_bench").count(),
        "every attribute of the fixture was read"
    );
    found
}

/// The batch with the highest throughput among a sweep's points, as results.json holds them.
fn highest_throughput(sweep: &Value) -> u64 {
    let points = sweep["points"].as_array().unwrap();
    points
        .iter()
        .max_by(|a, b| {
            let rate = |p: &Value| p["items_per_sec"].as_f64().unwrap();
            rate(a).total_cmp(&rate(b))
        })
        .map(|p| p["batch"].as_u64().unwrap())
        .unwrap()
}

fn points(bench: &Value) -> Vec<u64> {
    bench["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["batch"].as_u64().unwrap())
        .collect()
}

#[test]
fn every_annotated_function_is_registered_and_listed_like_criterion() {
    let _serial = serial();
    let run = run(&["--list"], &[]);
    assert_eq!(run.code(), Some(0), "{}", run.stderr());
    let listed: Vec<String> = run.stdout().lines().map(str::to_string).collect();
    for id in [
        "model_bench_fixture/steady: benchmark",
        "model_bench_fixture/oom_sweep/1: benchmark",
        "model_bench_fixture/oom_sweep/8: benchmark",
        "model_bench_fixture/cold_start: benchmark",
        // Benches in a nested module are found too, under their pipeline.
        "toy/toy_forward/2: benchmark",
        "toy/toy_request: benchmark",
    ] {
        assert!(
            listed.iter().any(|l| l == id),
            "{id} missing from {listed:?}"
        );
    }
    assert!(listed
        .iter()
        .any(|l| l == "serving/rest_identity/c4: benchmark"));
    assert!(listed
        .iter()
        .any(|l| l == "serving/rest_open_loop/r200: benchmark"));
    // Every annotated function of the fixture, each with as many points as its attribute lists.
    let expected = fixture_points();
    for (name, points) in &expected {
        let found = listed
            .iter()
            .filter(|l| l.contains(&format!("/{name}/")) || l.contains(&format!("/{name}:")))
            .count();
        assert_eq!(found, *points, "{name}: {listed:?}");
    }
    let total: usize = expected.iter().map(|(_, points)| points).sum();
    assert_eq!(listed.len(), total, "{listed:?}");
    // Listing measures nothing and writes nothing.
    assert!(!run.out_dir().exists());

    let filtered = self::run(&["--list", "toy/toy_forward"], &[]);
    assert_eq!(
        filtered.stdout().lines().collect::<Vec<_>>(),
        [
            "toy/toy_forward/1: benchmark",
            "toy/toy_forward/2: benchmark"
        ]
    );
}

#[test]
fn a_failing_batch_is_the_sweeps_ceiling_and_the_run_goes_on() {
    let _serial = serial();
    let run = run(&["oom_sweep|steady"], &[]);
    // A ceiling is a finding, not a failed bench.
    assert_eq!(run.code(), Some(0), "{}", run.stderr());
    let sweep = run.bench("model_bench_fixture/oom_sweep");
    assert_eq!(sweep["status"], "ceiling");
    assert_eq!(points(&sweep), [1, 2]);
    let summary = &sweep["sweep"];
    assert_eq!(summary["ceiling"]["batch"], 4);
    let message = summary["ceiling"]["message"].as_str().unwrap();
    assert!(
        message.contains("out of memory (simulated) allocating batch 4"),
        "{message}"
    );
    assert!(message.contains("tests/fixture/bench.rs"), "{message}");
    assert_eq!(
        summary["best_batch"].as_u64(),
        Some(highest_throughput(summary))
    );
    assert_eq!(summary["points"].as_array().unwrap().len(), 2);
    // The bench after it still ran.
    assert_eq!(points(&run.bench("model_bench_fixture/steady")), [1]);
    assert!(
        run.stdout().contains("ceiling: batch 4 failed"),
        "{}",
        run.stdout()
    );
}

#[test]
fn failing_benches_are_reported_by_name_and_the_others_still_run() {
    let _serial = serial();
    let run = run(
        &["model_bench_fixture/(panics|errors|never_iterates|steady)"],
        &[],
    );
    assert_eq!(run.code(), Some(1), "a failed bench makes the run fail");
    let stderr = run.stderr();
    for expected in [
        "model_bench_fixture/panics (tests/fixture/bench.rs:",
        "panicked at tests/fixture/bench.rs:",
        "weights were never loaded",
        "model_bench_fixture/errors (tests/fixture/bench.rs:",
        "model file /models/missing.onnx does not exist",
        "`never_iterates` returned without calling `b.iter(...)`",
    ] {
        assert!(
            stderr.contains(expected),
            "missing `{expected}` in:\n{stderr}"
        );
    }
    for failed in ["panics", "errors", "never_iterates"] {
        let bench = run.bench(&format!("model_bench_fixture/{failed}"));
        assert_eq!(bench["status"], "failed");
        assert!(bench["error"].as_str().is_some_and(|e| !e.is_empty()));
        assert!(bench["points"].as_array().unwrap().is_empty());
    }
    // Measured results are written despite the failures.
    let steady = run.bench("model_bench_fixture/steady");
    assert_eq!(steady["status"], "ok");
    assert_eq!(points(&steady), [1]);
    let csv = std::fs::read_to_string(run.out_dir().join("results.csv")).unwrap();
    assert!(
        csv.contains("model_bench_fixture/errors,errors,,load,cpu,,failed"),
        "{csv}"
    );
}

/// Each result says what ran: the ONNX bench its backend, version, device and model file, whose
/// size and SHA-256 are the file's own (computed here by `sha256sum`), and a bench's own fact
/// (`b.fact`), in results.json, results.csv and the summary's "What ran" table.
#[test]
fn results_say_what_ran() {
    let _serial = serial();
    let run = run(&["^model_bench_fixture/(onnx_load|steady)$"], &[]);
    assert_eq!(run.code(), Some(0), "{}", run.stderr());
    let onnx = run.bench("model_bench_fixture/onnx_load");
    let facts = &onnx["facts"];
    // The fixture runs without ORT_DYLIB_PATH: tract.
    assert_eq!(facts["backend"], "tract", "{facts}");
    assert!(
        facts["backend.version"]
            .as_str()
            .is_some_and(|v| v.starts_with("0.23.")),
        "{facts}"
    );
    assert_eq!(facts["execution_provider"], "CPU", "{facts}");
    // tract runs the model on the calling thread.
    assert_eq!(facts["threads"], "1", "{facts}");
    let model = model_bench_suite::classify::model_path();
    assert_eq!(facts["model.path"], model.display().to_string(), "{facts}");
    assert_eq!(
        facts["model.bytes"],
        std::fs::metadata(&model).unwrap().len().to_string()
    );
    let sha256sum = Command::new("sha256sum")
        .arg(&model)
        .output()
        .expect("sha256sum runs");
    let digest = String::from_utf8_lossy(&sha256sum.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string();
    assert_eq!(digest.len(), 64, "{sha256sum:?}");
    assert_eq!(facts["model.sha256"], digest, "{facts}");
    let steady = run.bench("model_bench_fixture/steady");
    assert_eq!(
        steady["facts"],
        serde_json::json!({"work": "small_work(100)"})
    );

    let csv = std::fs::read_to_string(run.out_dir().join("results.csv")).unwrap();
    let header = csv.lines().next().unwrap();
    assert!(
        header.ends_with(",error,backend,backend_version,execution_provider,model_sha256"),
        "{header}"
    );
    let row = csv
        .lines()
        .find(|l| l.starts_with("model_bench_fixture/onnx_load,"))
        .unwrap();
    assert!(
        row.ends_with(&format!(
            ",tract,{},CPU,{digest}",
            facts["backend.version"].as_str().unwrap()
        )),
        "{row}"
    );

    let stdout = run.stdout();
    let table = stdout.split("What ran").nth(1).expect("a What ran table");
    assert!(table.contains("model_bench_fixture/onnx_load"), "{stdout}");
    assert!(table.contains(&digest[..12]), "{stdout}");
    assert!(table.contains("work=small_work(100)"), "{stdout}");

    // The crates this binary linked and used: the ONNX bench ran on tract; libtorch's bindings
    // are not built here, and no CUDA bench ran.
    let results = run.results();
    let crates = &results["environment"]["crates"];
    assert!(
        crates["ort"].is_string() && crates["tract-onnx"].is_string(),
        "{crates}"
    );
    assert!(
        crates.get("tch").is_none() && crates.get("cudarc").is_none(),
        "{crates}"
    );
    // The machine's state at the start and the end, each with what this OS answers.
    let machine = &results["environment"]["machine"];
    for when in ["start", "end"] {
        let state = &machine[when];
        assert_eq!(state["sampled_ms"], 250, "{machine}");
        assert!(
            state["load_average"]
                .as_array()
                .is_some_and(|l| l.len() == 3),
            "{machine}"
        );
        assert!(
            state["other_processes_cores"]
                .as_f64()
                .is_some_and(|c| c >= 0.0),
            "{machine}"
        );
    }
}

/// Spinning shell loops, one per core, stopped when dropped.
struct CpuHog(Vec<std::process::Child>);

impl CpuHog {
    fn start() -> CpuHog {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        CpuHog(
            (0..cores)
                .map(|_| {
                    Command::new("sh")
                        .args(["-c", "while :; do :; done"])
                        .spawn()
                        .expect("sh runs")
                })
                .collect(),
        )
    }
}

impl Drop for CpuHog {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[test]
fn a_run_started_beside_a_cpu_hog_is_flagged_busy() {
    let _serial = serial();
    let hog = CpuHog::start();
    let run = run(&["^model_bench_fixture/steady$"], &[]);
    drop(hog);
    assert_eq!(run.code(), Some(0), "{}", run.stderr());
    let results = run.results();
    let start = &results["environment"]["machine"]["start"];
    let busy = start["busy"]
        .as_str()
        .unwrap_or_else(|| panic!("not flagged: {start}"));
    assert!(
        busy.contains("other processes used") && busy.ends_with("expect noise"),
        "{busy}"
    );
    // The hog is named among the top consumers, each shell at a good share of a core.
    let shells: Vec<&Value> = start["top_processes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["name"] == "sh")
        .collect();
    assert!(!shells.is_empty(), "{start}");
    assert!(
        run.stderr().contains("WARNING: the machine is busy"),
        "{}",
        run.stderr()
    );
    let stdout = run.stdout();
    let table = stdout
        .split("Machine busy")
        .nth(1)
        .expect("a Machine busy table");
    assert!(
        table.contains("at the start: other processes used"),
        "{stdout}"
    );
    let summary = std::fs::read_to_string(run.out_dir().join("summary.md")).unwrap();
    assert!(summary.contains("Machine busy"), "{summary}");
}

/// The setup changes of `id` in a run, as `key: before → after` lines.
fn setup_changes(run: &Run, id: &str) -> Vec<String> {
    let show = |v: &Value| v.as_str().unwrap_or("(none)").to_string();
    run.bench(id)["setup_changes"]
        .as_array()
        .map(|changes| {
            changes
                .iter()
                .map(|c| {
                    format!(
                        "{}: {} → {}",
                        show(&c["key"]),
                        show(&c["before"]),
                        show(&c["after"])
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The `machine_load` change two runs' busy flags call for: none when both were quiet or both busy.
fn load_change(before: &Value, after: &Value) -> Vec<String> {
    let busy = |results: &Value| {
        results["environment"]["machine"]["start"]["busy"]
            .as_str()
            .map(str::to_string)
    };
    let show = |b: Option<String>| b.map_or("quiet".to_string(), |why| format!("busy ({why})"));
    let (was, is) = (busy(before), busy(after));
    if was.is_some() == is.is_some() {
        Vec::new()
    } else {
        vec![format!("machine_load: {} → {}", show(was), show(is))]
    }
}

#[test]
fn a_comparison_across_setups_is_flagged_and_the_gate_can_refuse_it() {
    let _serial = serial();
    let onnx = "^model_bench_fixture/onnx_load$";
    let id = "model_bench_fixture/onnx_load";
    let dir = tempfile::tempdir().unwrap();
    let keep = dir.path().to_path_buf();
    let saved = run_in(dir, &["--save-baseline", "main", onnx], &[]);
    assert_eq!(saved.code(), Some(0), "{}", saved.stderr());
    let record = keep.join("criterion/model_bench_fixture/onnx_load/main/model-bench-setup.json");
    let setup: Value = serde_json::from_slice(&std::fs::read(&record).unwrap()).unwrap();
    assert_eq!(setup["facts"]["backend"], "tract", "{setup}");
    assert!(
        setup["facts"].get("model.path").is_none(),
        "a place, not an identity: {setup}"
    );
    let saved_results = saved.results();

    // The same setup again: nothing differs but, truthfully, the machine's load.
    let same = run_in(
        saved.dir,
        &["--baseline", "main", onnx],
        &[("MODEL_BENCH_GATE_SAME_SETUP", "1")],
    );
    assert!(!same.bench(id)["points"][0]["change"].is_null());
    let expected = load_change(&saved_results, &same.results());
    assert_eq!(setup_changes(&same, id), expected);
    if expected.is_empty() {
        assert!(
            !same.stdout().contains("Setup differs"),
            "{}",
            same.stdout()
        );
    }
    // The gate is on: judged, not refused. An unchanged bench may still measure slower by
    // chance on a shared machine (3); it must not be refused (5) or fail (1).
    assert!(matches!(same.code(), Some(0 | 3)), "{}", same.stderr());
    // Comparing never rewrites the baseline's record.
    let after: Value = serde_json::from_slice(&std::fs::read(&record).unwrap()).unwrap();
    assert_eq!(after, setup);

    // Real ONNX Runtime against the tract baseline (scripts/test.sh's ONNX Runtime step sets
    // ORT_DYLIB_PATH; the tract step has no second backend to switch to).
    let Some(library) = std::env::var("ORT_DYLIB_PATH")
        .ok()
        .filter(|p| !p.is_empty())
    else {
        eprintln!(
            "ORT_DYLIB_PATH is not set: the backend change is checked in the ONNX Runtime step"
        );
        return;
    };
    let ort = [
        ("ORT_DYLIB_PATH", library.as_str()),
        ("MODEL_BENCH_ORT_BACKEND", "onnxruntime"),
    ];
    let other = run_in(same.dir, &["--baseline", "main", onnx], &ort);
    assert_eq!(other.code(), Some(0), "{}", other.stderr());
    let facts = &other.bench(id)["facts"];
    let changes = setup_changes(&other, id);
    assert!(
        changes.contains(&"backend: tract → onnxruntime".to_string()),
        "{changes:?}"
    );
    assert!(
        changes.contains(&format!(
            "backend.version: {} → {}",
            setup["facts"]["backend.version"].as_str().unwrap(),
            facts["backend.version"].as_str().unwrap()
        )),
        "{changes:?}"
    );
    assert!(
        !changes.iter().any(|c| c.starts_with("model.sha256")),
        "same model: {changes:?}"
    );
    assert!(
        other
            .stderr()
            .contains("WARNING: compared with baseline `main`, which ran on another setup"),
        "{}",
        other.stderr()
    );
    let table = other.stdout();
    let table = table
        .split("Setup differs from the baseline `main`")
        .nth(1)
        .expect("the table");
    assert!(
        table.contains("tract") && table.contains("onnxruntime"),
        "{table}"
    );
    let summary = std::fs::read_to_string(other.out_dir().join("summary.md")).unwrap();
    assert!(
        summary.contains("Setup differs from the baseline"),
        "{summary}"
    );

    let mut refusing = ort.to_vec();
    refusing.push(("MODEL_BENCH_GATE_SAME_SETUP", "1"));
    let refused = run_in(other.dir, &["--baseline", "main", onnx], &refusing);
    assert_eq!(refused.code(), Some(5), "{}", refused.stderr());
    assert!(
        refused.stderr().contains("not judged"),
        "{}",
        refused.stderr()
    );
}

#[test]
fn cold_runs_happen_in_fresh_processes_and_are_kept_apart_from_warm() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let pid_log = dir.path().join("pids.log");
    let run = run_in(
        dir,
        &["cold_start"],
        &[("FIXTURE_PID_LOG", pid_log.to_str().unwrap())],
    );
    assert_eq!(run.code(), Some(0), "{}", run.stderr());

    let pids: Vec<u32> = std::fs::read_to_string(&pid_log)
        .unwrap()
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
    let mut distinct = pids.clone();
    distinct.sort_unstable();
    distinct.dedup();
    // The warm run in the bench process, then `cold_runs = 3` fresh processes.
    assert_eq!(pids.len(), 4, "{pids:?}");
    assert_eq!(
        distinct.len(),
        4,
        "every cold run is its own process: {pids:?}"
    );

    let bench = run.bench("model_bench_fixture/cold_start");
    let cold = &bench["cold"]["summary"];
    assert_eq!(cold["runs"], 3);
    let samples: Vec<f64> = cold["samples_ns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_f64().unwrap())
        .collect();
    assert_eq!(samples.len(), 3);
    // Each cold run includes the 20 ms "load" before the first call; the warm median does not.
    assert!(samples.iter().all(|&s| s >= 20e6), "{samples:?}");
    let warm = cold["warm_median_ns"].as_f64().unwrap();
    let warm_point = bench["points"][0]["estimates"]["median"]["point"]
        .as_f64()
        .unwrap();
    assert_eq!(warm, warm_point);
    // The routine is a few hundred nanoseconds; a median of whole samples at or over the 20 ms
    // "load" can only come from counting the load in them.
    assert!(warm < 20e6, "the warm median excludes setup: {warm}");
    let mean = cold["mean_ns"].as_f64().unwrap();
    assert!((cold["overhead_ns"].as_f64().unwrap() - (mean - warm)).abs() < 1e-6);
    assert!(cold["p95_ns"].as_f64().unwrap() >= mean.min(samples[0]));
    assert!(bench["cold"]["failures"].as_array().unwrap().is_empty());
    assert!(run
        .stdout()
        .contains("Cold (first call in a fresh process) vs warm"));
}

#[test]
fn an_unknown_bench_in_a_cold_run_is_a_clear_error() {
    let _serial = serial();
    let output = fixture()
        .env("MODEL_BENCH_COLD_BENCH", "toy/no_such_stage")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cold run asked for bench `toy/no_such_stage`"),
        "{stderr}"
    );
    assert!(stderr.contains("no such bench"), "{stderr}");
    assert!(
        stderr.contains("toy/toy_forward"),
        "lists what exists: {stderr}"
    );

    let output = fixture()
        .env("MODEL_BENCH_COLD_BENCH", "toy/toy_forward")
        .env("MODEL_BENCH_COLD_BATCH", "3")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("is not one of its batch sizes [1, 2]"),
        "{stderr}"
    );
}

#[test]
fn the_pipeline_breakdown_names_the_bottleneck() {
    let _serial = serial();
    let run = run(&["^toy/"], &[]);
    assert_eq!(run.code(), Some(0), "{}", run.stderr());
    let results = run.results();
    let pipelines = results["pipelines"].as_array().unwrap();
    assert_eq!(pipelines.len(), 1);
    let toy = &pipelines[0];
    assert_eq!(toy["pipeline"], "toy");
    assert_eq!(toy["batch"], 1);
    assert_eq!(toy["bottleneck"], "toy_forward");
    let stages: Vec<&str> = toy["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["bench"].as_str().unwrap())
        .collect();
    assert_eq!(stages, ["toy_preprocess", "toy_forward", "toy_postprocess"]);
    let share_sum: f64 = toy["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["share_pct"].as_f64().unwrap())
        .sum();
    assert!((share_sum - 100.0).abs() < 1e-6, "{share_sum}");
    // Both the bottleneck and the end-to-end bench sleep at least 2 ms per call.
    assert!(toy["stages"][1]["median_ns"].as_f64().unwrap() >= 2e6);
    assert!(toy["end_to_end_ns"].as_f64().unwrap() >= 2e6);
    let summary = std::fs::read_to_string(run.out_dir().join("summary.md")).unwrap();
    assert!(
        summary.contains("### Pipeline breakdown: toy (batch 1)"),
        "{summary}"
    );
    assert!(summary.contains("bottleneck: toy_forward"), "{summary}");
}

/// A chart's named series of `(x, y)` points.
type PlottedSeries = Vec<(String, Vec<(f64, f64)>)>;

/// A chart's SVG, checked to parse, and the series it embeds (`<metadata id="model-bench-series">`).
fn chart(dir: &std::path::Path, name: &str) -> (String, PlottedSeries) {
    let path = dir.join(format!("{name}.svg"));
    let svg = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let document = roxmltree::Document::parse(&svg).unwrap_or_else(|e| panic!("{name}: {e}"));
    let metadata = document
        .descendants()
        .find(|n| n.has_tag_name("metadata") && n.attribute("id") == Some("model-bench-series"))
        .and_then(|n| n.text())
        .unwrap_or_else(|| panic!("{name} embeds no series"));
    let series: Vec<Value> = serde_json::from_str(metadata).unwrap();
    let series = series
        .iter()
        .map(|s| {
            let points = s["points"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| (p[0].as_f64().unwrap(), p[1].as_f64().unwrap()))
                .collect();
            (s["name"].as_str().unwrap().to_string(), points)
        })
        .collect();
    // With feature `png`, its PNG twin is a real image of the chart's size; without, there is
    // none.
    let png_path = dir.join(format!("{name}.png"));
    if cfg!(feature = "png") {
        let png = std::fs::read(&png_path).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "{name}.png");
        let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
        let height = u32::from_be_bytes(png[20..24].try_into().unwrap());
        assert_eq!((width, height), (900, 500), "{name}.png");
    } else {
        assert!(!png_path.exists(), "{name}.png written without feature png");
    }
    (svg, series)
}

/// The vertex lists of the SVG's polylines in `stroke` colour (plotters draws each line series as
/// one).
fn polylines(svg: &str, stroke: &str) -> Vec<Vec<(f64, f64)>> {
    let document = roxmltree::Document::parse(svg).unwrap();
    document
        .descendants()
        .filter(|n| n.has_tag_name("polyline") && n.attribute("stroke") == Some(stroke))
        .filter_map(|n| n.attribute("points"))
        .map(|points| {
            points
                .split_whitespace()
                .map(|xy| {
                    let (x, y) = xy.split_once(',').unwrap();
                    (x.parse().unwrap(), y.parse().unwrap())
                })
                .collect()
        })
        .collect()
}

#[test]
fn the_report_draws_the_measured_figures_as_charts_beside_the_tables() {
    let _serial = serial();
    // The run starts in a git repository with one commit: the environment names it.
    let dir = tempfile::tempdir().unwrap();
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .args([
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@t",
                "-c",
                "commit.gpgsign=false",
            ])
            .args(args)
            .current_dir(dir.path())
            .output()
            .expect("git runs");
        assert!(out.status.success(), "git {args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    git(&["init", "-q"]);
    git(&["commit", "-q", "--allow-empty", "-m", "fixture"]);
    let head = git(&["rev-parse", "HEAD"]);
    let run = run_in(dir, &["^toy/|oom_sweep"], &[]);
    assert_eq!(run.code(), Some(0), "{}", run.stderr());
    let results = run.results();
    let report = run.out_dir().join("report");

    // The batch sweep plots exactly the measured batches and their items/s.
    let sweep = &run.bench("model_bench_fixture/oom_sweep")["sweep"];
    let measured: Vec<(f64, f64)> = sweep["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["batch"].as_f64().unwrap(),
                p["items_per_sec"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(measured.len(), 2, "{sweep}");
    let (svg, series) = chart(&report, "sweep-model_bench_fixture_oom_sweep");
    assert_eq!(series[0].0, "items/s");
    assert_eq!(series[0].1, measured);
    assert!(svg.contains("best batch"), "the best batch is marked");
    // The items/s line (the first colour) has a vertex per batch, the higher throughput drawn
    // higher (smaller y).
    let line = polylines(&svg, "#1F77B4")
        .into_iter()
        .find(|l| l.len() == 2)
        .expect("a two-point line");
    assert_eq!(
        line[0].1 < line[1].1,
        measured[0].1 > measured[1].1,
        "{line:?}"
    );

    // The breakdown stacks the stages in their measured shares.
    let toy = &results["pipelines"][0];
    let (svg, series) = chart(&report, "breakdown-toy");
    let stages = toy["stages"].as_array().unwrap();
    assert_eq!(stages.len(), 3, "{toy}");
    assert!(
        series.len() > stages.len(),
        "a series per stage and the total: {series:?}"
    );
    let total: f64 = series[..stages.len()]
        .iter()
        .map(|s| s.1[0].1 - s.1[0].0)
        .sum();
    for (stage, (name, points)) in stages.iter().zip(&series) {
        assert!(name.starts_with(stage["bench"].as_str().unwrap()), "{name}");
        let share = 100.0 * (points[0].1 - points[0].0) / total;
        assert!(
            (share - stage["share_pct"].as_f64().unwrap()).abs() < 1e-6,
            "{name}"
        );
        assert!(
            svg.contains(stage["bench"].as_str().unwrap()),
            "legend names {name}"
        );
    }
    assert_eq!(series.last().unwrap().0, "end-to-end");

    // Box plots hold each stage's quartiles from results.json.
    let (_, boxes) = chart(&report, "stages-toy");
    let names: Vec<&str> = boxes.iter().map(|s| s.0.as_str()).collect();
    assert_eq!(names, ["min", "p25", "median", "p75", "max"]);
    for (i, (_, values)) in boxes.iter().enumerate() {
        assert_eq!(values.len(), 4, "three stages and end-to-end at batch 1");
        if i > 0 {
            assert!(values
                .iter()
                .zip(&boxes[i - 1].1)
                .all(|(v, lower)| v.1 >= lower.1));
        }
    }
    let forward = &run.bench("toy/toy_forward")["points"][0]["sample"];
    assert!(forward["p25"].as_f64().unwrap() <= forward["p75"].as_f64().unwrap());

    // index.html ties it together: every chart, the tables, the environment.
    let html = std::fs::read_to_string(report.join("index.html")).unwrap();
    for name in [
        "sweep-model_bench_fixture_oom_sweep",
        "breakdown-toy",
        "stages-toy",
    ] {
        assert!(html.contains(&format!("<img src=\"{name}.svg\"")), "{name}");
        assert_eq!(
            html.contains(&format!("href=\"{name}.png\"")),
            cfg!(feature = "png"),
            "{name}"
        );
    }
    assert!(
        html.contains("<h3>Pipeline breakdown: toy (batch 1)</h3>"),
        "{html}"
    );
    assert!(html.contains("<th>rustc</th>"));
    assert_eq!(
        results["environment"]["git"]["commit"].as_str(),
        Some(head.as_str())
    );
    assert!(html.contains(&head), "the HTML names the commit");
    // The settings the run used are recorded with the results.
    assert_eq!(results["run"]["settings"]["gate_enabled"], false);
    assert_eq!(results["run"]["settings"]["significance_level"], 0.05);
}

#[test]
fn noplot_leaves_the_charts_out_of_the_report() {
    let _serial = serial();
    let run = run(&["--noplot", "^toy/toy_request"], &[]);
    assert_eq!(run.code(), Some(0), "{}", run.stderr());
    let report = run.out_dir().join("report");
    let html = std::fs::read_to_string(report.join("index.html")).unwrap();
    assert!(html.contains("charts were not drawn (--noplot)"), "{html}");
    assert!(
        html.contains("toy/toy_request"),
        "the tables are still there"
    );
    let files: Vec<String> = std::fs::read_dir(&report)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(files, ["index.html"]);
}

#[test]
fn a_device_clock_times_the_device_not_the_host() {
    let _serial = serial();
    let run = run(&["model_bench_fixture/device_clock"], &[]);
    assert_eq!(run.code(), Some(0), "{}", run.stderr());
    // The cold-cache regime times each call alone: the flushes' second never counts.
    let cold = &run.bench("model_bench_fixture/device_clock_cold")["points"][0];
    let median = cold["estimates"]["median"]["point"].as_f64().unwrap();
    assert!((median - 2e6).abs() < 1.0, "cold median {median}");
    assert_eq!(cold["device_timing"]["regime"], "cold_cache");
    let point = &run.bench("model_bench_fixture/device_clock")["points"][0];
    // Every launch queues exactly 2 ms of (counted) device time and returns at once: criterion's
    // statistics are over the device clock, so each estimate is 2 ms to the nanosecond.
    for estimate in ["mean", "median"] {
        let value = point["estimates"][estimate]["point"].as_f64().unwrap();
        assert!((value - 2e6).abs() < 1.0, "{estimate}: {value}");
    }
    let timing = &point["device_timing"];
    assert_eq!(timing["clock"], "device_events");
    assert_eq!(timing["regime"], "warm");
    // The host only incremented a counter: its own clock reads less than the 2 ms of device time
    // each call queues (else the device clock would not be the one in the estimates, and the
    // samples would be launch-bound).
    assert!(timing["host_median_ns"].as_f64().unwrap() < 2e6, "{timing}");
    assert_eq!(timing["launch_bound_samples"], 0);

    // A host slower than the device: every sample is launch-bound, and the run says so.
    let slow = &run.bench("model_bench_fixture/device_clock_launch_bound")["points"][0];
    assert_eq!(
        slow["device_timing"]["launch_bound_samples"], slow["sample"]["samples"],
        "{slow}"
    );
    let results = run.results();
    let advice: Vec<&Value> = results["recommendations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["kind"] == "launch_bound")
        .collect();
    assert_eq!(advice.len(), 1, "{advice:?}");
    assert_eq!(
        advice[0]["bench"],
        "model_bench_fixture/device_clock_launch_bound"
    );

    // A device clock that fails is the bench's failure, with the clock's message.
    let lost = run_in(
        tempfile::tempdir().unwrap(),
        &["model_bench_fixture/device_clock$"],
        &[("FIXTURE_CLOCK_FAILS", "1")],
    );
    assert_eq!(lost.code(), Some(1), "{}", lost.stderr());
    let error = lost.bench("model_bench_fixture/device_clock")["error"].clone();
    assert!(
        error
            .as_str()
            .unwrap()
            .contains("device clock: the device was lost (simulated)"),
        "{error}"
    );
}

#[test]
fn cuda_benches_run_on_a_gpu_and_are_skipped_with_the_reason_without_one() {
    let _serial = serial();
    let run = run(&["model_bench_fixture/(cuda_gemm|steady)"], &[]);
    // Skipped is not failed: the run passes and the other bench ran.
    assert_eq!(run.code(), Some(0), "{}", run.stderr());
    let gemm = run.bench("model_bench_fixture/cuda_gemm");
    assert_eq!(gemm["device"], "cuda");
    assert_eq!(run.bench("model_bench_fixture/steady")["status"], "ok");
    // This test process is built with the fixture's features: it asks the same question the
    // runner asked.
    let Some(reason) = model_bench::measure::cuda_unavailable() else {
        // A GPU: measured on device events, with its cold runs.
        assert_eq!(gemm["status"], "ok", "{gemm}");
        let point = &gemm["points"][0];
        assert_eq!(point["device_timing"]["clock"], "device_events", "{point}");
        assert!(
            point["estimates"]["median"]["point"].as_f64() > Some(0.0),
            "{point}"
        );
        assert!(
            gemm["cold"]["summary"]["runs"].as_u64() >= Some(1),
            "{gemm}"
        );
        return;
    };
    assert_eq!(gemm["status"], "skipped");
    // Built without the feature, or with it on a machine without a driver (this one, CI): the
    // reason is the one the library gives.
    assert_eq!(gemm["error"].as_str(), Some(reason.as_str()), "{gemm}");
    assert!(gemm["points"].as_array().unwrap().is_empty());
    assert!(run.stdout().contains("Skipped"), "{}", run.stdout());
    assert!(
        run.stderr()
            .contains("model_bench_fixture/cuda_gemm skipped"),
        "{}",
        run.stderr()
    );
    // `cold` on a skipped bench starts no fresh process either.
    assert!(!run.stderr().contains("cold run"), "{}", run.stderr());
    assert!(gemm["cold"].is_null(), "{gemm}");
}

#[test]
fn results_json_carries_the_schema_environment_and_real_estimates() {
    let _serial = serial();
    let run = run(&["^toy/toy_forward"], &[]);
    assert_eq!(run.code(), Some(0), "{}", run.stderr());
    let results = run.results();
    assert_eq!(results["schema_version"], 1);
    assert_eq!(results["model_bench_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(results["interrupted"], false);
    // When it finished, readable: RFC 3339 in UTC, the same instant as the Unix seconds, in the
    // JSON, summary.md and the HTML report.
    let finished = results["created_at"].as_str().unwrap().to_string();
    assert_eq!(
        finished,
        model_bench::export::format::rfc3339_utc(results["created_unix_s"].as_u64().unwrap())
    );
    assert!(
        regex::Regex::new(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
            .unwrap()
            .is_match(&finished),
        "{finished}"
    );
    let summary = std::fs::read_to_string(run.out_dir().join("summary.md")).unwrap();
    assert!(
        summary.contains(&format!("finished {finished}")),
        "{summary}"
    );
    let html = std::fs::read_to_string(run.out_dir().join("report/index.html")).unwrap();
    assert!(
        html.contains(&format!("finished {finished}")),
        "no {finished} in the report"
    );
    assert!(!html.contains("Unix time"));
    assert_eq!(results["run"]["quick"], true);
    assert_eq!(results["run"]["filter"], "^toy/toy_forward");
    assert_eq!(results["run"]["baseline"]["action"], "save");
    let env = &results["environment"];
    assert!(env["rustc"].as_str().unwrap().starts_with("rustc "));
    assert!(env["logical_cores"].as_u64().unwrap() >= 1);
    assert!(env["os"].as_str().is_some_and(|os| !os.is_empty()));
    assert!(env["kernel"].as_str().is_some_and(|k| !k.is_empty()));
    assert!(env["memory_bytes"].as_u64().unwrap() > 0);

    let bench = run.bench("toy/toy_forward");
    assert_eq!(bench["pipeline"], "toy");
    assert_eq!(bench["stage"], "forward");
    assert_eq!(bench["device"], "cpu");
    assert!(bench["source"]
        .as_str()
        .unwrap()
        .starts_with("tests/fixture/bench.rs:"));
    assert_eq!(points(&bench), [1, 2]);
    for (point, batch) in bench["points"].as_array().unwrap().iter().zip([1u64, 2]) {
        assert_eq!(point["id"], format!("toy/toy_forward/{batch}"));
        assert_eq!(point["batch"], batch);
        assert_eq!(point["unit"], "ns");
        let median = &point["estimates"]["median"];
        let (lower, value, upper) = (
            median["lower"].as_f64().unwrap(),
            median["point"].as_f64().unwrap(),
            median["upper"].as_f64().unwrap(),
        );
        assert!(lower <= value && value <= upper, "{median}");
        // The routine sleeps 2 ms per batch element.
        assert!(value >= 2e6 * batch as f64, "{value}");
        assert_eq!(median["confidence_level"], 0.95);
        assert!(point["estimates"]["mean"]["point"].as_f64().unwrap() >= 2e6 * batch as f64);
        assert!(point["estimates"]["std_dev"]["point"].as_f64().unwrap() >= 0.0);
        assert!(point["estimates"]["median_abs_dev"]["point"]
            .as_f64()
            .is_some());
        assert_eq!(point["sample"]["samples"], 10);
        let items_per_sec = point["items_per_sec"].as_f64().unwrap();
        assert!((items_per_sec - batch as f64 * 1e9 / value).abs() < 1e-6);
    }
    let sweep = &bench["sweep"];
    assert_eq!(sweep["points"][1]["batch"], 2);
    assert_eq!(
        sweep["best_batch"].as_u64(),
        Some(highest_throughput(sweep))
    );

    let csv = std::fs::read_to_string(run.out_dir().join("results.csv")).unwrap();
    let mut lines = csv.lines();
    assert!(lines
        .next()
        .unwrap()
        .starts_with("id,bench,pipeline,stage,device,batch"));
    assert_eq!(
        lines.filter(|l| l.starts_with("toy/toy_forward/")).count(),
        2
    );
    // Nothing is left half-written.
    for entry in std::fs::read_dir(run.out_dir()).unwrap() {
        let name = entry.unwrap().file_name();
        assert!(!name.to_string_lossy().ends_with(".tmp"), "{name:?}");
    }
}

#[test]
fn a_saved_baseline_is_compared_against_on_the_next_run() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let keep = dir.path().to_path_buf();
    let first = run_in(dir, &["--save-baseline", "main", "^toy/toy_request"], &[]);
    assert_eq!(first.code(), Some(0), "{}", first.stderr());
    assert!(keep
        .join("criterion/toy/toy_request/main/estimates.json")
        .is_file());
    assert!(first.bench("toy/toy_request")["points"][0]["change"].is_null());

    let second = run_in(first.dir, &["--baseline", "main", "^toy/toy_request"], &[]);
    assert_eq!(second.code(), Some(0), "{}", second.stderr());
    assert!(second.stdout().contains("change:"), "{}", second.stdout());
    let results = second.results();
    assert_eq!(results["run"]["baseline"]["action"], "compare");
    assert_eq!(results["run"]["baseline"]["name"], "main");
    let change = &second.bench("toy/toy_request")["points"][0]["change"];
    let mean = &change["mean"];
    assert!(mean["lower"].as_f64().unwrap() <= mean["upper"].as_f64().unwrap());

    // A baseline that was never saved: strict comparison fails each bench without it, naming the
    // file and the way out, before measuring it (criterion would measure, then panic).
    let third = run_in(
        second.dir,
        &["--baseline", "nope", "^toy/toy_(request|preprocess)"],
        &[],
    );
    assert_eq!(third.code(), Some(1), "{}", third.stderr());
    let failed = third.bench("toy/toy_request");
    assert_eq!(failed["status"], "failed");
    let message = failed["error"].as_str().unwrap();
    assert!(
        message.contains("no baseline `nope`")
            && message.contains("toy_request/nope/estimates.json")
            && message.contains("--baseline-lenient nope"),
        "{message}"
    );
    assert_eq!(third.bench("toy/toy_preprocess")["status"], "failed");
    assert!(!third.stderr().contains("panicked"), "{}", third.stderr());
    // criterion's lenient comparison measures without a change where the baseline is missing.
    let fourth = run_in(
        third.dir,
        &["--baseline-lenient", "nope", "^toy/toy_request"],
        &[],
    );
    assert_eq!(fourth.code(), Some(0), "{}", fourth.stderr());
    let point = &fourth.bench("toy/toy_request")["points"][0];
    assert!(point["change"].is_null() && point["estimates"].is_object());
}

/// The progress lines of a run's stderr for `point`.
fn progress_lines(run: &Run, point: &str) -> Vec<String> {
    let prefix = format!("model-bench: {point} · ");
    run.stderr()
        .lines()
        .filter(|l| l.starts_with(&prefix))
        .map(str::to_string)
        .collect()
}

#[test]
fn a_load_point_shows_its_progress_unless_silenced() {
    let _serial = serial();
    let point = "serving/rest_open_loop/r200";
    let filter = "^serving/rest_open_loop/r200$";
    // Not a terminal (a pipe, as in CI): plain lines, here every 100 ms over the 0.5 s point at
    // 200 requests per second.
    let shown = run(
        &[filter],
        &[("MODEL_BENCH_PROGRESS", "100ms"), ("FIXTURE_TOKEN", "t")],
    );
    assert_eq!(shown.code(), Some(0), "{}", shown.stderr());
    let lines = progress_lines(&shown, point);
    assert!(lines.len() >= 3, "{}", shown.stderr());
    let measuring: Vec<&String> = lines.iter().filter(|l| l.contains("measuring")).collect();
    assert!(!measuring.is_empty(), "{lines:?}");
    let last = measuring.last().unwrap();
    assert!(
        last.contains(" of 0.5 s") && last.contains(" ok/s · 0 errors"),
        "{last}"
    );
    // The counts only grow.
    let requests: Vec<u64> = lines
        .iter()
        .filter_map(|l| {
            l.split(" requests")
                .next()?
                .rsplit(' ')
                .next()?
                .parse()
                .ok()
        })
        .collect();
    assert_eq!(requests.len(), lines.len(), "{lines:?}");
    assert!(requests.windows(2).all(|w| w[0] <= w[1]), "{requests:?}");
    assert!(
        !shown.stdout().contains(" · measuring"),
        "progress goes to stderr only"
    );

    let silent = run(
        &[filter],
        &[("MODEL_BENCH_PROGRESS", "0"), ("FIXTURE_TOKEN", "t")],
    );
    assert_eq!(silent.code(), Some(0), "{}", silent.stderr());
    assert!(
        progress_lines(&silent, point).is_empty(),
        "{}",
        silent.stderr()
    );
}

#[test]
fn the_gate_fails_closed_on_a_baseline_it_cannot_read() {
    let _serial = serial();
    let request = "^toy/toy_request$";
    let dir = tempfile::tempdir().unwrap();
    let keep = dir.path().to_path_buf();
    let saved = run_in(dir, &["--save-baseline", "main", request], &[]);
    assert_eq!(saved.code(), Some(0), "{}", saved.stderr());
    let sample = keep.join("criterion/toy/toy_request/main/sample.json");
    let text = std::fs::read_to_string(&sample).unwrap();
    std::fs::write(&sample, &text[..text.len() / 2]).unwrap();

    // Gate off: the point is measured without a verdict, and the run says why.
    let ungated = run_in(saved.dir, &["--baseline", "main", request], &[]);
    assert_eq!(ungated.code(), Some(0), "{}", ungated.stderr());
    assert!(
        ungated.stderr().contains("baseline `main` is unusable"),
        "{}",
        ungated.stderr()
    );
    let errors = &ungated.bench("toy/toy_request")["baseline_errors"];
    assert!(
        errors[0]
            .as_str()
            .is_some_and(|e| e.contains("main/sample.json")),
        "{errors}"
    );

    // Gate on: it could not judge, so the run fails with its own code, naming the file; what
    // was measured is still written.
    let gated = run_in(
        ungated.dir,
        &["--baseline", "main", request],
        &[("MODEL_BENCH_GATE", "1")],
    );
    assert_eq!(gated.code(), Some(6), "{}", gated.stderr());
    let stderr = gated.stderr();
    assert!(stderr.contains("cannot be read"), "{stderr}");
    assert!(stderr.contains("toy_request/main/sample.json"), "{stderr}");
    assert!(!gated.bench("toy/toy_request")["points"]
        .as_array()
        .unwrap()
        .is_empty());
}

#[test]
fn the_gate_fails_a_run_that_really_regressed_and_passes_one_that_did_not() {
    let _serial = serial();
    let gated = "^model_bench_fixture/gated$";
    let gate_on = ("MODEL_BENCH_GATE", "1");
    let dir = tempfile::tempdir().unwrap();
    // A wide noise band: an unchanged bench on a shared machine must never fail the gate here,
    // and three times the work is still far outside it.
    std::fs::write(
        dir.path().join("model-bench.toml"),
        "[gate]\nnoise_threshold = 0.5\n",
    )
    .unwrap();
    let first = run_in(dir, &["--save-baseline", "main", gated], &[gate_on]);
    assert_eq!(first.code(), Some(0), "{}", first.stderr());
    assert!(
        first.stderr().contains("no bench had baseline `main`"),
        "{}",
        first.stderr()
    );

    // The same work again: not a regression (whatever noise says, never 3 times slower), and
    // nothing else wrong either: the run passes.
    let same = run_in(first.dir, &["--baseline", "main", gated], &[gate_on]);
    assert_eq!(same.code(), Some(0), "{}", same.stderr());

    // Three times the work: a regression, with the bench, the change and the p-value named.
    let slower = run_in(
        same.dir,
        &["--baseline", "main", gated],
        &[gate_on, ("FIXTURE_SLOWDOWN", "3")],
    );
    assert_eq!(slower.code(), Some(3), "{}", slower.stderr());
    let stderr = slower.stderr();
    assert!(
        stderr.contains("1 regression(s) against baseline `main`"),
        "{stderr}"
    );
    let line = stderr
        .lines()
        .find(|l| l.contains("model_bench_fixture/gated: mean time +"))
        .unwrap_or_else(|| panic!("{stderr}"));
    let p_value: f64 = line
        .split("p = ")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no p-value in {line}"));
    assert!(p_value < 0.05, "{line}");
    assert!(line.contains("noise threshold ±50.0 %"), "{line}");
    let change = &slower.bench("model_bench_fixture/gated")["points"][0]["change"];
    assert_eq!(change["verdict"], "regressed");
    let summary = std::fs::read_to_string(slower.out_dir().join("summary.md")).unwrap();
    assert!(
        summary
            .lines()
            .any(|l| l.contains("gated") && l.contains("% regressed")),
        "{summary}"
    );
    assert!(change["mean"]["lower"].as_f64().unwrap() > 1.0, "{change}");
    let html = std::fs::read_to_string(slower.out_dir().join("report/index.html")).unwrap();
    assert!(
        html.contains("<b>1 regressed</b>")
            && html.contains("Regressed: model_bench_fixture/gated (+"),
        "{html}"
    );

    // Faster than the baseline (back to the original work) is an improvement: never a failure.
    let faster = run_in(
        slower.dir,
        &["--save-baseline", "slow", gated],
        &[("FIXTURE_SLOWDOWN", "3")],
    );
    assert_eq!(faster.code(), Some(0), "{}", faster.stderr());
    let improved = run_in(faster.dir, &["--baseline", "slow", gated], &[gate_on]);
    assert_eq!(improved.code(), Some(0), "{}", improved.stderr());
    let change = &improved.bench("model_bench_fixture/gated")["points"][0]["change"];
    assert_eq!(change["verdict"], "improved");

    // Without the gate, the same regression is reported but does not fail the run.
    let ungated = run_in(
        improved.dir,
        &["--baseline", "main", gated],
        &[("FIXTURE_SLOWDOWN", "3")],
    );
    assert_eq!(ungated.code(), Some(0), "{}", ungated.stderr());
    let change = &ungated.bench("model_bench_fixture/gated")["points"][0]["change"];
    assert_eq!(change["verdict"], "regressed");
}

/// Runs the fixture on `filter` with `toml` as its `model-bench.toml`.
fn run_with_config(toml: &str, filter: &str) -> Run {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("model-bench.toml"), toml).unwrap();
    run_in(dir, &[filter], &[("FIXTURE_TOKEN", "t")])
}

#[test]
fn thresholds_on_absolute_figures_fail_the_run_with_their_own_code() {
    let _serial = serial();
    let held = run_with_config(
        "[thresholds]\n\"model_bench_fixture/gated\" = [\"median < 10s\", \"throughput > 1/s\"]\n\
         \"serving/rest_identity\" = [\"p99 < 60s\", \"error_rate < 1%\", \"throughput > 1/s\"]\n",
        "^(model_bench_fixture/gated|serving/rest_identity/c1)$",
    );
    assert_eq!(held.code(), Some(0), "{}", held.stderr());
    assert!(
        held.stderr().contains("thresholds: all 5 checks held"),
        "{}",
        held.stderr()
    );

    let broken = run_with_config(
        "[thresholds]\n\"model_bench_fixture/gated\" = [\"median < 1ns\"]\n\
         \"model_bench_fixture/cold_start\" = [\"cold_mean < 1ns\"]\n\
         \"nope/typo\" = [\"p99 < 1ms\"]\n",
        "^model_bench_fixture/(gated|cold_start)$",
    );
    assert_eq!(broken.code(), Some(4), "{}", broken.stderr());
    let stderr = broken.stderr();
    assert!(stderr.contains("thresholds: 2 broken"), "{stderr}");
    assert!(
        stderr.contains("model_bench_fixture/gated: `median < 1ns` broken: measured"),
        "{stderr}"
    );
    assert!(
        stderr.contains("model_bench_fixture/cold_start: `cold_mean < 1ns` broken"),
        "{stderr}"
    );
    assert!(
        stderr.contains("nope/typo: `p99 < 1ms` matched no measured figure"),
        "{stderr}"
    );

    let invalid = run_with_config("[thresholds]\n\"x\" = [\"p99 fast\"]\n", "^x$");
    assert_eq!(invalid.code(), Some(2), "{}", invalid.stderr());
    assert!(
        invalid.stderr().contains("p99 fast"),
        "{}",
        invalid.stderr()
    );
}

#[test]
fn bencher_and_github_benchmark_files_carry_every_point() {
    let _serial = serial();
    let run = run(
        &["^(model_bench_fixture/steady|serving/rest_identity/c1)$"],
        &[("FIXTURE_TOKEN", "t")],
    );
    assert_eq!(run.code(), Some(0), "{}", run.stderr());
    let read = |name: &str| -> Value {
        serde_json::from_slice(&std::fs::read(run.out_dir().join(name)).unwrap()).unwrap()
    };
    let bmf = read("bencher.json");
    let steady = &bmf["model_bench_fixture/steady"];
    let latency = &steady["latency"];
    assert!(latency["lower_value"].as_f64().unwrap() <= latency["value"].as_f64().unwrap());
    assert!(latency["value"].as_f64().unwrap() <= latency["upper_value"].as_f64().unwrap());
    assert!(steady["throughput"]["value"].as_f64().unwrap() > 0.0);
    let remote = &bmf["serving/rest_identity/c1"];
    assert!(
        remote["latency-p99"]["value"].as_f64().unwrap() > 0.0,
        "{remote}"
    );
    assert!(
        remote["throughput"]["value"].as_f64().unwrap() > 0.0,
        "{remote}"
    );

    let entries = read("github-action-benchmark.json");
    let names: Vec<&str> = entries
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "model_bench_fixture/steady",
            "serving/rest_identity/c1",
            "serving/rest_identity/c1 (p99)"
        ]
    );
    assert_eq!(entries[0]["unit"], "ns");
    assert!(entries[0]["value"].as_f64().unwrap() > 0.0);
}

#[test]
fn recommendations_come_with_the_numbers_behind_them() {
    let _serial = serial();
    let run = run_with_config(
        "[recommend]\nslo_p99 = \"60s\"\ncold_overhead = \"1ns\"\nnoise = 0.000001\n",
        "^(toy/toy_forward|serving/rest_identity|model_bench_fixture/cold_start)",
    );
    assert_eq!(run.code(), Some(0), "{}", run.stderr());
    let results = run.results();
    let recommendations = results["recommendations"].as_array().unwrap();
    let find = |bench: &str, kind: &str| {
        recommendations
            .iter()
            .find(|r| r["bench"] == bench && r["kind"] == kind)
            .unwrap_or_else(|| panic!("no {kind} advice for {bench}: {recommendations:?}"))
    };
    let batch = find("toy/toy_forward", "batch");
    assert!(batch["advice"]
        .as_str()
        .unwrap()
        .starts_with("serve with batch "));
    assert!(batch["evidence"].as_str().unwrap().contains("items/s"));
    let load = find("serving/rest_identity", "load");
    assert!(load["advice"]
        .as_str()
        .unwrap()
        .starts_with("run at concurrency "));
    assert!(
        load["evidence"]
            .as_str()
            .unwrap()
            .contains("under the 60.00 s SLO"),
        "{load}"
    );
    let cold = find("model_bench_fixture/cold_start", "cold");
    assert!(
        cold["evidence"].as_str().unwrap().contains("warm"),
        "{cold}"
    );
    find("toy/toy_forward/1", "noise");
    let summary = std::fs::read_to_string(run.out_dir().join("summary.md")).unwrap();
    assert!(summary.contains("### Recommendations"), "{summary}");
}

#[test]
fn memory_a_bench_keeps_is_measured_and_flagged() {
    let _serial = serial();
    let run = run_with_config(
        "[recommend]\nmemory_growth_mib = 48\n",
        "^(model_bench_fixture/holds_memory|toy/toy_forward)",
    );
    assert_eq!(run.code(), Some(0), "{}", run.stderr());
    let memory = &run.bench("model_bench_fixture/holds_memory")["memory"];
    let before = memory["rss_before_bytes"].as_u64().unwrap();
    let after = memory["rss_after_bytes"].as_u64().unwrap();
    assert!(after >= before + (90 << 20), "{memory}");
    let results = run.results();
    let flagged: Vec<&Value> = results["recommendations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["kind"] == "memory")
        .collect();
    // Only the bench that kept memory is flagged, with its before and after.
    assert_eq!(flagged.len(), 1, "{flagged:?}");
    assert_eq!(flagged[0]["bench"], "model_bench_fixture/holds_memory");
    let evidence = flagged[0]["evidence"].as_str().unwrap();
    assert!(
        evidence.contains("MiB before the bench") && evidence.contains("over the 48 MiB limit"),
        "{evidence}"
    );
    assert!(run.bench("toy/toy_forward")["memory"]["rss_after_bytes"].is_u64());
}

#[test]
fn test_mode_runs_each_bench_once_and_writes_nothing() {
    let _serial = serial();
    // `cargo test --benches` runs bench binaries without `--bench`.
    let dir = tempfile::tempdir().unwrap();
    let output = fixture_in(dir.path()).arg("^toy/").output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("Testing toy/toy_forward/2"), "{stdout}");
    assert!(stdout.contains("Success"), "{stdout}");
    assert!(!dir.path().join("model-bench").exists());
}

#[test]
fn bad_settings_are_a_clear_error_before_anything_runs() {
    let _serial = serial();
    let run = run(&[], &[("MODEL_BENCH_COLD_RUNS", "0")]);
    assert_eq!(run.code(), Some(2));
    assert!(
        run.stderr().contains("MODEL_BENCH_COLD_RUNS"),
        "{}",
        run.stderr()
    );
    assert!(run.stderr().contains("at least 1"), "{}", run.stderr());
    assert!(!run.out_dir().exists());

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("model-bench.toml"),
        "measurement_time = \"fast\"\n",
    )
    .unwrap();
    let run = run_in(dir, &[], &[]);
    assert_eq!(run.code(), Some(2));
    let stderr = run.stderr();
    assert!(
        stderr.contains("model-bench.toml") && stderr.contains("measurement_time"),
        "{stderr}"
    );

    let run = self::run(&["("], &[]);
    assert_eq!(run.code(), Some(2));
    assert!(
        run.stderr().contains("is not a regular expression"),
        "{}",
        run.stderr()
    );
}

#[test]
fn a_missing_onnx_runtime_library_is_an_error_naming_ort_dylib_path() {
    let _serial = serial();
    let run = run(
        &["onnx_load", "--noplot"],
        &[("ORT_DYLIB_PATH", "/nonexistent/libonnxruntime.so.1.31.1")],
    );
    assert_eq!(run.code(), Some(1));
    let stderr = run.stderr();
    assert!(
        stderr.contains("ORT_DYLIB_PATH=/nonexistent/libonnxruntime.so.1.31.1: no such file"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(
        run.bench("model_bench_fixture/onnx_load")["status"],
        "failed"
    );
}

#[test]
fn an_onnx_file_that_does_not_parse_is_an_error_naming_it() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("broken.onnx");
    std::fs::write(&bad, b"this is not a protobuf").unwrap();
    let run = run_in(
        dir,
        &["onnx_load"],
        &[("FIXTURE_ONNX_MODEL", bad.to_str().unwrap())],
    );
    assert_eq!(run.code(), Some(1));
    let stderr = run.stderr();
    assert!(
        stderr.contains(&format!("cannot load ONNX model {}", bad.display())),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn ctrl_c_writes_what_was_measured_and_exits_130() {
    let _serial = serial();
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    let dir = tempfile::tempdir().unwrap();
    let mut child = fixture_in(dir.path())
        // Long enough per benchmark that the interrupt lands while toy/toy_forward/2 runs.
        .env("MODEL_BENCH_QUICK", "0")
        .env("MODEL_BENCH_WARM_UP_TIME", "2s")
        .env("MODEL_BENCH_MEASUREMENT_TIME", "2s")
        .args(["--bench", "^toy/toy_forward"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Without a terminal, criterion reports progress ("Benchmarking …") on stderr.
    let mut progress = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = Vec::new();
    for line in progress.by_ref() {
        let line = line.unwrap();
        let second_started = line.starts_with("Benchmarking toy/toy_forward/2");
        seen.push(line);
        if second_started {
            break;
        }
    }
    // Keep draining stderr so the child never blocks or fails writing to it.
    let drain = std::thread::spawn(move || progress.map_while(Result::ok).collect::<Vec<_>>());
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    seen.extend(drain.join().unwrap());
    assert_eq!(exit.code(), Some(130), "{seen:#?}");
    assert!(
        seen.iter()
            .any(|l| l.contains("interrupted; writing the 1 bench(es) measured so far")),
        "{seen:#?}"
    );

    let text = std::fs::read_to_string(dir.path().join("model-bench/results.json")).unwrap();
    let results: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(results["interrupted"], true);
    let bench = &results["benches"][0];
    assert_eq!(bench["id"], "toy/toy_forward");
    assert_eq!(
        points(bench),
        [1],
        "the batch measured before Ctrl-C is kept"
    );
}

#[test]
fn remote_benches_report_percentiles_through_criterion_and_never_write_secrets() {
    let _serial = serial();
    let secret = "fixture-secret-token-31337";
    let run = run(&["^serving/"], &[("FIXTURE_TOKEN", secret)]);
    // The unreachable endpoint fails the run; every other remote bench still ran.
    assert_eq!(run.code(), Some(1), "{}", run.stderr());
    for (id, levels) in [
        ("serving/rest_identity", vec!["c1", "c4"]),
        ("serving/grpc_identity", vec!["c1", "c4"]),
        ("serving/rest_open_loop", vec!["r200"]),
    ] {
        let bench = run.bench(id);
        assert_eq!(bench["status"], "ok", "{id}: {bench}");
        assert_eq!(bench["remote"]["server"], "reference");
        assert!(bench["remote"]["url"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:"));
        let points = bench["points"].as_array().unwrap();
        let ids: Vec<&str> = points.iter().map(|p| p["id"].as_str().unwrap()).collect();
        let expected: Vec<String> = levels.iter().map(|l| format!("{id}/{l}")).collect();
        assert_eq!(ids, expected);
        for point in points {
            let stats = &point["load"]["stats"];
            assert_eq!(stats["errors"], 0, "{point}");
            assert!(stats["ok"].as_u64().unwrap() > 10, "{point}");
            let latency = &stats["latency"];
            assert!(latency["p50"].as_f64().unwrap() > 0.0);
            assert!(latency["p50"].as_f64().unwrap() <= latency["p99"].as_f64().unwrap());
            // criterion ran over the run's ten slices, so baselines work as for stages.
            assert_eq!(point["sample"]["samples"], 10, "{point}");
            // Its samples are slice means, so its estimate sits inside the measured range.
            let median = point["estimates"]["median"]["point"].as_f64().unwrap();
            assert!(
                latency["min"].as_f64().unwrap() <= median
                    && median <= latency["max"].as_f64().unwrap(),
                "{point}"
            );
        }
    }
    // The server's own metadata, read once per bench: our reference server names itself and
    // its version; REST offers the binary tensor extension, gRPC has none to offer.
    let version = env!("CARGO_PKG_VERSION");
    for (id, extensions) in [
        ("serving/rest_identity", Some("binary_tensor_data")),
        ("serving/grpc_identity", None),
    ] {
        let facts = &run.bench(id)["facts"];
        assert_eq!(facts["server.name"], "model-bench-reference", "{facts}");
        assert_eq!(facts["server.version"], version, "{facts}");
        assert_eq!(facts["server.extensions"].as_str(), extensions, "{facts}");
        assert_eq!(
            facts["server.model.platform"], "model-bench_identity",
            "{facts}"
        );
        assert_eq!(facts["server.model.versions"], "1", "{facts}");
    }
    // criterion's estimate for every remote point is on stdout (a long id gets a line of its
    // own, the estimate the next); its progress lines about the replay of the time slices
    // ("Warming up for 1.0000 ns", "Collecting 10 samples in estimated 1.0004 ms") are not
    // printed.
    let stdout = run.stdout();
    let lines: Vec<&str> = stdout.lines().collect();
    for point in ["serving/rest_identity/c1", "serving/grpc_identity/c4"] {
        let estimate = lines.windows(2).any(|pair| {
            pair[0].starts_with(point) && (pair[0].contains("time:") || pair[1].contains("time:"))
        });
        assert!(estimate, "{point}: {stdout}");
        assert!(
            !run.stderr().contains(&format!("Benchmarking {point}")),
            "{}",
            run.stderr()
        );
    }
    let open = &run.bench("serving/rest_open_loop")["points"][0]["load"];
    assert_eq!(open["mode"], "open");
    assert_eq!(open["target_rate"], 200.0);
    assert_eq!(open["stats"]["latency_basis"], "intended_send");
    assert!(open["stats"]["late_pct"].is_number());

    let down = run.bench("serving/unreachable");
    assert_eq!(down["status"], "failed");
    let error = down["error"].as_str().unwrap();
    assert!(
        error.contains("http://127.0.0.1:1") && error.contains("connect"),
        "{error}"
    );
    assert!(
        run.stderr().contains("serving/unreachable"),
        "{}",
        run.stderr()
    );

    assert!(
        run.stdout().contains("REST vs gRPC: identity"),
        "{}",
        run.stdout()
    );
    let summary = std::fs::read_to_string(run.out_dir().join("summary.md")).unwrap();
    assert!(summary.contains("### Remote endpoints"), "{summary}");
    let csv = std::fs::read_to_string(run.out_dir().join("results.csv")).unwrap();
    assert!(
        csv.contains("serving/grpc_identity/c4,grpc_identity,serving,remote"),
        "{csv}"
    );

    // The HDR spectrum and histogram travel with each point and are drawn.
    let c4 = &run.bench("serving/rest_identity")["points"][1]["load"]["stats"];
    let spectrum = c4["spectrum"].as_array().unwrap();
    assert_eq!(spectrum.last().unwrap()["percentile"], 100.0);
    let bucketed: u64 = c4["histogram"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["count"].as_u64().unwrap())
        .sum();
    assert_eq!(bucketed, c4["latency"]["count"].as_u64().unwrap());
    let report = run.out_dir().join("report");
    let (_, load) = chart(&report, "load-closed-serving_rest_identity");
    let throughput: Vec<(f64, f64)> = ["c1", "c4"]
        .iter()
        .enumerate()
        .map(|(i, _)| {
            let stats = &run.bench("serving/rest_identity")["points"][i]["load"]["stats"];
            ([1.0, 4.0][i], stats["throughput_rps"].as_f64().unwrap())
        })
        .collect();
    assert_eq!(load[0], ("ok/s".to_string(), throughput));
    // A mixed workload: each member's requests add up to the whole, the fast one gets about
    // three in four (within four binomial standard deviations), and the table shows both.
    let mixed = &run.bench("serving/mixed")["points"][0]["load"];
    let members = mixed["mix"].as_array().unwrap();
    let names: Vec<&str> = members
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["identity", "slow_grpc"]);
    let sent = |m: &Value| m["stats"]["requests"].as_u64().unwrap();
    let total = mixed["stats"]["requests"].as_u64().unwrap();
    assert_eq!(sent(&members[0]) + sent(&members[1]), total);
    let expected = 0.75 * total as f64;
    let spread = 4.0 * (total as f64 * 0.75 * 0.25).sqrt();
    assert!(
        (sent(&members[0]) as f64 - expected).abs() <= spread,
        "{mixed}"
    );
    assert!(run.stdout().contains("Mixed workload by member"));
    // Each steady point over time: its responses per second step by step, at each step's
    // middle.
    let c4 = &run.bench("serving/rest_identity")["points"][1];
    let steps = c4["load"]["stats"]["time_series"].as_array().unwrap();
    let (_, timeline) = chart(
        &report,
        &format!("timeline-{}", c4["id"].as_str().unwrap().replace('/', "_")),
    );
    assert_eq!(timeline[0].0, "ok/s");
    let ok_per_s: Vec<f64> = timeline[0].1.iter().map(|p| p.1).collect();
    let recorded: Vec<f64> = steps
        .iter()
        .map(|s| s["throughput_rps"].as_f64().unwrap())
        .collect();
    assert_eq!(ok_per_s, recorded);
    assert!(timeline[0].1.windows(2).all(|w| w[0].0 < w[1].0));
    let (_, spectrum_series) = chart(&report, "spectrum-serving_rest_identity");
    assert_eq!(spectrum_series.len(), 2, "one line per load level");
    chart(&report, "histogram-serving_rest_identity");
    let (_, protocols) = chart(&report, "protocols-serving_identity");
    assert!(
        protocols.iter().any(|s| s.0.contains("(grpc)")),
        "{protocols:?}"
    );

    for name in [
        "results.json",
        "results.csv",
        "summary.md",
        "report/index.html",
        "report/load-closed-serving_rest_identity.svg",
    ] {
        let text = std::fs::read_to_string(run.out_dir().join(name)).unwrap();
        assert!(!text.contains(secret), "{name} leaks the token");
    }
    assert!(!run.stdout().contains(secret) && !run.stderr().contains(secret));
}

#[test]
fn a_remote_url_from_the_environment_replaces_the_reference_server() {
    let _serial = serial();
    let server = model_bench::server::ReferenceServer::start(
        &model_bench::remote::ReferenceConfig::default(),
    )
    .unwrap();
    let url = server.rest_url();
    let run = run(
        &["^serving/rest_identity/c1$"],
        &[("FIXTURE_TOKEN", "t"), ("FIXTURE_REST_URL", &url)],
    );
    assert_eq!(run.code(), Some(0), "{}", run.stderr());
    let bench = run.bench("serving/rest_identity");
    assert_eq!(bench["remote"]["server"], "external");
    assert_eq!(bench["remote"]["url"], url.as_str());
    assert_eq!(bench["points"].as_array().unwrap().len(), 1);
}

/// The three scenarios run from `#[model_bench]` options against a reference server of known
/// capacity (200/s, one request at a time), in quick mode (phases a tenth as long): each lands in
/// results.json and the summary with figures that follow from the configured rates.
#[test]
fn scenarios_run_from_their_options_and_report_each_phase() {
    let _serial = serial();
    let run = run(&["^scenarios/"], &[]);
    assert_eq!(run.code(), Some(0), "{}", run.stderr());

    let ramp = &run.bench("scenarios/ramp_up")["scenario"];
    assert_eq!(ramp["kind"], "ramp");
    // Constant arrivals: 500 ms at 50, 100 and 150 per second.
    let sent: Vec<u64> = ramp["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["sent"].as_u64().unwrap())
        .collect();
    assert_eq!(sent, [25, 50, 75]);
    assert!(
        ramp["load"]["stats"]["time_series"]
            .as_array()
            .unwrap()
            .len()
            >= 10,
        "{ramp}"
    );

    // A scenario's run is watched as a steady point is: the server counted every request
    // between its statistics readings, and its metrics were scraped during it.
    let watched = &ramp["load"];
    assert_eq!(
        watched["server"]["requests"], watched["stats"]["ok"],
        "{}",
        watched["server"]
    );
    assert!(
        watched["metrics"]["scrapes"].as_u64().unwrap() >= 2,
        "{watched}"
    );
    assert_eq!(watched["processes"][0]["role"], "client");

    let spike = &run.bench("scenarios/spike_3x")["scenario"];
    let names: Vec<&str> = spike["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["before", "spike", "after"]);
    assert_eq!(spike["phases"][1]["sent"], 60, "300/s for 200 ms");
    // A server of 200/s under 300/s for the spike: 100/s more than it serves queue up, and drain
    // at 200 − 100 = 100/s after it (within 4× the p99 before counts as recovered).
    let recovery = &spike["recovery"];
    let phase = &spike["phases"][1];
    let spike_s = phase["end_s"].as_f64().unwrap() - phase["start_s"].as_f64().unwrap();
    let backlog = (phase["rate"].as_f64().unwrap() - 200.0) * spike_s;
    let drain_s = backlog / (200.0 - 100.0);
    // To the series' resolution: a step either side for where the drain falls in a step, and
    // one more after it, since a step's p99 is its slowest request (five at 100/s in 50 ms).
    let step = recovery["step_s"].as_f64().unwrap();
    let seconds = recovery["recovery_s"].as_f64().expect("recovered");
    assert!(
        seconds >= drain_s - step - 1e-9 && seconds <= drain_s + 2.0 * step + 1e-9,
        "recovered after {seconds} s; the backlog drains in {drain_s} s: {recovery}"
    );
    // The queue peaks at the spike's end: its last requests wait for the whole backlog.
    let peak_wait_ns = backlog / 200.0 * 1e9;
    assert!(
        recovery["peak_p99_ns"].as_f64().unwrap() >= 0.8 * peak_wait_ns,
        "expected a peak near {} ms: {recovery}",
        peak_wait_ns / 1e6
    );

    // 120, 160, 200 are within the capacity; 240 is not. Within one increment: a busy machine
    // (other tests run beside this one) can cost the server enough time at exactly 200/s.
    let stress = &run.bench("scenarios/stress_to_capacity")["scenario"];
    let held = stress["highest_held"].as_f64().unwrap();
    assert!(held == 200.0 || held == 160.0, "{stress}");
    let levels = stress["phases"].as_array().unwrap();
    let last = levels.last().unwrap();
    assert_eq!(last["rate"].as_f64(), Some(held + 40.0), "{stress}");
    assert!(last["broke"].as_str().unwrap().contains("SLO"), "{stress}");

    // The charts plot what results.json holds: the spike's responses per second step by step,
    // the stress levels' against their rates.
    let report = run.out_dir().join("report");
    let (_, over_time) = chart(&report, "scenario-scenarios_spike_3x");
    let steps = spike["load"]["stats"]["time_series"].as_array().unwrap();
    let ok_per_s: Vec<f64> = steps
        .iter()
        .map(|s| s["throughput_rps"].as_f64().unwrap())
        .collect();
    assert_eq!(over_time[0].0, "ok/s");
    assert_eq!(
        over_time[0].1.iter().map(|p| p.1).collect::<Vec<_>>(),
        ok_per_s
    );
    assert!(over_time[0].1.windows(2).all(|w| w[0].0 < w[1].0));
    let (_, by_level) = chart(&report, "scenario-scenarios_stress_to_capacity");
    let rates: Vec<f64> = by_level[0].1.iter().map(|p| p.0).collect();
    let levels_run: Vec<f64> = levels.iter().map(|l| l["rate"].as_f64().unwrap()).collect();
    assert_eq!(rates, levels_run);
    let (_, ramp_chart) = chart(&report, "scenario-scenarios_ramp_up");
    assert_eq!(ramp_chart.len(), 3, "ok/s, p50, p99");

    // Soaks (3 s in windows of 1 s, quick mode) on the bench process itself, which holds the
    // reference server: a leak of 256 KiB per request grows the memory at the rate requests
    // are served; 4 MiB held by each of eight requests in flight is 4 MiB per request in
    // flight, and no growth once they are all in.
    let leaking = &run.bench("scenarios/soak_leaking")["scenario"];
    assert_eq!(leaking["kind"], "soak");
    let windows: Vec<&str> = leaking["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(windows, ["window 1", "window 2", "window 3"]);
    let memory = &leaking["memory"][0];
    assert_eq!(memory["leak"], true, "{memory}");
    let served = leaking["load"]["stats"]["throughput_rps"].as_f64().unwrap();
    let derived = served * f64::from(256u32 << 10);
    let growth = memory["growth_bytes_per_s"].as_f64().unwrap();
    assert!(
        (growth / derived - 1.0).abs() <= 0.25,
        "grew {growth} B/s; derived {derived} B/s from {served} requests/s: {memory}"
    );
    assert_eq!(memory["window_mean_bytes"].as_array().unwrap().len(), 3);

    let holding = &run.bench("scenarios/soak_holding")["scenario"]["memory"][0];
    assert_eq!(holding["leak"], false, "{holding}");
    let in_flight = holding["mean_in_flight"].as_f64().unwrap();
    assert!((6.0..=8.5).contains(&in_flight), "{holding}");
    let per_request = holding["per_in_flight_bytes"].as_f64().unwrap() / f64::from(1u32 << 20);
    assert!(
        (3.0..=5.5).contains(&per_request),
        "{per_request} MiB: {holding}"
    );

    let stdout = run.stdout();
    for title in [
        "Scenario: scenarios/soak_leaking (soak)",
        "LEAK (threshold 60.0 MiB/min)",
        "Scenario: scenarios/ramp_up (ramp)",
        "Scenario: scenarios/spike_3x (spike)",
        "Scenario: scenarios/stress_to_capacity (stress)",
        "highest load that held: ",
        "after the spike",
    ] {
        assert!(stdout.contains(title), "{title} missing from\n{stdout}");
    }
}

/// perf_analyzer's stability rule on the last three of a point's ten windows: a server with a
/// fixed latency is VALID; one that stalls 100 ms every 300 ms is UNSTABLE, retried up to
/// `max_trials`, with the reason in results.json and the summary.
#[test]
fn load_points_are_labelled_valid_or_unstable_with_the_reason() {
    let _serial = serial();
    let run = run_with_config(
        "[stability]\nwithin_pct = 25\nmax_trials = 2\n",
        "^stability/",
    );
    assert_eq!(run.code(), Some(0), "{}", run.stderr());
    let validity = |id: &str| run.bench(id)["points"][0]["load"]["validity"].clone();
    let steady = validity("stability/steady_5ms");
    assert_eq!(steady["label"], "VALID", "{steady}");
    assert_eq!(steady["trials"], 1);
    assert!(steady["reasons"].as_array().unwrap().is_empty());
    let stalling = validity("stability/stalling");
    assert_eq!(stalling["label"], "UNSTABLE", "{stalling}");
    assert_eq!(stalling["trials"], 2, "retried once");
    let reasons = stalling["reasons"].as_array().unwrap();
    assert!(
        reasons.iter().any(|r| r
            .as_str()
            .unwrap()
            .contains("of the last 3 windows differs")),
        "{stalling}"
    );
    assert!(
        run.stderr().contains("stability/stalling/c1: UNSTABLE"),
        "{}",
        run.stderr()
    );
    let stdout = run.stdout();
    assert!(stdout.contains("UNSTABLE"), "{stdout}");
    assert!(
        stdout.contains("stability/stalling/c1 is UNSTABLE:"),
        "{stdout}"
    );

    // perf_analyzer's count windows: 40 responses each instead of time slices. The steady
    // server's agree. The stalling one's do not: 40 responses take at least 80 ms (2 ms each,
    // one at a time), so three windows outlast the 200 ms between stalls and one of them holds
    // a whole stall (the one request that waited it out) and takes about twice as long.
    let by_count = run_with_config(
        "[stability]\nwithin_pct = 25\nwindow_requests = 40\n",
        "^stability/",
    );
    assert_eq!(by_count.code(), Some(0), "{}", by_count.stderr());
    let validity = |id: &str| by_count.bench(id)["points"][0]["load"]["validity"].clone();
    assert_eq!(validity("stability/steady_5ms")["label"], "VALID");
    let stalling = validity("stability/stalling");
    assert_eq!(stalling["label"], "UNSTABLE", "{stalling}");
}

/// The server's process, named by PID, is watched during each load point: a real process that
/// keeps allocating shows its memory rising (and the advice to look for a leak); a PID that does
/// not exist fails the bench before any load, naming it.
#[test]
fn a_watched_server_process_shows_its_memory_growing() {
    let _serial = serial();
    // Grows by 6 MB every 100 ms for 6 s, well past the bench's 1.2 s.
    let mut server = Command::new("python3")
        .args([
            "-c",
            "import time\n\
             held = []\n\
             print('ready', flush=True)\n\
             for _ in range(60):\n    held.append(b'x' * (6 * 1024 * 1024))\n    time.sleep(0.1)\n",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let mut ready = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(server.stdout.as_mut().unwrap()),
        &mut ready,
    )
    .unwrap();
    let pid = server.id().to_string();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("model-bench.toml"),
        "[recommend]\nmemory_growth_mib = 16\n",
    )
    .unwrap();
    let watching = run_in(
        dir,
        &["^watched/server_pid"],
        &[("FIXTURE_SERVER_PID", pid.as_str())],
    );
    let _ = server.kill();
    let _ = server.wait();
    assert_eq!(watching.code(), Some(0), "{}", watching.stderr());
    let processes = watching.bench("watched/server_pid")["points"][0]["load"]["processes"].clone();
    let role = |name: &str| {
        processes
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["role"] == name)
            .unwrap_or_else(|| panic!("no {name} in {processes}"))
            .clone()
    };
    let watched = role("server");
    assert_eq!(watched["pid"].as_u64(), Some(u64::from(server.id())));
    let grew =
        watched["rss_max_bytes"].as_u64().unwrap() - watched["rss_first_bytes"].as_u64().unwrap();
    assert!(grew >= 30 << 20, "{watched}");
    assert!(
        watched["rss_slope_bytes_per_s"].as_f64().unwrap() > 10e6,
        "{watched}"
    );
    // The client is the bench process itself, not the watched one.
    let client = role("client")["pid"].as_u64().unwrap();
    assert!(client > 0 && client != u64::from(server.id()));
    let results = watching.results();
    assert!(
        results["recommendations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["bench"] == "watched/server_pid/c1"
                && r["advice"]
                    .as_str()
                    .unwrap()
                    .contains("server's memory grew")),
        "{}",
        results["recommendations"]
    );
    assert!(
        watching.stdout().contains("Processes during the load"),
        "{}",
        watching.stdout()
    );

    let missing = run(
        &["^watched/server_pid"],
        &[("FIXTURE_SERVER_PID", "4000000000")],
    );
    assert_eq!(missing.code(), Some(1), "{}", missing.stderr());
    let error = missing.bench("watched/server_pid")["error"].clone();
    assert!(
        error
            .as_str()
            .unwrap()
            .contains("no process with PID 4000000000"),
        "{error}"
    );
    assert!(missing.bench("watched/server_pid")["points"]
        .as_array()
        .unwrap()
        .is_empty());
}

/// Triton's statistics from the reference server, diffed around each point: a single-server
/// queue of 10 ms per request with 4 requests in flight keeps each request queued behind the
/// other three (30 ms) and inferring for 10 ms, over REST and gRPC alike. Its Prometheus
/// metrics, scraped during the window, see the four requests inside it.
#[test]
fn the_server_side_breakdown_shows_queue_and_compute_time() {
    let _serial = serial();
    let run = run(&["^watched/(breakdown|metrics)"], &[]);
    assert_eq!(run.code(), Some(0), "{}", run.stderr());
    for bench in ["watched/breakdown_rest", "watched/breakdown_grpc"] {
        let load = &run.bench(bench)["points"][0]["load"];
        let server = &load["server"];
        assert!(server.is_object(), "{bench}: {load}");
        let ms = |field: &str| server[field].as_f64().unwrap() / 1e6;
        let queue = ms("queue_ns");
        let infer = ms("compute_infer_ns");
        // The injected 10 ms is a sleep: never shorter (half a millisecond for where the server
        // starts and stops its clock).
        assert!(infer >= 9.5, "{bench}: inferred {infer} ms: {server}");
        // Four in flight through one server: a request waits behind the three others, two of
        // them whole and the one being served partly (the client's turnaround is the rest), so
        // at least two and at most three services, whatever the machine's speed.
        let service = ms("server_total_ns") - queue;
        assert!(
            queue >= 2.0 * infer && queue <= 3.0 * service * 1.01,
            "{bench}: queued {queue} ms for {infer} ms of inference: {server}"
        );
        // The server's own total holds both; the client sees at least that.
        assert!(ms("server_total_ns") >= queue + infer - 0.5, "{server}");
        assert!(
            ms("client_service_mean_ns") >= ms("server_total_ns"),
            "{server}"
        );
        // REST reads the statistics with a GET, gRPC with Triton's ModelStatistics call.
        let source = server["source"].as_str().unwrap();
        let expected_source = if bench.ends_with("grpc") {
            "(gRPC ModelStatistics)"
        } else {
            "/v2/models/identity/stats"
        };
        assert!(source.ends_with(expected_source), "{bench}: {source}");
        assert_eq!(server["failed"], 0);

        let metrics = &load["metrics"];
        assert!(
            metrics["source"].as_str().unwrap().ends_with("/metrics"),
            "{metrics}"
        );
        let inside = metrics["series"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| {
                s["name"] == "nv_inference_pending_request_count"
                    && s["labels"]["model"] == "identity"
            })
            .unwrap_or_else(|| panic!("{bench}: no requests-inside gauge in {metrics}"));
        assert_eq!(inside["kind"], "gauge");
        // Two or three readings in a 1 s window: at least one request inside, never more
        // than the loop's four (tests/scenarios.rs reads it often enough to see all four).
        let most = inside["max"].as_f64().unwrap();
        assert!((1.0..=4.0).contains(&most), "{bench}: {inside}");
        assert!(load.get("metrics_note").is_none(), "{load}");
        // The reference server runs here: this machine's GPUs are read during the point, or
        // the note says why there are none (no NVML or no GPU, as on CI).
        match load["gpu"].as_array() {
            Some(gpus) => assert!(
                !gpus.is_empty() && gpus.iter().all(|g| g["samples"].as_u64() > Some(0)),
                "{load}"
            ),
            None => assert!(!load["gpu_note"].as_str().unwrap().is_empty(), "{load}"),
        }
    }
    let stdout = run.stdout();
    assert!(stdout.contains("Server-side time per request"), "{stdout}");
    assert!(
        stdout.contains("Server metrics during the load (Prometheus)"),
        "{stdout}"
    );
    // A metrics URL where nothing answers: a note naming it, and a measured point.
    let missing = &run.bench("watched/metrics_missing")["points"][0]["load"];
    assert!(missing["stats"]["ok"].as_u64().unwrap() > 0, "{missing}");
    let note = missing["metrics_note"].as_str().unwrap();
    assert!(note.contains("http://127.0.0.1:9/metrics"), "{note}");
    assert!(
        stdout
            .contains("watched/metrics_missing: no server metrics: GET http://127.0.0.1:9/metrics"),
        "{stdout}"
    );
    // `compare = "capacity"` puts the two side by side, relative to the first.
    assert_eq!(
        run.bench("watched/breakdown_grpc")["remote"]["compare"],
        "capacity"
    );
    let table = stdout
        .split("Comparison: capacity (relative to watched/breakdown_rest)")
        .nth(1)
        .unwrap_or_else(|| panic!("no comparison table in {stdout}"));
    let rows: Vec<&str> = table.lines().skip(2).take(2).collect();
    assert!(
        rows[0].contains("watched/breakdown_rest") && rows[0].contains("1.00×"),
        "{table}"
    );
    assert!(rows[1].contains("watched/breakdown_grpc"), "{table}");
}

/// A server that lists the model `tiny`, answers a chat request with plain JSON (no event
/// stream) and a completions request with an event stream whose event is not JSON, each on a
/// connection of its own; it serves until the test process ends.
fn garbage_llm_server() -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for connection in listener.incoming() {
            let Ok(mut connection) = connection else {
                continue;
            };
            let mut request = Vec::new();
            let mut buffer = [0u8; 4096];
            // The head, then as much body as it announces.
            while let Ok(read) = connection.read(&mut buffer) {
                if read == 0 {
                    break;
                }
                request.extend_from_slice(&buffer[..read]);
                let text = String::from_utf8_lossy(&request).to_string();
                if let Some(head_end) = text.find("\r\n\r\n") {
                    let length = text[..head_end]
                        .lines()
                        .find_map(|line| {
                            let (name, value) = line.split_once(':')?;
                            name.eq_ignore_ascii_case("content-length")
                                .then(|| value.trim().parse::<usize>().ok())?
                        })
                        .unwrap_or(0);
                    if request.len() >= head_end + 4 + length {
                        break;
                    }
                }
            }
            let (content_type, body) = if request.starts_with(b"GET /v1/models") {
                (
                    "application/json",
                    r#"{"data": [{"id": "tiny", "owned_by": "test"}]}"#,
                )
            } else if request.starts_with(b"POST /v1/chat/completions") {
                // A whole answer at once: not a stream.
                (
                    "application/json",
                    r#"{"choices": [{"message": {"content": "hi"}}]}"#,
                )
            } else {
                ("text/event-stream", "data: {not json\n\n")
            };
            let _ = write!(
                connection,
                "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}

/// LLM benches through the runner: prompts and goodput land in results.json and the CSV; a
/// prompt file that does not parse fails its bench naming the file and line, and a server that
/// sends garbage events fails its bench with the requests' `decode` error; the other benches'
/// results are still written.
#[test]
fn llm_benches_report_prompts_and_goodput_and_bad_input_gets_its_own_error() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let prompts = dir.path().join("bad.jsonl");
    std::fs::write(&prompts, "{\"prompt\": \"fine\"}\n{\"prompt\": [1]}\n").unwrap();
    // Forty rows 10 ms apart: a replay of 0.39 s.
    let trace = dir.path().join("trace.jsonl");
    let rows: String = (0..40)
        .map(|i| {
            format!(
                "{{\"timestamp\": {}, \"input_length\": 20, \"output_length\": 3, \"hash_ids\": [1, {}]}}\n",
                10 * i,
                100 + i
            )
        })
        .collect();
    std::fs::write(&trace, rows).unwrap();
    let sessions = dir.path().join("sessions.jsonl");
    std::fs::write(
        &sessions,
        "{\"session_id\": 1, \"prompt\": \"hello\"}\n{\"session_id\": 1, \"prompt\": \" \"}\n",
    )
    .unwrap();
    let garbage = garbage_llm_server();
    let run = run(
        &["^llm/"],
        &[
            ("FIXTURE_PROMPTS", prompts.to_str().unwrap()),
            ("FIXTURE_SESSIONS", sessions.to_str().unwrap()),
            ("FIXTURE_GARBAGE_URL", &garbage),
            ("FIXTURE_TRACE", trace.to_str().unwrap()),
        ],
    );
    let stderr = run.stderr();

    let chat = run.bench("llm/chat");
    assert_eq!(chat["status"], "ok", "{stderr}");
    let info = &chat["remote"]["prompts"];
    assert_eq!(info["prompts"], 50);
    assert_eq!(info["input_tokens_mean"], 32.0);
    assert!(info["source"].as_str().unwrap().starts_with("synthetic"));
    let stream = &chat["points"][1]["load"]["stats"]["stream"];
    assert!(stream["streams"].as_u64().unwrap() > 0, "{stream}");
    assert_eq!(stream["goodput"]["share"], 1.0, "{stream}");
    assert_eq!(stream["goodput"]["slo"]["ttft_ns"], 60_000_000_000u64);
    let csv = std::fs::read_to_string(run.out_dir().join("results.csv")).unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let row: Vec<&str> = csv
        .lines()
        .find(|line| line.starts_with("llm/chat/c2,"))
        .unwrap()
        .split(',')
        .collect();
    let column = |name: &str| row[header.iter().position(|h| *h == name).unwrap()];
    assert!(column("ttft_p50").parse::<f64>().unwrap() > 0.0, "{csv}");
    assert_eq!(column("goodput"), "1");
    // The charts of token streams: TTFT and chunk-gap spectra, one line per load level, and
    // tokens/s against concurrency as the results hold it, with the TTFT objective's line.
    let report = run.out_dir().join("report");
    for name in ["ttft-spectrum-llm_chat", "chunk-gap-spectrum-llm_chat"] {
        let (_, lines) = chart(&report, name);
        assert_eq!(lines.len(), 2, "{name}: one line per load level");
    }
    let (_, tokens) = chart(&report, "tokens-closed-llm_chat");
    let rates: Vec<(f64, f64)> = [1.0, 2.0]
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let stream = &chat["points"][i]["load"]["stats"]["stream"];
            (*c, stream["output_tokens_per_s"].as_f64().unwrap())
        })
        .collect();
    assert_eq!(tokens[0], ("tokens/s".to_string(), rates));
    assert!(tokens[1].0.starts_with("TTFT p50"), "{tokens:?}");
    // The reference LLM server's own metrics, read by name without a `metrics_url`: its state
    // beside each point, where TTFT went, the serving engineer's chart, and what ran.
    let state = &chat["points"][1]["load"]["server_state"];
    assert_eq!(state["server"], "vLLM", "{state}");
    assert_eq!(state["sources"]["running"], "vllm:num_requests_running");
    assert!(
        state["ttft_breakdown"]["parts"].as_array().unwrap().len() >= 3,
        "{state}"
    );
    assert!(
        state["agreement"]
            .as_array()
            .unwrap()
            .iter()
            .all(|check| check["agrees"] == true),
        "{state}"
    );
    assert!(
        column("server_ttft_mean").parse::<f64>().unwrap() > 0.0,
        "{csv}"
    );
    let summary = std::fs::read_to_string(run.out_dir().join("summary.md")).unwrap();
    for table in ["Server state during the load", "Where TTFT went"] {
        assert!(summary.contains(table), "{table}: {summary}");
    }
    let (_, pareto) = chart(&report, "pareto-llm_chat");
    assert_eq!(pareto[0].1.len(), 2, "{pareto:?}");
    assert_eq!(
        chat["facts"]["server.name"], "model-bench reference LLM server",
        "{chat}"
    );

    let bad = run.bench("llm/bad_prompts");
    assert_eq!(bad["status"], "failed");
    let error = bad["error"].as_str().unwrap();
    assert!(
        error.contains(&format!("{}:2:", prompts.display())),
        "{error}"
    );

    // Every request failed: the bench fails with the class and first message of its errors.
    let garbage = run.bench("llm/garbage");
    assert_eq!(garbage["status"], "failed");
    let error = garbage["error"].as_str().unwrap();
    assert!(
        error.contains("no request succeeded")
            && error.contains("decode")
            && error.contains("an event is not JSON")
            && error.contains("{not json"),
        "{error}"
    );
    let not_sse = run.bench("llm/not_sse");
    let error = not_sse["error"].as_str().unwrap();
    assert!(
        error.contains("answered `application/json`, not an event stream"),
        "{error}"
    );
    assert!(stderr.contains("bad.jsonl:2:"), "{stderr}");

    // A trace replayed at its own pace: one open-loop point, `trace`, of every row.
    let replay = run.bench("llm/replay");
    assert_eq!(replay["status"], "ok", "{stderr}");
    let point = &replay["points"][0];
    assert_eq!(point["id"], "llm/replay/trace");
    let load = &point["load"];
    assert_eq!(
        (&load["mode"], &load["arrival"]),
        (&"open".into(), &"trace".into())
    );
    assert_eq!(load["stats"]["requests"], 40);
    assert_eq!(load["stats"]["stream"]["input_tokens"], 40 * 20);
    let source = replay["remote"]["prompts"]["source"].as_str().unwrap();
    assert!(
        source.starts_with("trace:") && source.contains("40 requests"),
        "{source}"
    );
    // Sessions: each turn index's figures, in results.json and the summary's "Turns" table.
    let held = run.bench("llm/sessions");
    assert_eq!(held["status"], "ok", "{stderr}");
    let turns = held["points"][0]["load"]["stats"]["stream"]["turns"]
        .as_array()
        .unwrap();
    assert_eq!(turns.len(), 2, "{turns:?}");
    assert_eq!(
        (&turns[0]["turn"], &turns[1]["turn"]),
        (&1.into(), &2.into())
    );
    // Turn 2 carries turn 1 (8 words) and its reply (2 tokens) before its own 8 words.
    assert_eq!(turns[1]["input_tokens_mean"], 18.0, "{turns:?}");
    let summary = std::fs::read_to_string(run.out_dir().join("summary.md")).unwrap();
    assert!(
        summary.contains("Turns of multi-turn sessions"),
        "{summary}"
    );
    assert!(
        summary.contains("Sessions (conversations that ended"),
        "{summary}"
    );
    let ended = &held["points"][0]["load"]["stats"]["stream"]["sessions"];
    assert!(ended["completed"].as_u64().unwrap() >= 1, "{ended}");
    assert_eq!(ended["turns_mean"], 2.0, "{ended}");
    let bad_sessions = run.bench("llm/bad_sessions");
    assert!(
        bad_sessions["error"]
            .as_str()
            .unwrap()
            .contains(&format!("{}:2: an empty prompt", sessions.display())),
        "{bad_sessions}"
    );
    let unmarked = run.bench("llm/trace_without_mark");
    assert!(
        unmarked["error"]
            .as_str()
            .unwrap()
            .contains("mark the bench `trace`"),
        "{unmarked}"
    );
    let empty = run.bench("llm/replay_without_trace");
    assert!(
        empty["error"]
            .as_str()
            .unwrap()
            .contains("replays no trace"),
        "{empty}"
    );
}

/// Token streams: time to first token is a criterion benchmark of its own (`<point>/ttft`), kept
/// in the baseline and judged by the gate beside the point's end-to-end latency.
#[test]
fn the_gate_judges_time_to_first_token_beside_end_to_end() {
    let _serial = serial();
    let chat = "^llm/chat/c1";
    let gate_on = ("MODEL_BENCH_GATE", "1");
    let dir = tempfile::tempdir().unwrap();
    let keep = dir.path().to_path_buf();
    std::fs::write(
        dir.path().join("model-bench.toml"),
        "[gate]\nnoise_threshold = 0.5\n",
    )
    .unwrap();
    let saved = run_in(dir, &["--save-baseline", "main", chat], &[gate_on]);
    assert_eq!(saved.code(), Some(0), "{}", saved.stderr());
    assert!(keep
        .join("criterion/llm/chat/c1_ttft/main/sample.json")
        .is_file());

    // The server's first token six times later (30 ms for 5): TTFT regresses, and E2E with it.
    let slower = run_in(
        saved.dir,
        &["--baseline", "main", chat],
        &[gate_on, ("FIXTURE_LLM_TTFT_MS", "30")],
    );
    assert_eq!(slower.code(), Some(3), "{}", slower.stderr());
    let stderr = slower.stderr();
    assert!(
        stderr
            .lines()
            .any(|l| l.contains("llm/chat/c1/ttft: mean TTFT +")),
        "{stderr}"
    );
    let point = &slower.bench("llm/chat")["points"][0];
    assert_eq!(point["ttft_change"]["verdict"], "regressed", "{point}");
    assert_eq!(point["change"]["verdict"], "regressed", "{point}");
}
