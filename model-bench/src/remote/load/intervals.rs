//! A scale-out worker's interval log of one load run: beside the run's totals, each measured
//! request also goes into full-precision histograms of its recording thread's current step (by
//! when its outcome was known, as HdrHistogram interval logs count), and when a thread moves
//! past a step its histograms go down a channel to a writer thread that appends them to the
//! log file. So a worker killed mid-run loses at most each thread's latest step, and no
//! recording waits on the disk.
//!
//! Tags: `latency` (from the intended send), `service` (from the actual send), `lateness` (every
//! measured request's send lateness) and, for token streams, `ttft` (from the intended send),
//! `ttft_service` (from the actual send), `chunk_gap` (between streamed chunks) and `itl` (each
//! stream's inter-token latency): every histogram a point's stream figures are made of.

use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

use super::interval_log::{write_log, Interval};
use super::streams::StreamHistograms;
use super::tally::{RequestHistograms, RequestTimes};
use crate::remote::client::Reply;
use crate::remote::error::RequestError;

/// Where a run's interval log goes and what its times count from.
#[derive(Debug, Clone, PartialEq)]
pub struct IntervalLogTarget {
    /// The log file (created, or replaced).
    pub path: PathBuf,
    /// The run's shared start: the log's `BaseTime`, which interval starts count from.
    pub base_time: SystemTime,
}

#[derive(Debug)]
enum Message {
    Interval(Interval),
    End,
}

/// The writer thread of one log and its settings; [`recorder`](IntervalWriter::recorder) gives
/// each recording thread its own steps, [`finish`](IntervalWriter::finish) ends the log.
pub struct IntervalWriter {
    thread: std::thread::JoinHandle<Result<(), String>>,
    sink: mpsc::Sender<Message>,
    path: PathBuf,
    base_time: SystemTime,
    step: Duration,
}

/// One recording thread's current step of the log, and the channel to its writer.
#[derive(Debug)]
pub struct IntervalRecorder {
    sink: mpsc::Sender<Message>,
    step: Duration,
    /// The window's start (where step 0 begins) as an offset from the log's base time.
    origin: Duration,
    current: u64,
    requests: RequestHistograms,
    /// The step's token streams, recorded as a point's totals are (only the histograms are
    /// logged).
    streams: StreamHistograms,
}

impl IntervalWriter {
    /// Creates the log file and starts its writer thread; steps are `step` long.
    pub fn start(target: &IntervalLogTarget, step: Duration) -> Result<IntervalWriter, String> {
        let mut file = std::fs::File::create(&target.path).map_err(|e| {
            format!(
                "{}: cannot create the interval log: {e}",
                target.path.display()
            )
        })?;
        let (sink, messages) = mpsc::channel::<Message>();
        let base_time = target.base_time;
        let thread = std::thread::Builder::new()
            .name("model-bench-interval-log".into())
            .spawn(move || {
                let intervals = messages.into_iter().map_while(|message| match message {
                    Message::Interval(interval) => Some(interval),
                    Message::End => None,
                });
                // Straight to the file, no buffer: each line is in the kernel once written.
                write_log(&mut file, base_time, intervals).map_err(|e| e.to_string())
            })
            .map_err(|e| format!("cannot start the interval log's writer: {e}"))?;
        Ok(IntervalWriter {
            thread,
            sink,
            path: target.path.clone(),
            base_time,
            step: step.max(Duration::from_millis(1)),
        })
    }

    /// A recording thread's steps, from `window_start` (step 0's start) on. Each thread's
    /// steps reach the file as that thread moves past them, so a step of several threads is
    /// several intervals of one start: they add (as the merge adds workers).
    pub fn recorder(&self, window_start: Instant) -> IntervalRecorder {
        // Where the window's start falls on the wall clock, as an offset from the base time.
        let now = (Instant::now(), SystemTime::now());
        let wall = match window_start.checked_duration_since(now.0) {
            Some(ahead) => now.1 + ahead,
            None => now.1 - now.0.duration_since(window_start),
        };
        IntervalRecorder {
            sink: self.sink.clone(),
            step: self.step,
            origin: wall
                .duration_since(self.base_time)
                .unwrap_or(Duration::ZERO),
            current: 0,
            requests: RequestHistograms::default(),
            streams: StreamHistograms::default(),
        }
    }

