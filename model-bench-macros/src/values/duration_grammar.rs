//! The duration grammar of model-bench, shared by both crates: the `#[model_bench]` attribute
//! (`model-bench-macros/src/values/duration_grammar.rs`) checks durations with it at compile time,
//! and the library (`model-bench/src/duration_grammar.rs`) reads `model-bench.toml`, environment
//! variables and thresholds with it. A proc-macro crate cannot export functions to the library, so
//! the file exists twice: the two copies must stay identical, byte for byte, which the root
//! package's test `tests/duration_grammar.rs` (`duration_grammar_copies_are_identical`) checks.
//! Std only, and no `crate::` paths, so that it compiles unchanged in either crate.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DurationError {
    Malformed,
    UnknownUnit,
    Zero,
    SubNanosecond,
    TooLong,
}

impl fmt::Display for DurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DurationError::Malformed => "not a duration",
            DurationError::UnknownUnit => "missing or unknown unit",
            DurationError::Zero => "the duration must be greater than zero",
            DurationError::SubNanosecond => "the duration is not a whole number of nanoseconds",
            DurationError::TooLong => "the duration is too long",
        })
    }
}

/// Parses `<digits>[.<digits>]<unit>` into nanoseconds. Integer arithmetic keeps "0.1s" exact,
/// which a float round trip would not.
pub(crate) fn parse_duration(text: &str) -> Result<u64, DurationError> {
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let is_digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    if !is_digits(whole) || (number.contains('.') && !is_digits(fraction)) {
        return Err(DurationError::Malformed);
    }
    let unit_nanos: u128 = match unit {
        "ns" => 1,
        "us" | "µs" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" | "min" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        _ => return Err(DurationError::UnknownUnit),
    };
    let parse = |digits: &str| digits.parse::<u128>().map_err(|_| DurationError::TooLong);
    let mut nanos = parse(whole)?
        .checked_mul(unit_nanos)
        .ok_or(DurationError::TooLong)?;
    let fraction = fraction.trim_end_matches('0');
    if !fraction.is_empty() {
        let scale = u32::try_from(fraction.len())
            .ok()
            .and_then(|len| 10u128.checked_pow(len))
            .ok_or(DurationError::SubNanosecond)?;
        let scaled = parse(fraction)?
            .checked_mul(unit_nanos)
            .ok_or(DurationError::SubNanosecond)?;
        if scaled % scale != 0 {
            return Err(DurationError::SubNanosecond);
        }
        nanos += scaled / scale;
    }
    if nanos == 0 {
        return Err(DurationError::Zero);
    }
    u64::try_from(nanos).map_err(|_| DurationError::TooLong)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_every_unit() {
        assert_eq!(parse_duration("1ns"), Ok(1));
        assert_eq!(parse_duration("3us"), Ok(3_000));
        assert_eq!(parse_duration("3µs"), Ok(3_000));
        assert_eq!(parse_duration("250ms"), Ok(250_000_000));
        assert_eq!(parse_duration("2s"), Ok(2_000_000_000));
        assert_eq!(parse_duration("10m"), Ok(600_000_000_000));
        assert_eq!(parse_duration("1.5min"), Ok(90_000_000_000));
        assert_eq!(parse_duration("2h"), Ok(7_200_000_000_000));
    }

    #[test]
    fn fractional_durations_are_exact() {
        assert_eq!(parse_duration("1.5s"), Ok(1_500_000_000));
        assert_eq!(parse_duration("0.1s"), Ok(100_000_000));
        assert_eq!(parse_duration("0.000000001s"), Ok(1));
        assert_eq!(parse_duration("2.50ms"), Ok(2_500_000));
        assert_eq!(parse_duration("1.0ns"), Ok(1));
        assert_eq!(parse_duration("0.5us"), Ok(500));
    }

    #[test]
    fn malformed_durations() {
        assert_eq!(parse_duration(""), Err(DurationError::Malformed));
        assert_eq!(parse_duration("s"), Err(DurationError::Malformed));
        assert_eq!(parse_duration(".5s"), Err(DurationError::Malformed));
        assert_eq!(parse_duration("5.s"), Err(DurationError::Malformed));
        assert_eq!(parse_duration("1.2.3s"), Err(DurationError::Malformed));
        assert_eq!(parse_duration("-1s"), Err(DurationError::Malformed));
        assert_eq!(parse_duration(" 1s"), Err(DurationError::Malformed));
        assert_eq!(parse_duration("5"), Err(DurationError::UnknownUnit));
        assert_eq!(parse_duration("5 s"), Err(DurationError::UnknownUnit));
        assert_eq!(parse_duration("5sec"), Err(DurationError::UnknownUnit));
        assert_eq!(parse_duration("5mn"), Err(DurationError::UnknownUnit));
    }

    #[test]
    fn zero_tiny_and_huge_durations() {
        assert_eq!(parse_duration("0s"), Err(DurationError::Zero));
        assert_eq!(parse_duration("0.000ms"), Err(DurationError::Zero));
        assert_eq!(parse_duration("1.5ns"), Err(DurationError::SubNanosecond));
        assert_eq!(
            parse_duration("0.0000000001s"),
            Err(DurationError::SubNanosecond)
        );
        assert_eq!(
            parse_duration("0.1000000000000000000000000000000000000000001s"),
            Err(DurationError::SubNanosecond)
        );
        assert_eq!(parse_duration("18446744073709551615ns"), Ok(u64::MAX));
        assert_eq!(
            parse_duration("18446744073709551616ns"),
            Err(DurationError::TooLong)
        );
        assert_eq!(
            parse_duration("99999999999999999999999999999999999999999s"),
            Err(DurationError::TooLong)
        );
    }
}
