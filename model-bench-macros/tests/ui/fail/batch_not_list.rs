use model_bench::{model_bench, Bencher};

#[model_bench(batch = 4)]
fn bench(b: &mut Bencher) {
    b.iter(|| ());
}

fn main() {}
