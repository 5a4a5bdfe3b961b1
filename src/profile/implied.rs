//! Values of one column that (almost) always come with one value of another: a cause of
//! death in chapter O with sex 2, a pregnancy flag with sex 2, a perinatal cause with age 0.
//! Counted exactly in the profile's pass, as a table of counts per pair of columns of few
//! values (or of a code column's first character), and reported where a value goes with one
//! value of the other column in at least [`CONFIDENCE`] of its rows.

use std::collections::HashMap;

use arrow::array::{Array, ArrayRef, BooleanArray, RecordBatch};
use serde::{Deserialize, Serialize};

use super::read;
use crate::checks::id_number as id;
use crate::rules::BoundColumn;

/// Distinct values a column may have in the sample to take part.
const SAMPLE_VALUES: usize = 64;
/// Distinct values counted per column; a column with more drops out.
const MAX_VALUES: usize = 128;
/// Columns taking part at most (their pairs grow as the square).
const MAX_FEATURES: usize = 14;
/// Rows a value needs (where the other column is present) to imply anything.
const MIN_SUPPORT: u64 = 20;
/// The share of a value's rows that must have the implied value.
pub const CONFIDENCE: f64 = 0.99;
/// An implied value this common among all the implied column's values says nothing about
/// the implying one.
const MAX_BASE: f64 = 0.9;
/// Marks a row where the column is NULL, or holds a value beyond [`MAX_VALUES`].
const NONE: u8 = u8::MAX;

/// What of a column's value is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Part {
    /// The whole value.
    Value,
    /// Its first character (a code's chapter: `O` of `O72`).
    First,
    /// Whether it is there: `present`, or `absent` (NULL).
    Presence,
    /// Whether an ID-number column's value is a valid citizen's number as written (`valid`
    /// or `invalid`, as `qc_id_valid` judges it).
    Valid,
    /// The kind of number an ID-number column's value is written as (`citizen`, `legacy15`,
    /// `hk_mo_tw`, `foreign`, `malformed`, as `qc_id_kind` tells them).
    Kind,
}

impl Part {
    /// Whether the part is a yes-or-no of a column rather than its values.
    fn is_flag(self) -> bool {
        matches!(self, Part::Presence | Part::Valid)
    }
}

/// The values of a [`Part::Valid`], by number.
const VALIDITY: [&str; 2] = ["invalid", "valid"];

/// The values of a [`Part::Kind`].
const KINDS: [&str; 5] = ["citizen", "legacy15", "hk_mo_tw", "foreign", "malformed"];

/// The values of a [`Part::Presence`], by number.
const PRESENCE: [&str; 2] = ["absent", "present"];

/// A value of `from` that goes with one value of `to`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Implication {
    pub value: String,
    pub then: String,
    /// Rows with `value` where `to` is present, and those of them with `then`.
    pub rows: u64,
    pub agree: u64,
}

/// A column's name and what of it is compared.
pub type Side = (String, Part);

/// A column taking part: its index among the table's columns, and what of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Feature {
    column: usize,
    part: Part,
}

