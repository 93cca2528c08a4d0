//! The scenario options of a remote bench: `ramp(..)`, `spike(..)`, `stress(..)` and `soak(..)`, each with
//! its own named values, checked at compile time like every other option.

use syn::meta::ParseNestedMeta;
use syn::Expr;

use crate::values::{duration, number_literal, value};

/// A scenario as written, durations in nanoseconds.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Scenario {
    Ramp {
        from: f64,
        to: f64,
        steps: usize,
        step_ns: u64,
    },
    /// A ramp of requests in flight (closed loop).
    ConcurrencyRamp {
        from: usize,
        to: usize,
        steps: usize,
        step_ns: u64,
    },
    Spike {
        baseline: f64,
        factor: f64,
        before_ns: u64,
        spike_ns: u64,
        after_ns: u64,
        recovered_within_pct: f64,
    },
    Stress {
        start: f64,
        increment: f64,
        step_ns: u64,
        max_steps: usize,
        slo_p99_ns: Option<u64>,
        min_goodput: Option<f64>,
        max_error_rate: f64,
    },
    /// One fixed load: `rate` per second (open loop) or `concurrency` in flight (closed).
    Soak {
        rate: Option<f64>,
        concurrency: Option<usize>,
        duration_ns: u64,
        window_ns: u64,
        leak_mib_per_min: f64,
    },
}

pub(crate) const NAMES: [&str; 4] = ["ramp", "spike", "stress", "soak"];

/// The values one scenario takes, with the example shown when one is missing.
fn keys(kind: &str) -> &'static [(&'static str, &'static str)] {
    match kind {
        "ramp" => &[
            ("from", "from = 100"),
            ("to", "to = 1000"),
            ("concurrency_from", "concurrency_from = 1"),
            ("concurrency_to", "concurrency_to = 32"),
            ("steps", "steps = 5"),
            ("step", "step = \"5s\""),
        ],
        "spike" => &[
            ("baseline", "baseline = 100"),
            ("factor", "factor = 3"),
            ("before", "before = \"5s\""),
            ("spike", "spike = \"5s\""),
            ("after", "after = \"10s\""),
            ("recovered_within", "recovered_within = 20"),
        ],
        "soak" => &[
            ("rate", "rate = 100"),
            ("concurrency", "concurrency = 8"),
            ("duration", "duration = \"10m\""),
            ("window", "window = \"30s\""),
            ("leak_mib_per_min", "leak_mib_per_min = 10"),
        ],
        _ => &[
            ("start", "start = 100"),
            ("increment", "increment = 100"),
            ("step", "step = \"5s\""),
            ("max_steps", "max_steps = 20"),
            ("slo_p99", "slo_p99 = \"50ms\""),
            ("min_goodput", "min_goodput = 0.95"),
            ("max_error_rate", "max_error_rate = 0.01"),
        ],
    }
}

