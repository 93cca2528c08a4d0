//! One prompt ready to send, why prompts could not be made, and the words synthetic prompt
//! text is made of: what every prompt source (`prompts.rs`, `trace.rs`) shares.

use std::path::PathBuf;

use super::tokens::TokenizerError;
use crate::stats::rng::SplitMix64;

/// One prompt, ready to send.
#[derive(Debug, Clone, PartialEq)]
pub struct Prompt {
    /// The text.
    pub text: String,
    /// Its tokens, as the set's counter counts them.
    pub input_tokens: u32,
    /// Its own `max_tokens` (synthetic output lengths, a dataset's reply lengths); `None`: the
    /// endpoint's.
    pub max_tokens: Option<u32>,
}

/// Why the prompts could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PromptError {
    /// The tokenizer could not be loaded or failed.
    #[error(transparent)]
    Tokenizer(#[from] TokenizerError),
    /// The dataset file could not be read.
    #[error("cannot read the prompt file {path}: {message}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What the system said.
        message: String,
    },
    /// The dataset file does not parse.
    #[error("{path}:{line}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The 1-based line where parsing failed.
        line: usize,
        /// What is wrong there.
        message: String,
    },
    /// The file parsed but held no usable prompt.
    #[error("the prompt file {path} holds no prompt{detail}")]
    Empty {
        /// The file.
        path: PathBuf,
        /// Why entries were left out, if any were.
        detail: String,
    },
    /// A synthetic set of no prompts.
    #[error("synthetic prompts: `count` must be at least 1")]
    NoCount,
    /// Sessions that cannot be held as asked.
    #[error("sessions: {0}")]
    Sessions(String),
}

/// Common short English words, each one token in the usual BPE vocabularies (with its
/// leading space), so the word approximation stays close for synthetic text.
pub(crate) const WORDS: [&str; 128] = [
    "the", "of", "and", "to", "in", "is", "you", "that", "it", "he", "was", "for", "on", "are",
    "as", "with", "his", "they", "at", "be", "this", "have", "from", "or", "one", "had", "by",
    "word", "but", "not", "what", "all", "were", "we", "when", "your", "can", "said", "there",
    "use", "an", "each", "which", "she", "do", "how", "their", "if", "will", "up", "other",
    "about", "out", "many", "then", "them", "these", "so", "some", "her", "would", "make", "like",
    "him", "into", "time", "has", "look", "two", "more", "write", "go", "see", "number", "no",
    "way", "could", "people", "my", "than", "first", "water", "been", "call", "who", "its", "now",
    "find", "long", "down", "day", "did", "get", "come", "made", "may", "part", "over", "new",
    "sound", "take", "only", "little", "work", "know", "place", "year", "live", "me", "back",
    "give", "most", "very", "after", "thing", "our", "just", "name", "good", "man", "think", "say",
    "great", "where", "help", "through", "much", "before",
];

/// `count` words drawn from `seed` alone: the same seed, the same words.
pub(crate) fn seeded_words(seed: u64, count: u32) -> Vec<&'static str> {
    let mut rng = SplitMix64(seed ^ 0x0062_6c6f_636b);
    (0..count).map(|_| WORDS[rng.below(WORDS.len())]).collect()
}

/// Words spelling `index` in base 128, three of them: different for every index below 2^21.
pub(crate) fn index_words(index: usize) -> [&'static str; 3] {
    let n = WORDS.len();
    [
        WORDS[index % n],
        WORDS[(index / n) % n],
        WORDS[(index / (n * n)) % n],
    ]
}
