//! Administrative division codes of Shanghai: 6-digit districts (GB/T 2260, current and
//! retired since 1980), 9-digit streets/towns and 12-digit communities (NBS 统计用区划代码
//! 2023), from the code lists shipped in `rules/codelists/`.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use chrono::NaiveDate;

fn rows(text: &'static str) -> impl Iterator<Item = Vec<&'static str>> {
    text.lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| l.split(',').collect())
}

static CURRENT: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    [
        include_str!("../../rules/codelists/shanghai_districts.csv"),
        include_str!("../../rules/codelists/shanghai_streets.csv"),
        include_str!("../../rules/codelists/shanghai_communities.csv"),
    ]
    .into_iter()
    .flat_map(rows)
    .map(|r| r[0])
    .collect()
});

/// District code → (name, year it was retired, if it was).
static HISTORY: LazyLock<HashMap<&'static str, (&'static str, Option<i32>)>> =
    LazyLock::new(|| {
        rows(include_str!(
            "../../rules/codelists/shanghai_district_codes_history.csv"
        ))
        .map(|r| (r[0], (r[1], r.get(7).and_then(|y| y.parse().ok()))))
        .collect()
    });

/// Whether `code` is a current Shanghai code of its level (6, 9 or 12 digits).
pub fn is_current(code: &str) -> bool {
    matches!(code.len(), 6 | 9 | 12) && CURRENT.contains(code)
}

/// The name of a current or retired district code (e.g. 310103 → 卢湾区).
pub fn district_name(code: &str) -> Option<&'static str> {
    HISTORY.get(code).map(|(name, _)| *name)
}

/// January 1st of the year a retired district code stopped being used; `None` for current
/// codes and unknown ones.
pub fn retired_on(code: &str) -> Option<NaiveDate> {
    let year = HISTORY.get(code)?.1?;
    NaiveDate::from_ymd_opt(year, 1, 1)
}

/// The enclosing division's code: a 12-digit community's 9-digit street, a 9-digit street's
/// 6-digit district.
pub fn parent(code: &str) -> Option<&str> {
    if !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    match code.len() {
        12 => Some(&code[..9]),
        9 => Some(&code[..6]),
        _ => None,
    }
}

/// Whether `code` was ever a Shanghai district code (current or retired).
pub fn is_known_district(code: &str) -> bool {
    HISTORY.contains_key(code)
}

/// `admin_code` check kind.
pub mod kind_check {
    use datafusion::logical_expr::{Expr, ident};
    use serde::Deserialize;

    use crate::checks::Reason;
    use crate::checks::cx::BindCx;
    use crate::diagnostic::{Code, Diagnostic};
    use crate::rules::{ColumnType, Spanned};

    pub const DOC: &str = "\
# admin_code

## What it checks
The value is a Shanghai administrative division code of the stated level:
`district` (6 digits, GB/T 2260), `street` (9 digits: 街道, 镇, 乡 and similar units) or
`community` (12 digits: 居委会, 村委会), per the 2023 statistical division codes.
For `district` with `as_of` (a date column), a retired code is accepted for records dated
before its retirement (e.g. 310103 卢湾区 until 2011).

## NULL
A NULL code passes (use `not_null` to require presence); with `as_of`, a NULL date falls
back to the current list.

## Parameters
- `column`: the code column (text).
- `level`: `district` | `street` | `community`.
- `as_of`: a date column (district level only).

## Example
```yaml
check:
  admin_code: { column: district_code, level: district, as_of: reg_date }
```

## Anomaly reason
zh: 「{column}」不是有效的{level}代码 · en: `{column}` is not a valid {level} code
";

    /// Why a row fails (documented above under "Anomaly reason").
    pub const REASON: Reason = Reason {
        zh: "「{column}」不是有效的{level}代码",
        en: "`{column}` is not a valid {level} code",
    };

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct AdminCode {
        pub column: Spanned<String>,
        pub level: Spanned<String>,
        #[serde(default)]
        pub as_of: Option<Spanned<String>>,
    }

    impl AdminCode {
        /// Why a row fails, in Chinese and English, naming the level.
        pub fn reason(&self) -> (String, String) {
            let level = self.level.value.as_str();
            let zh = match level {
                "district" => "区县",
                "street" => "街道乡镇",
                "community" => "居村委会",
                other => other,
            };
            REASON.render_each(
                &[("column", &self.column.value), ("level", zh)],
                &[("column", &self.column.value), ("level", level)],
            )
        }

        pub fn bind(&self, cx: &mut BindCx<'_>) -> Option<Expr> {
            let c = cx.column_of(&self.column, "admin_code", &[ColumnType::String])?;
            let digits = match self.level.value.as_str() {
                "district" => 6,
                "street" => 9,
                "community" => 12,
                other => {
                    let d =
                        Diagnostic::error(Code::InvalidOption, format!("unknown level `{other}`"))
                            .at(cx.span(&self.level))
                            .help("the levels are: district, street, community");
                    cx.report(d);
                    return None;
                }
            };
            let value = ident(&c.name);
            let current = cx.call("qc_admin_current", vec![value.clone()])?;
            let length_ok =
                datafusion::functions::unicode::expr_fn::character_length(value.clone())
                    .eq(datafusion::logical_expr::lit(digits));
            let Some(as_of) = &self.as_of else {
                return Some(length_ok.and(current));
            };
            if digits != 6 {
                cx.error(
                    Code::InvalidOption,
                    as_of,
                    "`as_of` applies to the district level only",
                );
                return None;
            }
            let date = cx.column_of(as_of, "admin_code", &[ColumnType::Date])?;
            let retired = cx.call("qc_district_retired_on", vec![value.clone()])?;
            let known = cx.call("qc_district_known", vec![value])?;
            let date = ident(&date.name);
            // Current, or a code still in use on the record's own date.
            let in_use_then = known.and(retired.clone().is_null().or(date.clone().lt(retired)));
            Some(length_ok.and(current.or(date.is_not_null().and(in_use_then))))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_history() {
        assert!(is_current("310101"));
        assert!(is_current("310101002"));
        assert!(is_current("310101002001"));
        assert!(!is_current("310103"));
        assert_eq!(district_name("310103"), Some("卢湾区"));
        assert_eq!(retired_on("310103"), NaiveDate::from_ymd_opt(2011, 1, 1));
        assert_eq!(retired_on("310101"), None);
        assert!(is_known_district("310230"));
        assert!(!is_known_district("310199"));
    }
}
