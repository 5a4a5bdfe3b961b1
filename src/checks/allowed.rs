//! `allowed`: the value is one of a set, written inline or named as a shipped code list.

use arrow::datatypes::DataType;
use datafusion::logical_expr::{Expr, cast, ident, lit};
use serde::Deserialize;

use crate::checks::Reason;
use crate::checks::cx::BindCx;
use crate::diagnostic::{Code, Diagnostic, did_you_mean};
use crate::rules::Spanned;
use crate::rules::codelists::{ListCode, ListProblem};

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
- `header`: with `code_list`, whether the list's first line is a header (default: it is,
  and a list whose first line looks like one of its codes is refused until `header` says
  which it is).

A code list whose header has `valid_from` / `valid_to` columns (`YYYY-MM-DD`, both days
included, empty for open) dates its codes: the rule must name its `record_date` column, and a
value passes when it is a code in use on the row's record date (a row without a record date:
when it is a code of the list at all).

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
    /// Whether the code list's first line is a header (default: yes, refused when it looks
    /// like a code).
    #[serde(default)]
    pub header: Option<Spanned<bool>>,
}

impl Allowed {
    /// Why a row fails, in Chinese and English.
    pub fn reason(&self) -> (String, String) {
        REASON.render(&[("column", &self.column.value)])
    }

    pub fn bind(&self, cx: &mut BindCx<'_>) -> Option<Expr> {
        let column = cx.column(&self.column);
        let mut dated: Vec<ListCode> = Vec::new();
        let values: Vec<Scalar> = match (&self.values, &self.code_list) {
            (Some(v), None) => {
                if let Some(h) = &self.header {
                    cx.error(
                        Code::InvalidOption,
                        h,
                        "`header` says whether a code list has a header line; `values` has none",
                    );
                    return None;
                }
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
            (None, Some(name)) => match cx
                .codelists
                .load(&name.value, self.header.as_ref().map(|h| h.value))
            {
                Ok(codes) => {
                    let (with_days, always): (Vec<_>, Vec<_>) =
                        codes.into_iter().partition(ListCode::is_dated);
                    if !with_days.is_empty() && cx.record_date.is_none() {
                        cx.error(
                            Code::InvalidOption,
                            name,
                            format!(
                                "code list `{}` dates its codes (valid_from / valid_to): the \
                                 rule must name the `record_date` column they are judged on",
                                name.value
                            ),
                        );
                        return None;
                    }
                    dated = with_days;
                    always.into_iter().map(|c| Scalar::Text(c.code)).collect()
                }
                Err(ListProblem::Invalid(message)) => {
                    cx.error(Code::InvalidOption, name, message);
                    return None;
                }
                Err(ListProblem::Missing(message)) => {
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
        let literals = |values: &[Scalar], cx: &mut BindCx<'_>| -> Option<Vec<Expr>> {
            let mut list = Vec::with_capacity(values.len());
            for v in values {
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
            Some(list)
        };
        let value = ident(&c.name);
        // Dated codes: one `IN` list per period, so that the plan stays small.
        let mut periods: std::collections::BTreeMap<(Option<i32>, Option<i32>), Vec<Scalar>> =
            std::collections::BTreeMap::new();
        for code in dated {
            periods
                .entry((code.from, code.to))
                .or_default()
                .push(Scalar::Text(code.code));
        }
        // The value is an undated code, or a code of a period its record date falls in.
        let mut ok = true;
        let mut alternatives = Vec::new();
        if !values.is_empty() {
            match literals(&values, cx) {
                Some(l) => alternatives.push(value.clone().in_list(l, false)),
                None => ok = false,
            }
        }
        let has_periods = !periods.is_empty();
        if has_periods {
            let on = cx.record_date.clone()?;
            let day = cast(ident(&on.name), DataType::Date32);
            for ((from, to), codes) in periods {
                // A row without a record date: any code of the list.
                let in_use = match super::dates::in_period(&day, from, to) {
                    Some(within) => day.clone().is_null().or(within),
                    None => lit(true),
                };
                match literals(&codes, cx) {
                    Some(l) => alternatives.push(value.clone().in_list(l, false).and(in_use)),
                    None => ok = false,
                }
            }
        }
        let passes = alternatives.into_iter().reduce(Expr::or).filter(|_| ok)?;
        // A NULL value passes, as with an undated list (`NULL IN (…) AND false` is false).
        Some(if has_periods {
            value.is_null().or(passes)
        } else {
            passes
        })
    }
}
