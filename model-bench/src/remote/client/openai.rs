//! OpenAI-compatible streamed completions: the prompts made and every request body encoded
//! before the run, sent in turn — on a load worker's own bare HTTP/1.1 connection where the URL
//! allows one (plain `http://`: a few KiB per open stream, so ten thousand streams fit), else
//! over reqwest's pool; the event stream read piece by piece as it arrives, every event stamped
//! with the time of the read that completed it (nanoseconds after the send) and handed to a
//! [`StreamTracker`]; health is `GET /v1/models` listing the model.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::http1_conn::{Http1Conn, Http1Post};
use super::rest_pool::{classify_body, classify_reqwest, RestPool};
use super::transport::{
    status_error, BoxFuture, ClientError, ModelMetadata, Scheduled, ServerMetadata, Transport,
};
use crate::remote::endpoint::{redact_url, OpenAiRequest, Request};
use crate::remote::error::{snippet, ErrorClass, RequestError};
use crate::remote::llm::{
    parse_event, Conversations, Dialogue, LlmRequest, Prompt, PromptSource, ReplaySchedule,
    SseDecoder, StreamRecord, StreamTracker, TokenCounter, TraceRows,
};
use crate::results::PromptsInfo;

/// One OpenAI-compatible endpoint.
pub(crate) struct OpenAi {
    pool: RestPool,
    /// Requests on a worker's own connection, where the URL allows one (see [`Http1Post`]).
    bare: Option<Http1Post>,
    /// What request `n` sends.
    bodies: Bodies,
    /// The request options bodies are made with (a trace's, as they are sent).
    llm: LlmRequest,
    chat: bool,
    next: AtomicUsize,
    first_token_timeout: Option<Duration>,
    /// The tokenizer, when one was given: output of streams without usage is counted with it.
    tokenizer: Option<Arc<TokenCounter>>,
    /// How prompts are counted (the tokenizer or the word approximation): a conversation's
    /// replies are counted into its history with it.
    counter: Arc<TokenCounter>,
}

/// What requests send.
enum Bodies {
    /// One body per prompt, encoded before the run; request `n` sends `n % len`.
    Prompts(Vec<(Encoded, u32)>),
    /// A trace's rows; request `n` sends row `n`'s, made as it is sent (a long trace of long
    /// prompts would not fit in memory encoded).
    Trace(TraceRows),
    /// Conversations: each turn's body made when it is sent, from the history so far.
    Sessions(Conversations),
}

/// One prompt's request body, encoded before the run.
enum Encoded {
    /// Sent as it is by every request that takes the prompt.
    Whole(Bytes),
    /// With `cache_bust`: the body cut where the prompt's text starts, so that each request
    /// puts a word of its own there and no two requests share a first prompt block.
    AroundNonce { head: Bytes, tail: Bytes },
}

/// Where a cache-busting request's own word goes while its body is encoded.
const NONCE_MARK: &str = "@@model-bench-cache-bust@@";

impl Encoded {
    /// `prompt`'s body for `model` (a chat or a completions request); its counted tokens
    /// include the request's own word with `cache_bust`.
    fn new(
        llm: &LlmRequest,
        model: &str,
        chat: bool,
        prompt: &Prompt,
    ) -> Result<(Encoded, u32), String> {
        if !llm.cache_bust {
            let body =
                serde_json::to_vec(&llm.body(model, chat, prompt)).map_err(|e| e.to_string())?;
            return Ok((Encoded::Whole(Bytes::from(body)), prompt.input_tokens));
        }
        let marked = Prompt {
            text: format!("{NONCE_MARK}{}", prompt.text),
            ..prompt.clone()
        };
        let body =
            serde_json::to_vec(&llm.body(model, chat, &marked)).map_err(|e| e.to_string())?;
        let at = body
            .windows(NONCE_MARK.len())
            .position(|window| window == NONCE_MARK.as_bytes())
            .ok_or("the prompt's text is not in its request body")?;
        let (head, tail) = (&body[..at], &body[at + NONCE_MARK.len()..]);
        let encoded = Encoded::AroundNonce {
            head: Bytes::copy_from_slice(head),
            tail: Bytes::copy_from_slice(tail),
        };
        Ok((encoded, prompt.input_tokens + 1))
    }

