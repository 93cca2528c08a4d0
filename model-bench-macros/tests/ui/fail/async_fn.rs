use model_bench::{model_bench, Bencher};

#[model_bench]
async fn bench(_: &mut Bencher<'_, '_>) {}

fn main() {}
