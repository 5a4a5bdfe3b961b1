//! A draft rule pack from a profile (`qc profile --suggest PACK.yaml`): for each column the
//! rules its figures support — presence, ID numbers, division codes, certificate numbers,
//! phones, postcodes, coordinates, code sets, uniqueness — each with a comment giving the
//! evidence and a threshold just above the rate observed, so that the pack, run on the
//! profiled data, passes and fails exactly the rows the comments count.

use std::fmt::Write as _;
use std::path::{Component, Path, PathBuf};

use super::classes::{Class, NAME_FORM, SH_LATITUDE, SH_LONGITUDE};
use super::implied::{CONFIDENCE, Part};
use super::places::FAR_METRES;
use super::relations::{DayGap, Relation};
use super::{ColumnProfile, KeyCheck, Profile};
use crate::rules::pii::Pii;
use crate::rules::source::{BoundSource, SourceFormat};
use crate::text::thousands;

/// A class must cover this share of a column's present values to earn its rule.
const CLASS_SHARE: f64 = 0.8;
/// A text column with at most this many distinct values gets an `allowed` rule.
const MAX_CODES: u64 = super::column::MAX_CODES as u64;
/// A value seen in at most this share of rows (and fewer than 10 times) is left out of an
/// `allowed` list: more likely a typing error than a code.
const RARE_SHARE: f64 = 0.001;

/// One suggested rule: its YAML lines (without the leading `- `) and the evidence.
struct Suggestion {
    name: String,
    dimension: &'static str,
    check: String,
    /// Rows the rule fails on the profiled data.
    failed: u64,
    rows: u64,
    evidence: String,
}

/// The draft pack's text, with paths relative to `pack_dir`.
pub fn pack(p: &Profile, source: &BoundSource, pack_dir: &Path) -> String {
    let id = identifier(&p.table);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# 规则包草稿：由 qc profile 根据 {} 的画像生成（{} 行，{}）。\n\
         # 每条规则上方的注释给出依据；阈值略高于观察到的异常率，使本包在画像数据上通过，\n\
         # 并恰好标出注释中计数的记录。请审阅、改名、调整阈值后再用于日常稽核。",
        p.table,
        thousands(p.rows),
        p.profiled_at.get(..10).unwrap_or(&p.profiled_at)
    );
    if p.malformed.total > 0 {
        let kinds: Vec<String> = p
            .malformed
            .by_kind
            .iter()
            .map(|(k, n)| format!("{k} ×{n}"))
            .collect();
        let _ = writeln!(
            out,
            "# 画像中有 {} 条格式错误的记录（{}）：内置规则 PARSE-* 不设阈值，会将本表判为不通过。",
            thousands(p.malformed.total),
            kinds.join("，")
        );
    }
    let _ = writeln!(
        out,
        "library:\n  id: {id}_draft\n  name: {}\n",
        q(&format!("{}（草稿）", p.table))
    );
    let _ = writeln!(out, "tables:\n  - name: {id}\n    title: {}", q(&p.table));
    let _ = writeln!(
        out,
        "    source:\n      path: {}",
        q(&relative(&source.pattern, pack_dir))
    );
    if let SourceFormat::Csv(o) = &source.format {
        let _ = writeln!(out, "      format: csv");
        if o.encoding != encoding_rs::UTF_8 {
            let _ = writeln!(
                out,
                "      encoding: {}",
                o.encoding.name().to_ascii_lowercase()
            );
        }
        if o.delimiter != b',' {
            let d = if o.delimiter == b'\t' {
                "\\t".to_string()
            } else {
                char::from(o.delimiter).to_string()
            };
            let _ = writeln!(out, "      delimiter: {}", q(&d));
        }
    }
    if let Some(key) = p.candidate_keys.first() {
        let keys: Vec<String> = key.iter().map(|k| q(k)).collect();
        let _ = writeln!(out, "    key: [{}]", keys.join(", "));
    } else {
        // A pack needs a key (feedback files name records by it): the column closest to one.
        let closest = p
            .columns
            .iter()
            .filter_map(|c| match c.key {
                KeyCheck::Checked { duplicate_rows, .. } => Some((duplicate_rows + c.nulls, c)),
                _ => None,
            })
            .min_by_key(|(n, _)| *n);
        if let Some((n, c)) = closest {
            let _ = writeln!(
                out,
                "    # 没有完全不重复的列；最接近的是 {}（{} 行为空或重复）\n    key: [{}]",
                c.name,
                thousands(n),
                q(&c.name)
            );
        } else {
            let first = p.columns.first().map_or("", |c| c.name.as_str());
            let _ = writeln!(
                out,
                "    # 没有接近唯一的列：请指定记录的键\n    key: [{}]",
                q(first)
            );
        }
    }
    let roles = roles(p, &source.format);
    if !roles.is_empty() {
        let listed: Vec<String> = roles
            .iter()
            .map(|(r, c)| format!("{r}: {}", q(c)))
            .collect();
        let _ = writeln!(
            out,
            "    # 列的角色：规则模板按角色引用本表的列（如 rules/estate/templates.yaml 的 T-ID、T-DIST、T-DATE），\n    \
             # 加 use: [{{ template: T-ID }}] 即可套用\n    roles: {{ {} }}",
            listed.join(", ")
        );
    }
    out.push_str("    columns:\n");
    for c in &p.columns {
        let ty = column_type(c, &source.format);
        let pii = match c.pii {
            Some(Pii::IdNumber) => ", pii: id_number",
            Some(Pii::Name) => ", pii: name",
            None => "",
        };
        let _ = writeln!(out, "      - {{ name: {}, type: {ty}{pii} }}", q(&c.name));
    }
    out.push_str("    rules:\n");
    let mut n = 0;
    let per_column = p.columns.iter().flat_map(suggestions);
    for s in per_column.chain(related(p, &source.format)) {
        n += 1;
        let _ = writeln!(out, "      # {}", s.evidence);
        let _ = writeln!(out, "      - id: SUG-{n:03}");
        let _ = writeln!(out, "        name: {}", q(&s.name));
        let _ = writeln!(out, "        dimension: {}", s.dimension);
        if s.failed > 0 {
            let _ = writeln!(
                out,
                "        threshold: {{ max_rate: {} }}",
                rate_above(s.failed, s.rows)
            );
        }
        let _ = writeln!(out, "        check: {}\n", s.check);
    }
    if n == 0 {
        out.push_str("      []\n");
    }
    out
}

