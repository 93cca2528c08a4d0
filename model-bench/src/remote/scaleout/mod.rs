//! Scale-out: one benchmark run from N load machines (a Kubernetes Indexed Job's pods, or any N
//! processes). It builds on the load generator, which knows a worker only as a
//! [`WorkerShare`](crate::remote::load::WorkerShare) of its plan and writes its point's
//! [`PointTally`](crate::remote::load::PointTally) — histograms to an interval log, the rest
//! to a record. Here: `share.rs` reads which worker this process is from the environment;
//! `barrier.rs` holds it until the shared start (or refuses a late worker); `record.rs` is the
//! JSON beside each interval log; `merge.rs` adds the workers' histograms exactly, and
//! `run_merge.rs` merges a whole run's points from the workers' directories (checks, missing
//! and unfinished workers); `log_files.rs` carries a worker's files through its log
//! (`kubectl logs`) where there is no shared volume. Nothing here coordinates the workers at run
//! time: they agree by computing the same seeded schedule and a shared start.

pub mod barrier;
pub mod log_files;
pub mod merge;
pub mod record;
pub mod run_merge;
pub mod share;

pub use barrier::{format_rfc3339, BarrierError, StartBarrier};
pub use merge::{MergeError, Merged};
pub use record::WorkerRecord;
pub use run_merge::{merge_dirs, PointMerge, RunMergeError};
pub use share::ShareError;
