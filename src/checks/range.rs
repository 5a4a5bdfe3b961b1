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
A number, date or timestamp lies within bounds. Bounds are inclusive unless
`exclusive_min` / `exclusive_max` is set. Dates are written `YYYY-MM-DD`, timestamps
`YYYY-MM-DD HH:MM:SS`. Either bound may be left out.

## NULL
A NULL value passes (use `not_null` to require presence).

## Parameters
- `column`: an int, float, date or timestamp column.
- `min`, `max`: the bounds (at least one).
- `exclusive_min`, `exclusive_max`: `true` to exclude the bound itself (default `false`).

## Example
```yaml
check:
  range: { column: longitude, min: 120.85, max: 122.25 }
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
    #[serde(default)]
    pub exclusive_min: bool,
    #[serde(default)]
    pub exclusive_max: bool,
}

impl Range {
    /// Why a row fails, in Chinese and English; the interval as written, e.g. `[0, 150]`,
    /// `(0, +∞)`.
    pub fn reason(&self) -> (String, String) {
        let low = self
            .min
            .as_ref()
            .map_or("-∞".to_string(), |m| m.value.to_string());
        let high = self
            .max
            .as_ref()
            .map_or("+∞".to_string(), |m| m.value.to_string());
        let open = if self.exclusive_min || self.min.is_none() {
            '('
        } else {
            '['
        };
        let close = if self.exclusive_max || self.max.is_none() {
            ')'
        } else {
            ']'
        };
        let interval = format!("{open}{low}, {high}{close}");
        REASON.render(&[("column", &self.column.value), ("interval", &interval)])
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
        if self.min.is_none() && self.max.is_none() {
            cx.error(
                Code::InvalidOption,
                &self.column,
                "`range` needs `min`, `max` or both",
            );
            return None;
        }
        let value = ident(&c.name);
        let mut parts = Vec::new();
        for (bound, exclusive, is_min) in [
            (&self.min, self.exclusive_min, true),
            (&self.max, self.exclusive_max, false),
        ] {
            let Some(b) = bound else { continue };
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
