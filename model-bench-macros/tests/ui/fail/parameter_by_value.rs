use model_bench::{model_bench, Bencher};

#[model_bench]
fn bench(_b: Bencher) {}

fn main() {}
