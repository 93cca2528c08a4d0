//! A recorded traffic trace to replay: each request at its recorded time, with its recorded
//! input and output lengths. Formats: Mooncake's JSON lines (`timestamp` in ms, `input_length`,
//! `output_length`, `hash_ids`: requests that share a block id share that block of prompt, so the
//! trace's prefix sharing is reproduced), BurstGPT's CSV (`Timestamp` in s, `Request tokens`,
//! `Response tokens`), and generic JSON lines (`timestamp` in ms, `prompt` or `input_length`,
//! optional `output_length`, optional `session_id`: rows that share one are the turns of one
//! conversation, each carrying the conversation so far). Rows are read before the run into a
//! compact form; a request's prompt text is made from its row when it is sent, so a long trace
//! of long prompts needs no memory for their text (a multi-turn trace's turns are made before
//! the run, as every conversation's are).

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use super::prompt::{index_words, seeded_words, Prompt, PromptError};
use crate::results::PromptsInfo;

/// A trace file's layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TraceFormat {
    /// Mooncake's JSON lines: `{"timestamp": ms, "input_length": n, "output_length": m,
    /// "hash_ids": [..]}`, each id one block of [`Trace::block_tokens`] prompt tokens.
    Mooncake,
    /// BurstGPT's CSV, with a header naming `Timestamp` (s), `Request tokens` and `Response
    /// tokens`.
    BurstGpt,
    /// JSON lines: `{"timestamp": ms, "prompt": "…"}` or `{"timestamp": ms, "input_length": n}`,
    /// optionally `"output_length"` and `"session_id"` (a string or a number: the rows that
    /// share one are one conversation's turns, in order; each turn is sent at its time, or when
    /// the reply before it ended if that is later, and carries the conversation so far).
    Jsonl,
}

impl TraceFormat {
    fn name(self) -> &'static str {
        match self {
            TraceFormat::Mooncake => "Mooncake",
            TraceFormat::BurstGpt => "BurstGPT",
            TraceFormat::Jsonl => "JSON lines",
        }
    }
}

/// A trace to replay, and how: at its recorded pace or faster, whole or its start only.
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    /// The file.
    pub path: PathBuf,
    /// Its layout.
    pub format: TraceFormat,
    /// Replay this many times faster than recorded (2.0: twice as fast); 1.0 unless set.
    pub speedup: f64,
    /// Only the requests due in the replay's first this long.
    pub first: Option<Duration>,
    /// Only the first this many requests.
    pub first_requests: Option<usize>,
    /// Prompt tokens per Mooncake block id (512, Mooncake's own, unless set).
    pub block_tokens: u32,
}

impl Trace {
    fn new(path: impl Into<PathBuf>, format: TraceFormat) -> Self {
        Trace {
            path: path.into(),
            format,
            speedup: 1.0,
            first: None,
            first_requests: None,
            block_tokens: 512,
        }
    }

    /// A Mooncake trace (JSON lines with `hash_ids`).
    pub fn mooncake(path: impl Into<PathBuf>) -> Self {
        Trace::new(path, TraceFormat::Mooncake)
    }

    /// A BurstGPT trace (CSV).
    pub fn burstgpt(path: impl Into<PathBuf>) -> Self {
        Trace::new(path, TraceFormat::BurstGpt)
    }

    /// A trace in generic JSON lines.
    pub fn jsonl(path: impl Into<PathBuf>) -> Self {
        Trace::new(path, TraceFormat::Jsonl)
    }

    /// Replays `speedup` times faster than recorded (a positive number).
    pub fn speedup(mut self, speedup: f64) -> Self {
        self.speedup = speedup;
        self
    }

    /// Only the requests due in the replay's first `window`.
    pub fn first(mut self, window: Duration) -> Self {
        self.first = Some(window);
        self
    }

    /// Only the first `requests` requests.
    pub fn first_requests(mut self, requests: usize) -> Self {
        self.first_requests = Some(requests);
        self
    }

    /// Prompt tokens per Mooncake block id.
    pub fn block_tokens(mut self, tokens: u32) -> Self {
        self.block_tokens = tokens;
        self
    }