/// The roles of the estate's templates (`citizen_id`, `district`, `record_date`) the profile
/// recognizes, with the column taking each: the first column of citizen IDs (half valid), the
/// first of current district codes, and the date column (typed as one, at most 5 % missing)
/// of the latest median: the record's own date rather than a birth date.
fn roles<'a>(p: &'a Profile, format: &SourceFormat) -> Vec<(&'static str, &'a str)> {
    let mut out = Vec::new();
    let text = |c: &&ColumnProfile| c.physical_type.contains("Utf8");
    if let Some(c) = p.columns.iter().filter(text).find(|c| {
        c.class_share(Class::CitizenId) >= CLASS_SHARE
            && c.class_share(Class::CitizenIdValid) >= 0.5
    }) {
        out.push(("citizen_id", c.name.as_str()));
    }
    if let Some(c) = p
        .columns
        .iter()
        .filter(text)
        .find(|c| c.class_share(Class::DivisionDistrict) >= CLASS_SHARE)
    {
        out.push(("district", c.name.as_str()));
    }
    let median = |c: &ColumnProfile| {
        c.numbers
            .as_ref()?
            .quantiles
            .iter()
            .find(|q| (q.q - 0.5).abs() < 1e-9)
            .map(|q| q.value.value)
    };
    let record_date = p
        .columns
        .iter()
        .filter(|c| column_type(c, format) == "date" && c.missing() as f64 <= 0.05 * c.rows as f64)
        .filter_map(|c| Some((median(c)?, c)))
        .max_by(|a, b| a.0.total_cmp(&b.0));
    if let Some((_, c)) = record_date {
        out.push(("record_date", c.name.as_str()));
    }
    out
}