/// The columns of few values in `sample` (its rows `rows`), the first characters of code
/// columns of more values (a letter and digits: ICD-10 codes), and the presence of columns
/// sometimes NULL.
pub fn features(columns: &[BoundColumn], sample: &RecordBatch, rows: &[usize]) -> Vec<Feature> {
    let mut out = Vec::new();
    for (i, c) in columns.iter().enumerate() {
        let Some(array) = sample.column_by_name(&c.name) else {
            continue;
        };
        let present = read::present(array, rows);
        let filled = present.len() as f64 / rows.len().max(1) as f64;
        if (0.01..=0.99).contains(&filled) {
            out.push(Feature {
                column: i,
                part: Part::Presence,
            });
        }
        let Some(values) = Values::read(array) else {
            continue;
        };
        if present.is_empty() {
            continue;
        }
        if let Values::Text(t) = &values {
            let shaped = present
                .iter()
                .filter(|&&r| {
                    matches!(
                        id::kind(t[r].unwrap_or("")),
                        id::IdKind::Citizen | id::IdKind::Legacy
                    )
                })
                .count();
            if shaped as f64 >= 0.8 * present.len() as f64 {
                for part in [Part::Valid, Part::Kind] {
                    out.push(Feature { column: i, part });
                }
            }
        }
        let mut distinct = std::collections::HashSet::new();
        for &r in &present {
            distinct.insert(values.key(r, Part::Value));
            if distinct.len() > SAMPLE_VALUES {
                break;
            }
        }
        if distinct.len() > 1 && distinct.len() <= SAMPLE_VALUES {
            out.push(Feature {
                column: i,
                part: Part::Value,
            });
        } else if let Values::Text(t) = &values {
            let coded = present
                .iter()
                .filter(|&&r| {
                    let b = t[r].unwrap_or("").as_bytes();
                    b.len() >= 2 && b[0].is_ascii_uppercase() && b[1].is_ascii_digit()
                })
                .count();
            if coded as f64 >= 0.8 * present.len() as f64 {
                out.push(Feature {
                    column: i,
                    part: Part::First,
                });
            }
        }
    }
    out.truncate(MAX_FEATURES);
    out
}

/// A batch's values of a column.
enum Values<'a> {
    Text(Vec<Option<&'a str>>),
    Int(Vec<Option<i64>>),
}

/// A value as the dictionary keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Text(String),
    Int(i64),
}

impl Key {
    fn text(&self) -> String {
        match self {
            Key::Text(s) => s.clone(),
            Key::Int(n) => n.to_string(),
        }
    }
}

impl<'a> Values<'a> {
    fn read(a: &'a ArrayRef) -> Option<Values<'a>> {
        read::texts(a)
            .map(Values::Text)
            .or_else(|| read::integers(a).map(Values::Int))
    }

    fn key(&self, row: usize, part: Part) -> Option<Key> {
        match self {
            Values::Text(t) => {
                let v = t[row]?;
                Some(Key::Text(match part {
                    Part::Value => v.to_string(),
                    Part::First => v.chars().next()?.to_string(),
                    Part::Presence => PRESENCE[1].to_string(),
                    Part::Valid => VALIDITY[usize::from(id::is_valid_citizen(v))].to_string(),
                    Part::Kind => id::kind(v).code().to_string(),
                }))
            }
            Values::Int(n) => n[row].map(Key::Int),
        }
    }

    /// The row's value (or first character) as borrowed text, for looking up.
    fn text(&self, row: usize, part: Part) -> Option<&'a str> {
        let Values::Text(t) = self else {
            return None;
        };
        let v = t[row]?;
        Some(match part {
            Part::Value => v,
            Part::First => &v[..v.chars().next()?.len_utf8()],
            Part::Presence => PRESENCE[1],
            Part::Valid => VALIDITY[usize::from(id::is_valid_citizen(v))],
            Part::Kind => id::kind(v).code(),
        })
    }
}

/// One column's values numbered as they come, up to [`MAX_VALUES`].
#[derive(Debug, Clone, Default)]
struct Dict {
    values: Vec<Key>,
    texts: HashMap<String, u8, ahash::RandomState>,
    ints: HashMap<i64, u8, ahash::RandomState>,
    /// Whether a value came beyond [`MAX_VALUES`] (the column's counts are incomplete).
    overflow: bool,
}

impl Dict {
    fn insert(&mut self, key: Key) -> u8 {
        let known = match &key {
            Key::Text(s) => self.texts.get(s.as_str()),
            Key::Int(n) => self.ints.get(n),
        };
        if let Some(&i) = known {
            return i;
        }
        if self.values.len() >= MAX_VALUES {
            self.overflow = true;
            return NONE;
        }
        let i = self.values.len() as u8;
        match &key {
            Key::Text(s) => self.texts.insert(s.clone(), i),
            Key::Int(n) => self.ints.insert(*n, i),
        };
        self.values.push(key);
        i
    }

