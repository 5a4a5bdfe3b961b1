//! Stage 1, RULES: the rule language's vocabulary, which every later stage speaks:
//! thresholds, quality dimensions, severities, column types and bound columns, table names
//! ([`TableRef`]), sources ([`source`]), the scoring model ([`scoring`]), personal-data
//! kinds ([`pii`]), rule SQL's confinement and namespace ([`sql`]) and the code lists
//! shipped beside the packs ([`codelists`]).
//!
//! Reading a pack and binding it to its sources is [`crate::bind`]'s job, above the
//! catalogue of check kinds and the scans it consults.

pub mod codelists;
pub mod pii;
pub mod scoring;
pub mod source;
pub mod sql;

use std::fmt;

use serde::{Deserialize, Serialize};

pub use serde_saphyr::Spanned;

/// How many failed rows a rule tolerates before its verdict turns (default: none); with
/// `providers`, the rule is judged provider by provider, each named provider by its own
/// limit and every other one by this one.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Threshold {
    /// At most this many failed rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_count: Option<u64>,
    /// At most this share (0–1) of the applicable rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_rate: Option<f64>,
    /// A provider's own limit (provider value → limit).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub providers: std::collections::BTreeMap<String, Limit>,
}

/// A limit on failed rows: a count, a share of the applicable rows, or both.
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Limit {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_rate: Option<f64>,
}

impl Limit {
    /// Whether `failed` of `applicable` rows stays within the limit. No limit set means no
    /// failed row is tolerated.
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

    /// The share of `applicable` rows the limit tolerates: the smaller of its count's share
    /// and its rate, 0 when no limit is set.
    pub fn allowed_rate(&self, applicable: u64) -> f64 {
        #[allow(clippy::cast_precision_loss)] // a share, not a count
        let by_count = self.max_count.map(|c| {
            if applicable == 0 {
                1.0
            } else {
                (c as f64 / applicable as f64).min(1.0)
            }
        });
        match (by_count, self.max_rate) {
            (Some(a), Some(b)) => a.min(b),
            (Some(a), None) => a,
            (None, Some(b)) => b,
            (None, None) => 0.0,
        }
    }
}

impl Threshold {
    /// The limit for the table as a whole, and for providers not named.
    pub fn limit(&self) -> Limit {
        Limit {
            max_count: self.max_count,
            max_rate: self.max_rate,
        }
    }

    /// Whether `failed` of `applicable` rows, the whole table's, stays within the limit.
    pub fn is_met(&self, failed: u64, applicable: u64) -> bool {
        self.limit().is_met(failed, applicable)
    }

    /// Whether the rule is judged provider by provider.
    pub fn per_provider(&self) -> bool {
        !self.providers.is_empty()
    }

    /// The limit of `provider`'s rows (`None`: rows without a provider).
    pub fn for_provider(&self, provider: Option<&str>) -> Limit {
        provider
            .and_then(|p| self.providers.get(p))
            .copied()
            .unwrap_or_else(|| self.limit())
    }
}

/// What joins the values of a record's key columns into one key (`results::problems`).
pub const KEY_SEPARATOR: char = '\u{1f}';

/// A record's key as text: its one key column's value, or its key columns' values joined by
/// [`KEY_SEPARATOR`] (NULL when any is NULL).
pub fn key_text(columns: &[String]) -> datafusion::logical_expr::Expr {
    use datafusion::logical_expr::{cast, ident, lit};
    let parts: Vec<_> = columns
        .iter()
        .map(|k| cast(ident(k), arrow::datatypes::DataType::Utf8))
        .collect();
    if let [one] = parts.as_slice() {
        return one.clone();
    }
    let present = parts
        .iter()
        .map(|p| p.clone().is_not_null())
        .reduce(datafusion::logical_expr::Expr::and)
        .unwrap_or(lit(true));
    datafusion::logical_expr::when(
        present,
        datafusion::functions::string::expr_fn::concat_ws(lit(KEY_SEPARATOR.to_string()), parts),
    )
    .end()
    .unwrap_or(lit(datafusion::common::ScalarValue::Utf8(None)))
}

/// Quality dimension per GB/T 36344-2018, plus uniqueness. Serialized by its English name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
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

/// How much a rule's failure weighs: an error fails the table, a warning warns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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

/// A table of a run: its library and its own name. People and files see it as
/// `library.table` (summaries, `--data`, exports, feedback); SQL sees it as
/// `qc.library.table` ([`sql::CATALOG`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TableRef {
    pub library: String,
    pub table: String,
}

impl TableRef {
    pub fn new(library: impl Into<String>, table: impl Into<String>) -> TableRef {
        TableRef {
            library: library.into(),
            table: table.into(),
        }
    }

    /// `library.table`, split at its first dot.
    pub fn parse(qualified: &str) -> Option<TableRef> {
        let (library, table) = qualified.split_once('.')?;
        Some(TableRef::new(library, table))
    }

    /// The table's name in the engine's catalogue: `qc.library.table`.
    pub fn reference(&self) -> datafusion::common::TableReference {
        datafusion::common::TableReference::full(
            sql::CATALOG,
            self.library.clone(),
            self.table.clone(),
        )
    }
}

impl fmt::Display for TableRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.library, self.table)
    }
}

/// A column as the engine sees it: declared in the pack, or found in a Parquet file.
#[derive(Debug, Clone)]
pub struct BoundColumn {
    pub name: String,
    pub ty: ColumnType,
    pub arrow: arrow::datatypes::DataType,
    pub title: Option<String>,
    /// CSV date/timestamp formats (chrono), tried in order; none declared: the defaults.
    pub format: Vec<String>,
    /// Personal data kind, if declared (masked in reports and feedback).
    pub pii: Option<pii::Pii>,
    /// Placeholder values that count as missing (text columns; compared trimmed).
    pub null_like: Vec<String>,
}

impl BoundColumn {
    /// A column of type `ty` with nothing else declared (no title, format, personal data or
    /// placeholders).
    pub fn plain(name: &str, ty: ColumnType) -> BoundColumn {
        BoundColumn {
            name: name.to_string(),
            ty,
            arrow: ty.arrow_type(),
            title: None,
            format: Vec::new(),
            pii: None,
            null_like: Vec::new(),
        }
    }
}
