//! Resident identity numbers (公民身份号码, GB 11643-1999): structure, birth date, sex digit,
//! address code and the ISO 7064 MOD 11-2 check character; 15-digit legacy numbers
//! (GB 11643-1989) and their upgrade; the related 18-character numbers that are not citizens'
//! IDs (Hong Kong / Macau / Taiwan residence permits 81/82/83xxxx, foreigners' permanent
//! residence cards starting with 9).
//!
//! The functions here work on `&str` without allocating; [`super::udf`] wraps them as
//! DataFusion scalar functions (`qc_id_*`), usable in rule SQL and by the `id_*` check kinds.

use std::borrow::Cow;
use std::sync::LazyLock;

use chrono::NaiveDate;

/// `W[i] = 2^(17-i) mod 11`, the MOD 11-2 weights of positions 1–17.
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// Check character by `S mod 11`.
const CHECK: &[u8; 11] = b"10X98765432";

/// Earliest birth date accepted (the standard's own example is born 1880).
const EARLIEST_BIRTH: (i32, u32, u32) = (1880, 1, 1);

/// What an identity-number-like value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdKind {
    /// 18 characters, citizen of the mainland (first digit 1–6 or 7 for Taiwan in old lists).
    Citizen,
    /// 15 digits, GB 11643-1989 (no check character), not starting with 9.
    Legacy,
    /// 18 characters with address code 810000 / 820000 / 830000: HK, Macau, Taiwan residents.
    HkMacauTaiwan,
    /// 18 characters starting with 9: foreigners' permanent residence card (from 2023-12).
    ForeignPermanent,
    /// None of the above shapes.
    Malformed,
}

impl IdKind {
    pub fn code(self) -> &'static str {
        match self {
            IdKind::Citizen => "citizen",
            IdKind::Legacy => "legacy15",
            IdKind::HkMacauTaiwan => "hk_mo_tw",
            IdKind::ForeignPermanent => "foreign",
            IdKind::Malformed => "malformed",
        }
    }
}

/// The MOD 11-2 check character for 17 body digits (ASCII), or `None` if a byte is not a digit.
pub fn check_char(body: &[u8]) -> Option<u8> {
    (body.len() == 17 && body.iter().all(u8::is_ascii_digit)).then(|| check_char_of_digits(body))
}

/// [`check_char`] of a body already known to be 17 ASCII digits.
fn check_char_of_digits(body: &[u8]) -> u8 {
    let Ok(body) = <&[u8; 17]>::try_from(body) else {
        return 0;
    };
    let sum: u32 = body
        .iter()
        .zip(WEIGHTS)
        .map(|(b, w)| u32::from(b.wrapping_sub(b'0')) * w)
        .sum();
    CHECK[(sum % 11) as usize]
}

/// The shape of `s` taken as written (no trimming: see [`is_normalized`]).
pub fn kind(s: &str) -> IdKind {
    let b = s.as_bytes();
    match b.len() {
        // A leading 9 marks foreigners' cards, which never had 15 digits (found by fuzzing:
        // `932031010911224` upgraded to a foreigner's number).
        15 if all_digits(b) && b[0] != b'9' => IdKind::Legacy,
        18 if all_digits(&b[..17]) && (b[17].is_ascii_digit() || b[17] == b'X') => match b[0] {
            b'9' => IdKind::ForeignPermanent,
            b'8' if matches!(&b[..6], b"810000" | b"820000" | b"830000") => IdKind::HkMacauTaiwan,
            _ => IdKind::Citizen,
        },
        _ => IdKind::Malformed,
    }
}

/// Whether every byte is an ASCII digit; no early exit, so the loop compiles to SIMD (this
/// runs several times per ID number of every audited row).
fn all_digits(b: &[u8]) -> bool {
    b.iter().fold(true, |all, c| all & c.is_ascii_digit())
}

/// Whether the value is written in normal form: exactly 18 characters (17 ASCII digits and a
/// digit or upper-case `X`) or 15 ASCII digits, with nothing around them. Lower-case `x`,
/// full-width digits, spaces, an Excel apostrophe or a float rendering (`3.1e17`) are not.
pub fn is_normalized(s: &str) -> bool {
    kind(s) != IdKind::Malformed
}

/// `s` without the spaces (full-width too) and Excel apostrophes around it.
fn trimmed(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_whitespace() || c == '\'' || c == '\u{3000}')
}

