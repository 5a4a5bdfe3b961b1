//! Dates: age in full years (周岁) at an event, and the run date (`--as-of`) in rule SQL.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Int64Array};
use arrow::datatypes::{DataType, Date32Type};
use chrono::{Datelike, NaiveDate};

use crate::values::from_days;
use datafusion::common::{ScalarValue, exec_err};
use datafusion::error::Result;
use datafusion::logical_expr::simplify::{ExprSimplifyResult, SimplifyContext};
use datafusion::logical_expr::{
    ColumnarValue, Expr, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility, lit,
};

/// True where the date `day` falls in `from ..= to` (days since 1970-01-01; `None`: open);
/// `None` when both ends are open.
pub fn in_period(day: &Expr, from: Option<i32>, to: Option<i32>) -> Option<Expr> {
    let date = |d: i32| lit(ScalarValue::Date32(Some(d)));
    let bounds = [
        from.map(|f| day.clone().gt_eq(date(f))),
        to.map(|t| day.clone().lt_eq(date(t))),
    ];
    bounds.into_iter().flatten().reduce(Expr::and)
}

/// Full years (周岁) from `birth` to `on`. The age is reached on the birthday itself (a
/// registry registers a marriage on the day the party comes of age); a 29 February birthday
/// is reached on 28 February in common years: Civil Code art. 202 ends a period counted in
/// years on the month's last day when the month has no corresponding day. SQL's
/// `birth + INTERVAL 'n' YEAR <= on` agrees (arrow clamps to the month's last day), so
/// either form may be used in rules. Negative when `on` is before `birth`.
pub fn age_years(birth: NaiveDate, on: NaiveDate) -> i64 {
    let mut years = i64::from(on.year() - birth.year());
    let birthday = match (birth.month(), birth.day()) {
        (2, 29) if !on.leap_year() => (2, 28),
        day => day,
    };
    if (on.month(), on.day()) < birthday {
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
        columnar(&args, Arc::new(out))
    }
}

/// A date function's result `out`: a scalar when every argument was one, else the array.
pub(crate) fn columnar(args: &ScalarFunctionArgs, out: ArrayRef) -> Result<ColumnarValue> {
    Ok(
        if args
            .args
            .iter()
            .all(|a| matches!(a, ColumnarValue::Scalar(_)))
        {
            ColumnarValue::Scalar(ScalarValue::try_from_array(&out, 0)?)
        } else {
            ColumnarValue::Array(out)
        },
    )
}

/// `current_date()` (also `today()` and `qc_as_of()`) in rule SQL: the run date
/// (`--as-of`, today by default), not the wall clock, so re-auditing last month's snapshot
/// judges "not in the future" against last month. Registered per run over DataFusion's own
/// `current_date`; planning replaces every call by the date itself.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct RunDate {
    /// Days since 1970-01-01.
    day: i32,
    signature: Signature,
    aliases: Vec<String>,
}

impl RunDate {
    pub fn new(day: i32) -> RunDate {
        RunDate {
            day,
            signature: Signature::nullary(Volatility::Immutable),
            aliases: vec!["today".to_string(), "qc_as_of".to_string()],
        }
    }

    fn value(&self) -> ScalarValue {
        ScalarValue::Date32(Some(self.day))
    }
}

impl ScalarUDFImpl for RunDate {
    fn name(&self) -> &'static str {
        "current_date"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn aliases(&self) -> &[String] {
        &self.aliases
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Date32)
    }

    fn simplify(&self, _args: Vec<Expr>, _info: &SimplifyContext) -> Result<ExprSimplifyResult> {
        Ok(ExprSimplifyResult::Simplified(lit(self.value())))
    }

    fn invoke_with_args(&self, _args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        Ok(ColumnarValue::Scalar(self.value()))
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
            22,
            "29 Feb: reached on 28 February in common years (Civil Code art. 202)"
        );
        assert_eq!(age_years(d(2000, 2, 29), d(2022, 2, 27)), 21);
        assert_eq!(age_years(d(2000, 2, 29), d(2022, 3, 1)), 22);
        assert_eq!(
            age_years(d(2000, 2, 29), d(2024, 2, 28)),
            23,
            "leap year: 29 Feb"
        );
        assert_eq!(age_years(d(2000, 2, 29), d(2024, 2, 29)), 24);
        assert_eq!(age_years(d(2000, 1, 1), d(1999, 12, 31)), -1);
    }

    /// `qc_age_years(birth, on) >= n` and SQL's `birth + INTERVAL 'n' YEAR <= on` (arrow
    /// adds months with chrono, clamping to the month's last day) agree on every birth date
    /// of 1999–2001 (29 February 2000 included), around each birthday.
    #[test]
    fn age_agrees_with_interval_arithmetic() {
        let mut birth = d(1999, 1, 1);
        while birth <= d(2001, 12, 31) {
            for n in [18_u32, 20, 22] {
                let reached = birth
                    .checked_add_months(chrono::Months::new(12 * n))
                    .unwrap();
                for offset in -2..=2 {
                    let on = reached + chrono::Duration::days(offset);
                    assert_eq!(
                        age_years(birth, on) >= i64::from(n),
                        reached <= on,
                        "born {birth}, on {on}, age {n}"
                    );
                }
            }
            birth = birth.succ_opt().unwrap();
        }
    }
}
