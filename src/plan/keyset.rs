//! The anomalous tuples of a set-based rule as a hash set, and the row expression that tests
//! a row against it (`qc_in_set(on...)`: true when the row's tuple is in the set, NULL when
//! any of its values is NULL).
//!
//! Tuples are compared in Arrow's row format after casting each column to its declared type's
//! canonical Arrow type, so a Parquet `Utf8View` column matches a CSV `Utf8` one.

use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, PoisonError};

use arrow::array::{Array, ArrayRef, BooleanArray};
use arrow::compute::{cast, filter};
use arrow::datatypes::DataType;
use arrow::record_batch::RecordBatch;
use arrow::row::{RowConverter, SortField};
use datafusion::common::hash_utils::create_hashes;
// hashbrown with foldhash: the prefilter is probed once per row.
use datafusion::common::HashSet as FastSet;
use datafusion::common::{Result as DfResult, exec_datafusion_err};
use datafusion::logical_expr::{
    ColumnarValue, Expr, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility, ident,
};

use crate::bind::{BoundTable, RuleCheck};
use crate::error::{Error, Result};
use crate::rules::BoundColumn;

/// Each row's values of some columns, in arrow's row format (bytes equal, and sorting, as
/// the values do), with which rows have a NULL among them: how history judgements compare
/// keys, pairs and people.
pub struct RowValues {
    rows: arrow::row::Rows,
    valid: Vec<bool>,
}

impl RowValues {
    /// `rows`, the row format of `columns`.
    pub fn new(rows: arrow::row::Rows, columns: &[ArrayRef]) -> RowValues {
        let valid = (0..rows.num_rows())
            .map(|i| columns.iter().all(|c| c.is_valid(i)))
            .collect();
        RowValues { rows, valid }
    }

    /// Row `i`'s values (`None`: one is NULL).
    pub fn get(&self, i: usize) -> Option<&[u8]> {
        self.valid[i].then(|| self.rows.row(i).data())
    }
}

/// The hashes of a set's tuples as columns of these types hash them.
type TypedHashes = (Vec<DataType>, Arc<FastSet<u64>>);

/// Distinct tuples of a rule's `on` columns.
pub struct KeySet {
    types: Vec<DataType>,
    converter: RowConverter,
    rows: HashSet<Box<[u8]>>,
    /// 64-bit hashes of the tuples, made on the first test with columns of each set of Arrow
    /// types (text read as string views hashes differently from the same text in a string
    /// array): a row whose hash is not among them is not in the set, and most rows are
    /// tested without casting or converting their tuple.
    hashes: Mutex<Vec<TypedHashes>>,
    /// Bytes of the tuples held.
    bytes: usize,
}

/// The hash of a tuple's canonical values in [`KeySet`]'s prefilter.
const HASH: datafusion::common::hash_utils::RandomState =
    datafusion::common::hash_utils::RandomState::with_seed(0x6b_e75e);

impl std::fmt::Debug for KeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeySet")
            .field("types", &self.types)
            .field("len", &self.rows.len())
            .finish_non_exhaustive()
    }
}

