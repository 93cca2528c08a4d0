//! One HTTP/2 connection for unary gRPC calls, driven by one task that owns the socket: callers
//! hand it a [`Call`] down a channel and get a [`Reply`] back. The task batches every request
//! that is ready into one write (the header block is pre-encoded, so a request is a few copied
//! bytes), reads responses in large chunks, keeps flow control both ways, answers PING and
//! SETTINGS, honours GOAWAY and REFUSED_STREAM by handing calls back to be retried on a new
//! connection, and times calls out with one timer for the whole connection.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes, BytesMut};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};

use super::h2_frames::{self as wire, Head, HeaderBlocks};
use crate::remote::error::{ErrorClass, RequestError};

/// The stream and connection windows we give the server, as hyper's client sets them, so large
/// outputs are not throttled by HTTP/2's 64 KiB default.
const STREAM_WINDOW: u32 = 2 * 1024 * 1024;
const CONNECTION_WINDOW: u32 = 5 * 1024 * 1024;
/// Response messages larger than this are refused rather than buffered.
const MAX_MESSAGE: usize = 1 << 30;
/// Response header blocks larger than this end the connection (a misbehaving server).
const MAX_HEADER_BLOCK: usize = 1 << 20;
/// The last stream id a client may open.
const LAST_STREAM_ID: u32 = (1 << 31) - 1;

/// What every connection of one endpoint sends: where, the header blocks and the request body
/// (gRPC prefix and protobuf), all encoded once.
pub(super) struct Wire {
    pub authority: String,
    /// The base URL for messages (no user info, no query).
    pub what: String,
    pub blocks: HeaderBlocks,
    pub body: Bytes,
    pub timeout: Duration,
}

impl Wire {
    pub fn error(&self, class: ErrorClass, message: impl std::fmt::Display) -> RequestError {
        RequestError::new(class, format!("{}: ModelInfer: {message}", self.what))
    }
}

/// One call handed to a connection: where to answer and by when.
pub(super) struct Call {
    pub reply: oneshot::Sender<Reply>,
    pub deadline: Instant,
}

/// How a call ended on its connection.
pub(super) enum Reply {
    /// The server answered; the caller reads the status and the message.
    Answered(Response),
    /// The connection could not take the call (it was closing, or the server refused the stream
    /// before processing it): it may go again on a new connection; the error says why if not.
    Retry(RequestError),
    Failed(RequestError),
}

/// A complete response: `:status`, the gRPC status and message from the headers or trailers, and
/// the body (one length-prefixed gRPC message).
#[derive(Default)]
pub(super) struct Response {
    pub status: u16,
    pub grpc_status: Option<Vec<u8>>,
    pub grpc_message: Option<Vec<u8>>,
    pub body: Vec<u8>,
}

struct Stream {
    reply: oneshot::Sender<Reply>,
    response: Response,
    /// What the server may still send on this stream before we give back window.
    unacked: u32,
    send_window: i64,
    /// The part of the request body flow control has held back.
    unsent: Bytes,
}

/// A header block being received (HEADERS and its CONTINUATIONs).
struct PartialBlock {
    stream: u32,
    end_stream: bool,
    block: Vec<u8>,
}

/// How requests are header-encoded on this connection.
#[derive(PartialEq, Eq)]
enum Hpack {
    /// Literals only, until the server's SETTINGS say its table has room.
    Plain,
    /// The next request adds the headers to the server's table.
    Indexing,
    Indexed,
    /// The server shrank its table below what the headers need: literals from now on.
    Off,
}

