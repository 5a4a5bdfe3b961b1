//! `pattern`: the value matches a regular expression.

use datafusion::functions::regex::expr_fn::regexp_like;
use datafusion::logical_expr::{Expr, cast, ident, lit};
use serde::Deserialize;

use crate::checks::Reason;
use crate::checks::cx::BindCx;
use crate::diagnostic::Code;
use crate::rules::{ColumnType, Spanned};

pub const DOC: &str = "\
# pattern

## What it checks
The **whole** value matches the regular expression (Rust `regex` syntax; qc anchors it, so
`\\d{6}` means exactly six digits). Numbers and dates are matched in their text form.

## NULL
A NULL value passes (use `not_null` to require presence).

## Parameters
- `column`: the column to check.
- `regex`: the regular expression.

## Example
```yaml
check:
  pattern: { column: postcode, regex: '20[0-2]\\d{3}' }
```

## Anomaly reason
zh: 「{column}」格式不符合 {regex} · en: `{column}` does not match {regex}
";

/// Why a row fails (documented above under "Anomaly reason").
pub const REASON: Reason = Reason {
    zh: "「{column}」格式不符合 {regex}",
    en: "`{column}` does not match {regex}",
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pattern {
    pub column: Spanned<String>,
    pub regex: Spanned<String>,
}

/// The anchored form qc evaluates.
pub fn anchored(regex: &str) -> String {
    format!("^(?:{regex})$")
}

impl Pattern {
    /// Why a row fails, in Chinese and English.
    pub fn reason(&self) -> (String, String) {
        REASON.render(&[("column", &self.column.value), ("regex", &self.regex.value)])
    }

    pub fn bind(&self, cx: &mut BindCx<'_>) -> Option<Expr> {
        let column = cx.column(&self.column);
        let full = anchored(&self.regex.value);
        if let Err(e) = regex::Regex::new(&full) {
            let detail = e.to_string();
            let last = detail.lines().last().unwrap_or("").trim().to_string();
            let d = crate::diagnostic::Diagnostic::error(
                Code::InvalidRegex,
                format!(
                    "invalid regular expression: {}",
                    last.trim_start_matches("error: ")
                ),
            )
            .at(cx.span(&self.regex));
            cx.report(d);
            return None;
        }
        let c = column?;
        let mut value = ident(&c.name);
        if c.ty != ColumnType::String {
            value = cast(value, arrow::datatypes::DataType::Utf8);
        }
        Some(regexp_like(value, lit(full), None))
    }
}