    fn index(&mut self, values: &Values<'_>, row: usize, part: Part) -> u8 {
        match values {
            Values::Text(_) => match values.text(row, part) {
                None => NONE,
                Some(s) => match self.texts.get(s) {
                    Some(&i) => i,
                    None => self.insert(Key::Text(s.to_string())),
                },
            },
            Values::Int(n) => match n[row] {
                None => NONE,
                Some(v) => match self.ints.get(&v) {
                    Some(&i) => i,
                    None => self.insert(Key::Int(v)),
                },
            },
        }
    }
}

/// The counts so far, in one worker.
#[derive(Debug, Clone)]
pub struct ImpliedAcc {
    features: Vec<Feature>,
    dicts: Vec<Dict>,
    /// Rows per (value of a, value of b), for each pair of features `a < b`: a
    /// [`MAX_VALUES`]² table, allocated at the first count.
    cells: Vec<Vec<u64>>,
    /// Rows per value, for each feature.
    marginals: Vec<[u64; MAX_VALUES]>,
}

impl ImpliedAcc {
    pub fn new(features: Vec<Feature>) -> ImpliedAcc {
        let n = features.len();
        let dicts = features
            .iter()
            .map(|f| {
                let mut dict = Dict::default();
                let fixed: &[&str] = match f.part {
                    Part::Presence => &PRESENCE,
                    Part::Valid => &VALIDITY,
                    Part::Kind => &KINDS,
                    Part::Value | Part::First => &[],
                };
                for value in fixed {
                    dict.insert(Key::Text((*value).to_string()));
                }
                dict
            })
            .collect();
        ImpliedAcc {
            dicts,
            cells: vec![Vec::new(); n * n.saturating_sub(1) / 2],
            marginals: vec![[0; MAX_VALUES]; n],
            features,
        }
    }

    pub fn update(
        &mut self,
        columns: &[BoundColumn],
        batch: &RecordBatch,
        keep: Option<&BooleanArray>,
    ) {
        if self.features.len() < 2 {
            return;
        }
        let rows = batch.num_rows();
        let indexes: Vec<Vec<u8>> = self
            .features
            .iter()
            .zip(&mut self.dicts)
            .map(|(f, dict)| {
                let array = batch.column_by_name(&columns[f.column].name);
                let kept = |r: usize| keep.is_none_or(|k| k.value(r));
                if f.part == Part::Presence {
                    return (0..rows)
                        .map(|r| match array {
                            Some(a) if kept(r) => u8::from(a.is_valid(r)),
                            _ => NONE,
                        })
                        .collect();
                }
                if f.part == Part::Valid {
                    let values = array.and_then(Values::read);
                    return (0..rows)
                        .map(
                            |r| match values.as_ref().and_then(|v| v.text(r, Part::Value)) {
                                Some(v) if kept(r) => u8::from(id::is_valid_citizen(v)),
                                _ => NONE,
                            },
                        )
                        .collect();
                }
                let values = array.and_then(Values::read);
                (0..rows)
                    .map(|r| match &values {
                        Some(v) if kept(r) => dict.index(v, r, f.part),
                        _ => NONE,
                    })
                    .collect()
            })
            .collect();
        for (marginal, index) in self.marginals.iter_mut().zip(&indexes) {
            for &x in index {
                if x != NONE {
                    marginal[usize::from(x)] += 1;
                }
            }
        }
        let mut pair = 0;
        for a in 0..indexes.len() {
            for b in a + 1..indexes.len() {
                let cells = &mut self.cells[pair];
                pair += 1;
                for (&x, &y) in indexes[a].iter().zip(&indexes[b]) {
                    if x != NONE && y != NONE {
                        if cells.is_empty() {
                            *cells = vec![0; MAX_VALUES * MAX_VALUES];
                        }
                        cells[usize::from(x) * MAX_VALUES + usize::from(y)] += 1;
                    }
                }
            }
        }
    }

