//! `qc_history_verdicts(histories, find)`: for each history (a list of one person's, or one
//! pair's, records), which of its records are anomalous, as a list of booleans in the
//! records' order. It is how a cluster judges `history` rules: its executors group the
//! records by person or pair, and judge each group with the functions qc's own set engine
//! judges with ([`crate::checks::history`]).
//!
//! A record is a struct with the fields `k0, k1, ...` (its key), `p0, p1, ...` (its pair),
//! `d` (its date as an integer), `o` and `c` (whether it opens, closes) and, for `overlap`
//! with `ends`, `e` (the earliest ending event of its people, as an integer date).

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Int64Array, ListArray, StructArray};
use arrow::datatypes::{DataType, Field, Int64Type};
use arrow::row::{RowConverter, SortField};
use datafusion::common::{Result as DfResult, exec_err};
use datafusion::logical_expr::{
    ColumnarValue, Expr, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility, lit,
};

use crate::checks::history::{Events, Records, not_latest, opened, overlap};
use crate::checks::set::Find;
use crate::plan::keyset::RowValues;

pub const NAME: &str = "qc_history_verdicts";

/// The field of a record's `j`th key column.
pub fn key_field(j: usize) -> String {
    format!("k{j}")
}

/// The field of a record's `j`th pair column.
pub fn pair_field(j: usize) -> String {
    format!("p{j}")
}

pub const DATE: &str = "d";
pub const OPENS: &str = "o";
pub const CLOSES: &str = "c";
pub const ENDED: &str = "e";

fn verdicts_type() -> DataType {
    DataType::List(Arc::new(Field::new_list_field(DataType::Boolean, true)))
}

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Verdicts {
    signature: Signature,
}

