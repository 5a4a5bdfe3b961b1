//! After a table's pass: what its table-level checks need (latest dates, non-NULL counts),
//! in one aggregate query over the columns they read, and each `metric`'s value per group,
//! in one grouped query per metric.

use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType, Date32Type, Float64Type, Int64Type};
use datafusion::common::ScalarValue;
use datafusion::functions_aggregate::expr_fn::{count, max};
use datafusion::logical_expr::{Expr, cast, ident, lit, when};
use datafusion::prelude::SessionContext;

use crate::bind::BoundTable;
use crate::checks::table::{GroupValues, Metric, MetricFacts, TableCheckKind, TableFacts};
use crate::checks::trend::{Trend, TrendFacts, TrendMetric};
use crate::error::{Error, Result};
use crate::execute::counts::TableCounts;

/// Measure what `table`'s checks need; `counts` are the pass's. A trend's history is the
/// run's to add ([`crate::checks::trend::TrendFacts::past`]).
pub async fn facts(
    ctx: &SessionContext,
    table: &BoundTable,
    counts: &TableCounts,
    as_of: i64,
) -> Result<TableFacts> {
    let mut facts = TableFacts {
        rows: counts.rows,
        as_of,
        ..TableFacts::default()
    };
    // One registration of the table for every query below (a CSV source's cut is worked out
    // when it registers).
    let reads = |k: &TableCheckKind| match k {
        TableCheckKind::Trend(t) => t.metric.column().is_some(),
        TableCheckKind::RowCount(_) | TableCheckKind::RowCountChange(_) => false,
        _ => true,
    };
    if table.table_checks.iter().any(|c| reads(&c.kind)) {
        crate::scan::register(ctx, &table.source_view())?;
    }
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
            // Checks over the same metric share one measurement.
            TableCheckKind::Metric(m) if !facts.metrics.iter().any(|f| f.key == m.key()) => {
                facts.metrics.push(metric(ctx, table, m).await?);
            }
            TableCheckKind::Trend(t) if !facts.trends.iter().any(|f| f.key == t.key()) => {
                let current = trend_current(ctx, table, counts, t).await?;
                facts.trends.push(TrendFacts {
                    key: t.key(),
                    current,
                    past: Vec::new(),
                });
            }
            // Measured above (the same metric), or counted by the pass.
            TableCheckKind::Metric(_)
            | TableCheckKind::Trend(_)
            | TableCheckKind::RowCount(_)
            | TableCheckKind::RowCountChange(_) => {}
        }
    }
    if aggregates.is_empty() {
        return Ok(facts);
    }
    let what = || format!("table checks of {}", table.qualified_name());
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

/// A metric's value per group of `table` (the whole table when it has no `group_by`), with
/// the groups it `expect`s and the table lacks judged on no rows.
async fn metric(ctx: &SessionContext, table: &BoundTable, m: &Metric) -> Result<MetricFacts> {
    let what = || format!("metric {} of {}", m.value.value, table.qualified_name());
    let quote = |name: &str| format!("\"{}\"", name.replace('"', "\"\""));
    let t = table.table_ref();
    let from = format!(
        "{}.{}.{}",
        quote(crate::rules::sql::CATALOG),
        quote(&t.library),
        quote(&t.table)
    );
    let by: Vec<String> = m.group_by.iter().map(|g| quote(&g.value)).collect();
    let value = format!("CAST(({}) AS DOUBLE) AS qc_value", m.value.value);
    let mut select: Vec<String> = by
        .iter()
        .enumerate()
        .map(|(i, g)| format!("CAST({g} AS VARCHAR) AS qc_group_{i}"))
        .collect();
    select.push(value.clone());
    let grouped = if by.is_empty() {
        String::new()
    } else {
        format!(" GROUP BY {}", by.join(", "))
    };
    let query = format!("SELECT {} FROM {from}{grouped}", select.join(", "));
    let batches = collect(ctx, &query)
        .await
        .map_err(|e| Error::engine(what(), e))?;
    let mut groups = grouped_values(&batches, by.len(), &what)?;
    if let Some(expect) = &m.expect {
        let missing: Vec<&String> = expect
            .value
            .iter()
            .filter(|v| {
                !groups
                    .iter()
                    .any(|(g, _)| g.first().cloned().flatten().as_ref() == Some(*v))
            })
            .collect();
        if !missing.is_empty() {
            // The value of a group of no rows.
            let none = collect(ctx, &format!("SELECT {value} FROM {from} WHERE false"))
                .await
                .map_err(|e| Error::engine(what(), e))?;
            let on_no_rows = grouped_values(&none, 0, &what)?
                .first()
                .and_then(|(_, v)| *v);
            for v in missing {
                groups.push((vec![Some(v.clone())], on_no_rows));
            }
        }
    }
    groups.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(MetricFacts {
        key: m.key(),
        groups,
        provider_at: table
            .provider
            .as_ref()
            .and_then(|p| m.group_by.iter().position(|g| g.value == *p)),
    })
}

