//! The prompts an LLM bench sends, made before any load and counted in tokens: one fixed prompt,
//! synthetic prompts of a seeded length (every one different, so a prefix cache cannot flatter a
//! server, with an optional shared prefix for prefix-cache benches), or a dataset file (ShareGPT
//! JSON or JSON lines). Requests take them in turn.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::prompt::{index_words, Prompt, PromptError, WORDS};
use super::tokens::{TokenCounter, TokenizerError};
use crate::results::PromptsInfo;
use crate::stats::rng::SplitMix64;

/// A length in tokens: fixed, or drawn per prompt from a normal distribution (rounded, at
/// least 1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TokenLength {
    /// Always this many.
    Fixed(u32),
    /// Mean and standard deviation, in tokens.
    Normal {
        /// The mean.
        mean: f64,
        /// The standard deviation.
        sd: f64,
    },
}

impl TokenLength {
    pub(super) fn draw(self, rng: &mut SplitMix64) -> u32 {
        match self {
            TokenLength::Fixed(tokens) => tokens.max(1),
            // `max` first: a NaN (from a NaN mean or sd) becomes 1.
            TokenLength::Normal { mean, sd } => (mean + sd * rng.next_normal())
                .round()
                .max(1.0)
                .min(u32::MAX as f64) as u32,
        }
    }

    pub(super) fn describe(self) -> String {
        match self {
            TokenLength::Fixed(tokens) => tokens.to_string(),
            TokenLength::Normal { mean, sd } => format!("{mean} ± {sd}"),
        }
    }
}

impl From<u32> for TokenLength {
    fn from(tokens: u32) -> Self {
        TokenLength::Fixed(tokens)
    }
}

/// Synthetic prompts: `count` different prompts of `input` tokens (after a shared prefix of
/// `shared_prefix` tokens), each asking for `output` tokens, from `seed`.
///
/// The text is plain English words. Each prompt starts (after the shared prefix) with three
/// words that spell its index, so no two prompts of a set are the same (prompts shorter than
/// three tokens may repeat); after `count` requests the prompts repeat, so make `count` at least
/// the requests a run sends when repeats matter.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticPrompts {
    /// How many different prompts (1000 unless set).
    pub count: usize,
    /// Input tokens of each prompt, after the shared prefix.
    pub input: TokenLength,
    /// Output tokens asked of each (its `max_tokens`); `None`: the endpoint's `max_tokens`.
    pub output: Option<TokenLength>,
    /// Tokens every prompt starts with, identical across prompts (0: none).
    pub shared_prefix: u32,
    /// Seed of the lengths and words: the same seed gives the same prompts.
    pub seed: u64,
}

impl SyntheticPrompts {
    /// 1000 prompts of `input` tokens, seed 0, no shared prefix.
    pub fn new(input: impl Into<TokenLength>) -> Self {
        SyntheticPrompts {
            count: 1000,
            input: input.into(),
            output: None,
            shared_prefix: 0,
            seed: 0,
        }
    }

    /// Input lengths drawn from a normal distribution of `mean` and `sd` tokens.
    pub fn normal(mean: f64, sd: f64) -> Self {
        SyntheticPrompts::new(TokenLength::Normal { mean, sd })
    }

    /// How many different prompts.
    pub fn count(mut self, count: usize) -> Self {
        self.count = count;
        self
    }

    /// Output tokens asked of each prompt.
    pub fn output(mut self, output: impl Into<TokenLength>) -> Self {
        self.output = Some(output.into());
        self
    }

    /// A prefix of `tokens` tokens shared by every prompt.
    pub fn shared_prefix(mut self, tokens: u32) -> Self {
        self.shared_prefix = tokens;
        self
    }

    /// The seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
}