    /// The body of request number `n`.
    fn for_request(&self, n: usize) -> Bytes {
        match self {
            Encoded::Whole(body) => body.clone(),
            Encoded::AroundNonce { head, tail } => {
                let nonce = format!("cb{n:x} ");
                let mut body = Vec::with_capacity(head.len() + nonce.len() + tail.len());
                body.extend_from_slice(head);
                body.extend_from_slice(nonce.as_bytes());
                body.extend_from_slice(tail);
                Bytes::from(body)
            }
        }
    }
}

impl OpenAi {
    /// Streams `endpoint`'s prompts over `pool`'s clients, or load workers' own connections
    /// with `bare`: makes and counts the prompts and encodes their bodies (before any
    /// request). Also returns what results say about them.
    pub fn new(
        request: &OpenAiRequest,
        pool: RestPool,
        bare: Option<Http1Post>,
    ) -> Result<(OpenAi, PromptsInfo), ClientError> {
        let model = request.name();
        let encode = |message: String| ClientError::Encode {
            model: model.to_owned(),
            message,
        };
        let llm = request.llm();
        let counter = match &llm.tokenizer {
            Some(path) => {
                TokenCounter::from_file(path).map_err(crate::remote::llm::PromptError::from)?
            }
            None => TokenCounter::Words,
        };
        let chat = request.is_chat();
        let (bodies, info) = match (&llm.sessions, &llm.prompts) {
            (Some(_), _) if llm.cache_bust => {
                return Err(encode(
                    "`cache_bust` does not apply to sessions: a conversation's turns share \
                     its history on purpose, and every synthetic turn starts with words of its \
                     own"
                    .into(),
                ))
            }
            (Some(_), PromptSource::Trace(_)) => {
                return Err(encode(
                    "`sessions` and `trace` both set: a trace's conversations are its rows \
                     that share a `session_id`"
                        .into(),
                ))
            }
            (Some(sessions), _) => {
                let conversations = sessions.read(&counter)?;
                let info = conversations.info.clone();
                (Bodies::Sessions(conversations), info)
            }
            (None, PromptSource::Trace(trace)) => {
                let rows = trace.read()?;
                if rows.has_sessions() {
                    if llm.cache_bust {
                        return Err(encode(
                            "`cache_bust` does not apply to a trace of conversations: its turns \
                             share their history on purpose"
                                .into(),
                        ));
                    }
                    let conversations = Conversations::from_trace(rows);
                    let info = conversations.info.clone();
                    (Bodies::Sessions(conversations), info)
                } else {
                    let info = rows.info.clone();
                    (Bodies::Trace(rows), info)
                }
            }
            (None, prompts) => {
                let set = prompts.build(&counter)?;
                let bodies = set
                    .prompts
                    .iter()
                    .map(|prompt| Encoded::new(llm, model, chat, prompt).map_err(encode))
                    .collect::<Result<Vec<_>, _>>()?;
                (Bodies::Prompts(bodies), set.info)
            }
        };
        let transport = OpenAi {
            pool,
            bare,
            bodies,
            llm: llm.clone(),
            chat,
            next: AtomicUsize::new(0),
            first_token_timeout: llm.first_token_timeout,
            tokenizer: None,
            counter: Arc::new(counter),
        };
        let transport = OpenAi {
            tokenizer: transport
                .counter
                .is_exact()
                .then(|| Arc::clone(&transport.counter)),
            ..transport
        };
        Ok((transport, info))
    }

    /// Request `request`'s body (the next in turn without one) and its prompt's counted
    /// tokens.
    fn next_body(&self, request: Option<Scheduled>) -> Result<(Bytes, u32), RequestError> {
        let (n, ready) = match request {
            Some(Scheduled { index, body }) => (usize::try_from(index).unwrap_or(usize::MAX), body),
            None => (self.next.fetch_add(1, Ordering::Relaxed), None),
        };
        let made = match (ready, &self.bodies) {
            (Some(ready), _) => ready,
            (None, Bodies::Prompts(bodies)) => {
                let (body, tokens) = &bodies[n % bodies.len()];
                Ok((body.for_request(n), *tokens))
            }
            (None, Bodies::Trace(rows)) => self.trace_body(rows, n),
            (None, Bodies::Sessions(_)) => {
                Err("a conversation's turns are sent by `converse`".to_owned())
            }
        };
        made.map_err(|message| RequestError::new(ErrorClass::Io, message))
    }

