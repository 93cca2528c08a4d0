//! Counting tokens of text: a Hugging Face `tokenizer.json` read from disk (feature
//! `tokenizer`, no hub download), or, without one, a stated approximation — one token per
//! whitespace-separated word — that every report names, so no figure passes for exact when it
//! is not.

use std::path::{Path, PathBuf};

/// What a token count is measured with.
pub enum TokenCounter {
    /// One token per whitespace-separated word: close for the plain English words synthetic
    /// prompts are made of (each a single token in common BPE vocabularies), rough for other text.
    Words,
    /// The model's own tokenizer, from a `tokenizer.json`.
    #[cfg(feature = "tokenizer")]
    Tokenizer {
        /// The file it was read from.
        path: PathBuf,
        /// The loaded tokenizer.
        tokenizer: Box<tokenizers::Tokenizer>,
    },
}

/// Why a tokenizer could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TokenizerError {
    /// The file is missing or is not a `tokenizer.json` the `tokenizers` crate reads.
    #[error("cannot load the tokenizer {path}: {message}")]
    Load {
        /// The file named.
        path: PathBuf,
        /// What the loader said.
        message: String,
    },
    /// Built without the `tokenizer` feature.
    #[error(
        "the tokenizer {path} needs model-bench's `tokenizer` feature (build with \
         `features = [\"tokenizer\"]`); without one, token counts are approximated as one per word"
    )]
    NotBuilt {
        /// The file named.
        path: PathBuf,
    },
    /// The tokenizer failed on a text.
    #[error("the tokenizer {path} failed: {message}")]
    Encode {
        /// The tokenizer's file.
        path: PathBuf,
        /// What it said.
        message: String,
    },
}

/// How results name the approximation.
pub const WORDS_APPROXIMATION: &str = "approximation: one token per whitespace-separated word";

impl TokenCounter {
    /// The tokenizer in `path` (a `tokenizer.json`).
    pub fn from_file(path: &Path) -> Result<TokenCounter, TokenizerError> {
        #[cfg(feature = "tokenizer")]
        {
            let load = |e: tokenizers::Error| TokenizerError::Load {
                path: path.to_path_buf(),
                message: e.to_string(),
            };
            let mut tokenizer = tokenizers::Tokenizer::from_file(path).map_err(load)?;
            // A file may carry truncation or padding for training; counts need neither (with
            // them, every count would be capped or padded to one length).
            tokenizer.with_truncation(None).map_err(load)?;
            tokenizer.with_padding(None);
            Ok(TokenCounter::Tokenizer {
                path: path.to_path_buf(),
                tokenizer: Box::new(tokenizer),
            })
        }
        #[cfg(not(feature = "tokenizer"))]
        {
            Err(TokenizerError::NotBuilt {
                path: path.to_path_buf(),
            })
        }
    }

    /// How results name this counter: `tokenizer: <file>` or the approximation.
    pub fn describe(&self) -> String {
        match self {
            TokenCounter::Words => WORDS_APPROXIMATION.to_string(),
            #[cfg(feature = "tokenizer")]
            TokenCounter::Tokenizer { path, .. } => format!("tokenizer: {}", path.display()),
        }
    }

    /// Whether counts are the model's own (a tokenizer) rather than the approximation.
    pub fn is_exact(&self) -> bool {
        !matches!(self, TokenCounter::Words)
    }

    /// The tokens of `text`, without the special tokens a model adds around a whole input.
    pub fn count(&self, text: &str) -> Result<u32, TokenizerError> {
        match self {
            TokenCounter::Words => Ok(text.split_whitespace().count() as u32),
            #[cfg(feature = "tokenizer")]
            TokenCounter::Tokenizer { .. } => Ok(self.ids(text)?.len() as u32),
        }
    }

