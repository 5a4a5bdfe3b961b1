//! A draft rule pack from a profile (`qc profile --suggest PACK.yaml`): for each column the
//! rules its figures support — presence, ID numbers, division codes, certificate numbers,
//! phones, postcodes, coordinates, code sets, uniqueness — each with a comment giving the
//! evidence and a threshold just above the rate observed, so that the pack, run on the
//! profiled data, passes and fails exactly the rows the comments count.

use std::fmt::Write as _;
use std::path::{Component, Path, PathBuf};

use super::classes::{Class, SH_LATITUDE, SH_LONGITUDE};
use super::{ColumnProfile, KeyCheck, Profile};
use crate::rules::pii::Pii;
use crate::rules::source::{BoundSource, SourceFormat};
use crate::text::thousands;

/// A class must cover this share of a column's present values to earn its rule.
const CLASS_SHARE: f64 = 0.8;
/// A text column with at most this many distinct values gets an `allowed` rule.
const MAX_CODES: u64 = 30;
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
    for c in &p.columns {
        for s in suggestions(c) {
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
    }
    if n == 0 {
        out.push_str("      []\n");
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
    if text && c.class_share(Class::CitizenId) >= CLASS_SHARE {
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
    if let Some(s) = allowed(c, text) {
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

/// An `allowed` rule for a text column of few distinct values, leaving out rare ones.
fn allowed(c: &ColumnProfile, text: bool) -> Option<Suggestion> {
    let non_null = c.rows - c.nulls;
    if !text
        || !c.distinct_exact
        || !c.top_exact
        || c.distinct > MAX_CODES
        || c.distinct < 2
        || non_null < 50
    {
        return None;
    }
    // Every distinct value is among the top values only when there are at most 10; beyond
    // that the list would be incomplete.
    if c.top.len() as u64 != c.distinct || c.masked {
        return None;
    }
    let rare = |n: u64| n < 10 && (n as f64) <= RARE_SHARE * non_null as f64;
    let (kept, left): (Vec<_>, Vec<_>) = c.top.iter().partition(|t| {
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
        "integer" if clean => "int",
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
    }
}
