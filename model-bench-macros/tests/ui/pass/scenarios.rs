use model_bench::prelude::*;
use std::time::Duration;

#[model_bench(remote, pipeline = "serving", ramp(from = 50, to = 200, steps = 4, step = "2s"))]
fn ramp() -> V2Endpoint {
    Endpoint::rest("identity").url("http://127.0.0.1:8000")
}

#[model_bench(remote, pipeline = "serving", spike(baseline = 100, factor = 2.5, spike = "3s", recovered_within = 50))]
fn spike() -> V2Endpoint {
    Endpoint::rest("identity").url("http://127.0.0.1:8000")
}

#[model_bench(remote, pipeline = "serving", compare = "servers", max_in_flight = 64, stress(start = 100, increment = 50, slo_p99 = "20ms"))]
fn stress() -> V2Endpoint {
    Endpoint::rest("identity").url("http://127.0.0.1:8000")
}

#[model_bench(remote, pipeline = "serving", soak(concurrency = 8, duration = "10m", window = "1m"))]
fn soak() -> V2Endpoint {
    Endpoint::rest("identity").url("http://127.0.0.1:8000")
}

#[model_bench(remote, pipeline = "serving", ramp(concurrency_from = 1, concurrency_to = 32, steps = 6, step = "10s"))]
fn closed_ramp() -> V2Endpoint {
    Endpoint::rest("identity").url("http://127.0.0.1:8000")
}

fn main() {
    use model_bench::__private::ScenarioSpec;
    let benches = model_bench::registry::all();
    let ids: Vec<Vec<String>> = benches.iter().map(|bench| bench.point_ids()).collect();
    assert_eq!(
        ids,
        [
            vec!["serving/ramp/ramp"],
            vec!["serving/spike/spike"],
            vec!["serving/stress/stress"],
            vec!["serving/soak/soak"],
            vec!["serving/closed_ramp/ramp"],
        ]
    );
    let scenario = |i: usize| benches[i].remote().unwrap().scenario.unwrap();
    assert_eq!(
        scenario(0),
        ScenarioSpec::Ramp { from: 50.0, to: 200.0, steps: 4, step: Duration::from_secs(2) }
    );
    // Left out: the defaults (5 s before, 10 s after).
    assert_eq!(
        scenario(1),
        ScenarioSpec::Spike {
            baseline: 100.0,
            factor: 2.5,
            before: Duration::from_secs(5),
            spike: Duration::from_secs(3),
            after: Duration::from_secs(10),
            recovered_within_pct: 50.0,
        }
    );
    assert_eq!(
        scenario(2),
        ScenarioSpec::Stress {
            start: 100.0,
            increment: 50.0,
            step: Duration::from_secs(5),
            max_steps: 20,
            slo_p99: Some(Duration::from_millis(20)),
            min_goodput: None,
            max_error_rate: 0.01,
        }
    );
    // Left out: the leak threshold (10 MiB/min).
    assert_eq!(
        scenario(3),
        ScenarioSpec::Soak {
            rate: None,
            concurrency: Some(8),
            duration: Duration::from_secs(600),
            window: Duration::from_secs(60),
            leak_mib_per_min: 10.0,
        }
    );
    assert_eq!(
        scenario(4),
        ScenarioSpec::ConcurrencyRamp { from: 1, to: 32, steps: 6, step: Duration::from_secs(10) }
    );
    assert_eq!(benches[2].remote().unwrap().max_in_flight, Some(64));
    assert_eq!(benches[2].remote().unwrap().compare, Some("servers"));
    assert_eq!(benches[0].remote().unwrap().compare, None);
}
