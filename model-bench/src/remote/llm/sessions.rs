//! Multi-turn conversations: what each user of a session bench says, turn by turn, and one
//! conversation as it goes on. A session is an ordered list of user turns; each turn's request
//! carries the conversation so far (earlier user turns and the assistant's replies, as the
//! server streamed them or as the dataset recorded them), so later turns share a growing prefix
//! with earlier ones, as a chat user's do. Sources: synthetic (seeded turn counts and lengths),
//! ShareGPT (every human turn in order) and JSON lines (`session_id` per turn, or aiperf's
//! `multi_turn` lines). Between a reply and the next turn the user thinks (a fixed or a seeded
//! uniform time, or the dataset's own delay).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Deserialize;

use super::prompt::{Prompt, PromptError};
use super::prompts::{summarize, PromptSource, ShareGptEntry, SyntheticPrompts, TokenLength};
use super::tokens::TokenCounter;
use super::trace::{ReplaySchedule, TraceRows};
use crate::results::PromptsInfo;
use crate::stats::rng::SplitMix64;

/// The conversations of a session bench, and how its users pace them.
#[derive(Debug, Clone, PartialEq)]
pub struct Sessions {
    /// Where the conversations come from.
    pub source: SessionSource,
    /// The time between a reply's end and the next turn's send.
    pub think_time: ThinkTime,
    /// Earlier replies as the dataset recorded them (where it has them), not as the server
    /// streamed them.
    pub recorded_replies: bool,
    /// Seed of the think times.
    pub seed: u64,
}

/// Where a session bench's conversations come from.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionSource {
    /// Made from a seed: `prompts.count` conversations of `turns` turns, each turn new text as
    /// `prompts` describes it (its input and output lengths).
    Synthetic {
        /// Turns per conversation.
        turns: TokenLength,
        /// Each turn's new text.
        prompts: SyntheticPrompts,
    },
    /// ShareGPT JSON: each conversation's human turns in order, each reply's length its turn's
    /// `max_tokens`.
    ShareGpt(PathBuf),
    /// JSON lines, one turn a line: `{"session_id": …, "prompt": …}`, optional
    /// `"output_tokens"`, `"reply"` (the recorded answer) and `"delay"` (ms before the turn,
    /// instead of the think time); a session's turns in file order. Or one session a line,
    /// aiperf's `multi_turn` format: `{"session_id": …, "turns": [{"text": …,
    /// "output_length": …, "delay": …}, …]}`.
    Jsonl(PathBuf),
}

/// A user's pause between a reply and their next turn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ThinkTime {
    /// Always this long.
    Fixed(Duration),
    /// Drawn per turn, uniformly between the two, from the sessions' seed.
    Uniform {
        /// The shortest.
        min: Duration,
        /// The longest.
        max: Duration,
    },
}

impl Sessions {
    fn new(source: SessionSource) -> Self {
        Sessions {
            source,
            think_time: ThinkTime::Fixed(Duration::ZERO),
            recorded_replies: false,
            seed: 0,
        }
    }

    /// `prompts.count` synthetic conversations of `turns` turns each (a fixed count, or
    /// [`TokenLength::Normal`] drawn per conversation), each turn's new text as `prompts`
    /// says (its lengths, its seed).
    pub fn synthetic(turns: impl Into<TokenLength>, prompts: SyntheticPrompts) -> Self {
        Sessions::new(SessionSource::Synthetic {
            turns: turns.into(),
            prompts,
        })
    }

    /// ShareGPT JSON conversations, every human turn in order.
    pub fn sharegpt(path: impl Into<PathBuf>) -> Self {
        Sessions::new(SessionSource::ShareGpt(path.into()))
    }

    /// JSON lines, one turn a line, grouped by `session_id`.
    pub fn jsonl(path: impl Into<PathBuf>) -> Self {
        Sessions::new(SessionSource::Jsonl(path.into()))
    }

    /// A fixed pause between a reply and the next turn (none unless set).
    pub fn think_time(mut self, pause: Duration) -> Self {
        self.think_time = ThinkTime::Fixed(pause);
        self
    }

