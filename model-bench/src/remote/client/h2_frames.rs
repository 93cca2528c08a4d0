//! HTTP/2 on the wire for the gRPC driver (RFC 9113): frame heads, the few frames a client
//! writes, and the request's header block, HPACK-encoded once per endpoint (RFC 7541) in the
//! three forms a connection needs. Pure byte work: no I/O, no state beyond what is passed in.

/// What a client sends before anything else.
pub(super) const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// A frame head's length.
pub(super) const HEAD: usize = 9;
/// The frame size every peer accepts until it says otherwise (and the largest we accept, since
/// we never raise it).
pub(super) const DEFAULT_MAX_FRAME: usize = 16_384;
/// The flow-control window of a new stream or connection until a peer says otherwise.
pub(super) const DEFAULT_WINDOW: i64 = 65_535;
/// The HPACK table a peer's decoder keeps until it says otherwise.
pub(super) const DEFAULT_TABLE_SIZE: usize = 4_096;

pub(super) const DATA: u8 = 0x0;
pub(super) const HEADERS: u8 = 0x1;
pub(super) const RST_STREAM: u8 = 0x3;
pub(super) const SETTINGS: u8 = 0x4;
pub(super) const PUSH_PROMISE: u8 = 0x5;
pub(super) const PING: u8 = 0x6;
pub(super) const GOAWAY: u8 = 0x7;
pub(super) const WINDOW_UPDATE: u8 = 0x8;
pub(super) const CONTINUATION: u8 = 0x9;

pub(super) const END_STREAM: u8 = 0x1;
pub(super) const ACK: u8 = 0x1;
pub(super) const END_HEADERS: u8 = 0x4;
pub(super) const PADDED: u8 = 0x8;
pub(super) const PRIORITY: u8 = 0x20;

pub(super) const SETTINGS_HEADER_TABLE_SIZE: u16 = 0x1;
pub(super) const SETTINGS_ENABLE_PUSH: u16 = 0x2;
pub(super) const SETTINGS_MAX_CONCURRENT_STREAMS: u16 = 0x3;
pub(super) const SETTINGS_INITIAL_WINDOW_SIZE: u16 = 0x4;
pub(super) const SETTINGS_MAX_FRAME_SIZE: u16 = 0x5;

pub(super) const NO_ERROR: u32 = 0x0;
pub(super) const REFUSED_STREAM: u32 = 0x7;
pub(super) const CANCEL: u32 = 0x8;

/// A frame's head: payload length, type, flags and stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Head {
    pub len: usize,
    pub kind: u8,
    pub flags: u8,
    pub stream: u32,
}

impl Head {
    /// The head at the start of `bytes`, which holds at least [`HEAD`] bytes.
    pub fn parse(bytes: &[u8]) -> Head {
        Head {
            len: (usize::from(bytes[0]) << 16)
                | (usize::from(bytes[1]) << 8)
                | usize::from(bytes[2]),
            kind: bytes[3],
            flags: bytes[4],
            stream: u32::from_be_bytes([bytes[5], bytes[6], bytes[7], bytes[8]]) & 0x7fff_ffff,
        }
    }
}

pub(super) fn put_head(out: &mut Vec<u8>, len: usize, kind: u8, flags: u8, stream: u32) {
    let len = len as u32;
    out.extend_from_slice(&[(len >> 16) as u8, (len >> 8) as u8, len as u8, kind, flags]);
    out.extend_from_slice(&(stream & 0x7fff_ffff).to_be_bytes());
}

pub(super) fn put_settings(out: &mut Vec<u8>, settings: &[(u16, u32)]) {
    put_head(out, settings.len() * 6, SETTINGS, 0, 0);
    for &(id, value) in settings {
        out.extend_from_slice(&id.to_be_bytes());
        out.extend_from_slice(&value.to_be_bytes());
    }
}

pub(super) fn put_settings_ack(out: &mut Vec<u8>) {
    put_head(out, 0, SETTINGS, ACK, 0);
}

pub(super) fn put_ping_ack(out: &mut Vec<u8>, payload: &[u8]) {
    put_head(out, payload.len(), PING, ACK, 0);
    out.extend_from_slice(payload);
}

pub(super) fn put_window_update(out: &mut Vec<u8>, stream: u32, increment: u32) {
    put_head(out, 4, WINDOW_UPDATE, 0, stream);
    out.extend_from_slice(&(increment & 0x7fff_ffff).to_be_bytes());
}

pub(super) fn put_rst_stream(out: &mut Vec<u8>, stream: u32, code: u32) {
    put_head(out, 4, RST_STREAM, 0, stream);
    out.extend_from_slice(&code.to_be_bytes());
}

