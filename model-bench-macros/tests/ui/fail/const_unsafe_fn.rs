use model_bench::{model_bench, Bencher};

#[model_bench]
const unsafe fn bench(_: &mut Bencher) {}

fn main() {}
