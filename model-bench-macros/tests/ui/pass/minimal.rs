use model_bench::registry::BenchDescriptor;
use model_bench::{model_bench, Bencher, Device, Stage};

#[model_bench]
fn minimal(b: &mut Bencher) {
    b.iter(|| 1 + 1);
}

fn main() {
    let benches = model_bench::registry::all();
    assert_eq!(benches.len(), 1);
    let bench: &BenchDescriptor = benches[0];
    assert_eq!(bench.name, "minimal");
    assert_eq!(bench.module_path, module_path!());
    assert_eq!(bench.file, file!());
    // The line of the function, not of the attribute above it.
    assert_eq!(bench.line, 5);
    assert_eq!(bench.pipeline, None);
    assert_eq!(bench.stage, Stage::Custom("minimal"));
    assert_eq!(bench.device, Device::Cpu);
    assert!(bench.batch.is_empty());
    assert!(!bench.cold);
    assert_eq!(bench.cold_runs, None);
    assert_eq!(bench.sample_size, None);
    assert_eq!(bench.warm_up_time, None);
    assert_eq!(bench.measurement_time, None);

    // The function itself is left as written.
    let _: fn(&mut Bencher) = minimal;
}
