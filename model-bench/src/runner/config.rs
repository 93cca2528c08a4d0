//! model-bench's own settings: `model-bench.toml` overlaid with `MODEL_BENCH_*` environment
//! variables. Never command-line flags: those all belong to criterion.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

pub use super::values::{covers, parse_duration};
use crate::error::{Error, Result};

pub const ENV_CONFIG: &str = "MODEL_BENCH_CONFIG";
pub const ENV_QUICK: &str = "MODEL_BENCH_QUICK";
pub const ENV_COLD_RUNS: &str = "MODEL_BENCH_COLD_RUNS";
pub const ENV_COLD_TIMEOUT: &str = "MODEL_BENCH_COLD_TIMEOUT";
pub const ENV_OUTPUT_DIR: &str = "MODEL_BENCH_OUTPUT_DIR";
pub const ENV_SAMPLE_SIZE: &str = "MODEL_BENCH_SAMPLE_SIZE";
pub const ENV_WARM_UP_TIME: &str = "MODEL_BENCH_WARM_UP_TIME";
pub const ENV_MEASUREMENT_TIME: &str = "MODEL_BENCH_MEASUREMENT_TIME";
pub const ENV_GATE: &str = "MODEL_BENCH_GATE";
pub const ENV_GATE_SAME_SETUP: &str = "MODEL_BENCH_GATE_SAME_SETUP";
pub const CONFIG_FILE: &str = "model-bench.toml";

/// Quick mode: enough to see every bench work and get rough numbers, in a fraction of the time.
pub const QUICK_SAMPLE_SIZE: usize = 10;
pub const QUICK_WARM_UP_TIME: Duration = Duration::from_millis(100);
pub const QUICK_MEASUREMENT_TIME: Duration = Duration::from_millis(300);

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub quick: bool,
    pub cold_runs: u32,
    pub cold_timeout: Duration,
    pub output_dir: Option<PathBuf>,
    /// Defaults for every bench; a bench's own options and criterion's flags take precedence.
    pub sample_size: Option<usize>,
    pub warm_up_time: Option<Duration>,
    pub measurement_time: Option<Duration>,
    /// The regression gate: fail the run when a bench is significantly slower than its baseline.
    pub gate: Gate,
    /// Limits on absolute figures, checked after the run.
    pub thresholds: Vec<super::thresholds::Threshold>,
    /// What the recommendations count as too slow or too noisy.
    pub recommend: super::recommend::Settings,
    /// When a load point counts as stable (VALID) and how often it is retried until it is.
    pub stability: crate::stats::stability::Rule,
    /// Stop a load run (a point or a scenario) once this many of its requests have failed.
    pub error_limit: Option<u64>,
    /// The file the settings came from, if any.
    pub file: Option<PathBuf>,
}

/// When a change against the baseline counts, and whether a regression fails the run.
#[derive(Debug, Clone, PartialEq)]
pub struct Gate {
    pub enabled: bool,
    pub significance_level: f64,
    /// Relative change of the mean inside which a change is noise, e.g. 0.02 for ±2 %.
    pub noise_threshold: f64,
    /// Per-bench noise thresholds: the first entry whose key is the point id, or a prefix of it
    /// ending at a `/`, wins.
    pub noise_by_bench: Vec<(String, f64)>,
    /// Refuse to judge a bench compared with a baseline that ran another runtime, model or
    /// server (different facts): the run exits with `EXIT_SETUP_CHANGED` instead of a verdict.
    pub same_setup: bool,
}

impl Default for Gate {
    /// criterion's own defaults, gate off.
    fn default() -> Self {
        let rule = crate::stats::compare::Rule::default();
        Gate {
            enabled: false,
            significance_level: rule.significance_level,
            noise_threshold: rule.noise_threshold,
            noise_by_bench: Vec::new(),
            same_setup: false,
        }
    }
}

