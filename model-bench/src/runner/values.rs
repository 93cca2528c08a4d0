//! How a setting's text becomes a value that more than one settings file reads: a duration (the
//! attribute's own grammar, `crate::duration_grammar`) and which points a setting keyed by a bench
//! id covers. `config.rs` and `thresholds.rs` both use it, and it uses neither.

use std::time::Duration;

use crate::error::{Error, Result};

/// Parses `"250ms"`, `"1.5s"`, `"2m"`, `"1h"`, `"800us"`, `"100ns"` with the attribute's own
/// duration grammar (`crate::duration_grammar`); the value must be positive and is exact.
pub fn parse_duration(text: &str, origin: &str) -> Result<Duration> {
    let text = text.trim();
    crate::duration_grammar::parse_duration(text)
        .map(Duration::from_nanos)
        .map_err(|error| Error::Config {
            origin: origin.to_string(),
            message: format!(
                "expected a positive duration such as \"500ms\", \"2s\" or \"2m\" \
                 (units ns, us, ms, s, m, h), got `{text}`: {error}"
            ),
        })
}

/// Whether a setting keyed `key` applies to the point `id`: the id itself, or an id under it
/// (`serving/rest` covers `serving/rest/c4`, not `serving/rest_binary/c4`).
pub fn covers(key: &str, id: &str) -> bool {
    id == key
        || id
            .strip_prefix(key)
            .is_some_and(|rest| rest.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(
            parse_duration("250ms", "t").unwrap(),
            Duration::from_millis(250)
        );
        assert_eq!(
            parse_duration("1.5s", "t").unwrap(),
            Duration::from_millis(1500)
        );
        assert_eq!(
            parse_duration("800us", "t").unwrap(),
            Duration::from_micros(800)
        );
        assert_eq!(
            parse_duration("0.1s", "t").unwrap(),
            Duration::from_millis(100)
        );
        assert_eq!(
            parse_duration(" 2m ", "t").unwrap(),
            Duration::from_secs(120)
        );
        assert_eq!(
            parse_duration("1h", "t").unwrap(),
            Duration::from_secs(3600)
        );
        for bad in [
            "", "5", "10", "0s", "-1s", "fast", "ms", "1..2s", "0.5ns", "5 s",
        ] {
            let error = parse_duration(bad, "origin").unwrap_err().to_string();
            assert!(
                error.contains("origin") && error.contains("500ms") && error.contains("2m"),
                "{bad}: {error}"
            );
        }
    }

    #[test]
    fn a_key_covers_itself_and_the_ids_under_it() {
        assert!(covers("serving/rest", "serving/rest"));
        assert!(covers("serving/rest", "serving/rest/c4"));
        assert!(!covers("serving/rest", "serving/rest_binary/c4"));
    }
}
