//! Stage 1, RULES: rule packs in, checked (bound) packs out. Reads schemas, never data.
//!
//! - [`parse`]: YAML text → [`Pack`], every value keeping its line and column;
//! - [`bind`]: [`Pack`] + the sources' schemas → [`bind::BoundPack`], collecting every
//!   problem as a [`crate::diagnostic::Diagnostic`];
//! - [`sql`]: rule SQL (`expr`, `when`) accepted as a row expression only;
//! - [`codelists`]: named code lists shipped beside the packs.

pub mod bind;
pub mod codelists;
pub mod parse;
pub mod sql;

use std::fmt;

use serde::{Deserialize, Serialize};

pub use serde_saphyr::Spanned;

use crate::checks::CheckDoc;

/// A rule pack as written: one thematic library (专题库) and its tables and rules.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackDoc {
    pub library: LibraryDoc,
    pub tables: Vec<TableDoc>,
    /// How the library's scores weigh dimensions and severities (default: equal dimensions,
    /// warnings half an error).
    #[serde(default)]
    pub scoring: Option<crate::results::score::ScoringModel>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LibraryDoc {
    /// Stable identifier, also the SQL schema name of the library's tables (e.g. `marriage`).
    pub id: Spanned<String>,
    /// Chinese name shown in summaries and reports (e.g. `婚姻专题库`).
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableDoc {
    pub name: Spanned<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    pub source: SourceDoc,
    /// Declared columns; required for CSV, optional for Parquet (taken from the file).
    #[serde(default)]
    pub columns: Vec<ColumnDoc>,
    /// Key column(s) identifying a record in anomaly exports and feedback.
    pub key: Vec<Spanned<String>>,
    /// Column naming the data provider (department or district) of each row.
    #[serde(default)]
    pub provider: Option<Spanned<String>>,
    #[serde(default)]
    pub rules: Vec<RuleDoc>,
    /// Checks of the table as a whole (row count, freshness, completeness rate).
    #[serde(default)]
    pub table_checks: Vec<TableCheckDoc>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceDoc {
    /// File path or glob; relative paths are resolved against the pack file's folder.
    pub path: Spanned<String>,
    /// `parquet` or `csv`; defaults from the file extension.
    #[serde(default)]
    pub format: Option<Spanned<String>>,
    /// CSV only: `utf-8` (default), `gbk` or `gb18030`.
    #[serde(default)]
    pub encoding: Option<Spanned<String>>,
    /// CSV only: one ASCII character; default `,`.
    #[serde(default)]
    pub delimiter: Option<Spanned<String>>,
    /// CSV only: whether the first record names the columns; default true.
    #[serde(default)]
    pub header: Option<bool>,
    /// CSV only: one ASCII character; default `"`.
    #[serde(default)]
    pub quote: Option<Spanned<String>>,
    /// CSV only: field texts read as NULL; default `[""]`.
    #[serde(default)]
    pub null_values: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnDoc {
    pub name: Spanned<String>,
    #[serde(rename = "type")]
    pub data_type: Spanned<String>,
    #[serde(default)]
    pub title: Option<String>,
    /// CSV only, for date and timestamp columns: a chrono format such as `%Y%m%d`.
    #[serde(default)]
    pub format: Option<Spanned<String>>,
    /// Personal data, masked in reports and feedback: `id_number` or `name`.
    #[serde(default)]
    pub pii: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleDoc {
    pub id: Spanned<String>,
    /// Chinese name, shown in summaries, reports and feedback.
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    pub dimension: Spanned<String>,
    #[serde(default)]
    pub severity: Option<Spanned<String>>,
    /// Precondition (SQL boolean over the row): the rule applies only where it is true.
    #[serde(default)]
    pub when: Option<Spanned<String>>,
    #[serde(default)]
    pub threshold: Option<Threshold>,
    pub check: Spanned<CheckDoc>,
}

/// A check of a table as a whole: it has a verdict but no anomalous rows.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableCheckDoc {
    pub id: Spanned<String>,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    pub dimension: Spanned<String>,
    #[serde(default)]
    pub severity: Option<Spanned<String>>,
    pub check: Spanned<crate::checks::table::TableCheckKind>,
}

/// How many failed rows a rule tolerates before its verdict turns (default: none).
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Threshold {
    /// At most this many failed rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_count: Option<u64>,
    /// At most this share (0–1) of the applicable rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_rate: Option<f64>,
}

impl Threshold {
    /// Whether `failed` of `applicable` rows stays within the threshold. No threshold set
    /// means no failed row is tolerated.
    pub fn is_met(&self, failed: u64, applicable: u64) -> bool {
        let count_ok = self.max_count.is_none_or(|m| failed <= m);
        #[allow(clippy::cast_precision_loss)] // rates are compared, not counted
        let rate_ok = self
            .max_rate
            .is_none_or(|r| applicable == 0 || (failed as f64) <= r * applicable as f64);
        if self.max_count.is_none() && self.max_rate.is_none() {
            return failed == 0;
        }
        count_ok && rate_ok
    }
}

/// Quality dimension per GB/T 36344-2018, plus uniqueness.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    Conformity,
    Completeness,
    Accuracy,
    Consistency,
    Timeliness,
    Accessibility,
    Uniqueness,
}

impl Dimension {
    pub const ALL: [Dimension; 7] = [
        Dimension::Conformity,
        Dimension::Completeness,
        Dimension::Accuracy,
        Dimension::Consistency,
        Dimension::Timeliness,
        Dimension::Accessibility,
        Dimension::Uniqueness,
    ];

    pub fn zh(self) -> &'static str {
        match self {
            Dimension::Conformity => "规范性",
            Dimension::Completeness => "完整性",
            Dimension::Accuracy => "准确性",
            Dimension::Consistency => "一致性",
            Dimension::Timeliness => "时效性",
            Dimension::Accessibility => "可访问性",
            Dimension::Uniqueness => "唯一性",
        }
    }

    pub fn en(self) -> &'static str {
        match self {
            Dimension::Conformity => "conformity",
            Dimension::Completeness => "completeness",
            Dimension::Accuracy => "accuracy",
            Dimension::Consistency => "consistency",
            Dimension::Timeliness => "timeliness",
            Dimension::Accessibility => "accessibility",
            Dimension::Uniqueness => "uniqueness",
        }
    }

    /// Accepts the Chinese or the English name.
    pub fn parse(s: &str) -> Option<Dimension> {
        let s = s.trim();
        Dimension::ALL
            .into_iter()
            .find(|d| d.zh() == s || d.en().eq_ignore_ascii_case(s))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Error,
    Warn,
}

impl Severity {
    pub fn parse(s: &str) -> Option<Severity> {
        match s.trim() {
            "error" | "错误" => Some(Severity::Error),
            "warn" | "warning" | "警告" => Some(Severity::Warn),
            _ => None,
        }
    }
}

/// Declared column type. Parquet columns must be of the same family; CSV text is parsed to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnType {
    String,
    Int,
    Float,
    Date,
    Timestamp,
    Bool,
}