/// The rules a column's figures support.
fn suggestions(c: &ColumnProfile) -> Vec<Suggestion> {
    let col = q(&c.name);
    let non_null = c.rows - c.nulls;
    let mut out = Vec::new();
    let share = |n: u64, of: u64| {
        if of == 0 {
            0.0
        } else {
            n as f64 * 100.0 / of as f64
        }
    };
    let rule = |name: String, dimension, check: String, failed: u64, evidence: String| Suggestion {
        name,
        dimension,
        check,
        failed,
        rows: c.rows,
        evidence,
    };
    // Presence: (almost) always filled.
    let missing = c.missing();
    if c.rows > 0 && missing as f64 <= 0.05 * c.rows as f64 {
        let placeholders = if c.placeholders > 0 {
            format!(
                "；另有 {} 个占位值（{}），本规则不计",
                thousands(c.placeholders),
                placeholder_list(c)
            )
        } else {
            String::new()
        };
        out.push(rule(
            format!("{}不能为空", c.name),
            "完整性",
            format!("{{ not_null: {{ column: {col} }} }}"),
            missing,
            format!(
                "{:.2}% of {} rows are filled; {} are empty{placeholders}",
                share(c.rows - missing, c.rows),
                thousands(c.rows),
                thousands(missing)
            ),
        ));
    }
    let text = c.physical_type.contains("Utf8");
    let ids = c.class_count(Class::CitizenId)
        + c.class_count(Class::HkMoTwId)
        + c.class_count(Class::ForeignPermanentId);
    // Half of them valid at least: 18-digit address and building codes have the shape too.
    if text
        && c.class_share(Class::CitizenId) >= CLASS_SHARE
        && c.class_share(Class::CitizenIdValid) >= 0.5
    {
        let valid = c.class_count(Class::CitizenIdValid);
        let others = ids - c.class_count(Class::CitizenId);
        let note = if others > 0 {
            format!(
                "；其中 {} 个为港澳台或外国人证件号码，本规则判为不合格",
                thousands(others)
            )
        } else {
            String::new()
        };
        out.push(rule(
            format!("{}为有效的公民身份号码", c.name),
            "准确性",
            format!("{{ id_number: {{ column: {col} }} }}"),
            non_null - valid,
            format!(
                "{:.2}% of {} values are valid citizen IDs; {} are not{note}",
                share(valid, non_null),
                thousands(non_null),
                thousands(non_null - valid)
            ),
        ));
    }
    for (class, level, what) in [
        (Class::DivisionDistrict, "district", "区级"),
        (Class::DivisionStreet, "street", "街镇级"),
        (Class::DivisionCommunity, "community", "居村级"),
    ] {
        if text && c.class_share(class) >= CLASS_SHARE {
            let ok = c.class_count(class);
            let retired =
                if class == Class::DivisionDistrict && c.class_count(Class::DivisionRetired) > 0 {
                    format!(
                        "；其中 {} 个为已撤销的区划代码，按登记日期判断请加 as_of",
                        thousands(c.class_count(Class::DivisionRetired))
                    )
                } else {
                    String::new()
                };
            out.push(rule(
                format!("{}为现行上海{what}区划代码", c.name),
                "准确性",
                format!("{{ admin_code: {{ column: {col}, level: {level} }} }}"),
                non_null - ok,
                format!(
                    "{:.2}% of {} values are current Shanghai {level} codes; {} are not{retired}",
                    share(ok, non_null),
                    thousands(non_null),
                    thousands(non_null - ok)
                ),
            ));
        }
    }
    for (class, regex, what) in [
        (
            Class::CertificateNo,
            r"(J|L|BJ|BL)[0-9]{6}-[0-9]{4}-[0-9]{6}",
            "婚姻登记证件字号",
        ),
        (Class::Mobile, "1[3-9][0-9]{9}", "手机号码"),
    ] {
        if text && c.class_share(class) >= CLASS_SHARE {
            let ok = c.class_count(class);
            out.push(rule(
                format!("{}格式为{what}", c.name),
                "规范性",
                format!("{{ pattern: {{ column: {col}, regex: {} }} }}", q(regex)),
                non_null - ok,
                format!(
                    "{:.2}% of {} values are {}; {} are not",
                    share(ok, non_null),
                    thousands(non_null),
                    class.label().1,
                    thousands(non_null - ok)
                ),
            ));
        }
    }
    if text && c.class_share(Class::PersonName) >= CLASS_SHARE {
        let ok = c.name_forms;
        out.push(rule(
            format!("{}为 2–4 个汉字或以 · 连接", c.name),
            "规范性",
            format!("{{ pattern: {{ column: {col}, regex: {} }} }}", q(NAME_FORM)),
            non_null - ok,
            format!(
                "{:.2}% of {} values are Chinese names; {:.2}% are written as 2–4 Chinese characters or parts joined by · (U+00B7); {} are not",
                share(c.class_count(Class::PersonName), non_null),
                thousands(non_null),
                share(ok, non_null),
                thousands(non_null - ok)
            ),
        ));
    }
    if text && c.class_share(Class::Address) >= CLASS_SHARE {
        let numbered = c.class_count(Class::AddressNumbered);
        if numbered as f64 >= RELATION_SHARE * non_null as f64 {
            let a = sql_ident(&c.name);
            out.push(rule(
                format!("{}含路名和门牌号（或弄号）", c.name),
                "完整性",
                format!(
                    "{{ expr: {} }}",
                    q(&format!(
                        "{a} IS NULL OR (qc_addr_road({a}) IS NOT NULL AND (qc_addr_number({a}) IS NOT NULL OR qc_addr_lane({a}) IS NOT NULL))"
                    ))
                ),
                non_null - numbered,
                format!(
                    "{:.2}% of {} addresses name a road and a house or lane number (the address grammar, full-width digits read as ASCII); {} do not",
                    share(numbered, non_null),
                    thousands(non_null),
                    thousands(non_null - numbered)
                ),
            ));
        }
        let wide = c.class_count(Class::FullWidth);
        if wide as f64 <= (1.0 - RELATION_SHARE) * non_null as f64 {
            out.push(rule(
                format!("{}不含全角数字、字母或连字符", c.name),
                "规范性",
                format!(
                    "{{ expr: {} }}",
                    q(&format!("NOT qc_has_fullwidth({})", sql_ident(&c.name)))
                ),
                wide,
                format!(
                    "{} of {} addresses hold full-width digits, letters or hyphens (１２号); {} do not keep to half-width",
                    thousands(wide),
                    thousands(non_null),
                    thousands(wide)
                ),
            ));
        }
    }
    if text && c.class_share(Class::HouseNumber) >= CLASS_SHARE {
        let ok = c.class_count(Class::HouseNumber);
        let a = sql_ident(&c.name);
        out.push(rule(
            format!("{}为门牌号", c.name),
            "规范性",
            format!(
                "{{ expr: {} }}",
                q(&format!("{a} IS NULL OR coalesce(qc_addr_number({a}) = {a}, false)"))
            ),
            non_null - ok,
            format!(
                "{:.2}% of {} values are house numbers as the address grammar reads them (12号, 12-1号, 12号甲); {} are not",
                share(ok, non_null),
                thousands(non_null),
                thousands(non_null - ok)
            ),
        ));
    }
    if text && c.class_share(Class::PostcodeSh) >= CLASS_SHARE {
        let ok = c.class_count(Class::PostcodeSh);
        out.push(rule(
            format!("{}为上海邮政编码", c.name),
            "规范性",
            format!("{{ pattern: {{ column: {col}, regex: '20[0-2][0-9]{{3}}' }} }}"),
            non_null - ok,
            format!(
                "{:.2}% of {} values are Shanghai postcodes (20[0-2]xxx); {} are not",
                share(ok, non_null),
                thousands(non_null),
                thousands(non_null - ok)
            ),
        ));
    }
    // Shanghai's district codes (31xxxx) read as Zhejiang postcodes: a code column is not one.
    if text
        && c.class_share(Class::Postcode) >= CLASS_SHARE
        && c.class_share(Class::DivisionDistrict) < CLASS_SHARE
    {
        let ok = c.class_count(Class::Postcode);
        out.push(rule(
            format!("{}为有效邮政编码", c.name),
            "规范性",
            format!(
                "{{ expr: {} }}",
                q(&format!("qc_postcode_valid({})", sql_ident(&c.name)))
            ),
            non_null - ok,
            format!(
                "{:.2}% of {} values are postcodes; {} are not",
                share(ok, non_null),
                thousands(non_null),
                thousands(non_null - ok)
            ),
        ));
    }
    let numeric = c.physical_type.starts_with("Float") || c.physical_type.starts_with("Decimal");
    for (class, (min, max), what) in [
        (Class::LongitudeSh, SH_LONGITUDE, "经度"),
        (Class::LatitudeSh, SH_LATITUDE, "纬度"),
    ] {
        if numeric && c.class_share(class) >= 0.9 {
            let ok = c.class_count(class);
            out.push(rule(
                format!("{}在上海范围内（{what}）", c.name),
                "准确性",
                format!("{{ range: {{ column: {col}, min: {min}, max: {max} }} }}"),
                non_null - ok,
                format!(
                    "{:.2}% of {} values lie within Shanghai's {} ({min}–{max}); {} do not",
                    share(ok, non_null),
                    thousands(non_null),
                    if class == Class::LongitudeSh {
                        "longitudes"
                    } else {
                        "latitudes"
                    },
                    thousands(non_null - ok)
                ),
            ));
        }
    }
    if let Some(s) = allowed(c, text).or_else(|| code_format(c, text)) {
        out.push(s);
    }
    if let KeyCheck::Checked {
        duplicate_rows,
        duplicate_groups,
    } = c.key
        && non_null > 1
        && c.distinct as f64 >= 0.99 * non_null as f64
        && (duplicate_rows as f64) <= 0.005 * c.rows as f64
    {
        out.push(rule(
            format!("{}不重复", c.name),
            "唯一性",
            format!("{{ unique: {{ columns: [{col}] }} }}"),
            duplicate_rows,
            format!(
                "{} non-NULL values, {} rows share their value with another ({} values repeat)",
                thousands(non_null),
                thousands(duplicate_rows),
                thousands(duplicate_groups)
            ),
        ));
    }
    out
}

/// A relation must hold in this share of the rows where it can be judged to earn its rule.
const RELATION_SHARE: f64 = 0.99;
/// Two dates are taken as ordered when at most this share of rows has them the other way.
const ORDER_EXCEPTIONS: f64 = 0.001;
/// A relation judged on fewer rows proves nothing.
const MIN_COMPARED: u64 = 10;

/// Keeps, per key column, the other column(s) agreeing with it best, if well enough.
fn keep_best<K: PartialEq, T>(
    list: &mut Vec<(K, T, u64, u64)>,
    key: K,
    other: T,
    counts: (u64, u64),
) {
    let (compared, differ) = counts;
    if compared < MIN_COMPARED || ((compared - differ) as f64) < RELATION_SHARE * compared as f64 {
        return;
    }
    let agree = |c: u64, d: u64| (c - d) as f64 / c as f64;
    match list.iter_mut().find(|e| e.0 == key) {
        Some(e) if agree(compared, differ) > agree(e.2, e.3) => {
            *e = (key, other, compared, differ);
        }
        Some(_) => {}
        None => list.push((key, other, compared, differ)),
    }
}

