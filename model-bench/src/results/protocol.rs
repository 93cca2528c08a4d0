//! The wire protocols a remote result names (`"rest"`, `"rest-binary"`, `"grpc"`, `"http-post"`),
//! and the family a side-by-side table compares. The prelude re-exports it.

use std::fmt;

/// The wire protocol of an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// Open Inference Protocol REST, JSON tensors (`POST /v2/models/{m}/infer`).
    RestJson,
    /// Open Inference Protocol REST with the binary tensor data extension.
    RestBinary,
    /// Open Inference Protocol gRPC (`inference.GRPCInferenceService/ModelInfer`).
    Grpc,
    /// A plain HTTP POST of a fixed body (servers that do not speak V2, e.g. TorchServe's
    /// `/predictions/{model}`); any 2xx answer counts as success.
    HttpPost,
    /// An OpenAI-compatible chat endpoint streamed as server-sent events
    /// (`POST /v1/chat/completions` with `stream: true`).
    OpenAiChat,
    /// An OpenAI-compatible text completions endpoint streamed as server-sent events
    /// (`POST /v1/completions` with `stream: true`).
    OpenAiCompletions,
}

impl Protocol {
    /// The name results record: `rest`, `rest-binary`, `grpc`, `http-post`, `openai-chat` or
    /// `openai-completions`.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::RestJson => "rest",
            Protocol::RestBinary => "rest-binary",
            Protocol::Grpc => "grpc",
            Protocol::HttpPost => "http-post",
            Protocol::OpenAiChat => "openai-chat",
            Protocol::OpenAiCompletions => "openai-completions",
        }
    }

    /// The family a side-by-side table compares: REST (JSON or binary) against gRPC; OpenAI
    /// streams are a family of their own.
    pub fn family(self) -> &'static str {
        match self {
            Protocol::RestJson | Protocol::RestBinary | Protocol::HttpPost => "REST",
            Protocol::Grpc => "gRPC",
            Protocol::OpenAiChat | Protocol::OpenAiCompletions => "OpenAI",
        }
    }

    /// The protocol a result names ([`as_str`](Protocol::as_str)'s names, and `rest-json` for
    /// `rest`); `None` for any other text.
    pub fn parse(text: &str) -> Option<Protocol> {
        Some(match text {
            "rest" | "rest-json" => Protocol::RestJson,
            "rest-binary" => Protocol::RestBinary,
            "grpc" => Protocol::Grpc,
            "http-post" => Protocol::HttpPost,
            "openai-chat" => Protocol::OpenAiChat,
            "openai-completions" => Protocol::OpenAiCompletions,
            _ => return None,
        })
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Written as [`as_str`](Protocol::as_str)'s name.
impl serde::Serialize for Protocol {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// Read from any name [`parse`](Protocol::parse) takes; another is an error naming it.
impl<'de> serde::Deserialize<'de> for Protocol {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Protocol::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown protocol `{text}`: expected rest, rest-binary, grpc, http-post, \
                 openai-chat or openai-completions"
            ))
        })
    }
}
