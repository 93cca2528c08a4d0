//! Clocks. Warm measurements use criterion's `Measurement` seam; a timer module per clock.

pub mod wall;