    /// A pause drawn uniformly between `min` and `max` per turn, from [`seed`](Self::seed).
    pub fn think_time_uniform(mut self, min: Duration, max: Duration) -> Self {
        self.think_time = ThinkTime::Uniform { min, max };
        self
    }

    /// Earlier replies as the dataset recorded them, where it has them (ShareGPT, JSON lines
    /// with `reply`), instead of as the server streamed them.
    pub fn recorded_replies(mut self) -> Self {
        self.recorded_replies = true;
        self
    }

    /// The seed of the think times.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Makes and counts the conversations with `counter`.
    pub fn read(&self, counter: &TokenCounter) -> Result<Conversations, PromptError> {
        if let ThinkTime::Uniform { min, max } = self.think_time {
            if min > max {
                return Err(PromptError::Sessions(format!(
                    "think_time_uniform: the shortest pause ({min:?}) is longer than the \
                     longest ({max:?})"
                )));
            }
        }
        let (sessions, source, skipped) = match &self.source {
            SessionSource::Synthetic { turns, prompts } => synthesize(*turns, prompts, counter)?,
            SessionSource::ShareGpt(path) => read_sharegpt(path, counter)?,
            SessionSource::Jsonl(path) => read_jsonl(path, counter)?,
        };
        let turns: Vec<&Prompt> = sessions
            .iter()
            .flat_map(|session| session.turns.iter().map(|turn| &turn.prompt))
            .collect();
        let source = format!(
            "{source}; {} sessions of {:.1} turns on average, think time {}",
            sessions.len(),
            turns.len() as f64 / sessions.len().max(1) as f64,
            self.describe_think_time()
        );
        let info = summarize(&turns, source, skipped, counter);
        Ok(Conversations {
            sessions,
            starts: None,
            info,
            think_time: self.think_time,
            recorded_replies: self.recorded_replies,
            seed: self.seed,
        })
    }

    fn describe_think_time(&self) -> String {
        match self.think_time {
            ThinkTime::Fixed(pause) => format!("{pause:?}"),
            ThinkTime::Uniform { min, max } => format!("{min:?}..{max:?}"),
        }
    }
}

/// One conversation's user turns.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    /// In order.
    pub turns: Vec<Turn>,
}

/// One user turn.
#[derive(Debug, Clone, PartialEq)]
pub struct Turn {
    /// The user's new text (its tokens alone, not the history's) and its `max_tokens`.
    pub prompt: Prompt,
    /// The reply the dataset recorded, when it has one.
    pub reply: Option<String>,
    /// When this turn is due, when the dataset says (instead of the think time).
    pub due: Option<Due>,
}

/// When a conversation's next turn is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// This long after the reply before it ends: a think time, a dataset's `delay`.
    AfterReply(Duration),
    /// This long after the conversation's first turn was due (a trace's timestamps), but
    /// never before the reply before it ended: a user does not send before the answer came.
    FromStart(Duration),
}

impl Due {
    /// The instant the turn is due, given when the reply before it ended and when the
    /// conversation's first turn was due.
    pub fn at(self, reply_end: Instant, first_due: Instant) -> Instant {
        match self {
            Due::AfterReply(pause) => reply_end + pause,
            Due::FromStart(offset) => (first_due + offset).max(reply_end),
        }
    }
}

/// The conversations, ready to hold, and what results say of them.
#[derive(Debug, Clone, PartialEq)]
pub struct Conversations {
    /// Users take them in turn.
    pub sessions: Vec<Session>,
    /// A trace's conversations: when each starts (its first turn is due), from the replay's
    /// start, in order, and when its last turn is.
    pub starts: Option<ReplaySchedule>,
    /// Where they came from, how many turns, their new text's lengths.
    pub info: PromptsInfo,
    think_time: ThinkTime,
    recorded_replies: bool,
    seed: u64,
}

/// One message of a conversation's history.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// The assistant's (else the user's).
    pub assistant: bool,
    /// What was said.
    pub text: String,
}

