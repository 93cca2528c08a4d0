//! Human formatting of times, rates and percentages, shared by the terminal and Markdown output.

/// Seconds since the Unix epoch as an RFC 3339 UTC timestamp (`2026-12-01T03:39:44Z`).
pub fn rfc3339_utc(unix_s: u64) -> String {
    format!("{}Z", rfc3339_utc_seconds(unix_s))
}

/// Milliseconds since the Unix epoch as an RFC 3339 UTC timestamp to the millisecond
/// (`2026-12-01T03:39:44.250Z`).
pub fn rfc3339_utc_millis(unix_ms: u64) -> String {
    format!(
        "{}.{:03}Z",
        rfc3339_utc_seconds(unix_ms / 1000),
        unix_ms % 1000
    )
}

/// `YYYY-MM-DDTHH:MM:SS` of `unix_s`, UTC.
fn rfc3339_utc_seconds(unix_s: u64) -> String {
    let days = (unix_s / 86_400) as i64;
    let secs = unix_s % 86_400;
    // Howard Hinnant's days-to-civil: eras of 400 years (146 097 days) starting on March 1st.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        secs / 3_600,
        secs % 3_600 / 60,
        secs % 60
    )
}

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
    fn timestamps_are_rfc3339_in_utc() {
        // Checked with `date -u -d @N`: the epoch, a leap day, the end of a non-leap century's
        // February, and a report's finish time.
        assert_eq!(rfc3339_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339_utc(4_107_542_399), "2100-02-28T23:59:59Z");
        assert_eq!(rfc3339_utc(1_796_096_384), "2026-12-01T03:39:44Z");
    }

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
