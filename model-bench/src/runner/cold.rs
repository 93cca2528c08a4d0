//! Cold runs: the bench binary re-executes itself once per run with an environment variable that
//! selects one bench; the child times entering the bench function through its first call and
//! reports it on stdout. Fresh processes, so nothing is warm but the OS page cache.

use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::panic;
use crate::bencher::{Bencher, Engine};
use crate::registry::{self, BenchDescriptor, BenchKind};

/// Names the bench (`group/name`) a child process runs cold.
pub const ENV_COLD_BENCH: &str = "MODEL_BENCH_COLD_BENCH";
/// The batch size the child runs it at.
pub const ENV_COLD_BATCH: &str = "MODEL_BENCH_COLD_BATCH";
/// Prefix of the child's one result line on stdout.
const RESULT_MARKER: &str = "model-bench-cold-result ";

#[derive(Debug, Serialize, Deserialize)]
struct ChildResult {
    setup_and_first_call_ns: u64,
    first_call_ns: u64,
}

/// One fresh process's measurement.
#[derive(Debug, Clone, Copy)]
pub struct ColdRun {
    pub total_ns: f64,
    pub first_call_ns: f64,
}

/// The child side: runs the selected bench's first call and prints the result. Returns the exit
/// code: 0 measured, 1 the bench failed, 2 the request was invalid.
pub fn child_main(key: &str) -> i32 {
    let Some(bench) = registry::find(key) else {
        let known: Vec<String> = registry::all().iter().map(|b| b.key()).collect();
        eprintln!(
            "model-bench: cold run asked for bench `{key}` ({ENV_COLD_BENCH}), but this binary has \
             no such bench; it has: {}",
            if known.is_empty() { "none".to_string() } else { known.join(", ") }
        );
        return 2;
    };
    let batch = match std::env::var(ENV_COLD_BATCH) {
        Err(_) => bench.batches()[0],
        Ok(text) => match text.parse::<usize>() {
            Ok(batch) if bench.batches().contains(&batch) => batch,
            _ => {
                eprintln!(
                    "model-bench: cold run of `{key}`: {ENV_COLD_BATCH}={text} is not one of its \
                     batch sizes {:?}",
                    bench.batches()
                );
                return 2;
            }
        },
    };
    match first_call(bench, batch) {
        Ok(result) => match serde_json::to_string(&result) {
            Ok(line) => {
                println!("{RESULT_MARKER}{line}");
                0
            }
            Err(error) => {
                eprintln!("model-bench: cold run of `{key}`: {error}");
                1
            }
        },
        Err(message) => {
            eprintln!("model-bench: cold run of `{key}` failed: {message}");
            1
        }
    }
}

fn first_call(bench: &BenchDescriptor, batch: usize) -> Result<ChildResult, String> {
    let mut record = None;
    let entered = Instant::now();
    let mut bencher = Bencher::new(
        batch,
        bench.device,
        Engine::FirstCall {
            entered,
            record: &mut record,
        },
    );
    let BenchKind::Stage(run) = bench.kind else {
        return Err(format!("`{}` is a remote bench, not a stage", bench.name));
    };
    panic::catch(|| run(&mut bencher))??;
    let call = record.ok_or_else(|| {
        format!(
            "`{}` returned without calling `b.iter(...)` (or another `iter*` method)",
            bench.name
        )
    })?;
    Ok(ChildResult {
        setup_and_first_call_ns: call.setup_and_first_call.as_nanos() as u64,
        first_call_ns: call.first_call.as_nanos() as u64,
    })
}

/// The parent side: runs `runs` fresh processes of this binary for `bench` at `batch`, each within
/// `timeout`. Returns the measurements and, separately, each failed run's message.
pub fn run(
    bench: &BenchDescriptor,
    batch: usize,
    runs: u32,
    timeout: Duration,
) -> (Vec<ColdRun>, Vec<String>) {
    let mut measured = Vec::new();
    let mut failures = Vec::new();
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(error) => {
            failures.push(format!(
                "cannot find this bench binary to re-run it: {error}"
            ));
            return (measured, failures);
        }
    };
    let done = Arc::new(AtomicU32::new(0));
    crate::progress::set_label(&bench.key());
    let progress = crate::progress::series("cold runs", runs, Arc::clone(&done));
    for run in 1..=runs {
        let mut command = Command::new(&exe);
        command
            .env(ENV_COLD_BENCH, bench.key())
            .env(ENV_COLD_BATCH, batch.to_string());
        match run_child(command, timeout) {
            Ok(output) => measured.push(output),
            Err(message) => failures.push(format!("run {run}/{runs}: {message}")),
        }
        done.fetch_add(1, Ordering::Release);
    }
    drop(progress);
    crate::progress::clear_label();
    (measured, failures)
}

fn run_child(mut command: Command, timeout: Duration) -> Result<ColdRun, String> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start a fresh process: {e}"))?;
    let read_all = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        })
    };
    let stdout = child.stdout.take().map(|p| read_all(Box::new(p)));
    let stderr = child.stderr.take().map(|p| read_all(Box::new(p)));
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("timed out after {timeout:?} and was killed"));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(error) => return Err(format!("cannot wait for the process: {error}")),
        }
    };
    let stdout = stdout.and_then(|t| t.join().ok()).unwrap_or_default();
    let stderr = stderr.and_then(|t| t.join().ok()).unwrap_or_default();
    if !status.success() {
        let detail = stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("no message");
        return Err(format!("the process exited with {status}: {detail}"));
    }
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix(RESULT_MARKER))
        .ok_or("the process printed no result")?;
    let result: ChildResult =
        serde_json::from_str(line).map_err(|e| format!("unreadable result `{line}`: {e}"))?;
    Ok(ColdRun {
        total_ns: result.setup_and_first_call_ns as f64,
        first_call_ns: result.first_call_ns as f64,
    })
}