impl Gate {
    /// Whether the gate judges this run: asked for, or asked to refuse comparisons across
    /// setups (which only a running gate can do).
    pub fn is_on(&self) -> bool {
        self.enabled || self.same_setup
    }

    /// The rule for the point `id` (`pipeline/name[/batch or level]`).
    pub fn rule_for(&self, id: &str) -> crate::stats::compare::Rule {
        let noise = self
            .noise_by_bench
            .iter()
            .find(|(key, _)| covers(key, id))
            .map(|(_, noise)| *noise)
            .unwrap_or(self.noise_threshold);
        crate::stats::compare::Rule {
            significance_level: self.significance_level,
            noise_threshold: noise,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            quick: false,
            cold_runs: 5,
            cold_timeout: Duration::from_secs(300),
            output_dir: None,
            sample_size: None,
            warm_up_time: None,
            measurement_time: None,
            gate: Gate::default(),
            thresholds: Vec::new(),
            recommend: super::recommend::Settings::default(),
            stability: crate::stats::stability::Rule::default(),
            error_limit: None,
            file: None,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    quick: Option<bool>,
    cold_runs: Option<u32>,
    cold_timeout: Option<String>,
    output_dir: Option<PathBuf>,
    sample_size: Option<usize>,
    warm_up_time: Option<String>,
    measurement_time: Option<String>,
    gate: Option<FileGate>,
    /// Bench id (or id prefix) to its limits, e.g. `["p99 < 50ms", "error_rate < 1%"]`.
    #[serde(default)]
    thresholds: std::collections::BTreeMap<String, Vec<String>>,
    recommend: Option<FileRecommend>,
    stability: Option<FileStability>,
    error_limit: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileStability {
    windows: Option<usize>,
    within_pct: Option<f64>,
    /// `mean`, `p50` or `p99`.
    latency: Option<String>,
    min_duration: Option<String>,
    min_requests: Option<u64>,
    max_trials: Option<u32>,
    window_requests: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileRecommend {
    slo_p99: Option<String>,
    cold_overhead: Option<String>,
    noise: Option<f64>,
    /// MiB of resident-memory growth over one bench that is flagged.
    memory_growth_mib: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileGate {
    enabled: Option<bool>,
    significance_level: Option<f64>,
    noise_threshold: Option<f64>,
    same_setup: Option<bool>,
    /// Bench id (or id prefix) to its own noise threshold.
    #[serde(default)]
    noise: std::collections::BTreeMap<String, f64>,
}

impl Config {
    /// Reads `$MODEL_BENCH_CONFIG`, else `model-bench.toml` in `dir` when it exists, then applies
    /// the environment.
    pub fn load(dir: &Path) -> Result<Self> {
        let explicit = std::env::var_os(ENV_CONFIG).map(PathBuf::from);
        let path = explicit
            .clone()
            .or_else(|| Some(dir.join(CONFIG_FILE)).filter(|p| p.is_file()));
        let mut config = match path {
            Some(path) => {
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| Error::io("read the config file", &path, e))?;
                let mut config = Self::from_toml(&text, &path.display().to_string())?;
                config.file = Some(path);
                config
            }
            None => Config::default(),
        };
        config.apply_env(|name| std::env::var(name).ok())?;
        Ok(config)
    }

    /// Parses the TOML settings; `origin` names the file in errors.
    pub fn from_toml(text: &str, origin: &str) -> Result<Self> {
        let file: FileConfig = toml::from_str(text).map_err(|e| Error::Config {
            origin: origin.to_string(),
            message: e.to_string(),
        })?;
        let mut config = Config::default();
        let key = |name: &str| format!("{origin} (key `{name}`)");
        if let Some(quick) = file.quick {
            config.quick = quick;
        }
        if let Some(runs) = file.cold_runs {
            config.cold_runs = validate_cold_runs(runs, &key("cold_runs"))?;
        }
        if let Some(timeout) = &file.cold_timeout {
            config.cold_timeout = parse_duration(timeout, &key("cold_timeout"))?;
        }
        config.output_dir = file.output_dir;
        if let Some(size) = file.sample_size {
            config.sample_size = Some(validate_sample_size(size, &key("sample_size"))?);
        }
        if let Some(time) = &file.warm_up_time {
            config.warm_up_time = Some(parse_duration(time, &key("warm_up_time"))?);
        }
        if let Some(time) = &file.measurement_time {
            config.measurement_time = Some(parse_duration(time, &key("measurement_time"))?);
        }
        if let Some(gate) = file.gate {
            if let Some(enabled) = gate.enabled {
                config.gate.enabled = enabled;
            }
            if let Some(same_setup) = gate.same_setup {
                config.gate.same_setup = same_setup;
            }
            if let Some(level) = gate.significance_level {
                config.gate.significance_level =
                    validate_fraction(level, false, &key("gate.significance_level"))?;
            }
            if let Some(noise) = gate.noise_threshold {
                config.gate.noise_threshold =
                    validate_fraction(noise, true, &key("gate.noise_threshold"))?;
            }
            for (bench, noise) in gate.noise {
                let origin = key(&format!("gate.noise.\"{bench}\""));
                let noise = validate_fraction(noise, true, &origin)?;
                config.gate.noise_by_bench.push((bench, noise));
            }
            // Longest key first, so `a/b/4` wins over `a/b`.
            config
                .gate
                .noise_by_bench
                .sort_by_key(|(bench, _)| std::cmp::Reverse(bench.len()));
        }
        if let Some(recommend) = &file.recommend {
            if let Some(slo) = &recommend.slo_p99 {
                config.recommend.slo_p99 = Some(parse_duration(slo, &key("recommend.slo_p99"))?);
            }
            if let Some(overhead) = &recommend.cold_overhead {
                config.recommend.cold_overhead =
                    parse_duration(overhead, &key("recommend.cold_overhead"))?;
            }
            if let Some(mib) = recommend.memory_growth_mib {
                if !(mib.is_finite() && mib >= 0.0) {
                    return Err(Error::Config {
                        origin: key("recommend.memory_growth_mib"),
                        message: format!("{mib} is not a size in MiB (a number ≥ 0)"),
                    });
                }
                config.recommend.memory_growth_bytes = (mib * (1u64 << 20) as f64) as u64;
            }
            if let Some(noise) = recommend.noise {
                config.recommend.noise_ratio =
                    validate_fraction(noise, false, &key("recommend.noise"))?;
            }
        }
        if let Some(limit) = file.error_limit {
            if limit == 0 {
                return Err(Error::Config {
                    origin: key("error_limit"),
                    message: "at least 1 failed request".into(),
                });
            }
            config.error_limit = Some(limit);
        }
        if let Some(stability) = &file.stability {
            let rule = &mut config.stability;
            if let Some(windows) = stability.windows {
                if windows < 2 {
                    return Err(Error::Config {
                        origin: key("stability.windows"),
                        message: format!("at least 2 windows are compared, got {windows}"),
                    });
                }
                rule.windows = windows;
            }
            if let Some(pct) = stability.within_pct {
                if !(pct.is_finite() && pct > 0.0) {
                    return Err(Error::Config {
                        origin: key("stability.within_pct"),
                        message: format!("expected a percentage above 0 (e.g. 10), got {pct}"),
                    });
                }
                rule.within_pct = pct;
            }
            if let Some(latency) = &stability.latency {
                rule.latency =
                    crate::stats::stability::LatencyFigure::parse(latency).ok_or_else(|| {
                        Error::Config {
                            origin: key("stability.latency"),
                            message: format!("expected `mean`, `p50` or `p99`, got `{latency}`"),
                        }
                    })?;
            }
            if let Some(text) = &stability.min_duration {
                rule.min_duration_s =
                    parse_duration(text, &key("stability.min_duration"))?.as_secs_f64();
            }
            if let Some(requests) = stability.min_requests {
                rule.min_requests = requests;
            }
            if let Some(trials) = stability.max_trials {
                if trials == 0 {
                    return Err(Error::Config {
                        origin: key("stability.max_trials"),
                        message: "at least 1 trial (the run itself)".into(),
                    });
                }
                rule.max_trials = trials;
            }
            if let Some(count) = stability.window_requests {
                if count == 0 {
                    return Err(Error::Config {
                        origin: key("stability.window_requests"),
                        message: "a window of at least 1 response".into(),
                    });
                }
                rule.window_requests = Some(count);
            }
        }
        for (bench, limits) in &file.thresholds {
            for text in limits {
                let threshold =
                    super::thresholds::Threshold::parse(bench, text).map_err(|message| {
                        Error::Config {
                            origin: key(&format!("thresholds.\"{bench}\"")),
                            message,
                        }
                    })?;
                config.thresholds.push(threshold);
            }
        }
        Ok(config)
    }

    /// Overlays the `MODEL_BENCH_*` variables that `var` returns.
    pub fn apply_env(&mut self, var: impl Fn(&str) -> Option<String>) -> Result<()> {
        let origin = |name: &str| format!("environment variable {name}");
        if let Some(value) = var(ENV_QUICK) {
            self.quick = parse_flag(&value, &origin(ENV_QUICK))?;
        }
        if let Some(value) = var(ENV_GATE) {
            self.gate.enabled = parse_flag(&value, &origin(ENV_GATE))?;
        }
        if let Some(value) = var(crate::progress::ENV_PROGRESS) {
            crate::progress::check_setting(&value).map_err(|message| Error::Config {
                origin: origin(crate::progress::ENV_PROGRESS),
                message,
            })?;
        }
        if let Some(value) = var(ENV_GATE_SAME_SETUP) {
            self.gate.same_setup = parse_flag(&value, &origin(ENV_GATE_SAME_SETUP))?;
        }
        if let Some(value) = var(ENV_COLD_RUNS) {
            let runs = parse_number(&value, &origin(ENV_COLD_RUNS))?;
            self.cold_runs = validate_cold_runs(runs, &origin(ENV_COLD_RUNS))?;
        }
        if let Some(value) = var(ENV_COLD_TIMEOUT) {
            self.cold_timeout = parse_duration(&value, &origin(ENV_COLD_TIMEOUT))?;
        }
        if let Some(value) = var(ENV_OUTPUT_DIR).filter(|v| !v.is_empty()) {
            self.output_dir = Some(PathBuf::from(value));
        }
        if let Some(value) = var(ENV_SAMPLE_SIZE) {
            let size = parse_number(&value, &origin(ENV_SAMPLE_SIZE))?;
            self.sample_size = Some(validate_sample_size(size, &origin(ENV_SAMPLE_SIZE))?);
        }
        if let Some(value) = var(ENV_WARM_UP_TIME) {
            self.warm_up_time = Some(parse_duration(&value, &origin(ENV_WARM_UP_TIME))?);
        }
        if let Some(value) = var(ENV_MEASUREMENT_TIME) {
            self.measurement_time = Some(parse_duration(&value, &origin(ENV_MEASUREMENT_TIME))?);
        }
        Ok(())
    }
}

fn parse_number<T: std::str::FromStr>(value: &str, origin: &str) -> Result<T> {
    value.trim().parse().map_err(|_| Error::Config {
        origin: origin.to_string(),
        message: format!("expected a whole number, got `{value}`"),
    })
}

fn validate_cold_runs(runs: u32, origin: &str) -> Result<u32> {
    if runs == 0 {
        return Err(Error::Config {
            origin: origin.to_string(),
            message: "cold runs must be at least 1".into(),
        });
    }
    Ok(runs)
}

fn parse_flag(value: &str, origin: &str) -> Result<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "" | "0" | "false" | "no" | "off" => Ok(false),
        "1" | "true" | "yes" | "on" => Ok(true),
        _ => Err(Error::Config {
            origin: origin.to_string(),
            message: format!("expected 1/0 or true/false, got `{value}`"),
        }),
    }
}

/// A probability or relative threshold: in (0, 1), or [0, 1) when zero is allowed.
fn validate_fraction(value: f64, zero_allowed: bool, origin: &str) -> Result<f64> {
    let low_ok = if zero_allowed {
        value >= 0.0
    } else {
        value > 0.0
    };
    if !(low_ok && value < 1.0) {
        return Err(Error::Config {
            origin: origin.to_string(),
            message: format!(
                "expected a fraction {} 0 and below 1 (e.g. 0.05), got {value}",
                if zero_allowed { "from" } else { "above" }
            ),
        });
    }
    Ok(value)
}

fn validate_sample_size(size: usize, origin: &str) -> Result<usize> {
    if size < 10 {
        return Err(Error::Config {
            origin: origin.to_string(),
            message: format!("sample size must be at least 10 (criterion's minimum), got {size}"),
        });
    }
    Ok(size)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn thresholds_are_read_per_bench_and_a_bad_one_names_its_key() {
        let config = Config::from_toml(
            "[thresholds]\n\"serving/rest\" = [\"p99 < 50ms\", \"error_rate < 1%\"]\n",
            "mb.toml",
        )
        .unwrap();
        assert_eq!(config.thresholds.len(), 2);
        assert_eq!(config.thresholds[0].bench, "serving/rest");
        let error = Config::from_toml("[thresholds]\n\"x\" = [\"p98 < 1ms\"]\n", "mb.toml")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("thresholds.\"x\"") && error.contains("p98"),
            "{error}"
        );
    }

    #[test]
    fn stability_settings() {
        use crate::stats::stability::LatencyFigure;
        let config = Config::from_toml(
            "[stability]\nwindows = 4\nwithin_pct = 5\nlatency = \"p99\"\nmin_duration = \"10s\"\nmin_requests = 1000\nmax_trials = 3\nwindow_requests = 200\n",
            "mb.toml",
        )
        .unwrap();
        let rule = &config.stability;
        assert_eq!((rule.windows, rule.within_pct), (4, 5.0));
        assert_eq!(rule.latency, LatencyFigure::P99);
        assert_eq!((rule.min_duration_s, rule.min_requests), (10.0, 1000));
        assert_eq!(rule.max_trials, 3);
        assert_eq!(rule.window_requests, Some(200));
        for (bad, key) in [
            ("window_requests = 0", "stability.window_requests"),
            ("windows = 1", "stability.windows"),
            ("latency = \"p90\"", "stability.latency"),
            ("max_trials = 0", "stability.max_trials"),
            ("within_pct = -1", "stability.within_pct"),
        ] {
            let error = Config::from_toml(&format!("[stability]\n{bad}\n"), "mb.toml")
                .unwrap_err()
                .to_string();
            assert!(error.contains(key), "{bad}: {error}");
        }
    }

    #[test]
    fn the_error_limit_is_at_least_one() {
        let config = Config::from_toml("error_limit = 100\n", "mb.toml").unwrap();
        assert_eq!(config.error_limit, Some(100));
        let error = Config::from_toml("error_limit = 0\n", "mb.toml")
            .unwrap_err()
            .to_string();
        assert!(error.contains("error_limit"), "{error}");
    }

    #[test]
    fn recommendation_settings() {
        let config = Config::from_toml(
            "[recommend]\nslo_p99 = \"50ms\"\ncold_overhead = \"2s\"\nnoise = 0.2\n",
            "mb.toml",
        )
        .unwrap();
        assert_eq!(config.recommend.slo_p99, Some(Duration::from_millis(50)));
        assert_eq!(config.recommend.cold_overhead, Duration::from_secs(2));
        assert_eq!(config.recommend.noise_ratio, 0.2);
        let error = Config::from_toml("[recommend]\nslo_p99 = \"fast\"\n", "mb.toml")
            .unwrap_err()
            .to_string();
        assert!(error.contains("recommend.slo_p99"), "{error}");
    }

    #[test]
    fn gate_settings_with_per_bench_noise() {
        let config = Config::from_toml(
            "[gate]\nenabled = true\nnoise_threshold = 0.02\n[gate.noise]\n\"serving/rest\" = 0.1\n\"serving/rest/c4\" = 0.2\n",
            "mb.toml",
        )
        .unwrap();
        assert!(config.gate.enabled);
        assert_eq!(config.gate.rule_for("serving/rest/c1").noise_threshold, 0.1);
        assert_eq!(config.gate.rule_for("serving/rest/c4").noise_threshold, 0.2);
        assert_eq!(
            config
                .gate
                .rule_for("serving/rest_binary/c1")
                .noise_threshold,
            0.02
        );
        assert_eq!(config.gate.rule_for("other").significance_level, 0.05);
        let error = Config::from_toml("[gate]\nsignificance_level = 5\n", "mb.toml")
            .unwrap_err()
            .to_string();
        assert!(error.contains("gate.significance_level"), "{error}");
        let mut config = Config::default();
        config
            .apply_env(|name| (name == ENV_GATE).then(|| "1".to_string()))
            .unwrap();
        assert!(config.gate.enabled);
        assert!(!config.gate.same_setup);
        // Refusing to judge across setups is the gate's: asking for it turns the gate on, even
        // with `MODEL_BENCH_GATE=0`; turning it off again leaves the gate as it was asked.
        let mut config = Config::from_toml("[gate]\nsame_setup = true\n", "mb.toml").unwrap();
        assert!(config.gate.is_on() && config.gate.same_setup);
        config
            .apply_env(|name| (name == ENV_GATE).then(|| "0".to_string()))
            .unwrap();
        assert!(config.gate.is_on());
        config
            .apply_env(|name| (name == ENV_GATE_SAME_SETUP).then(|| "0".to_string()))
            .unwrap();
        assert!(!config.gate.is_on());
        let mut config = Config::default();
        config
            .apply_env(|name| (name == ENV_GATE_SAME_SETUP).then(|| "yes".to_string()))
            .unwrap();
        assert!(config.gate.is_on() && config.gate.same_setup);
    }

    #[test]
    fn toml_settings_and_unknown_keys() {
        let config = Config::from_toml(
            "quick = true\ncold_runs = 3\nmeasurement_time = \"2s\"\nsample_size = 20\n",
            "model-bench.toml",
        )
        .unwrap();
        assert!(config.quick);
        assert_eq!(config.cold_runs, 3);
        assert_eq!(config.measurement_time, Some(Duration::from_secs(2)));
        assert_eq!(config.sample_size, Some(20));

        let error = Config::from_toml("colds = 3", "model-bench.toml")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("model-bench.toml") && error.contains("colds"),
            "{error}"
        );

        let error = Config::from_toml("sample_size = 5", "x.toml")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("sample_size") && error.contains("at least 10"),
            "{error}"
        );
    }

    #[test]
    fn environment_overrides_the_file() {
        let mut config = Config::from_toml("quick = false\ncold_runs = 3", "f").unwrap();
        let env: HashMap<&str, &str> = [(ENV_QUICK, "1"), (ENV_COLD_RUNS, "7")].into();
        config
            .apply_env(|k| env.get(k).map(|v| v.to_string()))
            .unwrap();
        assert!(config.quick);
        assert_eq!(config.cold_runs, 7);

        let env: HashMap<&str, &str> = [(ENV_COLD_RUNS, "zero")].into();
        let error = config
            .apply_env(|k| env.get(k).map(|v| v.to_string()))
            .unwrap_err()
            .to_string();
        assert!(error.contains(ENV_COLD_RUNS), "{error}");
    }
}
