//! The `model-bench` command as a user runs it: comparing result files, exporting and importing a
//! baseline, and each kind of bad file.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::{json, Value};

fn model_bench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_model-bench"))
        .args(args)
        .output()
        .expect("the command runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn estimate(point: f64, half: f64) -> Value {
    json!({"point": point, "lower": point - half, "upper": point + half,
           "confidence_level": 0.95, "standard_error": half / 2.0})
}

/// A results.json (schema version 1) with one point per `(id, median ns)`.
fn results(points: &[(&str, f64)]) -> Value {
    let benches: Vec<Value> = points
        .iter()
        .map(|(id, median)| {
            json!({
                "id": id, "name": id, "pipeline": null, "stage": "forward", "device": "cpu",
                "source": "benches/x.rs:1", "status": "ok", "error": null, "sweep": null,
                "cold": null,
                "points": [{
                    "id": id, "batch": 1, "unit": "ns", "items_per_sec": null, "change": null,
                    "estimates": {"mean": estimate(*median, 1.0), "median": estimate(*median, 1.0),
                                  "std_dev": estimate(1.0, 0.1), "median_abs_dev": estimate(1.0, 0.1),
                                  "slope": null},
                    "sample": {"samples": 10, "iterations": 100, "min": median - 2.0,
                               "p95": median + 2.0, "max": median + 3.0}
                }]
            })
        })
        .collect();
    json!({
        "schema_version": 1, "model_bench_version": "0.1.0", "created_unix_s": 0,
        "interrupted": false,
        "run": {"quick": false, "filter": null, "baseline": null, "config_file": null},
        "environment": {"arch": "x86_64", "logical_cores": 2, "rustc": "rustc", "model_bench_version": "0.1.0"},
        "benches": benches, "pipelines": []
    })
}

fn write(dir: &Path, name: &str, value: &Value) -> String {
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_vec(value).unwrap()).unwrap();
    path.display().to_string()
}

#[test]
fn compare_gives_change_and_verdict_per_point_and_gates_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let old = write(
        dir.path(),
        "old.json",
        &results(&[("p/a", 100.0), ("p/b", 100.0), ("p/gone", 5.0)]),
    );
    let new = write(
        dir.path(),
        "new.json",
        &results(&[("p/a", 150.0), ("p/b", 100.5), ("p/new", 7.0)]),
    );
    let output = model_bench(&["compare", &old, &new]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    let line = |id: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with(id))
            .unwrap_or_else(|| panic!("no {id} in {text}"))
            .to_string()
    };
    assert!(
        line("p/a").contains("+50.0") && line("p/a").ends_with("regressed"),
        "{text}"
    );
    assert!(line("p/b").ends_with("no change"), "{text}");
    assert!(line("p/new").ends_with("added"), "{text}");
    assert!(line("p/gone").ends_with("removed"), "{text}");

    let gated = model_bench(&["compare", &old, &new, "--gate", "--format", "json"]);
    assert_eq!(gated.status.code(), Some(3), "{}", stderr(&gated));
    let json: Value = serde_json::from_slice(&gated.stdout).unwrap();
    let rows = &json["points"];
    assert_eq!(rows[0]["verdict"], "regressed");
    assert_eq!(json["setup_changes"], json!([]));
    assert!((rows[0]["change"].as_f64().unwrap() - 0.5).abs() < 1e-9);

    let markdown = model_bench(&["compare", &old, &old, "--format", "md", "--gate"]);
    assert_eq!(markdown.status.code(), Some(0));
    assert!(stdout(&markdown).contains("| point | old | new | change | verdict |"));
}

