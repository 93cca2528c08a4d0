use std::time::Duration;

use model_bench::registry::BenchDescriptor;
use model_bench::{model_bench, Bencher, Device, Stage};

#[model_bench(
    pipeline = "resnet50",
    name = "forward_fp16",
    stage = forward,
    batch = [1, 2, 4, 8],
    device = cuda,
    cold,
    cold_runs = 3,
    sample_size = 20,
    warm_up_time = "500ms",
    measurement_time = "1.5s",
)]
fn forward(b: &mut Bencher) {
    let batch = b.batch();
    b.iter(|| batch * 2);
}

// Any order; `cold_runs` alone implies `cold`; `e2e` is `end_to_end`.
#[model_bench(measurement_time = "250us", cold_runs = 1, stage = e2e, pipeline = "resnet50", sample_size = 10, warm_up_time = "7ns")]
fn r#type(b: &mut Bencher) {
    b.iter(|| ());
}

#[model_bench(pipeline = "resnet50", stage = load, cold)]
fn load(b: &mut Bencher) {
    b.iter(|| ());
}

#[model_bench(pipeline = "resnet50", stage = preprocess, batch = [3])]
fn preprocess(b: &mut Bencher) {
    b.iter(|| ());
}

#[model_bench(pipeline = "resnet50", stage = postprocess, device = cpu)]
fn postprocess(b: &mut Bencher) {
    b.iter(|| ());
}

#[model_bench(pipeline = "resnet50", stage = end_to_end)]
fn end_to_end(b: &mut Bencher) {
    b.iter(|| ());
}

fn by_name(name: &str) -> &'static BenchDescriptor {
    model_bench::registry::all()
        .into_iter()
        .find(|bench| bench.name == name)
        .unwrap_or_else(|| panic!("`{name}` is not registered"))
}

fn main() {
    let benches = model_bench::registry::all();
    let names: Vec<&str> = benches.iter().map(|bench| bench.name).collect();
    assert_eq!(
        names,
        ["forward_fp16", "type", "load", "preprocess", "postprocess", "end_to_end"]
    );

    let forward = by_name("forward_fp16");
    assert_eq!(forward.pipeline, Some("resnet50"));
    assert_eq!(forward.stage, Stage::Forward);
    assert_eq!(forward.batch, &[1, 2, 4, 8]);
    assert_eq!(forward.device, Device::Cuda);
    assert!(forward.cold);
    assert_eq!(forward.cold_runs, Some(3));
    assert_eq!(forward.sample_size, Some(20));
    assert_eq!(forward.warm_up_time, Some(Duration::from_millis(500)));
    assert_eq!(forward.measurement_time, Some(Duration::from_millis(1500)));
    assert_eq!(forward.line, 18);

    let e2e = by_name("type");
    assert_eq!(e2e.stage, Stage::EndToEnd);
    assert!(e2e.cold);
    assert_eq!(e2e.cold_runs, Some(1));
    assert_eq!(e2e.sample_size, Some(10));
    assert_eq!(e2e.warm_up_time, Some(Duration::from_nanos(7)));
    assert_eq!(e2e.measurement_time, Some(Duration::from_micros(250)));
    assert_eq!(e2e.device, Device::Cpu);
    assert!(e2e.batch.is_empty());

    let stages: Vec<Stage> = benches.iter().map(|bench| bench.stage).collect();
    assert_eq!(
        stages,
        [
            Stage::Forward,
            Stage::EndToEnd,
            Stage::Load,
            Stage::Preprocess,
            Stage::Postprocess,
            Stage::EndToEnd,
        ]
    );
    let load = by_name("load");
    assert!(load.cold);
    assert_eq!(load.cold_runs, None);
    let preprocess = by_name("preprocess");
    assert_eq!(preprocess.batch, &[3]);
}
