//! Two result files side by side without re-running anything: per point, the median before and
//! after, the relative change, and a verdict. Result files keep criterion's confidence intervals
//! but not its samples, so the verdict here is the interval rule: a change counts when the two
//! medians' intervals do not overlap and the change is beyond the noise threshold. Benches in
//! both files whose setups differ (runtime, model, server, CPU, machine load) are named beside it.

use serde::Serialize;

use crate::export::format::{duration_ns, signed_percent};
use crate::export::tables::Table;
use crate::results::{ChangeKind, Estimate, Report, Setup, SetupChange};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileVerdict {
    Regressed,
    Improved,
    /// The intervals are apart but the change is inside the noise threshold.
    WithinNoise,
    NoChange,
    /// Only in the new file.
    Added,
    /// Only in the old file.
    Removed,
}

impl FileVerdict {
    pub fn as_str(self) -> &'static str {
        match self {
            FileVerdict::Regressed => "regressed",
            FileVerdict::Improved => "improved",
            FileVerdict::WithinNoise => "within noise",
            FileVerdict::NoChange => "no change",
            FileVerdict::Added => "added",
            FileVerdict::Removed => "removed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    pub id: String,
    pub unit: String,
    /// Medians, with their confidence intervals.
    pub old: Option<Estimate>,
    pub new: Option<Estimate>,
    /// new / old − 1.
    pub change: Option<f64>,
    pub verdict: FileVerdict,
}

/// Every point of either file, in the new file's order, then points only the old one has.
pub fn compare(old: &Report, new: &Report, noise: f64) -> Vec<Row> {
    let points = |report: &Report| -> Vec<(String, String, Estimate)> {
        report
            .benches
            .iter()
            .flat_map(|b| &b.points)
            .map(|p| (p.id.clone(), p.unit.clone(), p.estimates.median))
            .collect()
    };
    let (old_points, new_points) = (points(old), points(new));
    let mut rows = Vec::new();
    for (id, unit, after) in &new_points {
        let before = old_points.iter().find(|(o, _, _)| o == id).map(|p| p.2);
        let (change, verdict) = match before {
            None => (None, FileVerdict::Added),
            Some(before) => {
                let change = after.point / before.point - 1.0;
                (Some(change), verdict(&before, after, change, noise))
            }
        };
        rows.push(Row {
            id: id.clone(),
            unit: unit.clone(),
            old: before,
            new: Some(*after),
            change,
            verdict,
        });
    }
    for (id, unit, before) in old_points {
        if !new_points.iter().any(|(n, _, _)| *n == id) {
            rows.push(Row {
                id,
                unit,
                old: Some(before),
                new: None,
                change: None,
                verdict: FileVerdict::Removed,
            });
        }
    }
    rows
}

/// A bench in both files and one way its setup differs between them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BenchSetupChange {
    pub bench: String,
    #[serde(flatten)]
    pub change: SetupChange,
}

/// Every difference between the setups of the benches both files measured. A side that
/// recorded no facts (a file from before facts existed, a bench that failed before its model
/// loaded) has nothing to compare them with: only its machine is compared.
pub fn setup_changes(old: &Report, new: &Report) -> Vec<BenchSetupChange> {
    let mut changes = Vec::new();
    for after in new.benches.iter().filter(|b| !b.points.is_empty()) {
        let Some(before) = old
            .benches
            .iter()
            .find(|b| b.id == after.id && !b.points.is_empty())
        else {
            continue;
        };
        let (mut was, mut is) = (
            Setup::of(before, &old.environment),
            Setup::of(after, &new.environment),
        );
        if was.facts.is_empty() || is.facts.is_empty() {
            was.facts.clear();
            is.facts.clear();
        }
        changes.extend(
            is.changes_since(&was)
                .into_iter()
                .map(|change| BenchSetupChange {
                    bench: after.id.clone(),
                    change,
                }),
        );
    }
    changes
}

/// Whether any change means another runtime, model or server.
pub fn crosses_runtimes(changes: &[BenchSetupChange]) -> bool {
    changes.iter().any(|c| c.change.kind == ChangeKind::Runtime)
}

/// The setup changes as a table.
pub fn setup_table(changes: &[BenchSetupChange]) -> Table {
    Table {
        title: "Setups differ (the changes above compare across these)".into(),
        headers: ["bench", "what", "old", "new"]
            .iter()
            .map(|h| h.to_string())
            .collect(),
        rows: changes.iter().map(|c| c.change.row(&c.bench)).collect(),
        notes: Vec::new(),
        prose: true,
    }
}

fn verdict(before: &Estimate, after: &Estimate, change: f64, noise: f64) -> FileVerdict {
    let apart_up = after.lower > before.upper;
    let apart_down = after.upper < before.lower;
    match (apart_up, apart_down) {
        (true, _) if change > noise => FileVerdict::Regressed,
        (_, true) if change < -noise => FileVerdict::Improved,
        (true, _) | (_, true) => FileVerdict::WithinNoise,
        _ => FileVerdict::NoChange,
    }
}

/// The rows as a table (text or Markdown).
pub fn table(rows: &[Row]) -> Table {
    let show = |e: &Option<Estimate>| {
        e.map(|e| {
            format!(
                "{} [{} {}]",
                duration_ns(e.point),
                duration_ns(e.lower),
                duration_ns(e.upper)
            )
        })
        .unwrap_or_else(|| "-".into())
    };
    Table {
        title: "Comparison (median per call, 95 % CI)".into(),
        headers: ["point", "old", "new", "change", "verdict"]
            .iter()
            .map(|h| h.to_string())
            .collect(),
        rows: rows
            .iter()
            .map(|r| {
                vec![
                    r.id.clone(),
                    show(&r.old),
                    show(&r.new),
                    r.change
                        .map(|c| signed_percent(100.0 * c))
                        .unwrap_or_else(|| "-".into()),
                    r.verdict.as_str().into(),
                ]
            })
            .collect(),
        notes: Vec::new(),
        prose: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn median(point: f64, half_width: f64) -> Estimate {
        Estimate {
            point,
            lower: point - half_width,
            upper: point + half_width,
            confidence_level: 0.95,
            standard_error: half_width / 2.0,
        }
    }

    #[test]
    fn verdicts_need_apart_intervals_and_a_change_beyond_noise() {
        let before = median(100.0, 2.0);
        assert_eq!(
            verdict(&before, &median(120.0, 2.0), 0.2, 0.01),
            FileVerdict::Regressed
        );
        assert_eq!(
            verdict(&before, &median(80.0, 2.0), -0.2, 0.01),
            FileVerdict::Improved
        );
        assert_eq!(
            verdict(&before, &median(101.0, 2.0), 0.01, 0.01),
            FileVerdict::NoChange
        );
        assert_eq!(
            verdict(&before, &median(105.0, 0.5), 0.05, 0.1),
            FileVerdict::WithinNoise
        );
    }
}
