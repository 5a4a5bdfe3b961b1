//! Text → typed values: the CSV scan's conversions and rule bounds written in packs.
//! Dates are days since 1970-01-01 (Arrow Date32); timestamps microseconds (no time zone).

use chrono::{NaiveDate, NaiveDateTime};

const EPOCH_DAYS_FROM_CE: i32 = 719_163;

/// Parse a date: `format` (chrono) if given, else `YYYY-MM-DD`, `YYYYMMDD` or `YYYY/MM/DD`.
pub fn parse_date(s: &str, format: Option<&str>) -> Option<i32> {
    let date = if let Some(f) = format {
        NaiveDate::parse_from_str(s, f).ok()?
    } else {
        let text = s.as_bytes();
        let (year, month, day) = match text.len() {
            8 => (
                digits(&text[0..4])?,
                digits(&text[4..6])?,
                digits(&text[6..8])?,
            ),
            10 if (text[4] == b'-' && text[7] == b'-') || (text[4] == b'/' && text[7] == b'/') => (
                digits(&text[0..4])?,
                digits(&text[5..7])?,
                digits(&text[8..10])?,
            ),
            _ => return None,
        };
        let year = i32::try_from(year).ok()?;
        return crate::checks::dates::is_real_date(year, month, day)
            .then(|| crate::checks::dates::days_from_civil(year, month, day));
    };
    Some(date_to_days(date))
}

fn date_to_days(date: NaiveDate) -> i32 {
    use chrono::Datelike;
    date.num_days_from_ce() - EPOCH_DAYS_FROM_CE
}

fn digits(b: &[u8]) -> Option<u32> {
    b.iter().try_fold(0u32, |acc, c| {
        c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
    })
}

/// Parse a timestamp: `format` if given, else `YYYY-MM-DD HH:MM:SS[.fff]` (or `T` between),
/// or a bare date (midnight).
pub fn parse_timestamp(s: &str, format: Option<&str>) -> Option<i64> {
    let dt = match format {
        Some(f) => NaiveDateTime::parse_from_str(s, f).ok()?,
        None => [
            "%Y-%m-%d %H:%M:%S%.f",
            "%Y-%m-%dT%H:%M:%S%.f",
            "%Y/%m/%d %H:%M:%S%.f",
        ]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
        .or_else(|| {
            let days = parse_date(s, None)?;
            NaiveDate::from_num_days_from_ce_opt(days + EPOCH_DAYS_FROM_CE)?.and_hms_opt(0, 0, 0)
        })?,
    };
    Some(dt.and_utc().timestamp_micros())
}

/// Booleans as real data writes them.
pub fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "true" | "TRUE" | "True" | "1" | "t" | "T" | "Y" | "y" | "是" => Some(true),
        "false" | "FALSE" | "False" | "0" | "f" | "F" | "N" | "n" | "否" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_the_usual_forms() {
        assert_eq!(parse_date("1970-01-01", None), Some(0));
        assert_eq!(parse_date("19700102", None), Some(1));
        assert_eq!(parse_date("1970/01/03", None), Some(2));
        assert_eq!(parse_date("1990-02-30", None), None);
        assert_eq!(parse_date("1990-2-3", None), None);
        assert_eq!(
            parse_date("2021.03.04", Some("%Y.%m.%d")),
            parse_date("2021-03-04", None)
        );
    }

    #[test]
    fn timestamps() {
        assert_eq!(
            parse_timestamp("1970-01-01 00:00:01", None),
            Some(1_000_000)
        );
        assert_eq!(parse_timestamp("1970-01-02", None), Some(86_400_000_000));
        assert_eq!(parse_timestamp("yesterday", None), None);
    }
}
