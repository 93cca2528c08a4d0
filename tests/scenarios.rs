//! Scenarios against the reference server on loopback, each short and bounded, with what they
//! must find derived from how the server was configured: a ramp seen step by step in the time
//! series, a spike's recovery time on a server of known capacity, and a stress run that finds
//! that capacity.

use std::time::Duration;

use model_bench::remote::load::scenario::{self, Spike, Stress};
use model_bench::remote::watch::prometheus::Scraper;
use model_bench::remote::{LoadPlan, ReferenceConfig, V2Endpoint, V2Protocol};
use model_bench::server::ReferenceServer;

mod common;
#[path = "common/serial.rs"]
mod serial;

use common::{connect, run, runtime};
use serial::serial;

fn endpoint() -> V2Endpoint {
    common::identity_endpoint(V2Protocol::RestJson, Duration::from_secs(5))
}

#[test]
fn a_ramp_shows_each_step_in_the_time_series() {
    let _serial = serial();
    let server = ReferenceServer::start(&ReferenceConfig::default()).unwrap();
    let runtime = runtime();
    let client = connect(&runtime, &endpoint(), &server.rest_url());
    // 50, 100, 150, 200 per second, one second each; the series in half-second steps.
    let plan = scenario::ramp_plan(50.0, 200.0, 4, Duration::from_secs(1))
        .series_step(Duration::from_millis(500));
    let stats = run(&runtime, &client, &plan);
    assert_eq!(stats.errors, 0, "{:?}", stats.first_errors);
    // Constant arrivals: exactly the scheduled count per step.
    assert_eq!(stats.requests, 50 + 100 + 150 + 200);
    let series = &stats.time_series;
    assert!(series.len() >= 8, "{series:?}");
    let sent: Vec<u64> = series.iter().take(8).map(|p| p.sent).collect();
    assert_eq!(sent, [25, 25, 50, 50, 75, 75, 100, 100]);
    // Responses arrive at the rate they were sent (the server is far from its limits), within
    // a request or two of each step's edges.
    for (point, rate) in series
        .iter()
        .zip([50.0, 50.0, 100.0, 100.0, 150.0, 150.0, 200.0])
    {
        assert!(
            (point.throughput_rps - rate).abs() <= 2.0 / 0.5 + rate * 0.02,
            "step at {} s: {} responses/s, sent at {rate}/s",
            point.start_s,
            point.throughput_rps
        );
        assert!(point.p99_ns.is_some());
    }
}

/// A closed-loop ramp of 1, 2, 3 and 4 requests in flight against a server that answers each
/// in 10 ms: each step serves at most its number in flight per 10 ms (100, 200, 300, 400 per
/// second), and its throughput times its latency is that number in flight.
#[test]
fn a_concurrency_ramp_serves_its_number_in_flight_per_service_time() {
    let _serial = serial();
    let latency = model_bench::remote::InjectedLatency::fixed(Duration::from_millis(10));
    let server = ReferenceServer::start(&ReferenceConfig::default().latency(latency)).unwrap();
    let runtime = runtime();
    let client = connect(&runtime, &endpoint(), &server.rest_url());
    let plan = scenario::concurrency_ramp_plan(1, 4, 4, Duration::from_millis(750))
        .series_step(Duration::from_millis(250));
    let phases = scenario::ramp_phases(&plan);
    let run = runtime.block_on(model_bench::remote::load::run(
        std::sync::Arc::clone(&client),
        &plan,
    ));
    assert_eq!(run.stats.errors, 0, "{:?}", run.stats.first_errors);
    let measured = scenario::phases_of(&run.tally, &phases);
    assert_eq!(measured.len(), 4, "{measured:?}");
    for (n, phase) in (1..=4usize).zip(&measured) {
        assert_eq!(phase.concurrency, Some(n), "{phase:?}");
        // Never more than n per 10 ms; and n in flight by Little's law, whatever the machine
        // adds to the 10 ms (throughput × the step's median latency, 2 significant figures).
        let most = n as f64 * 100.0;
        assert!(phase.throughput_rps <= 1.02 * most, "{phase:?}");
        let in_flight = phase.throughput_rps * phase.p50_ns.unwrap() / 1e9;
        assert!(
            (0.85 * n as f64..=1.1 * n as f64).contains(&in_flight),
            "{n} in flight: {in_flight:.2} by Little's law: {phase:?}"
        );
    }
}

