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
        let upload = |what: &str, seed: u64| {
            stream
                .clone_htod(&uniform(n * n, seed))
                .map_err(|e| format!("copying {what} ({n}×{n} f32) to the GPU: {e}"))
        };
        Ok(Sgemm {
            blas,
            n,
            // Random operands: a GPU multiplying zeros draws less power and can run faster.
            a: upload("a", 1)?,
            b: upload("b", 2)?,
            c: stream
                .alloc_zeros::<f32>(n * n)
                .map_err(|e| format!("allocating c ({n}×{n} f32): {e}"))?,
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

/// `len` values uniform in [-1, 1) from a seeded xorshift generator.
fn uniform(len: usize, seed: u64) -> Vec<f32> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            // The top 24 bits, as a float in [0, 1), then shifted to [-1, 1).
            (state >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
        })
        .collect()
}