impl Default for Verdicts {
    fn default() -> Self {
        Verdicts {
            signature: Signature::any(2, Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for Verdicts {
    fn name(&self) -> &'static str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> DfResult<DataType> {
        Ok(verdicts_type())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let ColumnarValue::Scalar(find) = &args.args[1] else {
            return exec_err!("{NAME}: `find` must be a literal");
        };
        let Some(find) = find.try_as_str().flatten().and_then(Find::parse) else {
            return exec_err!("{NAME}: unknown `find` {find:?}");
        };
        let histories = args.args[0].to_array(args.number_rows)?;
        let Some(histories) = histories.as_list_opt::<i32>() else {
            return exec_err!(
                "{NAME}: expected a list of records, found {}",
                histories.data_type()
            );
        };
        let Some(records) = histories.values().as_struct_opt() else {
            return exec_err!("{NAME}: expected records as structs");
        };
        let records = Listed::new(records)?;
        Ok(ColumnarValue::Array(Arc::new(judge(
            histories, &records, find,
        ))))
    }
}

/// The verdicts of every history of `histories`, in a list of the same shape.
fn judge(histories: &ListArray, records: &Listed, find: Find) -> ListArray {
    let mut anomalous = vec![false; histories.values().len()];
    let (mut ids, mut found) = (Vec::new(), Vec::new());
    for h in 0..histories.len() {
        if histories.is_null(h) {
            continue;
        }
        let (start, end) = (
            histories.value_offsets()[h],
            histories.value_offsets()[h + 1],
        );
        ids.clear();
        ids.extend(usize::try_from(start).unwrap_or(0)..usize::try_from(end).unwrap_or(0));
        found.clear();
        match find {
            Find::NotLatest => not_latest(records, &ids, &mut found),
            Find::Overlap => overlap(records, &ids, |r, to| records.ended(r, to), &mut found),
            Find::CloseWithoutOpen => {
                opened(records, &ids, &mut found);
                for &c in &found {
                    anomalous[c] = true;
                }
                // Every closing record but the opened ones.
                for &r in &ids {
                    anomalous[r] = records.closes(r) && !anomalous[r];
                }
                continue;
            }
        }
        for &r in &found {
            anomalous[r] = true;
        }
    }
    ListArray::new(
        Arc::new(Field::new_list_field(DataType::Boolean, true)),
        histories.offsets().clone(),
        Arc::new(BooleanArray::from(anomalous)),
        histories.nulls().cloned(),
    )
}

/// The records of every history, by their fields.
struct Listed {
    keys: RowValues,
    pairs: RowValues,
    events: Events,
    ended: Option<Int64Array>,
}

/// Record fields taken together (`k0, k1, ...` or `p0, p1, ...`), in row format.
fn encoded(columns: &[ArrayRef]) -> DfResult<RowValues> {
    let converter = RowConverter::new(
        columns
            .iter()
            .map(|c| SortField::new(c.data_type().clone()))
            .collect(),
    )?;
    Ok(RowValues::new(converter.convert_columns(columns)?, columns))
}

impl Listed {
    fn new(records: &StructArray) -> DfResult<Listed> {
        let numbered = |name: fn(usize) -> String| -> Vec<ArrayRef> {
            (0..)
                .map_while(|j| records.column_by_name(&name(j)).cloned())
                .collect()
        };
        let field = |name: &str| {
            if let Some(c) = records.column_by_name(name) {
                Ok(c)
            } else {
                exec_err!("{NAME}: a record has no field `{name}`")
            }
        };
        let Some(dates) = field(DATE)?.as_primitive_opt::<Int64Type>() else {
            return exec_err!("{NAME}: `{DATE}` must be Int64");
        };
        let (Some(opens), Some(closes)) = (
            field(OPENS)?.as_boolean_opt(),
            field(CLOSES)?.as_boolean_opt(),
        ) else {
            return exec_err!("{NAME}: `{OPENS}` and `{CLOSES}` must be booleans");
        };
        let ended = match records.column_by_name(ENDED) {
            Some(e) => match e.as_primitive_opt::<Int64Type>() {
                Some(e) => Some(e.clone()),
                None => return exec_err!("{NAME}: `{ENDED}` must be Int64"),
            },
            None => None,
        };
        Ok(Listed {
            keys: encoded(&numbered(key_field))?,
            pairs: encoded(&numbered(pair_field))?,
            events: Events::new(dates.clone(), opens.clone(), closes.clone()),
            ended,
        })
    }

    /// Whether one of `record`'s people had an ending event on or before `to`.
    fn ended(&self, record: usize, to: i64) -> bool {
        self.ended
            .as_ref()
            .is_some_and(|e| e.is_valid(record) && e.value(record) <= to)
    }
}

impl Records for Listed {
    fn date(&self, r: usize) -> Option<i64> {
        self.events.date(r)
    }

    fn opens(&self, r: usize) -> bool {
        self.events.opens(r)
    }

    fn closes(&self, r: usize) -> bool {
        self.events.closes(r)
    }

    fn pair(&self, r: usize) -> Option<&[u8]> {
        self.pairs.get(r)
    }

    fn key(&self, r: usize) -> Option<&[u8]> {
        self.keys.get(r)
    }
}

/// `qc_history_verdicts(histories, find)`.
pub fn verdicts(histories: Expr, find: Find) -> Expr {
    ScalarUDF::new_from_impl(Verdicts::default()).call(vec![histories, lit(find.name())])
}

pub const HASH_NAME: &str = "qc_history_hash";

/// `qc_history_hash(value)`: a 64-bit hash of a value (a person), with a fixed seed, so that
/// every executor hashes alike. A cluster counts each person's records by this hash, not by
/// the value: most people have one record and are never looked at again, and counting
/// 8-byte hashes costs far less than counting texts. Equal hashes of different people only
/// add people to judge; the judgement groups by the values themselves.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Hash64 {
    signature: Signature,
}

impl Default for Hash64 {
    fn default() -> Self {
        Hash64 {
            signature: Signature::any(1, Volatility::Immutable),
        }
    }
}

const SEED: datafusion::common::hash_utils::RandomState =
    datafusion::common::hash_utils::RandomState::with_seed(0x415_7041);

impl ScalarUDFImpl for Hash64 {
    fn name(&self) -> &'static str {
        HASH_NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::UInt64)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let values = args.args[0].to_array(args.number_rows)?;
        let mut hashes = vec![0; values.len()];
        datafusion::common::hash_utils::create_hashes([&values], &SEED, &mut hashes)?;
        Ok(ColumnarValue::Array(Arc::new(
            arrow::array::UInt64Array::from(hashes),
        )))
    }
}

