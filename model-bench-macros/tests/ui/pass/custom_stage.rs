use model_bench::registry::BenchDescriptor;
use model_bench::{model_bench, Bencher, Stage};

#[model_bench(pipeline = "bert", stage = "tokenize")]
fn tokenize(b: &mut Bencher) {
    b.iter(|| "a b c".split(' ').count());
}

#[model_bench(pipeline = "bert", name = "detokenize")]
fn detokenize_words(b: &mut Bencher) {
    b.iter(|| ());
}

fn by_name(name: &str) -> &'static BenchDescriptor {
    model_bench::registry::all()
        .into_iter()
        .find(|bench| bench.name == name)
        .unwrap_or_else(|| panic!("`{name}` is not registered"))
}

fn main() {
    let tokenize = by_name("tokenize");
    assert_eq!(tokenize.stage, Stage::Custom("tokenize"));
    assert_eq!(tokenize.stage.as_str(), "tokenize");

    // Without `stage`, the stage is named after the bench.
    let detokenize = by_name("detokenize");
    assert_eq!(detokenize.stage, Stage::Custom("detokenize"));
}
