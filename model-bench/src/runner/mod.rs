//! One run of a bench binary: settings, criterion, every selected bench (warm, then cold), then
//! the report, its files and the exit code.

mod bench_result;
pub mod cli;
pub mod cold;
pub mod config;
pub mod criterion_files;
pub mod gate;
#[cfg(feature = "remote")]
pub mod merged;
pub mod panic;
#[cfg(feature = "remote")]
mod quiet_stderr;
pub mod recommend;
#[cfg(feature = "remote")]
pub mod remote;
#[cfg(feature = "remote")]
mod replay;
pub mod report;
#[cfg(feature = "remote")]
mod scenario;
mod setup_check;
pub mod stage;
pub mod thresholds;
pub mod values;
#[cfg(feature = "remote")]
pub mod worker;

use crate::sync::lock;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use criterion::Criterion;

use crate::export;
use crate::registry::{self, BenchDescriptor, BenchKind};
use crate::results::{BenchResult, BenchStatus, ColdResult, Environment, MachineStates};
use crate::stats;
#[cfg(not(feature = "remote"))]
use bench_result::remote_unavailable;
use bench_result::skipped;
use cli::{CriterionArgs, Mode};
use config::Config;

/// Exit code when a bench failed (the run itself completed).
pub const EXIT_BENCH_FAILED: i32 = 1;
/// Exit code for invalid settings or arguments: nothing was run.
pub const EXIT_USAGE: i32 = 2;
/// Exit code when the regression gate is on and a bench regressed against its baseline (and
/// none failed, which takes precedence).
pub const EXIT_REGRESSION: i32 = 3;
/// Exit code when a threshold of `model-bench.toml` is broken (and no bench failed or regressed).
pub const EXIT_THRESHOLD: i32 = 4;
/// Exit code when the gate's `same_setup` setting is on and a bench was compared with a baseline
/// that ran on another runtime, model or server (the gate refuses to judge; no bench failed).
pub const EXIT_SETUP_CHANGED: i32 = 5;
/// Exit code when the gate is on and a baseline exists but cannot be read (corrupt, truncated,
/// unreadable): the gate fails closed rather than pass what it could not judge (no bench failed).
pub const EXIT_BASELINE_UNREADABLE: i32 = 6;
/// Exit code after Ctrl-C, as shells report SIGINT.
pub const EXIT_INTERRUPTED: i32 = 130;

/// Where criterion and model-bench write their files.
#[derive(Debug, Clone)]
pub struct OutputDirs {
    pub criterion: PathBuf,
    pub model_bench: PathBuf,
}

impl OutputDirs {
    /// Follows criterion's own choice (`$CRITERION_HOME`, else `<target>/criterion`) and puts
    /// model-bench's files in `<target>/model-bench/<bench target>` unless configured otherwise.
    pub fn resolve(config: &Config) -> Self {
        let target = target_dir();
        OutputDirs {
            criterion: std::env::var_os("CRITERION_HOME")
                .map(PathBuf::from)
                .unwrap_or_else(|| target.join("criterion")),
            model_bench: config.output_dir.clone().unwrap_or_else(|| {
                // One folder per bench target, so `cargo bench` running several targets keeps
                // every target's results instead of the last one's.
                let dir = target.join("model-bench");
                match bench_target_name() {
                    Some(name) => dir.join(name),
                    None => dir,
                }
            }),
        }
    }
}

/// The bench target this binary was built from: `pipeline` for `deps/pipeline-0123abcd`.
fn bench_target_name() -> Option<String> {
    let exe = std::env::current_exe().ok()?;
    let stem = exe.file_stem()?.to_str()?;
    let name = match stem.rsplit_once('-') {
        Some((name, hash)) if hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()) => {
            name
        }
        _ => stem,
    };
    Some(name.to_string())
}

