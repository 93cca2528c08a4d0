//! The `model-bench` command: compare result files, draw a results file's HTML report, export or
//! import a criterion baseline as one portable file, and merge a scale-out run's workers (with the
//! `remote` feature). Benches themselves run with `cargo bench`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use model_bench::tool::{self, baseline_file, compare};
#[cfg(feature = "remote")]
use model_bench::{
    remote::scaleout::log_files,
    results::BaselineUse,
    runner::{config::Config, merged, OutputDirs},
};

#[derive(Parser)]
#[command(name = "model-bench", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Compare two results.json files point by point (median, 95 % CI, change, verdict).
    Compare {
        old: PathBuf,
        new: PathBuf,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// Relative change inside which a difference is noise.
        #[arg(long, default_value_t = 0.01)]
        noise: f64,
        /// Exit with 3 when a point regressed.
        #[arg(long)]
        gate: bool,
        /// Exit with 5, judging nothing, when a bench in both files ran another runtime, model or
        /// server (its facts differ).
        #[arg(long)]
        same_setup: bool,
    },
    /// Draw the charts and index.html of a results.json (into DIR, default: report/ beside it).
    Report {
        results: PathBuf,
        #[arg(short, long, value_name = "DIR")]
        output: Option<PathBuf>,
        /// Where criterion's own HTML report is looked for, to link it.
        #[arg(long, default_value = "target/criterion")]
        criterion_dir: PathBuf,
    },
    /// Pack criterion baseline NAME into one file (for a CI artifact).
    Export {
        name: String,
        #[arg(short, long)]
        output: PathBuf,
        #[arg(long, default_value = "target/criterion")]
        criterion_dir: PathBuf,
    },
    /// Merge a scale-out run: each DIR is one worker's output directory (its results.json and
    /// worker-<index>/ files), or a file: saved logs of workers run with
    /// MODEL_BENCH_WORKER_STDOUT=1 (`kubectl logs … > run.log`), whose files are unpacked into
    /// OUTPUT/workers. Histograms are added exactly; a missing or unfinished worker is named and
    /// exits with 7 unless --allow-partial.
    #[cfg(feature = "remote")]
    Merge {
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// Where the merged results.json, CSV, Markdown and report go.
        #[arg(short, long, default_value = "merged")]
        output: PathBuf,
        /// Exit with 0 even when a worker or a worker's end is missing (the figures are then of
        /// the requests that were measured, never scaled up).
        #[arg(long)]
        allow_partial: bool,
        /// Save the merged points as criterion baseline NAME (as `cargo bench -- --save-baseline`).
        #[arg(long, value_name = "NAME", group = "baseline_use")]
        save_baseline: Option<String>,
        /// Compare the merged points with baseline NAME and let the gate judge them (as
        /// `cargo bench -- --baseline`): a point without it fails.
        #[arg(long, value_name = "NAME", group = "baseline_use")]
        baseline: Option<String>,
        /// As --baseline, but a point without the baseline is measured without a comparison.
        #[arg(long, value_name = "NAME", group = "baseline_use")]
        baseline_lenient: Option<String>,
        /// criterion's directory, where baselines are kept (default: where `cargo bench` keeps
        /// them: `$CRITERION_HOME`, else `<cargo target dir>/criterion`).
        #[arg(long)]
        criterion_dir: Option<PathBuf>,
    },
    /// Print a Kubernetes Indexed Job that runs IMAGE (a bench binary as its entrypoint) as N
    /// scale-out workers starting together; arguments after `--` go to the bench binary.
    #[cfg(feature = "remote")]
    K8sJob {
        /// The image to run (its entrypoint the bench binary).
        #[arg(long)]
        image: String,
        /// How many workers (pods).
        #[arg(long)]
        workers: usize,
        /// The Job's name.
        #[arg(long, default_value = "model-bench")]
        name: String,
        /// The shared start: this long after now (pods must be scheduled and pulled by then).
        #[arg(long, default_value = "2m")]
        start_in: String,
        /// How late a worker may reach the start and still run.
        #[arg(long, default_value = "1s")]
        late_limit: String,
        /// A ReadWriteMany PersistentVolumeClaim the workers write their outputs to.
        #[arg(
            long,
            default_value = "model-bench-results",
            conflicts_with = "to_logs"
        )]
        claim: String,
        /// No shared volume: the workers print their outputs in their logs, which
        /// `kubectl logs` saves to a file for `model-bench merge`.
        #[arg(long)]
        to_logs: bool,
        /// The bench binary's arguments (a filter, criterion's flags).
        #[arg(last = true)]
        bench_args: Vec<String>,
    },
    /// Unpack a baseline file into criterion's directory, optionally under another name.
    Import {
        file: PathBuf,
        #[arg(long = "as")]
        rename: Option<String>,
        #[arg(long, default_value = "target/criterion")]
        criterion_dir: PathBuf,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Table,
    Md,
    Json,
}

