//! Human formatting of times, rates and percentages, shared by the terminal and Markdown output.

/// A duration in nanoseconds with a unit that keeps 3–4 significant digits (`812.4 µs`, `31.20 ms`).
pub fn duration_ns(ns: f64) -> String {
    let (value, unit) = match ns.abs() {
        x if x < 1e3 => (ns, "ns"),
        x if x < 1e6 => (ns / 1e3, "µs"),
        x if x < 1e9 => (ns / 1e6, "ms"),
        _ => (ns / 1e9, "s"),
    };
    let precision = match value.abs() {
        x if x >= 100.0 => 1,
        x if x >= 10.0 => 2,
        _ => 3,
    };
    format!("{value:.precision$} {unit}")
}

/// A rate scaled to a metric prefix: `(72.36, "K")` for 72 360.
fn scaled(per_sec: f64) -> (f64, &'static str) {
    match per_sec {
        x if x >= 1e9 => (x / 1e9, "G"),
        x if x >= 1e6 => (x / 1e6, "M"),
        x if x >= 1e3 => (x / 1e3, "K"),
        x => (x, ""),
    }
}

/// A rate per second with a metric prefix (`1.23 K/s`, `45.60/s`).
pub fn rate(per_sec: f64) -> String {
    match scaled(per_sec) {
        (value, "") => format!("{value:.2}/s"),
        (value, prefix) => format!("{value:.2} {prefix}/s"),
    }
}

/// A rate of `what` per second (`21.85 items/s`, `72.36 K items/s`).
pub fn rate_of(per_sec: f64, what: &str) -> String {
    match scaled(per_sec) {
        (value, "") => format!("{value:.2} {what}/s"),
        (value, prefix) => format!("{value:.2} {prefix} {what}/s"),
    }
}

pub fn percent(pct: f64) -> String {
    format!("{pct:.1} %")
}

pub fn signed_percent(pct: f64) -> String {
    format!("{pct:+.1} %")
}

pub fn mebibytes(bytes: u64) -> String {
    format!("{:.0} MiB", bytes as f64 / f64::from(1u32 << 20))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_pick_a_unit() {
        assert_eq!(duration_ns(812.0), "812.0 ns");
        assert_eq!(duration_ns(31_200_000.0), "31.20 ms");
        assert_eq!(duration_ns(1_500.0), "1.500 µs");
        assert_eq!(duration_ns(2.5e9), "2.500 s");
    }

    #[test]
    fn rates_pick_a_unit() {
        assert_eq!(rate(1234.0), "1.23 K/s");
        assert_eq!(rate(45.6), "45.60/s");
        assert_eq!(rate_of(21.85, "items"), "21.85 items/s");
        assert_eq!(rate_of(72_360.0, "items"), "72.36 K items/s");
    }
}
