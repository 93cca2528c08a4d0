//! What model-bench needs to know of criterion's command line (mode, name filter, baseline), read
//! from the same arguments criterion parses; criterion stays the owner of every flag.

use regex::Regex;

use crate::error::{Error, Result};
use crate::results::BaselineUse;

/// criterion's run modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Benchmark,
    List,
    /// `cargo test --benches`, or `-- --test`: run each bench once, measure nothing.
    Test,
    Profile,
}

#[derive(Debug, Clone)]
pub enum Filter {
    All,
    Regex(Regex),
    Exact(String),
    Nothing,
}

impl Filter {
    /// Whether criterion will run the benchmark with this id.
    pub fn matches(&self, id: &str) -> bool {
        match self {
            Filter::All => true,
            Filter::Regex(regex) => regex.is_match(id),
            Filter::Exact(exact) => id == exact,
            Filter::Nothing => false,
        }
    }
}

#[derive(Debug, Clone)]
pub struct CriterionArgs {
    pub mode: Mode,
    pub filter: Filter,
    pub filter_text: Option<String>,
    pub baseline: Option<BaselineUse>,
    /// `--discard-baseline` or `--load-baseline`: criterion will not write fresh estimates.
    pub no_fresh_estimates: bool,
    /// `--noplot`: no charts (the report page still has the tables).
    pub no_plot: bool,
}

impl CriterionArgs {
    /// The baseline criterion compares against: the one named with `--baseline`,
    /// `--baseline-lenient` or `--save-baseline`, else criterion's default `base`.
    pub fn baseline_name(&self) -> &str {
        self.baseline.as_ref().map_or("base", BaselineUse::name)
    }
}

/// criterion's options that take a value (see `Criterion::configure_from_args`).
const VALUE_OPTIONS: &[&str] = &[
    "--color",
    "--colour",
    "--save-baseline",
    "--baseline",
    "--baseline-lenient",
    "--format",
    "--profile-time",
    "--load-baseline",
    "--sample-size",
    "--warm-up-time",
    "--measurement-time",
    "--nresamples",
    "--noise-threshold",
    "--confidence-level",
    "--significance-level",
    "--plotting-backend",
    "--output-format",
];
const SHORT_VALUE_OPTIONS: &[(char, &str)] = &[
    ('c', "--color"),
    ('s', "--save-baseline"),
    ('b', "--baseline"),
];

impl CriterionArgs {
    /// Reads the arguments after the program name.
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Self> {
        let mut flags: Vec<String> = Vec::new();
        let mut values: Vec<(String, String)> = Vec::new();
        let mut positional: Vec<String> = Vec::new();
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            if arg == "--" {
                positional.extend(args.by_ref());
                break;
            }
            if let Some(long) = arg.strip_prefix("--") {
                let (name, inline) = match long.split_once('=') {
                    Some((name, value)) => (format!("--{name}"), Some(value.to_string())),
                    None => (arg.clone(), None),
                };
                if VALUE_OPTIONS.contains(&name.as_str()) {
                    let value = inline.or_else(|| args.next()).unwrap_or_default();
                    values.push((name, value));
                } else {
                    flags.push(name);
                }
            } else if arg.len() > 1 && arg.starts_with('-') {
                let mut chars = arg[1..].chars();
                while let Some(short) = chars.next() {
                    if let Some((_, long)) = SHORT_VALUE_OPTIONS.iter().find(|(c, _)| *c == short) {
                        let rest: String = chars.by_ref().collect();
                        let rest = rest.strip_prefix('=').unwrap_or(&rest).to_string();
                        let value = if rest.is_empty() {
                            args.next().unwrap_or_default()
                        } else {
                            rest
                        };
                        values.push((long.to_string(), value));
                        break;
                    }
                    flags.push(format!("-{short}"));
                }
            } else {
                positional.push(arg);
            }
        }
        let has = |flag: &str| flags.iter().any(|f| f == flag);
        let value = |name: &str| {
            values
                .iter()
                .rev()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        };

        let test_mode = !has("--bench") || has("--test");
        let mode = if has("--list") {
            Mode::List
        } else if test_mode {
            Mode::Test
        } else if value("--profile-time").is_some() {
            Mode::Profile
        } else {
            Mode::Benchmark
        };

        let filter_text = positional.first().cloned();
        let filter = if has("--ignored") {
            Filter::Nothing
        } else if let Some(text) = &filter_text {
            if has("--exact") {
                Filter::Exact(text.clone())
            } else {
                Filter::Regex(Regex::new(text).map_err(|e| Error::Config {
                    origin: "the benchmark name filter".into(),
                    message: format!("`{text}` is not a regular expression: {e}"),
                })?)
            }
        } else {
            Filter::All
        };

        let baseline = if let Some(name) = value("--baseline") {
            Some(BaselineUse::Compare(name))
        } else if let Some(name) = value("--baseline-lenient") {
            Some(BaselineUse::CompareLenient(name))
        } else if has("--discard-baseline") {
            None
        } else {
            Some(BaselineUse::Save(
                value("--save-baseline").unwrap_or_else(|| "base".into()),
            ))
        };

        Ok(CriterionArgs {
            mode,
            filter,
            filter_text,
            baseline,
            no_fresh_estimates: has("--discard-baseline") || value("--load-baseline").is_some(),
            no_plot: has("--noplot"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> CriterionArgs {
        CriterionArgs::parse(args.iter().map(|s| s.to_string())).unwrap()
    }

    #[test]
    fn cargo_bench_runs_benchmarks_and_cargo_test_tests_them() {
        assert_eq!(parse(&["--bench"]).mode, Mode::Benchmark);
        assert_eq!(parse(&[]).mode, Mode::Test);
        assert_eq!(parse(&["--bench", "--test"]).mode, Mode::Test);
        assert_eq!(parse(&["--bench", "--list"]).mode, Mode::List);
        assert_eq!(
            parse(&["--bench", "--profile-time", "5"]).mode,
            Mode::Profile
        );
    }

    #[test]
    fn filter_skips_option_values() {
        let args = parse(&[
            "--bench",
            "--save-baseline",
            "main",
            "forward/4",
            "--noplot",
        ]);
        assert_eq!(args.filter_text.as_deref(), Some("forward/4"));
        assert!(args.filter.matches("mobilenet/forward/4"));
        assert!(!args.filter.matches("mobilenet/forward/8"));
        assert_eq!(args.baseline, Some(BaselineUse::Save("main".into())));

        let args = parse(&["--bench", "-b", "main", "--exact", "p/load"]);
        assert!(args.filter.matches("p/load"));
        assert!(!args.filter.matches("p/load2"));
        assert_eq!(args.baseline, Some(BaselineUse::Compare("main".into())));

        let args = parse(&["--bench", "--baseline-lenient=old", "--ignored", "x"]);
        assert!(!args.filter.matches("x"));
        assert_eq!(
            args.baseline,
            Some(BaselineUse::CompareLenient("old".into()))
        );
    }

    #[test]
    fn a_bad_regex_is_a_clear_error() {
        let error = CriterionArgs::parse(["--bench".to_string(), "(".to_string()])
            .unwrap_err()
            .to_string();
        assert!(error.contains("`(` is not a regular expression"), "{error}");
    }
}