/// Connects to `wire.authority` and serves the calls that arrive on `calls` until the client
/// is dropped, the server closes the connection, or a GOAWAY retires it.
pub(super) async fn drive(wire: Arc<Wire>, mut calls: mpsc::UnboundedReceiver<Call>) {
    let tcp = match tokio::time::timeout(wire.timeout, TcpStream::connect(&wire.authority)).await {
        Ok(Ok(tcp)) => tcp,
        Ok(Err(error)) => return refuse_all(&wire, &mut calls, error.to_string()),
        Err(_) => {
            let message = format!("no connection within {:?}", wire.timeout);
            return refuse_all(&wire, &mut calls, message);
        }
    };
    let _ = tcp.set_nodelay(true);
    let mut connection = Connection::new(tcp, wire);
    std::future::poll_fn(|cx| connection.poll(cx, &mut calls)).await;
    // Calls that were on their way in when the connection ended go again on a new one.
    calls.close();
    while let Ok(call) = calls.try_recv() {
        connection.waiting.push_back(call);
    }
    connection.hand_back_waiting();
}

/// Every call waiting for a connection that could not be made gets the connect error; later
/// callers find the channel closed and start a new attempt.
fn refuse_all(wire: &Wire, calls: &mut mpsc::UnboundedReceiver<Call>, message: String) {
    calls.close();
    while let Ok(call) = calls.try_recv() {
        let error = RequestError::new(ErrorClass::Connect, format!("{}: {message}", wire.what));
        let _ = call.reply.send(Reply::Failed(error));
    }
}

struct Connection {
    tcp: TcpStream,
    wire: Arc<Wire>,
    decoder: loona_hpack::Decoder<'static>,
    hpack: Hpack,
    /// The table size the server's decoder allows (its SETTINGS_HEADER_TABLE_SIZE).
    peer_table_size: usize,
    /// A dynamic table size update owed at the start of the next header block, after the
    /// server lowered its table size.
    size_update: Option<usize>,
    streams: HashMap<u32, Stream>,
    /// Calls not yet on a stream (the server's stream limit, or a batch being gathered).
    waiting: VecDeque<Call>,
    /// Stream deadlines in the order the streams opened (every call has the same timeout).
    deadlines: VecDeque<(Instant, u32)>,
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
    /// Streams with request body held back by flow control, in the order they were held.
    blocked: VecDeque<u32>,
    next_stream: u32,
    partial: Option<PartialBlock>,
    read: BytesMut,
    write: Vec<u8>,
    written: usize,
    peer_max_frame: usize,
    peer_max_streams: usize,
    peer_initial_window: i64,
    send_window: i64,
    /// Connection-level bytes received that we have not yet given back.
    unacked: u32,
    /// No new streams: a GOAWAY arrived, the ids ran out, or the client went away.
    retiring: bool,
    /// Streams above this id were not processed by the server (from its GOAWAY).
    last_processed: u32,
    /// Set when new calls arrived and the task yielded once so the other callers that are ready
    /// can add theirs to the same write.
    gathered: bool,
}

/// What ends a connection: the class and message its open calls fail with.
struct Fatal(ErrorClass, String);

impl Connection {
    fn new(tcp: TcpStream, wire: Arc<Wire>) -> Connection {
        let mut write = Vec::with_capacity(64 * 1024);
        write.extend_from_slice(wire::PREFACE);
        wire::put_settings(
            &mut write,
            &[
                (wire::SETTINGS_ENABLE_PUSH, 0),
                (wire::SETTINGS_INITIAL_WINDOW_SIZE, STREAM_WINDOW),
            ],
        );
        wire::put_window_update(
            &mut write,
            0,
            CONNECTION_WINDOW - wire::DEFAULT_WINDOW as u32,
        );
        Connection {
            tcp,
            wire,
            decoder: loona_hpack::Decoder::new(),
            hpack: Hpack::Plain,
            peer_table_size: wire::DEFAULT_TABLE_SIZE,
            size_update: None,
            streams: HashMap::new(),
            waiting: VecDeque::new(),
            deadlines: VecDeque::new(),
            timer: None,
            blocked: VecDeque::new(),
            next_stream: 1,
            partial: None,
            read: BytesMut::with_capacity(64 * 1024),
            write,
            written: 0,
            peer_max_frame: wire::DEFAULT_MAX_FRAME,
            peer_max_streams: usize::MAX,
            peer_initial_window: wire::DEFAULT_WINDOW,
            send_window: wire::DEFAULT_WINDOW,
            unacked: 0,
            retiring: false,
            last_processed: LAST_STREAM_ID,
            gathered: false,
        }
    }

