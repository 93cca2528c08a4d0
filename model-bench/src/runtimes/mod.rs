//! Ready-made model loading and forward helpers for the runtimes model-serving code uses.

#[cfg(feature = "ort")]
pub mod ort;
#[cfg(feature = "tch")]
pub mod tch;
