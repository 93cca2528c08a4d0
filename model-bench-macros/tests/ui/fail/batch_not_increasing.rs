use model_bench::{model_bench, Bencher};

#[model_bench(batch = [1, 4, 2, 8])]
fn bench(b: &mut Bencher) {
    b.iter(|| ());
}

fn main() {}