/// The cargo target directory: `$CARGO_TARGET_DIR`, else the `target` folder this binary was
/// built into (`<target>/<profile>/deps/<bench>`), else `./target`.
fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| {
            exe.ancestors()
                .find(|dir| {
                    dir.join("CACHEDIR.TAG").is_file() || dir.join(".rustc_info.json").is_file()
                })
                .map(Path::to_path_buf)
        })
        .unwrap_or_else(|| PathBuf::from("target"))
}

/// The whole run; returns the process exit code.
pub fn run_main() -> i32 {
    if let Ok(key) = std::env::var(cold::ENV_COLD_BENCH) {
        return cold::child_main(&key);
    }
    let args = match CriterionArgs::parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(error) => {
            eprintln!("model-bench: {error}");
            return EXIT_USAGE;
        }
    };
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let config = match Config::load(&cwd) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("model-bench: {error}");
            return EXIT_USAGE;
        }
    };
    let benches = registry::all();
    if args.mode == Mode::List {
        for bench in &benches {
            for id in bench.point_ids() {
                if args.filter.matches(&id) {
                    println!("{id}: benchmark");
                }
            }
        }
        return 0;
    }

    let dirs = OutputDirs::resolve(&config);
    let mut criterion = criterion_with_defaults(&config, &dirs).configure_from_args();
    let measured = Arc::new(Mutex::new(Progress::default()));
    let measuring = args.mode == Mode::Benchmark;
    // Where and on what the run is measured, read before the first bench: the machine's state
    // now is what the benches start on. Only a measuring run reports it.
    let environment = measuring.then(|| {
        let mut environment = Environment::collect(&cwd);
        let start = crate::resources::machine::sample();
        if let Some(busy) = &start.busy {
            eprintln!("model-bench: WARNING: the machine is busy: {busy}");
        }
        environment.machine = Some(MachineStates { start, end: None });
        install_interrupt_handler(&measured, &config, &args, &dirs, &environment);
        environment
    });

    #[cfg(feature = "remote")]
    let mut remote_context = remote::RemoteContext::new();
    // A scale-out worker's share and start, refused before any load when they do not add up.
    #[cfg(feature = "remote")]
    let worker = match worker::WorkerMode::from_env(|var| std::env::var(var).ok()) {
        Ok(worker) => worker.with_output(&dirs.model_bench),
        Err(error) => {
            eprintln!("model-bench: {error}");
            return EXIT_USAGE;
        }
    };
    #[cfg(feature = "remote")]
    if let Some(line) = worker.describe() {
        eprintln!("model-bench: {line}");
    }
    for bench in benches {
        if !bench.point_ids().iter().any(|id| args.filter.matches(id)) {
            continue;
        }
        let mut publish = |partial: &BenchResult| lock(&measured).current = Some(partial.clone());
        let rss_before = measuring.then(crate::resources::process_rss).flatten();
        // A remote bench measures a server; only a stage runs on this process's device.
        let cuda_missing = (bench.device == registry::Device::Cuda
            && matches!(bench.kind, BenchKind::Stage(_)))
        .then(crate::measure::cuda_unavailable)
        .flatten();
        // A GPU stage that runs is watched by NVML (utilization, clocks, throttling).
        let gpu_sampler = (bench.device == registry::Device::Cuda
            && matches!(bench.kind, BenchKind::Stage(_))
            && cuda_missing.is_none()
            && measuring)
            .then(crate::resources::nvml::GpuSampler::start);
        crate::facts::clear();
        let started = std::time::SystemTime::now();
        let mut result = match &bench.kind {
            _ if cuda_missing.is_some() => skipped(bench, cuda_missing.unwrap_or_default()),
            BenchKind::Stage(_) => stage::run(
                &mut criterion,
                bench,
                &config,
                &args,
                &dirs.criterion,
                &mut publish,
            ),
            #[cfg(feature = "remote")]
            BenchKind::Remote(remote_bench) => remote::run(
                &mut remote_context,
                &mut remote::Harness {
                    criterion: &mut criterion,
                    config: &config,
                    args: &args,
                    criterion_dir: &dirs.criterion,
                    worker: &worker,
                },
                bench,
                remote_bench,
                &mut publish,
            ),
            #[cfg(not(feature = "remote"))]
            BenchKind::Remote(_) => remote_unavailable(bench),
        };
        crate::progress::clear_label();
        // After the measurement: a model file's digest is read here, not while it is timed.
        result.facts.extend(crate::facts::take());
        if let Some(environment) = &environment {
            let saved = setup_check::Saved {
                criterion_dir: &dirs.criterion,
                since: started,
            };
            setup_check::check_and_save(&mut result, bench, environment, &args, saved);
        }
        match gpu_sampler {
            Some(Ok(sampler)) => result.gpu_usage = sampler.finish(),
            Some(Err(reason)) => result.gpu_usage_note = Some(reason),
            None => {}
        }
        // A bench that started a server in this process counts from after its start.
        let rss_before = result.memory.map(|m| m.rss_before_bytes).or(rss_before);
        if let (Some(rss_before_bytes), Some(rss_after_bytes)) =
            (rss_before, rss_before.and(crate::resources::process_rss()))
        {
            result.memory = Some(crate::results::MemoryUse {
                rss_before_bytes,
                rss_after_bytes,
            });
        }
        // A skipped bench (no CUDA here) has nothing to start cold either.
        if bench.cold
            && measuring
            && !matches!(result.status, BenchStatus::Failed | BenchStatus::Skipped)
        {
            result.cold = Some(measure_cold(bench, &result, &config));
        }
        let mut progress = lock(&measured);
        progress.current = None;
        progress.done.push(result);
    }
    criterion.final_summary();

    // A snapshot, not a move: Ctrl-C during the final write must still find every result.
    let results = lock(&measured).snapshot();
    let failures: Vec<String> = results
        .iter()
        .filter(|r| r.status == BenchStatus::Failed)
        .map(|bench| {
            format!(
                "  {} ({}): {}",
                bench.id,
                bench.source,
                bench.error.as_deref().unwrap_or("unknown error")
            )
        })
        .collect();
    let gate = (measuring && config.gate.is_on()).then(|| gate::evaluate(&results, &config.gate));
    let limits = (measuring && !config.thresholds.is_empty())
        .then(|| thresholds::check(&results, &config.thresholds));
    if let Some(environment) = &environment {
        let report = report::build(results, &config, &args, environment, false);
        print!("{}", export::terminal::render(&report));
        write_files(&report, &dirs, !args.no_plot);
        #[cfg(feature = "remote")]
        if let Err(message) = worker.run_done(&dirs.model_bench) {
            eprintln!("model-bench: {message}");
        }
    }
    let saving = matches!(args.baseline, Some(crate::results::BaselineUse::Save(_)));
    let verdict = gate.map(|outcome| report_gate(&outcome, args.baseline_name(), saving));
    let refused = verdict == Some(GateVerdict::Refused);
    let unreadable = verdict == Some(GateVerdict::Unreadable);
    let regressed = verdict == Some(GateVerdict::Regressed);
    let broken = limits.is_some_and(|outcome| report_thresholds(&outcome));
    if !failures.is_empty() {
        eprintln!("\nmodel-bench: {} bench(es) failed:", failures.len());
        for line in failures {
            eprintln!("{line}");
        }
        EXIT_BENCH_FAILED
    } else if unreadable {
        EXIT_BASELINE_UNREADABLE
    } else if refused {
        EXIT_SETUP_CHANGED
    } else if regressed {
        EXIT_REGRESSION
    } else if broken {
        EXIT_THRESHOLD
    } else {
        0
    }
}