    /// Reads the rows, in time order, due times counted from the first row's and divided by
    /// the speedup. A row that does not parse, or one recorded before the row above it, is an
    /// error naming its line; a trace of no row, too.
    pub fn read(&self) -> Result<TraceRows, PromptError> {
        if !(self.speedup.is_finite() && self.speedup > 0.0) {
            return Err(self.error(
                0,
                format!("speedup {} is not a positive number", self.speedup),
            ));
        }
        if self.format == TraceFormat::Mooncake && self.block_tokens == 0 {
            return Err(self.error(0, "block_tokens must be at least 1".into()));
        }
        let text = std::fs::read_to_string(&self.path).map_err(|e| PromptError::Read {
            path: self.path.clone(),
            message: e.to_string(),
        })?;
        let mut rows = Vec::new();
        let mut origin: Option<(f64, usize)> = None;
        let mut previous = f64::NEG_INFINITY;
        let mut lines = text.lines().enumerate().map(|(i, line)| (i + 1, line));
        let columns = match self.format {
            TraceFormat::BurstGpt => Some(self.header(&mut lines)?),
            _ => None,
        };
        for (line_number, line) in lines {
            if line.trim().is_empty() {
                continue;
            }
            let (at_ms, input, output_tokens, session) = match &columns {
                Some(columns) => columns.row(line),
                None => self.json_row(line),
            }
            .map_err(|message| self.error(line_number, message))?;
            if at_ms < previous {
                return Err(self.error(
                    line_number,
                    format!(
                        "timestamp {at_ms} ms is before the row above's {previous} ms: a trace \
                         must be in time order"
                    ),
                ));
            }
            previous = at_ms;
            let (start, _) = *origin.get_or_insert((at_ms, line_number));
            let at = Duration::from_secs_f64((at_ms - start) / 1e3 / self.speedup);
            if self.first.is_some_and(|first| at >= first)
                || self.first_requests.is_some_and(|most| rows.len() >= most)
            {
                break;
            }
            rows.push(TraceRow {
                at,
                input,
                output_tokens,
                session,
            });
        }
        if rows.is_empty() {
            return Err(PromptError::Empty {
                path: self.path.clone(),
                detail: " (a trace needs at least one request)".into(),
            });
        }
        Ok(TraceRows {
            info: self.describe(&rows),
            rows,
            block_tokens: self.block_tokens,
        })
    }

    fn error(&self, line: usize, message: String) -> PromptError {
        PromptError::Parse {
            path: self.path.clone(),
            line,
            message,
        }
    }

    /// The CSV header's columns.
    fn header<'a>(
        &self,
        lines: &mut impl Iterator<Item = (usize, &'a str)>,
    ) -> Result<CsvColumns, PromptError> {
        let (line_number, header) = lines
            .next()
            .ok_or_else(|| self.error(1, "no header line".into()))?;
        let names: Vec<&str> = header.split(',').map(str::trim).collect();
        let find = |name: &str| {
            names
                .iter()
                .position(|column| column.eq_ignore_ascii_case(name))
                .ok_or_else(|| {
                    self.error(
                        line_number,
                        format!("the header has no `{name}` column (it has {names:?})"),
                    )
                })
        };
        Ok(CsvColumns {
            timestamp: find("Timestamp")?,
            input: find("Request tokens")?,
            output: find("Response tokens")?,
        })
    }