/// Parses `kind(key = value, ..)`; `meta` is the option itself.
pub(crate) fn parse(kind: &str, meta: &ParseNestedMeta) -> syn::Result<Scenario> {
    let allowed = keys(kind);
    let list = allowed
        .iter()
        .map(|(key, _)| *key)
        .collect::<Vec<_>>()
        .join(", ");
    if !meta.input.peek(syn::token::Paren) {
        return Err(meta.error(format!(
            "`{kind}` takes its settings in parentheses: `{kind}({})`",
            allowed
                .iter()
                .map(|(_, example)| *example)
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let mut values: Vec<(&'static str, Expr)> = Vec::new();
    meta.parse_nested_meta(|inner| {
        let name = inner
            .path
            .get_ident()
            .map(|i| i.to_string())
            .unwrap_or_default();
        let Some((key, example)) = allowed.iter().find(|(key, _)| *key == name) else {
            return Err(syn::Error::new_spanned(
                &inner.path,
                format!("`{kind}` has no setting `{name}`; expected one of: {list}"),
            ));
        };
        if values.iter().any(|(seen, _)| seen == key) {
            return Err(syn::Error::new_spanned(
                &inner.path,
                format!("duplicate setting `{name}`"),
            ));
        }
        values.push((key, value(&inner, example)?));
        Ok(())
    })?;
    let get = |key: &str| values.iter().find(|(k, _)| *k == key).map(|(_, e)| e);
    let required = |key: &str| {
        get(key).ok_or_else(|| {
            let example = allowed.iter().find(|(k, _)| *k == key).map(|(_, e)| *e);
            meta.error(format!(
                "`{kind}` needs `{key}`, like `{}`",
                example.unwrap_or(key)
            ))
        })
    };
    let time = |key: &str, default_ns: u64| match get(key) {
        Some(expr) => {
            let ns = duration(expr, key)?;
            if ns == 0 {
                return Err(syn::Error::new_spanned(
                    expr,
                    format!("`{key}` must be longer than zero"),
                ));
            }
            Ok(ns)
        }
        None => Ok(default_ns),
    };
    let count = |key: &str, default: usize| match get(key) {
        Some(expr) => whole(expr, key),
        None => Ok(default),
    };
    let positive = |key: &str| {
        let expr = required(key)?;
        let n = number(expr, key)?;
        if n <= 0.0 {
            return Err(syn::Error::new_spanned(
                expr,
                format!("`{key}` must be greater than zero"),
            ));
        }
        Ok(n)
    };
    const S: u64 = 1_000_000_000;
    match kind {
        "ramp" => {
            let closed = get("concurrency_from").or(get("concurrency_to"));
            let open = get("from").or(get("to"));
            match (open, closed) {
                (Some(_), Some(closed)) => Err(syn::Error::new_spanned(
                    closed,
                    "a ramp is of rates (`from`, `to`: open loop) or of requests in flight \
                     (`concurrency_from`, `concurrency_to`: closed loop), not both",
                )),
                (None, Some(_)) => Ok(Scenario::ConcurrencyRamp {
                    from: whole(required("concurrency_from")?, "concurrency_from")?,
                    to: whole(required("concurrency_to")?, "concurrency_to")?,
                    steps: count("steps", 5)?,
                    step_ns: time("step", 5 * S)?,
                }),
                (_, None) => Ok(Scenario::Ramp {
                    from: positive("from")?,
                    to: positive("to")?,
                    steps: count("steps", 5)?,
                    step_ns: time("step", 5 * S)?,
                }),
            }
        }
        "spike" => {
            let factor = positive("factor")?;
            if factor <= 1.0 {
                return Err(syn::Error::new_spanned(
                    required("factor")?,
                    "a spike's `factor` must be above 1 (the load during the spike, as a \
                     multiple of the baseline)",
                ));
            }
            let recovered_within_pct = match get("recovered_within") {
                Some(expr) => number(expr, "recovered_within")?,
                None => 20.0,
            };
            Ok(Scenario::Spike {
                baseline: positive("baseline")?,
                factor,
                before_ns: time("before", 5 * S)?,
                spike_ns: time("spike", 5 * S)?,
                after_ns: time("after", 10 * S)?,
                recovered_within_pct,
            })
        }
        "soak" => {
            let (rate, concurrency) = match (get("rate"), get("concurrency")) {
                (Some(_), None) => (Some(positive("rate")?), None),
                (None, Some(_)) => (None, Some(count("concurrency", 1)?)),
                (Some(_), Some(both)) => {
                    return Err(syn::Error::new_spanned(
                        both,
                        "a soak runs one load: `rate = ..` (open loop) or `concurrency = ..` \
                         (closed loop), not both",
                    ))
                }
                (None, None) => {
                    return Err(meta.error(
                        "`soak` needs its load: `rate = 100` (open loop) or `concurrency = 8` \
                         (closed loop)",
                    ))
                }
            };
            let duration_ns = time("duration", 600 * S)?;
            let window_ns = time("window", 30 * S)?;
            if window_ns > duration_ns {
                return Err(syn::Error::new_spanned(
                    required("window")?,
                    "a soak's `window` must not be longer than its `duration`",
                ));
            }
            let leak_mib_per_min = match get("leak_mib_per_min") {
                Some(expr) => number(expr, "leak_mib_per_min")?,
                None => 10.0,
            };
            Ok(Scenario::Soak {
                rate,
                concurrency,
                duration_ns,
                window_ns,
                leak_mib_per_min,
            })
        }
        _ => {
            let max_error_rate = match get("max_error_rate") {
                Some(expr) => {
                    let rate = number(expr, "max_error_rate")?;
                    if !(0.0..1.0).contains(&rate) {
                        return Err(syn::Error::new_spanned(
                            expr,
                            "`max_error_rate` is a share of requests, from 0 up to (not \
                             including) 1, like `0.01` for 1 %",
                        ));
                    }
                    rate
                }
                None => 0.01,
            };
            let slo_p99_ns = get("slo_p99")
                .map(|slo| duration(slo, "slo_p99"))
                .transpose()?;
            let min_goodput = match get("min_goodput") {
                Some(expr) => {
                    let share = number(expr, "min_goodput")?;
                    if !(share > 0.0 && share <= 1.0) {
                        return Err(syn::Error::new_spanned(
                            expr,
                            "`min_goodput` is a share of requests above 0 and at most 1, like \
                             `0.95` for 95 %",
                        ));
                    }
                    Some(share)
                }
                None => None,
            };
            if slo_p99_ns.is_none() && min_goodput.is_none() {
                // Without a limit to break, a stress run has nothing to find.
                return Err(meta.error(
                    "`stress` needs a limit to find: `slo_p99 = \"50ms\"`, or for token streams \
                     `min_goodput = 0.95`, or both",
                ));
            }
            Ok(Scenario::Stress {
                start: positive("start")?,
                increment: positive("increment")?,
                step_ns: time("step", 5 * S)?,
                max_steps: count("max_steps", 20)?,
                slo_p99_ns,
                min_goodput,
                max_error_rate,
            })
        }
    }
}

/// A whole number, at least 1.
fn whole(expr: &Expr, key: &str) -> syn::Result<usize> {
    let n = number(expr, key)?;
    if n.fract() != 0.0 || n < 1.0 {
        return Err(syn::Error::new_spanned(
            expr,
            format!("`{key}` must be a whole number, at least 1"),
        ));
    }
    Ok(n as usize)
}

/// An integer or float literal.
fn number(expr: &Expr, key: &str) -> syn::Result<f64> {
    let value = match number_literal(expr) {
        Some(value) => value?,
        None => {
            return Err(syn::Error::new_spanned(
                expr,
                format!("expected a number for `{key}`"),
            ))
        }
    };
    if !value.is_finite() || value < 0.0 {
        return Err(syn::Error::new_spanned(
            expr,
            format!("`{key}` must be a finite number, not negative"),
        ));
    }
    Ok(value)
}
