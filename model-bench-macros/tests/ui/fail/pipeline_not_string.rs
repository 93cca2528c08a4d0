use model_bench::{model_bench, Bencher};

#[model_bench(pipeline = resnet)]
fn bench(b: &mut Bencher) {
    b.iter(|| ());
}

fn main() {}