    /// Trace row `n`'s body, made now.
    fn trace_body(&self, rows: &TraceRows, n: usize) -> Result<(Bytes, u32), String> {
        let model = &self.pool.target().model;
        let (body, tokens) = Encoded::new(&self.llm, model, self.chat, &rows.prompt(n))?;
        Ok((body.for_request(n), tokens))
    }

    /// A trace replay's schedule: when each request is due from the replay's start.
    pub fn schedule(&self) -> Option<ReplaySchedule> {
        match &self.bodies {
            Bodies::Trace(rows) => Some(rows.schedule()),
            Bodies::Sessions(conversations) => conversations.starts.clone(),
            Bodies::Prompts(_) => None,
        }
    }

    fn first_token_late(&self) -> RequestError {
        let limit = self.first_token_timeout.unwrap_or_default();
        RequestError::new(
            ErrorClass::FirstTokenTimeout,
            format!(
                "no token within {limit:?} of the send to {}",
                self.pool.infer_url()
            ),
        )
    }

    /// Waits for `future`, but not past the first-token deadline while no token has come.
    async fn before_first_token<T>(
        &self,
        deadline: Option<Instant>,
        future: impl std::future::Future<Output = T>,
    ) -> Result<T, RequestError> {
        match deadline {
            Some(deadline) => tokio::time::timeout_at(deadline.into(), future)
                .await
                .map_err(|_| self.first_token_late()),
            None => Ok(future.await),
        }
    }

    async fn stream(
        &self,
        request: Option<Scheduled>,
        own: Option<&mut Http1Conn>,
    ) -> Result<StreamRecord, RequestError> {
        let (body, prompt_tokens) = self.next_body(request)?;
        self.stream_body(body, prompt_tokens, false, own).await
    }

    /// The next turn of `dialogue` (see [`Transport::converse`]).
    async fn converse_turn(
        &self,
        conversations: &Conversations,
        dialogue: &mut Option<Dialogue>,
        start: Option<u64>,
        own: Option<&mut Http1Conn>,
    ) -> Result<StreamRecord, RequestError> {
        let going = dialogue
            .take()
            .filter(|going| start.is_none() && conversations.next_turn(going).is_some());
        let mut current = match (going, start) {
            (Some(going), _) => going,
            (None, Some(index)) => {
                conversations.start(usize::try_from(index).unwrap_or(usize::MAX))
            }
            (None, None) => conversations.start(self.next.fetch_add(1, Ordering::Relaxed)),
        };
        let Some((turn, prompt_tokens)) = conversations.next_turn(&current) else {
            return Err(RequestError::new(
                ErrorClass::Io,
                "a conversation of no turn (sessions are read with at least one)",
            ));
        };
        let body = match current.take_prepared() {
            Some(body) => body,
            None => self
                .turn_bytes(&current, &turn.prompt)
                .map_err(|e| RequestError::new(ErrorClass::Io, e.to_string()))?,
        };
        let index = u32::try_from(current.turn()).unwrap_or(u32::MAX);
        // A failed turn ends its conversation: `dialogue` stays empty.
        let mut record = self
            .stream_body(Bytes::from(body), prompt_tokens, true, own)
            .await?;
        record.turn = Some(index);
        let answer = record.answer.take().unwrap_or_default();
        if conversations.answered(&mut current, answer, &self.counter) {
            *dialogue = Some(current);
        }
        Ok(record)
    }

    /// The body of `dialogue`'s turn saying `prompt`, after its history.
    fn turn_bytes(&self, dialogue: &Dialogue, prompt: &Prompt) -> serde_json::Result<Vec<u8>> {
        let model = &self.pool.target().model;
        let body = self
            .llm
            .turn_body(model, self.chat, dialogue.history(), prompt);
        serde_json::to_vec(&body)
    }

