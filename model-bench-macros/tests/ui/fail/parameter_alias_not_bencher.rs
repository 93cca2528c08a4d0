use model_bench::model_bench;

/// Named like the `Bencher`, but something else.
struct Bencher;

#[model_bench]
fn impostor(_b: &mut Bencher) {}

type B = String;

#[model_bench]
fn aliased(_b: &mut B) {}

fn main() {}