    /// One JSON-lines row: its time (ms), its prompt, its output length, its session.
    fn json_row(&self, line: &str) -> Result<ParsedRow, String> {
        let value: Value =
            serde_json::from_str(line).map_err(|e| format!("not a JSON object: {e}"))?;
        let at_ms = value
            .get("timestamp")
            .and_then(Value::as_f64)
            .filter(|ms| ms.is_finite() && *ms >= 0.0)
            .ok_or("no `timestamp` (milliseconds, a number ≥ 0)")?;
        let length = |key: &str| -> Result<Option<u32>, String> {
            match value.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(number) => number
                    .as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .map(Some)
                    .ok_or_else(|| format!("`{key}` is not a whole number of tokens")),
            }
        };
        let output = length("output_length")?;
        let input = match self.format {
            TraceFormat::Mooncake => {
                let tokens = length("input_length")?.ok_or("no `input_length`")?;
                let ids = value
                    .get("hash_ids")
                    .and_then(Value::as_array)
                    .ok_or("no `hash_ids` list")?
                    .iter()
                    .map(|id| {
                        id.as_u64()
                            .ok_or("a `hash_ids` entry is not a whole number")
                    })
                    .collect::<Result<Vec<u64>, _>>()?;
                let covered = ids.len() as u64 * u64::from(self.block_tokens);
                if covered < u64::from(tokens) {
                    return Err(format!(
                        "{} block(s) of {} tokens cannot hold `input_length` {tokens}",
                        ids.len(),
                        self.block_tokens
                    ));
                }
                TraceInput::Blocks { ids, tokens }
            }
            _ => match (
                value.get("prompt").and_then(Value::as_str),
                length("input_length")?,
            ) {
                (Some(prompt), _) => TraceInput::Text(prompt.to_owned()),
                (None, Some(tokens)) => TraceInput::Length(tokens),
                (None, None) => return Err("neither `prompt` nor `input_length`".into()),
            },
        };
        let session = match (self.format, value.get("session_id")) {
            (TraceFormat::Jsonl, Some(Value::String(id))) => Some(id.clone()),
            (TraceFormat::Jsonl, Some(Value::Number(id))) => Some(id.to_string()),
            (TraceFormat::Jsonl, Some(other)) if !other.is_null() => {
                return Err(format!("`session_id` is {other}, not a string or a number"))
            }
            _ => None,
        };
        Ok((at_ms, input, output, session))
    }

    fn describe(&self, rows: &[TraceRow]) -> PromptsInfo {
        let lengths: Vec<u32> = rows.iter().map(|row| row.input.tokens()).collect();
        let asked: Vec<u32> = rows.iter().filter_map(|row| row.output_tokens).collect();
        let span = rows.last().map_or(0.0, |row| row.at.as_secs_f64());
        let mut source = format!(
            "trace: {} ({}), {} requests over {span:.1} s",
            self.path.display(),
            self.format.name(),
            rows.len()
        );
        if self.speedup != 1.0 {
            source += &format!(", {}× as fast as recorded", self.speedup);
        }
        PromptsInfo {
            source,
            prompts: rows.len() as u64,
            skipped: 0,
            input_tokens_mean: lengths.iter().map(|&n| f64::from(n)).sum::<f64>()
                / lengths.len().max(1) as f64,
            input_tokens_min: lengths.iter().copied().min().unwrap_or(0),
            input_tokens_max: lengths.iter().copied().max().unwrap_or(0),
            max_tokens_mean: (!asked.is_empty())
                .then(|| asked.iter().map(|&n| f64::from(n)).sum::<f64>() / asked.len() as f64),
            token_counts: "the trace's lengths: one token per whitespace-separated word".into(),
        }
    }
}

/// A row as read: its time (ms), its prompt, its output length, its session.
type ParsedRow = (f64, TraceInput, Option<u32>, Option<String>);

/// Where a BurstGPT header puts the columns read.
struct CsvColumns {
    timestamp: usize,
    input: usize,
    output: usize,
}

impl CsvColumns {
    /// One CSV row: its time (ms), its prompt's length, its output length.
    fn row(&self, line: &str) -> Result<ParsedRow, String> {
        let cells: Vec<&str> = line.split(',').map(str::trim).collect();
        let cell = |index: usize, name: &str| {
            cells
                .get(index)
                .copied()
                .ok_or_else(|| format!("no `{name}` cell (column {})", index + 1))
        };
        let seconds: f64 = cell(self.timestamp, "Timestamp")?
            .parse()
            .ok()
            .filter(|s: &f64| s.is_finite() && *s >= 0.0)
            .ok_or("`Timestamp` is not a number of seconds ≥ 0")?;
        let tokens = |index: usize, name: &str| -> Result<u32, String> {
            cell(index, name)?
                .parse()
                .map_err(|_| format!("`{name}` is not a whole number of tokens"))
        };
        let input = tokens(self.input, "Request tokens")?;
        let output = tokens(self.output, "Response tokens")?;
        Ok((seconds * 1e3, TraceInput::Length(input), Some(output), None))
    }
}

/// A replay's timing, from its start: when each arrival is due (a request, or a
/// conversation's first turn), and when the trace's last request is (a later turn of a
/// conversation may come after the last arrival).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplaySchedule {
    /// In order.
    pub arrivals: Vec<Duration>,
    /// At or after the last arrival.
    pub last_due: Duration,
}

impl ReplaySchedule {
    /// Only what is due before `end` (a quick run's start of the trace).
    pub fn before(mut self, end: Duration) -> Self {
        self.arrivals.retain(|&at| at < end);
        self.last_due = self.last_due.min(end);
        self
    }
}

