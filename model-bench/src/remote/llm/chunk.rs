//! One event of an OpenAI-compatible stream (`/v1/chat/completions` or `/v1/completions` with
//! `stream: true`), read for what the metrics need: the generated text it carries (the answer,
//! and a reasoning model's thinking apart from it), a finish reason, token usage, the `[DONE]`
//! sentinel, or an error sent after the 200 status.

use serde_json::Value;

use super::sse::SseEvent;

/// Token counts of a `usage` object (the final chunk with `stream_options.include_usage`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// `prompt_tokens`, when given.
    pub prompt_tokens: Option<u64>,
    /// `completion_tokens`, when given (a reasoning model's thinking included).
    pub completion_tokens: Option<u64>,
    /// `completion_tokens_details.reasoning_tokens`, when given: the thinking's share of
    /// `completion_tokens`.
    pub reasoning_tokens: Option<u64>,
    /// `prompt_tokens_details.cached_tokens`, when given: the share of `prompt_tokens` the
    /// server's prefix cache held (vLLM, SGLang, OpenAI).
    pub cached_tokens: Option<u64>,
}

/// A chunk of the stream.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Chunk {
    /// The answer text this chunk carries, summed over its choices: a chat delta's `content`, a
    /// completion's `text`. Empty for a role-only first chunk, an empty delta or a usage chunk.
    pub content: String,
    /// A reasoning model's thinking this chunk carries: a chat delta's `reasoning_content`, or
    /// `reasoning` as newer servers name it.
    pub reasoning: String,
    /// The first non-null `finish_reason` among its choices (`stop`, `length`, …).
    pub finish_reason: Option<String>,
    /// Its `usage`, when present and not null.
    pub usage: Option<Usage>,
}

/// What one event of the stream is.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    /// A `chat.completion.chunk` or `text_completion` object.
    Chunk(Chunk),
    /// `data: [DONE]`: the server ended the stream.
    Done,
    /// An error the server sent after the 200 status: an `event: error`, or an object with an
    /// `error` member. The message as the server gave it.
    Error(String),
}

/// Reads one event. An error is an event that is neither JSON nor `[DONE]`, or JSON that is not
/// a chunk (no `choices` array and no `usage`); the message says what it was.
pub fn parse(event: &SseEvent) -> Result<StreamEvent, String> {
    let data = event.data.trim();
    if data == "[DONE]" {
        return Ok(StreamEvent::Done);
    }
    let value: Result<Value, _> = serde_json::from_str(data);
    if event.event.as_deref() == Some("error") {
        let message = value
            .as_ref()
            .ok()
            .and_then(error_message)
            .unwrap_or_else(|| data.to_owned());
        return Ok(StreamEvent::Error(message));
    }
    let value = value.map_err(|error| {
        format!(
            "an event is not JSON ({error}): {}",
            crate::remote::error::snippet(data.as_bytes(), 120)
        )
    })?;
    if let Some(message) = error_message(&value) {
        return Ok(StreamEvent::Error(message));
    }
    let choices = value.get("choices").and_then(Value::as_array);
    let usage = value.get("usage").filter(|usage| !usage.is_null());
    if choices.is_none() && usage.is_none() {
        return Err(format!(
            "an event is JSON but not a completion chunk (no `choices`): {}",
            crate::remote::error::snippet(data.as_bytes(), 120)
        ));
    }
    let mut chunk = Chunk::default();
    for choice in choices.into_iter().flatten() {
        let delta = choice.get("delta");
        let field = |name: &str| {
            delta
                .and_then(|delta| delta.get(name))
                .and_then(Value::as_str)
        };
        let answer = [field("content"), choice.get("text").and_then(Value::as_str)];
        let thinking = [field("reasoning_content"), field("reasoning")];
        chunk.content.extend(answer.into_iter().flatten());
        chunk.reasoning.extend(thinking.into_iter().flatten());
        if chunk.finish_reason.is_none() {
            chunk.finish_reason = choice
                .get("finish_reason")
                .and_then(Value::as_str)
                .map(str::to_owned);
        }
    }
    chunk.usage = usage.map(|usage| Usage {
        prompt_tokens: usage.get("prompt_tokens").and_then(Value::as_u64),
        completion_tokens: usage.get("completion_tokens").and_then(Value::as_u64),
        reasoning_tokens: usage
            .pointer("/completion_tokens_details/reasoning_tokens")
            .and_then(Value::as_u64),
        cached_tokens: usage
            .pointer("/prompt_tokens_details/cached_tokens")
            .and_then(Value::as_u64),
    });
    Ok(StreamEvent::Chunk(chunk))
}

