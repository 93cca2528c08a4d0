//! The reference LLM server: OpenAI-compatible `/v1/chat/completions` and `/v1/completions`
//! streamed as server-sent events on a [`TokenScript`], plus `/v1/models`, `/version`, `/health`
//! and `/metrics` under vLLM's names (`llm_metrics.rs`), on an ephemeral 127.0.0.1 port and its
//! own runtime. It generates no language: token `j` is the
//! text `t{j} `, so every figure a client measures follows from the script.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, Semaphore};
use tokio::time::Instant;

use super::error::ServerError;
use super::llm_metrics::LlmMetrics;
use super::prefix_cache::Blocks;
use super::runtime::ServerRuntime;
use crate::remote::llm::script::TokenScript;

/// Largest request body accepted (a long prompt is a few hundred kB).
const MAX_BODY: usize = 16 * 1024 * 1024;

/// A running reference LLM server; dropping it or [`shutdown`](LlmServer::shutdown) drops every
/// stream at once.
pub struct LlmServer {
    address: SocketAddr,
    runtime: ServerRuntime,
}

struct Shared {
    model: String,
    script: TokenScript,
    slots: Option<Semaphore>,
    started: Instant,
    /// The prefix cache's blocks, when the script has one.
    cache: Option<std::sync::Mutex<Blocks>>,
    metrics: LlmMetrics,
}

impl LlmServer {
    /// Starts serving `model` on the schedule of `script`.
    pub fn start(model: &str, script: TokenScript) -> Result<LlmServer, ServerError> {
        let (runtime, address) = ServerRuntime::start("model-bench-llm-server", async {
            let listener = super::runtime::listen_on_localhost()?;
            let address = listener.local_addr().map_err(ServerError::Bind)?;
            let shared = Arc::new(Shared {
                model: model.to_owned(),
                slots: script.capacity.map(Semaphore::new),
                cache: script
                    .prefix_cache
                    .map(|cache| std::sync::Mutex::new(Blocks::new(cache))),
                metrics: LlmMetrics::new(model, script.kv_cache_tokens),
                script,
                started: Instant::now(),
            });
            tokio::spawn(serve(listener, shared));
            Ok::<_, ServerError>(address)
        })?;
        Ok(LlmServer { address, runtime })
    }

    /// `http://127.0.0.1:PORT`, the base URL (`/v1/...` goes after it).
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Stops the server, dropping every connection.
    pub fn shutdown(self) {
        drop(self.runtime);
    }
}

async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            let service =
                hyper::service::service_fn(move |request| handle(Arc::clone(&shared), request));
            let _ = auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// A response body fed chunk by chunk from the stream's task.
struct ChannelBody {
    receiver: Option<mpsc::Receiver<Bytes>>,
    full: Option<Bytes>,
}

impl ChannelBody {
    fn full(bytes: Bytes) -> Self {
        ChannelBody {
            receiver: None,
            full: Some(bytes),
        }
    }
}

impl Body for ChannelBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if let Some(bytes) = self.full.take() {
            return Poll::Ready(Some(Ok(Frame::data(bytes))));
        }
        match self.receiver.as_mut() {
            Some(receiver) => receiver
                .poll_recv(cx)
                .map(|bytes| bytes.map(|bytes| Ok(Frame::data(bytes)))),
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.full.is_none() && self.receiver.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        match &self.full {
            Some(bytes) if self.receiver.is_none() => SizeHint::with_exact(bytes.len() as u64),
            _ => SizeHint::default(),
        }
    }
}