/// The rules the relations between columns support: an ID number's birth date and sex
/// against the columns that state them, the order of dates, an age against its dates, and
/// dates not later than the day of the audit. Each needs its columns typed as the rule
/// requires in the draft (a CSV column of mixed date formats stays text, and gets none).
fn related(p: &Profile, format: &SourceFormat) -> Vec<Suggestion> {
    let column = |name: &str| p.columns.iter().find(|c| c.name == name);
    let typed = |name: &str, ty: &str| column(name).is_some_and(|c| column_type(c, format) == ty);
    let rows = p.columns.first().map_or(0, |c| c.rows);
    let pct = |n: u64, of: u64| n as f64 * 100.0 / of.max(1) as f64;
    let rule = |name: String, dimension, check: String, failed: u64, evidence: String| Suggestion {
        name,
        dimension,
        check,
        failed,
        rows,
        evidence,
    };
    let mut out = Vec::new();
    // Per ID number, the date column and the sex column that agree with it best.
    let mut best_birth: Vec<(&str, &str, u64, u64)> = Vec::new();
    let mut best_sex: Vec<(&str, &str, u64, u64)> = Vec::new();
    let mut best_age: Vec<(&str, (&str, &str), u64, u64)> = Vec::new();
    // Keyed by certificate column and part.
    let mut best_cert: Vec<((&str, &str), &str, u64, u64)> = Vec::new();
    for r in &p.relations {
        match r {
            Relation::IdBirthDate {
                id,
                date,
                compared,
                differ,
            } if typed(id, "string") && typed(date, "date") => {
                keep_best(
                    &mut best_birth,
                    id.as_str(),
                    date.as_str(),
                    (*compared, *differ),
                );
            }
            Relation::IdSex {
                id,
                sex,
                compared,
                differ,
            } if typed(id, "string") && typed(sex, "string") => {
                keep_best(
                    &mut best_sex,
                    id.as_str(),
                    sex.as_str(),
                    (*compared, *differ),
                );
            }
            Relation::Age {
                age,
                from,
                to,
                compared,
                differ,
            } if typed(age, "int") && typed(from, "date") && typed(to, "date") => {
                keep_best(
                    &mut best_age,
                    age.as_str(),
                    (from.as_str(), to.as_str()),
                    (*compared, *differ),
                );
            }
            Relation::CertPart {
                cert,
                part,
                column,
                compared,
                differ,
            } if typed(cert, "string")
                && typed(column, if part == "year" { "date" } else { "string" }) =>
            {
                keep_best(
                    &mut best_cert,
                    (cert.as_str(), part.as_str()),
                    column.as_str(),
                    (*compared, *differ),
                );
            }
            _ => {}
        }
    }
    // A rule that one column agrees with another, and the evidence: in how many rows `what`.
    let agreement = |name: String, check: String, (compared, differ): (u64, u64), what: String| {
        rule(
            name,
            "一致性",
            check,
            differ,
            format!(
                "in {} rows where {what} in {:.2}%; {} do not",
                thousands(compared),
                pct(compared - differ, compared),
                thousands(differ)
            ),
        )
    };
    for ((cert, part), column, compared, differ) in best_cert {
        let (c, other) = (sql_ident(cert), sql_ident(column));
        let (name, expr, what) = match part {
            "year" => (
                format!("{cert}年份与{column}年份一致"),
                format!("qc_cert_year({c}) = date_part('year', {other})"),
                "year",
            ),
            "organ" => (
                format!("{cert}区划代码与{column}一致"),
                format!("qc_cert_organ({c}) = {other}"),
                "division code",
            ),
            _ => (
                format!("{cert}类型与{column}一致"),
                format!("qc_cert_business({c}) = {other}"),
                "business type",
            ),
        };
        out.push(agreement(
            name,
            format!("{{ expr: {} }}", q(&expr)),
            (compared, differ),
            format!("both are read, the {what} in certificate number {cert} agrees with {column}"),
        ));
    }
    for (id, date, compared, differ) in best_birth {
        out.push(agreement(
            format!("{id}出生日期与{date}一致"),
            format!(
                "{{ id_number: {{ column: {}, aspect: birth_date, birth_date: {}, normalize: true }} }}",
                q(id),
                q(date)
            ),
            (compared, differ),
            format!("both are read, the birth date in {id} equals {date}"),
        ));
    }
    for (id, sex, compared, differ) in best_sex {
        out.push(agreement(
            format!("{id}性别位与{sex}一致"),
            format!(
                "{{ id_number: {{ column: {}, aspect: sex, sex: {}, normalize: true }} }}",
                q(id),
                q(sex)
            ),
            (compared, differ),
            format!("both are present, the sex digit of {id} (odd 1, even 2) equals {sex}"),
        ));
    }
    for (age, (from, to), compared, differ) in best_age {
        out.push(agreement(
            format!("{age}等于{from}至{to}的周岁数"),
            format!(
                "{{ expr: {} }}",
                q(&format!(
                    "{} = qc_age_years({}, {})",
                    sql_ident(age),
                    sql_ident(from),
                    sql_ident(to)
                ))
            ),
            (compared, differ),
            format!("all three are present, {age} equals the full years from {from} to {to}"),
        ));
    }
    out.extend(orders(p, &typed, rows));
    for r in &p.relations {
        let Relation::Implies {
            from,
            from_part,
            to,
            to_part,
            implications,
        } = r
        else {
            continue;
        };
        let ty = |name: &str| column(name).map(|c| column_type(c, format));
        let (Some(from_ty), Some(to_ty)) = (ty(from), ty(to)) else {
            continue;
        };
        // The SQL condition that `column`'s `part` is `value`, if the draft's type allows it.
        let condition = |column: &str, part: Part, ty: &str, value: &str| {
            let c = sql_ident(column);
            let text = |v: &str| format!("'{}'", v.replace('\'', "''"));
            match (part, ty) {
                (Part::Presence, _) if value == "present" => Some(format!("{c} IS NOT NULL")),
                (Part::Presence, _) => Some(format!("{c} IS NULL")),
                (Part::Valid, "string") if value == "valid" => Some(format!("qc_id_valid({c})")),
                (Part::Valid, "string") => Some(format!("NOT qc_id_valid({c})")),
                (Part::Kind, "string") => Some(format!("qc_id_kind({c}) = {}", text(value))),
                (Part::First, "string") => Some(format!("left({c}, 1) = {}", text(value))),
                (Part::Value, "string") => Some(format!("{c} = {}", text(value))),
                (Part::Value, "int") => Some(format!("{c} = {value}")),
                _ => None,
            }
        };
        let whens: Option<Vec<String>> = implications
            .iter()
            .map(|i| {
                Some(format!(
                    "WHEN {} THEN {}",
                    condition(from, *from_part, from_ty, &i.value)?,
                    condition(to, *to_part, to_ty, &i.then)?
                ))
            })
            .collect();
        let Some(whens) = whens else {
            continue;
        };
        let failed: u64 = implications.iter().map(|i| i.rows - i.agree).sum();
        let note = |part: &Part| match part {
            Part::First => " (first character)",
            Part::Presence => " (filled or not)",
            Part::Valid => " (a valid citizen ID or not)",
            Part::Kind => " (kind of ID number)",
            Part::Value => "",
        };
        let of = |part: &Part| match part {
            Part::First => "首字符",
            Part::Presence => "是否填写",
            Part::Valid => "是否为有效身份号码",
            Part::Kind => "的号码类型",
            Part::Value => "",
        };
        let shown: Vec<String> = implications
            .iter()
            .take(8)
            .map(|i| {
                format!(
                    "{} → {} ({} of {})",
                    i.value,
                    i.then,
                    thousands(i.agree),
                    thousands(i.rows)
                )
            })
            .collect();
        let more = if implications.len() > 8 { ", …" } else { "" };
        out.push(rule(
            format!("{to}{}与{from}{}相符", of(to_part), of(from_part)),
            "一致性",
            format!("{{ expr: {} }}", q(&format!("CASE {} END", whens.join(" ")))),
            failed,
            format!(
                "values of {from}{} that go with one value of {to}{} in at least {:.0}% of their rows: {}{more}; {} do not",
                note(from_part),
                note(to_part),
                CONFIDENCE * 100.0,
                shown.join(", "),
                thousands(failed)
            ),
        ));
    }
    for r in &p.relations {
        if let Relation::Later {
            column,
            day,
            compared,
            later,
        } = r
            && typed(column, "date")
            && *compared >= MIN_COMPARED
            && *later as f64 <= ORDER_EXCEPTIONS * *compared as f64
        {
            out.push(rule(
                format!("{column}不晚于当天"),
                "准确性",
                format!(
                    "{{ expr: {} }}",
                    q(&format!("{} <= current_date()", sql_ident(column)))
                ),
                *later,
                format!(
                    "{:.2}% of {} dates lie on or before {day}, the day of the profile (the rule compares with the day of each audit); {} do not",
                    pct(compared - later, *compared),
                    thousands(*compared),
                    thousands(*later)
                ),
            ));
        }
    }
    for r in &p.relations {
        let Relation::Copy { column, of, copied } = r else {
            continue;
        };
        if !typed(column, "string") || !typed(of, "string") {
            continue;
        }
        let equal = format!("{} = qc_id_canonical({})", sql_ident(column), sql_ident(of));
        let judged = format!("both are present, {column} equals the person key of {of}");
        let (name, expr, what) = match &copied.since {
            None => (format!("{column}等于{of}的规范号码"), equal, judged),
            Some((date, day)) if typed(date, "date") => (
                format!("{column}等于{of}的规范号码（{date}自{day}起）"),
                format!(
                    "CASE WHEN {} >= DATE '{day}' THEN {equal} END",
                    sql_ident(date)
                ),
                format!(
                    "{date} is {day} or later (before, {} of {} rows were equal) and {judged}",
                    thousands(copied.before_equal),
                    thousands(copied.before)
                ),
            ),
            Some(_) => continue,
        };
        out.push(agreement(
            name,
            format!("{{ expr: {} }}", q(&expr)),
            (copied.compared, copied.differ),
            what,
        ));
    }
    for r in &p.relations {
        let Relation::Deadline {
            from,
            to,
            column,
            value,
            deadline: d,
        } = r
        else {
            continue;
        };
        if !typed(from, "date") || !typed(to, "date") || !typed(column, "string") {
            continue;
        }
        let (a, b) = (sql_ident(from), sql_ident(to));
        let (first, last) = &d.calendar;
        let span = |c: &str| format!("{c} BETWEEN DATE '{first}' AND DATE '{last}'");
        let expr = format!(
            "CASE WHEN {} = '{}' AND {} AND {} THEN qc_workdays_between({a}, {b}) <= {} END",
            sql_ident(column),
            value.replace('\'', "''"),
            span(&a),
            span(&b),
            d.within
        );
        let overall = d.all_rows.map_or(String::new(), |m| {
            format!(" (over all rows, {m} working days)")
        });
        out.push(rule(
            format!("{column}为{value}时{to}在{from}后{}个工作日内", d.within),
            "时效性",
            format!("{{ expr: {} }}", q(&expr)),
            d.late,
            format!(
                "where {column} is {value}, {:.2}% of {} rows with both dates within the working-day calendar ({first} to {last}) have {to} within {} working days of {from}{overall}; {} do not",
                pct(d.compared - d.late, d.compared),
                thousands(d.compared),
                d.within,
                thousands(d.late)
            ),
        ));
    }
    out.extend(ranges(p, &typed, rows));
    out.extend(prefixes(p, &typed, rows));
    for r in &p.relations {
        if let Relation::AddressDistrict {
            address,
            district,
            named,
        } = r
            && typed(address, "string")
            && typed(district, "string")
            && named.compared >= MIN_COMPARED
            && named.differ as f64 <= ORDER_EXCEPTIONS * named.compared as f64
        {
            let (a, d) = (sql_ident(address), sql_ident(district));
            out.push(rule(
                format!("{address}中的区名与{district}一致"),
                "一致性",
                format!(
                    "{{ expr: {} }}",
                    q(&format!(
                        "qc_addr_district({a}) IS NULL OR qc_addr_district({a}) = qc_district_name({d})"
                    ))
                ),
                named.differ,
                format!(
                    "{:.2}% of {} rows whose address names a district and whose code is one agree on it; {} do not",
                    pct(named.compared - named.differ, named.compared),
                    thousands(named.compared),
                    thousands(named.differ)
                ),
            ));
        }
    }
    for r in &p.relations {
        let Relation::Point {
            longitude,
            latitude,
            district,
            placed,
        } = r
        else {
            continue;
        };
        let number = |c: &str| numeric(&typed, c);
        if placed.compared < MIN_COMPARED
            || !number(longitude)
            || !number(latitude)
            || !typed(district, "string")
        {
            continue;
        }
        let judged = format!(
            "of {} rows with a point and a current district code",
            thousands(placed.compared)
        );
        // The boundaries are ≈100 m precise: a point just outside is a warning's matter.
        if placed.outside as f64 <= 0.01 * placed.compared as f64 {
            out.push(rule(
                "坐标落在所填区的边界内".to_string(),
                "一致性",
                format!(
                    "{{ within_region: {{ longitude: {}, latitude: {}, district: {} }} }}",
                    q(longitude),
                    q(latitude),
                    q(district)
                ),
                placed.outside,
                format!(
                    "{:.2}% {judged} lie inside its boundary; {} do not",
                    pct(placed.compared - placed.outside, placed.compared),
                    thousands(placed.outside)
                ),
            ));
        }
        if placed.far as f64 <= ORDER_EXCEPTIONS * placed.compared as f64 {
            out.push(rule(
                format!("坐标距所填区不超过 {} 公里", FAR_METRES / 1000.0),
                "一致性",
                format!(
                    "{{ expr: {} }}",
                    q(&format!(
                        "qc_distance_to_district({}, {}, {}) <= {FAR_METRES}",
                        sql_ident(longitude),
                        sql_ident(latitude),
                        sql_ident(district)
                    ))
                ),
                placed.far,
                format!(
                    "{:.2}% {judged} lie within {FAR_METRES} m of it; {} do not",
                    pct(placed.compared - placed.far, placed.compared),
                    thousands(placed.far)
                ),
            ));
        }
    }
    out
}

