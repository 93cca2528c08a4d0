//! model-bench's measurement overhead: the same trivial stage (a few hundred nanoseconds of integer
//! arithmetic, one out-of-line function, no memory traffic) through `#[model_bench]` and through
//! plain criterion `b.iter`, in one run. Plain criterion runs both before and after model-bench,
//! so that a drift during the run shows; the ratio against each is printed at the end, and
//! docs/PERFORMANCE.md records them.

use std::hint::black_box;
use std::time::SystemTime;

use model_bench::prelude::*;
use model_bench::runner::{criterion_files, OutputDirs};

/// The stage both harnesses time. Out of line, so both call the very same machine code: a stage
/// that touches memory (softmax over a heap array, tried first) differed by up to 1.7× between the
/// two call sites with its allocations' placement, which says nothing about the harness.
#[inline(never)]
fn trivial_stage(seed: u64) -> u64 {
    (0..256u64).fold(seed, |acc, i| {
        acc.rotate_left(7).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ i
    })
}

#[model_bench(name = "model_bench", stage = "trivial")]
fn through_model_bench(b: &mut Bencher) {
    b.iter(|| trivial_stage(black_box(1)));
}

fn main() {
    let started = SystemTime::now();
    let config =
        model_bench::runner::config::Config::load(std::path::Path::new(".")).unwrap_or_default();
    let dirs = OutputDirs::resolve(&config);
    let plain_criterion = |function: &str| {
        let mut criterion =
            model_bench::runner::criterion_with_defaults(&config, &dirs).configure_from_args();
        criterion
            .benchmark_group("overhead")
            .bench_function(function, |b| b.iter(|| trivial_stage(black_box(1))));
    };
    plain_criterion("criterion_before");
    let code = model_bench::runner::run_main();
    plain_criterion("criterion_after");
    let median = |function: &str| {
        let dir = criterion_files::benchmark_dir(&dirs.criterion, "overhead", function, None);
        criterion_files::read(&dir, started, None, Default::default())
            .ok()
            .map(|m| m.estimates.median.point)
    };
    if let (Some(before), Some(ours), Some(after)) = (
        median("criterion_before"),
        median("model_bench"),
        median("criterion_after"),
    ) {
        println!(
            "\noverhead: model-bench median {ours:.1} ns; plain criterion median {before:.1} ns \
             before it (ratio {:.3}), {after:.1} ns after it (ratio {:.3})",
            ours / before,
            ours / after
        );
    }
    std::process::exit(code);
}