/// `qc_history_hash(value)`.
pub fn hash(value: Expr) -> Expr {
    ScalarUDF::new_from_impl(Hash64::default()).call(vec![value])
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int64Array, StringArray};
    use arrow::buffer::OffsetBuffer;
    use arrow::datatypes::Fields;

    /// A record: key, pair, date, opens, closes, ended.
    type Rec = (
        i64,
        Option<&'static str>,
        Option<i64>,
        bool,
        bool,
        Option<i64>,
    );

    /// The verdicts of `histories` (lists of records) under `find`.
    fn verdicts_of(find: Find, histories: &[&[Rec]]) -> Vec<Vec<bool>> {
        let all: Vec<Rec> = histories.iter().flat_map(|h| h.iter().copied()).collect();
        let fields = Fields::from(vec![
            Field::new(key_field(0), DataType::Int64, true),
            Field::new(pair_field(0), DataType::Utf8, true),
            Field::new(DATE, DataType::Int64, true),
            Field::new(OPENS, DataType::Boolean, true),
            Field::new(CLOSES, DataType::Boolean, true),
            Field::new(ENDED, DataType::Int64, true),
        ]);
        let records = StructArray::new(
            fields.clone(),
            vec![
                Arc::new(Int64Array::from_iter_values(all.iter().map(|r| r.0))),
                Arc::new(all.iter().map(|r| r.1).collect::<StringArray>()),
                Arc::new(all.iter().map(|r| r.2).collect::<Int64Array>()),
                Arc::new(all.iter().map(|r| Some(r.3)).collect::<BooleanArray>()),
                Arc::new(all.iter().map(|r| Some(r.4)).collect::<BooleanArray>()),
                Arc::new(all.iter().map(|r| r.5).collect::<Int64Array>()),
            ],
            None,
        );
        let lists = ListArray::new(
            Arc::new(Field::new_list_field(DataType::Struct(fields), true)),
            OffsetBuffer::from_lengths(histories.iter().map(|h| h.len())),
            Arc::new(records.clone()),
            None,
        );
        let judged = judge(&lists, &Listed::new(&records).unwrap(), find);
        (0..judged.len())
            .map(|i| {
                judged
                    .value(i)
                    .as_boolean()
                    .iter()
                    .map(|v| v.unwrap())
                    .collect()
            })
            .collect()
    }

    #[test]
    fn each_history_is_judged_on_its_own_records() {
        let (o, c) = ((true, false), (false, true));
        let rec = |key, pair, date, (opens, closes): (bool, bool), ended| {
            (key, pair, date, opens, closes, ended)
        };
        assert_eq!(
            verdicts_of(
                Find::Overlap,
                &[
                    // Married to A, then to B with no divorce in between.
                    &[
                        rec(1, Some("A"), Some(10), o, None),
                        rec(2, Some("B"), Some(20), o, None)
                    ],
                    // The same, divorced from A in between.
                    &[
                        rec(3, Some("A"), Some(10), o, None),
                        rec(4, Some("A"), Some(15), c, None),
                        rec(5, Some("B"), Some(20), o, None),
                    ],
                    // Two partners on one day: the greater key is the second marriage.
                    &[
                        rec(7, Some("A"), Some(10), o, None),
                        rec(6, Some("B"), Some(10), o, None)
                    ],
                    // A party of the first marriage died before the second.
                    &[
                        rec(8, Some("A"), Some(10), o, Some(12)),
                        rec(9, Some("B"), Some(20), o, None),
                    ],
                ],
            ),
            vec![
                vec![false, true],
                vec![false, false, false],
                vec![true, false],
                vec![false, false],
            ]
        );
        assert_eq!(
            verdicts_of(
                Find::NotLatest,
                &[&[
                    rec(1, None, Some(10), o, None),
                    rec(2, None, Some(20), o, None),
                    rec(3, None, Some(20), o, None),
                    rec(4, None, None, o, None),
                ]],
            ),
            vec![vec![true, false, false, false]]
        );
        assert_eq!(
            verdicts_of(
                Find::CloseWithoutOpen,
                &[&[
                    rec(1, Some("A"), Some(5), c, None),
                    rec(2, Some("A"), Some(10), o, None),
                    rec(3, Some("A"), Some(15), c, None),
                    rec(4, None, Some(20), c, None),
                    rec(5, Some("A"), None, c, None),
                ]],
            ),
            vec![vec![true, false, false, true, true]]
        );
    }
}