#[test]
fn a_spike_on_a_server_of_known_capacity_recovers_when_its_backlog_has_drained() {
    let _serial = serial();
    // One request at a time, 5 ms each: 200 per second. Baseline 100/s; the spike sends 300/s
    // for 1 s, so 100 requests queue up, which drain at 200 − 100 = 100/s: 1 s after the spike.
    let capacity = 200.0;
    let server = ReferenceServer::start(&ReferenceConfig::default().capacity(capacity)).unwrap();
    let runtime = runtime();
    let client = connect(&runtime, &endpoint(), &server.rest_url());
    let spike = Spike {
        baseline: 100.0,
        factor: 3.0,
        before: Duration::from_secs(2),
        spike: Duration::from_secs(1),
        after: Duration::from_secs(3),
        recovered_within_pct: 100.0,
    };
    let step = Duration::from_millis(250);
    let stats = run(&runtime, &client, &spike.plan().series_step(step));
    assert_eq!(stats.errors, 0, "{:?}", stats.first_errors);
    let recovery = scenario::recovery(&stats.time_series, &spike, step).expect("a level before");
    let backlog = (spike.baseline * spike.factor - capacity) * spike.spike.as_secs_f64();
    let drain_s = backlog / (capacity - spike.baseline);
    // The queue peaks at the spike's end: its last requests wait for the whole backlog.
    let peak_wait_ns = backlog / capacity * 1e9;
    assert!(
        recovery.peak_p99_ns >= 0.8 * peak_wait_ns,
        "{recovery:?}, expected a peak near {} ms",
        peak_wait_ns / 1e6
    );
    // Back within 2× the level before once the backlog is gone: the derived drain time, to the
    // series' resolution. A step either side for where the drain falls in a step, and one more
    // after it: a step's p99 is its slowest requests, and one late request on a shared machine
    // keeps that step out. Never two steps early: the queue cannot drain faster than the server
    // serves.
    let measured = recovery.recovery_s.expect("recovered within the run");
    let step_s = step.as_secs_f64();
    assert!(
        measured >= drain_s - step_s - 1e-9 && measured <= drain_s + 2.0 * step_s + 1e-9,
        "recovered after {measured} s; the backlog drains in {drain_s} s; {recovery:?}"
    );
}

#[test]
fn stress_finds_the_capacity_of_a_single_server_queue() {
    let _serial = serial();
    let capacity = 200.0;
    let server = ReferenceServer::start(&ReferenceConfig::default().capacity(capacity)).unwrap();
    let runtime = runtime();
    let client = connect(&runtime, &endpoint(), &server.rest_url());
    let stress = Stress {
        start_rate: 80.0,
        increment: 40.0,
        step: Duration::from_secs(1),
        max_steps: 8,
        slo_p99: Some(Duration::from_millis(50)),
        min_goodput: None,
        max_error_rate: 0.01,
    };
    let result = runtime.block_on(stress.run(std::sync::Arc::clone(&client)));
    // 80, 120, 160, 200 are within capacity; at 240 the queue grows by 40 a second, so its
    // last requests wait 200 ms, over the 50 ms SLO.
    let held = result.highest_held.expect("the lowest level held");
    assert!(
        held <= capacity && held > capacity - stress.increment,
        "highest held {held}/s for a capacity of {capacity}/s: {result:?}"
    );
    let last = result.steps.last().unwrap();
    assert_eq!(last.rate, held + stress.increment, "{result:?}");
    let why = last.broke.as_deref().unwrap();
    assert!(why.contains("over the 50.0 ms SLO"), "{why}");
}

/// The reference server's Prometheus metrics (Triton's names), scraped during a closed loop
/// against a single-server queue: the success counter moves by exactly the requests that
/// succeeded, and the requests inside the server never exceed the loop's concurrency — which
/// they reach, since every request waits its turn in the queue.
#[test]
fn prometheus_metrics_count_the_requests_and_see_them_inside_the_server() {
    let _serial = serial();
    let server = ReferenceServer::start(&ReferenceConfig::default().capacity(100.0)).unwrap();
    let runtime = runtime();
    let client = connect(&runtime, &endpoint(), &server.rest_url());
    let url = format!("{}/metrics", server.rest_url());
    let scraper = runtime
        .block_on(Scraper::start(
            &url,
            Duration::ZERO,
            Duration::from_millis(100),
        ))
        .expect("an HTTP client for the scraper");
    let plan = LoadPlan::closed(4, Duration::from_secs(10)).max_requests(150);
    let stats = run(&runtime, &client, &plan);
    let metrics = runtime.block_on(scraper.finish()).unwrap().metrics;
    assert_eq!(stats.errors, 0, "{:?}", stats.first_errors);
    assert_eq!(stats.ok, 150);
    assert_eq!(metrics.failed_scrapes, 0, "{metrics:?}");
    // 150 requests at 100/s take 1.5 s; a scrape every 100 ms.
    assert!(metrics.scrapes >= 5, "{metrics:?}");
    let series = |name: &str| {
        metrics
            .series
            .iter()
            .find(|s| {
                s.name == name && s.labels.get("model").map(String::as_str) == Some("identity")
            })
            .unwrap_or_else(|| panic!("no {name} for identity in {metrics:?}"))
    };
    let success = series("nv_inference_request_success");
    assert_eq!(success.kind, "counter");
    assert_eq!(success.last - success.first, 150.0, "{success:?}");
    let inside = series("nv_inference_pending_request_count");
    assert_eq!(inside.kind, "gauge");
    assert_eq!(inside.max, 4.0, "{inside:?}");
    assert_eq!(inside.last, 0.0, "{inside:?}");
    // Queued time per request moves with the queue: each waits for up to three ahead of it.
    let queued = series("nv_inference_queue_duration_us");
    assert!(queued.last > queued.first, "{queued:?}");
}