/// A header block as HEADERS and, past the peer's frame size, CONTINUATION frames.
pub(super) fn put_header_block(
    out: &mut Vec<u8>,
    stream: u32,
    block: &[u8],
    end_stream: bool,
    max_frame: usize,
) {
    let mut chunks = block.chunks(max_frame.max(1)).peekable();
    let mut kind = HEADERS;
    let end = if end_stream { END_STREAM } else { 0 };
    if chunks.peek().is_none() {
        put_head(out, 0, HEADERS, end | END_HEADERS, stream);
        return;
    }
    while let Some(chunk) = chunks.next() {
        let last = chunks.peek().is_none();
        let flags = if kind == HEADERS { end } else { 0 } | if last { END_HEADERS } else { 0 };
        put_head(out, chunk.len(), kind, flags, stream);
        out.extend_from_slice(chunk);
        kind = CONTINUATION;
    }
}

/// The payload of a DATA or HEADERS frame without its padding (and, for HEADERS, without its
/// priority fields); `None` when the padding is longer than the frame.
pub(super) fn unpadded(payload: &[u8], flags: u8, kind: u8) -> Option<&[u8]> {
    let (pad, rest) = if flags & PADDED != 0 {
        let (&pad, rest) = payload.split_first()?;
        (usize::from(pad), rest)
    } else {
        (0, payload)
    };
    let skip = if kind == HEADERS && flags & PRIORITY != 0 {
        5
    } else {
        0
    };
    rest.get(skip..rest.len().checked_sub(pad)?)
}

/// One request header: name, value, and whether it is a secret that no table may keep.
pub(super) struct Field<'a> {
    pub name: &'a str,
    pub value: &'a str,
    pub sensitive: bool,
}

impl<'a> Field<'a> {
    /// A header the server's HPACK table may keep.
    pub fn plain(name: &'a str, value: &'a str) -> Field<'a> {
        Field {
            name,
            value,
            sensitive: false,
        }
    }

    /// A header that may carry a credential: always a never-indexed literal.
    pub fn secret(name: &'a str, value: &'a str) -> Field<'a> {
        Field {
            name,
            value,
            sensitive: true,
        }
    }
}

/// The request's header block, encoded once, in the three forms a connection uses: `plain`
/// (literals that leave the peer's HPACK table alone; always valid), `indexing` (the same
/// headers, added to the peer's table: sent once, after the peer's SETTINGS allow the room) and
/// `indexed` (references to those entries: every request after that).
#[derive(Debug, Clone)]
pub(super) struct HeaderBlocks {
    pub plain: Vec<u8>,
    pub indexing: Vec<u8>,
    pub indexed: Vec<u8>,
    /// The room `indexing` takes in the peer's table (RFC 7541 §4.1 sizes).
    pub table_size: usize,
}

/// HPACK static-table entries the request uses (RFC 7541 Appendix A).
const STATIC_AUTHORITY: usize = 1;
const STATIC_METHOD_POST: usize = 3;
const STATIC_PATH: usize = 4;
const STATIC_SCHEME_HTTP: usize = 6;
const STATIC_CONTENT_TYPE: usize = 31;
const STATIC_USER_AGENT: usize = 58;
/// The first dynamic-table index.
const FIRST_DYNAMIC: usize = 62;

fn static_name(name: &str) -> usize {
    match name {
        ":authority" => STATIC_AUTHORITY,
        ":path" => STATIC_PATH,
        "content-type" => STATIC_CONTENT_TYPE,
        "user-agent" => STATIC_USER_AGENT,
        _ => 0,
    }
}

