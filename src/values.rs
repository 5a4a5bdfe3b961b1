//! Values at the ground of the pipeline: the calendar (dates as days since 1970-01-01, as
//! Arrow's Date32 holds them) and text → typed values (the CSV scan's conversions and rule
//! bounds written in packs). Timestamps are microseconds (no time zone).

use chrono::{Datelike, NaiveDate, NaiveDateTime};

/// Bytes as lower-case hex (digests in the run history and the kept files' names).
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(2 * bytes.len()), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// Hex text back to bytes; `None` when it is not hex.
pub fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Days from 0001-01-01 (chrono's day 1 of the common era) to 1970-01-01.
const EPOCH_DAYS_FROM_CE: i32 = 719_163;

/// Whether year-month-day is a date of the proleptic Gregorian calendar (as chrono reads it:
/// year 0 is 1 BC, a leap year).
pub fn is_real_date(year: i32, month: u32, day: u32) -> bool {
    let days_in_month = match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        _ => return false,
    };
    (1..=days_in_month).contains(&day)
}

/// Days since 1970-01-01 of a real date ([`is_real_date`], year ≥ 0), by the "days from
/// civil" formula (years start on 1 March, so the leap day ends the year). No calendar
/// library: this runs per value of every audited row.
pub fn days_from_civil(year: i32, month: u32, day: u32) -> i32 {
    let y = if month <= 2 { year - 1 } else { year };
    let (era, year_of_era) = (y.div_euclid(400), y.rem_euclid(400));
    let m = i32::try_from(month).unwrap_or(0);
    let d = i32::try_from(day).unwrap_or(0);
    let day_of_year = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// Days since 1970-01-01 of a date.
pub fn days(date: NaiveDate) -> i32 {
    date.num_days_from_ce() - EPOCH_DAYS_FROM_CE
}

/// The date `d` days after 1970-01-01.
pub fn from_days(d: i32) -> Option<NaiveDate> {
    NaiveDate::from_num_days_from_ce_opt(d.checked_add(EPOCH_DAYS_FROM_CE)?)
}

/// Days since 1970-01-01 of a date written `YYYY-MM-DD` (surrounding spaces ignored), as packs
/// and code lists write their dates.
pub fn iso_day(text: &str) -> Option<i32> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .ok()
        .map(days)
}

/// Parse a date: by the first of `formats` (chrono) that reads it whole when there are
/// formats, else `YYYY-MM-DD`, `YYYYMMDD` or `YYYY/MM/DD` (month and day of two digits each).
pub fn parse_date(s: &str, formats: &[String]) -> Option<i32> {
    let date = if formats.is_empty() {
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
        return is_real_date(year, month, day).then(|| days_from_civil(year, month, day));
    } else {
        formats
            .iter()
            .find_map(|f| NaiveDate::parse_from_str(s, f).ok())?
    };
    Some(days(date))
}

fn digits(b: &[u8]) -> Option<u32> {
    b.iter().try_fold(0u32, |acc, c| {
        c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
    })
}

/// Parse a timestamp: by the first of `formats` that reads it when there are formats, else
/// `YYYY-MM-DD HH:MM:SS[.fff]` (or `T` between, or `/` in the date), or a bare date
/// (midnight).
pub fn parse_timestamp(s: &str, formats: &[String]) -> Option<i64> {
    let dt = match formats {
        [_, ..] => formats
            .iter()
            .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())?,
        [] => [
            "%Y-%m-%d %H:%M:%S%.f",
            "%Y-%m-%dT%H:%M:%S%.f",
            "%Y/%m/%d %H:%M:%S%.f",
        ]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
        .or_else(|| from_days(parse_date(s, &[])?)?.and_hms_opt(0, 0, 0))?,
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

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn civil_days_agree_with_chrono() {
        let epoch = d(1970, 1, 1);
        for (y, m, day) in [
            (0, 1, 1),
            (0, 2, 29),
            (1, 1, 1),
            (1880, 1, 1),
            (1900, 2, 28),
            (1900, 3, 1),
            (2000, 2, 29),
            (2024, 12, 31),
            (9999, 12, 31),
        ] {
            assert!(is_real_date(y, m, day));
            let want = i32::try_from((d(y, m, day) - epoch).num_days()).unwrap();
            assert_eq!(days_from_civil(y, m, day), want, "{y}-{m}-{day}");
        }
        let mut date = d(1800, 1, 1);
        while date < d(2101, 1, 1) {
            let want = i32::try_from((date - epoch).num_days()).unwrap();
            assert_eq!(days_from_civil(date.year(), date.month(), date.day()), want);
            date = date.succ_opt().unwrap();
        }
        for (y, m, day) in [
            (1900, 2, 29),
            (2023, 2, 29),
            (2024, 4, 31),
            (2024, 13, 1),
            (2024, 0, 1),
            (2024, 1, 0),
            (1, 2, 29),
        ] {
            assert!(!is_real_date(y, m, day), "{y}-{m}-{day}");
        }
    }

    #[test]
    fn dates_in_the_usual_forms() {
        assert_eq!(parse_date("1970-01-01", &[]), Some(0));
        assert_eq!(parse_date("19700102", &[]), Some(1));
        assert_eq!(parse_date("1970/01/03", &[]), Some(2));
        assert_eq!(parse_date("1990-02-30", &[]), None);
        assert_eq!(parse_date("1990-2-3", &[]), None);
        assert_eq!(
            parse_date("2021.03.04", &["%Y.%m.%d".to_string()]),
            parse_date("2021-03-04", &[])
        );
    }

    #[test]
    fn timestamps() {
        assert_eq!(parse_timestamp("1970-01-01 00:00:01", &[]), Some(1_000_000));
        assert_eq!(parse_timestamp("1970-01-02", &[]), Some(86_400_000_000));
        assert_eq!(parse_timestamp("yesterday", &[]), None);
    }
}
