//! Which records of a table are delivered, asked by key after the pass for the records of
//! problems that did not fail again (`results::problems`): a semi-join of the table's key
//! columns with the keys asked about.

use std::collections::BTreeSet;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use datafusion::common::JoinType;
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;

use crate::bind::BoundTable;
use crate::error::{Error, Result};

const KEY: &str = "__qc_key";
const ASKED: &str = "__qc_asked";

/// The keys of `keys` that some record of `table` has (its key columns' values as text,
/// joined as [`crate::rules::key_text`] joins them).
pub async fn delivered_keys(
    ctx: &SessionContext,
    table: &BoundTable,
    keys: &BTreeSet<String>,
) -> Result<BTreeSet<String>> {
    if keys.is_empty() || table.key.is_empty() {
        return Ok(BTreeSet::new());
    }
    let what = || {
        format!(
            "finding the delivered records of {}",
            table.qualified_name()
        )
    };
    let engine = |e| Error::engine(what(), e);
    crate::scan::register(ctx, &table.source_view())?;
    let key = crate::rules::key_text(&table.key);
    let present = key.clone().is_not_null();
    let schema = Arc::new(Schema::new(vec![Field::new(ASKED, DataType::Utf8, false)]));
    let asked: ArrayRef = Arc::new(StringArray::from_iter_values(keys.iter()));
    let batch = RecordBatch::try_new(Arc::clone(&schema), vec![asked])
        .map_err(|e| Error::Internal(format!("asked keys: {e}")))?;
    let asked = MemTable::try_new(schema, vec![vec![batch]]).map_err(engine)?;
    let found = ctx
        .table(table.table_ref().reference())
        .await
        .map_err(engine)?
        .filter(present)
        .and_then(|d| d.select(vec![key.alias(KEY)]))
        .and_then(|d| {
            let asked = ctx.read_table(Arc::new(asked))?;
            d.join(asked, JoinType::LeftSemi, &[KEY], &[ASKED], None)
        })
        .and_then(datafusion::dataframe::DataFrame::distinct)
        .map_err(engine)?
        .collect()
        .await
        .map_err(engine)?;
    let mut out = BTreeSet::new();
    for b in found {
        let column = arrow::compute::cast(b.column(0), &DataType::Utf8)
            .map_err(|e| Error::Internal(format!("delivered keys: {e}")))?;
        let column = column.as_string::<i32>();
        out.extend(
            (0..column.len())
                .filter(|i| column.is_valid(*i))
                .map(|i| column.value(i).to_string()),
        );
    }
    Ok(out)
}
