//! Pure statistics over measured numbers: no I/O, no clocks, no criterion.

pub mod breakdown;
pub mod cold;
pub mod compare;
pub mod rng;
pub mod sample;
pub mod stability;
pub mod sweep;
