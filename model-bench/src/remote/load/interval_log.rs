//! HdrHistogram interval logs, the standard text format (`HistogramLogWriter`'s: a header, then
//! one line per interval, `Tag=<histogram>,<start s>,<length s>,<max>,<base64 V2+DEFLATE>`):
//! what a scale-out worker writes for each point, one interval per time-series step and tag,
//! starts counted from the run's shared start (`BaseTime`); and the reader the merge uses.
//!
//! Written straight to the file (no user-space buffer), so a killed worker leaves every whole
//! line it wrote; a last line cut short is reported as a damaged tail, not an error, and the
//! intervals before it are kept.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, SystemTime};

use base64::Engine;
use hdrhistogram::serialization::interval_log::{
    IntervalLogIterator, IntervalLogWriterBuilder, LogEntry, Tag,
};
use hdrhistogram::serialization::{Deserializer, V2DeflateSerializer};
use hdrhistogram::Histogram;
use thiserror::Error;

/// One histogram of one step: what was recorded under `tag` from `start` (after the shared
/// start) for `length`.
#[derive(Debug, Clone, PartialEq)]
pub struct Interval {
    /// Which histogram of the point: `latency`, `service`, `lateness`, `ttft`, ….
    pub tag: String,
    /// From the run's shared start (the log's `BaseTime`).
    pub start: Duration,
    /// How long the step was.
    pub length: Duration,
    /// The step's values.
    pub histogram: Histogram<u64>,
}

/// One worker's log as read back.
#[derive(Debug, Clone)]
pub struct WorkerLog {
    /// Where it was read from (for messages).
    pub source: String,
    /// The shared start, seconds since the Unix epoch (`#[BaseTime: …]`), when the log has one.
    pub base_time: Option<Duration>,
    /// Every whole interval, in the order written.
    pub intervals: Vec<Interval>,
    /// The last line did not parse (a worker killed while writing it): what was wrong. The
    /// intervals before it are whole and kept.
    pub damaged_tail: Option<String>,
}

/// An interval log that cannot be written or read.
#[derive(Debug, Error)]
pub enum LogError {
    /// The file could not be read.
    #[error("{source_name}: cannot read the interval log: {error}")]
    Read {
        /// The file (or name) the log came from.
        source_name: String,
        /// What the system said.
        error: std::io::Error,
    },
    /// A line other than the last does not parse.
    #[error("{source_name}:{line}: {message}")]
    Parse {
        /// The file (or name) the log came from.
        source_name: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        message: String,
    },
    /// Writing failed (the disk, or a tag the format cannot hold).
    #[error("writing an interval log: {0}")]
    Write(String),
}

/// Writes the header (`base_time` as `BaseTime` and `StartTime`) and then each interval as it
/// comes from `intervals`, each line written out (in a few writes) before the next is asked
/// for: a process killed while writing leaves at most its last line cut short.
pub fn write_log<W: Write>(
    out: &mut W,
    base_time: SystemTime,
    intervals: impl IntoIterator<Item = Interval>,
) -> Result<(), LogError> {
    let mut serializer = V2DeflateSerializer::new();
    let mut writer = IntervalLogWriterBuilder::new()
        .add_comment("model-bench scale-out worker log: one interval per time-series step and tag")
        .with_start_time(base_time)
        .with_base_time(base_time)
        .begin_log_with(out, &mut serializer)
        .map_err(|e| LogError::Write(e.to_string()))?;
    for interval in intervals {
        let tag = Tag::new(&interval.tag).ok_or_else(|| {
            LogError::Write(format!(
                "tag `{}` has a comma, space or line break",
                interval.tag
            ))
        })?;
        writer
            .write_histogram(
                &interval.histogram,
                interval.start,
                interval.length,
                Some(tag),
            )
            .map_err(|e| LogError::Write(e.to_string()))?;
    }
    Ok(())
}

/// One interval line as logged, its histogram still encoded (base64 V2 + DEFLATE): what
/// [`stream_log`] hands on, so a reader that adds counts (the merge, through
/// [`CountsReader`](super::counts::CountsReader)) need not build a histogram per line.
#[derive(Debug, Clone, Copy)]
pub struct LoggedInterval<'a> {
    /// The histogram's tag.
    pub tag: &'a str,
    /// From the log's base time.
    pub start: Duration,
    /// How long the step was.
    pub length: Duration,
    /// The histogram, as the line holds it.
    pub encoded: &'a str,
}

/// Streams the log at `path`: hands each interval to `each` as its line is read; returns the
/// log's header and tail (its `intervals` empty). An error from `each` is the line's error.
pub fn stream_log(
    path: &Path,
    each: impl FnMut(&WorkerLog, LoggedInterval<'_>) -> Result<(), String>,
) -> Result<WorkerLog, LogError> {
    let source_name = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|error| LogError::Read {
        source_name: source_name.clone(),
        error,
    })?;
    stream(std::io::BufReader::new(file), &source_name, each)
}

/// Reads the log at `path`.
pub fn read_log(path: &Path) -> Result<WorkerLog, LogError> {
    let source_name = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|error| LogError::Read {
        source_name: source_name.clone(),
        error,
    })?;
    read_whole(std::io::BufReader::new(file), &source_name)
}

/// Parses a log's bytes; `source_name` names it in errors.
pub fn parse_log(source_name: &str, bytes: &[u8]) -> Result<WorkerLog, LogError> {
    read_whole(bytes, source_name)
}