    /// Sends `body` (a prompt of `prompt_tokens` counted tokens) and follows its stream, on
    /// `own` connection where this endpoint has bare requests; `keep_answer` keeps the
    /// answer's text in the record.
    async fn stream_body(
        &self,
        body: Bytes,
        prompt_tokens: u32,
        keep_answer: bool,
        own: Option<&mut Http1Conn>,
    ) -> Result<StreamRecord, RequestError> {
        let started = Instant::now();
        let first_token = self.first_token_timeout.map(|limit| started + limit);
        let follow = Follow {
            started,
            first_token,
            prompt_tokens,
            keep_answer,
        };
        let Some((post, conn)) = self.bare.as_ref().zip(own) else {
            return self.stream_pooled(body, &follow).await;
        };
        // reqwest bounds a pooled request by the endpoint's timeout; a bare one is bounded
        // here the same way, from the send to the stream's end.
        let timeout = self.pool.target().timeout;
        let bare = async {
            let head = self
                .before_first_token(first_token, conn.start_stream(post, &body))
                .await??;
            let mut pieces = BarePieces {
                conn,
                what: post.what(),
            };
            if !(200..300).contains(&head.status) {
                let start = pieces.start_of_body().await;
                return Err(status_error(head.status, &start, post.what()));
            }
            if !head.content_type.starts_with("text/event-stream") {
                let start = pieces.start_of_body().await;
                return Err(not_event_stream(post.what(), &head.content_type, &start));
            }
            self.follow(pieces, &follow).await
        };
        tokio::time::timeout_at((started + timeout).into(), bare)
            .await
            .unwrap_or_else(|_| {
                Err(RequestError::new(
                    ErrorClass::Timeout,
                    format!("{}: the stream did not end within {timeout:?}", post.what()),
                ))
            })
    }

    /// [`stream_body`](Self::stream_body) over reqwest's pool.
    async fn stream_pooled(
        &self,
        body: Bytes,
        follow: &Follow,
    ) -> Result<StreamRecord, RequestError> {
        let url = self.pool.infer_url();
        let response = self
            .before_first_token(follow.first_token, self.pool.post_body(body).send())
            .await?
            .map_err(|e| classify_reqwest(&e))?;
        if !response.status().is_success() {
            let status = response.status().as_u16();
            let body = response.bytes().await.unwrap_or_default();
            return Err(status_error(status, &body, url.as_str()));
        }
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("")
            .to_owned();
        if !content_type.starts_with("text/event-stream") {
            let body = response.bytes().await.unwrap_or_default();
            return Err(not_event_stream(url.as_str(), &content_type, &body));
        }
        let pieces = PooledPieces {
            response,
            piece: Bytes::new(),
        };
        self.follow(pieces, follow).await
    }

    /// Reads a stream's events from `pieces` to its end into its record.
    async fn follow(
        &self,
        mut pieces: impl Pieces,
        follow: &Follow,
    ) -> Result<StreamRecord, RequestError> {
        let url = self.pool.infer_url();
        let mut decoder = SseDecoder::new();
        let mut tracker = match &self.tokenizer {
            Some(counter) => StreamTracker::counting_with(Arc::clone(counter)),
            None => StreamTracker::new(),
        };
        if follow.keep_answer {
            tracker = tracker.keeping_answer();
        }
        let mut events = Vec::new();
        let since_send =
            |at: Instant| at.saturating_duration_since(follow.started).as_nanos() as u64;
        loop {
            let piece = if tracker.has_first_token() {
                pieces.next_piece().await
            } else {
                self.before_first_token(follow.first_token, pieces.next_piece())
                    .await?
            };
            let at = since_send(Instant::now());
            let Some(bytes) = piece? else {
                let mut record = tracker.finish(at, decoder.has_partial_event())?;
                record.counted_prompt_tokens = Some(u64::from(follow.prompt_tokens));
                return Ok(record);
            };
            let counts = decoder.feed(bytes, &mut events).map_err(|error| {
                RequestError::new(ErrorClass::Decode, format!("{url}: {error}"))
            })?;
            tracker.comments(counts.comments);
            for event in events.drain(..) {
                let event = parse_event(&event).map_err(|message| {
                    RequestError::new(ErrorClass::Decode, format!("{url}: {message}"))
                })?;
                tracker.event(at, event);
            }
        }
    }