    pub fn merge(&mut self, other: &ImpliedAcc) {
        // Other's value numbers in this worker's dictionaries.
        let maps: Vec<Vec<u8>> = self
            .dicts
            .iter_mut()
            .zip(&other.dicts)
            .map(|(mine, theirs)| {
                mine.overflow |= theirs.overflow;
                theirs
                    .values
                    .iter()
                    .map(|k| mine.insert(k.clone()))
                    .collect()
            })
            .collect();
        for ((mine, theirs), map) in self.marginals.iter_mut().zip(&other.marginals).zip(&maps) {
            for (&x, &c) in map.iter().zip(theirs) {
                if x != NONE {
                    mine[usize::from(x)] += c;
                }
            }
        }
        let n = self.features.len();
        let mut pair = 0;
        for a in 0..n {
            for b in a + 1..n {
                let theirs = &other.cells[pair];
                if !theirs.is_empty() {
                    let cells = &mut self.cells[pair];
                    if cells.is_empty() {
                        *cells = vec![0; MAX_VALUES * MAX_VALUES];
                    }
                    for (i, &x) in maps[a].iter().enumerate() {
                        for (j, &y) in maps[b].iter().enumerate() {
                            let c = theirs[i * MAX_VALUES + j];
                            if c > 0 && x != NONE && y != NONE {
                                cells[usize::from(x) * MAX_VALUES + usize::from(y)] += c;
                            }
                        }
                    }
                }
                pair += 1;
            }
        }
    }

