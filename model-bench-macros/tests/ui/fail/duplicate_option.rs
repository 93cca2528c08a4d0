use model_bench::{model_bench, Bencher};

#[model_bench(stage = forward, name = "a", stage = load)]
fn bench(b: &mut Bencher) {
    b.iter(|| ());
}

fn main() {}
