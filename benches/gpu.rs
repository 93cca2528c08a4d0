//! GPU work timed the way nvbench and triton's `do_bench` time it: CUDA events recorded on the
//! stream cuBLAS runs on, the host waiting once per sample. `cargo bench --features cuda --bench
//! gpu`; without the feature, or without an NVIDIA driver, the benches are reported as skipped
//! with the reason.
//!
//! The matrix size is the sweep's "batch": `sgemm/1024` multiplies two 1024×1024 matrices. Two
//! regimes, two benches, never mixed: warm (calls back to back) and cold L2 (the cache flushed
//! before every call).

use model_bench::prelude::*;

#[cfg(feature = "cuda")]
mod gpu {
    use model_bench::measure::cuda::CudaEvents;
    use model_bench_suite::gemm::Sgemm;

    /// Events on device 0's default stream, and an `n`×`n` SGEMM on that stream; a failure panics
    /// with its message, which fails the bench (or ends the sweep at this size).
    pub fn setup(n: usize) -> (CudaEvents, Sgemm) {
        let events = CudaEvents::default_stream(0).unwrap_or_else(|error| panic!("{error}"));
        let gemm = Sgemm::new(events.stream(), n).unwrap_or_else(|error| panic!("{error}"));
        (events, gemm)
    }

    pub fn launch(gemm: &mut Sgemm) {
        gemm.launch().unwrap_or_else(|error| panic!("{error}"));
    }
}

/// Warm; `cold` also times the first call in fresh processes (context, cuBLAS handle, first launch).
#[model_bench(pipeline = "gpu", stage = forward, device = cuda, batch = [512, 1024, 2048, 4096], cold)]
fn sgemm(b: &mut Bencher) {
    #[cfg(feature = "cuda")]
    {
        let (events, mut gemm) = gpu::setup(b.batch());
        b.iter_events(&events, || gpu::launch(&mut gemm));
    }
    #[cfg(not(feature = "cuda"))]
    b.iter(|| unreachable!("the runner skips CUDA benches without the cuda feature"));
}

/// The same GEMM in the cold-cache regime: L2 flushed (a buffer twice its size zeroed on the same
/// stream) before every call, each call timed alone.
#[model_bench(pipeline = "gpu", stage = forward, device = cuda, batch = [512, 1024, 2048, 4096])]
fn sgemm_cold_l2(b: &mut Bencher) {
    #[cfg(feature = "cuda")]
    {
        let (events, mut gemm) = gpu::setup(b.batch());
        let mut l2 = model_bench::measure::cuda::L2Flush::new(events.stream())
            .unwrap_or_else(|error| panic!("{error}"));
        b.iter_events_cold(&events, || l2.flush(), || gpu::launch(&mut gemm));
    }
    #[cfg(not(feature = "cuda"))]
    b.iter(|| unreachable!("the runner skips CUDA benches without the cuda feature"));
}

model_bench::main!();