async fn handle(
    shared: Arc<Shared>,
    request: Request<Incoming>,
) -> Result<Response<ChannelBody>, Infallible> {
    let path = request.uri().path().trim_end_matches('/').to_owned();
    let method = request.method().clone();
    Ok(match (method, path.as_str()) {
        (Method::GET, "/health") => json_response(StatusCode::OK, json!({"status": "ok"})),
        (Method::GET, "/v1/models") => json_response(
            StatusCode::OK,
            json!({"object": "list", "data": [{
                "id": shared.model,
                "object": "model",
                "owned_by": "model-bench",
                "max_model_len": shared.script.kv_cache_tokens,
            }]}),
        ),
        (Method::GET, "/version") => json_response(
            StatusCode::OK,
            json!({"version": env!("CARGO_PKG_VERSION")}),
        ),
        (Method::GET, "/metrics") => Response::builder()
            .status(StatusCode::OK)
            .header(http::header::CONTENT_TYPE, "text/plain; version=0.0.4")
            .body(ChannelBody::full(Bytes::from(shared.metrics.render())))
            .unwrap_or_else(|_| error_response(StatusCode::INTERNAL_SERVER_ERROR, "response")),
        (Method::POST, "/v1/chat/completions") => completion(shared, request, Kind::Chat).await,
        (Method::POST, "/v1/completions") => completion(shared, request, Kind::Text).await,
        (_, path) => error_response(StatusCode::NOT_FOUND, &format!("no route {path}")),
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Chat,
    Text,
}

async fn completion(
    shared: Arc<Shared>,
    request: Request<Incoming>,
    kind: Kind,
) -> Response<ChannelBody> {
    let arrived = Instant::now();
    let body = match http_body_util::Limited::new(request.into_body(), MAX_BODY)
        .collect()
        .await
    {
        Ok(body) => body.to_bytes(),
        Err(error) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                &format!("cannot read the request body: {error}"),
            )
        }
    };
    let request: Value = match serde_json::from_slice(&body) {
        Ok(value) => value,
        Err(error) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                &format!("the request body is not JSON: {error}"),
            )
        }
    };
    let model = request.get("model").and_then(Value::as_str).unwrap_or("");
    if model != shared.model {
        return error_response(
            StatusCode::NOT_FOUND,
            &format!("The model `{model}` does not exist."),
        );
    }
    if request.get("stream").and_then(Value::as_bool) != Some(true) {
        return error_response(
            StatusCode::BAD_REQUEST,
            "this reference server only streams: send \"stream\": true",
        );
    }
    let output_tokens = ["max_completion_tokens", "max_tokens"]
        .iter()
        .find_map(|key| request.get(*key).and_then(Value::as_u64))
        .map(|tokens| tokens.min(u32::MAX as u64) as u32)
        .unwrap_or(shared.script.default_output_tokens);
    let include_usage = request
        .pointer("/stream_options/include_usage")
        .and_then(Value::as_bool)
        == Some(true);
    let words = prompt_words(&request, kind);
    // Requests meet the cache in the order they arrive.
    let cached = shared
        .cache
        .as_ref()
        .map(|cache| crate::sync::lock(cache).admit(&words));
    let prompt = PromptTokens {
        total: words.len() as u64,
        cached,
        report: include_usage,
    };
    let (sender, receiver) = mpsc::channel(64);
    tokio::spawn(stream_tokens(
        shared,
        kind,
        output_tokens,
        (prompt, arrived),
        sender,
    ));
    Response::builder()
        .status(StatusCode::OK)
        .header(http::header::CONTENT_TYPE, "text/event-stream")
        .header(http::header::CACHE_CONTROL, "no-cache")
        .body(ChannelBody {
            receiver: Some(receiver),
            full: None,
        })
        .unwrap_or_else(|_| error_response(StatusCode::INTERNAL_SERVER_ERROR, "response"))
}

/// A request's prompt tokens: how many, how many of them the prefix cache held (with a cache),
/// and whether the usage chunk reports them.
#[derive(Debug, Clone, Copy)]
struct PromptTokens {
    total: u64,
    cached: Option<u64>,
    report: bool,
}

/// The prompt's whitespace-separated words, chat messages in order: the server's stand-in for
/// prompt tokens.
fn prompt_words(request: &Value, kind: Kind) -> Vec<&str> {
    let texts: Vec<&str> = match kind {
        Kind::Text => match request.get("prompt") {
            Some(Value::String(text)) => vec![text.as_str()],
            Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        },
        Kind::Chat => request
            .get("messages")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|message| message.get("content").and_then(Value::as_str))
            .collect(),
    };
    texts.into_iter().flat_map(str::split_whitespace).collect()
}

