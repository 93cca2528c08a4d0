use model_bench::{model_bench, Bencher};

#[model_bench]
fn bench<T: Default>(_b: &mut Bencher) {}

fn main() {}
