//! `range`: a number or date lies between bounds.

use datafusion::logical_expr::{Expr, ident};
use serde::Deserialize;

use crate::checks::Reason;
use crate::checks::cx::BindCx;
use crate::diagnostic::{Code, Diagnostic};
use crate::rules::{ColumnType, Spanned};

use super::Scalar;

pub const DOC: &str = "\
# range

## What it checks
A number, date or timestamp lies within bounds: `min` and `max` are inclusive (the value may
equal them), `above` and `below` exclusive (it must lie strictly beyond them). Dates are
written `YYYY-MM-DD`, timestamps `YYYY-MM-DD HH:MM:SS`. Either end may be left open.

## NULL
A NULL value passes (use `not_null` to require presence).

## Parameters
- `column`: an int, float, date or timestamp column.
- `min` or `above`: the lower bound, inclusive or exclusive.
- `max` or `below`: the upper bound, inclusive or exclusive (at least one bound in all).

## Example
```yaml
check:
  range: { column: building_area, above: 0, max: 1000000 }
```

## Anomaly reason
zh: 「{column}」超出范围 {interval} · en: `{column}` is outside {interval}
";

/// Why a row fails (documented above under "Anomaly reason").
pub const REASON: Reason = Reason {
    zh: "「{column}」超出范围 {interval}",
    en: "`{column}` is outside {interval}",
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Range {
    pub column: Spanned<String>,
    #[serde(default)]
    pub min: Option<Spanned<Scalar>>,
    #[serde(default)]
    pub max: Option<Spanned<Scalar>>,
    /// Exclusive lower bound.
    #[serde(default)]
    pub above: Option<Spanned<Scalar>>,
    /// Exclusive upper bound.
    #[serde(default)]
    pub below: Option<Spanned<Scalar>>,
    /// Refused with a hint: earlier packs wrote an exclusive bound as `min` plus this flag.
    #[serde(default)]
    pub exclusive_min: Option<Spanned<bool>>,
    /// Refused with a hint, as `exclusive_min`.
    #[serde(default)]
    pub exclusive_max: Option<Spanned<bool>>,
}

impl Range {
    /// Why a row fails, in Chinese and English; the interval as written, e.g. `[0, 150]`,
    /// `(0, +∞)`.
    pub fn reason(&self) -> (String, String) {
        let low = self.lower();
        let high = self.upper();
        let end = |b: Option<(&Spanned<Scalar>, bool)>, open: char, closed: char, inf: &str| {
            b.map_or((open, inf.to_string()), |(v, exclusive)| {
                (if exclusive { open } else { closed }, v.value.to_string())
            })
        };
        let (open, low) = end(low, '(', '[', "-∞");
        let (close, high) = end(high, ')', ']', "+∞");
        let interval = format!("{open}{low}, {high}{close}");
        REASON.render(&[("column", &self.column.value), ("interval", &interval)])
    }

    /// The lower bound and whether it is exclusive.
    fn lower(&self) -> Option<(&Spanned<Scalar>, bool)> {
        self.min
            .as_ref()
            .map(|b| (b, false))
            .or(self.above.as_ref().map(|b| (b, true)))
    }

    /// The upper bound and whether it is exclusive.
    fn upper(&self) -> Option<(&Spanned<Scalar>, bool)> {
        self.max
            .as_ref()
            .map(|b| (b, false))
            .or(self.below.as_ref().map(|b| (b, true)))
    }

    pub fn bind(&self, cx: &mut BindCx<'_>) -> Option<Expr> {
        let c = cx.column_of(
            &self.column,
            "range",
            &[
                ColumnType::Int,
                ColumnType::Float,
                ColumnType::Date,
                ColumnType::Timestamp,
            ],
        )?;
        for (flag, inclusive, exclusive) in [
            (&self.exclusive_min, "min", "above"),
            (&self.exclusive_max, "max", "below"),
        ] {
            if let Some(f) = flag {
                cx.error(
                    Code::InvalidOption,
                    f,
                    format!(
                        "`exclusive_{inclusive}` is no longer read: write the exclusive bound as \
                         `{exclusive}: X` in place of `{inclusive}: X` (`{inclusive}` is inclusive)"
                    ),
                );
                return None;
            }
        }
        for (inclusive, exclusive, a, b) in [
            (&self.min, &self.above, "min", "above"),
            (&self.max, &self.below, "max", "below"),
        ] {
            if let (Some(_), Some(second)) = (inclusive, exclusive) {
                cx.error(
                    Code::InvalidOption,
                    second,
                    format!("`{a}` and `{b}` are both bounds on the same side: keep one"),
                );
                return None;
            }
        }
        if self.lower().is_none() && self.upper().is_none() {
            cx.error(
                Code::InvalidOption,
                &self.column,
                "`range` needs a bound: `min` or `above`, `max` or `below`",
            );
            return None;
        }
        let value = ident(&c.name);
        let mut parts = Vec::new();
        for (bound, is_min) in [(self.lower(), true), (self.upper(), false)] {
            let Some((b, exclusive)) = bound else {
                continue;
            };
            match b.value.literal_for(&c) {
                Ok(l) => parts.push(match (is_min, exclusive) {
                    (true, false) => value.clone().gt_eq(l),
                    (true, true) => value.clone().gt(l),
                    (false, false) => value.clone().lt_eq(l),
                    (false, true) => value.clone().lt(l),
                }),
                Err(message) => {
                    let d = Diagnostic::error(Code::TypeMismatch, message).at(cx.span(b));
                    cx.report(d);
                    return None;
                }
            }
        }
        parts.into_iter().reduce(Expr::and)
    }
}
