//! The live progress line of a long measurement (a load point, each level of a scenario, a soak,
//! a series of cold runs): what is being measured, how far it is, and its figures so far. On a
//! terminal one line on stderr is redrawn every second; elsewhere (CI logs) a plain line is
//! written every few seconds. `MODEL_BENCH_PROGRESS=0` silences it; a duration
//! (`MODEL_BENCH_PROGRESS=500ms`) sets how often it is written. It imports only the duration
//! grammar and number formatting: the runner names what is measured ([`set_label`]), the load loops and the cold-run series
//! report how far they are.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The variable that silences the line (`0`) or sets its interval (`2s`, `500ms`).
pub const ENV_PROGRESS: &str = "MODEL_BENCH_PROGRESS";

/// How often the line is written when stderr is not a terminal.
const LOG_INTERVAL: Duration = Duration::from_secs(5);
/// How often it is redrawn on a terminal.
const TERMINAL_INTERVAL: Duration = Duration::from_secs(1);

/// The point being measured, as the runner named it.
static LABEL: Mutex<String> = Mutex::new(String::new());

/// Names what the next progress lines are about (a point id).
pub fn set_label(label: &str) {
    let mut current = LABEL.lock().unwrap_or_else(|p| p.into_inner());
    current.clear();
    current.push_str(label);
}

/// Nothing is being measured for the runner any more: later load runs have no line.
pub fn clear_label() {
    set_label("");
}

fn label() -> String {
    LABEL.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

/// Whether and how the line is written, read once from the environment.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Mode {
    interval: Duration,
    terminal: bool,
}

/// The shortest interval: a line more often than this would only cost the measurement.
const MIN_INTERVAL: Duration = Duration::from_millis(100);

fn mode() -> Option<Mode> {
    static MODE: OnceLock<Option<Mode>> = OnceLock::new();
    *MODE.get_or_init(|| {
        let terminal = std::io::stderr().is_terminal();
        // The runner checked the setting before anything ran (`check_setting`).
        parse_mode(std::env::var(ENV_PROGRESS).ok().as_deref(), terminal).unwrap_or(None)
    })
}

/// Checks a `MODEL_BENCH_PROGRESS` value: why it is not one, if it is not.
pub fn check_setting(value: &str) -> Result<(), String> {
    parse_mode(Some(value), false).map(|_| ())
}

/// `None` (silent) for `0`/`off`/`false`/`no`; on at the default interval for where the line
/// goes for nothing, `1`, `on`, `true`, `yes`; a duration of at least 100 ms sets the interval.
fn parse_mode(value: Option<&str>, terminal: bool) -> Result<Option<Mode>, String> {
    let default = if terminal {
        TERMINAL_INTERVAL
    } else {
        LOG_INTERVAL
    };
    let value = value.map(str::trim).unwrap_or("");
    let interval = match value.to_ascii_lowercase().as_str() {
        "0" | "off" | "false" | "no" => return Ok(None),
        "" | "1" | "on" | "true" | "yes" => default,
        _ => {
            let nanos = crate::duration_grammar::parse_duration(value).map_err(|error| {
                format!("expected 0, 1 or how often to write the line (`2s`, `500ms`): {error}")
            })?;
            let interval = Duration::from_nanos(nanos);
            if interval < MIN_INTERVAL {
                return Err(format!(
                    "`{value}` is more often than the line can be useful; at least 100ms"
                ));
            }
            interval
        }
    };
    Ok(Some(Mode { interval, terminal }))
}

/// What a load run has done so far (requests inside the measurement window).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LoadSnapshot {
    pub requests: u64,
    pub ok: u64,
    pub errors: u64,
    /// The 99th percentile of the latency so far, in nanoseconds.
    pub p99_ns: Option<f64>,
}

/// A running progress line; dropping it stops the line (and clears it on a terminal).
pub struct Line {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    terminal: bool,
}

impl Drop for Line {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            let _ = thread.join();
        }
        if self.terminal {
            let _ = write!(std::io::stderr(), "\r\x1b[2K");
        }
    }
}

