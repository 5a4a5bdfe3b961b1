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

/// The code maps hash with ahash: they are looked up several times per row of every audited
/// table with an `admin_code` rule, where std's SipHash showed in profiles.
type Fast = ahash::RandomState;

static CURRENT: LazyLock<HashSet<&'static str, Fast>> = LazyLock::new(|| {
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

/// A current or retired district code: its name and the days (since 1970-01-01) of its
/// first and last day of use, where the code list dates them.
struct District {
    name: &'static str,
    valid_from: Option<i32>,
    valid_to: Option<i32>,
}

/// District codes since 1980 (`shanghai_district_codes_history.csv`).
static HISTORY: LazyLock<HashMap<&'static str, District, Fast>> = LazyLock::new(|| {
    let day = |s: Option<&&str>| {
        s.and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
            .map(crate::values::days)
    };
    rows(include_str!(
        "../../rules/codelists/shanghai_district_codes_history.csv"
    ))
    .map(|r| {
        let district = District {
            name: r[1],
            valid_from: day(r.get(9)),
            valid_to: day(r.get(10)),
        };
        (r[0], district)
    })
    .collect()
});

/// Provincial-level divisions (GB/T 2260 digits 1–2): 31 on the mainland, then Taiwan,
/// Hong Kong and Macao.
const PROVINCES: [(&str, &str); 34] = [
    ("11", "北京市"),
    ("12", "天津市"),
    ("13", "河北省"),
    ("14", "山西省"),
    ("15", "内蒙古自治区"),
    ("21", "辽宁省"),
    ("22", "吉林省"),
    ("23", "黑龙江省"),
    ("31", "上海市"),
    ("32", "江苏省"),
    ("33", "浙江省"),
    ("34", "安徽省"),
    ("35", "福建省"),
    ("36", "江西省"),
    ("37", "山东省"),
    ("41", "河南省"),
    ("42", "湖北省"),
    ("43", "湖南省"),
    ("44", "广东省"),
    ("45", "广西壮族自治区"),
    ("46", "海南省"),
    ("50", "重庆市"),
    ("51", "四川省"),
    ("52", "贵州省"),
    ("53", "云南省"),
    ("54", "西藏自治区"),
    ("61", "陕西省"),
    ("62", "甘肃省"),
    ("63", "青海省"),
    ("64", "宁夏回族自治区"),
    ("65", "新疆维吾尔自治区"),
    ("71", "台湾省"),
    ("81", "香港特别行政区"),
    ("82", "澳门特别行政区"),
];

/// Whether `code` is a current Shanghai code of its level (6, 9 or 12 digits).
pub fn is_current(code: &str) -> bool {
    matches!(code.len(), 6 | 9 | 12) && CURRENT.contains(code)
}

/// The name of a current or retired district code (e.g. 310103 → 卢湾区).
pub fn district_name(code: &str) -> Option<&'static str> {
    HISTORY.get(code).map(|d| d.name)
}

/// The first day a district code was no longer in use (310103 卢湾区 → 2011-06-08);
/// `None` for current codes and unknown ones.
pub fn retired_on(code: &str) -> Option<i32> {
    HISTORY.get(code)?.valid_to.map(|d| d + 1)
}

/// The first day a district code was in use (310151 崇明区 → 2016-07-22); `None` for codes
/// in use since the first list (1980) and unknown ones.
pub fn valid_from(code: &str) -> Option<i32> {
    HISTORY.get(code)?.valid_from
}

/// The provincial-level division of a division code of any level, by its first two digits
/// (310115 → 上海市, 320102 → 江苏省); `None` when they name none.
pub fn province_name(code: &str) -> Option<&'static str> {
    let prefix = code.get(..2)?;
    PROVINCES
        .iter()
        .find(|(p, _)| *p == prefix)
        .map(|(_, name)| *name)
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
    use datafusion::common::ScalarValue;
    use datafusion::functions::unicode::expr_fn::{character_length, left};
    use datafusion::logical_expr::{Expr, ident, lit, when};
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
For `district` with `as_of` (a date column), the code must have been in use on the
record's date: a retired code is accepted up to its last day of use (310103 卢湾区 until
2011-06-07), a code is refused before its first day (310151 崇明区 from 2016-07-22), as the
code list `shanghai_district_codes_history.csv` dates them. `grace_days: N` accepts a retired
code N days longer (offices kept old seals for a while; pair a strict warning rule with a
tolerant error rule). `elsewhere: province` accepts a 6-digit code outside Shanghai when its
first two digits name a province (GB/T 2260), for people registered elsewhere.

