//! A scale-out worker's interval log of one load run: beside the run's totals, each measured
//! request also goes into full-precision histograms of the current time-series step (by when
//! its outcome was known, as HdrHistogram interval logs count), and when a step is over its
//! histograms go down a channel to a writer thread that appends them to the log file. So a
//! worker killed mid-run loses at most the step it was in, and the recorder never waits on the
//! disk.
//!
//! Tags: `latency` (from the intended send), `service` (from the actual send), `lateness` (every
//! measured request's send lateness) and, for token streams, `ttft` (from the intended send),
//! `ttft_service` (from the actual send), `chunk_gap` (between streamed chunks) and `itl` (each
//! stream's inter-token latency): every histogram a point's stream figures are made of.

use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

use hdrhistogram::Histogram;

use super::hdr::{histogram, nanos};
use super::streams::StreamHistograms;
use crate::remote::llm::StreamRecord;
use crate::remote::scaleout::interval_log::{write_log, Interval};

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

/// The request histograms' tags, in the order each step's intervals are written; the stream
/// histograms follow under [`STREAM_TAGS`](super::streams::STREAM_TAGS).
const TAGS: [&str; 3] = ["latency", "service", "lateness"];

/// A successful request's times for the interval log.
#[derive(Debug, Clone, Copy)]
pub struct Success<'a> {
    /// From the intended send to the response.
    pub latency: Duration,
    /// From the actual send to the response.
    pub service: Duration,
    /// A token stream's record (its times run from the actual send).
    pub stream: Option<&'a StreamRecord>,
}

/// The current step's histograms and the channel to the log's writer.
#[derive(Debug, Clone)]
pub struct IntervalRecorder {
    sink: mpsc::Sender<Message>,
    step: Duration,
    base_time: SystemTime,
    /// The instant step 0 starts (the measurement window's start) and that instant as an
    /// offset from the log's base time; set by the first record.
    origin: Option<(Instant, Duration)>,
    current: u64,
    histograms: [Histogram<u64>; TAGS.len()],
    /// The step's token streams, recorded as a point's totals are (only the histograms are
    /// logged).
    streams: StreamHistograms,
}

/// The writer thread of one log; joined by [`IntervalWriter::finish`].
pub struct IntervalWriter {
    thread: std::thread::JoinHandle<Result<(), String>>,
    path: PathBuf,
}

impl IntervalWriter {
    /// Creates the log file, starts its writer thread and returns the recorder that feeds it,
    /// in steps of `step` from the first record's origin (the measurement window's start).
    pub fn start(
        target: &IntervalLogTarget,
        step: Duration,
    ) -> Result<(IntervalWriter, IntervalRecorder), String> {
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
        let recorder = IntervalRecorder {
            sink,
            step: step.max(Duration::from_millis(1)),
            base_time,
            origin: None,
            current: 0,
            histograms: std::array::from_fn(|_| histogram()),
            streams: StreamHistograms::default(),
        };
        let path = target.path.clone();
        Ok((IntervalWriter { thread, path }, recorder))
    }

    /// Waits for the writer to have written everything it was sent.
    pub fn finish(self) -> Result<(), String> {
        self.thread.join().map_err(|_| {
            format!(
                "{}: the interval log's writer panicked",
                self.path.display()
            )
        })?
    }
}

impl IntervalRecorder {
    /// One measured request intended at `intended`, sent at `sent`, whose outcome was known at
    /// `done`: its send lateness, and its latency, service time and stream figures (successful
    /// ones only, as the totals). `origin` is the measurement window's start, where step 0
    /// begins.
    pub fn record(
        &mut self,
        origin: Instant,
        (intended, sent, done): (Instant, Instant, Instant),
        success: Option<Success<'_>>,
    ) {
        let base_time = self.base_time;
        let (origin, _) = *self.origin.get_or_insert_with(|| {
            // Where `origin` falls on the wall clock, as an offset from the shared start.
            let now = (Instant::now(), SystemTime::now());
            let wall = match origin.checked_duration_since(now.0) {
                Some(ahead) => now.1 + ahead,
                None => now.1 - now.0.duration_since(origin),
            };
            (
                origin,
                wall.duration_since(base_time).unwrap_or(Duration::ZERO),
            )
        });
        let step = (done.saturating_duration_since(origin).as_nanos() / self.step.as_nanos().max(1))
            as u64;
        if step > self.current {
            self.flush();
            self.current = step;
        }
        let [latency, service, late] = &mut self.histograms;
        let _ = late.record(nanos(sent.saturating_duration_since(intended)));
        let Some(success) = success else {
            return;
        };
        let _ = latency.record(nanos(success.latency));
        let _ = service.record(nanos(success.service));
        if let Some(stream) = success.stream {
            self.streams.record(intended, sent, stream);
        }
    }

    /// Sends the current step's non-empty histograms to the writer and empties them.
    fn flush(&mut self) {
        let Some((_, offset)) = self.origin else {
            return;
        };
        let start = offset + self.step * self.current as u32;
        let requests = TAGS.into_iter().zip(self.histograms.iter_mut());
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

    /// Sends the last step and tells the writer the run is over.
    pub fn finish(&mut self) {
        self.flush();
        let _ = self.sink.send(Message::End);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remote::scaleout::interval_log::read_log;

    #[test]
    fn steps_reach_the_file_as_they_end_and_add_up_to_every_request() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let target = IntervalLogTarget {
            path: dir.path().join("point.hlog"),
            base_time: SystemTime::now() - Duration::from_secs(10),
        };
        let origin = Instant::now();
        let (writer, mut recorder) =
            IntervalWriter::start(&target, Duration::from_secs(1)).expect("starts");
        let ms = Duration::from_millis;
        for (at_ms, latency_ms) in [(10, 5), (900, 7), (1_500, 9), (3_200, 11)] {
            let took = Some(Success {
                latency: ms(latency_ms),
                service: ms(latency_ms),
                stream: None,
            });
            let done = origin + ms(at_ms);
            let intended = done - ms(latency_ms);
            recorder.record(origin, (intended, intended + ms(1), done), took);
        }
        // Step 3 is still open: what is on disk so far is steps 0 and 1.
        std::thread::sleep(ms(100));
        let early = read_log(&target.path).expect("readable while written");
        let starts: Vec<f64> = early
            .intervals
            .iter()
            .map(|i| i.start.as_secs_f64().round())
            .collect();
        assert_eq!(starts, [10.0, 10.0, 10.0, 11.0, 11.0, 11.0], "{early:?}");
        recorder.finish();
        writer.finish().expect("written");
        let log = read_log(&target.path).expect("readable");
        let latency: u64 = log
            .intervals
            .iter()
            .filter(|i| i.tag == "latency")
            .map(|i| i.histogram.len())
            .sum();
        assert_eq!(latency, 4);
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