/// Whether the draft types column `c` as a number.
fn numeric(typed: &dyn Fn(&str, &str) -> bool, c: &str) -> bool {
    typed(c, "int") || typed(c, "float")
}

/// `range` rules for number and date columns, within the fences the profile drew from its
/// sample: a side is kept where at most [`ORDER_EXCEPTIONS`] of the values cross it (a long
/// tail is no error), the zero of a column never negative in the sample as a bound of its
/// own.
fn ranges(p: &Profile, typed: &dyn Fn(&str, &str) -> bool, rows: u64) -> Vec<Suggestion> {
    let mut out = Vec::new();
    for r in &p.relations {
        let Relation::Range {
            column,
            compared,
            fences: f,
        } = r
        else {
            continue;
        };
        let date = typed(column, "date");
        let number = numeric(typed, column);
        if *compared < MIN_COMPARED || !(date && f.date || number && !f.date) {
            continue;
        }
        let few = |n: u64| n as f64 <= ORDER_EXCEPTIONS * *compared as f64;
        let (low, high) = (few(f.below), few(f.above));
        if !low && !high {
            continue;
        }
        let value = |v: &str| if date { q(v) } else { v.to_string() };
        let mut bounds = Vec::new();
        let mut said = Vec::new();
        if low {
            let (key, op) = if f.low_inclusive {
                ("min", "≥")
            } else {
                ("above", ">")
            };
            bounds.push(format!("{key}: {}", value(&f.low)));
            said.push(format!("{op} {}", f.low));
        }
        if high {
            bounds.push(format!("max: {}", value(&f.high)));
            said.push(format!("≤ {}", f.high));
        }
        let failed = if low { f.below } else { 0 } + if high { f.above } else { 0 };
        let left_out = match (low, high) {
            (true, false) => format!(
                " (the upper fence {} left out: {} values above it)",
                f.high,
                thousands(f.above)
            ),
            (false, true) => format!(
                " (the lower fence {} left out: {} values below it)",
                f.low,
                thousands(f.below)
            ),
            _ => String::new(),
        };
        out.push(Suggestion {
            name: format!("{column}在范围内（{}）", said.join(" 且 ")),
            dimension: "准确性",
            check: format!("{{ range: {{ column: {}, {} }} }}", q(column), bounds.join(", ")),
            failed,
            rows,
            evidence: format!(
                "{} values present; 1st–99th percentile {}–{} in the sample, fenced a quarter of that spread beyond, rounded: {}{left_out}; {} do not",
                thousands(*compared),
                f.p01,
                f.p99,
                said.join(" and "),
                thousands(failed)
            ),
        });
    }
    out
}

