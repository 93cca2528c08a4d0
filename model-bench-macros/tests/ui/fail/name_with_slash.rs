use model_bench::{model_bench, Bencher};

#[model_bench(name = "resnet/forward")]
fn bench(b: &mut Bencher) {
    b.iter(|| ());
}

fn main() {}
