use model_bench::{model_bench, Bencher};

#[model_bench(warm_up_time = "3 seconds")]
fn bench(b: &mut Bencher) {
    b.iter(|| ());
}

fn main() {}
