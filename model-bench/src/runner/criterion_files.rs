//! Reads what criterion saved for one benchmark (`new/estimates.json`, `new/sample.json`,
//! `change/estimates.json`) into the results model. Only files written during this run count.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::results::{BaselineUse, Change, Estimate, Estimates, SampleInfo};
use crate::stats::compare::{self, Rule};
use crate::stats::sample::quantile;

/// The directory criterion keeps a benchmark's files in, named as criterion names it.
pub fn benchmark_dir(
    criterion_dir: &Path,
    group: &str,
    function: &str,
    value: Option<&str>,
) -> PathBuf {
    let mut dir = criterion_dir
        .join(filename_safe(group))
        .join(filename_safe(function));
    if let Some(value) = value {
        dir = dir.join(filename_safe(value));
    }
    dir
}

/// Where a bench's points go: criterion's directory, the bench's group and function
/// there, and the baseline the run saves or compares with.
pub struct CriterionPlace<'a> {
    pub criterion_dir: &'a Path,
    pub group: &'a str,
    pub function: &'a str,
    pub baseline: Option<&'a BaselineUse>,
}

impl CriterionPlace<'_> {
    /// The directory of the benchmark `label` (`None`: the function itself).
    pub fn dir(&self, label: Option<&str>) -> std::path::PathBuf {
        benchmark_dir(self.criterion_dir, self.group, self.function, label)
    }
}

/// criterion's `make_filename_safe`: the same characters replaced, the same length limit.
fn filename_safe(name: &str) -> String {
    const MAX_LEN: usize = 64;
    let mut safe = name.replace(['?', '"', '/', '\\', '*', '<', '>', ':', '|', '^'], "_");
    let mut boundary = MAX_LEN.min(safe.len());
    while !safe.is_char_boundary(boundary) {
        boundary -= 1;
    }
    safe.truncate(boundary);
    safe
}

#[derive(Deserialize)]
struct RawEstimate {
    confidence_interval: RawInterval,
    point_estimate: f64,
    standard_error: f64,
}

#[derive(Deserialize)]
struct RawInterval {
    confidence_level: f64,
    lower_bound: f64,
    upper_bound: f64,
}

#[derive(Deserialize)]
struct RawEstimates {
    mean: RawEstimate,
    median: RawEstimate,
    median_abs_dev: RawEstimate,
    slope: Option<RawEstimate>,
    std_dev: RawEstimate,
}

#[derive(Deserialize)]
struct RawChange {
    mean: RawEstimate,
    median: RawEstimate,
}

#[derive(Deserialize)]
struct RawSample {
    iters: Vec<f64>,
    times: Vec<f64>,
}

impl From<RawEstimate> for Estimate {
    fn from(raw: RawEstimate) -> Self {
        Estimate {
            point: raw.point_estimate,
            lower: raw.confidence_interval.lower_bound,
            upper: raw.confidence_interval.upper_bound,
            confidence_level: raw.confidence_interval.confidence_level,
            standard_error: raw.standard_error,
        }
    }
}

/// What criterion measured for one benchmark during this run.
pub struct Measured {
    pub estimates: Estimates,
    pub sample: SampleInfo,
    pub change: Option<Change>,
}

/// The per-iteration times of the baseline `name`, read before a run (criterion overwrites a
/// baseline it saves): `Ok(None)` when there is none, an error naming the file when its
/// `sample.json` or `estimates.json` is missing or cannot be read or parsed.
pub fn baseline_sample(dir: &Path, name: &str) -> Result<Option<Vec<f64>>> {
    let path = dir.join(name).join("sample.json");
    let estimates = dir.join(name).join("estimates.json");
    if !path.exists() && !estimates.exists() {
        return Ok(None);
    }
    // criterion compares with both files: one it cannot read means no change at all, which the
    // gate must not take for "nothing to compare".
    let _: RawEstimates = read_json(&estimates)?;
    let sample: RawSample = read_json(&path)?;
    Ok(Some(per_iteration(&sample)))
}