    /// The values implying another, per ordered pair of columns: (from and its part, to and
    /// its part, implications). Pairs of a column with itself, pairs with a column whose values
    /// overflowed, and implications of a first character are left out where pointless.
    pub fn finish(self, columns: &[BoundColumn]) -> Vec<(Side, Side, Vec<Implication>)> {
        let n = self.features.len();
        let mut out = Vec::new();
        let mut pair = 0;
        for a in 0..n {
            for b in a + 1..n {
                let cells = &self.cells[pair];
                pair += 1;
                let (fa, fb) = (self.features[a], self.features[b]);
                if cells.is_empty()
                    || fa.column == fb.column
                    || (fa.part.is_flag() && fb.part.is_flag())
                    || self.dicts[a].overflow
                    || self.dicts[b].overflow
                {
                    continue;
                }
                let count = |x: usize, y: usize| cells[x * MAX_VALUES + y];
                let (na, nb) = (self.dicts[a].values.len(), self.dicts[b].values.len());
                for (from, to, forward) in [(a, b, true), (b, a, false)] {
                    // The implied side is a whole value, or presence.
                    if self.features[to].part == Part::First {
                        continue;
                    }
                    let (n_from, n_to) = if forward { (na, nb) } else { (nb, na) };
                    let at = |x: usize, y: usize| if forward { count(x, y) } else { count(y, x) };
                    // How common each value of `to` is over all its rows.
                    let by_to = &self.marginals[to];
                    let total: u64 = by_to.iter().sum();
                    let mut found = Vec::new();
                    for x in 0..n_from {
                        let rows: u64 = (0..n_to).map(|y| at(x, y)).sum();
                        let Some((y, agree)) = (0..n_to)
                            .map(|y| (y, at(x, y)))
                            .max_by_key(|&(y, c)| (c, std::cmp::Reverse(y)))
                        else {
                            continue;
                        };
                        if rows >= MIN_SUPPORT
                            && agree as f64 >= CONFIDENCE * rows as f64
                            && by_to[y] as f64 <= MAX_BASE * total as f64
                        {
                            found.push(Implication {
                                value: self.dicts[from].values[x].text(),
                                then: self.dicts[to].values[y].text(),
                                rows,
                                agree,
                            });
                        }
                    }
                    if !found.is_empty() {
                        found.sort_by(|p, q| p.value.cmp(&q.value));
                        let (f, t) = (self.features[from], self.features[to]);
                        out.push((
                            (columns[f.column].name.clone(), f.part),
                            (columns[t.column].name.clone(), t.part),
                            found,
                        ));
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::StringArray;
    use arrow::datatypes::{DataType, Field, Schema};

    use super::*;
    use crate::rules::ColumnType;

    #[test]
    fn a_value_implies_another_where_the_counts_say_so() {
        let columns = vec![
            BoundColumn::plain("sex", ColumnType::String),
            BoundColumn::plain("pregnancy", ColumnType::String),
            BoundColumn::plain("icd10", ColumnType::String),
        ];
        // 200 women (40 pregnant, 10 of them with O72), 200 men, one man marked pregnant.
        let mut sex = Vec::new();
        let mut pregnancy = Vec::new();
        let mut icd = Vec::new();
        for i in 0..400 {
            let woman = i < 200;
            sex.push(Some(if woman { "2" } else { "1" }));
            pregnancy.push(match i {
                0..40 => Some("1"),
                40..200 => Some("0"),
                _ => None,
            });
            icd.push(Some(match i {
                0..10 => "O72",
                _ if i % 2 == 0 => "I21.9",
                _ => "C34.9",
            }));
        }
        sex.push(Some("1"));
        pregnancy.push(Some("1"));
        icd.push(Some("I21.9"));
        let schema = Arc::new(Schema::new(vec![
            Field::new("sex", DataType::Utf8, true),
            Field::new("pregnancy", DataType::Utf8, true),
            Field::new("icd10", DataType::Utf8, true),
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from(sex)),
                Arc::new(StringArray::from(pregnancy)),
                Arc::new(StringArray::from(icd)),
            ],
        )
        .unwrap();
        let rows: Vec<usize> = (0..batch.num_rows()).collect();
        let features = features(&columns, &batch, &rows);
        let parts: Vec<(usize, Part)> = features.iter().map(|f| (f.column, f.part)).collect();
        assert_eq!(
            parts,
            [
                (0, Part::Value),
                (1, Part::Presence),
                (1, Part::Value),
                (2, Part::Value)
            ]
        );
        // Counted in two workers, merged.
        let mut acc = ImpliedAcc::new(features.clone());
        acc.update(&columns, &batch.slice(0, 250), None);
        let mut other = ImpliedAcc::new(features);
        other.update(&columns, &batch.slice(250, 151), None);
        acc.merge(&other);
        let found = acc.finish(&columns);
        let find = |from: &str, part: Part, to: &str| {
            found
                .iter()
                .find(|(f, t, _)| f.0 == from && f.1 == part && t.0 == to)
                .map(|(_, _, i)| i.clone())
        };
        // Pregnancy 1 goes with sex 2 in 40 of 41 rows (97.6 %): not enough; 0 in all 160.
        assert_eq!(
            find("pregnancy", Part::Value, "sex"),
            Some(vec![Implication {
                value: "0".into(),
                then: "2".into(),
                rows: 160,
                agree: 160
            }])
        );
        // Filled pregnancy goes with sex 2 in 200 of 201 rows (99.5 %), an empty one with 1.
        assert_eq!(
            find("pregnancy", Part::Presence, "sex"),
            Some(vec![
                Implication {
                    value: "absent".into(),
                    then: "1".into(),
                    rows: 200,
                    agree: 200
                },
                Implication {
                    value: "present".into(),
                    then: "2".into(),
                    rows: 201,
                    agree: 200
                }
            ])
        );
        // O72 (10 rows) is too rare to imply anything; sex 1 does not imply a cause.
        assert_eq!(find("icd10", Part::Value, "sex"), None);
        assert_eq!(find("sex", Part::Value, "icd10"), None);
    }
}
