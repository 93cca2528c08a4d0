//! Remote endpoint benches against the reference server over real loopback sockets: every
//! protocol round trip, measurement truth under an injected stall (expected values derived from
//! the injected schedule, not from earlier runs), and each kind of bad input.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use model_bench::remote::error::ErrorClass;
use model_bench::remote::{
    Arrival, Client, Endpoint, InjectedLatency, LoadPlan, ReferenceConfig, Tensor, V2Endpoint,
    V2Protocol,
};
use model_bench::results::LatencyBasis;
use model_bench::server::ReferenceServer;

mod common;
#[path = "common/serial.rs"]
mod serial;

use common::{connect, no_env, run, runtime};
use serial::serial;

const MS: f64 = 1e6;
/// Per-request timeout of the identity endpoint.
const TIMEOUT: Duration = Duration::from_secs(5);

fn identity_endpoint(protocol: V2Protocol) -> V2Endpoint {
    common::identity_endpoint(protocol, TIMEOUT)
}

#[test]
fn every_protocol_round_trips_against_the_reference_server() {
    let _serial = serial();
    let server = ReferenceServer::start(&ReferenceConfig::default()).unwrap();
    let runtime = runtime();
    for protocol in [
        V2Protocol::RestJson,
        V2Protocol::RestBinary,
        V2Protocol::Grpc,
    ] {
        let endpoint = identity_endpoint(protocol);
        let client = connect(&runtime, &endpoint, &server.url_for(protocol));
        runtime
            .block_on(client.health())
            .unwrap_or_else(|e| panic!("{protocol}: {e}"));
        let metadata = runtime.block_on(client.metadata()).unwrap();
        assert_eq!(metadata.name, "identity");
        assert_eq!(metadata.inputs[0].name, "INPUT0");
        runtime
            .block_on(client.send())
            .unwrap_or_else(|e| panic!("{protocol}: {e}"));

        let plan = LoadPlan::closed(4, Duration::from_secs(5)).max_requests(300);
        let stats = run(&runtime, &client, &plan);
        assert_eq!(stats.errors, 0, "{protocol}: {:?}", stats.first_errors);
        assert_eq!(
            stats.requests, 300,
            "{protocol}: the request budget bounds the run"
        );
        assert_eq!(stats.ok, 300);
        let latency = stats.latency.unwrap();
        assert!(latency.min > 0.0 && latency.min <= latency.p50 && latency.p99 <= latency.max);
    }
}

#[test]
fn a_wrong_output_shape_is_a_decode_error() {
    let _serial = serial();
    let server = ReferenceServer::start(&ReferenceConfig::default()).unwrap();
    let runtime = runtime();
    for protocol in [V2Protocol::RestJson, V2Protocol::Grpc] {
        let endpoint = identity_endpoint(protocol).expect_output_shape("OUTPUT0", [8]);
        let client = connect(&runtime, &endpoint, &server.url_for(protocol));
        let error = runtime.block_on(client.send()).unwrap_err();
        assert_eq!(error.class, ErrorClass::Decode, "{protocol}: {error}");
        assert!(error.message.contains("expected [8]"), "{error}");
    }
}

/// The quantile `q` of latency = fixed + what is left of a stall, for arrivals spread evenly over
/// whole periods: a fraction stall/period waits, uniformly between 0 and the stall.
fn expected_quantile(latency: &InjectedLatency, q: f64) -> f64 {
    let fixed = latency.fixed.as_nanos() as f64;
    let stalled = latency.stall.as_secs_f64() / latency.period.as_secs_f64();
    let calm = 1.0 - stalled;
    if q <= calm {
        fixed
    } else {
        fixed + latency.stall.as_nanos() as f64 * (q - calm) / stalled
    }
}

fn stall_schedule() -> InjectedLatency {
    InjectedLatency::fixed(Duration::from_millis(2))
        .with_stall(Duration::from_millis(200), Duration::from_secs(1))
}