/// Every interval of `reader`, decoded.
fn read_whole(reader: impl std::io::BufRead, source_name: &str) -> Result<WorkerLog, LogError> {
    let mut intervals = Vec::new();
    let mut deserializer = Deserializer::new();
    let log = stream(reader, source_name, |_, logged| {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(logged.encoded)
            .map_err(|e| format!("the histogram is not base64: {e}"))?;
        let histogram: Histogram<u64> = deserializer
            .deserialize(&mut bytes.as_slice())
            .map_err(|e| format!("the histogram does not decode: {e:?}"))?;
        intervals.push(Interval {
            tag: logged.tag.to_owned(),
            start: logged.start,
            length: logged.length,
            histogram,
        });
        Ok(())
    })?;
    Ok(WorkerLog { intervals, ..log })
}

/// The lines of `reader` one by one: headers into the log, intervals to `each`. A line that
/// does not parse is an error naming it, unless it is a last line cut short (no line end).
fn stream(
    mut reader: impl std::io::BufRead,
    source_name: &str,
    mut each: impl FnMut(&WorkerLog, LoggedInterval<'_>) -> Result<(), String>,
) -> Result<WorkerLog, LogError> {
    let mut log = WorkerLog {
        source: source_name.to_owned(),
        base_time: None,
        intervals: Vec::new(),
        damaged_tail: None,
    };
    let mut line = Vec::new();
    let mut number = 0;
    loop {
        line.clear();
        let read = reader
            .read_until(b'\n', &mut line)
            .map_err(|error| LogError::Read {
                source_name: source_name.to_owned(),
                error,
            })?;
        if read == 0 {
            return Ok(log);
        }
        number += 1;
        match parse_line(&line, &mut log, &mut each) {
            Ok(()) => {}
            // A worker killed mid-line leaves a last line without its end.
            Err(message) if !line.ends_with(b"\n") => {
                log.damaged_tail = Some(format!("line {number}: {message}"));
            }
            Err(message) => {
                return Err(LogError::Parse {
                    source_name: source_name.to_owned(),
                    line: number,
                    message,
                })
            }
        }
    }
}

/// One line: a header into `log`, an interval to `each`, or nothing (comments, the legend).
fn parse_line(
    line: &[u8],
    log: &mut WorkerLog,
    each: &mut impl FnMut(&WorkerLog, LoggedInterval<'_>) -> Result<(), String>,
) -> Result<(), String> {
    for entry in IntervalLogIterator::new(line) {
        match entry.map_err(|_| "not an interval log line".to_owned())? {
            LogEntry::StartTime(_) => {}
            LogEntry::BaseTime(base) => log.base_time = Some(base),
            LogEntry::Interval(interval) => each(
                log,
                LoggedInterval {
                    tag: interval.tag().map(|t| t.as_str()).unwrap_or_default(),
                    start: interval.start_timestamp(),
                    length: interval.duration(),
                    encoded: interval.encoded_histogram(),
                },
            )?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remote::load::hdr::histogram;

    fn interval(tag: &str, start_s: u64, values: &[u64]) -> Interval {
        let mut h = histogram();
        for &v in values {
            h.record(v).expect("in bounds");
        }
        Interval {
            tag: tag.into(),
            start: Duration::from_secs(start_s),
            length: Duration::from_secs(1),
            histogram: h,
        }
    }

    fn written(intervals: Vec<Interval>) -> Vec<u8> {
        let base = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let mut out = Vec::new();
        write_log(&mut out, base, intervals).expect("a Vec takes every write");
        out
    }

    #[test]
    fn a_log_reads_back_as_written() {
        let intervals = vec![
            interval("latency", 0, &[1_000, 2_000_000, 3_000_000_000]),
            interval("ttft", 0, &[5_000]),
            interval("latency", 1, &[7_000]),
        ];
        let log = parse_log("w0.hlog", &written(intervals.clone())).expect("parses");
        assert_eq!(log.base_time, Some(Duration::from_secs(1_800_000_000)));
        assert_eq!(log.intervals, intervals);
        assert_eq!(log.damaged_tail, None);
    }

    #[test]
    fn a_cut_last_line_keeps_what_came_before_and_garbage_inside_names_its_line() {
        let bytes = written(vec![
            interval("latency", 0, &[1_000]),
            interval("latency", 1, &[2_000]),
        ]);
        let cut = &bytes[..bytes.len() - 10];
        let log = parse_log("w1.hlog", cut).expect("a damaged tail is not an error");
        assert_eq!(log.intervals.len(), 1);
        assert!(log
            .damaged_tail
            .as_deref()
            .is_some_and(|m| m.starts_with("line ")));

        let text = String::from_utf8(bytes).expect("logs are text");
        let mut lines: Vec<&str> = text.lines().collect();
        let last = lines.len() - 1;
        lines.insert(last, "Tag=latency,0.000,1.000,0.000,!!!notbase64");
        let broken = lines.join("\n") + "\n";
        let error = parse_log("w2.hlog", broken.as_bytes()).expect_err("garbage inside");
        assert!(
            error
                .to_string()
                .starts_with(&format!("w2.hlog:{}: ", last + 1)),
            "{error}"
        );
    }

    #[test]
    fn a_tag_the_format_cannot_hold_is_refused() {
        let mut out = Vec::new();
        let error = write_log(&mut out, SystemTime::now(), [interval("a b", 0, &[1_000])])
            .expect_err("a space in a tag");
        assert!(error.to_string().contains("`a b`"), "{error}");
    }
}
