use model_bench::{model_bench, Bencher};

#[model_bench(measurement_time = "0ms")]
fn bench(b: &mut Bencher) {
    b.iter(|| ());
}

fn main() {}