/// With `--baseline NAME` (strict, as criterion's), a benchmark without that baseline cannot be
/// compared: criterion would measure it and then panic. Says so up front, with the way out.
pub fn missing_baseline(dir: &Path, baseline: Option<&BaselineUse>) -> Option<String> {
    let Some(BaselineUse::Compare(name)) = baseline else {
        return None;
    };
    let path = dir.join(name).join("estimates.json");
    (!path.is_file()).then(|| {
        format!(
            "no baseline `{name}` to compare with ({} is missing): save one with \
             `--save-baseline {name}`, or measure without comparing where it is missing with \
             `--baseline-lenient {name}`",
            path.display()
        )
    })
}

/// [`baseline_sample`], with a failure said on stderr and kept in the bench's
/// `baseline_errors` (the gate fails closed on it): the point is still measured, without a
/// verdict.
pub fn baseline_sample_or_note(
    dir: &Path,
    name: &str,
    point_id: &str,
    result: &mut crate::results::BenchResult,
) -> Option<Vec<f64>> {
    baseline_sample(dir, name).unwrap_or_else(|error| {
        eprintln!("model-bench: {point_id}: baseline `{name}` is unusable, no verdict: {error}");
        result.baseline_errors.push(format!("{point_id}: {error}"));
        None
    })
}

/// Resamples for the p-value; criterion's default is 100 000, this many keep it within ±0.005
/// of that at the significance levels that matter, in milliseconds.
const P_VALUE_RESAMPLES: usize = 20_000;

/// Reads a benchmark's files; `since` is when its measurement started, so that files left by an
/// earlier run are not mistaken for this one's. With the baseline's samples (`base`), a change
/// gets its p-value and its verdict under `rule`.
pub fn read(dir: &Path, since: SystemTime, base: Option<&[f64]>, rule: Rule) -> Result<Measured> {
    let estimates: RawEstimates = read_fresh(&dir.join("new").join("estimates.json"), since)?;
    let sample: RawSample = read_fresh(&dir.join("new").join("sample.json"), since)?;
    let change_path = dir.join("change").join("estimates.json");
    let change = if is_fresh(&change_path, since) {
        let raw: RawChange = read_json(&change_path)?;
        let mean: Estimate = raw.mean.into();
        let p_value = base
            .map(|base| compare::p_value(&per_iteration(&sample), base, P_VALUE_RESAMPLES, 0x5eed));
        Some(Change {
            verdict: p_value.map(|p| compare::verdict(p, mean.lower, mean.upper, rule)),
            p_value,
            mean,
            median: raw.median.into(),
        })
    } else {
        None
    };
    Ok(Measured {
        estimates: Estimates {
            mean: estimates.mean.into(),
            median: estimates.median.into(),
            std_dev: estimates.std_dev.into(),
            median_abs_dev: estimates.median_abs_dev.into(),
            slope: estimates.slope.map(Into::into),
        },
        sample: sample_info(&dir.join("new").join("sample.json"), &sample)?,
        change,
    })
}

fn per_iteration(sample: &RawSample) -> Vec<f64> {
    sample
        .iters
        .iter()
        .zip(&sample.times)
        .filter(|(iters, _)| **iters > 0.0)
        .map(|(iters, time)| time / iters)
        .collect()
}

fn sample_info(path: &Path, sample: &RawSample) -> Result<SampleInfo> {
    let per_iteration = per_iteration(sample);
    let invalid = || Error::CriterionOutput {
        path: path.to_path_buf(),
        message: "no samples".into(),
    };
    Ok(SampleInfo {
        samples: per_iteration.len(),
        iterations: sample.iters.iter().sum::<f64>() as u64,
        min: quantile(&per_iteration, 0.0).ok_or_else(invalid)?,
        p95: quantile(&per_iteration, 0.95).ok_or_else(invalid)?,
        max: quantile(&per_iteration, 1.0).ok_or_else(invalid)?,
        iqr: quantile(&per_iteration, 0.75)
            .zip(quantile(&per_iteration, 0.25))
            .map(|(q3, q1)| q3 - q1),
        p25: quantile(&per_iteration, 0.25),
        p75: quantile(&per_iteration, 0.75),
    })
}

fn is_fresh(path: &Path, since: SystemTime) -> bool {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .is_ok_and(|modified| modified >= since)
}