/// Prints what the thresholds found; whether any was broken.
fn report_thresholds(outcome: &thresholds::Outcome) -> bool {
    for line in &outcome.unmatched {
        eprintln!("model-bench: threshold not checked: {line}");
    }
    if outcome.broken.is_empty() {
        if outcome.checked > 0 {
            eprintln!(
                "\nmodel-bench: thresholds: all {} checks held",
                outcome.checked
            );
        }
        return false;
    }
    eprintln!(
        "\nmodel-bench: thresholds: {} broken:",
        outcome.broken.len()
    );
    for line in &outcome.broken {
        eprintln!("  {line}");
    }
    true
}

/// What the gate decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GateVerdict {
    Passed,
    Regressed,
    /// Compared across setups with `same_setup` on: not judged.
    Refused,
    /// A baseline could not be read: not judged, and not passed.
    Unreadable,
}

/// Prints what the gate found and what it decided.
fn report_gate(outcome: &gate::Outcome, baseline: &str, saving: bool) -> GateVerdict {
    // Everything found is listed, whatever the verdict: a refusal or an unreadable baseline
    // must not hide a regression elsewhere in the run.
    if !outcome.setup_changes.is_empty() {
        eprintln!(
            "\nmodel-bench: regression gate: compared with baseline `{baseline}` across different \
             setups:"
        );
        for line in &outcome.setup_changes {
            eprintln!("  {line}");
        }
    }
    if !outcome.within_noise.is_empty() {
        eprintln!(
            "\nmodel-bench: regression gate: changed, but within the noise threshold (not failed):"
        );
        for line in &outcome.within_noise {
            eprintln!("  {line}");
        }
    }
    if !outcome.regressions.is_empty() {
        eprintln!(
            "\nmodel-bench: regression gate: {} regression(s) against baseline `{baseline}`:",
            outcome.regressions.len()
        );
        for line in &outcome.regressions {
            eprintln!("  {line}");
        }
    } else if outcome.compared > 0 {
        eprintln!(
            "\nmodel-bench: regression gate: no regression against baseline `{baseline}` ({} points compared)",
            outcome.compared
        );
    } else if outcome.unreadable.is_empty() {
        eprintln!(
            "\nmodel-bench: regression gate: no bench had baseline `{baseline}` to compare with \
             (save one with `--save-baseline {baseline}`, compare with `--baseline {baseline}`)"
        );
    }
    if outcome.refused {
        eprintln!(
            "model-bench: regression gate: not judged: `same_setup` is on and the baseline ran \
             another runtime, model or server (exit {EXIT_SETUP_CHANGED}); save a baseline on \
             this setup first"
        );
    }
    if !outcome.unreadable.is_empty() {
        eprintln!(
            "\nmodel-bench: regression gate: FAILED: baseline `{baseline}` exists but cannot be \
             read, so these points were not judged (exit {EXIT_BASELINE_UNREADABLE}):"
        );
        for line in &outcome.unreadable {
            eprintln!("  {line}");
        }
        if saving {
            eprintln!(
                "model-bench: this run saved its own measurement as `{baseline}`: the next run \
                 compares with that"
            );
        } else {
            eprintln!(
                "model-bench: save the baseline again (`--save-baseline {baseline}`) or restore \
                 it (`model-bench import`)"
            );
        }
    }
    if !outcome.unreadable.is_empty() {
        GateVerdict::Unreadable
    } else if outcome.refused {
        GateVerdict::Refused
    } else if !outcome.regressions.is_empty() {
        GateVerdict::Regressed
    } else {
        GateVerdict::Passed
    }
}