/// Rules that two code columns share their leading characters (a street code its district's,
/// an address code its committee's): as many as (almost) every row shares, where other rows'
/// values do not; a pair is left out when the rules kept already tie its two columns through
/// columns never NULL, each sharing at least as many characters.
fn prefixes(p: &Profile, typed: &dyn Fn(&str, &str) -> bool, rows: u64) -> Vec<Suggestion> {
    let mut found: Vec<(&str, &str, usize, u64, u64, f64)> = Vec::new();
    for r in &p.relations {
        let Relation::Prefix {
            left,
            right,
            shared,
        } = r
        else {
            continue;
        };
        if !typed(left, "string") || !typed(right, "string") {
            continue;
        }
        let Some(k) = shared.level(1.0 - ORDER_EXCEPTIONS) else {
            continue;
        };
        let (compared, agree) = shared.agree(k);
        if compared >= MIN_COMPARED {
            found.push((left, right, k, compared, agree, shared.by_chance(k)));
        }
    }
    // Deepest first: a pair is left out when kept pairs sharing at least as many characters
    // already link its columns through columns never NULL (a maximum spanning forest).
    found.sort_by(|x, y| y.2.cmp(&x.2).then((x.3 - x.4).cmp(&(y.3 - y.4))));
    let never_null = |name: &str| p.columns.iter().any(|c| c.name == name && c.nulls == 0);
    let mut kept: Vec<(&str, &str, usize, u64, u64, f64)> = Vec::new();
    for f in found {
        let (a, c, k) = (f.0, f.1, f.2);
        let mut reached = vec![a];
        let mut todo = vec![a];
        let mut linked = false;
        while let Some(at) = todo.pop() {
            for e in kept.iter().filter(|e| e.2 >= k) {
                let next = if e.0 == at {
                    e.1
                } else if e.1 == at {
                    e.0
                } else {
                    continue;
                };
                if next == c {
                    linked = true;
                } else if never_null(next) && !reached.contains(&next) {
                    reached.push(next);
                    todo.push(next);
                }
            }
        }
        if !linked {
            kept.push(f);
        }
    }
    kept
        .iter()
        .map(|&(a, b, k, compared, agree, chance)| Suggestion {
            name: format!("{a}与{b}的前 {k} 位一致"),
            dimension: "一致性",
            check: format!(
                "{{ expr: {} }}",
                q(&format!(
                    "substr({}, 1, {k}) = substr({}, 1, {k})",
                    sql_ident(a),
                    sql_ident(b)
                ))
            ),
            failed: compared - agree,
            rows,
            evidence: format!(
                "{a} and {b} share their first {k} characters in {:.2}% of {} rows where both are present (values of different rows: {:.2}%); {} do not",
                agree as f64 * 100.0 / compared as f64,
                thousands(compared),
                chance * 100.0,
                thousands(compared - agree)
            ),
        })
        .collect()
}