fn read_fresh<T: for<'de> Deserialize<'de>>(path: &Path, since: SystemTime) -> Result<T> {
    if !is_fresh(path, since) {
        return Err(Error::CriterionOutput {
            path: path.to_path_buf(),
            message: "criterion did not write it during this run (was --discard-baseline or \
                      --load-baseline given?)"
                .into(),
        });
    }
    read_json(path)
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T> {
    let bytes = std::fs::read(path).map_err(|e| Error::io("read", path, e))?;
    serde_json::from_slice(&bytes).map_err(|e| Error::CriterionOutput {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_corrupt_baseline_sample_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        assert!(baseline_sample(dir.path(), "main").unwrap().is_none());
        std::fs::create_dir_all(dir.path().join("main")).unwrap();
        let estimate = r#"{"confidence_interval":{"confidence_level":0.95,"lower_bound":1.0,"upper_bound":2.0},"point_estimate":1.5,"standard_error":0.1}"#;
        let estimates = format!(
            r#"{{"mean":{estimate},"median":{estimate},"median_abs_dev":{estimate},"slope":null,"std_dev":{estimate}}}"#
        );
        std::fs::write(dir.path().join("main/estimates.json"), &estimates).unwrap();
        std::fs::write(dir.path().join("main/sample.json"), "{\"iters\": [1.0,").unwrap();
        let error = baseline_sample(dir.path(), "main").unwrap_err().to_string();
        assert!(error.contains("main/sample.json"), "{error}");
        std::fs::write(
            dir.path().join("main/sample.json"),
            r#"{"sampling_mode":"Flat","iters":[1.0,2.0],"times":[10.0,40.0]}"#,
        )
        .unwrap();
        assert_eq!(
            baseline_sample(dir.path(), "main").unwrap(),
            Some(vec![10.0, 20.0])
        );
        // criterion reads the estimates too: a truncated one is as unusable as a bad sample.
        std::fs::write(dir.path().join("main/estimates.json"), &estimates[..40]).unwrap();
        let error = baseline_sample(dir.path(), "main").unwrap_err().to_string();
        assert!(error.contains("main/estimates.json"), "{error}");
    }

    #[test]
    fn directory_names_follow_criterion() {
        let dir = benchmark_dir(
            Path::new("/t/criterion"),
            "mobile net",
            "fwd:cpu",
            Some("4"),
        );
        assert_eq!(dir, Path::new("/t/criterion/mobile net/fwd_cpu/4"));
        assert_eq!(filename_safe(&"é".repeat(40)).len(), 64);
    }

    #[test]
    fn reads_criterion_files_and_rejects_stale_ones() {
        let dir = tempfile::tempdir().unwrap();
        let new = dir.path().join("new");
        std::fs::create_dir_all(&new).unwrap();
        let estimate = |p: f64| {
            format!(
                r#"{{"confidence_interval":{{"confidence_level":0.95,"lower_bound":{},"upper_bound":{}}},"point_estimate":{p},"standard_error":1.0}}"#,
                p - 1.0,
                p + 1.0
            )
        };
        std::fs::write(
            new.join("estimates.json"),
            format!(
                r#"{{"mean":{},"median":{},"median_abs_dev":{},"slope":null,"std_dev":{}}}"#,
                estimate(100.0),
                estimate(90.0),
                estimate(5.0),
                estimate(7.0)
            ),
        )
        .unwrap();
        std::fs::write(
            new.join("sample.json"),
            r#"{"sampling_mode":"Linear","iters":[1.0,2.0,3.0],"times":[10.0,40.0,30.0]}"#,
        )
        .unwrap();
        let measured = read(dir.path(), SystemTime::UNIX_EPOCH, None, Rule::default()).unwrap();
        assert_eq!(measured.estimates.median.point, 90.0);
        assert_eq!(measured.estimates.mean.lower, 99.0);
        assert_eq!(measured.sample.samples, 3);
        assert_eq!(measured.sample.iterations, 6);
        assert_eq!(measured.sample.min, 10.0);
        assert_eq!(measured.sample.max, 20.0);
        assert!(measured.change.is_none());

        let later = SystemTime::now() + std::time::Duration::from_secs(3600);
        let error = read(dir.path(), later, None, Rule::default())
            .err()
            .unwrap()
            .to_string();
        assert!(
            error.contains("did not write it during this run"),
            "{error}"
        );
    }
}