#[test]
fn open_loop_percentiles_follow_the_injected_stall() {
    let _serial = serial();
    let schedule = stall_schedule();
    let server = ReferenceServer::start(&ReferenceConfig::default().latency(schedule)).unwrap();
    let runtime = runtime();
    let client = connect(
        &runtime,
        &identity_endpoint(V2Protocol::RestJson),
        &server.rest_url(),
    );
    // Three whole periods at a constant rate: arrival phases cover the period evenly.
    let plan = LoadPlan::open(200.0, Arrival::Constant, Duration::from_secs(3))
        .warm_up(Duration::from_millis(300));
    let stats = run(&runtime, &client, &plan);
    assert_eq!(stats.errors, 0, "{:?}", stats.first_errors);
    assert_eq!(stats.requests, 600);
    let latency = stats.latency.unwrap();
    // Timer granularity (1 ms) and loopback overhead only ever add. Arrivals every 5 ms meet a
    // stall at discrete phases, so within the stall a quantile lands up to one gap either side
    // of the continuous value (by where the first arrival falls in the stall).
    let gap_ms = 1000.0 / 200.0;
    let close = |measured: f64, q: f64, slack_ms: f64| {
        let expected = expected_quantile(&schedule, q);
        let below_ms = if expected > schedule.fixed.as_nanos() as f64 {
            gap_ms + 0.5
        } else {
            1.5
        };
        assert!(
            measured >= expected - below_ms * MS && measured <= expected + slack_ms * MS,
            "p{}: measured {:.1} ms, expected {:.1} ms from the schedule; {latency:?}",
            q * 100.0,
            measured / MS,
            expected / MS
        );
    };
    close(latency.p50, 0.50, 3.0);
    close(latency.p90, 0.90, 12.0);
    close(latency.p99, 0.99, 12.0);
    close(latency.max, 1.0, 15.0);
    // A generator held up by the server would send every arrival of a stall late: a fifth of
    // them (200 ms in every second). Half of that is the line.
    let stalled_pct = 100.0 * schedule.stall.as_secs_f64() / schedule.period.as_secs_f64();
    assert!(
        stats.late_pct.unwrap() < stalled_pct / 2.0,
        "the generator kept its schedule: {stats:?}"
    );
}

#[test]
fn service_time_hides_the_stall_that_latency_from_the_intended_send_shows() {
    let _serial = serial();
    let schedule = stall_schedule();
    let server = ReferenceServer::start(&ReferenceConfig::default().latency(schedule)).unwrap();
    let runtime = runtime();
    let client = connect(
        &runtime,
        &identity_endpoint(V2Protocol::Grpc),
        &server.grpc_url(),
    );
    // One request in flight: during a stall the arrivals queue in the client, as they would
    // behind a tool that only sends when the previous answer came back.
    let plan = LoadPlan::open(100.0, Arrival::Constant, Duration::from_secs(4)).max_in_flight(1);
    let stats = run(&runtime, &client, &plan);
    assert_eq!(stats.errors, 0, "{:?}", stats.first_errors);
    let latency = stats.latency.unwrap();
    let service = stats.service.unwrap();
    // A fifth of the arrivals land in a stall and wait at least what is left of it, so at least
    // a tenth wait over half of it (100 ms) — whatever the queue adds.
    assert!(latency.p90 >= 95.0 * MS, "latency {latency:?}");
    // Only the one request in flight when a stall starts is slow to serve: nine in ten are served
    // in well under the stall (a twentieth of it; the calm service is 2 ms).
    let stall_ns = stall_schedule().stall.as_nanos() as f64;
    assert!(service.p90 <= stall_ns / 20.0, "service {service:?}");
    assert!(
        stats.late_pct.unwrap() > 10.0,
        "queued arrivals count as sent late: {stats:?}"
    );
}

