use model_bench::prelude::*;

#[model_bench(remote, spike(baseline = 100, factor = 3, duration = "1s"))]
fn unknown_setting() -> V2Endpoint {
    Endpoint::rest("m")
}

#[model_bench(remote, stress(start = 100, increment = 10))]
fn missing_slo() -> V2Endpoint {
    Endpoint::rest("m")
}

#[model_bench(remote, spike(baseline = 100, factor = 0.5))]
fn factor_below_one() -> V2Endpoint {
    Endpoint::rest("m")
}

#[model_bench(remote, rate = [10], ramp(from = 1, to = 10))]
fn scenario_with_rates() -> V2Endpoint {
    Endpoint::rest("m")
}

#[model_bench(remote, ramp(from = 1, to = 10), stress(start = 1, increment = 1, slo_p99 = "1s"))]
fn two_scenarios() -> V2Endpoint {
    Endpoint::rest("m")
}

#[model_bench(ramp(from = 1, to = 10))]
fn not_remote(b: &mut Bencher) {
    b.iter(|| ());
}

#[model_bench(remote, ramp = 5)]
fn no_parentheses() -> V2Endpoint {
    Endpoint::rest("m")
}

#[model_bench(remote, soak(rate = 10, concurrency = 4, duration = "1m"))]
fn soak_with_both_loads() -> V2Endpoint {
    Endpoint::rest("m")
}

#[model_bench(remote, soak(duration = "1m"))]
fn soak_without_a_load() -> V2Endpoint {
    Endpoint::rest("m")
}

#[model_bench(remote, soak(rate = 10, duration = "1m", window = "2m"))]
fn soak_window_longer_than_it() -> V2Endpoint {
    Endpoint::rest("m")
}

#[model_bench(remote, ramp(from = 10, to = 100, concurrency_to = 8))]
fn ramp_of_rates_and_concurrency() -> V2Endpoint {
    Endpoint::rest("m")
}

fn main() {}