/// One conversation as it goes on: which one, the turn next sent, and what was said so far.
#[derive(Debug, Clone, PartialEq)]
pub struct Dialogue {
    session: usize,
    turn: usize,
    history: Vec<Message>,
    /// The history's tokens, as the client counts them.
    history_tokens: u32,
    /// After a reply, when the next turn is due (taken by the load loop).
    pause: Option<Due>,
    /// The next turn's request body, built in the pause before it (by the transport).
    prepared: Option<Vec<u8>>,
}

impl Dialogue {
    /// The turn next sent, from 0.
    pub fn turn(&self) -> usize {
        self.turn
    }

    /// What was said so far, in order.
    pub fn history(&self) -> &[Message] {
        &self.history
    }

    /// When the next turn is due, once (a reply came and the conversation goes on).
    pub fn take_pause(&mut self) -> Option<Due> {
        self.pause.take()
    }

    /// Keeps the next turn's request body, built ahead of its send.
    pub fn prepare(&mut self, body: Vec<u8>) {
        self.prepared = Some(body);
    }

    /// The next turn's request body, when it was built ahead; once.
    pub fn take_prepared(&mut self) -> Option<Vec<u8>> {
        self.prepared.take()
    }

    /// Whether the next turn's body was built ahead.
    pub fn is_prepared(&self) -> bool {
        self.prepared.is_some()
    }
}

impl Conversations {
    /// A trace's rows as conversations: the rows that share a `session_id` are one
    /// conversation's turns in order (a row without one, a conversation of one turn), each
    /// conversation starting at its first row's time and each later turn due at its own,
    /// counted from the first's ([`Due::FromStart`]); replies as the server streams them.
    /// Turns are made now, before the run.
    pub fn from_trace(trace: TraceRows) -> Self {
        let mut sessions: Vec<Session> = Vec::new();
        let mut starts = Vec::new();
        let mut by_id: HashMap<&str, usize> = HashMap::new();
        for (index, row) in trace.rows.iter().enumerate() {
            let known = row.session.as_deref().and_then(|id| by_id.get(id).copied());
            let due = known.map(|session| Due::FromStart(row.at.saturating_sub(starts[session])));
            let turn = Turn {
                prompt: trace.prompt(index),
                reply: None,
                due,
            };
            match known {
                Some(session) => sessions[session].turns.push(turn),
                None => {
                    if let Some(id) = row.session.as_deref() {
                        by_id.insert(id, sessions.len());
                    }
                    sessions.push(Session { turns: vec![turn] });
                    starts.push(row.at);
                }
            }
        }
        let mut info = trace.info.clone();
        info.source += &format!(", {} conversations", sessions.len());
        let schedule = ReplaySchedule {
            arrivals: starts,
            last_due: trace.schedule().last_due,
        };
        Conversations {
            sessions,
            starts: Some(schedule),
            info,
            think_time: ThinkTime::Fixed(Duration::ZERO),
            recorded_replies: false,
            seed: 0,
        }
    }

    /// Conversation `index` (modulo their number), from its first turn.
    pub fn start(&self, index: usize) -> Dialogue {
        Dialogue {
            session: index % self.sessions.len().max(1),
            turn: 0,
            history: Vec::new(),
            history_tokens: 0,
            pause: None,
            prepared: None,
        }
    }

    /// The user turn `dialogue` sends next, and the tokens of its whole prompt (history
    /// included) as the client counts them; `None` once the conversation is over.
    pub fn next_turn(&self, dialogue: &Dialogue) -> Option<(&Turn, u32)> {
        let turn = self
            .sessions
            .get(dialogue.session)?
            .turns
            .get(dialogue.turn)?;
        Some((
            turn,
            dialogue
                .history_tokens
                .saturating_add(turn.prompt.input_tokens),
        ))
    }

