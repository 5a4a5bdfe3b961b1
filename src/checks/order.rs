//! `order`: two columns of the same row are in order (dates or numbers).

use datafusion::logical_expr::{Expr, ident};
use serde::Deserialize;

use crate::checks::Reason;
use crate::checks::cx::BindCx;
use crate::diagnostic::Code;
use crate::rules::Spanned;

pub const DOC: &str = "\
# order

## What it checks
Two columns of the same row compare as stated: `left op right`, where `op` is one of
`<`, `<=` (default), `=`, `>=`, `>`. Both columns are numbers, or both are dates/timestamps.
Typical use: birth date ≤ registration date, death date ≤ cremation date.

## NULL
If either value is NULL the row passes (use `not_null` to require presence).

## Parameters
- `left`, `right`: the two columns.
- `op`: the comparison (default `<=`).

## Example
```yaml
check:
  order: { left: birth_date, op: '<=', right: reg_date }
```

## Anomaly reason
zh: 「{left}」与「{right}」先后顺序不符合 {op} · en: `{left}` {op} `{right}` does not hold
";

/// Why a row fails (documented above under "Anomaly reason").
pub const REASON: Reason = Reason {
    zh: "「{left}」与「{right}」先后顺序不符合 {op}",
    en: "`{left}` {op} `{right}` does not hold",
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Order {
    pub left: Spanned<String>,
    pub right: Spanned<String>,
    #[serde(default)]
    pub op: Option<Spanned<String>>,
}

impl Order {
    /// Why a row fails, in Chinese and English.
    pub fn reason(&self) -> (String, String) {
        let op = self.op.as_ref().map_or("<=", |o| o.value.trim());
        REASON.render(&[
            ("left", &self.left.value),
            ("right", &self.right.value),
            ("op", op),
        ])
    }

    pub fn bind(&self, cx: &mut BindCx<'_>) -> Option<Expr> {
        let left = cx.column(&self.left);
        let right = cx.column(&self.right);
        let op = self.op.as_ref().map_or("<=", |o| o.value.trim());
        let build: fn(Expr, Expr) -> Expr = match op {
            "<" => Expr::lt,
            "<=" => Expr::lt_eq,
            "=" | "==" => Expr::eq,
            ">=" => Expr::gt_eq,
            ">" => Expr::gt,
            other => {
                let at = self.op.as_ref()?;
                cx.error(
                    Code::InvalidOption,
                    at,
                    format!("unknown comparison `{other}` (expected <, <=, =, >=, >)"),
                );
                return None;
            }
        };
        let (l, r) = (left?, right?);
        let comparable =
            (l.ty.is_numeric() && r.ty.is_numeric()) || (l.ty.is_temporal() && r.ty.is_temporal());
        if !comparable {
            cx.error(
                Code::TypeMismatch,
                &self.right,
                format!(
                    "`order` compares two numbers or two dates; `{}` is {} and `{}` is {}",
                    l.name, l.ty, r.name, r.ty
                ),
            );
            return None;
        }
        Some(build(ident(&l.name), ident(&r.name)))
    }
}