#[test]
fn a_closed_loop_does_not_report_the_stall_away() {
    let _serial = serial();
    let schedule = stall_schedule();
    let server = ReferenceServer::start(&ReferenceConfig::default().latency(schedule)).unwrap();
    let runtime = runtime();
    let client = connect(
        &runtime,
        &identity_endpoint(V2Protocol::RestJson),
        &server.rest_url(),
    );
    let stats = run(
        &runtime,
        &client,
        &LoadPlan::closed(1, Duration::from_secs(3)),
    );
    assert_eq!(stats.latency_basis, LatencyBasis::CorrectedClosedLoop);
    let service = stats.service.unwrap();
    let latency = stats.latency.unwrap();
    // Uncorrected, three slow requests among hundreds vanish below p99 (nine in ten are served
    // in a twentieth of the stall; the calm service is 2 ms) …
    let stall_ns = stall_schedule().stall.as_nanos() as f64;
    assert!(service.p90 <= stall_ns / 20.0, "service {service:?}");
    assert!(
        service.max >= 100.0 * MS,
        "a stalled request was measured: {service:?}"
    );
    // … corrected, the requests a steady client would have sent during each stall are back.
    assert!(latency.p99 >= 100.0 * MS, "corrected {latency:?}");
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[test]
fn an_endpoint_that_is_down_is_a_connect_error_naming_the_url() {
    let _serial = serial();
    let runtime = runtime();
    let url = format!("http://127.0.0.1:{}", free_port());
    for protocol in [V2Protocol::RestJson, V2Protocol::Grpc] {
        let client = connect(&runtime, &identity_endpoint(protocol), &url);
        let error = runtime.block_on(client.health()).unwrap_err();
        assert_eq!(error.class, ErrorClass::Connect, "{protocol}: {error}");
        assert!(
            error.to_string().contains("127.0.0.1"),
            "{protocol}: {error}"
        );
        let stats = run(
            &runtime,
            &client,
            &LoadPlan::closed(2, Duration::from_millis(300)),
        );
        assert_eq!(stats.ok, 0);
        assert!(stats.errors > 0);
        assert_eq!(
            stats.errors_by_class.keys().collect::<Vec<_>>(),
            ["connect"],
            "{protocol}"
        );
    }
}

/// Runs `plan` against a reference server that is shut down `kill_after` into the run; the
/// statistics and how long the run took.
fn run_killing_the_server(
    protocol: V2Protocol,
    kill_after: Duration,
    plan: &LoadPlan,
) -> (model_bench::results::LoadStats, Duration) {
    let server = ReferenceServer::start(&ReferenceConfig::default()).unwrap();
    let runtime = runtime();
    let client = connect(
        &runtime,
        &identity_endpoint(protocol),
        &server.url_for(protocol),
    );
    let killer = std::thread::spawn(move || {
        std::thread::sleep(kill_after);
        server.shutdown();
    });
    let started = std::time::Instant::now();
    let stats = run(&runtime, &client, plan);
    let took = started.elapsed();
    killer.join().unwrap();
    (stats, took)
}

/// The classes a request can end in when its server goes away: the connection fails, or no new
/// one can be made. A gRPC server that shuts down also resets the streams in flight (CANCEL, or
/// NO_ERROR after its GOAWAY), which gRPC's mapping reports as CANCELLED and UNAVAILABLE.
fn server_gone(protocol: V2Protocol, class: &str) -> bool {
    match class {
        "connect" | "io" => true,
        "grpc_cancelled" | "grpc_unavailable" => protocol == V2Protocol::Grpc,
        _ => false,
    }
}

#[test]
fn a_server_killed_mid_run_gives_counted_errors_and_the_results_so_far() {
    let _serial = serial();
    let plan = LoadPlan::open(300.0, Arrival::Poisson, Duration::from_millis(1500));
    for protocol in [V2Protocol::RestJson, V2Protocol::Grpc] {
        let (stats, _) = run_killing_the_server(protocol, Duration::from_millis(600), &plan);
        assert!(
            stats.ok > 50,
            "{protocol}: requests before the kill succeeded: {stats:?}"
        );
        assert!(
            stats.errors > 50,
            "{protocol}: requests after the kill failed: {stats:?}"
        );
        assert_eq!(stats.ok + stats.errors, stats.requests);
        assert!(
            stats
                .errors_by_class
                .keys()
                .all(|k| server_gone(protocol, k)),
            "{protocol}: {:?}",
            stats.errors_by_class
        );
    }
}

/// A server that dies in a long run: the run stops once its error limit is reached, says when,
/// and keeps what it measured before.
#[test]
fn a_server_that_dies_stops_the_run_at_its_error_limit() {
    let _serial = serial();
    let plan = LoadPlan::closed(2, Duration::from_secs(20))
        .error_limit(25)
        .series_step(Duration::from_millis(250));
    for protocol in [V2Protocol::RestJson, V2Protocol::Grpc] {
        let (stats, _) = run_killing_the_server(protocol, Duration::from_millis(700), &plan);
        let stopped = stats
            .stopped
            .as_deref()
            .unwrap_or_else(|| panic!("{protocol}: the run stopped at its error limit"));
        assert!(
            stopped.contains("failed requests (the error limit)"),
            "{stopped}"
        );
        // Failed connections come back at once: without the limit, 20 s of them would be many
        // thousands. With it, the two workers stop after the 25th (one more may be in flight).
        assert!((25..=27).contains(&stats.errors), "{protocol}: {stats:?}");
        assert_eq!(stats.ok + stats.errors, stats.requests);
        assert!(
            stats.ok > 20,
            "{protocol}: the requests before the kill are kept: {stats:?}"
        );
        let served: u64 = stats.time_series.iter().take(2).map(|s| s.ok).sum();
        assert!(served > 0, "{protocol}: {:?}", stats.time_series);
    }
}

/// gRPC messages far larger than HTTP/2's windows and frames: the request goes out in frames as
/// the server's window updates allow, responses arrive in many frames, and the connection's
/// receive window is given back as it fills (24 MiB through a 5 MiB window).
#[test]
fn grpc_messages_larger_than_every_window_and_frame_round_trip() {
    let _serial = serial();
    let server = ReferenceServer::start(&ReferenceConfig::default()).unwrap();
    let runtime = runtime();
    let values = vec![0.25f32; 250_000];
    let endpoint = Endpoint::grpc("identity")
        .input(Tensor::fp32("INPUT0", [1, 250_000], &values).unwrap())
        .expect_output_shape("OUTPUT0", [1, 250_000])
        .timeout(TIMEOUT);
    let client = connect(&runtime, &endpoint, &server.grpc_url());
    let stats = run(
        &runtime,
        &client,
        &LoadPlan::closed(4, Duration::from_secs(20)).max_requests(24),
    );
    assert_eq!(
        (stats.ok, stats.errors),
        (24, 0),
        "{:?}",
        stats.first_errors
    );
}

/// A gRPC endpoint whose port speaks HTTP/1.1 (a REST port by mistake): the answer is not
/// HTTP/2, and the error says so.
#[test]
fn a_grpc_endpoint_that_answers_in_http1_is_a_decode_error() {
    let _serial = serial();
    let runtime = runtime();
    let http1 = canned_server(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n");
    let client = connect(&runtime, &identity_endpoint(V2Protocol::Grpc), &http1);
    let error = runtime.block_on(client.send()).unwrap_err();
    assert_eq!(error.class, ErrorClass::Decode, "{error}");
    assert!(error.message.contains("malformed HTTP/2"), "{error}");
    assert!(error.message.contains(&http1), "{error}");
}

#[test]
fn unknown_models_are_counted_by_status_code() {
    let _serial = serial();
    let server = ReferenceServer::start(&ReferenceConfig::default()).unwrap();
    let runtime = runtime();
    let rest = Endpoint::rest("nope").input(Tensor::fp32("INPUT0", [1], &[1.0]).unwrap());
    let grpc = rest.clone().with_protocol(V2Protocol::Grpc);
    let cases = [
        (rest, server.rest_url(), "http_404"),
        (grpc, server.grpc_url(), "grpc_not_found"),
    ];
    for (endpoint, url, key) in cases {
        let client = connect(&runtime, &endpoint, &url);
        let error = runtime.block_on(client.health()).unwrap_err();
        assert!(error.message.contains("nope"), "{error}");
        let stats = run(
            &runtime,
            &client,
            &LoadPlan::closed(1, Duration::from_secs(5)).max_requests(20),
        );
        assert_eq!(
            stats.errors_by_class.get(key),
            Some(&20),
            "{:?}",
            stats.errors_by_class
        );
        assert!(
            stats.first_errors[key].contains("nope"),
            "{:?}",
            stats.first_errors
        );
    }
}

/// A real HTTP/1.1 server on a loopback socket that answers every request with `response`.
fn canned_server(response: &'static [u8]) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            std::thread::spawn(move || {
                let mut buffer = [0u8; 65536];
                let mut seen = Vec::new();
                // Answer each request once its headers and body (Content-Length) arrived.
                while let Ok(n) = stream.read(&mut buffer) {
                    if n == 0 {
                        return;
                    }
                    seen.extend_from_slice(&buffer[..n]);
                    while let Some(end) = request_end(&seen) {
                        seen.drain(..end);
                        if stream.write_all(response).is_err() {
                            return;
                        }
                        if response
                            .windows(17)
                            .any(|w| w.eq_ignore_ascii_case(b"connection: close"))
                        {
                            return;
                        }
                    }
                }
            });
        }
    });
    url
}