impl KeySet {
    /// An empty set of tuples of `on`'s declared types.
    pub fn new(on: &[BoundColumn]) -> Result<KeySet> {
        let types: Vec<DataType> = on.iter().map(|c| c.ty.arrow_type()).collect();
        let converter = RowConverter::new(types.iter().cloned().map(SortField::new).collect())
            .map_err(|e| Error::Internal(format!("key set: {e}")))?;
        Ok(KeySet {
            types,
            converter,
            rows: HashSet::new(),
            hashes: Mutex::default(),
            bytes: 0,
        })
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    fn canonical(&self, columns: &[ArrayRef]) -> arrow::error::Result<Vec<ArrayRef>> {
        cast_to(columns, &self.types)
    }

    /// Forget the tuples' hashes, when the tuples change.
    fn forget_hashes(&mut self) {
        self.hashes
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    /// The tuples of `columns` (in `on` order) in the set's row format: equal tuples, whatever
    /// their Arrow string types, have equal bytes.
    pub fn rows(&self, columns: &[ArrayRef]) -> Result<arrow::row::Rows> {
        let columns = self
            .canonical(columns)
            .map_err(|e| Error::Internal(format!("key set: {e}")))?;
        self.converter
            .convert_columns(&columns)
            .map_err(|e| Error::Internal(format!("key set: {e}")))
    }

    /// The tuples, in the set's row format, sorted (to compare sets).
    pub fn tuples(&self) -> Vec<&[u8]> {
        let mut all: Vec<&[u8]> = self.rows.iter().map(AsRef::as_ref).collect();
        all.sort_unstable();
        all
    }

    /// Add one tuple in the set's row format ([`KeySet::rows`]).
    pub fn insert(&mut self, row: &[u8]) {
        self.forget_hashes();
        if self.rows.insert(row.into()) {
            self.bytes += row.len();
        }
    }

    /// Bytes the set holds, roughly (for the memory pool).
    pub fn size(&self) -> usize {
        self.bytes + self.rows.capacity() * 32
    }

    /// Add a batch of anomalous tuples (its columns in `on` order). Tuples with a NULL are
    /// left out: they can match no row.
    pub fn extend(&mut self, batch: &RecordBatch) -> Result<()> {
        self.forget_hashes();
        let columns = self
            .canonical(batch.columns())
            .map_err(|e| Error::Internal(format!("key set: {e}")))?;
        let rows = self
            .converter
            .convert_columns(&columns)
            .map_err(|e| Error::Internal(format!("key set: {e}")))?;
        for (i, row) in rows.iter().enumerate() {
            if columns.iter().all(|c| c.is_valid(i)) && self.rows.insert(row.as_ref().into()) {
                self.bytes += row.as_ref().len();
            }
        }
        Ok(())
    }

    /// The hashes of the set's tuples as columns of `types` hash them (computed once per
    /// set of types, from the tuples themselves).
    fn hashes(&self, types: &[DataType]) -> arrow::error::Result<Arc<FastSet<u64>>> {
        let mut known = self.hashes.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, h)) = known.iter().find(|(t, _)| t == types) {
            return Ok(Arc::clone(h));
        }
        let parser = self.converter.parser();
        let columns = cast_to(
            &self
                .converter
                .convert_rows(self.rows.iter().map(|r| parser.parse(r)))?,
            types,
        )?;
        let mut hashes = vec![0; self.rows.len()];
        if !self.rows.is_empty() {
            create_hashes(&columns, &HASH, &mut hashes)
                .map_err(|e| arrow::error::ArrowError::ComputeError(e.to_string()))?;
        }
        let hashes = Arc::new(hashes.into_iter().collect::<FastSet<u64>>());
        known.push((types.to_vec(), Arc::clone(&hashes)));
        Ok(hashes)
    }

    /// Per row: whether its tuple is in the set (NULL when any value is NULL). Rows are first
    /// tested by hash, in the columns' own types; only those whose hash is a member's are
    /// cast and compared by value.
    fn contains(&self, columns: &[ArrayRef], n: usize) -> arrow::error::Result<BooleanArray> {
        let nulls: Vec<Option<arrow::buffer::NullBuffer>> =
            columns.iter().map(Array::logical_nulls).collect();
        let valid = |i: usize| nulls.iter().flatten().all(|b| b.is_valid(i));
        if self.rows.is_empty() {
            return Ok((0..n).map(|i| valid(i).then_some(false)).collect());
        }
        let types: Vec<DataType> = columns.iter().map(|c| c.data_type().clone()).collect();
        let members = self.hashes(&types)?;
        let mut hashes = vec![0; n];
        if n > 0 {
            create_hashes(columns, &HASH, &mut hashes)
                .map_err(|e| arrow::error::ArrowError::ComputeError(e.to_string()))?;
        }
        let maybe: BooleanArray = (0..n)
            .map(|i| Some(valid(i) && members.contains(&hashes[i])))
            .collect();
        let mut found = vec![false; n];
        if maybe.true_count() > 0 {
            let picked: Vec<ArrayRef> = columns
                .iter()
                .map(|c| filter(c, &maybe))
                .collect::<arrow::error::Result<_>>()?;
            let rows = self.converter.convert_columns(&self.canonical(&picked)?)?;
            let at = (0..n).filter(|&i| maybe.value(i));
            for (j, i) in at.enumerate() {
                found[i] = self.rows.contains(rows.row(j).as_ref());
            }
        }
        Ok((0..n).map(|i| valid(i).then_some(found[i])).collect())
    }
}

