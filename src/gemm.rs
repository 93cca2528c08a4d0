//! A square SGEMM on the GPU with cuBLAS (feature `cuda`): the GPU workload of `benches/gpu.rs`
//! and of the test fixture, timed with CUDA events on the stream cuBLAS runs on.

use std::sync::Arc;

use cudarc::cublas::{sys::cublasOperation_t, CudaBlas, Gemm, GemmConfig};
use cudarc::driver::{CudaSlice, CudaStream};

/// `c = a × b` for `n × n` matrices resident on the device.
pub struct Sgemm {
    blas: CudaBlas,
    n: usize,
    a: CudaSlice<f32>,
    b: CudaSlice<f32>,
    c: CudaSlice<f32>,
}

impl Sgemm {
    /// Allocates the three matrices on `stream`'s device; cuBLAS runs on `stream`.
    pub fn new(stream: &Arc<CudaStream>, n: usize) -> Result<Self, String> {
        let blas = CudaBlas::new(stream.clone()).map_err(|e| format!("cuBLAS: {e}"))?;
        let alloc = |what: &str| {
            stream
                .alloc_zeros::<f32>(n * n)
                .map_err(|e| format!("allocating {what} ({n}×{n} f32): {e}"))
        };
        Ok(Sgemm {
            blas,
            n,
            a: alloc("a")?,
            b: alloc("b")?,
            c: alloc("c")?,
        })
    }

    /// Queues one multiplication; returns at once (the work is asynchronous).
    pub fn launch(&mut self) -> Result<(), String> {
        let n = self.n as i32;
        let config = GemmConfig {
            transa: cublasOperation_t::CUBLAS_OP_N,
            transb: cublasOperation_t::CUBLAS_OP_N,
            m: n,
            n,
            k: n,
            alpha: 1.0f32,
            lda: n,
            ldb: n,
            beta: 0.0f32,
            ldc: n,
        };
        // SAFETY: the three buffers hold n×n f32 each, matching the configuration.
        unsafe { self.blas.gemm(config, &self.a, &self.b, &mut self.c) }
            .map_err(|e| format!("sgemm {n}×{n}: {e}"))
    }

    /// Floating-point operations of one multiplication.
    pub fn flops(&self) -> f64 {
        2.0 * (self.n as f64).powi(3)
    }
}