fn request_end(data: &[u8]) -> Option<usize> {
    let head_end = data.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&data[..head_end]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| {
            l.strip_prefix("content-length:")
                .map(|v| v.trim().parse().unwrap_or(0))
        })
        .unwrap_or(0);
    (data.len() >= head_end + length).then_some(head_end + length)
}

#[test]
fn responses_that_are_not_v2_are_decode_errors_with_the_first_message_kept() {
    let _serial = serial();
    let runtime = runtime();
    let html = canned_server(b"HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: 18\r\n\r\n<html>hello</html>");
    let client = connect(&runtime, &identity_endpoint(V2Protocol::RestJson), &html);
    let stats = run(
        &runtime,
        &client,
        &LoadPlan::closed(2, Duration::from_secs(5)).max_requests(40),
    );
    assert_eq!(stats.errors_by_class.get("decode"), Some(&40), "{stats:?}");
    assert!(stats.first_errors["decode"].starts_with("not an Open Inference Protocol response"));
}

#[test]
fn truncated_responses_and_server_errors_are_counted_by_class() {
    let _serial = serial();
    let runtime = runtime();
    let truncated = canned_server(
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\nconnection: close\r\n\r\n{\"outputs\":[",
    );
    let client_truncated = connect(
        &runtime,
        &identity_endpoint(V2Protocol::RestJson),
        &truncated,
    );
    let error = runtime.block_on(client_truncated.send()).unwrap_err();
    assert_eq!(error.class, ErrorClass::Io, "{error}");

    let busy = canned_server(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 4\r\n\r\nbusy");
    let client_busy = connect(&runtime, &identity_endpoint(V2Protocol::RestBinary), &busy);
    let stats = run(
        &runtime,
        &client_busy,
        &LoadPlan::closed(1, Duration::from_secs(5)).max_requests(10),
    );
    assert_eq!(
        stats.errors_by_class.get("http_503"),
        Some(&10),
        "{stats:?}"
    );
    assert!(stats.first_errors["http_503"].contains("busy"));
}

/// A valid V2 answer for `identity_endpoint`'s request.
const IDENTITY_JSON: &str = r#"{"model_name":"identity","outputs":[{"name":"OUTPUT0","shape":[2,4],"datatype":"FP32","data":[1,2,3,4,5,6,7,8]}]}"#;

/// `IDENTITY_JSON` as an HTTP/1.1 response after `head` (status line and framing headers).
fn identity_response(head: &str, chunked: bool) -> &'static [u8] {
    let body = if chunked {
        // Two chunks and a trailer, as servers that stream their output send it.
        let (a, b) = IDENTITY_JSON.split_at(40);
        format!(
            "{:x}\r\n{a}\r\n{:x};note=1\r\n{b}\r\n0\r\nx-trailer: done\r\n\r\n",
            a.len(),
            b.len()
        )
    } else {
        IDENTITY_JSON.to_string()
    };
    let response =
        format!("{head}\r\n\r\n{body}").replace("{len}", &IDENTITY_JSON.len().to_string());
    Box::leak(response.into_bytes().into_boxed_slice())
}

#[test]
fn closed_loop_connections_read_every_http1_framing() {
    let _serial = serial();
    let runtime = runtime();
    let cases = [
        (
            "chunked body with a trailer",
            identity_response("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked", true),
        ),
        (
            "a new connection per response",
            identity_response(
                "HTTP/1.1 200 OK\r\ncontent-length: {len}\r\nconnection: close",
                false,
            ),
        ),
        (
            "an interim 100 Continue first",
            identity_response(
                "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: {len}",
                false,
            ),
        ),
    ];
    for (case, response) in cases {
        let url = canned_server(response);
        let client = connect(&runtime, &identity_endpoint(V2Protocol::RestJson), &url);
        let stats = run(
            &runtime,
            &client,
            &LoadPlan::closed(2, Duration::from_secs(5)).max_requests(30),
        );
        assert_eq!(stats.ok, 30, "{case}: {:?}", stats.first_errors);
        assert_eq!(stats.errors, 0, "{case}: {:?}", stats.first_errors);
    }
}

#[test]
fn a_server_killed_under_a_closed_loop_gives_counted_errors_and_ends_on_time() {
    let _serial = serial();
    let plan = LoadPlan::closed(4, Duration::from_millis(1000));
    for protocol in [V2Protocol::RestJson, V2Protocol::Grpc] {
        let (stats, took) = run_killing_the_server(protocol, Duration::from_millis(400), &plan);
        assert!(
            stats.ok > 0,
            "{protocol}: requests before the kill succeeded: {stats:?}"
        );
        assert!(
            stats.errors > 0,
            "{protocol}: requests after the kill failed: {stats:?}"
        );
        assert!(
            stats
                .errors_by_class
                .keys()
                .all(|k| server_gone(protocol, k)),
            "{protocol}: {:?}",
            stats.errors_by_class
        );
        // Bounded by the window plus one request timeout, not by the server coming back.
        assert!(took < Duration::from_millis(1000) + TIMEOUT);
    }
}

#[test]
fn tls_endpoints_work_with_a_trusted_ca_and_fail_clearly_without_one() {
    let _serial = serial();
    // A fresh self-signed certificate for this run: nothing secret is checked in.
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .unwrap();
    let cert_pem = certified.cert.pem();
    let config =
        ReferenceConfig::default().tls(cert_pem.clone(), certified.signing_key.serialize_pem());
    assert!(!format!("{config:?}").contains("PRIVATE KEY"), "{config:?}");
    let server = ReferenceServer::start(&config).unwrap();
    assert!(server.rest_url().starts_with("https://127.0.0.1:"));
    let runtime = runtime();
    for (protocol, http2) in [
        (V2Protocol::RestJson, false),
        (V2Protocol::RestBinary, false),
        (V2Protocol::RestJson, true),
        (V2Protocol::Grpc, false),
    ] {
        let case = format!("{protocol} (http2: {http2})");
        let url = server.url_for(protocol);
        let trusting = identity_endpoint(protocol)
            .http2(http2)
            .tls_ca_pem(cert_pem.clone());
        let client = connect(&runtime, &trusting, &url);
        runtime
            .block_on(client.health())
            .unwrap_or_else(|e| panic!("{case}: {e}"));
        let stats = run(
            &runtime,
            &client,
            &LoadPlan::closed(2, Duration::from_secs(5)).max_requests(40),
        );
        assert_eq!(stats.ok, 40, "{case}: {:?}", stats.first_errors);

        let untrusting = identity_endpoint(protocol).http2(http2);
        let client = connect(&runtime, &untrusting, &url);
        let error = runtime.block_on(client.health()).unwrap_err();
        assert_eq!(error.class, ErrorClass::Connect, "{case}: {error}");
        assert!(
            error.message.to_ascii_lowercase().contains("certificate"),
            "{case}: {error}"
        );
    }
    let missing = identity_endpoint(V2Protocol::RestJson).tls_ca_file("/nonexistent/ca.pem");
    let error = runtime
        .block_on(Client::connect(&missing, &server.rest_url(), no_env))
        .err()
        .expect("an unreadable CA file is refused");
    assert!(error.to_string().contains("/nonexistent/ca.pem"), "{error}");
}

#[test]
fn invalid_urls_fail_before_any_request() {
    let runtime = runtime();
    let endpoint = identity_endpoint(V2Protocol::RestJson);
    for url in [
        "127.0.0.1:8000",
        "ftp://127.0.0.1:1",
        "http://127.0.0.1:notaport",
    ] {
        let error = runtime
            .block_on(Client::connect(&endpoint, url, no_env))
            .err()
            .expect("rejected");
        assert!(error.to_string().contains("invalid URL"), "{url}: {error}");
    }
    let secret =
        identity_endpoint(V2Protocol::Grpc).bearer_from_env("MODEL_BENCH_TEST_UNSET_TOKEN");
    let error = runtime
        .block_on(Client::connect(&secret, "http://127.0.0.1:1", no_env))
        .err()
        .expect("rejected");
    assert!(
        error.to_string().contains("$MODEL_BENCH_TEST_UNSET_TOKEN"),
        "{error}"
    );
}

#[test]
fn dynamic_batching_answers_every_request_with_its_own_rows() {
    let _serial = serial();
    let config = ReferenceConfig::default().batching(8, Duration::from_millis(5));
    let server = ReferenceServer::start(&config).unwrap();
    let runtime = runtime();
    for protocol in [V2Protocol::RestBinary, V2Protocol::Grpc] {
        // Two clients with different row counts at once: their requests share batches and must
        // come back split exactly (the shape check runs on every response).
        let clients: Vec<Arc<Client>> = [1i64, 3]
            .iter()
            .map(|&rows| {
                let values: Vec<f32> = (0..rows * 4).map(|v| v as f32).collect();
                let endpoint = Endpoint::rest("identity")
                    .with_protocol(protocol)
                    .input(Tensor::fp32("INPUT0", [rows, 4], &values).unwrap())
                    .expect_output_shape("OUTPUT0", [rows, 4]);
                connect(&runtime, &endpoint, &server.url_for(protocol))
            })
            .collect();
        let plan = LoadPlan::closed(4, Duration::from_secs(5)).max_requests(200);
        let (one, three) = runtime.block_on(async {
            tokio::join!(
                model_bench::remote::load::run(Arc::clone(&clients[0]), &plan),
                model_bench::remote::load::run(Arc::clone(&clients[1]), &plan),
            )
        });
        for (rows, run) in [(1, one), (3, three)] {
            let stats = run.stats;
            assert_eq!(
                stats.errors, 0,
                "{protocol}, {rows} rows: {:?}",
                stats.first_errors
            );
            assert_eq!(stats.ok, 200);
        }
    }
}

#[test]
fn a_slow_server_is_a_timeout_for_every_protocol() {
    let _serial = serial();
    let slow = ReferenceConfig::default().latency(InjectedLatency::fixed(Duration::from_secs(2)));
    let server = ReferenceServer::start(&slow).unwrap();
    let runtime = runtime();
    for protocol in [
        V2Protocol::RestJson,
        V2Protocol::RestBinary,
        V2Protocol::Grpc,
    ] {
        let endpoint = identity_endpoint(protocol).timeout(Duration::from_millis(200));
        let client = connect(&runtime, &endpoint, &server.url_for(protocol));
        let error = runtime.block_on(client.send()).unwrap_err();
        assert_eq!(error.class, ErrorClass::Timeout, "{protocol}: {error}");
    }
}

#[test]
fn plain_posts_http2_and_several_connections_work_against_the_reference_server() {
    let _serial = serial();
    let server = ReferenceServer::start(&ReferenceConfig::default()).unwrap();
    let runtime = runtime();
    // A server that does not speak V2 gets a fixed body POSTed; any 2xx is a success.
    let body =
        br#"{"inputs":[{"name":"INPUT0","shape":[1],"datatype":"FP32","data":[1.0]}]}"#.to_vec();
    let post = Endpoint::post(
        "/v2/models/identity/infer",
        "application/json",
        body.clone(),
    );
    let stats = run(
        &runtime,
        &connect(&runtime, &post, &server.rest_url()),
        &LoadPlan::closed(2, Duration::from_secs(5)).max_requests(50),
    );
    assert_eq!(
        (stats.ok, stats.errors),
        (50, 0),
        "{:?}",
        stats.first_errors
    );
    let missing = Endpoint::post("/predictions/nope", "application/json", body);
    let error = runtime
        .block_on(connect(&runtime, &missing, &server.rest_url()).send())
        .unwrap_err();
    assert_eq!(error.class, ErrorClass::HttpStatus(404), "{error}");

    // REST over HTTP/2 (prior knowledge) and requests spread over several connections.
    let cases = [
        (
            identity_endpoint(V2Protocol::RestJson).http2(true),
            server.rest_url(),
        ),
        (
            identity_endpoint(V2Protocol::RestJson).connections(3),
            server.rest_url(),
        ),
        (
            identity_endpoint(V2Protocol::Grpc).connections(3),
            server.grpc_url(),
        ),
    ];
    for (endpoint, url) in cases {
        let client = connect(&runtime, &endpoint, &url);
        let stats = run(
            &runtime,
            &client,
            &LoadPlan::closed(6, Duration::from_secs(5)).max_requests(120),
        );
        assert_eq!(
            (stats.ok, stats.errors),
            (120, 0),
            "{endpoint:?}: {:?}",
            stats.first_errors
        );
    }
}

/// A mixed workload over two real servers: three requests to a fast REST endpoint for every one
/// to a gRPC endpoint 20 ms slower. Each member gets its share of the requests (within four
/// binomial standard deviations of 3:1) and its own latency, and the whole adds up.
#[test]
fn a_mixed_workload_gives_each_member_its_share_and_its_own_figures() {
    let _serial = serial();
    let fast = ReferenceServer::start(&ReferenceConfig::default()).unwrap();
    let slow_config =
        ReferenceConfig::default().latency(InjectedLatency::fixed(Duration::from_millis(20)));
    let slow = ReferenceServer::start(&slow_config).unwrap();
    let runtime = runtime();
    let rest = identity_endpoint(V2Protocol::RestJson);
    let grpc = identity_endpoint(V2Protocol::Grpc);
    let own = runtime
        .block_on(Client::connect(&rest, &fast.rest_url(), no_env))
        .unwrap();
    let other = runtime
        .block_on(Client::connect(&grpc, &slow.grpc_url(), no_env))
        .unwrap();
    let client = Arc::new(own.with_mix(("fast".into(), 3.0), vec![("slow".into(), 1.0, other)]));
    runtime.block_on(client.health()).unwrap();
    let plan = LoadPlan::closed(2, Duration::from_secs(30)).max_requests(200);
    let point = runtime.block_on(model_bench::remote::load::run(Arc::clone(&client), &plan));
    assert_eq!(point.stats.errors, 0, "{:?}", point.stats.first_errors);
    assert_eq!(point.stats.requests, 200);
    let names: Vec<&str> = point.mix.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["fast", "slow"]);
    let (to_fast, to_slow) = (&point.mix[0].stats, &point.mix[1].stats);
    assert_eq!(to_fast.requests + to_slow.requests, 200);
    assert_eq!(to_fast.ok + to_slow.ok, point.stats.ok);
    // 150 expected; the binomial standard deviation is sqrt(200 × 0.75 × 0.25) ≈ 6.1.
    assert!(
        (125..=175).contains(&to_fast.requests),
        "{}",
        to_fast.requests
    );
    let p50 = |stats: &model_bench::results::LoadStats| stats.latency.unwrap().p50;
    // Each member's own latency: the slow one's injected 20 ms is in its figures and not in the
    // fast one's (most of it: the two servers share the cores).
    assert!(p50(to_slow) >= 20.0 * MS, "{}", p50(to_slow));
    assert!(
        p50(to_slow) - p50(to_fast) >= 15.0 * MS,
        "{} vs {}",
        p50(to_slow),
        p50(to_fast)
    );

    // A member that is not there fails the health check, named.
    let missing = Endpoint::rest("nope").input(Tensor::fp32("INPUT0", [1], &[1.0]).unwrap());
    let own = runtime
        .block_on(Client::connect(&rest, &fast.rest_url(), no_env))
        .unwrap();
    let other = runtime
        .block_on(Client::connect(&missing, &fast.rest_url(), no_env))
        .unwrap();
    let client = own.with_mix(("fast".into(), 1.0), vec![("gone".into(), 1.0, other)]);
    let error = runtime.block_on(client.health()).unwrap_err();
    assert!(error.message.contains("mix member `gone`"), "{error}");

    // Names must differ and weights be positive, checked before anything is sent.
    let twice = rest.clone().mix("identity", 1.0, grpc.clone());
    let error = twice.validate(no_env).unwrap_err().to_string();
    assert!(
        error.contains("two mix members are named `identity`"),
        "{error}"
    );
    let weightless = rest.clone().mix("slow", 0.0, grpc);
    let error = weightless.validate(no_env).unwrap_err().to_string();
    assert!(error.contains("weight 0"), "{error}");
}