/// A trace's rows, ready to replay, and what results say of them.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceRows {
    /// In time order.
    pub rows: Vec<TraceRow>,
    /// The trace described for the results.
    pub info: PromptsInfo,
    /// Prompt tokens per block id.
    pub block_tokens: u32,
}

impl TraceRows {
    /// When each request is due, from the replay's start.
    pub fn schedule(&self) -> ReplaySchedule {
        ReplaySchedule {
            arrivals: self.rows.iter().map(|row| row.at).collect(),
            last_due: self.rows.last().map_or(Duration::ZERO, |row| row.at),
        }
    }

    /// Whether rows are turns of conversations (some row has a `session_id`).
    pub fn has_sessions(&self) -> bool {
        self.rows.iter().any(|row| row.session.is_some())
    }

    /// Row `index`'s prompt: its text made now (the same every time), its length, its output
    /// length.
    pub fn prompt(&self, index: usize) -> Prompt {
        let row = &self.rows[index % self.rows.len()];
        let text = match &row.input {
            TraceInput::Text(text) => text.clone(),
            TraceInput::Blocks { ids, tokens } => {
                let mut words = Vec::with_capacity(*tokens as usize);
                for &id in ids {
                    let left = (*tokens as usize).saturating_sub(words.len());
                    if left == 0 {
                        break;
                    }
                    // A block's words come from its id alone: requests that share an id share
                    // its text, so a server's prefix cache sees the trace's sharing.
                    let block = seeded_words(id, self.block_tokens.min(left as u32));
                    words.extend(block);
                }
                words.join(" ")
            }
            TraceInput::Length(tokens) => {
                // Every row's prompt different: its index first, as synthetic prompts do.
                let mut words: Vec<&str> = index_words(index)
                    .into_iter()
                    .take(*tokens as usize)
                    .collect();
                let left = (*tokens as usize).saturating_sub(words.len());
                words.extend(seeded_words(index as u64 ^ 0x0074_7261_6365, left as u32));
                words.join(" ")
            }
        };
        Prompt {
            input_tokens: row.input.tokens(),
            text,
            max_tokens: row.output_tokens.filter(|&tokens| tokens > 0),
        }
    }
}

/// One request of a trace.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceRow {
    /// When it is due, from the replay's start.
    pub at: Duration,
    /// Its prompt.
    pub input: TraceInput,
    /// Its output length (`max_tokens`), when recorded.
    pub output_tokens: Option<u32>,
    /// The conversation it is a turn of, when the trace says.
    pub session: Option<String>,
}

/// A trace row's prompt, as compact as the trace gives it.
#[derive(Debug, Clone, PartialEq)]
pub enum TraceInput {
    /// The text itself.
    Text(String),
    /// Mooncake's blocks: the ids of its blocks in order, and its length in tokens.
    Blocks {
        /// The block ids.
        ids: Vec<u64>,
        /// Its tokens (the last block may be partial).
        tokens: u32,
    },
    /// A length only: a prompt of its own is made of that many tokens.
    Length(u32),
}

