//! Clocks. Warm measurements use criterion's `Measurement` seam; a timer module per clock: the
//! host's wall clock, and device clocks that time work by events on its stream.

#[cfg(feature = "cuda")]
pub mod cuda;
pub mod events;
pub mod wall;

/// Why benches on `device = cuda` cannot run in this process, if they cannot.
pub fn cuda_unavailable() -> Option<String> {
    #[cfg(feature = "cuda")]
    {
        cuda::unavailable_reason()
    }
    #[cfg(not(feature = "cuda"))]
    {
        Some("model-bench was built without its `cuda` feature".into())
    }
}
