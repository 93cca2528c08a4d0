//! The value parsers that every option file shares: an option's `= value`, literals seen through
//! `macro_rules!` groups, numbers and durations. It imports no other macro file, so options.rs and
//! scenario.rs can both use it without importing each other.

use quote::ToTokens;
use std::fmt;
use syn::meta::ParseNestedMeta;
use syn::parse::ParseStream;

use syn::{Expr, ExprLit, Lit, Token};

const DURATION_FORMAT: &str = "a positive number followed by a unit (ns, us, ms, s, m or h), \
                               like \"500ms\", \"1.5s\" or \"10m\"";

/// The option as written, for messages: `warm_up_time`, or `a::b` for a stray path.
pub(crate) fn option_name(meta: &ParseNestedMeta) -> String {
    meta.path.to_token_stream().to_string().replace(' ', "")
}

/// The expression after `option =`; `example` shows the expected form when the `=` is missing.
pub(crate) fn value(meta: &ParseNestedMeta, example: &str) -> syn::Result<Expr> {
    if !meta.input.peek(Token![=]) {
        let option = option_name(meta);
        return Err(meta.error(format!("`{option}` needs a value, like `{example}`")));
    }
    let input: ParseStream = meta.value()?;
    input.parse()
}

/// Values passed through a `macro_rules!` fragment arrive wrapped in an invisible group.
pub(crate) fn ungroup(expr: &Expr) -> &Expr {
    match expr {
        Expr::Group(group) => ungroup(&group.expr),
        _ => expr,
    }
}

/// The value of an integer or float literal; `None` for anything else.
pub(crate) fn number_literal(expr: &Expr) -> Option<syn::Result<f64>> {
    match ungroup(expr) {
        Expr::Lit(ExprLit {
            lit: Lit::Int(lit), ..
        }) => Some(lit.base10_parse::<f64>()),
        Expr::Lit(ExprLit {
            lit: Lit::Float(lit),
            ..
        }) => Some(lit.base10_parse::<f64>()),
        _ => None,
    }
}

/// A duration string such as `"500ms"`, in nanoseconds.
pub(crate) fn duration(expr: &Expr, option: &str) -> syn::Result<u64> {
    match ungroup(expr) {
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) => parse_duration(&lit.value()).map_err(|error| {
            syn::Error::new_spanned(
                lit,
                format!("invalid `{option}`: {error}; expected {DURATION_FORMAT}"),
            )
        }),
        Expr::Lit(ExprLit {
            lit: Lit::Int(lit), ..
        }) => Err(syn::Error::new_spanned(
            lit,
            format!(
                "`{option}` needs a unit: write it as a string, like `{option} = \"{}s\"`",
                lit.base10_digits()
            ),
        )),
        other => Err(syn::Error::new_spanned(
            other,
            format!("expected a duration string for `{option}`: {DURATION_FORMAT}"),
        )),
    }
}

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
