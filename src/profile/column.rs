//! One column's figures as a worker gathers them from batches ([`ColumnAcc`]), merged across
//! workers and finished into a [`ColumnProfile`].

use std::collections::{BTreeMap, HashMap};

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{DataType, Float64Type, Int64Type, TimeUnit, TimestampSecondType};

use super::classes::{self, Class, DATE_FORMATS, Shape};
use super::sketch::{self, Distinct, GaveUp, KeyHashes, Lengths, Numbers, TopK};
use super::{ClassShare, ColumnProfile, KeyCheck, LengthProfile, NumberStats, Quantile, TopValue};
use crate::checks::not_null::is_blank_char;
use crate::rules::ColumnType;
use crate::rules::pii::Pii;

/// Quantiles the profile gives.
pub const QUANTILES: [f64; 7] = [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99];
/// Top values the profile gives.
pub const TOP_VALUES: usize = 10;
/// A text column of at most this many distinct values has them all listed (`codes`).
pub const MAX_CODES: usize = 30;

/// How a column's values are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Int,
    Float,
    /// Days since 1970-01-01.
    Date,
    /// Seconds since 1970-01-01 00:00:00.
    Timestamp,
    Bool,
    /// Anything else (binary, nested): only counted.
    Other,
}

impl Kind {
    pub fn of(dt: &DataType) -> Kind {
        match ColumnType::of_arrow(dt) {
            Some(ColumnType::String) => Kind::Text,
            Some(ColumnType::Int) => Kind::Int,
            Some(ColumnType::Float) => Kind::Float,
            Some(ColumnType::Date) => Kind::Date,
            Some(ColumnType::Timestamp) => Kind::Timestamp,
            Some(ColumnType::Bool) => Kind::Bool,
            None => Kind::Other,
        }
    }
}

/// Counts of present text values by shape.
#[derive(Debug, Default, Clone, Copy)]
struct ShapeCounts {
    integer: u64,
    digits: u64,
    decimal: u64,
    date: u64,
    timestamp: u64,
    boolean: u64,
    text: u64,
}

/// A column's figures so far, in one worker.
pub struct ColumnAcc {
    kind: Kind,
    rows: u64,
    nulls: u64,
    blanks: u64,
    placeholders: BTreeMap<String, u64>,
    padded: u64,
    distinct: Distinct,
    top_text: TopK<String>,
    top_num: TopK<i64>,
    lengths: Lengths,
    classes: [u64; Class::ALL.len()],
    date_formats: [u64; DATE_FORMATS.len()],
    shapes: ShapeCounts,
    numbers: Numbers,
    dates: Numbers,
    text_min: Option<String>,
    text_max: Option<String>,
    key: KeyHashes,
    /// Classes and shapes of values seen, while they repeat enough to be worth remembering
    /// (code columns: a handful of values in millions of rows); `None` once they do not.
    memo: Option<HashMap<Box<str>, (classes::Classes, Shape), ahash::RandomState>>,
    memo_hits: u64,
    code_shapes: CodeShapes,
    /// Non-NULL values written as a name ([`classes::is_name_form`]).
    name_forms: u64,
}

/// Values a column's memo holds at most.
const MEMO: usize = 4096;

/// Counts of the code shapes of a column's present values, while they are few (a code's
/// format); given up when there are more than [`CodeShapes::MAX`] shapes, or when more than
/// 1 % of the values (and over 1,000) have none (not ASCII, or longer than
/// [`classes::CODE_SHAPE_LEN`]).
struct CodeShapes {
    /// Few, and mostly one or two per column: a list is faster than a map.
    counts: Option<Vec<(classes::CodeShape, u64)>>,
    unshaped: u64,
    seen: u64,
}

impl CodeShapes {
    const MAX: usize = 64;

    fn new() -> CodeShapes {
        CodeShapes {
            counts: Some(Vec::new()),
            unshaped: 0,
            seen: 0,
        }
    }

    fn add(&mut self, v: &str) {
        let Some(counts) = &mut self.counts else {
            return;
        };
        self.seen += 1;
        if let Some(shape) = classes::CodeShape::of(v) {
            if let Some(known) = counts.iter_mut().find(|(s, _)| *s == shape) {
                known.1 += 1;
            } else if counts.len() < Self::MAX {
                counts.push((shape, 1));
            } else {
                self.counts = None;
            }
        } else {
            self.unshaped += 1;
            if self.unshaped > 1000 && self.unshaped * 100 > self.seen {
                self.counts = None;
            }
        }
    }

