//! What an OpenAI-compatible streaming request asks for, encoded once per prompt into its JSON
//! body before any load: the prompts, the output length, sampling settings and any extra fields
//! a server takes, with `stream: true` and usage requested; and the SLOs its streams are judged
//! against.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{json, Map, Value};

use super::prompt::Prompt;
use super::prompts::PromptSource;
use super::sessions::{Message, Sessions};
use crate::results::Slo;

/// What each request of an OpenAI-compatible endpoint asks for, set through
/// [`OpenAiEndpoint`](crate::remote::OpenAiEndpoint)'s options.
#[derive(Debug, Clone, PartialEq)]
pub struct LlmRequest {
    /// The prompts: each the user message of a chat request, the `prompt` of a completions
    /// request; requests take them in turn.
    pub prompts: PromptSource,
    /// A `tokenizer.json` to count tokens with (prompts, and output of streams without a usage
    /// chunk); `None`: the word approximation for prompts, text events for output.
    pub tokenizer: Option<PathBuf>,
    /// `max_tokens` of prompts without their own: the most output tokens; `None` leaves it to
    /// the server.
    pub max_tokens: Option<u32>,
    /// `min_tokens` and `ignore_eos: true`, sent only when set: a fixed output length on
    /// servers that take them (vLLM, SGLang); others may refuse unknown fields.
    pub fixed_output: bool,
    /// `temperature`, when set.
    pub temperature: Option<f64>,
    /// Further top-level fields, passed through as given (they win over the ones above).
    pub extra: Map<String, Value>,
    /// A request without a token this long after its send fails as `timeout_first_token`;
    /// `None`: only the endpoint's whole-request timeout applies.
    pub first_token_timeout: Option<Duration>,
    /// The objectives a stream must meet to count towards goodput.
    pub slo: Slo,
    /// Each request's prompt starts with a word of its own, so that no two requests share a
    /// first block and a server's prefix cache can reuse nothing.
    pub cache_bust: bool,
    /// Multi-turn conversations, sent instead of [`prompts`](Self::prompts) when set.
    pub sessions: Option<Box<Sessions>>,
}

impl Default for LlmRequest {
    /// A short fixed prompt, 64 output tokens, the server's other defaults.
    fn default() -> Self {
        LlmRequest {
            prompts: PromptSource::Fixed("Write a short story about a benchmark.".to_owned()),
            tokenizer: None,
            max_tokens: Some(64),
            fixed_output: false,
            temperature: None,
            extra: Map::new(),
            first_token_timeout: None,
            slo: Slo::default(),
            cache_bust: false,
            sessions: None,
        }
    }
}

impl LlmRequest {
    /// Single prompts from `prompts` (conversations no longer).
    pub fn use_prompts(&mut self, prompts: PromptSource) {
        self.prompts = prompts;
        self.sessions = None;
    }

    /// The JSON body of `prompt` for `model`: a chat request (`messages`) when `chat`, else a
    /// completions request (`prompt`); always `stream: true` with `stream_options.include_usage`.
    /// The prompt's own `max_tokens` wins over the request's.
    pub fn body(&self, model: &str, chat: bool, prompt: &Prompt) -> Value {
        self.turn_body(model, chat, &[], prompt)
    }

    /// A conversation's next turn: `prompt` after `history`, each earlier message in order
    /// (a chat request's `messages`; a completions request's `prompt` is their texts, one a
    /// line). Otherwise as [`body`](Self::body).
    pub fn turn_body(
        &self,
        model: &str,
        chat: bool,
        history: &[Message],
        prompt: &Prompt,
    ) -> Value {
        let mut body = json!({
            "model": model,
            "stream": true,
            "stream_options": {"include_usage": true},
        });
        if chat {
            let role = |message: &Message| {
                if message.assistant {
                    "assistant"
                } else {
                    "user"
                }
            };
            let mut messages: Vec<Value> = history
                .iter()
                .map(|message| json!({"role": role(message), "content": message.text}))
                .collect();
            messages.push(json!({"role": "user", "content": prompt.text}));
            body["messages"] = Value::Array(messages);
        } else if history.is_empty() {
            body["prompt"] = json!(prompt.text);
        } else {
            let mut text = String::new();
            for message in history {
                text.push_str(&message.text);
                text.push('\n');
            }
            text.push_str(&prompt.text);
            body["prompt"] = json!(text);
        }
        if let Some(tokens) = prompt.max_tokens.or(self.max_tokens) {
            body["max_tokens"] = json!(tokens);
            if self.fixed_output {
                body["min_tokens"] = json!(tokens);
                body["ignore_eos"] = json!(true);
            }
        }
        if let Some(temperature) = self.temperature {
            body["temperature"] = json!(temperature);
        }
        if let Value::Object(fields) = &mut body {
            for (key, value) in &self.extra {
                fields.insert(key.clone(), value.clone());
            }
        }
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chat_body_streams_with_usage_and_sends_fixed_length_fields_only_when_asked() {
        let request = LlmRequest {
            max_tokens: Some(8),
            ..LlmRequest::default()
        };
        let hi = Prompt {
            text: "hi".into(),
            input_tokens: 1,
            max_tokens: None,
        };
        let body = request.body("m", true, &hi);
        assert_eq!(body["stream"], true);
        assert_eq!(body["stream_options"]["include_usage"], true);
        assert_eq!(body["messages"][0]["content"], "hi");
        assert_eq!(body["max_tokens"], 8);
        assert!(body.get("min_tokens").is_none() && body.get("ignore_eos").is_none());

        let mut fixed = LlmRequest {
            fixed_output: true,
            temperature: Some(0.0),
            ..request
        };
        fixed.extra.insert("top_k".into(), json!(1));
        let body = fixed.body("m", false, &hi);
        assert_eq!(body["prompt"], "hi");
        assert!(body.get("messages").is_none());
        assert_eq!(
            (&body["min_tokens"], &body["ignore_eos"]),
            (&json!(8), &json!(true))
        );
        assert_eq!(body["temperature"], 0.0);
        assert_eq!(body["top_k"], 1);
        let own = Prompt {
            max_tokens: Some(3),
            ..hi
        };
        assert_eq!(fixed.body("m", true, &own)["min_tokens"], 3);
    }
}