#[test]
fn compare_names_setup_differences_and_refuses_to_judge_across_runtimes_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let with = |facts: Value, cpu: &str| {
        let mut value = results(&[("p/a", 100.0)]);
        value["benches"][0]["facts"] = facts;
        value["environment"]["cpu_model"] = json!(cpu);
        value
    };
    let tract = json!({"backend": "tract", "backend.version": "0.23.9", "model.path": "/a/m.onnx",
                       "model.sha256": "ab"});
    let ort = json!({"backend": "onnxruntime", "backend.version": "1.31.1",
                     "model.path": "/b/m.onnx", "model.sha256": "ab"});
    let old = write(dir.path(), "old.json", &with(tract.clone(), "EPYC"));
    let moved = write(
        dir.path(),
        "moved.json",
        &with(
            json!({"backend": "tract", "backend.version": "0.23.9", "model.path": "/elsewhere/m.onnx",
                   "model.sha256": "ab"}),
            "EPYC",
        ),
    );
    let other = write(dir.path(), "other.json", &with(ort, "Xeon"));

    // The same runtime and model, found in another directory: nothing to warn about.
    let same = model_bench(&["compare", &old, &moved, "--same-setup"]);
    assert_eq!(same.status.code(), Some(0), "{}", stderr(&same));
    assert!(!stderr(&same).contains("WARNING"), "{}", stderr(&same));
    assert!(
        !stdout(&same).contains("Setups differ"),
        "{}",
        stdout(&same)
    );

    let differs = model_bench(&["compare", &old, &other]);
    assert_eq!(differs.status.code(), Some(0), "{}", stderr(&differs));
    let warnings = stderr(&differs);
    assert!(
        warnings.contains("WARNING: p/a: backend: tract → onnxruntime"),
        "{warnings}"
    );
    assert!(
        warnings.contains("backend.version: 0.23.9 → 1.31.1"),
        "{warnings}"
    );
    assert!(warnings.contains("cpu_model: EPYC → Xeon"), "{warnings}");
    assert!(!warnings.contains("model.sha256"), "{warnings}");
    assert!(
        stdout(&differs).contains("Setups differ"),
        "{}",
        stdout(&differs)
    );

    let refused = model_bench(&["compare", &old, &other, "--same-setup", "--format", "json"]);
    assert_eq!(refused.status.code(), Some(5), "{}", stderr(&refused));
    let json: Value = serde_json::from_slice(&refused.stdout).unwrap();
    let keys: Vec<&str> = json["setup_changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["backend", "backend.version", "cpu_model"]);
    assert_eq!(json["setup_changes"][0]["kind"], "runtime");
    assert_eq!(json["setup_changes"][2]["kind"], "machine");

    // Another CPU alone is a warning, not a refusal: the same code ran.
    let cpu_only = write(dir.path(), "cpu.json", &with(tract, "Xeon"));
    let machine = model_bench(&["compare", &old, &cpu_only, "--same-setup"]);
    assert_eq!(machine.status.code(), Some(0), "{}", stderr(&machine));
    assert!(stderr(&machine).contains("cpu_model: EPYC → Xeon"));

    // A file from before facts existed: nothing to compare its runtime with, so nothing refused.
    let older = write(dir.path(), "older.json", &results(&[("p/a", 100.0)]));
    let unknown = model_bench(&["compare", &older, &moved, "--same-setup"]);
    assert_eq!(unknown.status.code(), Some(0), "{}", stderr(&unknown));
    assert!(
        !stderr(&unknown).contains("backend"),
        "{}",
        stderr(&unknown)
    );
}

#[test]
fn bad_result_files_are_errors_naming_the_file_and_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let good = write(dir.path(), "good.json", &results(&[("p/a", 1.0)]));
    let truncated = dir.path().join("truncated.json");
    std::fs::write(&truncated, br#"{"schema_version": 1, "benches": ["#).unwrap();
    let mut future = results(&[("p/a", 1.0)]);
    future["schema_version"] = json!(7);
    let future = write(dir.path(), "future.json", &future);
    let missing = dir.path().join("missing.json");
    for (file, says) in [
        (
            truncated.display().to_string(),
            "is not a model-bench results file",
        ),
        (
            future,
            "results schema version 7; this model-bench reads version 1",
        ),
        (missing.display().to_string(), "cannot read"),
    ] {
        let output = model_bench(&["compare", &good, &file]);
        assert_eq!(output.status.code(), Some(2));
        let message = stderr(&output);
        assert!(
            message.contains(&file) && message.contains(says),
            "{message}"
        );
    }
}