/// This run's value of a trend's metric, for the table or per provider.
async fn trend_current(
    ctx: &SessionContext,
    table: &BoundTable,
    counts: &TableCounts,
    t: &Trend,
) -> Result<Vec<(Option<String>, f64)>> {
    #[allow(clippy::cast_precision_loss)] // counts become rates and volumes to compare
    let rate = |r: &crate::execute::counts::RuleCounts| {
        (r.applicable > 0).then(|| r.failed as f64 / r.applicable as f64)
    };
    let per_provider = t.per_provider();
    #[allow(clippy::cast_precision_loss)]
    let values = match &t.metric {
        TrendMetric::Rows if per_provider => counts
            .providers
            .iter()
            .map(|(p, c)| (p.clone(), c.rows as f64))
            .collect(),
        TrendMetric::Rows => vec![(None, counts.rows as f64)],
        TrendMetric::FailedRate(id) => {
            let Some(i) = table.rules.iter().position(|r| r.id == id.value) else {
                return Ok(Vec::new());
            };
            if per_provider {
                counts
                    .providers
                    .iter()
                    .filter_map(|(p, c)| c.rules.get(i).and_then(rate).map(|r| (p.clone(), r)))
                    .collect()
            } else {
                counts
                    .rules
                    .get(i)
                    .and_then(rate)
                    .map(|r| (None, r))
                    .into_iter()
                    .collect()
            }
        }
        TrendMetric::NullRate(c) | TrendMetric::Distinct(c) | TrendMetric::Mean(c) => {
            column_metric(ctx, table, &t.metric, &c.value, per_provider).await?
        }
    };
    Ok(values)
}

/// A column's null rate, distinct count or mean, for the table or per provider.
async fn column_metric(
    ctx: &SessionContext,
    table: &BoundTable,
    metric: &TrendMetric,
    column: &str,
    per_provider: bool,
) -> Result<Vec<(Option<String>, f64)>> {
    use datafusion::functions_aggregate::expr_fn::{avg, count_distinct};
    let what = || format!("trend {} of {}", metric.label(), table.qualified_name());
    let value = crate::checks::placeholders_as_null(ident(column), &table.columns)
        .map_err(|e| Error::engine(what(), e))?;
    let aggregate = match metric {
        TrendMetric::NullRate(_) => avg(when(value.is_null(), lit(1.0))
            .otherwise(lit(0.0))
            .map_err(|e| Error::engine(what(), e))?),
        TrendMetric::Distinct(_) => count_distinct(value),
        _ => avg(value),
    };
    let group: Vec<Expr> = match (&table.provider, per_provider) {
        (Some(p), true) => vec![ident(p)],
        _ => Vec::new(),
    };
    let batches = ctx
        .table(table.table_ref().reference())
        .await
        .and_then(|df| df.aggregate(group.clone(), vec![aggregate.alias("qc_value")]))
        .map_err(|e| Error::engine(what(), e))?
        .collect()
        .await
        .map_err(|e| Error::engine(what(), e))?;
    let mut out: Vec<(Option<String>, f64)> = grouped_values(&batches, group.len(), &what)?
        .into_iter()
        .filter_map(|(g, v)| Some((g.into_iter().next().flatten(), v?)))
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// The rows of an aggregate's result: its first `groups` columns as text (`None`: NULL), and
/// the value after them as a number (`None`: NULL).
fn grouped_values(
    batches: &[arrow::record_batch::RecordBatch],
    groups: usize,
    what: &dyn Fn() -> String,
) -> Result<GroupValues> {
    let as_type = |c: &arrow::array::ArrayRef, ty: &DataType| {
        arrow::compute::cast(c, ty).map_err(|e| Error::engine(what(), e.into()))
    };
    let mut out = Vec::new();
    for batch in batches {
        let values = as_type(batch.column(groups), &DataType::Float64)?;
        let values = values.as_primitive::<Float64Type>();
        let texts = (0..groups)
            .map(|i| as_type(batch.column(i), &DataType::Utf8))
            .collect::<Result<Vec<_>>>()?;
        for row in 0..batch.num_rows() {
            let group = texts
                .iter()
                .map(|c| {
                    let c = c.as_string::<i32>();
                    c.is_valid(row).then(|| c.value(row).to_string())
                })
                .collect();
            out.push((group, values.is_valid(row).then(|| values.value(row))));
        }
    }
    Ok(out)
}

async fn collect(
    ctx: &SessionContext,
    sql: &str,
) -> datafusion::error::Result<Vec<arrow::record_batch::RecordBatch>> {
    ctx.sql(sql).await?.collect().await
}