impl HeaderBlocks {
    /// `POST` over `http` with `fields` (`:path`, `:authority` and the rest, names lowercase).
    pub fn new(fields: &[Field<'_>]) -> HeaderBlocks {
        let mut plain = Vec::new();
        let mut indexing = Vec::new();
        let mut indexed = Vec::new();
        for out in [&mut plain, &mut indexing, &mut indexed] {
            put_int(out, 0x80, 7, STATIC_METHOD_POST);
            put_int(out, 0x80, 7, STATIC_SCHEME_HTTP);
        }
        let mut table_size = 0;
        let kept: Vec<&Field<'_>> = fields.iter().filter(|f| !f.sensitive).collect();
        for (i, field) in kept.iter().enumerate() {
            put_literal(&mut plain, 0x00, 4, field);
            put_literal(&mut indexing, 0x40, 6, field);
            // Each entry added pushes the earlier ones one index further.
            put_int(&mut indexed, 0x80, 7, FIRST_DYNAMIC + kept.len() - 1 - i);
            table_size += field.name.len() + field.value.len() + 32;
        }
        for field in fields.iter().filter(|f| f.sensitive) {
            for out in [&mut plain, &mut indexing, &mut indexed] {
                put_literal(out, 0x10, 4, field);
            }
        }
        HeaderBlocks {
            plain,
            indexing,
            indexed,
            table_size,
        }
    }
}

/// A literal field: `pattern` with an `prefix`-bit name index (0: the name follows).
fn put_literal(out: &mut Vec<u8>, pattern: u8, prefix: u8, field: &Field<'_>) {
    let name = static_name(field.name);
    put_int(out, pattern, prefix, name);
    if name == 0 {
        put_string(out, field.name.as_bytes());
    }
    put_string(out, field.value.as_bytes());
}

fn put_string(out: &mut Vec<u8>, bytes: &[u8]) {
    put_int(out, 0x00, 7, bytes.len());
    out.extend_from_slice(bytes);
}

/// An HPACK integer with a `prefix`-bit prefix under the bits of `pattern` (RFC 7541 §5.1).
pub(super) fn put_int(out: &mut Vec<u8>, pattern: u8, prefix: u8, value: usize) {
    let max = (1usize << prefix) - 1;
    if value < max {
        out.push(pattern | value as u8);
        return;
    }
    out.push(pattern | max as u8);
    let mut rest = value - max;
    while rest >= 128 {
        out.push((rest % 128) as u8 | 0x80);
        rest /= 128;
    }
    out.push(rest as u8);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(decoder: &mut loona_hpack::Decoder<'_>, block: &[u8]) -> Vec<(String, String)> {
        decoder
            .decode(block)
            .expect("a valid block")
            .into_iter()
            .map(|(n, v)| {
                (
                    String::from_utf8(n).expect("ASCII"),
                    String::from_utf8(v).expect("ASCII"),
                )
            })
            .collect()
    }

    #[test]
    fn the_three_header_blocks_decode_to_the_same_headers() {
        let long = "x".repeat(300);
        let fields = [
            Field::plain(":path", "/inference.GRPCInferenceService/ModelInfer"),
            Field::plain(":authority", "127.0.0.1:8001"),
            Field::plain("content-type", "application/grpc"),
            Field::plain("te", "trailers"),
            Field::plain("x-long", &long),
            Field::secret("authorization", "Bearer secret"),
        ];
        let blocks = HeaderBlocks::new(&fields);
        let mut want = vec![
            (":method".to_string(), "POST".to_string()),
            (":scheme".to_string(), "http".to_string()),
        ];
        let (secret, kept): (Vec<_>, Vec<_>) = fields.iter().partition(|f| f.sensitive);
        want.extend(
            kept.iter()
                .chain(&secret)
                .map(|f| (f.name.to_string(), f.value.to_string())),
        );
        // A decoder that sees plain, then indexing, then indexed (twice) reads the same list each
        // time: this is the order a connection sends them in.
        let mut decoder = loona_hpack::Decoder::new();
        assert_eq!(decode(&mut decoder, &blocks.plain), want);
        assert_eq!(decode(&mut decoder, &blocks.indexing), want);
        assert_eq!(decode(&mut decoder, &blocks.indexed), want);
        assert_eq!(decode(&mut decoder, &blocks.indexed), want);
        // One byte per kept header; only the secret is spelled out again.
        let secret_literal = 1 + 1 + "authorization".len() + 1 + "Bearer secret".len();
        assert_eq!(blocks.indexed.len(), 2 + kept.len() + secret_literal);
        assert_eq!(
            blocks.table_size,
            kept.iter()
                .map(|f| f.name.len() + f.value.len() + 32)
                .sum::<usize>()
        );
    }

    #[test]
    fn integers_follow_rfc_7541_c1() {
        let mut out = Vec::new();
        put_int(&mut out, 0, 5, 10);
        put_int(&mut out, 0, 5, 1337);
        put_int(&mut out, 0, 8, 42);
        assert_eq!(out, [10, 31, 154, 10, 42]);
    }

    #[test]
    fn long_header_blocks_go_on_in_continuation_frames() {
        let block: Vec<u8> = (0..=250).collect();
        let mut out = Vec::new();
        put_header_block(&mut out, 3, &block, true, 100);
        let heads: Vec<Head> = [0, 109, 218]
            .iter()
            .map(|&at| Head::parse(&out[at..]))
            .collect();
        assert_eq!(
            heads,
            [
                Head {
                    len: 100,
                    kind: HEADERS,
                    flags: END_STREAM,
                    stream: 3
                },
                Head {
                    len: 100,
                    kind: CONTINUATION,
                    flags: 0,
                    stream: 3
                },
                Head {
                    len: 51,
                    kind: CONTINUATION,
                    flags: END_HEADERS,
                    stream: 3
                },
            ]
        );
        assert_eq!(out.len(), 3 * HEAD + block.len());
    }

    #[test]
    fn padding_and_priority_are_stripped_and_overlong_padding_is_refused() {
        assert_eq!(
            unpadded(&[2, b'a', b'b', 0, 0], PADDED, DATA),
            Some(&b"ab"[..])
        );
        assert_eq!(
            unpadded(&[0, 0, 0, 1, 16, b'h'], PRIORITY, HEADERS),
            Some(&b"h"[..])
        );
        assert_eq!(unpadded(&[9, b'a'], PADDED, DATA), None);
        assert_eq!(unpadded(&[], PADDED, DATA), None);
    }
}