/// Where an LLM bench's prompts come from.
#[derive(Debug, Clone, PartialEq)]
pub enum PromptSource {
    /// The same prompt every request.
    Fixed(String),
    /// Made from a seed.
    Synthetic(SyntheticPrompts),
    /// A dataset file: ShareGPT JSON (a list of `{"conversations": [{"from": "human", "value":
    /// …}, {"from": "gpt", "value": …}]}`: the first human turn is the prompt, the reply's
    /// tokens its output length), or JSON lines (`{"prompt": …}` or `{"text": …}`, optionally
    /// `"output_tokens"`). A `.jsonl` file, or one whose text starts with `{`, is read as JSON
    /// lines.
    File(PathBuf),
    /// A recorded trace, replayed: each request at its recorded time with its recorded lengths
    /// (an open loop of the trace's pace; see [`Trace`](super::trace::Trace)).
    Trace(super::trace::Trace),
}

/// The prompts of one endpoint and what results say about them.
#[derive(Debug, Clone, PartialEq)]
pub struct PromptSet {
    /// In the order requests take them.
    pub prompts: Vec<Prompt>,
    /// Where they came from, how many, their lengths and how those were counted.
    pub info: PromptsInfo,
}

impl PromptSource {
    /// Makes and counts the prompts with `counter`.
    pub fn build(&self, counter: &TokenCounter) -> Result<PromptSet, PromptError> {
        let (prompts, source, skipped) = match self {
            PromptSource::Fixed(text) => {
                let prompt = Prompt {
                    input_tokens: counter.count(text)?,
                    text: text.clone(),
                    max_tokens: None,
                };
                (vec![prompt], "fixed".to_string(), 0)
            }
            PromptSource::Synthetic(spec) => {
                let prompts = synthesize(spec, counter)?;
                let mut source = format!(
                    "synthetic: input {} tokens, seed {}",
                    spec.input.describe(),
                    spec.seed
                );
                if let Some(output) = spec.output {
                    source += &format!(", output {} tokens", output.describe());
                }
                if spec.shared_prefix > 0 {
                    source += &format!(", shared prefix {} tokens", spec.shared_prefix);
                }
                (prompts, source, 0)
            }
            PromptSource::File(path) => {
                let (prompts, format, skipped) = read_file(path, counter)?;
                let source = format!("file: {} ({format})", path.display());
                (prompts, source, skipped)
            }
            // Every row's prompt made now; a replay's transport makes each one as it is sent.
            PromptSource::Trace(trace) => {
                let rows = trace.read()?;
                let prompts = (0..rows.rows.len()).map(|i| rows.prompt(i)).collect();
                return Ok(PromptSet {
                    prompts,
                    info: rows.info,
                });
            }
        };
        let info = summarize(
            &prompts.iter().collect::<Vec<_>>(),
            source,
            skipped,
            counter,
        );
        Ok(PromptSet { prompts, info })
    }
}

/// What results say of `prompts`: where they came from (`source`), how many (and how many
/// entries were `skipped`), their lengths and how those were counted.
pub(super) fn summarize(
    prompts: &[&Prompt],
    source: String,
    skipped: u64,
    counter: &TokenCounter,
) -> PromptsInfo {
    let n = prompts.len().max(1) as f64;
    let asked: Vec<u32> = prompts.iter().filter_map(|p| p.max_tokens).collect();
    PromptsInfo {
        source,
        prompts: prompts.len() as u64,
        skipped,
        input_tokens_mean: prompts.iter().map(|p| p.input_tokens as f64).sum::<f64>() / n,
        input_tokens_min: prompts.iter().map(|p| p.input_tokens).min().unwrap_or(0),
        input_tokens_max: prompts.iter().map(|p| p.input_tokens).max().unwrap_or(0),
        max_tokens_mean: (!asked.is_empty())
            .then(|| asked.iter().map(|&t| t as f64).sum::<f64>() / asked.len() as f64),
        token_counts: counter.describe(),
    }
}