    async fn models(&self) -> Result<Vec<ListedModel>, RequestError> {
        let url = format!("{}/v1/models", self.pool.target().base_url);
        let value = self.pool.get_json(&url).await?;
        let models = value
            .get("data")
            .and_then(|data| data.as_array())
            .ok_or_else(|| {
                let shown = redact_url(&url);
                RequestError::new(ErrorClass::Decode, format!("GET {shown}: no `data` list"))
            })?;
        Ok(models
            .iter()
            .filter_map(|model| {
                let id = model.get("id")?.as_str()?.to_owned();
                let owner = model
                    .get("owned_by")
                    .and_then(|owner| owner.as_str())
                    .unwrap_or("")
                    .to_owned();
                let context = ["/max_model_len", "/meta/n_ctx_train"]
                    .iter()
                    .find_map(|pointer| model.pointer(pointer)?.as_u64());
                Some(ListedModel { id, owner, context })
            })
            .collect())
    }

    async fn listed_model(&self) -> Result<ListedModel, RequestError> {
        let wanted = &self.pool.target().model;
        let models = self.models().await?;
        models
            .iter()
            .find(|model| &model.id == wanted)
            .cloned()
            .ok_or_else(|| {
                let listed: Vec<&str> = models.iter().map(|model| model.id.as_str()).collect();
                RequestError::new(
                    ErrorClass::Decode,
                    format!(
                        "GET {}/v1/models does not list the model `{wanted}` (it lists {listed:?})",
                        redact_url(&self.pool.target().base_url)
                    ),
                )
            })
    }
}

impl Transport for OpenAi {
    fn schedule(&self) -> Option<ReplaySchedule> {
        OpenAi::schedule(self)
    }

    fn infer(&self) -> BoxFuture<'_, Result<(), RequestError>> {
        Box::pin(async move {
            match &self.bodies {
                // One request on its own (a smoke test's): a conversation's first turn.
                Bodies::Sessions(conversations) => self
                    .converse_turn(conversations, &mut None, None, None)
                    .await
                    .map(|_| ()),
                Bodies::Prompts(_) | Bodies::Trace(_) => self.stream(None, None).await.map(|_| ()),
            }
        })
    }

    fn infer_stream<'a>(
        &'a self,
        request: Option<Scheduled>,
        own: &'a mut Http1Conn,
    ) -> Option<BoxFuture<'a, Result<StreamRecord, RequestError>>> {
        Some(Box::pin(self.stream(request, Some(own))))
    }

    fn prepare(&self, index: u64) -> Scheduled {
        let body = match &self.bodies {
            Bodies::Trace(rows) => {
                Some(self.trace_body(rows, usize::try_from(index).unwrap_or(usize::MAX)))
            }
            Bodies::Prompts(_) | Bodies::Sessions(_) => None,
        };
        Scheduled { index, body }
    }

    fn holds_conversations(&self) -> bool {
        matches!(self.bodies, Bodies::Sessions(_))
    }

    fn prepare_turn(&self, dialogue: &mut Dialogue) {
        let Bodies::Sessions(conversations) = &self.bodies else {
            return;
        };
        if dialogue.is_prepared() {
            return;
        }
        // A body that cannot be encoded is left to the send, which reports it.
        if let Some((turn, _)) = conversations.next_turn(dialogue) {
            if let Ok(body) = self.turn_bytes(dialogue, &turn.prompt) {
                dialogue.prepare(body);
            }
        }
    }

    fn converse<'a>(
        &'a self,
        dialogue: &'a mut Option<Dialogue>,
        start: Option<u64>,
        own: &'a mut Http1Conn,
    ) -> Option<BoxFuture<'a, Result<StreamRecord, RequestError>>> {
        match &self.bodies {
            Bodies::Sessions(conversations) => Some(Box::pin(self.converse_turn(
                conversations,
                dialogue,
                start,
                Some(own),
            ))),
            Bodies::Prompts(_) | Bodies::Trace(_) => None,
        }
    }

    fn health(&self) -> BoxFuture<'_, Result<(), RequestError>> {
        Box::pin(async move { self.listed_model().await.map(|_| ()) })
    }

    fn metadata(&self) -> BoxFuture<'_, Result<ModelMetadata, RequestError>> {
        Box::pin(async move {
            let model = self.listed_model().await?;
            Ok(ModelMetadata {
                name: model.id,
                versions: Vec::new(),
                platform: model.owner,
                inputs: Vec::new(),
                outputs: Vec::new(),
                context_length: model.context,
            })
        })
    }

    /// The server's name and version from the route its kind answers: vLLM's and SGLang's
    /// `/version` (the name from the model's `owned_by`), TGI's `/info`, llama.cpp's `/props`.
    fn server_metadata(&self) -> BoxFuture<'_, Result<ServerMetadata, RequestError>> {
        /// Each kind's route, where its version is, and its name (`None`: the model's owner's).
        const ROUTES: [(&str, &str, Option<&str>); 3] = [
            ("/version", "/version", None),
            ("/info", "/version", Some("text-generation-inference")),
            ("/props", "/build_info", Some("llama.cpp")),
        ];
        Box::pin(async move {
            let base = &self.pool.target().base_url;
            let mut last_error = None;
            for (route, version_at, name) in ROUTES {
                let value = match self.pool.get_json(&format!("{base}{route}")).await {
                    Ok(value) => value,
                    Err(error) => {
                        last_error = Some(error);
                        continue;
                    }
                };
                let name = match name {
                    Some(name) => name.to_owned(),
                    None => owner_name(
                        &self
                            .listed_model()
                            .await
                            .map(|m| m.owner)
                            .unwrap_or_default(),
                    ),
                };
                let version = value.pointer(version_at).and_then(|v| v.as_str());
                return Ok(ServerMetadata {
                    name,
                    version: version.unwrap_or_default().to_owned(),
                    extensions: Vec::new(),
                });
            }
            Err(last_error.unwrap_or_else(|| {
                RequestError::new(ErrorClass::Decode, "no server metadata route answered")
            }))
        })
    }
}