/// The value in normal form if it can be recovered: trimmed (also of `'` and full-width
/// spaces), full-width digits and `Ｘ` made ASCII, `x` upper-cased. `None` if that does not
/// yield a well-shaped number (e.g. a float rendering, whose digits are lost). A value
/// already in normal form (most are) is returned as it is, without a copy.
pub fn normalize(s: &str) -> Option<Cow<'_, str>> {
    if is_normalized(s) {
        return Some(Cow::Borrowed(s));
    }
    let mut out = String::with_capacity(18);
    for c in trimmed(s).chars() {
        let c = match c {
            '０'..='９' => char::from(b'0' + u8::try_from(u32::from(c) - u32::from('０')).ok()?),
            'x' | 'Ｘ' | 'ｘ' => 'X',
            c if c.is_whitespace() || c == '\u{3000}' => continue,
            c => c,
        };
        out.push(c);
    }
    (kind(&out) != IdKind::Malformed).then_some(Cow::Owned(out))
}

/// The birth date encoded in the number (15-digit numbers: 19YY), if it is a real date on or
/// after 1880-01-01.
pub fn birth_date(s: &str) -> Option<NaiveDate> {
    let (y, m, d) = birth_ymd(s.as_bytes(), kind(s))?;
    NaiveDate::from_ymd_opt(y, m, d)
}

/// [`birth_date`] as days since 1970-01-01 (Arrow Date32), computed without a calendar
/// library: this runs once per ID number of every audited row.
pub fn birth_days(s: &str) -> Option<i32> {
    let (y, m, d) = birth_ymd(s.as_bytes(), kind(s))?;
    Some(crate::values::days_from_civil(y, m, d))
}

/// Year, month and day of the birth date of a number of kind `k` (its digits checked by
/// [`kind`]), if they form a real date on or after 1880-01-01.
fn birth_ymd(digits: &[u8], kind: IdKind) -> Option<(i32, u32, u32)> {
    let num = |r: std::ops::Range<usize>| {
        digits[r]
            .iter()
            .fold(0u32, |acc, c| acc * 10 + u32::from(c.wrapping_sub(b'0')))
    };
    let (year, month, day) = match kind {
        IdKind::Citizen | IdKind::HkMacauTaiwan => (num(6..10), num(10..12), num(12..14)),
        IdKind::Legacy => (1900 + num(6..8), num(8..10), num(10..12)),
        IdKind::ForeignPermanent | IdKind::Malformed => return None,
    };
    let year = i32::try_from(year).ok()?;
    ((year, month, day) >= EARLIEST_BIRTH && crate::values::is_real_date(year, month, day))
        .then_some((year, month, day))
}

/// Whether the check character matches (18-character numbers only; `None` for others).
pub fn checksum_ok(s: &str) -> Option<bool> {
    checksum_of(s.as_bytes(), kind(s))
}

fn checksum_of(b: &[u8], k: IdKind) -> Option<bool> {
    match k {
        IdKind::Citizen | IdKind::HkMacauTaiwan | IdKind::ForeignPermanent => {
            Some(check_char_of_digits(&b[..17]) == b[17])
        }
        IdKind::Legacy | IdKind::Malformed => None,
    }
}

/// A citizen's number (18 or 15 digits) that is well formed: right shape, a real birth date
/// on or after 1880-01-01, an address code under a province (GB/T 2260 digits 1–2), and for
/// 18 characters the right check character. HK/Macau/Taiwan
/// and foreigners' numbers are *not* citizens' numbers (see [`kind`]).
pub fn is_valid_citizen(s: &str) -> bool {
    let b = s.as_bytes();
    match kind(s) {
        IdKind::Citizen => {
            checksum_of(b, IdKind::Citizen) == Some(true)
                && birth_ymd(b, IdKind::Citizen).is_some()
                && crate::checks::admin_code::province_name(s).is_some()
        }
        IdKind::Legacy => {
            birth_ymd(b, IdKind::Legacy).is_some()
                && crate::checks::admin_code::province_name(s).is_some()
        }
        _ => false,
    }
}

/// Sex by the sequence digit (position 17 of 18, 15 of 15): `"1"` male (odd), `"2"` female
/// (even), per GB/T 2261.1.
pub fn sex(s: &str) -> Option<&'static str> {
    let b = s.as_bytes();
    let digit = match kind(s) {
        IdKind::Citizen | IdKind::HkMacauTaiwan => b[16],
        IdKind::Legacy => b[14],
        IdKind::ForeignPermanent | IdKind::Malformed => return None,
    };
    Some(if (digit - b'0') % 2 == 1 { "1" } else { "2" })
}