/// `order` rules for the pairs of date columns that (almost) always come in one order,
/// leaving out a pair `a ≤ c` that `a ≤ b` and `b ≤ c` imply through a column `b` never
/// NULL; and for each pair kept whose days apart span a narrow range, a rule that they stay
/// within it (the time from application to registration, from death to cremation).
fn orders(p: &Profile, typed: &dyn Fn(&str, &str) -> bool, rows: u64) -> Vec<Suggestion> {
    struct Found<'a> {
        left: &'a str,
        op: &'static str,
        right: &'a str,
        failed: u64,
        compared: u64,
        /// The relation's own columns (from, to) and the days between them.
        gap: (&'a str, &'a str, Option<&'a DayGap>),
        numbers: bool,
    }
    let few = |n: u64, of: u64| of >= MIN_COMPARED && n as f64 <= ORDER_EXCEPTIONS * of as f64;
    let mut found: Vec<Found<'_>> = Vec::new();
    for r in &p.relations {
        let Relation::Order {
            left,
            right,
            less,
            equal,
            greater,
            days,
            numbers,
        } = r
        else {
            continue;
        };
        let number = |c: &str| numeric(typed, c);
        let kind_ok = if *numbers {
            number(left) && number(right)
        } else {
            typed(left, "date") && typed(right, "date")
        };
        if !kind_ok {
            continue;
        }
        let compared = less + equal + greater;
        let gap = (left.as_str(), right.as_str(), days.as_ref());
        let (l, op, r, failed) = if few(less + greater, compared) {
            (left, "=", right, less + greater)
        } else if few(*greater, compared) {
            (left, "<=", right, *greater)
        } else if few(*less, compared) {
            (right, "<=", left, *less)
        } else {
            continue;
        };
        found.push(Found {
            left: l,
            op,
            right: r,
            failed,
            compared,
            gap,
            numbers: *numbers,
        });
    }
    let never_null = |name: &str| p.columns.iter().any(|c| c.name == name && c.nulls == 0);
    let before = |a: &str, b: &str| {
        found
            .iter()
            .any(|f| f.left == a && f.op == "<=" && f.right == b)
    };
    let implied = |a: &str, c: &str| {
        p.columns.iter().any(|b| {
            b.name != a
                && b.name != c
                && never_null(&b.name)
                && before(a, &b.name)
                && before(&b.name, c)
        })
    };
    let mut out = Vec::new();
    for f in found
        .iter()
        .filter(|f| f.op != "<=" || !implied(f.left, f.right))
    {
        let (left, op, right) = (f.left, f.op, f.right);
        out.push(Suggestion {
            name: if op == "=" {
                format!("{left}与{right}相同")
            } else if f.numbers {
                format!("{left}不大于{right}")
            } else {
                format!("{left}不晚于{right}")
            },
            dimension: "准确性",
            check: format!(
                "{{ order: {{ left: {}, op: {}, right: {} }} }}",
                q(left),
                q(op),
                q(right)
            ),
            failed: f.failed,
            rows,
            evidence: format!(
                "{left} {op} {right} in {:.2}% of {} rows where both are present; {} are not",
                (f.compared - f.failed) as f64 * 100.0 / f.compared.max(1) as f64,
                thousands(f.compared),
                thousands(f.failed)
            ),
        });
        let (first, _, Some(days)) = f.gap else {
            continue;
        };
        if op == "=" {
            continue;
        }
        // Days from the earlier column to the later one.
        let (from, to) = (left, right);
        let days = if first == from {
            days.clone()
        } else {
            DayGap {
                p01: -days.p99,
                p99: -days.p01,
                min: -days.max,
                max: -days.min,
                outside: days.outside,
            }
        };
        let (a, b) = (sql_ident(from), sql_ident(to));
        out.push(Suggestion {
            name: if days.min >= 0 {
                format!("{to}在{from}后 {}–{} 天内", days.min, days.max)
            } else {
                format!("{to}与{from}相差 {}–{} 天", days.min, days.max)
            },
            dimension: "时效性",
            check: format!(
                "{{ expr: {} }}",
                q(&format!(
                    "{b} BETWEEN {a} + INTERVAL '{}' DAY AND {a} + INTERVAL '{}' DAY",
                    days.min, days.max
                ))
            ),
            failed: days.outside,
            rows,
            evidence: format!(
                "days from {from} to {to} in {} rows where both are present: 1st–99th percentile {}–{}, spanning {}–{} without far outliers; {} do not",
                thousands(f.compared),
                days.p01,
                days.p99,
                days.min,
                days.max,
                thousands(days.outside)
            ),
        });
    }
    out
}

/// Whether a class earns a column a rule of its own (the shape of a citizen ID does not:
/// 18-digit address codes have it too).
fn has_rule(class: Class) -> bool {
    !matches!(
        class,
        Class::CitizenId | Class::DivisionRetired | Class::DivisionElsewhere | Class::Address
    )
}

/// Code shapes a `pattern` rule may allow at most.
const MAX_SHAPES: usize = 4;
/// The shapes allowed must cover this share of a column's non-NULL values.
const SHAPE_SHARE: f64 = 0.999;

/// A `pattern` rule for a column of codes written in one to [`MAX_SHAPES`] shapes (`I21.9`,
/// `C34`: a letter, two digits, maybe a dot and a digit), too many to list in an `allowed`
/// rule, when no class of its values has a rule of its own.
fn code_format(c: &ColumnProfile, text: bool) -> Option<Suggestion> {
    let non_null = c.rows - c.nulls;
    if !text
        || c.distinct < 2
        || non_null < 50
        || c.code_shapes.is_empty()
        || c.classes
            .iter()
            .any(|k| k.share >= CLASS_SHARE && has_rule(k.class))
    {
        return None;
    }
    let mut kept = Vec::new();
    let mut covered = 0;
    for (shape, n) in &c.code_shapes {
        // A shape without letters or digits (`/`, `-`) is a placeholder's, not a code's.
        if covered as f64 >= SHAPE_SHARE * non_null as f64
            || kept.len() == MAX_SHAPES
            || !shape.contains(['A', 'a', '9'])
        {
            break;
        }
        kept.push(shape.as_str());
        covered += n;
    }
    if (covered as f64) < SHAPE_SHARE * non_null as f64 {
        return None;
    }
    let regex: Vec<String> = kept.iter().map(|s| shape_regex(s)).collect();
    let failed = non_null - covered;
    Some(Suggestion {
        name: format!("{}格式一致", c.name),
        dimension: "规范性",
        check: format!(
            "{{ pattern: {{ column: {}, regex: {} }} }}",
            q(&c.name),
            q(&regex.join("|"))
        ),
        failed,
        rows: c.rows,
        evidence: format!(
            "{:.2}% of {} values are written as {} (A letter, 9 digit); {} are not",
            covered as f64 * 100.0 / non_null.max(1) as f64,
            thousands(non_null),
            kept.join(" or "),
            thousands(failed)
        ),
    })
}

