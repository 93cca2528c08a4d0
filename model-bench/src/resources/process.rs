//! CPU, resident memory and threads of processes while a load point runs: the load generator's
//! own process and, when a bench names it, the server's. A thread samples every 100 ms with
//! sysinfo; each process's readings become a summary with its memory growth per second, so a
//! leak over a soak shows as a slope.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::results::{ProcessUsage, SoakMemory};
use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System};

/// How often the processes are read.
pub const INTERVAL: Duration = Duration::from_millis(100);

/// A process to watch: `client` (this process) or `server`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watched {
    pub role: String,
    pub pid: u32,
}

#[derive(Debug, Clone, Copy)]
struct Reading {
    at_s: f64,
    cpu_pct: Option<f64>,
    rss_bytes: u64,
    threads: Option<u64>,
}

/// Finds the process a bench names: its PID, checked to exist, or the one process with that
/// name. An error says what is wrong before any load is sent.
pub fn resolve(pid: Option<u32>, name: Option<&str>) -> Result<u32, String> {
    let mut system = System::new().map_err(|e| format!("cannot read the process table: {e}"))?;
    system.refresh_processes_specifics(ProcessesToUpdate::All, true, ProcessRefreshKind::nothing());
    if let Some(pid) = pid {
        return match system.process(Pid::from_u32(pid)) {
            Some(_) => Ok(pid),
            None => Err(format!(
                "no process with PID {pid} (the server's PID given)"
            )),
        };
    }
    let name = name.ok_or("no server process given")?;
    let matches: Vec<u32> = system
        .processes_by_exact_name(name.as_ref())
        .filter(|p| p.thread_kind().is_none())
        .map(|p| p.pid().as_u32())
        .collect();
    match matches.as_slice() {
        [pid] => Ok(*pid),
        [] => Err(format!("no process named `{name}` is running")),
        several => Err(format!(
            "{} processes are named `{name}` (PIDs {}); give the server's PID instead",
            several.len(),
            several
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// Samples processes on a thread of its own until [`ProcessSampler::finish`].
pub struct ProcessSampler {
    watched: Vec<Watched>,
    stop: Arc<AtomicBool>,
    thread: JoinHandle<Vec<Vec<Option<Reading>>>>,
}

impl ProcessSampler {
    pub fn start(watched: Vec<Watched>) -> Result<ProcessSampler, String> {
        let stop = Arc::new(AtomicBool::new(false));
        let stop_flag = Arc::clone(&stop);
        let pids: Vec<Pid> = watched.iter().map(|w| Pid::from_u32(w.pid)).collect();
        let (first_taken, first) = std::sync::mpsc::sync_channel::<()>(1);
        let thread = std::thread::Builder::new()
            .name("model-bench-processes".into())
            .spawn(move || sample(&pids, &stop_flag, first_taken))
            .map_err(|e| format!("cannot start the process sampler thread: {e}"))?;
        // The first reading is the baseline: taken before this returns and the load begins.
        let _ = first.recv();
        Ok(ProcessSampler {
            watched,
            stop,
            thread,
        })
    }

    /// Takes a last reading, stops, and summarizes each process.
    pub fn finish(self) -> Vec<ProcessUsage> {
        self.finish_with_traces().0
    }

    /// As [`ProcessSampler::finish`], with each process's memory reading by reading.
    pub fn finish_with_traces(self) -> (Vec<ProcessUsage>, Vec<MemoryTrace>) {
        self.stop.store(true, Ordering::Relaxed);
        let readings = self.thread.join().unwrap_or_default();
        self.watched
            .iter()
            .enumerate()
            .filter_map(|(index, watched)| {
                let mine: Vec<Option<Reading>> = readings
                    .iter()
                    .map(|round| round.get(index).copied().flatten())
                    .collect();
                let trace = MemoryTrace {
                    role: watched.role.clone(),
                    pid: watched.pid,
                    rss: mine
                        .iter()
                        .flatten()
                        .map(|r| (r.at_s, r.rss_bytes))
                        .collect(),
                };
                Some((summarize(watched, &mine)?, trace))
            })
            .unzip()
    }
}

/// One process's resident memory over a run: `(seconds since sampling began, bytes)`.
#[derive(Debug, Clone, PartialEq)]
pub struct MemoryTrace {
    pub role: String,
    pub pid: u32,
    pub rss: Vec<(f64, u64)>,
}

/// Judges one process's memory over a soak read in `windows` windows of `window_s` from the
/// start of its trace (readings after the last window's end, while the run drains, count in
/// the last).
pub fn soak_memory(
    trace: &MemoryTrace,
    window_s: f64,
    windows: usize,
    mean_in_flight: Option<f64>,
    leak_threshold_bytes_per_s: f64,
) -> Option<SoakMemory> {
    let &(_, baseline_bytes) = trace.rss.first()?;
    let &(_, last_bytes) = trace.rss.last()?;
    let window_s = window_s.max(1e-3);
    let windows = windows.max(1);
    let window_mean_bytes: Vec<u64> = (0..windows)
        .filter_map(|w| {
            let from = w as f64 * window_s;
            let to = if w + 1 == windows {
                f64::INFINITY
            } else {
                (w + 1) as f64 * window_s
            };
            // The baseline reading is before the load; the windows are under it.
            let inside: Vec<u64> = trace.rss[1..]
                .iter()
                .filter(|(at, _)| *at >= from && *at < to)
                .map(|(_, rss)| *rss)
                .collect();
            (!inside.is_empty()).then(|| inside.iter().sum::<u64>() / inside.len() as u64)
        })
        .collect();
    let per_in_flight_bytes = mean_in_flight
        .filter(|n| *n > 0.0)
        .zip(window_mean_bytes.first())
        .map(|(n, first)| (*first as f64 - baseline_bytes as f64) / n);
    let settled: Vec<Reading> = trace
        .rss
        .iter()
        .filter(|(at, _)| *at >= window_s)
        .map(|&(at_s, rss_bytes)| Reading {
            at_s,
            cpu_pct: None,
            rss_bytes,
            threads: None,
        })
        .collect();
    let growth_bytes_per_s = slope(&settled);
    Some(SoakMemory {
        role: trace.role.clone(),
        pid: trace.pid,
        baseline_bytes,
        peak_bytes: trace.rss.iter().map(|(_, rss)| *rss).max().unwrap_or(0),
        last_bytes,
        window_mean_bytes,
        mean_in_flight,
        per_in_flight_bytes,
        growth_bytes_per_s,
        leak_threshold_bytes_per_s,
        leak: growth_bytes_per_s.map(|growth| growth > leak_threshold_bytes_per_s),
    })
}

/// Reading rounds, one entry per process (`None`: gone), until `stop`.
fn sample(
    pids: &[Pid],
    stop: &AtomicBool,
    first_taken: std::sync::mpsc::SyncSender<()>,
) -> Vec<Vec<Option<Reading>>> {
    let Ok(mut system) = System::new() else {
        return Vec::new();
    };
    let started = Instant::now();
    let kind = ProcessRefreshKind::nothing().with_cpu().with_memory();
    let mut rounds = Vec::new();
    loop {
        system.refresh_processes_specifics(ProcessesToUpdate::Some(pids), true, kind);
        let at_s = started.elapsed().as_secs_f64();
        // The first CPU figure has no earlier reading to differ from.
        let first = rounds.is_empty();
        rounds.push(
            pids.iter()
                .map(|pid| {
                    system.process(*pid).map(|process| Reading {
                        at_s,
                        cpu_pct: (!first).then(|| f64::from(process.cpu_usage())),
                        rss_bytes: process.memory(),
                        threads: threads_of(pid.as_u32()),
                    })
                })
                .collect(),
        );
        if rounds.len() == 1 {
            let _ = first_taken.send(());
        }
        if stop.load(Ordering::Relaxed) {
            return rounds;
        }
        std::thread::sleep(INTERVAL);
    }
}

/// The process's thread count (Linux: `/proc/<pid>/status`).
fn threads_of(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("Threads:"))
        .and_then(|count| count.trim().parse().ok())
}

fn summarize(watched: &Watched, readings: &[Option<Reading>]) -> Option<ProcessUsage> {
    let seen: Vec<Reading> = readings.iter().flatten().copied().collect();
    let first = seen.first()?;
    let last = seen.last()?;
    let cpu: Vec<f64> = seen.iter().filter_map(|r| r.cpu_pct).collect();
    Some(ProcessUsage {
        role: watched.role.clone(),
        pid: watched.pid,
        samples: seen.len(),
        cpu_mean_pct: (!cpu.is_empty()).then(|| cpu.iter().sum::<f64>() / cpu.len() as f64),
        cpu_max_pct: cpu.iter().copied().reduce(f64::max),
        rss_first_bytes: first.rss_bytes,
        rss_max_bytes: seen.iter().map(|r| r.rss_bytes).max().unwrap_or(0),
        rss_last_bytes: last.rss_bytes,
        rss_slope_bytes_per_s: slope(&seen),
        threads_max: seen.iter().filter_map(|r| r.threads).max(),
        exited: readings.last().is_some_and(Option::is_none),
    })
}

/// Least-squares slope of RSS over time; `None` with fewer than three readings.
fn slope(readings: &[Reading]) -> Option<f64> {
    if readings.len() < 3 {
        return None;
    }
    let n = readings.len() as f64;
    let mean_t = readings.iter().map(|r| r.at_s).sum::<f64>() / n;
    let mean_m = readings.iter().map(|r| r.rss_bytes as f64).sum::<f64>() / n;
    let (mut covariance, mut variance) = (0.0, 0.0);
    for r in readings {
        covariance += (r.at_s - mean_t) * (r.rss_bytes as f64 - mean_m);
        variance += (r.at_s - mean_t).powi(2);
    }
    (variance > 0.0).then(|| covariance / variance)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(at_s: f64, rss_mib: u64) -> Option<Reading> {
        Some(Reading {
            at_s,
            cpu_pct: Some(50.0 + at_s),
            rss_bytes: rss_mib << 20,
            threads: Some(4),
        })
    }

    #[test]
    fn a_steady_growth_is_its_slope_and_an_exit_is_noted() {
        let watched = Watched {
            role: "server".into(),
            pid: 7,
        };
        // 10 MiB more every second, then the process is gone.
        let readings = [
            reading(0.0, 100),
            reading(1.0, 110),
            reading(2.0, 120),
            None,
        ];
        let usage = summarize(&watched, &readings).unwrap();
        assert_eq!(usage.samples, 3);
        assert_eq!(usage.rss_first_bytes, 100 << 20);
        assert_eq!(usage.rss_max_bytes, 120 << 20);
        let slope = usage.rss_slope_bytes_per_s.unwrap();
        assert!((slope - f64::from(10u32 << 20)).abs() < 1.0, "{slope}");
        assert_eq!(usage.cpu_max_pct, Some(52.0));
        assert!(usage.exited);
        assert_eq!(summarize(&watched, &[None, None]), None);
    }

    #[test]
    fn a_soak_is_judged_after_its_first_window() {
        const MIB: u64 = 1 << 20;
        // 100 MiB before the load, 140 MiB once 8 requests are in flight (5 MiB each), then
        // 2 MiB more every second: a leak, past a 1 MiB/s threshold.
        let mut rss = vec![(0.0, 100 * MIB)];
        rss.extend((1..10).map(|i| (f64::from(i) * 0.1, 140 * MIB)));
        rss.extend((10..=40).map(|i| {
            let at = f64::from(i) * 0.1;
            (at, 140 * MIB + ((at - 1.0) * 2.0 * MIB as f64) as u64)
        }));
        let trace = MemoryTrace {
            role: "server".into(),
            pid: 7,
            rss,
        };
        let soak = soak_memory(&trace, 1.0, 4, Some(8.0), MIB as f64).unwrap();
        assert_eq!(soak.baseline_bytes, 100 * MIB);
        assert_eq!(soak.window_mean_bytes.len(), 4);
        assert_eq!(soak.window_mean_bytes[0], 140 * MIB);
        assert_eq!(soak.per_in_flight_bytes, Some(5.0 * MIB as f64));
        let growth = soak.growth_bytes_per_s.unwrap();
        assert!((growth - 2.0 * MIB as f64).abs() < 1e3, "{growth}");
        assert_eq!(soak.leak, Some(true));
        assert_eq!(soak.peak_bytes, soak.last_bytes);

        // The same start with no growth after it: no leak.
        let flat = MemoryTrace {
            rss: trace
                .rss
                .iter()
                .map(|&(at, rss)| (at, rss.min(140 * MIB)))
                .collect(),
            ..trace
        };
        let soak = soak_memory(&flat, 1.0, 4, None, MIB as f64).unwrap();
        assert_eq!(soak.leak, Some(false));
        assert_eq!(soak.per_in_flight_bytes, None);
    }

    #[test]
    fn a_missing_pid_or_name_is_an_error_before_any_load() {
        assert_eq!(
            resolve(Some(std::process::id()), None),
            Ok(std::process::id())
        );
        let error = resolve(Some(u32::MAX - 7), None).unwrap_err();
        assert!(error.contains("no process with PID"), "{error}");
        let error = resolve(None, Some("model-bench-no-such-server")).unwrap_err();
        assert!(
            error.contains("no process named `model-bench-no-such-server`"),
            "{error}"
        );
    }

    /// A real process that allocates while it is watched: its RSS rises by what it touched.
    #[test]
    fn the_sampler_sees_a_real_process_allocate() {
        let mut child = std::process::Command::new("python3")
            .args([
                "-c",
                "import sys, time\n\
                 print('ready', flush=True)\n\
                 time.sleep(0.4)\n\
                 held = b'x' * (200 * 1024 * 1024)\n\
                 time.sleep(0.8)\n",
            ])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3 runs");
        let mut ready = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.as_mut().unwrap()),
            &mut ready,
        )
        .unwrap();
        let sampler = ProcessSampler::start(vec![Watched {
            role: "server".into(),
            pid: child.id(),
        }])
        .unwrap();
        std::thread::sleep(Duration::from_millis(1000));
        let usage = sampler.finish();
        let _ = child.wait();
        let server = &usage[0];
        assert!(server.samples >= 5, "{server:?}");
        assert!(
            server.rss_max_bytes >= server.rss_first_bytes + (150 << 20),
            "{server:?}"
        );
        assert!(server.threads_max >= Some(1), "{server:?}");
    }
}
