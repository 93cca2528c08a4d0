//! Scale-out through the real load loops against the reference server over loopback: the
//! workers' shares of one open-loop schedule and of one closed loop, run one after another in
//! this process, add up exactly to the one-machine run, and each worker's histograms, written as
//! an interval log and read back, merge into the histogram of every request.

use std::time::{Duration, SystemTime};

use model_bench::remote::scaleout::{interval_log, merge, Interval, WorkerShare};
use model_bench::remote::{Arrival, LoadPlan, Protocol, ReferenceConfig};
use model_bench::server::ReferenceServer;

mod common;
#[path = "common/serial.rs"]
mod serial;

use common::{connect, run, runtime};
use serial::serial;

const TIMEOUT: Duration = Duration::from_secs(5);

#[test]
fn open_loop_workers_send_disjoint_shares_of_one_schedule() {
    let _serial = serial();
    let server = ReferenceServer::start(&ReferenceConfig::default()).unwrap();
    let runtime = runtime();
    let endpoint = common::identity_endpoint(Protocol::RestJson, TIMEOUT);
    let client = connect(&runtime, &endpoint, &server.rest_url());
    let plan = LoadPlan::open(400.0, Arrival::Poisson, Duration::from_secs(20))
        .warm_up(Duration::from_millis(100))
        .max_requests(300);
    for workers in [1, 3, 4] {
        let mut sent = Vec::new();
        for index in 0..workers {
            let share = WorkerShare::new(index, workers).unwrap();
            let stats = run(&runtime, &client, &plan.clone().for_worker(share));
            assert_eq!(stats.errors, 0, "{:?}", stats.first_errors);
            assert_eq!(stats.dropped, 0);
            sent.push(stats.requests);
        }
        // The window's arrivals are consecutive in the schedule, so each worker's residue class
        // holds an equal share (±1) and the shares add up to the whole budget.
        assert_eq!(sent.iter().sum::<u64>(), 300, "{workers} workers: {sent:?}");
        let (min, max) = (sent.iter().min().unwrap(), sent.iter().max().unwrap());
        assert!(max - min <= 1, "{workers} workers: {sent:?}");
    }
}

#[test]
fn closed_loop_workers_split_concurrency_and_budget_exactly() {
    let _serial = serial();
    let server = ReferenceServer::start(&ReferenceConfig::default()).unwrap();
    let runtime = runtime();
    let endpoint = common::identity_endpoint(Protocol::Grpc, TIMEOUT);
    let client = connect(&runtime, &endpoint, &server.grpc_url());
    // Two in flight over three workers: the middle one keeps none and sends nothing.
    let plan = LoadPlan::closed(2, Duration::from_secs(20)).max_requests(30);
    let sent: Vec<u64> = (0..3)
        .map(|index| {
            let share = WorkerShare::new(index, 3).unwrap();
            let stats = run(&runtime, &client, &plan.clone().for_worker(share));
            assert_eq!(stats.errors, 0, "{:?}", stats.first_errors);
            stats.requests
        })
        .collect();
    assert_eq!(sent, [15, 0, 15]);
}

#[test]
fn worker_logs_merge_into_the_histogram_of_every_request() {
    let _serial = serial();
    let server = ReferenceServer::start(&ReferenceConfig::default()).unwrap();
    let runtime = runtime();
    let endpoint = common::identity_endpoint(Protocol::RestJson, TIMEOUT);
    let client = connect(&runtime, &endpoint, &server.rest_url());
    let plan = LoadPlan::closed(2, Duration::from_secs(20)).max_requests(200);
    let dir = tempfile::tempdir().unwrap();
    let base = SystemTime::now();
    let mut latencies = Vec::new();
    let mut logs = Vec::new();
    for index in 0..2 {
        let share = WorkerShare::new(index, 2).unwrap();
        let run = runtime.block_on(model_bench::remote::load::run(
            std::sync::Arc::clone(&client),
            &plan.clone().for_worker(share),
        ));
        assert_eq!(run.stats.requests, 100);
        let latency = run.recorder.latency.clone();
        latencies.push(latency.clone());
        let path = dir.path().join(format!("worker-{index}.hlog"));
        let mut file = std::fs::File::create(&path).unwrap();
        let interval = Interval {
            tag: "latency".into(),
            start: Duration::ZERO,
            length: Duration::from_secs(1),
            histogram: latency,
        };
        interval_log::write_log(&mut file, base, [interval]).unwrap();
        logs.push(interval_log::read_log(&path).unwrap());
    }
    let merged = merge::merge(&logs).unwrap();
    let total = &merged.totals["latency"];
    // One histogram fed every request: the first worker's, with the second's values added.
    let mut all = latencies[0].clone();
    all.add(&latencies[1]).unwrap();
    assert_eq!(total.len(), 200);
    assert!(*total == all, "the merge is exact");
    for q in [0.5, 0.9, 0.99, 1.0] {
        assert_eq!(total.value_at_quantile(q), all.value_at_quantile(q));
    }
}