    /// The reply to `dialogue`'s turn came (`streamed`: its answer text): the turn and the
    /// reply join the history, and `true` when another turn follows (its pause is then due,
    /// [`Dialogue::take_pause`]).
    pub fn answered(
        &self,
        dialogue: &mut Dialogue,
        streamed: String,
        counter: &TokenCounter,
    ) -> bool {
        let Some((turn, _)) = self.next_turn(dialogue) else {
            return false;
        };
        let reply = match (&turn.reply, self.recorded_replies) {
            (Some(recorded), true) => recorded.clone(),
            _ => streamed,
        };
        // Counting the reply can only fail with a tokenizer that failed on the prompts
        // already; the word count is the fallback.
        let reply_tokens = counter
            .count(&reply)
            .unwrap_or_else(|_| u32::try_from(reply.split_whitespace().count()).unwrap_or(0));
        dialogue.history_tokens = dialogue
            .history_tokens
            .saturating_add(turn.prompt.input_tokens)
            .saturating_add(reply_tokens);
        dialogue.history.push(Message {
            assistant: false,
            text: turn.prompt.text.clone(),
        });
        dialogue.history.push(Message {
            assistant: true,
            text: reply,
        });
        dialogue.turn += 1;
        dialogue.prepared = None;
        let next = self.next_turn(dialogue).map(|(next, _)| next.due);
        dialogue.pause = next.map(|own| {
            own.unwrap_or_else(|| Due::AfterReply(self.pause(dialogue.session, dialogue.turn)))
        });
        next.is_some()
    }

