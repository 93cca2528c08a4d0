use model_bench::{model_bench, Bencher};

#[model_bench(stage = inference)]
fn bench(b: &mut Bencher) {
    b.iter(|| ());
}

fn main() {}
