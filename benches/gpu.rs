//! GPU work timed the way nvbench and triton's `do_bench` time it: CUDA events recorded on the
//! stream cuBLAS runs on, the host waiting once per sample. `cargo bench --features cuda --bench
//! gpu`; without the feature, or without an NVIDIA driver, the benches are reported as skipped
//! with the reason.
//!
//! The matrix size is the sweep's "batch": `sgemm/1024` multiplies two 1024×1024 matrices.

use model_bench::prelude::*;

#[model_bench(pipeline = "gpu", stage = forward, device = cuda, batch = [512, 1024, 2048, 4096])]
fn sgemm(b: &mut Bencher) {
    #[cfg(feature = "cuda")]
    {
        use model_bench::measure::cuda::CudaEvents;
        use model_bench_suite::gemm::Sgemm;
        let events = match CudaEvents::default_stream(0) {
            Ok(events) => events,
            Err(error) => panic!("{error}"),
        };
        let mut gemm = match Sgemm::new(events.stream(), b.batch()) {
            Ok(gemm) => gemm,
            Err(error) => panic!("{error}"),
        };
        b.iter_events(&events, || {
            if let Err(error) = gemm.launch() {
                panic!("{error}");
            }
        });
    }
    #[cfg(not(feature = "cuda"))]
    b.iter(|| unreachable!("the runner skips CUDA benches without the cuda feature"));
}

model_bench::main!();