/// Text of `tokens` tokens by `counter`, starting with `head`, then seeded words. With the word
/// approximation the length is exact; with a tokenizer, words are added until the text is long
/// enough and then cut at the token, so it is exact unless cutting changes how the text
/// tokenizes (then within a token or two: each prompt's own count is what results use).
fn text_of(
    counter: &TokenCounter,
    rng: &mut SplitMix64,
    tokens: u32,
    head: &[&str],
) -> Result<String, TokenizerError> {
    let mut words: Vec<&str> = head.iter().copied().take(tokens as usize).collect();
    while words.len() < tokens as usize {
        words.push(WORDS[rng.below(WORDS.len())]);
    }
    let mut text = words.join(" ");
    if !counter.is_exact() {
        return Ok(text);
    }
    let mut counted = counter.count(&text)?;
    // Each pass adds a word per missing token, so the count grows; the cap only guards against
    // a tokenizer whose count does not (what is made is counted again and used as it is).
    for _ in 0..64 {
        if counted >= tokens {
            break;
        }
        for _ in counted..tokens {
            text.push(' ');
            text.push_str(WORDS[rng.below(WORDS.len())]);
        }
        counted = counter.count(&text)?;
    }
    if counted > tokens {
        text = counter.truncate(&text, tokens)?;
    }
    Ok(text)
}

fn synthesize(spec: &SyntheticPrompts, counter: &TokenCounter) -> Result<Vec<Prompt>, PromptError> {
    if spec.count == 0 {
        return Err(PromptError::NoCount);
    }
    let mut rng = SplitMix64(spec.seed);
    let prefix = match spec.shared_prefix {
        0 => String::new(),
        tokens => {
            let mut prefix_rng = SplitMix64(spec.seed ^ 0x7072_6566_6978);
            text_of(counter, &mut prefix_rng, tokens, &[])? + " "
        }
    };
    (0..spec.count)
        .map(|index| {
            let input = spec.input.draw(&mut rng);
            let max_tokens = spec.output.map(|output| output.draw(&mut rng));
            let text = prefix.clone() + &text_of(counter, &mut rng, input, &index_words(index))?;
            Ok(Prompt {
                input_tokens: counter.count(&text)?,
                text,
                max_tokens,
            })
        })
        .collect()
}

/// One ShareGPT conversation (`sessions.rs` reads every human turn of it).
#[derive(Deserialize)]
pub(super) struct ShareGptEntry {
    pub(super) conversations: Vec<ShareGptTurn>,
}

#[derive(Deserialize)]
pub(super) struct ShareGptTurn {
    pub(super) from: String,
    pub(super) value: String,
}

#[derive(Deserialize)]
struct JsonLine {
    #[serde(alias = "text")]
    prompt: String,
    #[serde(default, alias = "max_tokens")]
    output_tokens: Option<u32>,
}

