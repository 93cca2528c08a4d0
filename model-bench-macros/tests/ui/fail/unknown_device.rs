use model_bench::{model_bench, Bencher};

#[model_bench(device = gpu)]
fn bench(b: &mut Bencher) {
    b.iter(|| ());
}

fn main() {}
