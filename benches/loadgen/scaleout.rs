//! The `scaleout` section of the loadgen bench: one open-loop schedule sent by N worker
//! processes (this binary re-run with `--scaleout-worker`, each sending arrivals k ≡ index mod N
//! of the same seeded schedule from one shared start, as a Kubernetes Indexed Job's pods do)
//! against sending it from one such process, on this machine's loopback. Each worker's rate,
//! send lateness and late share are printed beside the aggregate, so `docs/PERFORMANCE.md` can
//! say whether every worker keeps to the single-machine lateness goal (p99 < 100 µs).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use model_bench::remote::load::WorkerShare;
use model_bench::remote::scaleout::{format_rfc3339, StartBarrier};
use model_bench::remote::{Arrival, Endpoint, LoadPlan, Tensor};

/// What one worker measured, as it prints it.
struct WorkerLine {
    sent_rps: f64,
    ok_rps: f64,
    lateness_p50_us: f64,
    lateness_p99_us: f64,
    late_pct: f64,
    errors: u64,
    dropped: u64,
}

/// `--scaleout-worker URL RATE WORKERS INDEX START_AT SECONDS`: one worker's share of an
/// open loop at RATE in all, printed as one line of figures.
pub fn worker(args: &[String]) {
    let [url, rate, workers, index, start_at, seconds] = args else {
        eprintln!("usage: --scaleout-worker URL RATE WORKERS INDEX START_AT SECONDS");
        std::process::exit(2);
    };
    let number = |text: &str| text.parse::<f64>().expect("a number");
    let share = WorkerShare::new(number(index) as usize, number(workers) as usize)
        .expect("an index below the worker count");
    let barrier = StartBarrier::from_env(|var| {
        (var == model_bench::remote::scaleout::barrier::START_AT_VAR).then(|| start_at.clone())
    })
    .expect("a start instant")
    .expect("a start instant");
    let endpoint = Endpoint::rest("identity")
        .input(Tensor::fp32("INPUT0", [1, 16], &[0.5; 16]).expect("valid"));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(model_bench::remote::load::load_threads(&endpoint))
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let client = super::connect(&runtime, &endpoint, url);
    let plan = LoadPlan::open(
        number(rate),
        Arrival::Constant,
        Duration::from_secs_f64(number(seconds)),
    )
    .warm_up(Duration::from_millis(200))
    .for_worker(share);
    if let Err(error) = barrier.wait() {
        eprintln!("worker {index}: {error}");
        std::process::exit(1);
    }
    let run = runtime.block_on(model_bench::remote::load::run(Arc::clone(&client), &plan));
    let s = run.stats();
    let lateness = s.lateness.as_ref().expect("open loops record lateness");
    println!(
        "{} {} {} {} {} {} {}",
        s.sent_rps,
        s.throughput_rps,
        lateness.p50 / 1e3,
        lateness.p99 / 1e3,
        s.late_pct.unwrap_or(0.0),
        s.errors,
        s.dropped
    );
}

/// Runs each total rate from 1, 2 and 4 worker processes against the server at `rest_url`
/// (`full`: 5,000 and 10,000/s, or 10,000/s alone in the main job's `whole_run`; else, for
/// `cargo test --benches`, one rate from 1 and 2).
pub fn compare(rest_url: &str, seconds: u64, full: bool, whole_run: bool) {
    println!(
        "== scale-out: one open-loop schedule (constant arrivals) from N worker processes, {seconds} s each"
    );
    let (rates, splits): (&[f64], &[usize]) = match (full, whole_run) {
        (true, false) => (&[5_000.0, 10_000.0], &[1, 2, 4]),
        (true, true) => (&[10_000.0], &[1, 2, 4]),
        (false, _) => (&[5_000.0], &[1, 2]),
    };
    for &rate in rates {
        for &workers in splits {
            match run_workers(rest_url, rate, workers, seconds) {
                Ok(lines) => show(rate, &lines),
                Err(message) => println!("target {rate:.0}/s, {workers} worker(s): {message}"),
            }
        }
    }
}

fn run_workers(
    rest_url: &str,
    rate: f64,
    workers: usize,
    seconds: u64,
) -> Result<Vec<WorkerLine>, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    // Time to start the processes and connect before the shared start.
    let start_at = format_rfc3339(SystemTime::now() + Duration::from_millis(1_500));
    let children: Vec<std::process::Child> = (0..workers)
        .map(|index| {
            Command::new(&exe)
                .args(["--scaleout-worker", rest_url])
                .arg(rate.to_string())
                .arg(workers.to_string())
                .arg(index.to_string())
                .arg(&start_at)
                .arg(seconds.to_string())
                .stdout(Stdio::piped())
                .spawn()
                .map_err(|e| e.to_string())
        })
        .collect::<Result<_, _>>()?;
    children
        .into_iter()
        .map(|mut child| {
            let stdout = child.stdout.take().ok_or("no stdout")?;
            let mut line = String::new();
            BufReader::new(stdout)
                .read_line(&mut line)
                .map_err(|e| e.to_string())?;
            let status = child.wait().map_err(|e| e.to_string())?;
            if !status.success() {
                return Err(format!("a worker exited with {status}"));
            }
            parse(&line)
        })
        .collect()
}

fn parse(line: &str) -> Result<WorkerLine, String> {
    let fields: Vec<f64> = line
        .split_whitespace()
        .map(|field| field.parse::<f64>().map_err(|e| format!("`{line}`: {e}")))
        .collect::<Result<_, _>>()?;
    let [sent_rps, ok_rps, lateness_p50_us, lateness_p99_us, late_pct, errors, dropped] =
        fields[..]
    else {
        return Err(format!("`{}`: not a worker's figures", line.trim()));
    };
    Ok(WorkerLine {
        sent_rps,
        ok_rps,
        lateness_p50_us,
        lateness_p99_us,
        late_pct,
        errors: errors as u64,
        dropped: dropped as u64,
    })
}

fn show(rate: f64, lines: &[WorkerLine]) {
    let sent: f64 = lines.iter().map(|l| l.sent_rps).sum();
    let ok: f64 = lines.iter().map(|l| l.ok_rps).sum();
    let worst_p99 = lines.iter().map(|l| l.lateness_p99_us).fold(0.0, f64::max);
    let errors: u64 = lines.iter().map(|l| l.errors).sum();
    let dropped: u64 = lines.iter().map(|l| l.dropped).sum();
    let each: Vec<String> = lines
        .iter()
        .map(|l| {
            format!(
                "{:.0}/s p50 {:.1} µs p99 {:.1} µs late>1ms {:.2} %",
                l.sent_rps, l.lateness_p50_us, l.lateness_p99_us, l.late_pct
            )
        })
        .collect();
    println!(
        "target {rate:>6.0}/s, {} worker(s): sent {sent:.0}/s ({:+.2} %), ok {ok:.0}/s, worst worker lateness p99 {worst_p99:.1} µs, errors {errors}, dropped {dropped}; each: {}",
        lines.len(),
        100.0 * (sent / rate - 1.0),
        each.join(" | ")
    );
}