/// Sends one stream on the script's schedule; stops when the client hangs up. The request
/// arrived at `arrived`; the metrics follow it from then.
async fn stream_tokens(
    shared: Arc<Shared>,
    kind: Kind,
    output_tokens: u32,
    (prompt, arrived): (PromptTokens, Instant),
    sender: mpsc::Sender<Bytes>,
) {
    let script = &shared.script;
    let mut metrics = shared.metrics.arrived(prompt.total, prompt.cached);
    // Queued behind the capacity: the schedule starts when a slot is free.
    let _slot = match &shared.slots {
        Some(slots) => match slots.acquire().await {
            Ok(permit) => Some(permit),
            Err(_) => return,
        },
        None => None,
    };
    let start = Instant::now();
    metrics.started(start - arrived);
    let (mut first_chunk, mut last_chunk): (Option<Instant>, Option<Instant>) = (None, None);
    let send = |event: String| {
        let sender = sender.clone();
        async move { sender.send(Bytes::from(event)).await.is_ok() }
    };
    if kind == Kind::Chat && script.role_chunk {
        let role = chunk_json(
            kind,
            &shared.model,
            Some(json!({"role": "assistant", "content": ""})),
            None,
            None,
        );
        if !send(data(&role)).await {
            return;
        }
    }
    let uncached = prompt.total - prompt.cached.unwrap_or(0);
    let chunks = script.chunks(output_tokens, uncached);
    let mut token = 0u32;
    for (index, chunk) in chunks.iter().enumerate() {
        let due = start + chunk.at;
        let leaves = shared.started + script.leaves_at(due - shared.started);
        tokio::time::sleep_until(leaves).await;
        if script.truncate_after_chunks == Some(index as u32) {
            return;
        }
        if script.error_after_chunks == Some(index as u32) {
            send(scripted_error(index)).await;
            return;
        }
        let words =
            |tokens: std::ops::Range<u32>| -> String { tokens.map(|j| format!("t{j} ")).collect() };
        let end = token + chunk.tokens;
        let content = match kind {
            Kind::Chat => {
                // The chunk's tokens before the script's reasoning count are thinking.
                let thinking = script.reasoning_tokens.clamp(token, end);
                let mut delta = json!({});
                if thinking > token {
                    delta["reasoning_content"] = json!(words(token..thinking));
                }
                if end > thinking {
                    delta["content"] = json!(words(thinking..end));
                }
                Some(delta)
            }
            Kind::Text => Some(Value::String(words(token..end))),
        };
        token = end;
        if !send(data(&chunk_json(kind, &shared.model, content, None, None))).await {
            return;
        }
        let left = Instant::now();
        metrics.chunk(u64::from(chunk.tokens), last_chunk.map(|last| left - last));
        if first_chunk.is_none() {
            metrics.first_token(left - arrived, left - start);
            first_chunk = Some(left);
        }
        last_chunk = Some(left);
        if let Some(every) = script.keep_alive_every.filter(|every| *every > 0) {
            if (index as u32 + 1) % every == 0 && !send(": keep-alive\n\n".to_owned()).await {
                return;
            }
        }
    }
    // Fewer chunks than the point where the script breaks the stream: break it after the last.
    if script.error_after_chunks.is_some() {
        send(scripted_error(chunks.len())).await;
        return;
    }
    if script.truncate_after_chunks.is_some() {
        return;
    }
    let reason = json!("length");
    let empty = match kind {
        Kind::Chat => Some(json!({})),
        Kind::Text => Some(json!("")),
    };
    if !send(data(&chunk_json(
        kind,
        &shared.model,
        empty,
        Some(reason),
        None,
    )))
    .await
    {
        return;
    }
    if prompt.report && script.usage {
        let mut usage = json!({
            "prompt_tokens": prompt.total,
            "completion_tokens": output_tokens,
            "total_tokens": prompt.total + output_tokens as u64,
        });
        if let Some(cached) = prompt.cached {
            usage["prompt_tokens_details"] = json!({"cached_tokens": cached});
        }
        let thinking = script.reasoning_tokens.min(output_tokens);
        if kind == Kind::Chat && thinking > 0 {
            usage["completion_tokens_details"] = json!({"reasoning_tokens": thinking});
        }
        if !send(data(&chunk_json(
            kind,
            &shared.model,
            None,
            None,
            Some(usage),
        )))
        .await
        {
            return;
        }
    }
    if send("data: [DONE]\n\n".to_owned()).await {
        let end = Instant::now();
        metrics.finished(
            end - arrived,
            end - first_chunk.unwrap_or(start),
            end - start,
        );
    }
}

/// The error event the script sends after `chunks` text chunks, in OpenAI's error shape.
fn scripted_error(chunks: usize) -> String {
    data(&json!({"error": {
        "message": format!("scripted error after {chunks} chunk(s)"),
        "type": "server_error",
        "code": 500,
    }}))
}

fn data(value: &Value) -> String {
    format!("data: {value}\n\n")
}

/// A `chat.completion.chunk` (delta) or `text_completion` (text) object; without `content` its
/// choices are empty (the usage chunk).
fn chunk_json(
    kind: Kind,
    model: &str,
    content: Option<Value>,
    finish_reason: Option<Value>,
    usage: Option<Value>,
) -> Value {
    let (object, field) = match kind {
        Kind::Chat => ("chat.completion.chunk", "delta"),
        Kind::Text => ("text_completion", "text"),
    };
    let choices = match content {
        Some(content) => json!([{
            "index": 0,
            field: content,
            "finish_reason": finish_reason.unwrap_or(Value::Null),
        }]),
        None => json!([]),
    };
    let mut chunk =
        json!({"id": "cmpl-model-bench", "object": object, "model": model, "choices": choices});
    if let Some(usage) = usage {
        chunk["usage"] = usage;
    }
    chunk
}

fn json_response(status: StatusCode, value: Value) -> Response<ChannelBody> {
    Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(ChannelBody::full(Bytes::from(value.to_string())))
        .unwrap_or_else(|_| Response::new(ChannelBody::full(Bytes::new())))
}

/// An error in OpenAI's shape: `{"error": {"message", "type", "code"}}`.
fn error_response(status: StatusCode, message: &str) -> Response<ChannelBody> {
    json_response(
        status,
        json!({"error": {"message": message, "type": "invalid_request_error", "code": status.as_u16()}}),
    )
}