    fn poll(
        &mut self,
        cx: &mut Context<'_>,
        calls: &mut mpsc::UnboundedReceiver<Call>,
    ) -> Poll<()> {
        if let Err(Fatal(class, message)) = self.poll_read(cx) {
            self.fail_all(class, &message);
            return Poll::Ready(());
        }
        let mut arrived = false;
        while !self.retiring {
            match calls.poll_recv(cx) {
                Poll::Ready(Some(call)) => {
                    self.waiting.push_back(call);
                    arrived = true;
                }
                // Every sender is gone: the client was dropped.
                Poll::Ready(None) => self.retiring = true,
                Poll::Pending => break,
            }
        }
        if self.retiring {
            calls.close();
            while let Ok(call) = calls.try_recv() {
                self.waiting.push_back(call);
            }
            self.hand_back_waiting();
        }
        // Yield once so that every caller that is ready sends in this batch: the first one's
        // wake would otherwise run this task straight after it (tokio's LIFO slot), one write
        // per request.
        if arrived && !self.gathered {
            self.gathered = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        self.open_streams();
        self.expire(cx);
        match self.poll_flush(cx) {
            Err(Fatal(class, message)) => {
                self.fail_all(class, &message);
                return Poll::Ready(());
            }
            Ok(true) => self.gathered = false,
            Ok(false) => {}
        }
        if self.retiring && self.streams.is_empty() && self.waiting.is_empty() {
            return Poll::Ready(());
        }
        // Every source of work (socket, calls, timer, a pending write) has our waker.
        Poll::Pending
    }

    /// Reads and handles every frame that has arrived; `Err` when the connection is over.
    fn poll_read(&mut self, cx: &mut Context<'_>) -> Result<(), Fatal> {
        loop {
            if self.read.capacity() - self.read.len() < 16 * 1024 {
                self.read.reserve(64 * 1024);
            }
            match self.tcp.try_read_buf(&mut self.read) {
                Ok(0) => {
                    return Err(Fatal(
                        ErrorClass::Io,
                        "the server closed the connection".into(),
                    ))
                }
                Ok(_) => self.handle_frames()?,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    match self.tcp.poll_read_ready(cx) {
                        Poll::Ready(Ok(())) => continue,
                        Poll::Ready(Err(e)) => return Err(Fatal(ErrorClass::Io, e.to_string())),
                        Poll::Pending => return Ok(()),
                    }
                }
                Err(e) => return Err(Fatal(ErrorClass::Io, e.to_string())),
            }
        }
    }

    fn handle_frames(&mut self) -> Result<(), Fatal> {
        let mut read = std::mem::take(&mut self.read);
        let mut at = 0;
        let outcome = loop {
            let Some(bytes) = read.get(at..at + wire::HEAD) else {
                break Ok(());
            };
            let head = Head::parse(bytes);
            if head.len > wire::DEFAULT_MAX_FRAME {
                break Err(protocol(format!(
                    "a {}-byte frame is larger than the 16384 bytes allowed",
                    head.len
                )));
            }
            let Some(payload) = read.get(at + wire::HEAD..at + wire::HEAD + head.len) else {
                break Ok(());
            };
            at += wire::HEAD + head.len;
            if let Err(fatal) = self.handle_frame(head, payload) {
                break Err(fatal);
            }
        };
        read.advance(at);
        self.read = read;
        outcome
    }