    /// `text` cut to its first `tokens` tokens (all of it when shorter).
    pub fn truncate(&self, text: &str, tokens: u32) -> Result<String, TokenizerError> {
        match self {
            TokenCounter::Words => Ok(text
                .split_whitespace()
                .take(tokens as usize)
                .collect::<Vec<_>>()
                .join(" ")),
            #[cfg(feature = "tokenizer")]
            TokenCounter::Tokenizer { path, tokenizer } => {
                let ids = self.ids(text)?;
                if ids.len() <= tokens as usize {
                    return Ok(text.to_string());
                }
                tokenizer
                    .decode(&ids[..tokens as usize], true)
                    .map_err(|e| TokenizerError::Encode {
                        path: path.clone(),
                        message: e.to_string(),
                    })
            }
        }
    }

    #[cfg(feature = "tokenizer")]
    fn ids(&self, text: &str) -> Result<Vec<u32>, TokenizerError> {
        match self {
            TokenCounter::Words => Ok(Vec::new()),
            TokenCounter::Tokenizer { path, tokenizer } => tokenizer
                .encode_fast(text, false)
                .map(|encoding| encoding.get_ids().to_vec())
                .map_err(|e| TokenizerError::Encode {
                    path: path.clone(),
                    message: e.to_string(),
                }),
        }
    }
}

impl std::fmt::Debug for TokenCounter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn the_approximation_counts_and_cuts_words_and_says_what_it_is() {
        let words = TokenCounter::Words;
        assert_eq!(words.count("  the quick\tbrown\nfox ").unwrap(), 4);
        assert_eq!(
            words.truncate("the quick brown fox", 2).unwrap(),
            "the quick"
        );
        assert!(!words.is_exact());
        assert_eq!(words.describe(), WORDS_APPROXIMATION);
    }

    /// A word-level tokenizer that splits words from punctuation (`\w+|[^\w\s]+`), every
    /// piece one token: small enough to write by hand, read through the same `from_file`.
    pub(crate) const WORD_LEVEL: &str = r#"{"version": "1.0", "truncation": null, "padding": null,
        "added_tokens": [], "normalizer": null, "pre_tokenizer": {"type": "Whitespace"},
        "post_processor": null, "decoder": null,
        "model": {"type": "WordLevel", "vocab": {"[UNK]": 0, "hello": 1, "world": 2},
                  "unk_token": "[UNK]"}}"#;

    #[cfg(feature = "tokenizer")]
    #[test]
    fn a_tokenizer_file_counts_and_cuts_by_its_own_tokens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokenizer.json");
        std::fs::write(&path, WORD_LEVEL).unwrap();
        let counter = TokenCounter::from_file(&path).unwrap();
        assert!(counter.is_exact());
        assert_eq!(counter.describe(), format!("tokenizer: {}", path.display()));
        // Punctuation is a token of its own here, unlike in the word approximation.
        assert_eq!(counter.count("hello, world!").unwrap(), 4);
        assert_eq!(TokenCounter::Words.count("hello, world!").unwrap(), 2);
        assert_eq!(
            counter.truncate("hello world hello world", 3).unwrap(),
            "hello world hello"
        );
        assert_eq!(counter.truncate("hello", 3).unwrap(), "hello");

        // Truncation and padding a file carries for training do not cap or pad the counts.
        let truncating = WORD_LEVEL.replace(
            r#""truncation": null, "padding": null"#,
            r#""truncation": {"direction": "Right", "max_length": 2, "strategy": "LongestFirst",
                              "stride": 0},
               "padding": {"strategy": {"Fixed": 8}, "direction": "Right",
                           "pad_to_multiple_of": null, "pad_id": 0, "pad_type_id": 0,
                           "pad_token": "[UNK]"}"#,
        );
        std::fs::write(&path, truncating).unwrap();
        let counter = TokenCounter::from_file(&path).unwrap();
        assert_eq!(counter.count("hello world hello").unwrap(), 3);

        std::fs::write(&path, "{\"not\": \"a tokenizer\"}").unwrap();
        let error = TokenCounter::from_file(&path).unwrap_err().to_string();
        assert!(
            error.starts_with(&format!("cannot load the tokenizer {}", path.display())),
            "{error}"
        );
    }

    #[test]
    fn a_missing_tokenizer_file_is_an_error_naming_it() {
        let error = TokenCounter::from_file(Path::new("/no/such/tokenizer.json")).unwrap_err();
        assert!(
            error.to_string().contains("/no/such/tokenizer.json"),
            "{error}"
        );
    }
}
