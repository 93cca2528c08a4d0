use model_bench::{model_bench, Bencher};

#[model_bench(cold = 3)]
fn bench(b: &mut Bencher) {
    b.iter(|| ());
}

fn main() {}