    fn merge(&mut self, other: CodeShapes) {
        self.seen += other.seen;
        self.unshaped += other.unshaped;
        self.counts = match (self.counts.take(), other.counts) {
            (Some(mut a), Some(b)) => {
                for (k, v) in b {
                    match a.iter_mut().find(|(s, _)| *s == k) {
                        Some(known) => known.1 += v,
                        None => a.push((k, v)),
                    }
                }
                (a.len() <= Self::MAX).then_some(a)
            }
            _ => None,
        };
    }

    /// The shapes by count, most frequent first; empty if given up.
    fn finish(self) -> Vec<(String, u64)> {
        let mut shapes: Vec<(String, u64)> = self
            .counts
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k.as_str().to_string(), v))
            .collect();
        shapes.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        shapes
    }
}

impl ColumnAcc {
    pub fn new(kind: Kind, key: KeyHashes) -> ColumnAcc {
        ColumnAcc {
            kind,
            rows: 0,
            nulls: 0,
            blanks: 0,
            placeholders: BTreeMap::new(),
            padded: 0,
            distinct: Distinct::default(),
            top_text: TopK::default(),
            top_num: TopK::default(),
            lengths: Lengths::default(),
            classes: [0; Class::ALL.len()],
            date_formats: [0; DATE_FORMATS.len()],
            shapes: ShapeCounts::default(),
            numbers: Numbers::default(),
            dates: Numbers::default(),
            text_min: None,
            text_max: None,
            key,
            memo: Some(HashMap::default()),
            memo_hits: 0,
            code_shapes: CodeShapes::new(),
            name_forms: 0,
        }
    }

    /// Add a batch's values (`keep` marks the rows to count: well-formed records).
    pub fn update(&mut self, array: &ArrayRef, keep: Option<&arrow::array::BooleanArray>) {
        let kept = |i: usize| keep.is_none_or(|k| k.value(i));
        let before = self.rows - self.nulls;
        match self.kind {
            Kind::Text => {
                let text = match array.data_type() {
                    DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => array.clone(),
                    _ => match arrow::compute::cast(array, &DataType::Utf8View) {
                        Ok(a) => a,
                        Err(_) => return self.count_only(array, &kept),
                    },
                };
                match text.data_type() {
                    DataType::Utf8 => self.texts(text.as_string::<i32>().iter(), &kept),
                    DataType::LargeUtf8 => self.texts(text.as_string::<i64>().iter(), &kept),
                    _ => self.texts(text.as_string_view().iter(), &kept),
                }
            }
            Kind::Int | Kind::Date | Kind::Bool => {
                // Dates as days (a Date64 holds milliseconds).
                let days = match array.data_type() {
                    DataType::Date64 => arrow::compute::cast(array, &DataType::Date32),
                    _ => Ok(array.clone()),
                };
                let Ok(ints) = days.and_then(|a| arrow::compute::cast(&a, &DataType::Int64)) else {
                    return self.count_only(array, &kept);
                };
                for (i, v) in ints.as_primitive::<Int64Type>().iter().enumerate() {
                    if kept(i) {
                        self.int(v);
                    }
                }
            }
            Kind::Timestamp => {
                let tz = match array.data_type() {
                    DataType::Timestamp(_, tz) => tz.clone(),
                    _ => None,
                };
                let Ok(secs) =
                    arrow::compute::cast(array, &DataType::Timestamp(TimeUnit::Second, tz))
                else {
                    return self.count_only(array, &kept);
                };
                for (i, v) in secs
                    .as_primitive::<TimestampSecondType>()
                    .iter()
                    .enumerate()
                {
                    if kept(i) {
                        self.int(v);
                    }
                }
            }
            Kind::Float => {
                let Ok(floats) = arrow::compute::cast(array, &DataType::Float64) else {
                    return self.count_only(array, &kept);
                };
                for (i, v) in floats.as_primitive::<Float64Type>().iter().enumerate() {
                    if kept(i) {
                        self.float(v);
                    }
                }
            }
            Kind::Other => self.count_only(array, &kept),
        }
        // A column with fewer distinct values than half its first values is no key: its
        // duplicates are not worth the memory.
        let values = self.rows - self.nulls - before;
        if before == 0 && values >= 1000 {
            let (d, _) = self.distinct.count();
            if d * 2 < values {
                self.key.give_up(GaveUp::FewDistinct);
            }
        }
    }

    fn count_only(&mut self, array: &ArrayRef, kept: &dyn Fn(usize) -> bool) {
        for i in 0..array.len() {
            if kept(i) {
                self.rows += 1;
                self.nulls += u64::from(array.is_null(i));
            }
        }
    }

