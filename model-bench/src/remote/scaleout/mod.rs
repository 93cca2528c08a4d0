//! Scale-out: one benchmark run from N load machines (a Kubernetes Indexed Job's pods, or any N
//! processes). `share.rs` says which part of the load this process sends; `barrier.rs` holds it
//! until the shared start (or refuses a late worker); `interval_log.rs` writes and reads the
//! standard HdrHistogram interval logs each worker leaves (`counts.rs` reads their histograms
//! for the merge without building one each), and `record.rs` the JSON beside each;
//! `merge.rs` adds the workers' histograms exactly, and `run_merge.rs` merges a whole run from
//! the workers' directories (checks, missing and unfinished workers); `log_files.rs` carries a
//! worker's files through its log (`kubectl logs`) where there is no shared volume. Nothing here coordinates
//! the workers at run time: they agree by computing the same seeded schedule and a shared start.

pub mod barrier;
pub mod counts;
pub mod interval_log;
pub mod log_files;
pub mod merge;
pub mod record;
pub mod run_merge;
pub mod share;

pub use barrier::{format_rfc3339, BarrierError, StartBarrier};
pub use interval_log::{Interval, LogError, WorkerLog};
pub use merge::{MergeError, Merged};
pub use record::WorkerRecord;
pub use run_merge::{merge_dirs, PointMerge, RunMergeError};
pub use share::{ShareError, WorkerShare};
