use model_bench::model_bench;

#[model_bench]
fn bench(_b: &mut String) {}

fn main() {}