    fn handle_frame(&mut self, head: Head, payload: &[u8]) -> Result<(), Fatal> {
        if let Some(partial) = &self.partial {
            if head.kind != wire::CONTINUATION || head.stream != partial.stream {
                return Err(protocol("a header block was interrupted by another frame"));
            }
        }
        match head.kind {
            wire::DATA => self.on_data(head, payload),
            wire::HEADERS => {
                let block = wire::unpadded(payload, head.flags, head.kind)
                    .ok_or_else(|| protocol("a HEADERS frame's padding is longer than it"))?;
                self.partial = Some(PartialBlock {
                    stream: head.stream,
                    end_stream: head.flags & wire::END_STREAM != 0,
                    block: block.to_vec(),
                });
                self.on_header_fragment(head.flags)
            }
            wire::CONTINUATION => {
                let Some(partial) = &mut self.partial else {
                    return Err(protocol("a CONTINUATION frame without a HEADERS frame"));
                };
                partial.block.extend_from_slice(payload);
                if partial.block.len() > MAX_HEADER_BLOCK {
                    return Err(protocol("a response header block is larger than 1 MiB"));
                }
                self.on_header_fragment(head.flags)
            }
            wire::RST_STREAM => {
                let code = be_u32(payload).ok_or_else(|| protocol("a short RST_STREAM frame"))?;
                if let Some(stream) = self.streams.remove(&head.stream) {
                    let reply = if code == wire::REFUSED_STREAM {
                        Reply::Retry(self.reset_error(code))
                    } else {
                        Reply::Failed(self.reset_error(code))
                    };
                    let _ = stream.reply.send(reply);
                }
                Ok(())
            }
            wire::SETTINGS if head.flags & wire::ACK == 0 => self.on_settings(payload),
            wire::PING if head.flags & wire::ACK == 0 => {
                wire::put_ping_ack(&mut self.write, payload);
                Ok(())
            }
            wire::GOAWAY => {
                let last = be_u32(payload).ok_or_else(|| protocol("a short GOAWAY frame"))?;
                let code = payload.get(4..8).and_then(be_u32).unwrap_or(wire::NO_ERROR);
                self.on_goaway(last & LAST_STREAM_ID, code);
                Ok(())
            }
            wire::WINDOW_UPDATE => {
                let increment = be_u32(payload)
                    .ok_or_else(|| protocol("a short WINDOW_UPDATE frame"))?
                    & 0x7fff_ffff;
                if head.stream == 0 {
                    self.send_window += i64::from(increment);
                } else if let Some(stream) = self.streams.get_mut(&head.stream) {
                    stream.send_window += i64::from(increment);
                }
                self.send_blocked();
                Ok(())
            }
            wire::PUSH_PROMISE => Err(protocol("a PUSH_PROMISE although push is disabled")),
            // PRIORITY, acknowledgements and frame types we do not know are ignored.
            _ => Ok(()),
        }
    }

    fn on_data(&mut self, head: Head, payload: &[u8]) -> Result<(), Fatal> {
        // Flow control counts the whole payload, padding included, stream known or not.
        self.unacked += payload.len() as u32;
        if self.unacked >= CONNECTION_WINDOW / 2 {
            wire::put_window_update(&mut self.write, 0, self.unacked);
            self.unacked = 0;
        }
        let data = wire::unpadded(payload, head.flags, head.kind)
            .ok_or_else(|| protocol("a DATA frame's padding is longer than it"))?;
        let end = head.flags & wire::END_STREAM != 0;
        let Some(stream) = self.streams.get_mut(&head.stream) else {
            return Ok(());
        };
        if stream.response.body.len() + data.len() > MAX_MESSAGE + 5 {
            let error = self
                .wire
                .error(ErrorClass::Decode, "the response message exceeds 1 GiB");
            self.cancel(head.stream, Reply::Failed(error));
            return Ok(());
        }
        stream.response.body.extend_from_slice(data);
        stream.unacked += payload.len() as u32;
        if end {
            self.finish(head.stream);
        } else if stream.unacked >= STREAM_WINDOW / 2 {
            wire::put_window_update(&mut self.write, head.stream, stream.unacked);
            stream.unacked = 0;
        }
        Ok(())
    }

