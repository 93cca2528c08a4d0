use model_bench::{model_bench, Bencher};

#[model_bench(crate = "mb")]
fn quoted(_b: &mut Bencher) {}

fn main() {}
