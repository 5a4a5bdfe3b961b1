//! Dates: age in full years (周岁) at an event.

use std::sync::Arc;

use arrow::array::{Array, AsArray, Int64Array};
use arrow::datatypes::{DataType, Date32Type};
use chrono::{Datelike, NaiveDate};
use datafusion::common::{ScalarValue, exec_err};
use datafusion::error::Result;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

/// Full years from `birth` to `on`: the age is reached on the birthday itself; a 29 February
/// birthday is reached on 1 March in common years. Negative when `on` is before `birth`.
pub fn age_years(birth: NaiveDate, on: NaiveDate) -> i64 {
    let mut years = i64::from(on.year() - birth.year());
    if (on.month(), on.day()) < (birth.month(), birth.day()) {
        years -= 1;
    }
    years
}

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

/// Days since 1970-01-01 (Arrow Date32) of a real date ([`is_real_date`], year ≥ 0), by the "days from
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

/// Days since 1970-01-01 → date.
pub fn from_days(d: i32) -> Option<NaiveDate> {
    NaiveDate::from_num_days_from_ce_opt(d.checked_add(719_163)?)
}

/// `qc_age_years(birth DATE, on DATE) -> BIGINT`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct AgeYears {
    signature: Signature,
}

impl Default for AgeYears {
    fn default() -> Self {
        AgeYears {
            signature: Signature::exact(
                vec![DataType::Date32, DataType::Date32],
                Volatility::Immutable,
            ),
        }
    }
}

impl ScalarUDFImpl for AgeYears {
    fn name(&self) -> &'static str {
        "qc_age_years"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int64)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let [birth, on] = arrays.as_slice() else {
            return exec_err!("qc_age_years takes (birth, on)");
        };
        let (birth, on) = (
            birth.as_primitive::<Date32Type>(),
            on.as_primitive::<Date32Type>(),
        );
        let out: Int64Array = (0..args.number_rows)
            .map(|i| {
                if birth.is_null(i) || on.is_null(i) {
                    return None;
                }
                Some(age_years(
                    from_days(birth.value(i))?,
                    from_days(on.value(i))?,
                ))
            })
            .collect();
        Ok(
            if args
                .args
                .iter()
                .all(|a| matches!(a, ColumnarValue::Scalar(_)))
            {
                ColumnarValue::Scalar(ScalarValue::try_from_array(&out, 0)?)
            } else {
                ColumnarValue::Array(Arc::new(out))
            },
        )
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
    fn full_years() {
        assert_eq!(
            age_years(d(2000, 5, 10), d(2022, 5, 10)),
            22,
            "the birthday itself"
        );
        assert_eq!(age_years(d(2000, 5, 10), d(2022, 5, 9)), 21);
        assert_eq!(
            age_years(d(2000, 2, 29), d(2022, 2, 28)),
            21,
            "29 Feb: reached on 1 March"
        );
        assert_eq!(age_years(d(2000, 2, 29), d(2022, 3, 1)), 22);
        assert_eq!(age_years(d(2000, 2, 29), d(2024, 2, 29)), 24);
        assert_eq!(age_years(d(2000, 1, 1), d(1999, 12, 31)), -1);
    }
}