    fn on_header_fragment(&mut self, flags: u8) -> Result<(), Fatal> {
        if flags & wire::END_HEADERS == 0 {
            return Ok(());
        }
        let Some(partial) = self.partial.take() else {
            return Ok(());
        };
        // Every block is decoded, for a stream we forgot too: the HPACK table must stay in step.
        let (mut status, mut grpc_status, mut grpc_message) = (None, None, None);
        self.decoder
            .decode_with_cb(&partial.block, |name, value| match &*name {
                b":status" => status = Some(value.into_owned()),
                b"grpc-status" => grpc_status = Some(value.into_owned()),
                b"grpc-message" => grpc_message = Some(value.into_owned()),
                _ => {}
            })
            .map_err(|e| protocol(format!("cannot decode a response header block: {e:?}")))?;
        let Some(stream) = self.streams.get_mut(&partial.stream) else {
            return Ok(());
        };
        if let Some(status) = status {
            stream.response.status = std::str::from_utf8(&status)
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
        }
        if grpc_status.is_some() {
            stream.response.grpc_status = grpc_status;
            stream.response.grpc_message = grpc_message;
        }
        if partial.end_stream {
            self.finish(partial.stream);
        }
        Ok(())
    }

    fn on_settings(&mut self, payload: &[u8]) -> Result<(), Fatal> {
        if payload.len() % 6 != 0 {
            return Err(protocol("a SETTINGS frame's length is not a multiple of 6"));
        }
        let mut table_size = None;
        for setting in payload.chunks_exact(6) {
            let id = u16::from_be_bytes([setting[0], setting[1]]);
            let value = u32::from_be_bytes([setting[2], setting[3], setting[4], setting[5]]);
            match id {
                wire::SETTINGS_HEADER_TABLE_SIZE => table_size = Some(value as usize),
                wire::SETTINGS_MAX_CONCURRENT_STREAMS => self.peer_max_streams = value as usize,
                wire::SETTINGS_INITIAL_WINDOW_SIZE => {
                    let delta = i64::from(value) - self.peer_initial_window;
                    self.peer_initial_window = i64::from(value);
                    for stream in self.streams.values_mut() {
                        stream.send_window += delta;
                    }
                }
                wire::SETTINGS_MAX_FRAME_SIZE => {
                    self.peer_max_frame = (value as usize).clamp(wire::DEFAULT_MAX_FRAME, 1 << 24)
                }
                _ => {}
            }
        }
        wire::put_settings_ack(&mut self.write);
        if let Some(size) = table_size {
            if size < self.peer_table_size {
                self.size_update = Some(size);
            }
            self.peer_table_size = size;
        }
        let needed = self.wire.blocks.table_size;
        match self.hpack {
            Hpack::Plain if needed > 0 && self.peer_table_size >= needed => {
                self.hpack = Hpack::Indexing
            }
            // Entries past the new size are evicted: ours may be gone.
            Hpack::Indexing | Hpack::Indexed if self.peer_table_size < needed => {
                self.hpack = Hpack::Off
            }
            _ => {}
        }
        self.send_blocked();
        Ok(())
    }

    fn on_goaway(&mut self, last: u32, code: u32) {
        self.retiring = true;
        self.last_processed = self.last_processed.min(last);
        let unprocessed: Vec<u32> = self
            .streams
            .keys()
            .copied()
            .filter(|&id| id > self.last_processed)
            .collect();
        for id in unprocessed {
            if let Some(stream) = self.streams.remove(&id) {
                let error = self.wire.error(
                    ErrorClass::GrpcCode("unavailable".into()),
                    format!(
                        "the server is closing the connection (GOAWAY {})",
                        code_name(code)
                    ),
                );
                let _ = stream.reply.send(Reply::Retry(error));
            }
        }
        self.hand_back_waiting();
    }

    /// Calls that never got a stream go back to their callers to be tried on a new connection.
    fn hand_back_waiting(&mut self) {
        for call in self.waiting.drain(..) {
            let error = self.wire.error(ErrorClass::Io, "the connection is closing");
            let _ = call.reply.send(Reply::Retry(error));
        }
    }