/// Starts the line for a load run of `warm_up` then `duration` (an `end` past which it is
/// draining); `snapshot` is called on the line's own thread, once per line.
pub fn load(
    warm_up: Duration,
    duration: Duration,
    snapshot: impl FnMut() -> LoadSnapshot + Send + 'static,
) -> Option<Line> {
    let mut snapshot = snapshot;
    start(move |elapsed| {
        let now = snapshot();
        let (phase, into) = if elapsed < warm_up {
            ("warm-up", format!("{} of {}", secs(elapsed), secs(warm_up)))
        } else if elapsed < warm_up + duration {
            let measuring = elapsed - warm_up;
            (
                "measuring",
                format!("{} of {}", secs(measuring), secs(duration)),
            )
        } else {
            ("draining", secs(elapsed - warm_up - duration))
        };
        let measured = elapsed.saturating_sub(warm_up).min(duration).as_secs_f64();
        let ok_per_s = if measured > 0.0 {
            now.ok as f64 / measured
        } else {
            0.0
        };
        let p99 = now
            .p99_ns
            .map(|ns| format!(" · p99 {}", crate::export::format::duration_ns(ns)))
            .unwrap_or_default();
        format!(
            "{phase} {into} · {} requests · {ok_per_s:.0} ok/s · {} errors{p99}",
            now.requests, now.errors
        )
    })
}

/// Starts the line for a series of `total` cold runs; `done` counts the finished ones.
pub fn series(
    what: &'static str,
    total: u32,
    done: Arc<std::sync::atomic::AtomicU32>,
) -> Option<Line> {
    start(move |elapsed| {
        format!(
            "{what} {} of {total} done · {}",
            done.load(Ordering::Acquire),
            secs(elapsed)
        )
    })
}

fn secs(duration: Duration) -> String {
    format!("{:.1} s", duration.as_secs_f64())
}

fn start(mut describe: impl FnMut(Duration) -> String + Send + 'static) -> Option<Line> {
    let mode = mode()?;
    // Only what the runner measures has a line: a load run started by other code (a test, a
    // tool of the user's) stays quiet.
    let label = Some(label()).filter(|l| !l.is_empty())?;
    let stop = Arc::new(AtomicBool::new(false));
    let stopped = Arc::clone(&stop);
    let thread = std::thread::Builder::new()
        .name("model-bench-progress".into())
        .spawn(move || {
            let started = Instant::now();
            let mut next = started + mode.interval;
            loop {
                let now = Instant::now();
                if now < next {
                    std::thread::park_timeout(next - now);
                }
                if stopped.load(Ordering::Acquire) {
                    return;
                }
                if Instant::now() < next {
                    continue;
                }
                // From now, not from the missed tick: a stalled machine gets one line, not a
                // burst of catch-up lines.
                next = Instant::now() + mode.interval;
                let text = format!("model-bench: {label} · {}", describe(started.elapsed()));
                let mut stderr = std::io::stderr().lock();
                let _ = if mode.terminal {
                    write!(stderr, "\r\x1b[2K{text}")
                } else {
                    writeln!(stderr, "{text}")
                };
                let _ = stderr.flush();
            }
        })
        .ok()?;
    Some(Line {
        stop,
        thread: Some(thread),
        terminal: mode.terminal,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_variable_silences_or_paces_the_line() {
        assert_eq!(parse_mode(Some("0"), false), Ok(None));
        assert_eq!(parse_mode(Some("off"), true), Ok(None));
        assert_eq!(
            parse_mode(None, false),
            Ok(Some(Mode {
                interval: LOG_INTERVAL,
                terminal: false
            }))
        );
        assert_eq!(
            parse_mode(Some("1"), true).map(|m| m.map(|m| m.interval)),
            Ok(Some(TERMINAL_INTERVAL))
        );
        assert_eq!(
            parse_mode(Some("250ms"), false).map(|m| m.map(|m| m.interval)),
            Ok(Some(Duration::from_millis(250)))
        );
        let error = check_setting("1us").unwrap_err();
        assert!(error.contains("at least 100ms"), "{error}");
        let error = check_setting("often").unwrap_err();
        assert!(error.contains("expected 0, 1 or how often"), "{error}");
    }
}
