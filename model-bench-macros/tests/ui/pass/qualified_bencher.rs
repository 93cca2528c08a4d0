#[model_bench::model_bench]
fn qualified(b: &mut model_bench::Bencher<'_, '_>) {
    b.iter(|| ());
}

#[model_bench::model_bench(name = "named_lifetimes")]
fn with_lifetimes<'a, 'g>(b: &mut model_bench::Bencher<'a, 'g>) {
    b.iter(|| ());
}

mod nested {
    use model_bench::prelude::*;

    #[model_bench]
    pub fn in_module(_: &mut Bencher) {}

    pub fn register_in_body() {
        // Items in a function body see each other, so the generated runner finds this one too.
        #[model_bench]
        fn in_body(b: &mut Bencher) {
            b.iter(|| ());
        }
    }
}

fn main() {
    nested::register_in_body();
    let benches = model_bench::registry::all();
    let found: Vec<(&str, String)> = benches
        .iter()
        .map(|bench| (bench.name, bench.module_path.to_string()))
        .collect();
    let root = module_path!();
    let nested = format!("{root}::nested");
    assert_eq!(
        found,
        [
            ("qualified", root.to_string()),
            ("named_lifetimes", root.to_string()),
            ("in_module", nested.clone()),
            ("in_body", nested),
        ]
    );
}