impl ColumnType {
    pub const NAMES: [&'static str; 6] = ["string", "int", "float", "date", "timestamp", "bool"];

    pub fn parse(s: &str) -> Option<ColumnType> {
        match s.trim() {
            "string" => Some(ColumnType::String),
            "int" => Some(ColumnType::Int),
            "float" => Some(ColumnType::Float),
            "date" => Some(ColumnType::Date),
            "timestamp" => Some(ColumnType::Timestamp),
            "bool" => Some(ColumnType::Bool),
            _ => None,
        }
    }

    /// The family of an Arrow type, if qc knows it.
    pub fn of_arrow(dt: &arrow::datatypes::DataType) -> Option<ColumnType> {
        use arrow::datatypes::DataType as D;
        match dt {
            D::Utf8 | D::LargeUtf8 | D::Utf8View => Some(ColumnType::String),
            D::Dictionary(_, v) => ColumnType::of_arrow(v),
            D::Int8
            | D::Int16
            | D::Int32
            | D::Int64
            | D::UInt8
            | D::UInt16
            | D::UInt32
            | D::UInt64 => Some(ColumnType::Int),
            D::Float16 | D::Float32 | D::Float64 | D::Decimal128(..) | D::Decimal256(..) => {
                Some(ColumnType::Float)
            }
            D::Date32 | D::Date64 => Some(ColumnType::Date),
            D::Timestamp(..) => Some(ColumnType::Timestamp),
            D::Boolean => Some(ColumnType::Bool),
            _ => None,
        }
    }

    /// The Arrow type qc builds when it parses CSV text into this type.
    pub fn arrow_type(self) -> arrow::datatypes::DataType {
        use arrow::datatypes::{DataType as D, TimeUnit};
        match self {
            ColumnType::String => D::Utf8,
            ColumnType::Int => D::Int64,
            ColumnType::Float => D::Float64,
            ColumnType::Date => D::Date32,
            ColumnType::Timestamp => D::Timestamp(TimeUnit::Microsecond, None),
            ColumnType::Bool => D::Boolean,
        }
    }

    pub fn is_numeric(self) -> bool {
        matches!(self, ColumnType::Int | ColumnType::Float)
    }

    pub fn is_temporal(self) -> bool {
        matches!(self, ColumnType::Date | ColumnType::Timestamp)
    }
}

impl fmt::Display for ColumnType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = *self as usize;
        f.write_str(ColumnType::NAMES[i])
    }
}

