//! A bench's setup against its baseline's: after the bench, each point criterion compared is
//! checked against the setup file saved beside that baseline (`results::setup::SETUP_FILE`), the
//! differences go into the bench's result and on stderr, and where criterion saved the point as a
//! baseline this run's setup is saved beside it. criterion copies only its own files into a
//! baseline and never removes others, so the file stays with the numbers it describes.

use std::path::Path;
use std::time::SystemTime;

use super::cli::{CriterionArgs, Mode};
use super::criterion_files::CriterionPlace;
use crate::registry::BenchDescriptor;
use crate::results::setup::SETUP_FILE;
use crate::results::{BaselineUse, BenchResult, Environment, Setup};

/// Where criterion keeps its files, and when the bench started: a baseline whose
/// `estimates.json` is older than that was not saved by this run.
pub struct Saved<'a> {
    pub criterion_dir: &'a Path,
    pub since: SystemTime,
}

/// Compares and saves, for every point of `bench`. Never fails the bench: a setup file that
/// cannot be read or written is said on stderr.
pub fn check_and_save(
    result: &mut BenchResult,
    bench: &BenchDescriptor,
    environment: &Environment,
    args: &CriterionArgs,
    saved: Saved<'_>,
) {
    if args.mode != Mode::Benchmark || args.no_fresh_estimates {
        return;
    }
    let Some(baseline) = &args.baseline else {
        return;
    };
    let place = CriterionPlace {
        criterion_dir: saved.criterion_dir,
        group: bench.group_name(),
        function: bench.name,
        baseline: Some(baseline),
    };
    compare_and_save(result, &place, &bench.point_ids(), environment, saved.since);
}

/// [`check_and_save`] for a bench at `place` whose points are `point_ids`, saved by criterion
/// from `since` on (a merged scale-out result has no descriptor, only its report).
pub(super) fn compare_and_save(
    result: &mut BenchResult,
    place: &CriterionPlace<'_>,
    point_ids: &[String],
    environment: &Environment,
    since: SystemTime,
) {
    let Some(baseline) = place.baseline else {
        return;
    };
    let name = baseline.name();
    let setup = Setup::of(result, environment);
    let key = format!("{}/{}", place.group, place.function);
    let baseline_dir = |point_id: &str| {
        let value = point_id
            .strip_prefix(&key)
            .and_then(|rest| rest.strip_prefix('/'))
            .filter(|rest| !rest.is_empty());
        place.dir(value).join(name)
    };
    // Read before this run's setup replaces it: in the default mode criterion compares with
    // `base` and then saves over it.
    let mut unrecorded = false;
    for point in result.points.iter().filter(|p| p.change.is_some()) {
        let file = baseline_dir(&point.id).join(SETUP_FILE);
        match read(&file) {
            Ok(Some(before)) => {
                for change in setup.changes_since(&before) {
                    if !result.setup_changes.contains(&change) {
                        result.setup_changes.push(change);
                    }
                }
            }
            Ok(None) => unrecorded = true,
            Err(error) => eprintln!("model-bench: {}: {error}", point.id),
        }
    }
    // Every point criterion saved during this bench, whether or not model-bench kept its
    // figures (a point whose files could not be read back still has criterion's in the
    // baseline); a point criterion did not run keeps the setup of the numbers it has.
    if matches!(baseline, BaselineUse::Save(_)) {
        for point_id in point_ids {
            let dir = baseline_dir(point_id);
            let fresh = std::fs::metadata(dir.join("estimates.json"))
                .and_then(|m| m.modified())
                .is_ok_and(|modified| modified >= since);
            if fresh {
                if let Err(error) = write(&dir.join(SETUP_FILE), &setup) {
                    eprintln!("model-bench: {point_id}: {error}");
                }
            }
        }
    }
    if unrecorded {
        eprintln!(
            "model-bench: {key}: baseline `{name}` has no record of its setup (saved by criterion \
             alone or an earlier model-bench); what ran then cannot be compared with what ran now"
        );
    }
    if !result.setup_changes.is_empty() {
        let changes: Vec<String> = result.setup_changes.iter().map(|c| c.describe()).collect();
        eprintln!(
            "model-bench: {key}: WARNING: compared with baseline `{name}`, which ran on another \
             setup: {}",
            changes.join("; ")
        );
    }
}

/// The setup saved at `path`; `Ok(None)` when there is none.
fn read(path: &Path) -> Result<Option<Setup>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(format!("cannot read {}: {error}", path.display())),
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|error| format!("{} is not a setup record: {error}", path.display()))
}

fn write(path: &Path, setup: &Setup) -> Result<(), String> {
    let json = serde_json::to_vec_pretty(setup).map_err(|e| e.to_string())?;
    crate::export::write_atomic(path, &json).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_setup_file_round_trips_and_a_corrupt_one_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(SETUP_FILE);
        assert_eq!(read(&path), Ok(None));
        let mut setup = Setup::default();
        setup.facts.insert("backend".into(), "tract".into());
        write(&path, &setup).unwrap();
        assert_eq!(read(&path), Ok(Some(setup)));
        std::fs::write(&path, "{\"facts\": 3").unwrap();
        let error = read(&path).unwrap_err();
        assert!(error.contains(SETUP_FILE), "{error}");
    }
}
