//! A bench's result before anything is measured, and when it is skipped or fails: the helpers every
//! kind of bench run (stage, cold, remote, scenario) starts from or ends with.

use crate::registry::BenchDescriptor;
use crate::results::{BenchResult, BenchStatus};

/// A bench's result before anything is measured: its identity, status `ok`, no points.
pub(crate) fn unmeasured(bench: &BenchDescriptor, stage: &str) -> BenchResult {
    BenchResult {
        id: bench.key(),
        name: bench.name.to_string(),
        pipeline: bench.pipeline.map(str::to_string),
        stage: stage.to_string(),
        device: bench.device.to_string(),
        source: format!("{}:{}", bench.file, bench.line),
        status: BenchStatus::Ok,
        error: None,
        points: Vec::new(),
        sweep: None,
        cold: None,
        remote: None,
        memory: None,
        gpu_usage: Vec::new(),
        gpu_usage_note: None,
        scenario: None,
        facts: Default::default(),
        setup_changes: Vec::new(),
        baseline_errors: Vec::new(),
    }
}

/// A bench that cannot run here, with the reason; not a failure.
pub(crate) fn skipped(bench: &BenchDescriptor, reason: String) -> BenchResult {
    eprintln!("model-bench: {} skipped: {reason}", bench.key());
    let mut result = unmeasured(bench, bench.stage.as_str());
    result.status = BenchStatus::Skipped;
    result.error = Some(reason);
    result
}

/// Marks `result` failed with `message`, and says so on stderr.
pub(crate) fn failed(mut result: BenchResult, message: String) -> BenchResult {
    eprintln!("\nmodel-bench: {} failed: {message}", result.id);
    result.status = BenchStatus::Failed;
    result.error = Some(message);
    result
}

#[cfg(not(feature = "remote"))]
pub(crate) fn remote_unavailable(bench: &BenchDescriptor) -> BenchResult {
    failed(
        unmeasured(bench, "remote"),
        "this is a remote endpoint bench, but model-bench was built without its \
         `remote` feature; enable it in Cargo.toml"
            .to_string(),
    )
}