    fn texts<'a>(
        &mut self,
        values: impl Iterator<Item = Option<&'a str>>,
        kept: &dyn Fn(usize) -> bool,
    ) {
        for (i, v) in values.enumerate() {
            if kept(i) {
                self.text(v);
            }
        }
    }

    fn text(&mut self, v: Option<&str>) {
        self.rows += 1;
        let Some(v) = v else {
            self.nulls += 1;
            return;
        };
        let h = sketch::hash(v.as_bytes());
        self.distinct.add(h);
        self.key.add(h);
        self.top_text.add(v);
        // What a `pattern` rule matches: every non-NULL value as written.
        self.code_shapes.add(v);
        self.name_forms += u64::from(classes::is_name_form(v));
        let trimmed = v.trim_matches(is_blank_char);
        if trimmed.is_empty() {
            self.blanks += 1;
            return;
        }
        if classes::is_placeholder(trimmed) {
            *self.placeholders.entry(trimmed.to_string()).or_insert(0) += 1;
            return;
        }
        self.padded += u64::from(trimmed.len() != v.len());
        let chars = if v.is_ascii() {
            v.len()
        } else {
            v.chars().count()
        };
        self.lengths.add(chars);
        let (found, shape) = self.describe(v);
        for c in found.iter() {
            self.classes[c.index()] += 1;
        }
        match shape {
            Shape::Integer(n) => {
                self.shapes.integer += 1;
                self.numbers.add(n as f64);
            }
            Shape::Digits => self.shapes.digits += 1,
            Shape::Decimal(x) => {
                self.shapes.decimal += 1;
                self.numbers.add(x);
            }
            Shape::Date(days, format, time) => {
                if time {
                    self.shapes.timestamp += 1;
                } else {
                    self.shapes.date += 1;
                }
                self.date_formats[format] += 1;
                self.dates.add(f64::from(days));
            }
            Shape::Boolean => self.shapes.boolean += 1,
            Shape::Text => self.shapes.text += 1,
        }
        if self.text_min.as_deref().is_none_or(|m| v < m) {
            self.text_min = Some(v.to_string());
        }
        if self.text_max.as_deref().is_none_or(|m| v > m) {
            self.text_max = Some(v.to_string());
        }
    }

    /// [`classes::describe`], remembered for values that repeat.
    fn describe(&mut self, v: &str) -> (classes::Classes, Shape) {
        let Some(memo) = &mut self.memo else {
            return classes::describe(v);
        };
        if let Some(known) = memo.get(v) {
            self.memo_hits += 1;
            return *known;
        }
        let described = classes::describe(v);
        if memo.len() < MEMO {
            memo.insert(v.into(), described);
        } else if self.memo_hits < 4 * MEMO as u64 {
            // Full, and values seldom came back: a column of many values, where looking
            // them up costs more than it saves.
            self.memo = None;
        }
        described
    }

    fn int(&mut self, v: Option<i64>) {
        self.rows += 1;
        let Some(v) = v else {
            self.nulls += 1;
            return;
        };
        let h = sketch::hash(&v.to_le_bytes());
        self.distinct.add(h);
        self.key.add(h);
        self.top_num.add(&v);
        self.numbers.add(v as f64);
        // Integers written as codes: division codes and postcodes.
        if self.kind == Kind::Int && (100_000..1_000_000_000_000).contains(&v) {
            for c in classes::classify(&v.to_string()).iter() {
                self.classes[c.index()] += 1;
            }
        }
    }

    fn float(&mut self, v: Option<f64>) {
        self.rows += 1;
        let Some(v) = v else {
            self.nulls += 1;
            return;
        };
        let bits = v.to_bits();
        let h = sketch::hash(&bits.to_le_bytes());
        self.distinct.add(h);
        self.key.add(h);
        self.top_num.add(&(bits as i64));
        self.numbers.add(v);
        for c in classes::Classes::default().with_coordinates(v).iter() {
            self.classes[c.index()] += 1;
        }
    }

    pub fn merge(&mut self, other: ColumnAcc) {
        self.rows += other.rows;
        self.nulls += other.nulls;
        self.blanks += other.blanks;
        for (k, v) in other.placeholders {
            *self.placeholders.entry(k).or_insert(0) += v;
        }
        self.padded += other.padded;
        self.distinct.merge(other.distinct);
        self.top_text.merge(other.top_text);
        self.top_num.merge(other.top_num);
        self.lengths.merge(&other.lengths);
        for (a, b) in self.classes.iter_mut().zip(other.classes) {
            *a += b;
        }
        for (a, b) in self.date_formats.iter_mut().zip(other.date_formats) {
            *a += b;
        }
        let s = &mut self.shapes;
        let o = other.shapes;
        s.integer += o.integer;
        s.digits += o.digits;
        s.decimal += o.decimal;
        s.date += o.date;
        s.timestamp += o.timestamp;
        s.boolean += o.boolean;
        s.text += o.text;
        self.numbers.merge(other.numbers);
        self.dates.merge(other.dates);
        self.text_min = [self.text_min.take(), other.text_min]
            .into_iter()
            .flatten()
            .min();
        self.text_max = [self.text_max.take(), other.text_max]
            .into_iter()
            .flatten()
            .max();
        self.key.merge(other.key);
        self.code_shapes.merge(other.code_shapes);
        self.name_forms += other.name_forms;
    }

    /// The column's profile; personal data masked when `mask` and the column holds it.
    pub fn finish(
        mut self,
        name: &str,
        physical: &DataType,
        declared: Option<Pii>,
        mask: bool,
    ) -> ColumnProfile {
        let placeholders: u64 = self.placeholders.values().sum();
        let present = self.rows
            - self.nulls
            - if self.kind == Kind::Text {
                self.blanks + placeholders
            } else {
                0
            };
        let share = |n: u64| {
            if present == 0 {
                0.0
            } else {
                n as f64 / present as f64
            }
        };
        let class_count = |c: Class| self.classes[c.index()];
        let pii = declared.or_else(|| {
            // Valid numbers: 18 digits alone are as often an address or building code.
            let ids = class_count(Class::CitizenIdValid)
                + class_count(Class::HkMoTwId)
                + class_count(Class::ForeignPermanentId);
            if share(ids) >= 0.5 {
                Some(Pii::IdNumber)
            } else if share(class_count(Class::PersonName)) >= 0.5 {
                Some(Pii::Name)
            } else {
                None
            }
        });
        let hide = |v: String| match (mask, pii) {
            (true, Some(p)) => p.mask(&v),
            _ => v,
        };
        let (inferred, inferred_share) = self.inferred(present);
        let numbers = match (self.kind, inferred) {
            (Kind::Int | Kind::Float, _) | (Kind::Text, "integer" | "decimal") => {
                stats(&mut self.numbers, Unit::Number)
            }
            (Kind::Date, _) => stats(&mut self.numbers, Unit::Date),
            (Kind::Timestamp, _) => stats(&mut self.numbers, Unit::Timestamp),
            (Kind::Text, "date" | "timestamp") => stats(&mut self.dates, Unit::Date),
            _ => None,
        };
        let (min, max) = match (&numbers, self.kind) {
            (Some(n), _) => (Some(n.min.text.clone()), Some(n.max.text.clone())),
            (None, Kind::Text) => (
                self.text_min.take().map(hide),
                self.text_max.take().map(hide),
            ),
            _ => (None, None),
        };
        let (top, top_error) = match self.kind {
            Kind::Text => (
                self.top_text
                    .top(TOP_VALUES)
                    .into_iter()
                    .map(|(v, c)| TopValue {
                        value: hide(v),
                        count: c,
                    })
                    .collect(),
                self.top_text.error(),
            ),
            kind => (
                self.top_num
                    .top(TOP_VALUES)
                    .into_iter()
                    .map(|(v, c)| TopValue {
                        value: render_num(kind, v),
                        count: c,
                    })
                    .collect(),
                self.top_num.error(),
            ),
        };
        let (distinct, distinct_exact) = self.distinct.count();
        let codes = if self.kind == Kind::Text
            && distinct_exact
            && distinct <= MAX_CODES as u64
            && self.top_text.error() == 0
            && !(mask && pii.is_some())
        {
            self.top_text
                .top(MAX_CODES)
                .into_iter()
                .map(|(value, count)| TopValue { value, count })
                .collect()
        } else {
            Vec::new()
        };
        let key = match self.key.duplicates() {
            Ok(d) => KeyCheck::Checked {
                duplicate_rows: d.rows,
                duplicate_groups: d.groups,
            },
            Err(GaveUp::Budget) => KeyCheck::OverBudget,
            Err(_) => KeyCheck::NotKeyLike,
        };
        // Lengths are measured on present text values only.
        let lengths = (self.lengths.min != usize::MAX).then(|| {
            let n: u64 = self.lengths.counts.iter().sum();
            LengthProfile {
                min: self.lengths.min,
                max: self.lengths.max,
                mean: self.lengths.total as f64 / n.max(1) as f64,
                histogram: self
                    .lengths
                    .counts
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| **c > 0)
                    .map(|(len, c)| (len, *c))
                    .collect(),
            }
        });
        ColumnProfile {
            name: name.to_string(),
            physical_type: physical.to_string(),
            inferred_type: inferred.to_string(),
            inferred_share,
            rows: self.rows,
            nulls: self.nulls,
            blanks: self.blanks,
            placeholders,
            placeholder_values: self.placeholders,
            padded: self.padded,
            present,
            distinct,
            distinct_exact,
            min,
            max,
            numbers,
            lengths,
            top,
            top_exact: top_error == 0,
            top_error,
            codes,
            classes: Class::ALL
                .iter()
                .filter(|c| class_count(**c) > 0)
                .map(|c| ClassShare {
                    class: *c,
                    label: c.label().0.to_string(),
                    count: class_count(*c),
                    share: share(class_count(*c)),
                })
                .collect(),
            date_formats: DATE_FORMATS
                .iter()
                .zip(self.date_formats)
                .filter(|(_, n)| *n > 0)
                .map(|(f, n)| ((*f).to_string(), n))
                .collect(),
            code_shapes: self.code_shapes.finish(),
            name_forms: self.name_forms,
            key,
            pii,
            masked: mask && pii.is_some(),
        }
    }

    /// The type most present values have (with its share), by the column's physical type or
    /// the shapes of its text.
    fn inferred(&self, present: u64) -> (&'static str, f64) {
        match self.kind {
            Kind::Int => return ("integer", 1.0),
            Kind::Float => return ("decimal", 1.0),
            Kind::Date => return ("date", 1.0),
            Kind::Timestamp => return ("timestamp", 1.0),
            Kind::Bool => return ("boolean", 1.0),
            Kind::Other => return ("other", 1.0),
            Kind::Text => {}
        }
        if present == 0 {
            return ("text", 0.0);
        }
        let s = self.shapes;
        let candidates = [
            ("integer", s.integer),
            ("decimal", s.integer + s.decimal),
            ("digits", s.digits + s.integer),
            ("date", s.date),
            ("timestamp", s.timestamp + s.date),
            ("boolean", s.boolean),
        ];
        // The narrowest type that 90 % of the present values have.
        for (ty, n) in candidates {
            let share = n as f64 / present as f64;
            if share >= 0.9 && (ty != "digits" || s.digits > 0) {
                return (ty, share);
            }
        }
        ("text", s.text as f64 / present as f64)
    }
}

