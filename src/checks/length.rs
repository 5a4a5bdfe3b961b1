//! `length`: the text's length in characters lies between bounds.

use datafusion::functions::unicode::expr_fn::character_length;
use datafusion::logical_expr::{Expr, ident, lit};
use serde::Deserialize;

use crate::checks::Reason;
use crate::checks::cx::BindCx;
use crate::diagnostic::Code;
use crate::rules::{ColumnType, Spanned};

pub const DOC: &str = "\
# length

## What it checks
The text's length in **characters** (not bytes: `上海市` has length 3) lies within
`min` and `max`, both inclusive. For an exact length give both the same value.

## NULL
A NULL value passes (use `not_null` to require presence).

## Parameters
- `column`: a string column.
- `min`, `max`: the bounds (at least one).

## Example
```yaml
check:
  length: { column: community_code, min: 12, max: 12 }
```

## Anomaly reason
zh: 「{column}」长度不在 {interval} 之内 · en: `{column}` length is outside {interval}
";

/// Why a row fails (documented above under "Anomaly reason").
pub const REASON: Reason = Reason {
    zh: "「{column}」长度不在 {interval} 之内",
    en: "`{column}` length is outside {interval}",
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Length {
    pub column: Spanned<String>,
    #[serde(default)]
    pub min: Option<u32>,
    #[serde(default)]
    pub max: Option<u32>,
}

impl Length {
    /// Why a row fails, in Chinese and English; the lengths allowed as an interval, e.g.
    /// `[18, 18]`, `[2, +∞)`.
    pub fn reason(&self) -> (String, String) {
        let interval = match self.max {
            Some(max) => format!("[{}, {max}]", self.min.unwrap_or(0)),
            None => format!("[{}, +∞)", self.min.unwrap_or(0)),
        };
        REASON.render(&[("column", &self.column.value), ("interval", &interval)])
    }

    pub fn bind(&self, cx: &mut BindCx<'_>) -> Option<Expr> {
        let c = cx.column_of(&self.column, "length", &[ColumnType::String])?;
        if let (Some(lo), Some(hi)) = (self.min, self.max)
            && lo > hi
        {
            cx.error(
                Code::InvalidOption,
                &self.column,
                format!("`min` {lo} is greater than `max` {hi}"),
            );
            return None;
        }
        let len = character_length(ident(&c.name));
        match (self.min, self.max) {
            (Some(lo), Some(hi)) if lo == hi => Some(len.eq(lit(i64::from(lo)))),
            (Some(lo), Some(hi)) => Some(len.between(lit(i64::from(lo)), lit(i64::from(hi)))),
            (Some(lo), None) => Some(len.gt_eq(lit(i64::from(lo)))),
            (None, Some(hi)) => Some(len.lt_eq(lit(i64::from(hi)))),
            (None, None) => {
                cx.error(
                    Code::InvalidOption,
                    &self.column,
                    "`length` needs `min`, `max` or both",
                );
                None
            }
        }
    }
}
