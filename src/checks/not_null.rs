//! `not_null`: the value is present.
//!
//! The kind whose NULL semantics differ from the rest: NULL is exactly what it reports.

use datafusion::logical_expr::{Expr, ident};
use serde::Deserialize;

use crate::checks::Reason;
use crate::checks::cx::BindCx;
use crate::rules::{ColumnType, Spanned};

pub const DOC: &str = "\
# not_null

## What it checks
The column holds a value: not NULL and, for text columns, not blank (empty or only spaces,
tabs, line breaks or the full-width space U+3000).

## NULL
A NULL value fails (this is the one kind that reports NULLs), and so does a placeholder the
column declares in `null_like` (such as 无, 不详, `/`): to every rule it is missing.

## Parameters
- `column`: the column to check.

## Example
```yaml
check:
  not_null: { column: address_code }
```

## Anomaly reason
zh: 「{column}」为空 · en: `{column}` is empty
";

/// Why a row fails (documented above under "Anomaly reason").
pub const REASON: Reason = Reason {
    zh: "「{column}」为空",
    en: "`{column}` is empty",
};

/// Characters that make a text value blank (as SQL `btrim`'s argument).
pub const BLANK_CHARS: &str = " \t\r\n\u{3000}";

/// Whether `c` is one of [`BLANK_CHARS`], without searching a string per character (this runs
/// for every text value profiled or compared with placeholders).
pub fn is_blank_char(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n' | '\u{3000}')
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotNull {
    pub column: Spanned<String>,
}

impl NotNull {
    /// Why a row fails, in Chinese and English.
    pub fn reason(&self) -> (String, String) {
        REASON.render(&[("column", &self.column.value)])
    }

    pub fn bind(&self, cx: &mut BindCx<'_>) -> Option<Expr> {
        let c = cx.column(&self.column)?;
        let value = ident(&c.name);
        Some(if c.ty == ColumnType::String {
            let blank = cx.call("qc_is_blank", vec![value.clone()])?;
            value.is_not_null().and(blank.is_false())
        } else {
            value.is_not_null()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_characters_are_listed_once_for_sql_and_rust_alike() {
        assert!(BLANK_CHARS.chars().all(is_blank_char));
        let blank = (0..=0x3000u32)
            .filter_map(char::from_u32)
            .filter(|c| is_blank_char(*c))
            .count();
        assert_eq!(blank, BLANK_CHARS.chars().count());
    }
}
