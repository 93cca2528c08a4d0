use model_bench::{model_bench, Bencher};

struct Model;

impl Model {
    #[model_bench]
    fn bench(&self, b: &mut Bencher) {
        b.iter(|| ());
    }
}

fn main() {}
