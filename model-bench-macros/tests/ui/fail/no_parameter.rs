use model_bench::model_bench;

#[model_bench]
fn bench() {}

fn main() {}