## NULL
A NULL code passes (use `not_null` to require presence); with `as_of`, a NULL date falls
back to the current list.

## Parameters
- `column`: the code column (text).
- `level`: `district` | `street` | `community`.
- `as_of`: a date column (district level only).
- `grace_days`: days a retired code stays accepted after its last day (with `as_of`; default 0).
- `elsewhere`: `province` (district level only).

## Example
```yaml
check:
  admin_code: { column: district_code, level: district, as_of: reg_date, grace_days: 366 }
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
        #[serde(default)]
        pub grace_days: Option<Spanned<u32>>,
        #[serde(default)]
        pub elsewhere: Option<Spanned<String>>,
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
            let length_ok = character_length(value.clone()).eq(lit(digits));
            if digits != 6 {
                let misplaced = [("as_of", &self.as_of), ("elsewhere", &self.elsewhere)]
                    .into_iter()
                    .find_map(|(name, given)| Some((name, given.as_ref()?)));
                if let Some((name, given)) = misplaced {
                    let message = format!("`{name}` applies to the district level only");
                    cx.error(Code::InvalidOption, given, message);
                    return None;
                }
            }
            let in_shanghai = match &self.as_of {
                None => current,
                Some(as_of) => {
                    let date = cx.column_of(as_of, "admin_code", &[ColumnType::Date])?;
                    let date = ident(&date.name);
                    let from = cx.call("qc_district_valid_from", vec![value.clone()])?;
                    let retired = cx.call("qc_district_retired_on", vec![value.clone()])?;
                    let known = cx.call("qc_district_known", vec![value.clone()])?;
                    let grace = self.grace_days.as_ref().map_or(0, |g| g.value);
                    let until = if grace == 0 {
                        retired.clone()
                    } else {
                        retired.clone()
                            + lit(ScalarValue::new_interval_dt(
                                i32::try_from(grace).unwrap_or(i32::MAX),
                                0,
                            ))
                    };
                    // In use on the record's own date: known, not before its first day, not
                    // after its last (plus the grace).
                    let in_use_then = known
                        .and(from.clone().is_null().or(date.clone().gt_eq(from)))
                        .and(retired.is_null().or(date.clone().lt(until)));
                    date.clone()
                        .is_null()
                        .and(current)
                        .or(date.is_not_null().and(in_use_then))
                }
            };
            let Some(elsewhere) = &self.elsewhere else {
                return Some(length_ok.and(in_shanghai));
            };
            if elsewhere.value != "province" {
                let d = Diagnostic::error(
                    Code::InvalidOption,
                    format!("unknown `elsewhere` value `{}`", elsewhere.value),
                )
                .at(cx.span(elsewhere))
                .help("the only value is `province`: codes outside Shanghai pass when their first two digits name a province");
                cx.report(d);
                return None;
            }
            let province = cx.call("qc_province_name", vec![value.clone()])?;
            let shanghai = left(value.clone(), lit(2)).eq(lit("31"));
            Some(
                length_ok.and(
                    when(shanghai, in_shanghai)
                        .otherwise(value.clone().is_null().or(province.is_not_null()))
                        .ok()?,
                ),
            )
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
        let day = |y, m, d| crate::values::days(NaiveDate::from_ymd_opt(y, m, d).unwrap());
        assert_eq!(
            retired_on("310103"),
            Some(day(2011, 6, 8)),
            "卢湾区, announced 2011-06-08"
        );
        assert_eq!(
            retired_on("310119"),
            Some(day(2009, 8, 9)),
            "南汇区, handed over 2009-08-09"
        );
        assert_eq!(
            retired_on("310102"),
            Some(day(2000, 1, 1)),
            "南市区: the list's date"
        );
        assert_eq!(retired_on("310101"), None);
        assert_eq!(valid_from("310151"), Some(day(2016, 7, 22)), "崇明区");
        assert_eq!(
            valid_from("310115"),
            Some(day(1992, 1, 1)),
            "浦东新区: first listed 199212"
        );
        assert_eq!(valid_from("310101"), None);
        assert_eq!(province_name("320102"), Some("江苏省"));
        assert_eq!(province_name("810000"), Some("香港特别行政区"));
        assert_eq!(province_name("990000"), None);
        assert_eq!(province_name("3"), None);
        assert!(is_known_district("310230"));
        assert!(!is_known_district("310199"));
    }
}