#[test]
fn a_baseline_travels_through_one_file_and_can_be_renamed() {
    let dir = tempfile::tempdir().unwrap();
    let criterion = dir.path().join("criterion");
    for bench in ["g/b", "g/c/4"] {
        for baseline in ["main", "new"] {
            let at = criterion.join(bench).join(baseline);
            std::fs::create_dir_all(&at).unwrap();
            std::fs::write(at.join("estimates.json"), format!(r#"{{"of":"{bench}"}}"#)).unwrap();
            std::fs::write(at.join("sample.json"), r#"{"iters":[1.0],"times":[2.0]}"#).unwrap();
        }
    }
    let file = dir.path().join("main.baseline.json");
    let criterion_arg = criterion.display().to_string();
    let file_arg = file.display().to_string();
    let export = model_bench(&[
        "export",
        "main",
        "-o",
        &file_arg,
        "--criterion-dir",
        &criterion_arg,
    ]);
    assert_eq!(export.status.code(), Some(0), "{}", stderr(&export));
    assert!(
        stderr(&export).contains("2 benchmarks"),
        "{}",
        stderr(&export)
    );
    let packed: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(packed["format"], "model-bench-baseline");
    assert_eq!(
        packed["files"].as_object().unwrap().len(),
        4,
        "only `main`, not `new`"
    );

    let elsewhere = dir.path().join("restored");
    let elsewhere_arg = elsewhere.display().to_string();
    let import = model_bench(&[
        "import",
        &file_arg,
        "--as",
        "pr",
        "--criterion-dir",
        &elsewhere_arg,
    ]);
    assert_eq!(import.status.code(), Some(0), "{}", stderr(&import));
    let restored: Value =
        serde_json::from_slice(&std::fs::read(elsewhere.join("g/c/4/pr/estimates.json")).unwrap())
            .unwrap();
    assert_eq!(restored["of"], "g/c/4");
    assert!(elsewhere.join("g/b/pr/sample.json").is_file());

    let missing = model_bench(&[
        "export",
        "nope",
        "-o",
        &file_arg,
        "--criterion-dir",
        &criterion_arg,
    ]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        stderr(&missing).contains("no baseline `nope`"),
        "{}",
        stderr(&missing)
    );
}

#[test]
fn bad_baseline_files_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("criterion");
    let target_arg = target.display().to_string();
    let escape = json!({"format": "model-bench-baseline", "version": 1, "name": "main",
        "files": {"g/b/{name}/estimates.json": {}, "../../outside/{name}/x.json": {}}});
    let mut newer = escape.clone();
    newer["version"] = json!(2);
    let nested = json!({"format": "model-bench-baseline", "version": 1, "name": "main",
        "files": {"g/{name}/x.json": {}, "g/{name}/x.json/y.json": {}}});
    let own_dir = json!({"format": "model-bench-baseline", "version": 1, "name": "new",
        "files": {"g/{name}/x.json": {}}});
    let cases = [
        (
            write(dir.path(), "escape.json", &escape),
            "is not `<benchmark dirs>/{name}/<file>.json`",
        ),
        (
            write(dir.path(), "newer.json", &newer),
            "baseline file version 2; this model-bench reads version 1",
        ),
        (
            write(dir.path(), "other.json", &json!({"format": "x"})),
            "is not `model-bench-baseline`",
        ),
        (
            write(dir.path(), "nested.json", &nested),
            "is not `<benchmark dirs>/{name}/<file>.json`",
        ),
        (
            write(dir.path(), "own-dir.json", &own_dir),
            "`new` is not a usable baseline name",
        ),
    ];
    for (file, says) in cases {
        let output = model_bench(&["import", &file, "--criterion-dir", &target_arg]);
        assert_eq!(output.status.code(), Some(2));
        let message = stderr(&output);
        assert!(
            message.contains(&file) && message.contains(says),
            "{message}"
        );
        assert!(!target.exists(), "nothing written for {file}");
    }
}

#[test]
fn report_draws_a_results_file_without_rerunning() {
    let dir = tempfile::tempdir().unwrap();
    let mut value = results(&[("p/a", 100.0), ("p/b", 200.0)]);
    value["benches"][0]["sweep"] = json!({
        "points": [
            {"batch": 1, "latency_ns": 100.0, "latency_per_item_ns": 100.0, "items_per_sec": 1e7},
            {"batch": 4, "latency_ns": 200.0, "latency_per_item_ns": 50.0, "items_per_sec": 2e7}
        ],
        "best_batch": 4, "knee": null, "ceiling": null
    });
    value["benches"][1]["device"] = json!("cuda");
    value["benches"][1]["gpu_usage"] = json!([{
        "index": 0, "samples": 10, "utilization_mean_pct": 97.5, "utilization_max_pct": 100,
        "memory_used_max_bytes": 1073741824u64, "sm_clock_mean_mhz": 1850.0,
        "sm_clock_min_mhz": 1410, "temperature_max_c": 71, "power_mean_w": 610.0,
        "power_max_w": 700.0, "throttled_samples": 2, "throttle_reasons": ["sw_power_cap"]
    }]);
    let file = write(dir.path(), "results.json", &value);
    let out = dir.path().join("out");
    let output = model_bench(&["report", &file, "-o", &out.display().to_string()]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("index.html"),
        "{}",
        stderr(&output)
    );

    let svg = std::fs::read_to_string(out.join("sweep-p_a.svg")).unwrap();
    let document = roxmltree::Document::parse(&svg).expect("the SVG parses");
    let series: Value = serde_json::from_str(
        document
            .descendants()
            .find(|n| n.attribute("id") == Some("model-bench-series"))
            .and_then(|n| n.text())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(series[0]["name"], "items/s");
    assert_eq!(series[0]["points"], json!([[1.0, 1e7], [4.0, 2e7]]));
    assert!(svg.contains("best batch 4"), "{svg}");
    assert!(out.join("sweep-p_a.png").is_file());

    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(html.contains("<img src=\"sweep-p_a.svg\""), "{html}");
    assert!(
        html.contains("<td>p/b</td>"),
        "the stage table lists every point: {html}"
    );
    // NVML's figures for a GPU bench, throttling called out.
    assert!(html.contains("GPU during the bench"), "{html}");
    assert!(html.contains("<td class=\"num\">1410</td>"), "{html}");
    assert!(
        html.contains("p/b GPU 0: the clock was throttled in 2 of 10 samples (sw_power_cap)"),
        "{html}"
    );
    assert!(html.contains("criterion's HTML report was not found"));

    // Without -o the report goes beside the results file.
    let output = model_bench(&["report", &file]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(dir.path().join("report/index.html").is_file());
}

#[test]
fn a_failed_write_is_an_error_naming_the_path_and_keeps_what_was_there() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "results.json", &results(&[("p/a", 100.0)]));
    // A regular file where the report's directory should be.
    let blocker = dir.path().join("blocker");
    std::fs::write(&blocker, "keep me").unwrap();
    let into_file = blocker.join("report");
    let output = model_bench(&["report", &file, "-o", &into_file.display().to_string()]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains(&into_file.display().to_string()),
        "{}",
        stderr(&output)
    );
    assert_eq!(std::fs::read_to_string(&blocker).unwrap(), "keep me");

    // index.html cannot replace a directory: that file fails, is named, and the directory stays.
    let out = dir.path().join("out");
    std::fs::create_dir_all(out.join("index.html")).unwrap();
    std::fs::write(out.join("index.html/mine.txt"), "mine").unwrap();
    let output = model_bench(&["report", &file, "-o", &out.display().to_string()]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains(&out.join("index.html").display().to_string()),
        "{}",
        stderr(&output)
    );
    assert_eq!(
        std::fs::read_to_string(out.join("index.html/mine.txt")).unwrap(),
        "mine"
    );
    let leftovers: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");

    // The same for a baseline export whose output directory is a file.
    let criterion = dir.path().join("criterion");
    let at = criterion.join("g/b/main");
    std::fs::create_dir_all(&at).unwrap();
    std::fs::write(at.join("estimates.json"), "{}").unwrap();
    let target = blocker.join("main.json");
    let output = model_bench(&[
        "export",
        "main",
        "-o",
        &target.display().to_string(),
        "--criterion-dir",
        &criterion.display().to_string(),
    ]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains(&target.display().to_string()),
        "{}",
        stderr(&output)
    );
    assert_eq!(std::fs::read_to_string(&blocker).unwrap(), "keep me");
}

#[test]
fn report_copes_with_hand_edited_results() {
    let dir = tempfile::tempdir().unwrap();
    let mut value = results(&[("g/a.b", 100.0), ("g/a_b", 200.0), ("g/remote", 300.0)]);
    let sweep = json!({
        "points": [
            {"batch": 1, "latency_ns": 100.0, "latency_per_item_ns": 100.0, "items_per_sec": 1e7},
            {"batch": 2, "latency_ns": 150.0, "latency_per_item_ns": 75.0, "items_per_sec": 1.3e7}
        ],
        "best_batch": 2, "knee": null, "ceiling": null
    });
    value["benches"][0]["sweep"] = sweep.clone();
    value["benches"][1]["sweep"] = sweep;
    // Two closed-loop points that lost their concurrency: nothing to place them at.
    let point = value["benches"][2]["points"][0].clone();
    let stats = json!({
        "latency_basis": "corrected_closed_loop", "requests": 10, "ok": 10, "errors": 0,
        "success_rate": 1.0, "elapsed_s": 1.0, "throughput_rps": 10.0, "sent_rps": 10.0,
        "latency": null, "service": null, "errors_by_class": {}, "first_errors": {},
        "late_pct": null, "lateness": null, "dropped": 0
    });
    let mut points = Vec::new();
    for level in ["c1", "c4"] {
        let mut p = point.clone();
        p["id"] = json!(format!("g/remote/{level}"));
        p["load"] = json!({"mode": "closed", "concurrency": null, "target_rate": null,
                           "arrival": null, "stats": stats});
        points.push(p);
    }
    value["benches"][2]["points"] = json!(points);
    // A server kind no version writes is refused, naming the file and what it expects.
    value["benches"][2]["remote"] =
        json!({"protocol": "rest", "url": "http://127.0.0.1:1", "model": "m", "server": "x"});
    let file = write(dir.path(), "results.json", &value);
    let refused = model_bench(&[
        "report",
        &file,
        "-o",
        &dir.path().join("no").display().to_string(),
    ]);
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("results.json is not a model-bench results file")
            && stderr(&refused).contains("expected `reference` or `external`"),
        "{}",
        stderr(&refused)
    );
    value["benches"][2]["remote"]["server"] = json!("external");
    let file = write(dir.path(), "results.json", &value);
    let out = dir.path().join("out");
    let output = model_bench(&["report", &file, "-o", &out.display().to_string()]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    // `g/a.b` and `g/a_b` would share a file name: both charts are kept.
    assert!(out.join("sweep-g_a_b.svg").is_file());
    assert!(out.join("sweep-g_a_b-2.svg").is_file());
    assert!(!out.join("load-closed-g_remote.svg").exists());
}
