use model_bench::prelude::*;

#[model_bench(remote, batch = [1, 2])]
fn batched() -> V2Endpoint {
    Endpoint::rest("m")
}

#[model_bench(remote, concurrency = [1], rate = [10])]
fn both_loops() -> V2Endpoint {
    Endpoint::rest("m")
}

#[model_bench(concurrency = [4])]
fn not_remote(b: &mut Bencher) {
    b.iter(|| ());
}

#[model_bench(remote, concurrency = [4], arrival = poisson)]
fn closed_with_arrival() -> V2Endpoint {
    Endpoint::rest("m")
}

fn main() {}
