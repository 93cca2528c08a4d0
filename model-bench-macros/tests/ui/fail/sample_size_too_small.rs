use model_bench::{model_bench, Bencher};

#[model_bench(sample_size = 5)]
fn bench(b: &mut Bencher) {
    b.iter(|| ());
}

fn main() {}
