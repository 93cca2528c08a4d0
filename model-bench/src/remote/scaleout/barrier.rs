//! The workers' shared start: a wall-clock instant (`MODEL_BENCH_START_AT`, RFC 3339) every
//! worker waits for after its health checks and before its first load, so their schedules line
//! up; a worker that gets there later than the stated limit (`MODEL_BENCH_START_LATE_LIMIT`,
//! default 1 s) fails instead of skewing the run. Wall clocks of the machines are trusted to
//! agree (NTP, as Kubernetes nodes keep them) to well within that limit.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use thiserror::Error;

use crate::duration_grammar::parse_duration;

/// The shared start instant, RFC 3339 (`2026-12-05T19:30:00Z`, `…+01:00`, fractions allowed).
pub const START_AT_VAR: &str = "MODEL_BENCH_START_AT";
/// How late a worker may reach the start and still run (a duration: `500ms`, `2s`).
pub const LATE_LIMIT_VAR: &str = "MODEL_BENCH_START_LATE_LIMIT";
/// The late limit when none is given.
pub const DEFAULT_LATE_LIMIT: Duration = Duration::from_secs(1);

/// When the workers start, and how late one may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StartBarrier {
    /// The shared instant.
    pub at: SystemTime,
    /// A worker reaching `at` later than this fails.
    pub late_limit: Duration,
}

/// A start that cannot be kept.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum BarrierError {
    /// The start instant does not parse.
    #[error("{START_AT_VAR}=`{value}`: {message} (RFC 3339, e.g. 2026-12-05T19:30:00Z)")]
    BadInstant {
        /// The variable's value.
        value: String,
        /// What is wrong with it.
        message: String,
    },
    /// The late limit does not parse.
    #[error("{LATE_LIMIT_VAR}=`{value}`: {message}")]
    BadLimit {
        /// The variable's value.
        value: String,
        /// What is wrong with it.
        message: String,
    },
    /// This worker got to the start too late.
    #[error("this worker reached the shared start {START_AT_VAR} {late:?} late, past the limit of {limit:?}: it does not run, so the others' figures are not skewed (start the workers earlier or raise {LATE_LIMIT_VAR})")]
    Late {
        /// How late.
        late: Duration,
        /// The limit.
        limit: Duration,
    },
}

impl StartBarrier {
    /// The barrier `env` describes; `None` when no start instant is set.
    pub fn from_env(env: impl Fn(&str) -> Option<String>) -> Result<Option<Self>, BarrierError> {
        let Some(value) = env(START_AT_VAR) else {
            return Ok(None);
        };
        let at = parse_rfc3339(value.trim()).map_err(|message| BarrierError::BadInstant {
            value: value.clone(),
            message,
        })?;
        let late_limit = match env(LATE_LIMIT_VAR) {
            Some(limit) => parse_duration(limit.trim())
                .map(Duration::from_nanos)
                .map_err(|error| BarrierError::BadLimit {
                    value: limit.clone(),
                    message: error.to_string(),
                })?,
            None => DEFAULT_LATE_LIMIT,
        };
        Ok(Some(StartBarrier { at, late_limit }))
    }

    /// Sleeps until the start; returns how late this worker woke (its lag), or an error when
    /// that is past the limit (also when the start had already passed before the call).
    pub fn wait(&self) -> Result<Duration, BarrierError> {
        let late = sleep_until(self.at);
        if late > self.late_limit {
            return Err(BarrierError::Late {
                late,
                limit: self.late_limit,
            });
        }
        Ok(late)
    }
}

/// Sleeps until the wall-clock instant `at` (at once when it has passed); how late the caller
/// woke. The shared start's wait, and each later point's planned start (`runner/worker.rs`).
pub fn sleep_until(at: SystemTime) -> Duration {
    if let Ok(left) = at.duration_since(SystemTime::now()) {
        std::thread::sleep(left);
    }
    SystemTime::now()
        .duration_since(at)
        .unwrap_or(Duration::ZERO)
}

