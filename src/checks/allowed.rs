//! `allowed`: the value is one of a set, written inline or named as a shipped code list.

use datafusion::logical_expr::{Expr, ident};
use serde::Deserialize;

use crate::checks::Reason;
use crate::checks::cx::BindCx;
use crate::diagnostic::{Code, Diagnostic, did_you_mean};
use crate::rules::Spanned;

use super::Scalar;

pub const DOC: &str = "\
# allowed

## What it checks
The value is one of an allowed set: an inline list (`values`) or a code list shipped beside
the pack (`code_list: NAME` reads `codelists/NAME.csv`, first column). Text is compared
exactly (case and spaces matter).

## NULL
A NULL value passes (use `not_null` to require presence).

## Parameters
- `column`: the column to check.
- `values`: the allowed values, or
- `code_list`: the name of a code list.

## Example
```yaml
check:
  allowed: { column: district_code, code_list: shanghai_districts }
```

## Anomaly reason
zh: 「{column}」的值不在允许的代码集内 · en: `{column}` is not an allowed value
";

/// Why a row fails (documented above under "Anomaly reason").
pub const REASON: Reason = Reason {
    zh: "「{column}」的值不在允许的代码集内",
    en: "`{column}` is not an allowed value",
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Allowed {
    pub column: Spanned<String>,
    #[serde(default)]
    pub values: Option<Spanned<Vec<Scalar>>>,
    #[serde(default)]
    pub code_list: Option<Spanned<String>>,
}

impl Allowed {
    /// Why a row fails, in Chinese and English.
    pub fn reason(&self) -> (String, String) {
        REASON.render(&[("column", &self.column.value)])
    }

    pub fn bind(&self, cx: &mut BindCx<'_>) -> Option<Expr> {
        let column = cx.column(&self.column);
        let values: Vec<Scalar> = match (&self.values, &self.code_list) {
            (Some(v), None) => {
                if v.value.is_empty() {
                    cx.error(
                        Code::InvalidOption,
                        v,
                        "`values` must list at least one value",
                    );
                    return None;
                }
                v.value.clone()
            }
            (None, Some(name)) => match cx.codelists.load(&name.value) {
                Ok(codes) => codes.into_iter().map(Scalar::Text).collect(),
                Err(message) => {
                    let known = cx.codelists.names();
                    let mut d = Diagnostic::error(
                        Code::UnknownCodeList,
                        format!("unknown code list `{}`", name.value),
                    )
                    .at(cx.span(name));
                    d = match did_you_mean(&name.value, known.iter().map(String::as_str)) {
                        Some(best) => d.help(format!("did you mean `{best}`?")),
                        None if known.is_empty() => d.help(message),
                        None => d.help(format!("the code lists are: {}", known.join(", "))),
                    };
                    cx.report(d);
                    return None;
                }
            },
            _ => {
                cx.error(
                    Code::InvalidOption,
                    &self.column,
                    "`allowed` takes exactly one of `values` or `code_list`",
                );
                return None;
            }
        };
        let c = column?;
        let mut list = Vec::with_capacity(values.len());
        for v in &values {
            match v.literal_for(&c) {
                Ok(l) => list.push(l),
                Err(message) => {
                    let at = self
                        .values
                        .as_ref()
                        .map_or_else(|| cx.span(&self.column), |s| cx.span(s));
                    cx.report(Diagnostic::error(Code::TypeMismatch, message).at(at));
                    return None;
                }
            }
        }
        Some(ident(&c.name).in_list(list, false))
    }
}
