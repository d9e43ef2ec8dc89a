//! The `YYYYMMDDHHMMSS` times of DNSSEC (key file timing fields, RRSIG inception and
//! expiration in presentation form), as seconds since the Unix epoch, UTC.

/// Seconds since the epoch of a `YYYYMMDDHHMMSS` time, `None` when malformed.
pub fn parse_timestamp(text: &str) -> Option<u64> {
    let text = text.trim();
    if text.len() != 14 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let field = |range: std::ops::Range<usize>| text[range].parse::<u64>().ok();
    let (year, month, day) = (field(0..4)?, field(4..6)?, field(6..8)?);
    let (hour, minute, second) = (field(8..10)?, field(10..12)?, field(12..14)?);
    if !(1970..=9999).contains(&year)
        || !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some(days * 86_400 + hour * 3600 + minute * 60 + second)
}

/// The `YYYYMMDDHHMMSS` form of `seconds` since the epoch.
pub fn format_timestamp(seconds: u64) -> String {
    let (year, month, day) = civil_from_days(seconds / 86_400);
    let rest = seconds % 86_400;
    format!(
        "{year:04}{month:02}{day:02}{:02}{:02}{:02}",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

fn is_leap(year: u64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: u64, month: u64) -> u64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a date from 1970 on.
fn days_from_civil(year: u64, month: u64, day: u64) -> u64 {
    let years = (1970..year).map(|y| if is_leap(y) { 366 } else { 365 });
    let months = (1..month).map(|m| days_in_month(year, m));
    years.sum::<u64>() + months.sum::<u64>() + day - 1
}

/// The date of `days` since 1970-01-01.
fn civil_from_days(mut days: u64) -> (u64, u64, u64) {
    let mut year = 1970;
    loop {
        let length = if is_leap(year) { 366 } else { 365 };
        if days < length {
            break;
        }
        days -= length;
        year += 1;
    }
    let mut month = 1;
    while days >= days_in_month(year, month) {
        days -= days_in_month(year, month);
        month += 1;
    }
    (year, month, days + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants() {
        assert_eq!(parse_timestamp("19700101000000"), Some(0));
        // `date -u -d 2026-12-02T01:02:03 +%s`
        assert_eq!(parse_timestamp("20261202010203"), Some(1_796_173_323));
        assert_eq!(parse_timestamp("20000229235959"), Some(951_868_799));
        assert_eq!(format_timestamp(1_796_173_323), "20261202010203");
        assert_eq!(format_timestamp(951_868_799), "20000229235959");
    }

    #[test]
    fn malformed_times_are_refused() {
        for bad in [
            "2026120201020",
            "202612020102030",
            "20261302010203",
            "20260230010203",
            "20261202240000",
            "2026120201020x",
            "19691231235959",
        ] {
            assert_eq!(parse_timestamp(bad), None, "{bad}");
        }
    }

    #[test]
    fn round_trips() {
        for seconds in [0, 59, 86_399, 86_400, 1_700_000_000, 4_102_444_800] {
            assert_eq!(parse_timestamp(&format_timestamp(seconds)), Some(seconds));
        }
    }
}