/// What a column's numbers measure.
#[derive(Debug, Clone, Copy)]
enum Unit {
    Number,
    Date,
    Timestamp,
}

fn stats(numbers: &mut Numbers, unit: Unit) -> Option<NumberStats> {
    if numbers.count == 0 {
        return None;
    }
    let text = |x: f64| match unit {
        Unit::Number => crate::text::number(x),
        Unit::Date => crate::values::from_days(x.round() as i32)
            .map_or_else(|| x.to_string(), |d| d.to_string()),
        Unit::Timestamp => chrono::DateTime::from_timestamp(x.round() as i64, 0)
            .map_or_else(|| x.to_string(), |t| t.naive_utc().to_string()),
    };
    let stat = |x: f64| super::Stat {
        value: x,
        text: text(x),
    };
    let (qs, exact) = numbers.quantiles(&QUANTILES);
    Some(NumberStats {
        unit: match unit {
            Unit::Number => "number",
            Unit::Date => "date",
            Unit::Timestamp => "timestamp",
        }
        .to_string(),
        count: numbers.count,
        min: stat(numbers.min),
        max: stat(numbers.max),
        mean: numbers.mean().map(stat),
        quantiles: QUANTILES
            .iter()
            .zip(qs)
            .map(|(q, v)| Quantile {
                q: *q,
                value: stat(v),
            })
            .collect(),
        exact,
    })
}

/// A top value of a non-text column as text.
fn render_num(kind: Kind, v: i64) -> String {
    match kind {
        Kind::Float => crate::text::number(f64::from_bits(v as u64)),
        Kind::Date => {
            crate::values::from_days(v as i32).map_or_else(|| v.to_string(), |d| d.to_string())
        }
        Kind::Timestamp => chrono::DateTime::from_timestamp(v, 0)
            .map_or_else(|| v.to_string(), |t| t.naive_utc().to_string()),
        Kind::Bool => (v != 0).to_string(),
        _ => v.to_string(),
    }
}
