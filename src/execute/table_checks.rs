//! After a table's pass: what its table-level checks need (latest dates, non-NULL counts),
//! in one aggregate query over the columns they read.

use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType, Date32Type, Int64Type};
use datafusion::common::ScalarValue;
use datafusion::functions_aggregate::expr_fn::{count, max};
use datafusion::logical_expr::{Expr, cast, ident, lit, when};
use datafusion::prelude::SessionContext;

use crate::bind::BoundTable;
use crate::checks::table::{TableCheckKind, TableFacts};
use crate::error::{Error, Result};

/// Measure what `table`'s checks need. `rows` is the pass's row count.
pub async fn facts(
    ctx: &SessionContext,
    table: &BoundTable,
    rows: u64,
    as_of: i64,
) -> Result<TableFacts> {
    let mut facts = TableFacts {
        rows,
        as_of,
        ..TableFacts::default()
    };
    let mut aggregates: Vec<Expr> = Vec::new();
    let mut wanted: Vec<(bool, String)> = Vec::new();
    for c in &table.table_checks {
        match &c.kind {
            TableCheckKind::Freshness(f) => {
                let name = f.column.value.clone();
                // Dates after the run date are other rules' anomalies, not freshness.
                let day = cast(ident(&name), DataType::Date32);
                let as_of_day = lit(ScalarValue::Date32(i32::try_from(as_of).ok()));
                let latest = when(day.clone().lt_eq(as_of_day), day)
                    .end()
                    .map_err(|e| Error::engine("freshness", e))?;
                aggregates.push(max(latest).alias(format!("latest_{}", wanted.len())));
                wanted.push((true, name));
            }
            TableCheckKind::Completeness(p) => {
                let name = p.column.value.clone();
                let value = crate::checks::placeholders_as_null(ident(&name), &table.columns)
                    .map_err(|e| Error::engine("completeness", e))?;
                aggregates.push(count(value).alias(format!("present_{}", wanted.len())));
                wanted.push((false, name));
            }
            TableCheckKind::RowCount(_) | TableCheckKind::RowCountChange(_) => {}
        }
    }
    if aggregates.is_empty() {
        return Ok(facts);
    }
    let what = || format!("table checks of {}", table.qualified_name());
    crate::scan::register(ctx, &table.source_view())?;
    let batches = ctx
        .table(table.table_ref().reference())
        .await
        .and_then(|df| df.aggregate(vec![], aggregates))
        .map_err(|e| Error::engine(what(), e))?
        .collect()
        .await
        .map_err(|e| Error::engine(what(), e))?;
    let Some(batch) = batches.iter().find(|b| b.num_rows() > 0) else {
        return Err(Error::Internal(format!("{}: no aggregate row", what())));
    };
    for (i, (is_date, name)) in wanted.into_iter().enumerate() {
        let column = batch.column(i);
        if is_date {
            let dates = column.as_primitive::<Date32Type>();
            let latest = dates.is_valid(0).then(|| i64::from(dates.value(0)));
            facts.latest.push((name, latest));
        } else {
            let n = column.as_primitive::<Int64Type>().value(0);
            facts.present.push((name, u64::try_from(n).unwrap_or(0)));
        }
    }
    Ok(facts)
}
