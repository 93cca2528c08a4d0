//! The regression gate: after a run compared against a baseline, every point whose change is
//! significant and wholly above its noise threshold is listed, and the run exits with its own
//! code. Improvements never fail; a significant change inside the noise band is shown only. A
//! bench compared with a baseline of another setup (runtime, model, server, machine) is named;
//! with `same_setup` on, another runtime, model or server makes the gate refuse to judge. A
//! baseline that exists but cannot be read fails the gate: it could not judge, so it does not pass.

use crate::results::Verdict;
use crate::results::{BenchResult, Change, ChangeKind};

use super::config::Gate;

/// What the gate found in one run.
#[derive(Debug, Default, PartialEq)]
pub struct Outcome {
    /// One line per regressed point.
    pub regressions: Vec<String>,
    /// One line per point significant but within its noise threshold.
    pub within_noise: Vec<String>,
    /// Points that had a baseline to compare with.
    pub compared: usize,
    /// One line per difference between a compared bench's setup and its baseline's.
    pub setup_changes: Vec<String>,
    /// `same_setup` is on and a compared bench's baseline ran another runtime, model or server.
    pub refused: bool,
    /// Baseline files that exist but could not be read: the gate cannot judge those points.
    pub unreadable: Vec<String>,
}

pub fn evaluate(results: &[BenchResult], gate: &Gate) -> Outcome {
    let mut outcome = Outcome::default();
    for bench in results {
        outcome
            .unreadable
            .extend(bench.baseline_errors.iter().cloned());
        for change in &bench.setup_changes {
            outcome
                .setup_changes
                .push(format!("{}: {}", bench.id, change.describe()));
            outcome.refused |= gate.same_setup && change.kind == ChangeKind::Runtime;
        }
    }
    for point in results.iter().flat_map(|bench| &bench.points) {
        // A token stream's time to first token is judged as a point of its own, `<id>/ttft`.
        let ttft_id = format!("{}/ttft", point.id);
        let changes = [
            (point.id.as_str(), "mean time", point.change.as_ref()),
            (ttft_id.as_str(), "mean TTFT", point.ttft_change.as_ref()),
        ];
        for (id, what, change) in changes {
            let Some(change) = change else {
                continue;
            };
            let (Some(verdict), Some(p_value)) = (change.verdict, change.p_value) else {
                continue;
            };
            outcome.compared += 1;
            let line = || {
                describe(
                    id,
                    what,
                    change,
                    p_value,
                    gate.rule_for(&point.id).noise_threshold,
                )
            };
            match verdict {
                Verdict::Regressed => outcome.regressions.push(line()),
                Verdict::WithinNoise => outcome.within_noise.push(line()),
                Verdict::Improved | Verdict::NoChange => {}
            }
        }
    }
    outcome
}

fn describe(id: &str, what: &str, change: &Change, p_value: f64, noise: f64) -> String {
    let pct = |x: f64| format!("{:+.2} %", 100.0 * x);
    format!(
        "{id}: {what} {} [{}, {}] ({:.0} % CI), p = {:.4}, noise threshold ±{:.1} %",
        pct(change.mean.point),
        pct(change.mean.lower),
        pct(change.mean.upper),
        100.0 * change.mean.confidence_level,
        p_value,
        100.0 * noise
    )
}
