//! `Bencher` under another name, and model-bench reached by another path (`crate = ...`): the
//! attribute checks the type, not how it is spelled.
use model_bench::model_bench;
use model_bench::Bencher as B;

#[model_bench]
fn aliased(b: &mut B) {
    b.iter(|| ());
}

type Lent<'a, 'g> = model_bench::Bencher<'a, 'g>;

#[model_bench]
fn through_a_type_alias<'a, 'g>(b: &mut Lent<'a, 'g>) {
    b.iter(|| ());
}

/// What a crate that renamed the dependency (`mb = { package = "model-bench" }`) writes; here
/// the name comes from a re-export module instead.
mod mb {
    pub use model_bench::*;
}

#[mb::model_bench(crate = crate::mb)]
fn through_another_path(b: &mut mb::Bencher) {
    b.iter(|| ());
}

fn main() {
    let names: Vec<&str> = model_bench::registry::all()
        .iter()
        .map(|bench| bench.name)
        .collect();
    assert_eq!(names, ["aliased", "through_a_type_alias", "through_another_path"]);
}