/// The results so far: finished benches and the one being measured.
#[derive(Default)]
struct Progress {
    done: Vec<BenchResult>,
    current: Option<BenchResult>,
}

impl Progress {
    fn snapshot(&self) -> Vec<BenchResult> {
        self.done.iter().chain(&self.current).cloned().collect()
    }
}

/// criterion configured with model-bench's defaults (quick mode included), before its own flags
/// are applied over them with `configure_from_args`.
pub fn criterion_with_defaults(config: &Config, dirs: &OutputDirs) -> Criterion {
    let mut criterion = Criterion::default().output_directory(&dirs.criterion);
    let (sample_size, warm_up_time, measurement_time) = if config.quick {
        (
            Some(config::QUICK_SAMPLE_SIZE),
            Some(config::QUICK_WARM_UP_TIME),
            Some(config::QUICK_MEASUREMENT_TIME),
        )
    } else {
        (
            config.sample_size,
            config.warm_up_time,
            config.measurement_time,
        )
    };
    if let Some(size) = sample_size {
        criterion = criterion.sample_size(size);
    }
    if let Some(time) = warm_up_time {
        criterion = criterion.warm_up_time(time);
    }
    if let Some(time) = measurement_time {
        criterion = criterion.measurement_time(time);
    }
    criterion
}

