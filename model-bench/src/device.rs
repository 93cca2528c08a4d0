//! Where a bench's timed work runs ([`Device`]): named by the attribute, read by the [`Bencher`]
//! (CUDA work is timed with CUDA events) and carried into results. A leaf both `bencher.rs` and
//! `registry.rs` use, so neither has to import the other for it.
//!
//! [`Bencher`]: crate::Bencher

use std::fmt;

/// Where the timed work runs: on the CPU (wall-clock time), or on a CUDA device (CUDA events on
/// the work's stream, feature `cuda`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Device {
    Cpu,
    Cuda,
}

impl Device {
    pub fn as_str(&self) -> &'static str {
        match self {
            Device::Cpu => "cpu",
            Device::Cuda => "cuda",
        }
    }
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