    fn finish(&mut self, id: u32) {
        if let Some(stream) = self.streams.remove(&id) {
            if !stream.unsent.is_empty() {
                // The server answered before reading the whole request: stop sending it.
                wire::put_rst_stream(&mut self.write, id, wire::CANCEL);
            }
            let _ = stream.reply.send(Reply::Answered(stream.response));
        }
    }

    /// Ends stream `id` on our side: the server is told to stop, the caller gets `reply`.
    fn cancel(&mut self, id: u32, reply: Reply) {
        if let Some(stream) = self.streams.remove(&id) {
            wire::put_rst_stream(&mut self.write, id, wire::CANCEL);
            let _ = stream.reply.send(reply);
        }
    }

    /// Opens a stream for every waiting call the server's stream limit allows.
    fn open_streams(&mut self) {
        while !self.retiring && self.streams.len() < self.peer_max_streams {
            let Some(call) = self.waiting.pop_front() else {
                return;
            };
            if call.reply.is_closed() {
                continue;
            }
            let id = self.next_stream;
            if id > LAST_STREAM_ID {
                self.retiring = true;
                self.waiting.push_front(call);
                self.hand_back_waiting();
                return;
            }
            self.next_stream += 2;
            let block = match self.hpack {
                Hpack::Plain | Hpack::Off => &self.wire.blocks.plain,
                Hpack::Indexing => &self.wire.blocks.indexing,
                Hpack::Indexed => &self.wire.blocks.indexed,
            };
            match self.size_update.take() {
                // Rare (the server lowered its table size): the update goes first.
                Some(size) => {
                    let mut updated = Vec::with_capacity(8 + block.len());
                    wire::put_int(&mut updated, 0x20, 5, size);
                    updated.extend_from_slice(block);
                    wire::put_header_block(
                        &mut self.write,
                        id,
                        &updated,
                        false,
                        self.peer_max_frame,
                    );
                }
                None => {
                    wire::put_header_block(&mut self.write, id, block, false, self.peer_max_frame)
                }
            }
            if self.hpack == Hpack::Indexing {
                self.hpack = Hpack::Indexed;
            }
            self.deadlines.push_back((call.deadline, id));
            let mut stream = Stream {
                reply: call.reply,
                response: Response::default(),
                unacked: 0,
                send_window: self.peer_initial_window,
                unsent: self.wire.body.clone(),
            };
            self.send_data(id, &mut stream);
            let held = !stream.unsent.is_empty();
            self.streams.insert(id, stream);
            if held {
                self.blocked.push_back(id);
            }
        }
    }

    /// Sends as much of the stream's request body as the windows allow.
    fn send_data(&mut self, id: u32, stream: &mut Stream) {
        while !stream.unsent.is_empty() {
            let room = self.send_window.min(stream.send_window);
            if room <= 0 {
                return;
            }
            let len = stream
                .unsent
                .len()
                .min(self.peer_max_frame)
                .min(room as usize);
            let chunk = stream.unsent.split_to(len);
            let end = if stream.unsent.is_empty() {
                wire::END_STREAM
            } else {
                0
            };
            wire::put_head(&mut self.write, len, wire::DATA, end, id);
            self.write.extend_from_slice(&chunk);
            self.send_window -= len as i64;
            stream.send_window -= len as i64;
        }
    }

    /// Sends held-back request bodies after the windows grew, oldest first.
    fn send_blocked(&mut self) {
        for _ in 0..self.blocked.len() {
            if self.send_window <= 0 {
                return;
            }
            let Some(id) = self.blocked.pop_front() else {
                return;
            };
            let Some(mut stream) = self.streams.remove(&id) else {
                continue;
            };
            self.send_data(id, &mut stream);
            if !stream.unsent.is_empty() {
                self.blocked.push_back(id);
            }
            self.streams.insert(id, stream);
        }
    }