impl Chunk {
    /// Whether it carries generated text of either kind (a token, for TTFT and the gaps).
    pub fn has_text(&self) -> bool {
        !self.content.is_empty() || !self.reasoning.is_empty()
    }
}

/// The message of an `{"error": …}` object: `error.message`, or `error` itself when a string.
fn error_message(value: &Value) -> Option<String> {
    let error = value.get("error").filter(|error| !error.is_null())?;
    Some(
        error
            .get("message")
            .and_then(Value::as_str)
            .or_else(|| error.as_str())
            .map(str::to_owned)
            .unwrap_or_else(|| error.to_string()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(text: &str) -> SseEvent {
        SseEvent {
            event: None,
            data: text.into(),
        }
    }

    fn chunk(text: &str) -> Chunk {
        match parse(&data(text)).unwrap() {
            StreamEvent::Chunk(chunk) => chunk,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn chat_deltas_carry_content_and_reasoning_and_a_role_only_chunk_carries_none() {
        let role = chunk(
            r#"{"object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}"#,
        );
        assert_eq!(role, Chunk::default());
        assert!(!role.has_text());
        let content = chunk(r#"{"choices":[{"delta":{"content":"Hel"}}]}"#);
        assert_eq!(
            (content.content.as_str(), content.reasoning.as_str()),
            ("Hel", "")
        );
        let reasoning = chunk(r#"{"choices":[{"delta":{"reasoning_content":"think"}}]}"#);
        assert_eq!(
            (reasoning.content.as_str(), reasoning.reasoning.as_str()),
            ("", "think")
        );
        assert!(reasoning.has_text());
        let newer = chunk(r#"{"choices":[{"delta":{"reasoning":"hmm","content":null}}]}"#);
        assert_eq!(newer.reasoning, "hmm");
        let both = chunk(r#"{"choices":[{"delta":{"reasoning_content":"so","content":"Yes"}}]}"#);
        assert_eq!(
            (both.content.as_str(), both.reasoning.as_str()),
            ("Yes", "so")
        );
        let last = chunk(r#"{"choices":[{"delta":{},"finish_reason":"length"}],"usage":null}"#);
        assert_eq!(last.finish_reason.as_deref(), Some("length"));
        assert_eq!(last.usage, None);
    }

    #[test]
    fn completions_carry_text_and_the_usage_chunk_its_counts() {
        let text = chunk(
            r#"{"object":"text_completion","choices":[{"text":" world","finish_reason":null}]}"#,
        );
        assert_eq!(text.content, " world");
        let usage = chunk(
            r#"{"choices":[],"usage":{"prompt_tokens":12,"completion_tokens":64,"total_tokens":76}}"#,
        );
        assert_eq!(
            usage.usage,
            Some(Usage {
                prompt_tokens: Some(12),
                completion_tokens: Some(64),
                reasoning_tokens: None,
                cached_tokens: None,
            })
        );
        assert!(!usage.has_text());
        let thinking = chunk(
            r#"{"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":40,"completion_tokens_details":{"reasoning_tokens":30}}}"#,
        );
        assert_eq!(thinking.usage.and_then(|u| u.reasoning_tokens), Some(30));
        let cached = chunk(
            r#"{"choices":[],"usage":{"prompt_tokens":64,"completion_tokens":1,"prompt_tokens_details":{"cached_tokens":48}}}"#,
        );
        assert_eq!(cached.usage.and_then(|u| u.cached_tokens), Some(48));
    }

    #[test]
    fn done_and_errors_after_the_status_are_recognised() {
        assert_eq!(parse(&data("[DONE]")).unwrap(), StreamEvent::Done);
        assert_eq!(
            parse(&data(
                r#"{"error":{"message":"out of KV cache","code":503}}"#
            ))
            .unwrap(),
            StreamEvent::Error("out of KV cache".into())
        );
        let named = SseEvent {
            event: Some("error".into()),
            data: "engine died".into(),
        };
        assert_eq!(
            parse(&named).unwrap(),
            StreamEvent::Error("engine died".into())
        );
    }

    #[test]
    fn garbage_and_json_that_is_no_chunk_are_errors_that_quote_it() {
        let error = parse(&data("<html>502</html>")).unwrap_err();
        assert!(
            error.contains("not JSON") && error.contains("<html>"),
            "{error}"
        );
        let error = parse(&data(r#"{"id":"x"}"#)).unwrap_err();
        assert!(error.contains("no `choices`"), "{error}");
    }
}