/// `columns` cast to `types` where they differ.
fn cast_to(columns: &[ArrayRef], types: &[DataType]) -> arrow::error::Result<Vec<ArrayRef>> {
    columns
        .iter()
        .zip(types)
        .map(|(c, t)| {
            if c.data_type() == t {
                Ok(Arc::clone(c))
            } else {
                cast(c, t)
            }
        })
        .collect()
}

/// `qc_in_set(on...)` over one rule's key set.
#[derive(Debug)]
struct InSet {
    set: Arc<KeySet>,
    signature: Signature,
}

impl PartialEq for InSet {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.set, &other.set)
    }
}

impl Eq for InSet {}

impl Hash for InSet {
    fn hash<H: Hasher>(&self, state: &mut H) {
        std::ptr::hash(Arc::as_ptr(&self.set), state);
    }
}

impl ScalarUDFImpl for InSet {
    fn name(&self) -> &'static str {
        "qc_in_set"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Boolean)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let n = args.number_rows;
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let out = self
            .set
            .contains(&arrays, n)
            .map_err(|e| exec_datafusion_err!("qc_in_set: {e}"))?;
        Ok(ColumnarValue::Array(Arc::new(out)))
    }
}

/// True where the row's `on` tuple is in `set` (NULL when any value is NULL).
pub fn in_set(set: Arc<KeySet>, on: &[BoundColumn]) -> Expr {
    let udf = ScalarUDF::new_from_impl(InSet {
        set,
        signature: Signature::variadic_any(Volatility::Immutable),
    });
    udf.call(on.iter().map(|c| ident(&c.name)).collect())
}

/// Per rule of `table`: the [`in_set`] test of its anomalous tuples `sets[i]` when it is
/// set-based (what [`compile`](super::compile) takes).
pub fn in_sets(table: &BoundTable, sets: &[Option<Arc<KeySet>>]) -> Vec<Option<Expr>> {
    sets.iter()
        .zip(&table.rules)
        .map(|(set, rule)| match (set, &rule.check) {
            (Some(set), RuleCheck::Set(Some(check))) => Some(in_set(Arc::clone(set), &check.on)),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{StringArray, StringViewArray};
    use arrow::datatypes::{Field, Schema};

    fn column(name: &str) -> BoundColumn {
        BoundColumn::plain(name, crate::rules::ColumnType::String)
    }

    #[test]
    fn membership_across_string_types_and_nulls() {
        let mut set = KeySet::new(&[column("a")]).unwrap();
        let schema = Arc::new(Schema::new(vec![Field::new("a", DataType::Utf8, true)]));
        let batch = RecordBatch::try_new(
            schema,
            vec![Arc::new(StringArray::from(vec![
                Some("x"),
                None,
                Some("y"),
            ]))],
        )
        .unwrap();
        set.extend(&batch).unwrap();
        assert_eq!(set.len(), 2, "NULL tuples are left out");
        // Rows are hashed in their own type: each type's hashes of the set are its own.
        let values = vec![
            Some("y"),
            Some("z"),
            None,
            Some("a long value, not inlined in a view"),
        ];
        let probes: Vec<ArrayRef> = vec![
            Arc::new(StringViewArray::from(values.clone())),
            Arc::new(StringArray::from(values.clone())),
            Arc::new(arrow::array::LargeStringArray::from(values.clone())),
            Arc::new(
                values
                    .iter()
                    .copied()
                    .collect::<arrow::array::DictionaryArray<arrow::datatypes::Int32Type>>(),
            ),
        ];
        set.insert(set.rows(&[Arc::clone(&probes[1])]).unwrap().row(3).as_ref());
        for probe in probes {
            let hit = set.contains(&[Arc::clone(&probe)], 4).unwrap();
            assert_eq!(
                hit.iter().collect::<Vec<_>>(),
                vec![Some(true), Some(false), None, Some(true)],
                "{}",
                probe.data_type()
            );
        }
        // An empty set holds no row; a NULL stays unknown.
        let empty = KeySet::new(&[column("a")]).unwrap();
        let probe: ArrayRef = Arc::new(StringViewArray::from(vec![Some("y"), None]));
        assert_eq!(
            empty
                .contains(&[probe], 2)
                .unwrap()
                .iter()
                .collect::<Vec<_>>(),
            vec![Some(false), None]
        );
    }
}