    /// Ends the log once every recorder has sent its last step, and waits for the writer to
    /// have written everything.
    pub fn finish(self) -> Result<(), String> {
        let _ = self.sink.send(Message::End);
        self.thread.join().map_err(|_| {
            format!(
                "{}: the interval log's writer panicked",
                self.path.display()
            )
        })?
    }
}

impl IntervalRecorder {
    /// One measured request: its send lateness, and its latency, service time and stream
    /// figures (successful ones only, as the totals), into the step of its outcome.
    pub fn record(&mut self, times: &RequestTimes, outcome: &Result<Reply, RequestError>) {
        let step = (times.done().as_nanos() / self.step.as_nanos().max(1)) as u64;
        if step > self.current {
            self.flush();
            self.current = step;
        }
        self.requests.record(times, outcome.is_ok());
        if let Ok(Some(stream)) = outcome {
            self.streams.record(times.lateness, stream);
        }
    }

    /// Sends the current step's non-empty histograms to the writer and empties them.
    fn flush(&mut self) {
        let start = self.origin + self.step * self.current as u32;
        let requests = self.requests.tagged_mut();
        for (tag, histogram) in requests.chain(self.streams.tagged_mut()) {
            if histogram.is_empty() {
                continue;
            }
            let interval = Interval {
                tag: tag.to_owned(),
                start,
                length: self.step,
                histogram: histogram.clone(),
            };
            histogram.reset();
            // A writer that stopped (a full disk) has its error reported by `finish`.
            let _ = self.sink.send(Message::Interval(interval));
        }
    }

    /// Sends the last step (the writer's [`finish`](IntervalWriter::finish) ends the log).
    pub fn finish(&mut self) {
        self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remote::load::interval_log::read_log;

    #[test]
    fn steps_reach_the_file_as_they_end_and_add_up_to_every_request() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let target = IntervalLogTarget {
            path: dir.path().join("point.hlog"),
            base_time: SystemTime::now() - Duration::from_secs(10),
        };
        let origin = Instant::now();
        let writer = IntervalWriter::start(&target, Duration::from_secs(1)).expect("starts");
        let mut recorder = writer.recorder(origin);
        let ms = Duration::from_millis;
        for (at_ms, latency_ms) in [(10, 5), (900, 7), (1_500, 9), (3_200, 11)] {
            let times = RequestTimes {
                intended: ms(at_ms - latency_ms),
                lateness: ms(1),
                service: ms(latency_ms - 1),
            };
            recorder.record(&times, &Ok(None));
        }
        // Step 3 is still open: what is on disk so far is steps 0 and 1 (each: latency,
        // service, lateness).
        std::thread::sleep(ms(100));
        let early = read_log(&target.path).expect("readable while written");
        let starts: Vec<f64> = early
            .intervals
            .iter()
            .map(|i| i.start.as_secs_f64().round())
            .collect();
        assert_eq!(starts, [10.0, 10.0, 10.0, 11.0, 11.0, 11.0], "{early:?}");
        // A second thread's recorder: its steps are intervals of their own, of the same starts.
        let mut other = writer.recorder(origin);
        other.record(
            &RequestTimes {
                intended: ms(1_400),
                lateness: ms(0),
                service: ms(2),
            },
            &Ok(None),
        );
        other.finish();
        recorder.finish();
        writer.finish().expect("written");
        let log = read_log(&target.path).expect("readable");
        let latency: u64 = log
            .intervals
            .iter()
            .filter(|i| i.tag == "latency")
            .map(|i| i.histogram.len())
            .sum();
        assert_eq!(latency, 5);
        assert_eq!(
            log.intervals.last().map(|i| i.start.as_secs_f64().round()),
            Some(13.0)
        );
        assert!(
            log.intervals.iter().all(|i| i.tag != "ttft"),
            "no streams, no ttft"
        );
    }
}