/// The canonical person key of a document number: an ID number in normal form
/// ([`normalize`]), a 15-digit number upgraded to 18 characters ([`upgrade`]); any other
/// number (a passport's) trimmed and upper-cased. `None` for a blank value. Two records of
/// one person join on it however each was written.
pub fn canonical(s: &str) -> Option<Cow<'_, str>> {
    let Some(normal) = normalize(s) else {
        let other = trimmed(s).to_uppercase();
        return (!other.is_empty()).then_some(Cow::Owned(other));
    };
    match kind(&normal) {
        IdKind::Legacy => upgrade(&normal).map(Cow::Owned),
        _ => Some(normal),
    }
}

/// The 18-character form of a 15-digit number: `19` inserted after the address code, then
/// the check character (the address code is kept, even when retired).
pub fn upgrade(s: &str) -> Option<String> {
    if kind(s) != IdKind::Legacy {
        return None;
    }
    let mut body = String::with_capacity(18);
    body.push_str(&s[..6]);
    body.push_str("19");
    body.push_str(&s[6..]);
    let check = check_char(body.as_bytes())?;
    body.push(char::from(check));
    Some(body)
}

/// Shanghai county-level codes that can appear in ID numbers: current and retired
/// (`rules/codelists/shanghai_district_codes_history.csv`).
static SHANGHAI_CODES: LazyLock<Vec<String>> = LazyLock::new(|| {
    include_str!("../../rules/codelists/shanghai_district_codes_history.csv")
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').next().map(str::to_string))
        .filter(|c| c.len() == 6)
        .collect()
});