const EXIT_ERROR: u8 = 2;
const EXIT_REGRESSION: u8 = 3;
const EXIT_SETUP_CHANGED: u8 = 5;

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("model-bench: {error}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

fn run(cli: Cli) -> Result<u8, tool::ToolError> {
    match cli.command {
        Command::Compare {
            old,
            new,
            format,
            noise,
            gate,
            same_setup,
        } => {
            let (old, new) = (tool::read_results(&old)?, tool::read_results(&new)?);
            let rows = compare::compare(&old, &new, noise);
            let changes = compare::setup_changes(&old, &new);
            let setup_table = (!changes.is_empty()).then(|| compare::setup_table(&changes));
            match format {
                Format::Table => {
                    print!("{}", compare::table(&rows).to_text());
                    if let Some(table) = &setup_table {
                        print!("\n{}", table.to_text());
                    }
                }
                Format::Md => {
                    print!("{}", compare::table(&rows).to_markdown());
                    if let Some(table) = &setup_table {
                        print!("{}", table.to_markdown());
                    }
                }
                Format::Json => println!(
                    "{}",
                    serde_json::to_string_pretty(
                        &serde_json::json!({"points": rows, "setup_changes": changes})
                    )
                    .unwrap_or_else(|_| "{}".into())
                ),
            }
            for change in &changes {
                eprintln!(
                    "model-bench: WARNING: {}: {}",
                    change.bench,
                    change.change.describe()
                );
            }
            if same_setup && compare::crosses_runtimes(&changes) {
                eprintln!(
                    "model-bench: not judged: the two files ran different runtimes, models or \
                     servers (--same-setup)"
                );
                return Ok(EXIT_SETUP_CHANGED);
            }
            let regressed = rows
                .iter()
                .any(|r| r.verdict == compare::FileVerdict::Regressed);
            Ok(if gate && regressed {
                EXIT_REGRESSION
            } else {
                0
            })
        }
        Command::Report {
            results,
            output,
            criterion_dir,
        } => {
            let report = tool::read_results(&results)?;
            let dir = output.unwrap_or_else(|| {
                results
                    .parent()
                    .unwrap_or(std::path::Path::new("."))
                    .join("report")
            });
            let criterion_report = criterion_dir.join("report").join("index.html");
            let written = model_bench::export::html::write_report(
                &report,
                &dir,
                Some(&criterion_report),
                true,
            );
            for note in &written.notes {
                eprintln!("model-bench: note: {note}");
            }
            let failed = !written.errors.is_empty();
            for error in written.errors {
                eprintln!("model-bench: {error}");
            }
            let index = dir.join("index.html");
            if written.files.contains(&index) {
                eprintln!(
                    "model-bench: report with {} chart file(s): {}",
                    written.files.len() - 1,
                    index.display()
                );
            }
            Ok(if failed { EXIT_ERROR } else { 0 })
        }
        Command::Export {
            name,
            output,
            criterion_dir,
        } => {
            let benchmarks = baseline_file::export(&criterion_dir, &name, &output)?;
            eprintln!(
                "model-bench: baseline `{name}` ({benchmarks} benchmarks) written to {}",
                output.display()
            );
            Ok(0)
        }
        #[cfg(feature = "remote")]
        Command::Merge {
            dirs,
            output,
            allow_partial,
            save_baseline,
            baseline,
            baseline_lenient,
            criterion_dir,
        } => {
            // A file is a saved log of workers run with MODEL_BENCH_WORKER_STDOUT=1
            // (`kubectl logs`): the files it carries are unpacked next to the merged run.
            let (logs, mut dirs): (Vec<PathBuf>, Vec<PathBuf>) =
                dirs.into_iter().partition(|path| path.is_file());
            if !logs.is_empty() {
                let into = output.join("workers");
                let unpacked = log_files::unpack(&logs, &into)
                    .map_err(|e| tool::ToolError::Merge(e.to_string()))?;
                for line in &unpacked.damaged {
                    eprintln!("model-bench: {line}");
                }
                eprintln!(
                    "model-bench: {} file(s) of {} worker(s) unpacked from the logs into {}",
                    unpacked.files.len(),
                    unpacked.dirs.len(),
                    into.display()
                );
                dirs.extend(unpacked.dirs);
            }
            let mut run = tool::merge::merge_run(&dirs)?;
            let baseline = save_baseline
                .map(BaselineUse::Save)
                .or(baseline.map(BaselineUse::Compare))
                .or(baseline_lenient.map(BaselineUse::CompareLenient));
            // A partial run is neither saved as a baseline nor judged, unless accepted.
            let partial = run.is_partial() && !allow_partial;
            // The gate's settings are the bench run's: `model-bench.toml` and MODEL_BENCH_GATE*.
            let judged = match &baseline {
                Some(baseline) if !partial => {
                    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
                    let config =
                        Config::load(&cwd).map_err(|e| tool::ToolError::Usage(e.to_string()))?;
                    let criterion_dir =
                        criterion_dir.unwrap_or_else(|| OutputDirs::resolve(&config).criterion);
                    merged::judge(
                        &mut run.report,
                        &run.slices,
                        baseline,
                        &criterion_dir,
                        &config,
                    )
                }
                Some(baseline) => {
                    eprintln!(
                        "model-bench: a partial run is not {} baseline `{}` (--allow-partial \
                         accepts it)",
                        match baseline {
                            BaselineUse::Save(_) => "saved as",
                            _ => "compared with",
                        },
                        baseline.name()
                    );
                    0
                }
                None => 0,
            };
            tool::merge::write(&run, &output)?;
            if let Some(scaleout) = &run.report.scaleout {
                for point in &scaleout.points {
                    println!("{}: {} worker(s)", point.point, point.workers.len());
                    for worker in &point.workers {
                        println!(
                            "  worker {:>3} {:<24} {:>8} requests {:>8} ok {:>6} errors {:>10.1} sent/s  woke {:>7} late{}",
                            worker.index,
                            worker.identity,
                            worker.requests.unwrap_or(0),
                            worker.ok.unwrap_or(0),
                            worker.errors.unwrap_or(0),
                            worker.sent_rps.unwrap_or(0.0),
                            worker
                                .wake_lag_ms
                                .map_or("-".to_owned(), |ms| format!("{ms:.1} ms")),
                            if worker.complete { "" } else { "  (did not finish)" }
                        );
                    }
                }
            }
            for problem in &run.problems {
                eprintln!("model-bench: {problem}");
            }
            eprintln!("model-bench: merged run written to {}", output.display());
            if partial {
                eprintln!(
                    "model-bench: the run is partial (figures of the requests measured, not scaled \
                     up); exit {}; --allow-partial accepts it",
                    tool::merge::EXIT_PARTIAL
                );
                return Ok(tool::merge::EXIT_PARTIAL);
            }
            Ok(u8::try_from(judged).unwrap_or(1))
        }
        #[cfg(feature = "remote")]
        Command::K8sJob {
            image,
            workers,
            name,
            start_in,
            late_limit,
            claim,
            to_logs,
            bench_args,
        } => {
            let duration = |flag: &str, text: &str| {
                tool::k8s::parse_duration(text)
                    .map_err(|message| tool::ToolError::Usage(format!("--{flag} {message}")))
            };
            let spec = tool::k8s::JobSpec {
                name,
                image,
                workers,
                start_at: std::time::SystemTime::now() + duration("start-in", &start_in)?,
                late_limit: duration("late-limit", &late_limit)?,
                bench_args,
                results: if to_logs {
                    tool::k8s::Results::Logs
                } else {
                    tool::k8s::Results::Volume(claim)
                },
            };
            let manifest =
                tool::k8s::manifest(&spec).map_err(|e| tool::ToolError::Usage(e.to_string()))?;
            print!("{manifest}");
            Ok(0)
        }
        Command::Import {
            file,
            rename,
            criterion_dir,
        } => {
            let (name, files) = baseline_file::import(&file, &criterion_dir, rename.as_deref())?;
            eprintln!(
                "model-bench: baseline `{name}` ({files} files) written under {}",
                criterion_dir.display()
            );
            Ok(0)
        }
    }
}
