//! The reference LLM server's token streams, read over a real loopback socket and measured with
//! the library's stream decoder and tracker: every figure is checked against what the server's
//! script makes it (lower bounds exact, since a server never sends early; upper bounds with the
//! slack of a 1 ms timer and a shared machine), and each way a stream can break is its own error.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

use model_bench::remote::error::ErrorClass;
use model_bench::remote::llm::{Stall, TokenScript, TokenSource};
use model_bench::server::LlmServer;

#[allow(dead_code)]
mod common;
#[path = "common/sse_client.rs"]
mod sse_client;

use sse_client::post;

const MS: u64 = 1_000_000;
/// What a timer tick, a thread wake-up and loopback may add on a busy two-core machine.
const SLACK_NS: u64 = 40 * MS;

fn chat(model: &str, max_tokens: u32, usage: bool) -> String {
    format!(
        r#"{{"model":"{model}","stream":true,"max_tokens":{max_tokens},"messages":[{{"role":"user","content":"say something {max_tokens}"}}],"stream_options":{{"include_usage":{usage}}}}}"#
    )
}

fn ms(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

#[test]
fn a_chat_stream_gives_the_ttft_gaps_and_tokens_of_its_script() {
    let script = TokenScript {
        ttft: ms(60),
        itl: ms(8),
        ..TokenScript::default()
    };
    let server = LlmServer::start("tiny", script).unwrap();
    let answer = post(
        &server.url(),
        "/v1/chat/completions",
        &chat("tiny", 10, true),
    );
    assert_eq!(answer.status, 200, "{}", answer.body);
    let record = answer.record.unwrap();
    // Ten tokens of text, one per event.
    assert_eq!(
        answer.text.split_whitespace().count(),
        10,
        "{}",
        answer.text
    );
    // The role-only chunk leaves at once and is not a token: TTFT is the first text's.
    assert!(
        answer.body.contains(r#""role":"assistant""#),
        "{}",
        answer.body
    );
    let ttft = record.ttft_ns.unwrap();
    assert!(
        (60 * MS..60 * MS + SLACK_NS).contains(&ttft),
        "ttft {ttft} ns"
    );
    assert_eq!(record.content_events, 10);
    assert_eq!(
        (record.output_tokens, record.token_source),
        (10, TokenSource::Usage)
    );
    assert_eq!(record.prompt_tokens, Some(3));
    assert_eq!(record.finish_reason.as_deref(), Some("length"));
    // Nine gaps; the chunks are due 8 ms apart from the first, so together they span at least
    // 72 ms (one gap may be short when the one before it was late).
    assert_eq!(record.chunk_gaps_ns.len(), 9);
    let span: u64 = record.chunk_gaps_ns.iter().sum();
    assert!(
        (72 * MS - MS..72 * MS + SLACK_NS).contains(&span),
        "span {span}"
    );
    let itl = record.itl_per_request_ns().unwrap();
    assert!(itl >= (8 * MS) as f64 - (MS as f64), "itl {itl}");
}

#[test]
fn completions_with_multi_token_chunks_give_one_gap_per_chunk_and_usage_counts_the_tokens() {
    let script = TokenScript {
        ttft: ms(30),
        itl: ms(5),
        tokens_per_chunk: 4,
        ..TokenScript::default()
    };
    let server = LlmServer::start("tiny", script).unwrap();
    let body = r#"{"model":"tiny","stream":true,"max_tokens":10,"prompt":"one two three four","stream_options":{"include_usage":true}}"#;
    let record = post(&server.url(), "/v1/completions", body).record.unwrap();
    // 10 tokens in chunks of 4, 4, 2: three text events, 20 ms apart.
    assert_eq!(record.content_events, 3);
    assert_eq!(
        (record.output_tokens, record.token_source),
        (10, TokenSource::Usage)
    );
    assert_eq!(record.prompt_tokens, Some(4));
    let span: u64 = record.chunk_gaps_ns.iter().sum();
    assert!(
        (40 * MS - MS..40 * MS + SLACK_NS).contains(&span),
        "span {span}"
    );
}

#[test]
fn without_a_usage_chunk_the_tokens_are_the_text_events_and_keep_alives_are_counted() {
    let script = TokenScript {
        ttft: ms(5),
        itl: ms(1),
        usage: false,
        keep_alive_every: Some(2),
        ..TokenScript::default()
    };
    let server = LlmServer::start("tiny", script).unwrap();
    let answer = post(
        &server.url(),
        "/v1/chat/completions",
        &chat("tiny", 10, true),
    );
    let record = answer.record.unwrap();
    assert!(!answer.body.contains("\"usage\""), "{}", answer.body);
    assert_eq!(
        (record.output_tokens, record.token_source),
        (10, TokenSource::ContentEvents)
    );
    assert_eq!(record.comments, 5);
}

#[test]
fn an_error_after_the_status_and_a_cut_stream_are_errors_of_their_own_class() {
    let erring = LlmServer::start(
        "tiny",
        TokenScript {
            ttft: ms(5),
            itl: ms(1),
            error_after_chunks: Some(3),
            ..TokenScript::default()
        },
    )
    .unwrap();
    let answer = post(
        &erring.url(),
        "/v1/chat/completions",
        &chat("tiny", 10, true),
    );
    assert_eq!(answer.status, 200);
    let error = answer.record.unwrap_err();
    assert_eq!(error.class, ErrorClass::StreamError, "{error}");
    assert!(
        error.message.contains("scripted error after 3 chunk(s)"),
        "{error}"
    );
    assert!(error.message.contains("after 3 text event(s)"), "{error}");

    let cut = LlmServer::start(
        "tiny",
        TokenScript {
            ttft: ms(5),
            itl: ms(1),
            truncate_after_chunks: Some(4),
            ..TokenScript::default()
        },
    )
    .unwrap();
    let error = post(&cut.url(), "/v1/chat/completions", &chat("tiny", 10, true))
        .record
        .unwrap_err();
    assert_eq!(error.class, ErrorClass::StreamTruncated, "{error}");
    assert!(error.message.contains("after 4 text event(s)"), "{error}");
}

#[test]
fn a_stall_holds_the_first_token_and_a_full_server_queues_the_next_stream() {
    // The server stalls for its first 400 ms: a request sent at once gets its first token at
    // the stall's end, whatever its 10 ms TTFT says.
    let before_start = Instant::now();
    let stalling = LlmServer::start(
        "tiny",
        TokenScript {
            ttft: ms(10),
            itl: ms(1),
            stall: Some(Stall {
                stall: ms(400),
                period: ms(60_000),
            }),
            ..TokenScript::default()
        },
    )
    .unwrap();
    let answer = post(
        &stalling.url(),
        "/v1/chat/completions",
        &chat("tiny", 4, false),
    );
    let sent_after_start = (answer.sent - before_start).as_nanos() as u64;
    let record = answer.record.unwrap();
    let ttft = record.ttft_ns.unwrap();
    assert!(
        ttft + sent_after_start >= 400 * MS - MS,
        "ttft {ttft} ns, sent {sent_after_start} ns after the server started"
    );
    assert_eq!(record.token_source, TokenSource::ContentEvents);

    // One stream at a time, each 100 ms long: of two sent together, one waits for the other.
    let single = LlmServer::start(
        "tiny",
        TokenScript {
            ttft: ms(50),
            itl: ms(10),
            capacity: Some(1),
            ..TokenScript::default()
        },
    )
    .unwrap();
    let url = single.url();
    let streams: Vec<_> = (0..2)
        .map(|i| {
            let url = url.clone();
            thread::spawn(move || post(&url, "/v1/chat/completions", &chat("tiny", 6, i == 0)))
        })
        .collect();
    let mut first_tokens: Vec<Instant> = streams
        .into_iter()
        .map(|stream| {
            let answer = stream.join().unwrap();
            let ttft = answer.record.unwrap().ttft_ns.unwrap();
            answer.sent + Duration::from_nanos(ttft)
        })
        .collect();
    first_tokens.sort();
    // The second stream starts when the first ends (5 × 10 ms after the first's first token)
    // and then waits its own 50 ms.
    let apart = first_tokens[1] - first_tokens[0];
    assert!(apart >= ms(100) - ms(1), "first tokens {apart:?} apart");
}

#[test]
fn models_are_listed_and_a_wrong_model_or_a_request_without_stream_is_refused() {
    let server = LlmServer::start("tiny", TokenScript::default()).unwrap();
    let address = server.url().trim_start_matches("http://").to_owned();
    let mut stream = TcpStream::connect(&address).unwrap();
    write!(
        stream,
        "GET /v1/models HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut models = String::new();
    stream.read_to_string(&mut models).unwrap();
    assert!(models.starts_with("HTTP/1.1 200"), "{models}");
    assert!(models.contains(r#""id":"tiny""#), "{models}");

    let wrong = post(
        &server.url(),
        "/v1/chat/completions",
        &chat("huge", 4, false),
    );
    assert_eq!(wrong.status, 404);
    let refused = post(
        &server.url(),
        "/v1/completions",
        r#"{"model":"tiny","prompt":"hi"}"#,
    );
    assert_eq!(refused.status, 400);
}

/// A closed and an open loop of OpenAI-compatible streams through the load generator: every
/// stream's figures land in the point's `stream` statistics, as the script makes them.
mod load {
    use super::common::{connect, run, runtime};
    use super::*;
    use model_bench::remote::llm::{PrefixCache, Sessions, SyntheticPrompts, Trace};
    use model_bench::remote::{Arrival, Endpoint, LoadPlan, OpenAiEndpoint};

    /// A tokenizer that makes every word and every punctuation mark one token (written by hand;
    /// read through the `tokenizers` crate's `from_file` like any `tokenizer.json`).
    const WORD_LEVEL: &str = r#"{"version": "1.0", "truncation": null, "padding": null,
        "added_tokens": [], "normalizer": null, "pre_tokenizer": {"type": "Whitespace"},
        "post_processor": null, "decoder": null,
        "model": {"type": "WordLevel", "vocab": {"[UNK]": 0}, "unk_token": "[UNK]"}}"#;

    fn script() -> TokenScript {
        TokenScript {
            ttft: ms(30),
            itl: ms(2),
            ..TokenScript::default()
        }
    }

    #[test]
    fn a_closed_loop_of_chat_streams_records_ttft_gaps_and_tokens_per_stream() {
        let server = LlmServer::start("tiny", script()).unwrap();
        let runtime = runtime();
        let endpoint = Endpoint::openai_chat("tiny").max_tokens(16);
        let client = connect(&runtime, &endpoint, &server.url());
        runtime.block_on(client.health()).unwrap();
        let plan = LoadPlan::closed(4, Duration::from_secs(2))
            .warm_up(ms(200))
            .max_requests(40);
        let stats = run(&runtime, &client, &plan);
        assert_eq!(stats.errors, 0, "{:?}", stats.first_errors);
        let stream = stats.stream.expect("stream figures");
        assert_eq!(stream.streams, stats.ok);
        assert_eq!(stream.output_tokens, 16 * stats.ok);
        assert_eq!(stream.token_sources.get("usage"), Some(&stats.ok));
        // The prompt is the default one: its seven words are the server's prompt tokens.
        assert_eq!(stream.input_tokens, Some(7 * stats.ok));
        let ttft = stream.ttft.unwrap();
        assert!(ttft.min >= (30 * MS - MS) as f64, "{ttft:?}");
        assert!(ttft.p50 <= (30 * MS + SLACK_NS) as f64, "{ttft:?}");
        // Fifteen gaps per stream, each due 2 ms after the one before.
        let gaps = stream.chunk_gap.unwrap();
        assert_eq!(gaps.count, 15 * stats.ok);
        assert!(gaps.mean >= (2 * MS) as f64 - 0.5 * MS as f64, "{gaps:?}");
        let itl = stream.itl_per_request.unwrap();
        assert!(itl.p50 >= (2 * MS) as f64 - 0.5 * MS as f64, "{itl:?}");
        // One stream's rate: 16 tokens over about 30 + 15 × 2 ms.
        assert!(
            stream.output_tokens_per_s_per_stream <= 16.0 / 0.060 + 1.0,
            "{stream:?}"
        );
    }

    /// Why a client for `endpoint` at `url` could not be built (it must not be).
    fn refused<R: model_bench::remote::Request>(
        runtime: &tokio::runtime::Runtime,
        endpoint: &Endpoint<R>,
        url: &str,
    ) -> String {
        match runtime.block_on(model_bench::remote::Client::connect(endpoint, url, |_| {
            None
        })) {
            Ok(_) => panic!("a client for {url} was built; it should have been refused"),
            Err(error) => error.to_string(),
        }
    }

    /// A server that answers every chat request with the same three-token stream on the
    /// connection it came on, keeping it open: chunked, its chunks cut mid-event and written
    /// apart, for even requests; with a `Content-Length` for odd ones. The very first answer
    /// waits `first_wait` after its head. Counts connections.
    fn keep_alive_llm_server(
        first_wait: Duration,
    ) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let connections = std::sync::Arc::new(AtomicUsize::new(0));
        let counted = std::sync::Arc::clone(&connections);
        let events: String = ["t1", "t2", "t3"]
            .iter()
            .map(|text| format!("data: {{\"choices\":[{{\"delta\":{{\"content\":\"{text} \"}}}}]}}\n\n"))
            .chain([
                "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":3}}\n\n"
                    .to_owned(),
                "data: [DONE]\n\n".to_owned(),
            ])
            .collect();
        thread::spawn(move || {
            for (n, connection) in listener.incoming().enumerate() {
                let Ok(mut connection) = connection else {
                    continue;
                };
                counted.fetch_add(1, Ordering::SeqCst);
                let events = events.clone();
                thread::spawn(move || {
                    let mut pending = Vec::new();
                    let mut buffer = [0u8; 4096];
                    for request in n * 1000.. {
                        // One request: its head, then the body it announces.
                        loop {
                            let text = String::from_utf8_lossy(&pending).to_string();
                            if let Some(end) = text.find("\r\n\r\n") {
                                let length: usize = text[..end]
                                    .lines()
                                    .find_map(|line| {
                                        let (name, value) = line.split_once(':')?;
                                        name.eq_ignore_ascii_case("content-length")
                                            .then(|| value.trim().parse().ok())?
                                    })
                                    .unwrap_or(0);
                                if pending.len() >= end + 4 + length {
                                    pending.drain(..end + 4 + length);
                                    break;
                                }
                            }
                            match connection.read(&mut buffer) {
                                Ok(0) | Err(_) => return,
                                Ok(read) => pending.extend_from_slice(&buffer[..read]),
                            }
                        }
                        let head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n";
                        let written = if request % 2 == 0 {
                            let mut writes =
                                vec![format!("{head}Transfer-Encoding: chunked\r\n\r\n")];
                            if request == 0 {
                                let _ = connection.write_all(writes.remove(0).as_bytes());
                                thread::sleep(first_wait);
                            }
                            for piece in events.as_bytes().chunks(37) {
                                writes.push(format!("{:x}\r\n", piece.len()));
                                writes.push(format!("{}\r\n", String::from_utf8_lossy(piece)));
                            }
                            writes.push("0\r\n\r\n".into());
                            writes.into_iter().try_for_each(|write| {
                                thread::sleep(Duration::from_micros(300));
                                connection.write_all(write.as_bytes())
                            })
                        } else {
                            let length = events.len();
                            write!(connection, "{head}Content-Length: {length}\r\n\r\n{events}")
                        };
                        if written.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        (url, connections)
    }

    #[test]
    fn a_worker_keeps_its_connection_across_streams_and_reads_any_framing() {
        let (url, connections) = keep_alive_llm_server(Duration::ZERO);
        let runtime = runtime();
        let client = connect(&runtime, &Endpoint::openai_chat("tiny"), &url);
        let plan = LoadPlan::closed(1, Duration::from_secs(20)).max_requests(6);
        let stats = run(&runtime, &client, &plan);
        assert_eq!(stats.errors, 0, "{:?}", stats.first_errors);
        assert_eq!(stats.ok, 6);
        let stream = stats.stream.expect("stream figures");
        assert_eq!(stream.output_tokens, 18);
        assert_eq!(stream.input_tokens, Some(42));
        // Two gaps a stream, whether its events came whole or cut across chunks.
        assert_eq!(stream.chunk_gap.unwrap().count, 12);
        // Six streams, one after the other, on the worker's one connection.
        assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    #[test]
    fn a_stream_cut_failed_or_given_up_costs_its_connection_not_the_next_stream() {
        let runtime = runtime();
        let plan = LoadPlan::closed(1, Duration::from_secs(20)).max_requests(3);
        let scripted = |script: TokenScript| {
            let server = LlmServer::start("tiny", script).unwrap();
            let client = connect(&runtime, &Endpoint::openai_chat("tiny"), &server.url());
            run(&runtime, &client, &plan).errors_by_class
        };
        let cut = scripted(TokenScript {
            truncate_after_chunks: Some(2),
            ..script()
        });
        assert_eq!(cut.get("stream_truncated"), Some(&3), "{cut:?}");
        let failed = scripted(TokenScript {
            error_after_chunks: Some(2),
            ..script()
        });
        assert_eq!(failed.get("stream_error"), Some(&3), "{failed:?}");
        // Given up before its first token, the first stream leaves the rest of its answer
        // unread on its connection: the next stream must not read it as its own.
        let (url, connections) = keep_alive_llm_server(ms(600));
        let impatient = Endpoint::openai_chat("tiny").first_token_timeout(ms(150));
        let client = connect(&runtime, &impatient, &url);
        let stats = run(&runtime, &client, &plan);
        assert_eq!(
            stats.errors_by_class.get("timeout_first_token"),
            Some(&1),
            "{stats:?}"
        );
        assert_eq!((stats.errors, stats.ok), (1, 2), "{:?}", stats.first_errors);
        assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 2);
    }

    #[test]
    fn an_open_loop_into_a_stalling_server_shows_the_stall_in_ttft_from_the_intended_send() {
        let stalling = TokenScript {
            ttft: ms(10),
            itl: ms(1),
            stall: Some(Stall {
                stall: ms(300),
                period: ms(1000),
            }),
            ..TokenScript::default()
        };
        let server = LlmServer::start("tiny", stalling).unwrap();
        let runtime = runtime();
        let endpoint = Endpoint::openai_completions("tiny").max_tokens(4);
        let client = connect(&runtime, &endpoint, &server.url());
        let plan = LoadPlan::open(50.0, Arrival::Constant, Duration::from_secs(2));
        let stats = run(&runtime, &client, &plan);
        assert_eq!(stats.errors, 0, "{:?}", stats.first_errors);
        let stream = stats.stream.unwrap();
        let ttft = stream.ttft.unwrap();
        // Three tenths of the arrivals land in a stall and wait for its end: the p90 waits at
        // least a third of it, while a calm request's first token is due 10 ms after its send.
        assert!(ttft.p90 >= (100 * MS) as f64, "{ttft:?}");
        assert!(ttft.p50 >= (10 * MS - MS) as f64, "{ttft:?}");
        assert_eq!(stream.token_sources.get("usage"), Some(&stats.ok));
    }

    #[test]
    fn a_wrong_model_fails_the_health_check_and_a_first_token_timeout_is_its_own_class() {
        let server = LlmServer::start("tiny", script()).unwrap();
        let runtime = runtime();
        let wrong = connect(&runtime, &Endpoint::openai_chat("huge"), &server.url());
        let error = runtime.block_on(wrong.health()).unwrap_err();
        assert!(
            error.message.contains("`huge`") && error.message.contains("tiny"),
            "{error}"
        );

        let impatient = Endpoint::openai_chat("tiny").first_token_timeout(ms(5));
        let client = connect(&runtime, &impatient, &server.url());
        let error = runtime.block_on(client.send()).unwrap_err();
        assert_eq!(error.class, ErrorClass::FirstTokenTimeout, "{error}");
    }

    #[test]
    fn synthetic_prompts_go_out_in_turn_and_the_server_counts_what_the_client_counted() {
        let server = LlmServer::start("tiny", script()).unwrap();
        let runtime = runtime();
        let prompts = SyntheticPrompts::new(24).count(10).output(5).seed(1);
        let endpoint = Endpoint::openai_chat("tiny")
            .max_tokens(64)
            .synthetic_prompts(prompts);
        let client = connect(&runtime, &endpoint, &server.url());
        let info = client
            .prompts()
            .expect("an LLM client describes its prompts");
        assert_eq!((info.prompts, info.input_tokens_mean), (10, 24.0));
        assert_eq!(info.max_tokens_mean, Some(5.0));
        assert!(info.source.starts_with("synthetic"), "{info:?}");
        let plan = LoadPlan::closed(2, Duration::from_secs(2))
            .warm_up(ms(100))
            .max_requests(30);
        let stats = run(&runtime, &client, &plan);
        assert_eq!(stats.errors, 0, "{:?}", stats.first_errors);
        let stream = stats.stream.unwrap();
        // The server counts a prompt's words as its tokens, as the approximation does; each
        // prompt's own max_tokens (5) wins over the endpoint's (64).
        assert_eq!(stream.input_tokens, Some(24 * stats.ok));
        assert_eq!(stream.output_tokens, 5 * stats.ok);
    }

    #[test]
    fn a_reasoning_model_has_ttft_at_its_thinking_and_ttfo_at_its_answer() {
        // Ten tokens of thinking, then the answer, a token every 2 ms after 30 ms: the first
        // answer token is due at 30 + 10 × 2 = 50 ms.
        let thinking = TokenScript {
            reasoning_tokens: 10,
            ..script()
        };
        let server = LlmServer::start("tiny", thinking.clone()).unwrap();
        let runtime = runtime();
        let plan = LoadPlan::closed(2, Duration::from_secs(1))
            .warm_up(ms(100))
            .max_requests(10);
        let endpoint = Endpoint::openai_chat("tiny")
            .max_tokens(16)
            .slo_ttft(ms(40))
            .slo_ttfo(ms(40));
        let client = connect(&runtime, &endpoint, &server.url());
        let stats = run(&runtime, &client, &plan);
        assert_eq!(stats.errors, 0, "{:?}", stats.first_errors);
        let stream = stats.stream.expect("stream figures");
        let (ttft, ttfo) = (stream.ttft.unwrap(), stream.ttfo.unwrap());
        assert!(ttft.min >= (30 * MS - MS) as f64, "{ttft:?}");
        assert!(ttft.p50 <= (30 * MS + SLACK_NS) as f64, "{ttft:?}");
        assert!(ttfo.min >= (50 * MS - MS) as f64, "{ttfo:?}");
        assert!(ttfo.p50 <= (50 * MS + SLACK_NS) as f64, "{ttfo:?}");
        let reasoning = stream.reasoning.expect("the streams reasoned");
        assert_eq!(
            (reasoning.streams, reasoning.tokens),
            (stats.ok, 10 * stats.ok)
        );
        assert_eq!(reasoning.token_sources.get("usage"), Some(&stats.ok));
        assert_eq!(
            stream.output_tokens,
            16 * stats.ok,
            "thinking is output too"
        );
        // Every first token within 40 ms, no first answer: nothing met both objectives.
        assert_eq!(stream.goodput.unwrap().good, 0);

        // Without the usage chunk the thinking is counted by its events (one token each here).
        let silent = LlmServer::start(
            "tiny",
            TokenScript {
                usage: false,
                ..thinking
            },
        )
        .unwrap();
        let client = connect(
            &runtime,
            &Endpoint::openai_chat("tiny").max_tokens(16),
            &silent.url(),
        );
        let stats = run(&runtime, &client, &plan);
        let reasoning = stats
            .stream
            .unwrap()
            .reasoning
            .expect("the streams reasoned");
        assert_eq!(reasoning.tokens, 10 * stats.ok);
        assert_eq!(
            reasoning.token_sources.get("content_events"),
            Some(&stats.ok)
        );

        // A model that does not reason: TTFO is TTFT, and no reasoning figures.
        let plain = LlmServer::start("tiny", script()).unwrap();
        let client = connect(
            &runtime,
            &Endpoint::openai_chat("tiny").max_tokens(4),
            &plain.url(),
        );
        let stream = run(&runtime, &client, &plan).stream.unwrap();
        assert_eq!(stream.ttft, stream.ttfo);
        assert!(stream.reasoning.is_none());
    }

    #[test]
    fn a_prefix_cache_hit_saves_the_prefill_of_the_cached_blocks() {
        // 10 ms to the first token plus 1 ms per prompt token the cache does not hold; blocks of
        // 16 tokens. A 40-word prompt sent again holds two whole blocks: 32 cached, 8 prefilled.
        let cached = TokenScript {
            ttft: ms(10),
            prefill_per_token: ms(1),
            prefix_cache: Some(PrefixCache {
                block_tokens: 16,
                blocks: 64,
            }),
            ..script()
        };
        let server = LlmServer::start("tiny", cached).unwrap();
        let runtime = runtime();
        let prompt: String = (0..40).map(|i| format!("w{i} ")).collect();
        let plan = LoadPlan::closed(1, Duration::from_secs(2))
            .warm_up(ms(200))
            .max_requests(10);
        let run_with = |endpoint: OpenAiEndpoint| {
            let endpoint = endpoint.prompt(prompt.clone()).max_tokens(2);
            let client = connect(&runtime, &endpoint, &server.url());
            let stats = run(&runtime, &client, &plan);
            assert_eq!(stats.errors, 0, "{:?}", stats.first_errors);
            let stream = stats.stream.unwrap();
            (
                stream.prefix_cache.expect("the server reports its cache"),
                stats.ok,
            )
        };
        // The warm-up's first request filled the cache: every measured one hits it.
        let (warm, ok) = run_with(Endpoint::openai_chat("tiny"));
        assert_eq!((warm.streams, warm.hits), (ok, ok));
        assert_eq!((warm.prompt_tokens, warm.cached_tokens), (40 * ok, 32 * ok));
        assert!((warm.cached_share - 0.8).abs() < 1e-9, "{warm:?}");
        let hit = warm.ttft_hit.expect("hits");
        assert!(hit.min >= (18 * MS - MS) as f64, "{hit:?}");
        assert!(hit.p50 <= (18 * MS + SLACK_NS) as f64, "{hit:?}");
        assert!(warm.ttft_miss.is_none());

        // A word of each request's own first: nothing is reused, all 41 tokens prefilled.
        let (cold, ok) = run_with(Endpoint::openai_chat("tiny").cache_bust());
        assert_eq!((cold.hits, cold.cached_tokens), (0, 0));
        assert_eq!(cold.prompt_tokens, 41 * ok);
        let miss = cold.ttft_miss.expect("misses");
        assert!(miss.min >= (51 * MS - MS) as f64, "{miss:?}");
        assert!(miss.p50 <= (51 * MS + SLACK_NS) as f64, "{miss:?}");

        // A server that says nothing of its cache: no prefix-cache figures.
        let plain = LlmServer::start("tiny", script()).unwrap();
        let client = connect(
            &runtime,
            &Endpoint::openai_chat("tiny").max_tokens(2),
            &plain.url(),
        );
        assert!(run(&runtime, &client, &plan)
            .stream
            .unwrap()
            .prefix_cache
            .is_none());
    }

    /// The reference server for sessions: 10 ms to the first token plus 1 ms per prompt token
    /// its cache lacks, blocks of 16 tokens, 1 ms per output token.
    fn session_server() -> LlmServer {
        LlmServer::start(
            "tiny",
            TokenScript {
                ttft: ms(10),
                itl: ms(1),
                prefill_per_token: ms(1),
                prefix_cache: Some(PrefixCache {
                    block_tokens: 16,
                    blocks: 256,
                }),
                ..TokenScript::default()
            },
        )
        .unwrap()
    }

    /// Four conversations of three turns, 32 new tokens a turn, 8 tokens of reply.
    fn three_turns() -> Sessions {
        Sessions::synthetic(3, SyntheticPrompts::new(32).output(8).count(4).seed(3))
    }

    #[test]
    fn each_turn_carries_the_conversation_and_prefills_only_what_the_cache_lacks() {
        // Turn 1: 32 tokens, none cached (TTFT 10 + 32 ms). Turn 2: 32 + 8 + 32 = 72 tokens,
        // turn 1's two whole blocks cached, 40 prefilled (50 ms). Turn 3: 72 + 8 + 32 = 112,
        // turn 2's four whole blocks cached, 48 prefilled (58 ms). On both endpoints (a
        // completions prompt is the conversation's texts, one a line).
        let runtime = runtime();
        for endpoint in [
            Endpoint::openai_chat("tiny"),
            Endpoint::openai_completions("tiny"),
        ] {
            let server = session_server();
            let endpoint = endpoint.sessions(three_turns().think_time(ms(5)));
            let client = connect(&runtime, &endpoint, &server.url());
            let plan = LoadPlan::closed(1, Duration::from_secs(30)).max_requests(12);
            let stats = run(&runtime, &client, &plan);
            assert_eq!(
                (stats.ok, stats.errors),
                (12, 0),
                "{:?}",
                stats.first_errors
            );
            let stream = stats.stream.unwrap();
            let turns = &stream.turns;
            assert_eq!(turns.len(), 3, "{turns:?}");
            for (turn, (input, cached, ttft)) in
                turns.iter().zip([(32, 0, 42), (72, 32, 50), (112, 64, 58)])
            {
                assert_eq!(turn.streams, 4, "{turn:?}");
                assert_eq!(turn.input_tokens_mean, Some(input as f64), "{turn:?}");
                let share = turn.cached_share.expect("the server reports its cache");
                assert!(
                    (share - cached as f64 / input as f64).abs() < 1e-9,
                    "{turn:?}"
                );
                let measured = turn.ttft.expect("every turn streamed");
                assert!(measured.min >= ((ttft - 1) * MS) as f64, "{turn:?}");
                assert!(measured.p50 <= (ttft * MS + SLACK_NS) as f64, "{turn:?}");
            }
            assert_eq!(
                stream.prefix_cache.unwrap().cached_tokens,
                4 * (32 + 64),
                "the point's own figures hold every turn"
            );
            // Each conversation: three streams of 8 tokens (49, 57 and 65 ms at the least)
            // and two 5 ms pauses.
            let sessions = stream.sessions.expect("conversations ended");
            assert_eq!(
                (sessions.sessions, sessions.completed, sessions.good),
                (4, 4, 4)
            );
            assert_eq!(sessions.turns_mean, 3.0);
            let duration = sessions.duration.unwrap();
            assert!(duration.min >= (180 * MS) as f64, "{duration:?}");
        }
    }

    #[test]
    fn a_session_is_good_only_when_every_turn_meets_the_objectives() {
        // Turn 3's TTFT is at least 58 ms: a 55 ms objective fails every conversation there,
        // whatever the first two did; a 10 s one none.
        let runtime = runtime();
        for (slo, good) in [(ms(55), 0), (Duration::from_secs(10), 4)] {
            let server = session_server();
            let endpoint = Endpoint::openai_chat("tiny")
                .sessions(three_turns())
                .slo_ttft(slo);
            let client = connect(&runtime, &endpoint, &server.url());
            let plan = LoadPlan::closed(1, Duration::from_secs(30)).max_requests(12);
            let stats = run(&runtime, &client, &plan);
            assert_eq!(stats.errors, 0, "{:?}", stats.first_errors);
            let sessions = stats.stream.unwrap().sessions.unwrap();
            assert_eq!((sessions.completed, sessions.good), (4, good), "{slo:?}");
            assert_eq!(sessions.good_share, good as f64 / 4.0);
        }
    }

    #[test]
    fn an_open_loop_starts_sessions_at_the_rate_and_sends_later_turns_after_the_think_time() {
        // 20 sessions a second for a second; each later turn due 20 ms after the reply before.
        let server = session_server();
        let runtime = runtime();
        let endpoint = Endpoint::openai_chat("tiny").sessions(
            Sessions::synthetic(3, SyntheticPrompts::new(32).output(8).count(100).seed(3))
                .think_time(ms(20)),
        );
        let client = connect(&runtime, &endpoint, &server.url());
        // One request on its own (what `cargo test --benches` sends) is a first turn.
        runtime
            .block_on(client.send())
            .expect("a conversation's first turn");
        let plan = LoadPlan::open(20.0, Arrival::Constant, Duration::from_secs(1));
        let stats = run(&runtime, &client, &plan);
        assert_eq!(stats.errors, 0, "{:?}", stats.first_errors);
        let turns = stats.stream.unwrap().turns;
        assert_eq!(
            turns[0].streams, 20,
            "one first turn per arrival: {turns:?}"
        );
        // A later turn is measured from its due time, so it cannot be faster than its prefill.
        let third = &turns[2];
        assert!(third.ttft.unwrap().min >= (57 * MS) as f64, "{third:?}");
        assert_eq!(third.input_tokens_mean, Some(112.0));
        // Sessions that started late in the window ended with it: none sent past it.
        assert!(turns[2].streams < turns[0].streams, "{turns:?}");
        assert_eq!(stats.requests, turns.iter().map(|t| t.streams).sum::<u64>());
    }

    #[test]
    fn sessions_refuse_cache_bust_and_a_mix() {
        let server = session_server();
        let runtime = runtime();
        let busting = Endpoint::openai_chat("tiny")
            .sessions(three_turns())
            .cache_bust();
        let error = refused(&runtime, &busting, &server.url());
        assert!(
            error.contains("`cache_bust` does not apply to sessions"),
            "{error}"
        );
        let mixed = Endpoint::openai_chat("tiny").sessions(three_turns()).mix(
            "other",
            1.0,
            Endpoint::openai_chat("tiny"),
        );
        let error = refused(&runtime, &mixed, &server.url());
        assert!(error.contains("cannot be in a mix"), "{error}");
    }

    /// Replays `schedule`, checks that all `requests` were answered, and returns the figures
    /// and how many requests were due in each `step` of the time series.
    fn replay_every_request(
        runtime: &tokio::runtime::Runtime,
        client: &std::sync::Arc<model_bench::remote::Client>,
        schedule: model_bench::remote::llm::ReplaySchedule,
        step: Duration,
        requests: u64,
    ) -> (model_bench::results::LoadStats, Vec<u64>) {
        let plan = LoadPlan::replay(schedule, Duration::ZERO).series_step(step);
        let stats = run(runtime, client, &plan);
        assert_eq!(
            (stats.requests, stats.ok),
            (requests, requests),
            "{:?}",
            stats.first_errors
        );
        let sent = stats.time_series.iter().map(|step| step.sent).collect();
        (stats, sent)
    }

    #[test]
    fn a_replayed_trace_sends_each_row_at_its_time_with_its_lengths_and_shared_blocks() {
        // 200 rows 5 ms apart, each 32 prompt tokens in two blocks of 16: block 0 in every row,
        // the second one of four (a row's index mod 4), two output tokens.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("trace.jsonl");
        let rows: String = (0..200u64)
            .map(|i| {
                format!(
                    "{{\"timestamp\": {}, \"input_length\": 32, \"output_length\": 2, \
                     \"hash_ids\": [0, {}]}}\n",
                    1_000 + 5 * i,
                    1 + i % 4
                )
            })
            .collect();
        std::fs::write(&path, rows).unwrap();
        let server = LlmServer::start(
            "tiny",
            TokenScript {
                ttft: ms(5),
                itl: ms(1),
                prefix_cache: Some(PrefixCache {
                    block_tokens: 16,
                    blocks: 64,
                }),
                ..TokenScript::default()
            },
        )
        .unwrap();
        let runtime = runtime();
        let trace = Trace::mooncake(&path).block_tokens(16);
        let endpoint = Endpoint::openai_chat("tiny").trace(trace);
        let client = connect(&runtime, &endpoint, &server.url());
        let schedule = client.schedule().expect("a replay has a schedule");
        assert_eq!(schedule.arrivals.len(), 200);
        assert_eq!(schedule.last_due, ms(995));
        let (stats, sent) = replay_every_request(&runtime, &client, schedule, ms(100), 200);
        // Each 100 ms step of the time series holds the 20 rows due in it (by intended send).
        assert_eq!(sent[..10], [20; 10], "{sent:?}");
        let stream = stats.stream.unwrap();
        assert_eq!(stream.input_tokens, Some(32 * 200), "every row's length");
        assert_eq!(stream.output_tokens, 2 * 200);
        // Row 0 hits nothing; rows 1–3 find block 0 (16); every later row both blocks (32).
        let cache = stream.prefix_cache.expect("the server reports its cache");
        assert_eq!(cache.cached_tokens, 3 * 16 + 196 * 32);
        assert_eq!(cache.hits, 199);
    }

    #[test]
    fn a_trace_of_conversations_sends_each_turn_at_its_time_or_after_the_reply_before_it() {
        // Conversation `a`: 16 new tokens at 0 ms and at 1,000 ms; `b`: at 10 ms and at 20 ms,
        // before its first reply can have ended, so its second turn waits for it; a row
        // without an id at 50 ms. Four tokens of reply each.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("trace.jsonl");
        let row = |at: u64, session: Option<&str>| {
            let id = session.map_or(String::new(), |id| format!(", \"session_id\": \"{id}\""));
            format!("{{\"timestamp\": {at}, \"input_length\": 16, \"output_length\": 4{id}}}\n")
        };
        let rows = [
            row(0, Some("a")),
            row(10, Some("b")),
            row(20, Some("b")),
            row(50, None),
            row(1_000, Some("a")),
        ];
        std::fs::write(&path, rows.concat()).unwrap();
        let server = session_server();
        let runtime = runtime();
        let endpoint = Endpoint::openai_chat("tiny").trace(Trace::jsonl(&path));
        let client = connect(&runtime, &endpoint, &server.url());
        assert!(client.holds_conversations());
        let schedule = client.schedule().expect("a replay has a schedule");
        assert_eq!(
            schedule.arrivals,
            [0, 10, 50].map(ms),
            "conversations start at their first row"
        );
        assert_eq!(
            schedule.last_due,
            ms(1_000),
            "the last turn is due at the trace's end"
        );
        let (stats, sent) = replay_every_request(&runtime, &client, schedule, ms(500), 5);
        // By intended send: four turns in the first half second, `a`'s second at 1 s.
        assert_eq!(sent[..3], [4, 0, 1], "{sent:?}");
        let stream = stats.stream.unwrap();
        let turns = &stream.turns;
        assert_eq!(turns.len(), 2, "{turns:?}");
        assert_eq!((turns[0].streams, turns[1].streams), (3, 2));
        // A second turn carries the first, its reply and its own 16 tokens; the server has
        // the first turn's block cached.
        assert_eq!(turns[0].input_tokens_mean, Some(16.0));
        assert_eq!(turns[1].input_tokens_mean, Some(36.0), "{turns:?}");
        assert_eq!(turns[1].cached_share, Some(16.0 / 36.0), "{turns:?}");
        let sessions = stream.sessions.expect("conversations ended");
        assert_eq!((sessions.sessions, sessions.completed), (3, 3));
    }

    #[test]
    fn sessions_and_a_trace_are_not_both_set() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("trace.jsonl");
        std::fs::write(&path, "{\"timestamp\": 0, \"prompt\": \"x\"}\n").unwrap();
        let runtime = runtime();
        let endpoint = Endpoint::openai_chat("tiny")
            .trace(Trace::jsonl(&path))
            .sessions(three_turns());
        let error = refused(&runtime, &endpoint, "http://127.0.0.1:9");
        assert!(error.contains("`sessions` and `trace` both set"), "{error}");
    }

    #[test]
    fn goodput_counts_the_streams_that_met_every_slo() {
        // TTFT is at least 30 ms and every later token 2 ms after the one before, by script:
        // no stream can meet a 1 ms TTFT or a 100 µs ITL, and every one meets a minute.
        let server = LlmServer::start("tiny", script()).unwrap();
        let runtime = runtime();
        let plan = LoadPlan::closed(2, Duration::from_secs(1))
            .warm_up(ms(100))
            .max_requests(10);
        let goodput = |endpoint: OpenAiEndpoint| {
            let client = connect(&runtime, &endpoint.max_tokens(8), &server.url());
            let stats = run(&runtime, &client, &plan);
            assert_eq!(stats.errors, 0, "{:?}", stats.first_errors);
            let goodput = stats.stream.unwrap().goodput.expect("goodput with an SLO");
            (goodput.good, goodput.share, stats.ok)
        };
        let (good, share, ok) = goodput(Endpoint::openai_chat("tiny").slo_e2e(ms(60_000)));
        assert_eq!((good, share), (ok, 1.0));
        let (good, share, _) = goodput(
            Endpoint::openai_chat("tiny")
                .slo_e2e(ms(60_000))
                .slo_ttft(ms(1)),
        );
        assert_eq!((good, share), (0, 0.0));
        let (good, _, _) =
            goodput(Endpoint::openai_completions("tiny").slo_itl(Duration::from_micros(100)));
        assert_eq!(good, 0);

        let client = connect(&runtime, &Endpoint::openai_chat("tiny"), &server.url());
        let stats = run(&runtime, &client, &plan);
        assert!(
            stats.stream.unwrap().goodput.is_none(),
            "no SLO, no goodput"
        );
    }

    #[test]
    fn a_tokenizer_counts_the_prompts_and_the_text_of_streams_without_usage() {
        // Four tokens a chunk and no usage chunk: without a tokenizer the count would be the
        // text events (a quarter of the tokens); with one it is the text's own tokens.
        let packed = TokenScript {
            ttft: ms(5),
            itl: ms(1),
            tokens_per_chunk: 4,
            usage: false,
            ..TokenScript::default()
        };
        let server = LlmServer::start("tiny", packed).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let tokenizer = dir.path().join("tokenizer.json");
        std::fs::write(&tokenizer, WORD_LEVEL).unwrap();
        let prompts = dir.path().join("prompts.jsonl");
        std::fs::write(
            &prompts,
            "{\"prompt\": \"hello, world!\", \"output_tokens\": 12}\n{\"text\": \"why not?\", \"max_tokens\": 12}\n",
        )
        .unwrap();
        let runtime = runtime();
        let endpoint = Endpoint::openai_completions("tiny")
            .max_tokens(8)
            .prompts_file(&prompts)
            .tokenizer(&tokenizer);
        let client = connect(&runtime, &endpoint, &server.url());
        let info = client.prompts().unwrap().clone();
        // `hello , world !` and `why not ?`.
        assert_eq!((info.input_tokens_min, info.input_tokens_max), (3, 4));
        assert_eq!(
            info.token_counts,
            format!("tokenizer: {}", tokenizer.display())
        );
        assert!(
            info.source.contains("prompts.jsonl (JSON lines)"),
            "{info:?}"
        );
        let plan = LoadPlan::closed(1, Duration::from_secs(2))
            .warm_up(Duration::ZERO)
            .max_requests(6);
        let stats = run(&runtime, &client, &plan);
        assert_eq!(stats.errors, 0, "{:?}", stats.first_errors);
        let stream = stats.stream.unwrap();
        assert_eq!(stream.token_sources.get("tokenizer"), Some(&stats.ok));
        // Each prompt asks for 12 tokens (over the endpoint's 8): three text events each.
        assert_eq!(stream.output_tokens, 12 * stats.ok, "{stream:?}");

        let without = Endpoint::openai_completions("tiny").max_tokens(8);
        let client = connect(&runtime, &without, &server.url());
        let stats = run(&runtime, &client, &plan);
        let stream = stats.stream.unwrap();
        assert_eq!(stream.token_sources.get("content_events"), Some(&stats.ok));
        assert_eq!(stream.output_tokens, 2 * stats.ok);
    }

    #[test]
    fn a_prompt_file_that_does_not_parse_or_a_missing_tokenizer_fail_before_any_request() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("share.json");
        std::fs::write(
            &bad,
            "[\n  {\"conversations\": [\n    {\"from\": \"human\"}\n  ]}\n]\n",
        )
        .unwrap();
        let runtime = runtime();
        let endpoint = Endpoint::openai_chat("tiny").prompts_file(&bad);
        let message = refused(&runtime, &endpoint, "http://127.0.0.1:9");
        assert!(
            message.starts_with(&format!("{}:3:", bad.display())),
            "{message}"
        );
        assert!(message.contains("value"), "{message}");

        let endpoint = Endpoint::openai_chat("tiny").tokenizer(dir.path().join("none.json"));
        let error = refused(&runtime, &endpoint, "http://127.0.0.1:9");
        assert!(error.contains("none.json"), "{error}");
    }

    #[test]
    fn stress_on_goodput_finds_where_streams_stop_meeting_their_slo() {
        use model_bench::remote::load::scenario::Stress;
        // One stream at a time, each about 5 + 7 × 1 ms: some 80 streams a second. At 20/s the
        // server idles three quarters of the time and every stream meets a 100 ms E2E; at 140/s
        // the queue grows by 60 streams a second, so within the step waits pass 100 ms.
        let one_at_a_time = TokenScript {
            ttft: ms(5),
            itl: ms(1),
            capacity: Some(1),
            ..TokenScript::default()
        };
        let server = LlmServer::start("tiny", one_at_a_time).unwrap();
        let runtime = runtime();
        let endpoint = Endpoint::openai_completions("tiny")
            .max_tokens(8)
            .slo_e2e(ms(100));
        let client = connect(&runtime, &endpoint, &server.url());
        let stress = Stress {
            start_rate: 20.0,
            increment: 120.0,
            step: Duration::from_secs(1),
            max_steps: 3,
            slo_p99: None,
            min_goodput: Some(0.9),
            max_error_rate: 0.01,
        };
        let result = runtime.block_on(stress.run(std::sync::Arc::clone(&client)));
        assert_eq!(result.highest_held, Some(20.0), "{result:?}");
        let last = result.steps.last().unwrap();
        assert_eq!(last.rate, 140.0, "{result:?}");
        let why = last.broke.as_deref().unwrap();
        assert!(why.contains("under the 90.0 % target"), "{why}");
    }
}

/// The reference server's `/metrics` under vLLM's names, read beside a load point by the same
/// watch a bench uses: the server's state, where TTFT went and the agreement with the client,
/// each against the value its script and capacity make.
mod server_state {
    use super::common::{connect, runtime};
    use super::*;
    use model_bench::remote::watch::Watch;
    use model_bench::remote::{Arrival, Endpoint, LoadPlan};
    use model_bench::results::LoadPoint;

    /// Two slots, four requests kept in flight: two run, two wait. A request holds its slot for
    /// 40 ms to its first token and 7 × 2 ms more (8 tokens), 54 ms in all, so each waits about
    /// one such turn for its slot.
    fn point(metrics_url: Option<&str>) -> LoadPoint {
        let plan = LoadPlan::closed(4, Duration::from_secs(10))
            .warm_up(ms(300))
            .max_requests(80)
            .series_step(ms(50));
        watched(metrics_url, plan)
    }

    fn watched(metrics_url: Option<&str>, plan: LoadPlan) -> LoadPoint {
        let script = TokenScript {
            ttft: ms(40),
            itl: ms(2),
            capacity: Some(2),
            kv_cache_tokens: 100,
            ..TokenScript::default()
        };
        let server = LlmServer::start("tiny", script).unwrap();
        let runtime = runtime();
        let endpoint = Endpoint::openai_chat("tiny").max_tokens(8);
        let client = connect(&runtime, &endpoint, &server.url());
        let url = metrics_url.map_or_else(|| format!("{}/metrics", server.url()), str::to_owned);
        let watch = Watch::new(&endpoint.into_any(), None, Some(url), false).unwrap();
        watch.run(&runtime, &client, &plan).point(None)
    }

    /// An open loop: the client's TTFT runs from the intended send, so its first part is the
    /// send's lateness, and the parts still add up to it.
    #[test]
    fn an_open_loops_ttft_starts_with_the_sends_lateness() {
        let plan = LoadPlan::open(20.0, Arrival::Constant, Duration::from_secs(2))
            .warm_up(ms(300))
            .series_step(ms(100));
        let point = watched(None, plan);
        assert_eq!(point.stats.errors, 0, "{:?}", point.stats.first_errors);
        let state = point.server_state.unwrap();
        let breakdown = state.ttft_breakdown.unwrap();
        assert_eq!(breakdown.parts[0].name, "send lateness", "{breakdown:?}");
        assert_eq!(breakdown.parts[0].kind, "measured");
        let ttft = point.stats.stream.unwrap().ttft.unwrap();
        assert_eq!(breakdown.client_mean_ns, ttft.mean);
        let sum: f64 = breakdown.parts.iter().map(|p| p.mean_ns).sum();
        assert!((sum - ttft.mean).abs() < 1.0, "{breakdown:?}");
        // 20/s against two slots of 54 ms: hardly a wait, and 40 ms of prefill.
        let prefill = breakdown
            .parts
            .iter()
            .find(|p| p.name == "server prefill")
            .unwrap();
        assert!(prefill.mean_ns >= 40.0 * MS as f64, "{breakdown:?}");
    }

    #[test]
    fn waiting_queue_time_and_the_ttft_breakdown_follow_from_the_schedule() {
        let point = point(None);
        assert_eq!(point.stats.errors, 0, "{:?}", point.stats.first_errors);
        let state = point.server_state.expect("the reference server's state");
        assert_eq!(state.server, "vLLM");
        assert!(state.notes.is_empty(), "{:?}", state.notes);
        let (running, waiting) = (state.running.unwrap(), state.waiting.unwrap());
        assert_eq!((running.max, waiting.max), (2.0, 2.0), "{state:?}");
        // Between a request's end and its client's next one, a slot is briefly free.
        assert!(running.mean > 1.7 && waiting.mean > 1.5, "{state:?}");
        // Two running requests hold their 7-word prompts and up to 8 tokens each, of 100.
        let kv = state.kv_cache_usage.unwrap();
        assert!(kv.max <= 0.30 && kv.mean >= 0.14, "{kv:?}");
        let time = |part: &str| {
            state
                .times
                .iter()
                .find(|t| t.part == part)
                .unwrap_or_else(|| panic!("no {part} in {:?}", state.times))
        };
        let (queue, prefill, ttft) = (time("queue"), time("prefill"), time("ttft"));
        let served = 54.0 * MS as f64;
        assert!(
            queue.mean_ns > served - 2.0 * MS as f64 && queue.mean_ns < served + 10.0 * MS as f64,
            "{queue:?}"
        );
        assert!(
            prefill.mean_ns >= 40.0 * MS as f64 && prefill.mean_ns < 43.0 * MS as f64,
            "{prefill:?}"
        );
        // vLLM's TTFT buckets around 94 ms: 80 and 100 ms.
        let p90 = ttft.p90_ns.unwrap();
        assert!(
            p90 > 80.0 * MS as f64 && p90 <= 100.0 * MS as f64,
            "{ttft:?}"
        );
        assert_eq!(state.sources["waiting"], "vllm:num_requests_waiting");
        assert_eq!(state.sources["queue"], "vllm:request_queue_time_seconds");

        // Where TTFT went: the queue and the prefill are measured, the server's other time is
        // nothing here (its TTFT is its queue plus its prefill), and the rest is the loopback
        // and the client's parse: a few milliseconds at most. The parts add up to the client's
        // mean by construction, so the test is that each lands where the schedule puts it.
        let breakdown = state.ttft_breakdown.as_ref().unwrap();
        let part = |name: &str| {
            breakdown
                .parts
                .iter()
                .find(|p| p.name.starts_with(name))
                .unwrap_or_else(|| panic!("no {name} in {breakdown:?}"))
        };
        assert_eq!(part("server queue").mean_ns, queue.mean_ns);
        assert_eq!(part("server prefill").mean_ns, prefill.mean_ns);
        assert!(
            part("server, other").mean_ns.abs() < 0.5 * MS as f64,
            "{breakdown:?}"
        );
        let outside = part("outside the server");
        assert_eq!(outside.kind, "remainder");
        assert!(
            outside.mean_ns > -2.0 * MS as f64 && outside.mean_ns < 5.0 * MS as f64,
            "{breakdown:?}"
        );
        let sum: f64 = breakdown.parts.iter().map(|p| p.mean_ns).sum();
        assert!(
            (sum - breakdown.client_mean_ns).abs() < 1.0,
            "{breakdown:?}"
        );
        assert!(breakdown.not_exported.is_empty(), "{breakdown:?}");
        // The last chunk is due 40 + 7 × 2 ms after the slot: prefill and decode are that turn.
        let e2e = state.e2e_breakdown.as_ref().unwrap();
        let decode = e2e
            .parts
            .iter()
            .find(|p| p.name == "server decode")
            .unwrap();
        let turn = prefill.mean_ns + decode.mean_ns;
        assert!(turn >= served && turn < served + 3.0 * MS as f64, "{e2e:?}");

        // The server counted the client's requests and its TTFT.
        for check in &state.agreement {
            assert!(check.agrees, "{check:?}");
        }
        let figures: Vec<&str> = state.agreement.iter().map(|a| a.figure.as_str()).collect();
        assert_eq!(figures, ["requests", "ttft_mean_ns"]);
        // No GPU here: energy says so.
        let energy = point.energy.unwrap();
        assert!(energy.joules_per_output_token.is_none(), "{energy:?}");
        assert!(energy.note.unwrap().contains("not measured"));
    }

    /// Metrics of another replica (one that served none of these requests): the request counts
    /// disagree, and the note says what that points to.
    #[test]
    fn another_replicas_metrics_disagree_with_the_client() {
        let idle = LlmServer::start("tiny", TokenScript::default()).unwrap();
        let point = point(Some(&format!("{}/metrics", idle.url())));
        let state = point.server_state.expect("the idle server's state");
        let requests = &state.agreement[0];
        assert_eq!(requests.figure, "requests");
        assert_eq!(
            (requests.server, requests.client),
            (0.0, 80.0),
            "{requests:?}"
        );
        assert!(!requests.agrees);
        assert!(
            requests
                .note
                .as_deref()
                .unwrap()
                .contains("another replica's"),
            "{requests:?}"
        );
        // It served nothing: no time of its own to cut the client's TTFT with.
        assert!(state.times.is_empty(), "{:?}", state.times);
        let breakdown = state.ttft_breakdown.unwrap();
        assert_eq!(breakdown.not_exported.len(), 3, "{breakdown:?}");
    }

    #[test]
    fn a_metrics_url_that_is_down_or_answers_html_is_a_note_and_the_load_runs() {
        let html = TcpListenerServer::html();
        for (url, expected) in [
            (
                "http://127.0.0.1:9/metrics".to_string(),
                "GET http://127.0.0.1:9/metrics",
            ),
            (html.url(), "not Prometheus's text format"),
        ] {
            let point = point(Some(&url));
            assert_eq!(point.stats.errors, 0, "{:?}", point.stats.first_errors);
            assert_eq!(point.stats.ok, 80);
            assert!(point.server_state.is_none());
            let note = point.metrics_note.unwrap_or_default();
            assert!(note.contains(expected), "{url}: {note}");
        }
    }

    /// The probes of an OpenAI-compatible server (the model list, `/version`, `/info`,
    /// `/props`) that fail say where without the URL's credentials.
    #[test]
    fn a_failed_probe_does_not_show_the_urls_credentials() {
        let html = TcpListenerServer::html();
        let url = format!("http://user:tokensecret123@{}", html.address);
        let runtime = runtime();
        let client = connect(&runtime, &Endpoint::openai_chat("tiny"), &url);
        let health = runtime.block_on(client.health()).unwrap_err();
        let metadata = runtime.block_on(client.server_metadata()).unwrap_err();
        for error in [health, metadata] {
            assert!(!error.message.contains("tokensecret123"), "{error}");
            assert!(error.message.contains("***@127.0.0.1"), "{error}");
        }
    }

    /// A server that answers every request with an HTML page.
    struct TcpListenerServer {
        address: std::net::SocketAddr,
    }

    impl TcpListenerServer {
        fn html() -> Self {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let address = listener.local_addr().unwrap();
            thread::spawn(move || {
                for stream in listener.incoming() {
                    let Ok(mut stream) = stream else { continue };
                    let mut buf = [0u8; 4096];
                    let _ = stream.read(&mut buf);
                    let body = "<html><body>metrics</body></html>";
                    let _ = write!(
                        stream,
                        "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\
                         Connection: close\r\n\r\n{body}",
                        body.len()
                    );
                }
            });
            TcpListenerServer { address }
        }

        fn url(&self) -> String {
            format!("http://{}/metrics", self.address)
        }
    }
}