    /// Times out calls past their deadline, on one timer for the connection. Deadlines only grow
    /// (one timeout for every call), so the timer is armed at the oldest and re-armed when it
    /// fires.
    fn expire(&mut self, cx: &mut Context<'_>) {
        loop {
            while let Some(&(_, id)) = self.deadlines.front() {
                if self.streams.contains_key(&id) {
                    break;
                }
                self.deadlines.pop_front();
            }
            let next = match (self.deadlines.front(), self.waiting.front()) {
                (Some(&(a, _)), Some(b)) => a.min(b.deadline),
                (Some(&(a, _)), None) => a,
                (None, Some(b)) => b.deadline,
                (None, None) => return,
            };
            let timer = self
                .timer
                .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(next.into())));
            if timer.as_mut().poll(cx).is_pending() {
                return;
            }
            self.timer = None;
            let now = Instant::now();
            while let Some(&(deadline, id)) = self.deadlines.front() {
                if deadline > now {
                    break;
                }
                self.deadlines.pop_front();
                let error = self.timeout_error();
                self.cancel(id, Reply::Failed(error));
            }
            while self.waiting.front().is_some_and(|c| c.deadline <= now) {
                if let Some(call) = self.waiting.pop_front() {
                    let _ = call.reply.send(Reply::Failed(self.timeout_error()));
                }
            }
        }
    }

    fn timeout_error(&self) -> RequestError {
        self.wire.error(
            ErrorClass::Timeout,
            format!("no response within {:?}", self.wire.timeout),
        )
    }

    /// Writes what is queued; `Ok(true)` when all of it went out.
    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Result<bool, Fatal> {
        while self.written < self.write.len() {
            match self.tcp.try_write(&self.write[self.written..]) {
                Ok(n) => self.written += n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    match self.tcp.poll_write_ready(cx) {
                        Poll::Ready(Ok(())) => continue,
                        Poll::Ready(Err(e)) => return Err(Fatal(ErrorClass::Io, e.to_string())),
                        Poll::Pending => return Ok(false),
                    }
                }
                Err(e) => return Err(Fatal(ErrorClass::Io, e.to_string())),
            }
        }
        self.write.clear();
        self.written = 0;
        Ok(true)
    }

    /// The connection is over: calls on streams fail with its error, calls that never went out
    /// may be retried on a new connection.
    fn fail_all(&mut self, class: ErrorClass, message: &str) {
        for (_, stream) in self.streams.drain() {
            let error = self.wire.error(class.clone(), message);
            let _ = stream.reply.send(Reply::Failed(error));
        }
        self.retiring = true;
        self.hand_back_waiting();
    }

    fn reset_error(&self, code: u32) -> RequestError {
        let grpc_code = match code {
            // NO_ERROR: a graceful close that the stream could not outlive.
            0x0 | wire::REFUSED_STREAM => "unavailable",
            wire::CANCEL => "cancelled",
            0xb => "resource_exhausted",
            0xc => "permission_denied",
            _ => "internal",
        };
        self.wire.error(
            ErrorClass::GrpcCode(grpc_code.into()),
            format!("the server reset the stream ({})", code_name(code)),
        )
    }
}

fn protocol(message: impl Into<String>) -> Fatal {
    Fatal(
        ErrorClass::Decode,
        format!("malformed HTTP/2 from the server: {}", message.into()),
    )
}

fn be_u32(bytes: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(bytes.get(..4)?.try_into().ok()?))
}

/// RFC 9113 §7's name for an error code.
fn code_name(code: u32) -> String {
    let name = match code {
        0x0 => "NO_ERROR",
        0x1 => "PROTOCOL_ERROR",
        0x2 => "INTERNAL_ERROR",
        0x3 => "FLOW_CONTROL_ERROR",
        0x4 => "SETTINGS_TIMEOUT",
        0x5 => "STREAM_CLOSED",
        0x6 => "FRAME_SIZE_ERROR",
        0x7 => "REFUSED_STREAM",
        0x8 => "CANCEL",
        0x9 => "COMPRESSION_ERROR",
        0xa => "CONNECT_ERROR",
        0xb => "ENHANCE_YOUR_CALM",
        0xc => "INADEQUATE_SECURITY",
        0xd => "HTTP_1_1_REQUIRED",
        other => return format!("error code {other:#x}"),
    };
    name.to_string()
}
