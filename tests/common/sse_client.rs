//! A plain HTTP/1.1 client for one streamed OpenAI-compatible request, over a blocking loopback
//! socket, that reads the answer with the library's SSE decoder and stream tracker: the tests'
//! independent check of what a server sent (the reference LLM server, llama.cpp's).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use model_bench::remote::llm::{parse_event, SseDecoder, StreamEvent, StreamRecord, StreamTracker};

/// What one streamed request gave: its record or error, and the HTTP status.
pub struct Answer {
    /// When the request was written.
    pub sent: Instant,
    pub status: u16,
    pub record: Result<StreamRecord, model_bench::remote::error::RequestError>,
    pub body: String,
    /// The generated text: every text event's text, in order.
    pub text: String,
}

/// POSTs `body` to `path` and reads the answer as a client would: the event stream decoded as
/// it arrives, each event stamped with the time (since the request was written) of the read
/// that completed it.
pub fn post(url: &str, path: &str, body: &str) -> Answer {
    let address = url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).expect("connect to the LLM server");
    stream.set_nodelay(true).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let sent = Instant::now();
    stream.write_all(request.as_bytes()).unwrap();

    let mut raw = Vec::new();
    let mut buffer = [0u8; 16 * 1024];
    // Headers first.
    let header_end = loop {
        let read = stream.read(&mut buffer).unwrap();
        assert!(read > 0, "the server closed before its headers");
        raw.extend_from_slice(&buffer[..read]);
        if let Some(at) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    let head = String::from_utf8_lossy(&raw[..header_end]).to_string();
    let status: u16 = head[9..12].parse().unwrap();
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    let mut pending = raw[header_end..].to_vec();

    let mut decoder = SseDecoder::new();
    let mut tracker = StreamTracker::new();
    let mut events = Vec::new();
    let mut text = String::new();
    let mut generated = String::new();
    let mut at_ns = sent.elapsed().as_nanos() as u64;
    let mut ended = false;
    loop {
        // Hand every complete HTTP chunk (or, without chunking, every byte) to the decoder.
        let mut payload = Vec::new();
        if chunked {
            while let Some(line_end) = pending.windows(2).position(|w| w == b"\r\n") {
                let size_text = String::from_utf8_lossy(&pending[..line_end]).to_string();
                let size = usize::from_str_radix(size_text.trim(), 16).unwrap();
                if pending.len() < line_end + 2 + size + 2 {
                    break;
                }
                payload.extend_from_slice(&pending[line_end + 2..line_end + 2 + size]);
                pending.drain(..line_end + 2 + size + 2);
                if size == 0 {
                    ended = true;
                    break;
                }
            }
        } else {
            payload.append(&mut pending);
        }
        text.push_str(&String::from_utf8_lossy(&payload));
        let counts = decoder.feed(&payload, &mut events).unwrap();
        tracker.comments(counts.comments);
        for event in events.drain(..) {
            let event = parse_event(&event).unwrap();
            if let StreamEvent::Chunk(chunk) = &event {
                generated.push_str(&chunk.reasoning);
                generated.push_str(&chunk.content);
            }
            tracker.event(at_ns, event);
        }
        if ended {
            break;
        }
        let read = stream.read(&mut buffer).unwrap();
        at_ns = sent.elapsed().as_nanos() as u64;
        if read == 0 {
            break;
        }
        pending.extend_from_slice(&buffer[..read]);
    }
    let record = tracker.finish(at_ns, decoder.has_partial_event());
    Answer {
        sent,
        status,
        record,
        body: text,
        text: generated,
    }
}