/// Parse and bind every pack named by `args` (files, or folders of packs). Returns the packs
/// that bound cleanly and every diagnostic found, in file order.
///
/// Two stages: each pack's tables and row rules bind on their own; then, with every table of
/// the run registered in `ctx`, the set-based rules (`unique`, `reference`, `query`) bind,
/// since they may read other tables and other packs.
pub async fn load(
    args: &[std::path::PathBuf],
    ctx: &datafusion::prelude::SessionContext,
    sources: &bind::SourceOptions,
) -> crate::error::Result<(Vec<bind::BoundPack>, Vec<crate::diagnostic::Diagnostic>)> {
    let mut packs = Vec::new();
    let mut diagnostics = Vec::new();
    let mut libraries: std::collections::HashMap<String, std::path::PathBuf> =
        std::collections::HashMap::new();
    let state = ctx.state();
    for path in parse::pack_paths(args)? {
        let pack = match parse::parse_file(&path)? {
            Ok(p) => p,
            Err(d) => {
                diagnostics.push(*d);
                continue;
            }
        };
        let id = &pack.doc.library.id;
        if let Some(first) = libraries.get(&id.value) {
            diagnostics.push(
                crate::diagnostic::Diagnostic::error(
                    "duplicate-library",
                    format!(
                        "library `{}` is also declared in {}",
                        id.value,
                        first.display()
                    ),
                )
                .at(pack.span(id)),
            );
            continue;
        }
        libraries.insert(id.value.clone(), path.clone());
        let (bound, diags) = bind::bind(&pack, &state, sources).await;
        diagnostics.extend(diags);
        if let Some(b) = bound {
            packs.push((pack, b));
        }
    }
    let elsewhere = sibling_libraries(&libraries);
    bind::bind_set_rules(&mut packs, ctx, elsewhere, &mut diagnostics).await?;
    Ok((packs.into_iter().map(|(_, b)| b).collect(), diagnostics))
}

/// Libraries declared by packs beside the run's packs but not in the run (id → pack path).
fn sibling_libraries(
    in_run: &std::collections::HashMap<String, std::path::PathBuf>,
) -> std::collections::BTreeMap<String, std::path::PathBuf> {
    let folders: std::collections::BTreeSet<std::path::PathBuf> = in_run
        .values()
        .filter_map(|p| p.parent().map(std::path::Path::to_path_buf))
        .collect();
    let mut out = std::collections::BTreeMap::new();
    for folder in folders {
        let Ok(paths) = parse::pack_paths(std::slice::from_ref(&folder)) else {
            continue;
        };
        for path in paths {
            if let Ok(Ok(pack)) = parse::parse_file(&path) {
                let id = pack.doc.library.id.value;
                if !in_run.contains_key(&id) {
                    out.entry(id).or_insert(path);
                }
            }
        }
    }
    out
}
