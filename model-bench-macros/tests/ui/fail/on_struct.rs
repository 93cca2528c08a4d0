use model_bench::model_bench;

#[model_bench]
struct Bench {
    batch: usize,
}

fn main() {}