/// An RFC 3339 date-time (`YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`) as a [`SystemTime`].
pub fn parse_rfc3339(text: &str) -> Result<SystemTime, String> {
    let bytes = text.as_bytes();
    let digits = |from: usize, len: usize| -> Result<i64, String> {
        let part = text
            .get(from..from + len)
            .filter(|part| part.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| format!("expected {len} digits at position {}", from + 1))?;
        part.parse::<i64>().map_err(|e| e.to_string())
    };
    let expect = |at: usize, wanted: &[u8]| -> Result<(), String> {
        match bytes.get(at) {
            Some(b) if wanted.contains(b) => Ok(()),
            _ => Err(format!(
                "expected `{}` at position {}",
                String::from_utf8_lossy(&wanted[..1]),
                at + 1
            )),
        }
    };
    let (year, month, day) = (digits(0, 4)?, digits(5, 2)?, digits(8, 2)?);
    expect(4, b"-")?;
    expect(7, b"-")?;
    expect(10, b"Tt ")?;
    let (hour, minute, second) = (digits(11, 2)?, digits(14, 2)?, digits(17, 2)?);
    expect(13, b":")?;
    expect(16, b":")?;
    let days_in_month = [
        31,
        28 + i64::from(is_leap(year)),
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month[(month - 1) as usize] {
        return Err("no such date".into());
    }
    if hour > 23 || minute > 59 || second > 60 {
        return Err("no such time of day".into());
    }
    let mut at = 19;
    let mut nanos = 0u32;
    if bytes.get(at) == Some(&b'.') {
        let fraction: String = text[at + 1..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        if fraction.is_empty() || fraction.len() > 9 {
            return Err("a fraction of a second needs 1 to 9 digits".into());
        }
        nanos = format!("{fraction:0<9}").parse().map_err(|_| "fraction")?;
        at += 1 + fraction.len();
    }
    let offset_s = match bytes.get(at) {
        Some(b'Z' | b'z') if at + 1 == bytes.len() => 0,
        Some(sign @ (b'+' | b'-')) if at + 6 == bytes.len() => {
            expect(at + 3, b":")?;
            let (h, m) = (digits(at + 1, 2)?, digits(at + 4, 2)?);
            if h > 23 || m > 59 {
                return Err("no such offset".into());
            }
            let offset = h * 3600 + m * 60;
            if *sign == b'+' {
                offset
            } else {
                -offset
            }
        }
        _ => return Err("expected `Z` or an offset such as `+01:00` at the end".into()),
    };
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second.min(59) - offset_s;
    let seconds = u64::try_from(seconds).map_err(|_| "before 1970".to_owned())?;
    Ok(UNIX_EPOCH + Duration::new(seconds, nanos))
}

/// `time` as RFC 3339 in UTC, to the millisecond (`2026-12-05T19:30:00.250Z`): what
/// [`START_AT_VAR`] takes.
pub fn format_rfc3339(time: SystemTime) -> String {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    crate::export::format::rfc3339_utc_millis(since.as_millis() as u64)
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// Days from 1970-01-01 to the given proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unix(text: &str) -> Duration {
        parse_rfc3339(text)
            .unwrap_or_else(|e| panic!("{text}: {e}"))
            .duration_since(UNIX_EPOCH)
            .expect("after 1970")
    }

    #[test]
    fn rfc3339_instants_parse_to_their_unix_time() {
        assert_eq!(unix("1970-01-01T00:00:00Z"), Duration::ZERO);
        // `date -d 2026-12-05T19:30:00Z +%s`
        assert_eq!(
            unix("2026-12-05T19:30:00Z"),
            Duration::from_secs(1_796_499_000)
        );
        assert_eq!(
            unix("2026-12-05T20:30:00+01:00"),
            Duration::from_secs(1_796_499_000)
        );
        assert_eq!(
            unix("2026-12-05T17:00:00-02:30"),
            Duration::from_secs(1_796_499_000)
        );
        assert_eq!(
            unix("2024-02-29T00:00:00.25Z"),
            Duration::new(1_709_164_800, 250_000_000)
        );
        for text in [
            "2026-12-05T19:30:00.250Z",
            "2024-02-29T23:59:59.000Z",
            "1970-01-01T00:00:00.000Z",
        ] {
            let time = parse_rfc3339(text).expect("parses");
            assert_eq!(format_rfc3339(time), text, "round trip");
        }
        for bad in [
            "2026-12-05",
            "2026-12-05T19:30:00",
            "2026-13-05T19:30:00Z",
            "2025-02-29T00:00:00Z",
            "2026-12-05T24:00:00Z",
            "2026-12-05T19:30:00.Z",
            "2026-12-05T19:30:00+0100",
            "1969-12-31T23:59:59Z",
        ] {
            assert!(parse_rfc3339(bad).is_err(), "{bad} should not parse");
        }
    }

    #[test]
    fn a_barrier_in_the_past_beyond_the_limit_refuses_and_a_near_one_waits() {
        let env = |pairs: Vec<(&'static str, String)>| {
            move |var: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == var)
                    .map(|(_, v)| v.clone())
            }
        };
        assert_eq!(StartBarrier::from_env(env(vec![])), Ok(None));
        let error = StartBarrier::from_env(env(vec![(START_AT_VAR, "soon".into())]))
            .expect_err("not an instant");
        assert!(error.to_string().contains("RFC 3339"), "{error}");
        let error = StartBarrier::from_env(env(vec![
            (START_AT_VAR, "2026-12-05T19:30:00Z".into()),
            (LATE_LIMIT_VAR, "later".into()),
        ]))
        .expect_err("not a duration");
        assert!(error.to_string().starts_with(LATE_LIMIT_VAR), "{error}");

        let past = StartBarrier {
            at: SystemTime::now() - Duration::from_secs(5),
            late_limit: Duration::from_secs(1),
        };
        let error = past.wait().expect_err("five seconds late");
        assert!(matches!(error, BarrierError::Late { late, .. } if late >= Duration::from_secs(5)));

        let soon = StartBarrier {
            at: SystemTime::now() + Duration::from_millis(50),
            late_limit: Duration::from_secs(60),
        };
        soon.wait().expect("within the limit");
        assert!(SystemTime::now() >= soon.at, "it slept until the start");
    }
}