/// Cold runs at the bench's smallest measured batch size, against its warm median there.
fn measure_cold(bench: &BenchDescriptor, warm: &BenchResult, config: &Config) -> ColdResult {
    let batch = warm
        .points
        .first()
        .map(|p| p.batch)
        .unwrap_or(bench.batches()[0]);
    let runs = bench.cold_runs.unwrap_or(config.cold_runs);
    eprintln!(
        "model-bench: {}: {runs} cold run(s) at batch {batch} in fresh processes",
        warm.id
    );
    let (measured, failures) = cold::run(bench, batch, runs, config.cold_timeout);
    for failure in &failures {
        eprintln!("model-bench: {}: cold {failure}", warm.id);
    }
    let total: Vec<f64> = measured.iter().map(|r| r.total_ns).collect();
    let first_call: Vec<f64> = measured.iter().map(|r| r.first_call_ns).collect();
    let warm_median = warm.point(batch).map(|p| p.estimates.median.point);
    ColdResult {
        summary: stats::cold::summarize(batch, &total, &first_call, warm_median),
        failures,
    }
}

/// One writer of the result files at a time: Ctrl-C during the final write waits for it, then
/// leaves the complete files alone.
static WRITING: Mutex<bool> = Mutex::new(false);

/// Writes the result files, and the report page with charts unless `plots` is false (`--noplot`),
/// unless a complete run's files were already written.
fn write_files(report: &crate::results::Report, dirs: &OutputDirs, plots: bool) {
    let mut complete_written = lock(&WRITING);
    if *complete_written {
        return;
    }
    write_files_unlocked(report, dirs, plots);
    *complete_written = !report.interrupted;
}

fn write_files_unlocked(report: &crate::results::Report, dirs: &OutputDirs, plots: bool) {
    let (written, errors) = export::write_all(report, &dirs.model_bench);
    if !written.is_empty() {
        eprintln!(
            "\nmodel-bench: wrote {}",
            written
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    for error in errors {
        eprintln!("model-bench: {error}");
    }
    let report_dir = dirs.model_bench.join("report");
    let criterion_report = dirs.criterion.join("report").join("index.html");
    let html = export::html::write_report(report, &report_dir, Some(&criterion_report), plots);
    if html.files.iter().any(|f| f.ends_with("index.html")) {
        eprintln!(
            "model-bench: report with {} chart file(s): {}",
            html.files.len() - 1,
            report_dir.join("index.html").display()
        );
    }
    for note in html.notes {
        eprintln!("model-bench: note: {note}");
    }
    for error in html.errors {
        eprintln!("model-bench: {error}");
    }
}

/// On Ctrl-C, writes what was measured so far (marked interrupted) before exiting.
fn install_interrupt_handler(
    measured: &Arc<Mutex<Progress>>,
    config: &Config,
    args: &CriterionArgs,
    dirs: &OutputDirs,
    environment: &Environment,
) {
    let measured = Arc::clone(measured);
    let (config, args, dirs, environment) = (
        config.clone(),
        args.clone(),
        dirs.clone(),
        environment.clone(),
    );
    let installed = ctrlc::set_handler(move || {
        let results = lock(&measured).snapshot();
        eprintln!(
            "\nmodel-bench: interrupted; writing the {} bench(es) measured so far",
            results.len()
        );
        let report = report::build(results, &config, &args, &environment, true);
        write_files(&report, &dirs, !args.no_plot);
        std::process::exit(EXIT_INTERRUPTED);
    });
    if let Err(error) = installed {
        eprintln!("model-bench: Ctrl-C will not save partial results: {error}");
    }
}
