//! Durations as written in the configuration: `"10s"`, `"500ms"`, `"1m30s"`, `"2h"`, `"14d"`.

use std::time::Duration;

/// Parses a duration written as one or more `<integer><unit>` parts, unit one of `ms`, `s`,
/// `m`, `h`, `d` (`"1m30s"`, `"14d"`). Returns a message fit for a diagnostic on failure.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let invalid = || {
        format!("invalid duration {text:?}: write an integer and a unit (ms, s, m, h, d), e.g. \"10s\" or \"500ms\"")
    };
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total = Duration::ZERO;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(invalid());
        }
        let value: u64 = rest[..digits].parse().map_err(|_| invalid())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let part = match &rest[..unit_len] {
            "ms" => Duration::from_millis(value),
            "s" => Duration::from_secs(value),
            "m" => Duration::from_secs(value.saturating_mul(60)),
            "h" => Duration::from_secs(value.saturating_mul(3600)),
            "d" => Duration::from_secs(value.saturating_mul(86_400)),
            _ => return Err(invalid()),
        };
        rest = &rest[unit_len..];
        total = total.checked_add(part).ok_or_else(invalid)?;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_single_units() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("14d"), Ok(Duration::from_secs(14 * 86_400)));
    }

    #[test]
    fn parses_compound_durations() {
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1s250ms"), Ok(Duration::from_millis(1250)));
    }

    #[test]
    fn refuses_malformed_durations() {
        for bad in ["", "10", "s", "10 s", "1.5s", "10sec", "-1s", "ms10", "1w"] {
            assert!(parse_duration(bad).is_err(), "{bad:?} should be refused");
        }
    }
}
