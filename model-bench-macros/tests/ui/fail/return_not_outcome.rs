use model_bench::{model_bench, Bencher};

#[model_bench]
fn bench(b: &mut Bencher) -> i32 {
    b.iter(|| ());
    0
}

fn main() {}