/// Whether the address code (first 6 digits) is known: for Shanghai (31xxxx), one of the 31
/// current or retired county-level codes; elsewhere, a valid province prefix (qc ships no
/// national county list). Retired codes such as 310103 卢湾区 are legitimate for life.
pub fn address_known(s: &str) -> Option<bool> {
    match kind(s) {
        IdKind::Citizen | IdKind::Legacy => {
            let code = &s[..6];
            Some(if code.starts_with("31") {
                SHANGHAI_CODES.iter().any(|c| c == code)
            } else {
                crate::checks::admin_code::province_name(code).is_some()
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_number_in_normal_form_is_not_copied() {
        for s in [
            "310103198001011232",
            "310103800101123",
            "11010519491231002X",
        ] {
            assert!(
                matches!(normalize(s), Some(Cow::Borrowed(n)) if n == s),
                "{s}"
            );
        }
        assert!(matches!(
            canonical("310103198001011232"),
            Some(Cow::Borrowed(_))
        ));
        // Written otherwise, or upgraded: a new value.
        assert_eq!(
            normalize("11010519491231002x").as_deref(),
            Some("11010519491231002X")
        );
        assert!(matches!(
            normalize(" 310103198001011232"),
            Some(Cow::Owned(_))
        ));
        assert!(matches!(canonical("310103800101123"), Some(Cow::Owned(_))));
    }

    #[test]
    fn one_person_key_however_the_number_is_written() {
        let key = canonical("310103198001011232");
        assert_eq!(key.as_deref(), Some("310103198001011232"));
        for written in [
            "310103800101123",                      // 15 digits, upgraded
            " 310103198001011232 ",                 // spaces
            "'310103198001011232",                  // Excel apostrophe
            "３１０１０３１９８００１０１１２３２", // full-width digits
        ] {
            assert_eq!(canonical(written), key, "{written}");
        }
        assert_eq!(
            canonical("11010519491231002x").as_deref(),
            Some("11010519491231002X"),
            "lower-case x"
        );
        assert_eq!(
            canonical(" e12345678 ").as_deref(),
            Some("E12345678"),
            "a passport"
        );
        assert_eq!(canonical("  "), None);
    }

    /// Σ aᵢ·2^(i−1) ≡ 1 (mod 11) over all 18 characters, positions counted from the right,
    /// X = 10: the standard's own statement, independent of the weight table above.
    fn satisfies_mod_11_2(id: &str) -> bool {
        let sum: u64 = id
            .bytes()
            .rev()
            .enumerate()
            .map(|(i, c)| {
                let a = if c == b'X' { 10 } else { u64::from(c - b'0') };
                a * (1u64 << i) % 11
            })
            .sum();
        sum % 11 == 1
    }

    #[test]
    fn worked_examples_of_the_domain_brief() {
        // 1: the standard's example, Beijing 朝阳区, female, born 1949-12-31.
        assert!(is_valid_citizen("11010519491231002X"));
        assert_eq!(sex("11010519491231002X"), Some("2"));
        assert_eq!(
            birth_date("11010519491231002X"),
            NaiveDate::from_ymd_opt(1949, 12, 31)
        );
        // 2: 浦东新区, male; the wrong check digit is rejected.
        assert_eq!(check_char(b"31011519900307123"), Some(b'9'));
        assert!(is_valid_citizen("310115199003071239"));
        assert!(!is_valid_citizen("310115199003071235"));
        assert_eq!(sex("310115199003071239"), Some("1"));
        // 3: a 15-digit number with the retired code 310103 卢湾区, upgraded.
        assert_eq!(
            upgrade("310103800101123").as_deref(),
            Some("310103198001011232")
        );
        assert!(is_valid_citizen("310103800101123"));
        assert_eq!(address_known("310103198001011232"), Some(true));
        // 4: retired code 310230 崇明县, female.
        assert_eq!(check_char(b"31023019561120004"), Some(b'X'));
        assert_eq!(sex("31023019561120004X"), Some("2"));
        // The standard's second example, born 1880.
        assert!(is_valid_citizen("440524188001010014"));
    }

    #[test]
    fn impossible_dates_and_shapes() {
        let body = "31011519900230123";
        let id = format!("{body}{}", char::from(check_char(body.as_bytes()).unwrap()));
        assert_eq!(checksum_ok(&id), Some(true));
        assert!(!is_valid_citizen(&id), "1990-02-30 is no date");
        assert_eq!(kind("31011519900307123x"), IdKind::Malformed);
        assert_eq!(kind("3.10115199003071e17"), IdKind::Malformed);
        assert_eq!(kind("810000199003071234"), IdKind::HkMacauTaiwan);
        assert_eq!(kind("911234199003071234"), IdKind::ForeignPermanent);
        assert!(!is_valid_citizen("810000199003071234"));
        // 15 digits starting with 9: no citizen's number (found by fuzzing).
        assert_eq!(kind("932031010911224"), IdKind::Malformed);
        assert!(!is_valid_citizen("932031010911224"));
        assert_eq!(upgrade("932031010911224"), None);
    }

    #[test]
    fn normalization() {
        assert!(!is_normalized(" 310115199003071239"));
        assert_eq!(
            normalize(" '３１０１１５１９９００３０７１２３９ ").as_deref(),
            Some("310115199003071239")
        );
        assert_eq!(
            normalize("31023019561120004x").as_deref(),
            Some("31023019561120004X")
        );
        assert_eq!(normalize("3.10115199003071e17"), None);
    }

    #[test]
    fn address_codes() {
        assert_eq!(
            address_known("310119199001011234"),
            Some(true),
            "南汇区, retired 2009"
        );
        assert_eq!(address_known("310199199001011234"), Some(false));
        assert_eq!(address_known("440524188001010014"), Some(true));
        assert_eq!(
            address_known("990524188001010014"),
            None,
            "9… is a foreigner's card"
        );
    }

    proptest::proptest! {
        #[test]
        fn check_char_agrees_with_the_standards_formula(body in "[0-9]{17}") {
            let id = format!("{body}{}", char::from(check_char(body.as_bytes()).unwrap()));
            proptest::prop_assert!(satisfies_mod_11_2(&id), "{}", id);
            proptest::prop_assert_eq!(checksum_ok(&id), Some(true));
            // Any other final character breaks the formula, and qc rejects it.
            for c in "0123456789X".chars().filter(|c| !id.ends_with(*c)) {
                let other = format!("{body}{c}");
                proptest::prop_assert!(!satisfies_mod_11_2(&other));
                proptest::prop_assert_eq!(checksum_ok(&other), Some(false));
            }
        }

        #[test]
        fn upgrade_keeps_date_sex_and_address(body in "[1-8][0-9]{5}[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|1[0-9]|2[0-8])[0-9]{3}") {
            let long = upgrade(&body).unwrap();
            proptest::prop_assert!(satisfies_mod_11_2(&long));
            proptest::prop_assert_eq!(&long[..6], &body[..6]);
            proptest::prop_assert_eq!(birth_date(&long), birth_date(&body));
            proptest::prop_assert_eq!(sex(&long), sex(&body));
        }

        #[test]
        fn birth_days_agree_with_the_calendar(s in "[1-8][0-9]{5}(1[89]|20|99)[0-9]{2}[0-3][0-9][0-3][0-9][0-9]{4}|[1-8][0-9]{5}[0-9]{2}[0-1][0-9][0-3][0-9][0-9]{3}") {
            proptest::prop_assert_eq!(birth_days(&s), birth_date(&s).map(crate::values::days));
            let chrono_date = match kind(&s) {
                IdKind::Citizen => NaiveDate::parse_from_str(&s[6..14], "%Y%m%d").ok(),
                IdKind::Legacy => NaiveDate::parse_from_str(&format!("19{}", &s[6..12]), "%Y%m%d").ok(),
                _ => None,
            }
            .filter(|d| *d >= NaiveDate::from_ymd_opt(1880, 1, 1).unwrap());
            proptest::prop_assert_eq!(birth_date(&s), chrono_date);
        }

        #[test]
        fn never_panics(s in "\\PC{0,24}") {
            let _ = (kind(&s), normalize(&s), birth_date(&s), birth_days(&s), is_valid_citizen(&s), sex(&s), checksum_ok(&s), address_known(&s), upgrade(&s));
        }
    }
}

/// `id_number` check kind: one aspect of an identity number per rule.
pub mod kind_check {
    use datafusion::logical_expr::{Expr, ident, lit};
    use serde::Deserialize;

    use crate::checks::Reason;
    use crate::checks::cx::BindCx;
    use crate::diagnostic::{Code, Diagnostic};
    use crate::rules::{ColumnType, Spanned};

    pub const DOC: &str = "\
# id_number

## What it checks
One aspect of a resident identity number (GB 11643-1999), chosen by `aspect`:
- `valid` (default): a citizen's number, well formed: 18 characters with a real birth date
  (≥ 1880-01-01), an address code under a province (GB/T 2260 digits 1–2) and the right
  MOD 11-2 check character, or a 15-digit legacy number (not starting with 9) with a real
  date and a province. With `normalize: true`, the number is judged in normal form (a
  lower-case x, spaces, full-width digits or an apostrophe are the `normalized` aspect's
  business, not an invalid number); every aspect honours it. HK/Macau/Taiwan (81/82/83xxxx) and foreigners' (9…) numbers are not citizens'.
- `normalized`: written in normal form (no spaces, full-width digits, lower-case x, float
  renderings); a conformity check kept apart from `valid`.
- `address`: the address code is a current or retired Shanghai code (310103 卢湾区 stays
  legitimate), or a valid province prefix elsewhere.
- `birth_date`: the encoded birth date equals the `birth_date` column.
- `sex`: the sequence digit's parity equals the `sex` column (`1` male odd, `2` female even).

## NULL
A NULL number passes; for `birth_date` and `sex`, a NULL column or a number whose date or
sex cannot be read passes too (the `valid` rule reports those numbers).

## Parameters
- `column`: the text column holding the number.
- `aspect`: `valid` | `normalized` | `address` | `birth_date` | `sex`.
- `birth_date`: the date column (aspect `birth_date`).
- `sex`: the sex-code column, GB/T 2261.1 (aspect `sex`).
- `normalize`: `true` to judge the number in normal form (default `false`).

## Example
```yaml
check:
  id_number: { column: male_id, aspect: sex, sex: male_sex }
```

## Anomaly reason
zh: 身份证号「{column}」不符合要求（{aspect}） · en: ID number `{column}` fails ({aspect})
";

    /// Why a row fails (documented above under "Anomaly reason").
    pub const REASON: Reason = Reason {
        zh: "身份证号「{column}」不符合要求（{aspect}）",
        en: "ID number `{column}` fails ({aspect})",
    };

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct IdNumber {
        pub column: Spanned<String>,
        #[serde(default)]
        pub aspect: Option<Spanned<String>>,
        #[serde(default)]
        pub birth_date: Option<Spanned<String>>,
        #[serde(default)]
        pub sex: Option<Spanned<String>>,
        /// Judge the number in normal form (`qc_id_normalize`).
        #[serde(default)]
        pub normalize: Option<Spanned<bool>>,
    }

    const ASPECTS: [&str; 5] = ["valid", "normalized", "address", "birth_date", "sex"];

    impl IdNumber {
        /// Why a row fails, in Chinese and English, naming the aspect checked.
        pub fn reason(&self) -> (String, String) {
            let aspect = self.aspect.as_ref().map_or("valid", |a| a.value.as_str());
            let zh = match aspect {
                "valid" => "号码无效",
                "normalized" => "书写不规范",
                "address" => "地址码未知",
                "birth_date" => "出生日期不符",
                "sex" => "性别不符",
                other => other,
            };
            let en = match aspect {
                "valid" => "not a valid number",
                "normalized" => "not in normal form",
                "address" => "unknown address code",
                "birth_date" => "birth date differs",
                "sex" => "sex differs",
                other => other,
            };
            REASON.render_each(
                &[("column", &self.column.value), ("aspect", zh)],
                &[("column", &self.column.value), ("aspect", en)],
            )
        }

        /// What a failing row shows after the reason, for the aspects that compare the
        /// number with another column: the value the number encodes and the one stated
        /// (`id_no: 1990-01-01 ≠ birth_date: 1990-01-02`), so the mismatch is visible while
        /// the number itself stays masked. `None` for the other aspects, or when a column
        /// does not bind (the check reports it).
        pub fn row_explain(&self, cx: &mut BindCx<'_>) -> Option<Expr> {
            use datafusion::functions::string::expr_fn::concat;
            let aspect = self.aspect.as_ref().map_or("valid", |a| a.value.as_str());
            let (function, stated) = match aspect {
                "birth_date" => ("qc_id_birth_date", self.birth_date.as_ref()?),
                "sex" => ("qc_id_sex", self.sex.as_ref()?),
                _ => return None,
            };
            let known = |name: &str| cx.columns.iter().any(|c| c.name == name);
            if !known(&self.column.value) || !known(&stated.value) {
                return None;
            }
            let mut value = ident(&self.column.value);
            if self.normalize.as_ref().is_some_and(|n| n.value) {
                value = cx.call("qc_id_normalize", vec![value])?;
            }
            let derived = cx.call(function, vec![value])?;
            let text =
                |e: Expr| datafusion::logical_expr::cast(e, arrow::datatypes::DataType::Utf8);
            Some(concat(vec![
                lit(format!("{}: ", self.column.value)),
                text(derived),
                lit(format!(" ≠ {}: ", stated.value)),
                text(ident(&stated.value)),
            ]))
        }

        pub fn bind(&self, cx: &mut BindCx<'_>) -> Option<Expr> {
            let c = cx.column_of(&self.column, "id_number", &[ColumnType::String])?;
            let aspect = self.aspect.as_ref().map_or("valid", |a| a.value.as_str());
            let raw = ident(&c.name);
            let value =
                if self.normalize.as_ref().is_some_and(|n| n.value) && aspect != "normalized" {
                    cx.call("qc_id_normalize", vec![raw.clone()])?
                } else {
                    raw.clone()
                };
            let other =
                |cx: &mut BindCx<'_>, col: &Option<Spanned<String>>, what: &str, ty: ColumnType| {
                    let Some(col) = col else {
                        cx.error(
                            Code::InvalidOption,
                            &self.column,
                            format!("aspect `{what}` needs the `{what}` column"),
                        );
                        return None;
                    };
                    let bound = cx.column(col)?;
                    if bound.ty != ty {
                        cx.error(
                            Code::TypeMismatch,
                            col,
                            format!("`{}` must be a {ty} column; it is {}", bound.name, bound.ty),
                        );
                        return None;
                    }
                    Some(ident(&bound.name))
                };
            match aspect {
                "valid" => cx.call("qc_id_valid", vec![value]),
                "normalized" => cx.call("qc_id_normalized", vec![raw]),
                "address" => cx.call("qc_id_address_known", vec![value]),
                "birth_date" => {
                    let f = cx.call("qc_id_birth_date", vec![value])?;
                    Some(f.eq(other(cx, &self.birth_date, "birth_date", ColumnType::Date)?))
                }
                "sex" => {
                    let f = cx.call("qc_id_sex", vec![value])?;
                    Some(f.eq(other(cx, &self.sex, "sex", ColumnType::String)?))
                }
                unknown => {
                    let at = self.aspect.as_ref()?;
                    let d = Diagnostic::error(
                        Code::InvalidOption,
                        format!("unknown aspect `{unknown}`"),
                    )
                    .at(cx.span(at))
                    .help(format!("the aspects are: {}", ASPECTS.join(", ")));
                    cx.report(d);
                    None
                }
            }
        }
    }
}