/// The prompts of a dataset file, its format's name, and how many entries had no prompt.
fn read_file(
    path: &Path,
    counter: &TokenCounter,
) -> Result<(Vec<Prompt>, &'static str, u64), PromptError> {
    let text = std::fs::read_to_string(path).map_err(|e| PromptError::Read {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let parse = |line: usize, message: String| PromptError::Parse {
        path: path.to_path_buf(),
        line,
        message,
    };
    let jsonl =
        path.extension().is_some_and(|ext| ext == "jsonl") || text.trim_start().starts_with('{');
    let (prompts, format, skipped) = if jsonl {
        let mut prompts = Vec::new();
        for (at, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let entry: JsonLine = serde_json::from_str(line)
                .map_err(|e| parse(at + 1, format!("column {}: {e}", e.column())))?;
            prompts.push(Prompt {
                input_tokens: counter.count(&entry.prompt)?,
                text: entry.prompt,
                max_tokens: entry.output_tokens,
            });
        }
        (prompts, "JSON lines", 0)
    } else if text.trim_start().starts_with('[') {
        let entries: Vec<ShareGptEntry> = serde_json::from_str(&text).map_err(|e| {
            parse(
                e.line(),
                format!("column {}: {e} (expected ShareGPT JSON)", e.column()),
            )
        })?;
        let mut prompts = Vec::with_capacity(entries.len());
        let mut skipped = 0;
        for entry in entries {
            let turns = &entry.conversations;
            let Some(at) = turns
                .iter()
                .position(|turn| matches!(turn.from.as_str(), "human" | "user"))
            else {
                skipped += 1;
                continue;
            };
            let reply = turns
                .get(at + 1)
                .filter(|turn| matches!(turn.from.as_str(), "gpt" | "assistant" | "chatgpt"));
            let max_tokens = match reply {
                Some(reply) => Some(counter.count(&reply.value)?.max(1)),
                None => None,
            };
            prompts.push(Prompt {
                input_tokens: counter.count(&turns[at].value)?,
                text: turns[at].value.clone(),
                max_tokens,
            });
        }
        (prompts, "ShareGPT", skipped)
    } else {
        return Err(parse(
            1,
            "neither ShareGPT JSON (a list) nor JSON lines (one object per line)".into(),
        ));
    };
    if prompts.is_empty() {
        return Err(PromptError::Empty {
            path: path.to_path_buf(),
            detail: match skipped {
                0 => String::new(),
                n => format!(" ({n} conversation(s) without a human turn)"),
            },
        });
    }
    Ok((prompts, format, skipped))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words() -> TokenCounter {
        TokenCounter::Words
    }

    #[test]
    fn synthetic_prompts_are_seeded_all_different_and_exactly_as_long_as_asked() {
        let spec = SyntheticPrompts::new(40).count(500).output(16).seed(7);
        let set = PromptSource::Synthetic(spec.clone())
            .build(&words())
            .unwrap();
        assert_eq!(set.prompts.len(), 500);
        let mut texts: Vec<&str> = set.prompts.iter().map(|p| p.text.as_str()).collect();
        texts.sort_unstable();
        texts.dedup();
        assert_eq!(texts.len(), 500, "every prompt differs");
        assert!(set.prompts.iter().all(|p| p.input_tokens == 40
            && p.text.split_whitespace().count() == 40
            && p.max_tokens == Some(16)));
        assert_eq!(set.info.input_tokens_mean, 40.0);
        assert_eq!(set.info.max_tokens_mean, Some(16.0));
        assert!(set.info.token_counts.starts_with("approximation"));
        let again = PromptSource::Synthetic(spec).build(&words()).unwrap();
        assert_eq!(again, set, "the same seed gives the same prompts");
        let other = PromptSource::Synthetic(SyntheticPrompts::new(40).count(500).seed(8))
            .build(&words())
            .unwrap();
        assert_ne!(other.prompts[0].text, set.prompts[0].text);
    }

    #[test]
    fn a_shared_prefix_starts_every_prompt_and_the_rest_still_differs() {
        let spec = SyntheticPrompts::new(10)
            .count(50)
            .shared_prefix(32)
            .seed(1);
        let set = PromptSource::Synthetic(spec).build(&words()).unwrap();
        let prefix: Vec<&str> = set.prompts[0].text.split_whitespace().take(32).collect();
        for prompt in &set.prompts {
            let words: Vec<&str> = prompt.text.split_whitespace().collect();
            assert_eq!(words.len(), 42);
            assert_eq!(words[..32], prefix[..]);
        }
        let mut tails: Vec<String> = set
            .prompts
            .iter()
            .map(|p| {
                p.text
                    .split_whitespace()
                    .skip(32)
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        tails.sort();
        tails.dedup();
        assert_eq!(tails.len(), 50);
        assert!(
            set.info.source.contains("shared prefix 32"),
            "{}",
            set.info.source
        );
    }

    #[test]
    fn normal_lengths_scatter_around_their_mean_and_stay_positive() {
        let spec = SyntheticPrompts::normal(100.0, 20.0).count(2000).seed(3);
        let set = PromptSource::Synthetic(spec).build(&words()).unwrap();
        let mean = set.info.input_tokens_mean;
        assert!((95.0..105.0).contains(&mean), "mean {mean}");
        assert!(set.info.input_tokens_min < 70 && set.info.input_tokens_max > 130);
        assert!(set.prompts.iter().all(|p| p.input_tokens >= 1));
    }

    #[cfg(feature = "tokenizer")]
    #[test]
    fn with_a_tokenizer_synthetic_prompts_are_as_long_as_it_counts_them() {
        let (_dir, path) = file("tokenizer.json", super::super::tokens::tests::WORD_LEVEL);
        let counter = TokenCounter::from_file(&path).unwrap();
        let spec = SyntheticPrompts::new(20).count(30).shared_prefix(5).seed(2);
        let set = PromptSource::Synthetic(spec).build(&counter).unwrap();
        assert!(
            set.prompts.iter().all(|p| p.input_tokens == 25),
            "{:?}",
            set.info
        );
        assert!(set.info.token_counts.starts_with("tokenizer: "));
    }

    fn file(name: &str, text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn sharegpt_takes_the_first_human_turn_and_its_reply_length() {
        let (_dir, path) = file(
            "share.json",
            r#"[
              {"id": "a", "conversations": [{"from": "human", "value": "tell me a joke"},
                                            {"from": "gpt", "value": "no jokes here today"}]},
              {"id": "b", "conversations": [{"from": "system", "value": "only a system turn"}]},
              {"id": "c", "conversations": [{"from": "human", "value": "hello"}]}
            ]"#,
        );
        let set = PromptSource::File(path).build(&words()).unwrap();
        assert_eq!(set.prompts.len(), 2);
        assert_eq!(set.prompts[0].text, "tell me a joke");
        assert_eq!(set.prompts[0].input_tokens, 4);
        assert_eq!(set.prompts[0].max_tokens, Some(4));
        assert_eq!(set.prompts[1].max_tokens, None);
        assert_eq!(set.info.skipped, 1);
        assert!(
            set.info.source.ends_with("(ShareGPT)"),
            "{}",
            set.info.source
        );
    }

    #[test]
    fn json_lines_take_prompt_or_text_and_an_optional_output_length() {
        let (_dir, path) = file(
            "prompts.jsonl",
            "{\"prompt\": \"one two three\", \"output_tokens\": 9}\n\n{\"text\": \"four\"}\n",
        );
        let set = PromptSource::File(path).build(&words()).unwrap();
        assert_eq!(set.prompts.len(), 2);
        assert_eq!(
            (set.prompts[0].input_tokens, set.prompts[0].max_tokens),
            (3, Some(9))
        );
        assert_eq!(
            (set.prompts[1].text.as_str(), set.prompts[1].max_tokens),
            ("four", None)
        );
    }

    #[test]
    fn a_bad_dataset_is_an_error_naming_the_file_and_line() {
        let (_dir, path) = file("bad.jsonl", "{\"prompt\": \"fine\"}\n{\"prompt\": 3}\n");
        let error = PromptSource::File(path.clone())
            .build(&words())
            .unwrap_err();
        let message = error.to_string();
        assert!(
            message.starts_with(&format!("{}:2:", path.display())),
            "{message}"
        );

        let (_dir, path) = file(
            "bad.json",
            "[\n {\"conversations\": [{\"from\": \"human\", \"value\": \"x\"}]},\n {\"conversations\": 5}\n]",
        );
        let message = PromptSource::File(path.clone())
            .build(&words())
            .unwrap_err()
            .to_string();
        assert!(
            message.starts_with(&format!("{}:3:", path.display())),
            "{message}"
        );

        let (_dir, path) = file("empty.json", "[]");
        let message = PromptSource::File(path)
            .build(&words())
            .unwrap_err()
            .to_string();
        assert!(message.contains("holds no prompt"), "{message}");

        let message = PromptSource::File("/no/such/prompts.jsonl".into())
            .build(&words())
            .unwrap_err()
            .to_string();
        assert!(message.contains("/no/such/prompts.jsonl"), "{message}");
    }
}
