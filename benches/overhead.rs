//! model-bench's measurement overhead: the same trivial stage (softmax + top-5 over 1000 logits)
//! through `#[model_bench]` and through plain criterion `b.iter`, in one run. The ratio of their
//! medians is printed at the end; docs/PERFORMANCE.md records it.

use std::hint::black_box;
use std::time::SystemTime;

use model_bench::prelude::*;
use model_bench::runner::{criterion_files, OutputDirs};
use model_bench_suite::classify::postprocess;
use ndarray::Array2;

fn logits() -> Array2<f32> {
    Array2::from_shape_fn((1, 1000), |(_, i)| ((i * 7919) % 1000) as f32 / 250.0)
}

#[model_bench(pipeline = "overhead", name = "model_bench", stage = postprocess)]
fn through_model_bench(b: &mut Bencher) {
    let logits = logits();
    b.iter(|| postprocess(black_box(logits.view())));
}

fn main() {
    let started = SystemTime::now();
    let config =
        model_bench::runner::config::Config::load(std::path::Path::new(".")).unwrap_or_default();
    let dirs = OutputDirs::resolve(&config);
    {
        let mut criterion =
            model_bench::runner::criterion_with_defaults(&config, &dirs).configure_from_args();
        let logits = logits();
        criterion
            .benchmark_group("overhead")
            .bench_function("criterion", |b| {
                b.iter(|| postprocess(black_box(logits.view())))
            });
    }
    let code = model_bench::runner::run_main();
    let median = |function: &str| {
        let dir = criterion_files::benchmark_dir(&dirs.criterion, "overhead", function, None);
        criterion_files::read(&dir, started)
            .ok()
            .map(|m| m.estimates.median.point)
    };
    if let (Some(plain), Some(ours)) = (median("criterion"), median("model_bench")) {
        println!(
            "\noverhead: model-bench median {ours:.1} ns, plain criterion median {plain:.1} ns, \
             ratio {:.3}",
            ours / plain
        );
    }
    std::process::exit(code);
}