impl TraceInput {
    /// Its length in tokens (a text's by the word approximation).
    pub fn tokens(&self) -> u32 {
        match self {
            TraceInput::Text(text) => {
                u32::try_from(text.split_whitespace().count()).unwrap_or(u32::MAX)
            }
            TraceInput::Blocks { tokens, .. } | TraceInput::Length(tokens) => *tokens,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A temp file holding `text` (kept while the dir lives).
    pub(crate) fn file(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("a temp dir");
        let path = dir.path().join("trace");
        std::fs::write(&path, text).expect("written");
        (dir, path)
    }

    #[test]
    fn a_mooncake_trace_keeps_times_lengths_and_shared_blocks() {
        let (_dir, path) = file(concat!(
            r#"{"timestamp": 1000, "input_length": 5, "output_length": 3, "hash_ids": [7, 8, 9]}"#,
            "\n",
            r#"{"timestamp": 1250, "input_length": 4, "output_length": 2, "hash_ids": [7, 11]}"#,
            "\n\n",
            r#"{"timestamp": 3000, "input_length": 2, "output_length": 1, "hash_ids": [5]}"#,
            "\n",
        ));
        let rows = Trace::mooncake(&path)
            .block_tokens(2)
            .read()
            .expect("reads");
        assert_eq!(
            rows.schedule().arrivals,
            [0, 250, 2000].map(Duration::from_millis),
            "from the first row's time"
        );
        let (first, second) = (rows.prompt(0), rows.prompt(1));
        assert_eq!((first.input_tokens, first.max_tokens), (5, Some(3)));
        let words = |p: &Prompt| {
            p.text
                .split_whitespace()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        };
        assert_eq!(words(&first).len(), 5, "cut at input_length");
        assert_eq!(words(&first)[..2], words(&second)[..2], "block 7 shared");
        assert_ne!(
            words(&first)[2..4],
            words(&second)[2..4],
            "blocks 8 and 11 differ"
        );
        assert_eq!(rows.prompt(0), rows.prompt(0), "made alike every time");
        assert!(
            rows.info
                .source
                .contains("(Mooncake), 3 requests over 2.0 s"),
            "{}",
            rows.info.source
        );

        let fast = Trace::mooncake(&path)
            .block_tokens(2)
            .speedup(2.0)
            .first(Duration::from_millis(500))
            .read()
            .expect("reads");
        assert_eq!(
            fast.schedule().arrivals,
            [0, 125].map(Duration::from_millis)
        );
        let two = Trace::mooncake(&path)
            .block_tokens(2)
            .first_requests(2)
            .read();
        assert_eq!(two.expect("reads").rows.len(), 2);
    }

    #[test]
    fn burstgpt_and_json_lines_traces_read_their_columns() {
        let (_dir, path) = file(concat!(
            "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n",
            "5,ChatGPT,472,18,490,Conversation log\n",
            "5.5,GPT-4,1087,0,1087,Conversation log\n",
        ));
        let rows = Trace::burstgpt(&path).read().expect("reads");
        assert_eq!(
            rows.schedule().arrivals,
            [0, 500].map(Duration::from_millis)
        );
        let prompt = rows.prompt(1);
        assert_eq!((prompt.input_tokens, prompt.max_tokens), (1087, None));
        assert_eq!(prompt.text.split_whitespace().count(), 1087);
        assert_ne!(rows.prompt(0).text, rows.prompt(1).text);

        let (_dir, path) = file(concat!(
            r#"{"timestamp": 0, "prompt": "hello there", "output_length": 4}"#,
            "\n",
            r#"{"timestamp": 10, "input_length": 6}"#,
            "\n",
        ));
        let rows = Trace::jsonl(&path).read().expect("reads");
        assert_eq!(rows.prompt(0).text, "hello there");
        assert_eq!(rows.prompt(1).input_tokens, 6);
    }

    #[test]
    fn a_bad_row_or_rows_out_of_time_order_name_their_line() {
        let error = |format: fn(PathBuf) -> Trace, text: &str| {
            let (_dir, path) = file(text);
            format(path).read().expect_err("refused").to_string()
        };
        let mooncake = |path: PathBuf| Trace::mooncake(path);
        let late = error(
            mooncake,
            "{\"timestamp\": 5, \"input_length\": 1, \"hash_ids\": [1]}\n\
             {\"timestamp\": 4, \"input_length\": 1, \"hash_ids\": [1]}\n",
        );
        assert!(late.contains(":2: timestamp 4 ms is before"), "{late}");
        let bad = error(mooncake, "{\"timestamp\": 5, \"input_length\": 1}\n");
        assert!(bad.contains(":1: no `hash_ids`"), "{bad}");
        let short = error(
            mooncake,
            "{\"timestamp\": 5, \"input_length\": 1000, \"hash_ids\": [1]}\n",
        );
        assert!(short.contains("cannot hold `input_length` 1000"), "{short}");
        let header = error(Trace::burstgpt, "Time,Tokens\n1,2\n");
        assert!(
            header.contains(":1: the header has no `Timestamp`"),
            "{header}"
        );
        let cell = error(
            Trace::burstgpt,
            "Timestamp,Request tokens,Response tokens\n1,lots,2\n",
        );
        assert!(
            cell.contains(":2: `Request tokens` is not a whole number"),
            "{cell}"
        );
        let empty = error(Trace::jsonl, "\n");
        assert!(empty.contains("holds no prompt"), "{empty}");
        let speed = error(|path| Trace::jsonl(path).speedup(0.0), "{}");
        assert!(
            speed.contains("speedup 0 is not a positive number"),
            "{speed}"
        );
    }
}
