//! The wall clock: criterion's `WallTime` for warm samples, `Instant` for first calls.

/// The measurement warm CPU stages use: criterion's monotonic wall clock, in nanoseconds.
pub type WallClock = criterion::measurement::WallTime;

/// The unit every wall-clock figure in the results is expressed in.
pub const UNIT: &str = "ns";