/// The server a model's `owned_by` names, for a server that answers `/version`.
fn owner_name(owner: &str) -> String {
    match owner {
        "vllm" => "vLLM".to_owned(),
        "sglang" => "SGLang".to_owned(),
        "model-bench" => "model-bench reference LLM server".to_owned(),
        "" => "unknown (answers /version)".to_owned(),
        other => other.to_owned(),
    }
}

/// A model as `/v1/models` lists it.
#[derive(Debug, Clone)]
struct ListedModel {
    id: String,
    owner: String,
    /// `max_model_len` (vLLM, SGLang) or `meta.n_ctx_train` (llama.cpp).
    context: Option<u64>,
}

/// How one stream is followed: from its send, with its first-token deadline.
struct Follow {
    started: Instant,
    first_token: Option<Instant>,
    prompt_tokens: u32,
    keep_answer: bool,
}

/// The error of a successful answer that is not an event stream.
fn not_event_stream(url: &str, content_type: &str, body: &[u8]) -> RequestError {
    RequestError::new(
        ErrorClass::Decode,
        format!(
            "{url} answered `{content_type}`, not an event stream (`text/event-stream`): {}",
            snippet(body, 200)
        ),
    )
}

/// Where a stream's body comes from, piece by piece as it arrives.
trait Pieces {
    /// The next piece, borrowed until the next call; `None` at the body's end.
    async fn next_piece(&mut self) -> Result<Option<&[u8]>, RequestError>;
}

/// A body from reqwest's pool.
struct PooledPieces {
    response: reqwest::Response,
    piece: Bytes,
}

impl Pieces for PooledPieces {
    async fn next_piece(&mut self) -> Result<Option<&[u8]>, RequestError> {
        match self.response.chunk().await.map_err(|e| classify_body(&e))? {
            Some(piece) => {
                self.piece = piece;
                Ok(Some(&self.piece))
            }
            None => Ok(None),
        }
    }
}

/// A body on a worker's own connection.
struct BarePieces<'a> {
    conn: &'a mut Http1Conn,
    what: &'a str,
}

impl BarePieces<'_> {
    /// The start of an unwanted body (an error's), for its message; the rest is left unread
    /// (the connection is not reused).
    async fn start_of_body(&mut self) -> Vec<u8> {
        let mut start = Vec::new();
        while start.len() < 1024 {
            match self.next_piece().await {
                Ok(Some(piece)) => start.extend_from_slice(piece),
                Ok(None) | Err(_) => break,
            }
        }
        start
    }
}

impl Pieces for BarePieces<'_> {
    async fn next_piece(&mut self) -> Result<Option<&[u8]>, RequestError> {
        self.conn.next_piece(self.what).await
    }
}
