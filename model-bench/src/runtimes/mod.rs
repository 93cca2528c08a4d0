//! Ready-made model loading and forward helpers for the runtimes model-serving code uses.

pub mod ort;
