use model_bench::{model_bench, Bencher};

#[model_bench(batch = [0, 1, 2])]
fn bench(b: &mut Bencher) {
    b.iter(|| ());
}

fn main() {}