/// The regex matching exactly the values of code shape `shape` (see [`ColumnProfile`]'s
/// `code_shapes`): `A99.9` → `[A-Z][0-9]{2}\.[0-9]`.
fn shape_regex(shape: &str) -> String {
    let mut out = String::new();
    let mut chars = shape.chars().peekable();
    while let Some(c) = chars.next() {
        let mut run = 1;
        while chars.peek() == Some(&c) {
            chars.next();
            run += 1;
        }
        let one = match c {
            'A' => "[A-Z]".to_string(),
            'a' => "[a-z]".to_string(),
            '9' => "[0-9]".to_string(),
            c => regex::escape(&c.to_string()),
        };
        out.push_str(&one);
        if run > 1 {
            let _ = write!(out, "{{{run}}}");
        }
    }
    out
}

/// An `allowed` rule for a text column of few distinct values, leaving out rare ones.
fn allowed(c: &ColumnProfile, text: bool) -> Option<Suggestion> {
    let non_null = c.rows - c.nulls;
    // `codes` lists every distinct value with its exact count.
    if !text
        || c.codes.len() as u64 != c.distinct
        || c.distinct > MAX_CODES
        || c.distinct < 2
        || non_null < 50
        || c.masked
    {
        return None;
    }
    let rare = |n: u64| n < 10 && (n as f64) <= RARE_SHARE * non_null as f64;
    let (kept, left): (Vec<_>, Vec<_>) = c.codes.iter().partition(|t| {
        let trimmed = t.value.trim();
        !rare(t.count) && !trimmed.is_empty() && !super::classes::is_placeholder(trimmed)
    });
    if kept.is_empty() {
        return None;
    }
    let failed: u64 = left.iter().map(|t| t.count).sum();
    let mut values: Vec<&str> = kept.iter().map(|t| t.value.as_str()).collect();
    values.sort_unstable();
    let listed: Vec<String> = values.iter().map(|v| q(v)).collect();
    let left_out: Vec<String> = left
        .iter()
        .map(|t| format!("{} ×{}", t.value.trim(), t.count))
        .collect();
    Some(Suggestion {
        name: format!("{}在代码集内", c.name),
        dimension: "规范性",
        check: format!(
            "{{ allowed: {{ column: {}, values: [{}] }} }}",
            q(&c.name),
            listed.join(", ")
        ),
        failed,
        rows: c.rows,
        evidence: format!(
            "{} distinct values in {} rows; left out as rare, blank or placeholder: {}",
            c.distinct,
            thousands(non_null),
            if left_out.is_empty() {
                "none".to_string()
            } else {
                left_out.join(", ")
            }
        ),
    })
}

/// The pack's column type: a Parquet column's own; a CSV column's text unless every present
/// value reads as the type in its default format (and no blank or placeholder would fail
/// to parse).
fn column_type(c: &ColumnProfile, format: &SourceFormat) -> &'static str {
    let d = &c.physical_type;
    if matches!(format, SourceFormat::Parquet) {
        return if d.contains("Utf8") {
            "string"
        } else if d.starts_with("Int") || d.starts_with("UInt") {
            "int"
        } else if d.starts_with("Float") || d.starts_with("Decimal") {
            "float"
        } else if d.starts_with("Date") {
            "date"
        } else if d.starts_with("Timestamp") {
            "timestamp"
        } else if d == "Boolean" {
            "bool"
        } else {
            "string"
        };
    }
    let clean = c.blanks == 0 && c.placeholders == 0 && c.inferred_share >= 1.0;
    match c.inferred_type.as_str() {
        // A column of few values (sex 1/2, type codes) is a code set, compared as text.
        "integer" if clean && c.distinct > MAX_CODES => "int",
        "date" if clean && c.date_formats.iter().all(|(f, _)| f == "YYYY-MM-DD") => "date",
        _ => "string",
    }
}

fn placeholder_list(c: &ColumnProfile) -> String {
    let list: Vec<String> = c
        .placeholder_values
        .iter()
        .map(|(v, n)| format!("{v} ×{n}"))
        .collect();
    list.join("、")
}

/// A max_rate a little above `failed / rows`: ×1.2, rounded up to two significant digits.
fn rate_above(failed: u64, rows: u64) -> String {
    let rate = failed as f64 / rows.max(1) as f64 * 1.2;
    let digits = (-rate.log10().floor()) as i32 + 1;
    let scale = 10f64.powi(digits.max(0));
    let up = (rate * scale - 1e-9).ceil() / scale;
    let decimals = usize::try_from(digits.max(0)).unwrap_or(0);
    format!("{:.*}", decimals, up.min(1.0))
}

/// An identifier for the pack (lower-case ASCII letters, digits and `_`).
fn identifier(name: &str) -> String {
    let mut id: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    id = id.trim_matches('_').to_string();
    if id.is_empty() {
        id = "table".into();
    } else if id.starts_with(|c: char| c.is_ascii_digit()) {
        id = format!("t_{id}");
    }
    id
}

/// `s` as a single-quoted YAML scalar.
fn q(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// `s` as a double-quoted SQL identifier.
fn sql_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// `path` (relative to the current folder, or absolute) as seen from `dir`.
fn relative(path: &str, dir: &Path) -> String {
    let (Ok(target), Ok(base)) = (std::path::absolute(path), std::path::absolute(dir)) else {
        return path.to_string();
    };
    let t: Vec<Component<'_>> = target
        .components()
        .filter(|c| *c != Component::CurDir)
        .collect();
    let b: Vec<Component<'_>> = base
        .components()
        .filter(|c| *c != Component::CurDir)
        .collect();
    let common = t.iter().zip(&b).take_while(|(x, y)| x == y).count();
    // Sharing only the root (or a drive): the absolute path reads better than ../../..
    if common <= 1 {
        return target.display().to_string();
    }
    let mut rel = PathBuf::new();
    for _ in common..b.len() {
        rel.push("..");
    }
    for c in &t[common..] {
        rel.push(c.as_os_str());
    }
    rel.display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_round_up_above_what_was_seen() {
        assert_eq!(rate_above(3, 10_000), "0.00036");
        assert_eq!(rate_above(1, 3), "0.40");
        assert_eq!(rate_above(10, 10), "1.0");
        assert_eq!(identifier("死亡登记"), "table");
        assert_eq!(identifier("2026死亡"), "t_2026");
        assert_eq!(identifier("Death-2026"), "death_2026");
        assert_eq!(shape_regex("A99.9"), r"[A-Z][0-9]{2}\.[0-9]");
        assert_eq!(shape_regex("AA-9999 a"), "[A-Z]{2}\\-[0-9]{4} [a-z]");
    }
}