    /// The pause before turn `turn` of conversation `session`: the same every time.
    fn pause(&self, session: usize, turn: usize) -> Duration {
        match self.think_time {
            ThinkTime::Fixed(pause) => pause,
            ThinkTime::Uniform { min, max } => {
                let mut rng = SplitMix64(
                    self.seed
                        ^ (session as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
                        ^ (turn as u64).wrapping_mul(0xC2B2_AE3D_27D4_EB4F),
                );
                min + (max - min).mul_f64(rng.next_open01())
            }
        }
    }
}

/// Synthetic conversations, the sessions' description and no skipped entry.
fn synthesize(
    turns: TokenLength,
    prompts: &SyntheticPrompts,
    counter: &TokenCounter,
) -> Result<(Vec<Session>, String, u64), PromptError> {
    if prompts.count == 0 {
        return Err(PromptError::NoCount);
    }
    let mut rng = SplitMix64(prompts.seed ^ 0x0074_7572_6e73);
    let counts: Vec<usize> = (0..prompts.count)
        .map(|_| turns.draw(&mut rng) as usize)
        .collect();
    let total: usize = counts.iter().sum();
    // One synthetic prompt per turn: each starts with words spelling its own index, so no
    // two turns of any conversation are the same text.
    let spec = prompts.clone().count(total);
    let set = PromptSource::Synthetic(spec).build(counter)?;
    let mut made = set.prompts.into_iter();
    let sessions = counts
        .iter()
        .map(|&n| Session {
            turns: made
                .by_ref()
                .take(n)
                .map(|prompt| Turn {
                    prompt,
                    reply: None,
                    due: None,
                })
                .collect(),
        })
        .collect();
    let source = format!(
        "synthetic sessions: {} turns each, {}",
        turns.describe(),
        set.info.source.trim_start_matches("synthetic: ")
    );
    Ok((sessions, source, 0))
}

fn read_text(path: &Path) -> Result<String, PromptError> {
    std::fs::read_to_string(path).map_err(|e| PromptError::Read {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// ShareGPT conversations: every human turn, the reply after it recorded; conversations
/// without a human turn are skipped and counted.
fn read_sharegpt(
    path: &Path,
    counter: &TokenCounter,
) -> Result<(Vec<Session>, String, u64), PromptError> {
    let text = read_text(path)?;
    let entries: Vec<ShareGptEntry> =
        serde_json::from_str(&text).map_err(|e| PromptError::Parse {
            path: path.to_path_buf(),
            line: e.line(),
            message: format!("column {}: {e} (expected ShareGPT JSON)", e.column()),
        })?;
    let mut sessions = Vec::new();
    let mut skipped = 0;
    for entry in &entries {
        let mut turns = Vec::new();
        let said = &entry.conversations;
        for (at, message) in said.iter().enumerate() {
            if !matches!(message.from.as_str(), "human" | "user") {
                continue;
            }
            let reply = said
                .get(at + 1)
                .filter(|next| matches!(next.from.as_str(), "gpt" | "assistant" | "chatgpt"))
                .map(|next| next.value.clone());
            let max_tokens = match &reply {
                Some(reply) => Some(counter.count(reply)?.max(1)),
                None => None,
            };
            turns.push(Turn {
                prompt: Prompt {
                    input_tokens: counter.count(&message.value)?,
                    text: message.value.clone(),
                    max_tokens,
                },
                reply,
                due: None,
            });
        }
        if turns.is_empty() {
            skipped += 1;
        } else {
            sessions.push(Session { turns });
        }
    }
    if sessions.is_empty() {
        return Err(PromptError::Empty {
            path: path.to_path_buf(),
            detail: format!(" ({skipped} conversation(s) without a human turn)"),
        });
    }
    let source = format!("ShareGPT sessions: {}", path.display());
    Ok((sessions, source, skipped))
}

/// One turn of a JSON-lines file: a line of its own (with `session_id`) or one of a session
/// line's `turns` (aiperf's `multi_turn` format).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonTurn {
    #[serde(default)]
    session_id: Option<serde_json::Value>,
    #[serde(alias = "text")]
    prompt: String,
    #[serde(default, alias = "max_tokens", alias = "output_length")]
    output_tokens: Option<u32>,
    #[serde(default)]
    reply: Option<String>,
    /// Milliseconds to wait before this turn (aiperf's `delay`): the think time before it.
    #[serde(default)]
    delay: Option<f64>,
}

/// A whole session on one line: `{"session_id": …, "turns": [turn, …]}` (aiperf's
/// `multi_turn` custom dataset, text turns).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonSession {
    #[serde(default)]
    session_id: Option<serde_json::Value>,
    turns: Vec<JsonTurn>,
    /// aiperf's `"type": "multi_turn"`, when written.
    #[serde(default, rename = "type")]
    _kind: Option<String>,
}

/// JSON-lines sessions: one turn a line, grouped by `session_id` in the order sessions first
/// appear, or one session a line with its `turns`.
fn read_jsonl(
    path: &Path,
    counter: &TokenCounter,
) -> Result<(Vec<Session>, String, u64), PromptError> {
    let text = read_text(path)?;
    let parse = |line: usize, message: String| PromptError::Parse {
        path: path.to_path_buf(),
        line,
        message,
    };
    let mut sessions: Vec<Session> = Vec::new();
    let mut by_id: HashMap<String, usize> = HashMap::new();
    for (at, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let bad = |e: serde_json::Error| parse(at + 1, format!("column {}: {e}", e.column()));
        let value: serde_json::Value = serde_json::from_str(line).map_err(bad)?;
        let (id, rows) = if value.get("turns").is_some() {
            let session: JsonSession = serde_json::from_value(value).map_err(bad)?;
            if session.turns.is_empty() {
                return Err(parse(at + 1, "a session of no turn".into()));
            }
            (session.session_id, session.turns)
        } else {
            let row: JsonTurn = serde_json::from_value(value).map_err(bad)?;
            let Some(id) = row.session_id.clone() else {
                return Err(parse(
                    at + 1,
                    "a turn without `session_id` (or a session without `turns`)".into(),
                ));
            };
            (Some(id), vec![row])
        };
        let id = match id {
            None => None,
            Some(serde_json::Value::String(id)) => Some(id),
            Some(serde_json::Value::Number(id)) => Some(id.to_string()),
            Some(other) => {
                return Err(parse(
                    at + 1,
                    format!("`session_id` is {other}, not a string or a number"),
                ))
            }
        };
        // A line without an id is a session of its own; an id seen before adds to its session.
        let mut open_session = || {
            sessions.push(Session { turns: Vec::new() });
            sessions.len() - 1
        };
        let index = match id {
            Some(id) => *by_id.entry(id).or_insert_with(open_session),
            None => open_session(),
        };
        for row in rows {
            if row.prompt.trim().is_empty() {
                return Err(parse(at + 1, "an empty prompt".into()));
            }
            let pause = match row.delay {
                None => None,
                Some(ms) if ms.is_finite() && ms >= 0.0 => Some(Duration::from_secs_f64(ms / 1e3)),
                Some(ms) => return Err(parse(at + 1, format!("`delay` {ms} is not a time in ms"))),
            };
            sessions[index].turns.push(Turn {
                prompt: Prompt {
                    input_tokens: counter.count(&row.prompt)?,
                    text: row.prompt,
                    max_tokens: row.output_tokens,
                },
                reply: row.reply,
                due: pause.map(Due::AfterReply),
            });
        }
    }
    if sessions.is_empty() {
        return Err(PromptError::Empty {
            path: path.to_path_buf(),
            detail: String::new(),
        });
    }
    let source = format!("JSON-lines sessions: {}", path.display());
    Ok((sessions, source, 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words() -> TokenCounter {
        TokenCounter::Words
    }

    #[test]
    fn trace_rows_that_share_a_session_id_are_one_conversation_due_from_its_start() {
        use crate::remote::llm::trace::tests::file;
        use crate::remote::llm::Trace;
        let (_dir, path) = file(concat!(
            r#"{"timestamp": 100, "session_id": "a", "prompt": "one two"}"#,
            "\n",
            r#"{"timestamp": 110, "session_id": 7, "input_length": 3}"#,
            "\n",
            r#"{"timestamp": 150, "input_length": 2}"#,
            "\n",
            r#"{"timestamp": 400, "session_id": "a", "prompt": "three", "output_length": 5}"#,
            "\n",
            r#"{"timestamp": 420, "session_id": 7, "input_length": 1}"#,
            "\n",
        ));
        let rows = Trace::jsonl(&path).speedup(2.0).read().expect("reads");
        assert!(rows.has_sessions());
        let made = Conversations::from_trace(rows);
        let starts = made.starts.clone().expect("a trace's");
        assert_eq!(
            starts.arrivals,
            [0, 5, 25].map(Duration::from_millis),
            "each conversation starts at its first row"
        );
        assert_eq!(starts.last_due, Duration::from_millis(160), "its last turn");
        let turns: Vec<Vec<(String, Option<Due>)>> = made
            .sessions
            .iter()
            .map(|session| {
                let turn = |turn: &Turn| (turn.prompt.text.clone(), turn.due);
                session.turns.iter().map(turn).collect()
            })
            .collect();
        assert_eq!(turns.len(), 3);
        assert_eq!(turns[0][0], ("one two".into(), None));
        assert_eq!(
            turns[0][1],
            (
                "three".into(),
                Some(Due::FromStart(Duration::from_millis(150)))
            ),
            "300 ms after its first turn, twice as fast"
        );
        assert_eq!(made.sessions[0].turns[1].prompt.max_tokens, Some(5));
        assert_eq!(turns[1].len(), 2, "a number is an id too");
        assert_eq!(
            turns[1][1].1,
            Some(Due::FromStart(Duration::from_millis(155)))
        );
        assert_eq!(
            turns[2].len(),
            1,
            "a row without an id is a conversation of its own"
        );
        assert!(
            made.info.source.contains("3 conversations"),
            "{}",
            made.info.source
        );

        let (_dir, path) = file("{\"timestamp\": 0, \"prompt\": \"x\", \"session_id\": [1]}\n");
        let error = Trace::jsonl(&path).read().expect_err("refused").to_string();
        assert!(error.contains(":1: `session_id` is [1]"), "{error}");
        // A trace without ids stays a trace of single requests.
        let (_dir, path) = file("{\"timestamp\": 0, \"prompt\": \"x\"}\n");
        assert!(!Trace::jsonl(&path).read().expect("reads").has_sessions());
    }

    #[test]
    fn synthetic_sessions_have_their_turns_each_new_text_of_its_length() {
        let sessions = Sessions::synthetic(3, SyntheticPrompts::new(8).output(4).count(5).seed(2))
            .think_time(Duration::from_millis(20));
        let made = sessions.read(&words()).unwrap();
        assert_eq!(made.sessions.len(), 5);
        assert!(made.sessions.iter().all(|s| s.turns.len() == 3));
        let mut texts: Vec<&str> = made
            .sessions
            .iter()
            .flat_map(|s| s.turns.iter().map(|t| t.prompt.text.as_str()))
            .collect();
        assert!(made.sessions[0]
            .turns
            .iter()
            .all(|t| t.prompt.input_tokens == 8 && t.prompt.max_tokens == Some(4)));
        texts.sort_unstable();
        texts.dedup();
        assert_eq!(texts.len(), 15, "no two turns alike");
        assert_eq!(made.info.prompts, 15);
        assert!(
            made.info.source.contains("5 sessions"),
            "{}",
            made.info.source
        );
        assert_eq!(made, sessions.read(&words()).unwrap(), "seeded");
    }

    #[test]
    fn a_dialogue_carries_its_history_and_pauses_between_turns() {
        let made = Sessions::synthetic(2, SyntheticPrompts::new(4).count(1))
            .think_time(Duration::from_millis(30))
            .read(&words())
            .unwrap();
        let mut dialogue = made.start(7);
        let (first, tokens) = made.next_turn(&dialogue).unwrap();
        assert_eq!((tokens, dialogue.turn()), (4, 0));
        let first_text = first.prompt.text.clone();
        assert!(made.answered(&mut dialogue, "t0 t1 t2".into(), &words()));
        assert_eq!(
            dialogue.take_pause(),
            Some(Due::AfterReply(Duration::from_millis(30)))
        );
        assert_eq!(dialogue.take_pause(), None, "taken once");
        let (_, tokens) = made.next_turn(&dialogue).unwrap();
        assert_eq!(tokens, 4 + 3 + 4, "the history's tokens and the new turn's");
        assert_eq!(dialogue.history()[0].text, first_text);
        assert_eq!(
            dialogue.history()[1],
            Message {
                assistant: true,
                text: "t0 t1 t2".into()
            }
        );
        // A body built ahead belongs to the turn it was built for, never the one after.
        dialogue.prepare(b"turn 2".to_vec());
        assert!(dialogue.is_prepared());
        assert!(!made.answered(&mut dialogue, "done".into(), &words()));
        assert!(!dialogue.is_prepared());
        assert!(made.next_turn(&dialogue).is_none());
        assert_eq!(dialogue.take_pause(), None);
    }

    #[test]
    fn uniform_think_times_are_seeded_and_within_bounds() {
        let (min, max) = (Duration::from_millis(10), Duration::from_millis(50));
        let made = Sessions::synthetic(20, SyntheticPrompts::new(2).count(3))
            .think_time_uniform(min, max)
            .seed(9)
            .read(&words())
            .unwrap();
        let pauses: Vec<Duration> = (0..3)
            .flat_map(|s| (1..20).map(move |t| (s, t)))
            .map(|(s, t)| made.pause(s, t))
            .collect();
        assert!(pauses.iter().all(|p| (min..=max).contains(p)));
        assert!(pauses.windows(2).any(|w| w[0] != w[1]), "drawn, not fixed");
        assert_eq!(made.pause(1, 3), made.pause(1, 3));
        let backwards = Sessions::synthetic(2, SyntheticPrompts::new(2))
            .think_time_uniform(max, min)
            .read(&words())
            .unwrap_err();
        assert!(backwards.to_string().contains("longer than"), "{backwards}");
    }

    #[test]
    fn sharegpt_sessions_keep_every_human_turn_and_skip_conversations_without_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("chats.json");
        std::fs::write(
            &path,
            r#"[{"conversations": [
                  {"from": "human", "value": "one two"}, {"from": "gpt", "value": "a b c"},
                  {"from": "human", "value": "three"}, {"from": "gpt", "value": "d"}]},
                {"conversations": [{"from": "gpt", "value": "alone"}]}]"#,
        )
        .unwrap();
        let made = Sessions::sharegpt(&path)
            .recorded_replies()
            .read(&words())
            .unwrap();
        assert_eq!(made.sessions.len(), 1);
        assert_eq!(made.info.skipped, 1);
        let turns = &made.sessions[0].turns;
        assert_eq!(turns.len(), 2);
        assert_eq!(turns[1].prompt.text, "three");
        assert_eq!(turns[0].prompt.max_tokens, Some(3));
        // Recorded replies go into the history, whatever the server streamed.
        let mut dialogue = made.start(0);
        assert!(made.answered(&mut dialogue, "streamed".into(), &words()));
        assert_eq!(dialogue.history()[1].text, "a b c");
        assert_eq!(made.next_turn(&dialogue).unwrap().1, 2 + 3 + 1);

        std::fs::write(
            &path,
            r#"[{"conversations": [{"from": "gpt", "value": "x"}]}]"#,
        )
        .unwrap();
        let none = Sessions::sharegpt(&path).read(&words()).unwrap_err();
        assert!(none.to_string().contains("without a human turn"), "{none}");
    }

