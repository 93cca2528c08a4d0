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
    /// The CPU; timed with the wall clock.
    Cpu,
    /// A CUDA device; timed with CUDA events on the work's stream (feature `cuda`).
    Cuda,
}

impl Device {
    /// The device's name as the attribute spells it and results record it: `cpu` or `cuda`.
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
