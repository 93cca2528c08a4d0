use model_bench::prelude::*;

#[model_bench(remote)]
fn takes_a_bencher(b: &mut Bencher) -> V2Endpoint {
    let _ = b;
    Endpoint::rest("m")
}

#[model_bench(remote)]
fn returns_nothing() {}

#[model_bench(remote)]
fn returns_a_number() -> u32 {
    7
}

fn main() {}