    #[test]
    fn jsonl_sessions_group_turns_by_id_and_bad_lines_name_their_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sessions.jsonl");
        std::fs::write(
            &path,
            "{\"session_id\": \"a\", \"prompt\": \"hi there\"}\n\
             {\"session_id\": 2, \"prompt\": \"other\", \"output_tokens\": 5}\n\
             \n\
             {\"session_id\": \"a\", \"prompt\": \"and then\", \"reply\": \"ok\"}\n",
        )
        .unwrap();
        let made = Sessions::jsonl(&path).read(&words()).unwrap();
        assert_eq!(made.sessions.len(), 2);
        assert_eq!(made.sessions[0].turns.len(), 2);
        assert_eq!(made.sessions[0].turns[1].reply.as_deref(), Some("ok"));
        assert_eq!(made.sessions[1].turns[0].prompt.max_tokens, Some(5));

        // aiperf's multi_turn lines: a session a line, its own delays.
        std::fs::write(
            &path,
            concat!(
                r#"{"session_id": "s", "turns": [{"text": "one two", "output_length": 3}, "#,
                r#"{"text": "three", "delay": 250}]}"#,
                "\n",
                r#"{"type": "multi_turn", "turns": [{"text": "alone"}]}"#,
                "\n",
            ),
        )
        .unwrap();
        let made = Sessions::jsonl(&path)
            .think_time(Duration::from_secs(9))
            .read(&words())
            .unwrap();
        assert_eq!(made.sessions.len(), 2);
        assert_eq!(made.sessions[0].turns[0].prompt.max_tokens, Some(3));
        let mut dialogue = made.start(0);
        assert!(made.answered(&mut dialogue, "x".into(), &words()));
        assert_eq!(
            dialogue.take_pause(),
            Some(Due::AfterReply(Duration::from_millis(250))),
            "its own delay"
        );

        for (text, wanted) in [
            (
                "{\"session_id\": \"a\", \"prompt\": \"\"}\n",
                ":1: an empty prompt",
            ),
            (
                "{\"session_id\": \"a\", \"prompt\": \"x\"}\n{\"prompt\": \"y\"}\n",
                ":2: a turn without",
            ),
            (
                "{\"session_id\": [1], \"prompt\": \"x\"}\n",
                "not a string or a number",
            ),
            ("\n", "holds no prompt"),
            (
                r#"{"session_id": "a", "turns": []}"#,
                ":1: a session of no turn",
            ),
            (r#"{"turns": [{"text": "x", "image": "y"}]}"#, ":1: column"),
            (
                r#"{"session_id": 1, "prompt": "x", "delay": -1}"#,
                "not a time",
            ),
        ] {
            std::fs::write(&path, text).unwrap();
            let error = Sessions::jsonl(&path)
                .read(&words())
                .unwrap_err()
                .to_string();
            assert!(error.contains(wanted), "{text:?}: {error}");
        }
    }
}
