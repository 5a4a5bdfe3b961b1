//! Dates: age in full years (周岁) at an event.

use std::sync::Arc;

use arrow::array::{Array, AsArray, Int64Array};
use arrow::datatypes::{DataType, Date32Type};
use chrono::{Datelike, NaiveDate};

use crate::values::from_days;
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
