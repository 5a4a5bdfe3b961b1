//! A table's set-based rules on the cluster, planned as qc's own set engine
//! ([`crate::execute::sets`]) computes them, as plans the executors run on every partition:
//!
//! - `unique` rules over the same columns share one aggregation, with one count per rule;
//! - a `history` rule over people (`not_latest`, `overlap`) groups its records once by person,
//!   keeps the people with two or more records, and judges each person's records with
//!   `qc_history_verdicts`, the judgement the embedded engine runs
//!   ([`crate::plan::history`]), instead of joining the table with itself;
//! - any other rule runs its key plan (`close_without_open`'s is one join of the closing
//!   records with the opening ones, by pair).
//!
//! Each [`Source`] is a plan whose rows are distinct anomalous tuples, with one boolean
//! column per rule it serves (true: the tuple is anomalous for that rule).

use arrow::datatypes::DataType;
use datafusion::common::{Column, JoinType};
use datafusion::dataframe::DataFrame;
use datafusion::functions::core::expr_fn::{get_field, least, named_struct};
use datafusion::functions_aggregate::expr_fn::{array_agg, count, min, sum};
use datafusion::logical_expr::{Expr, Partitioning, cast as cast_expr, col, ident, lit};
use datafusion::prelude::SessionContext;

use crate::bind::{BoundTable, RuleCheck};
use crate::checks::set::{Find, HistoryCheck, Native, SetCheck};
use crate::error::{Error, Result};
use crate::plan::history as verdicts;
use crate::rules::BoundColumn;
use crate::scan;

/// Distinct anomalous tuples of some of a table's rules.
pub struct Source {
    /// The table's rules it serves (their positions).
    pub rules: Vec<usize>,
    /// The columns of its tuples.
    pub on: Vec<BoundColumn>,
    /// Columns: `key_column(source, j)` for each of `on`, then `match_column(rule)` for each
    /// rule.
    pub frame: DataFrame,
}

/// The name of source `source`'s `part`th key column.
pub fn key_column(source: usize, part: usize) -> String {
    format!("{}set_{source}_{part}", scan::META_PREFIX)
}

/// The name of the column saying a tuple is anomalous for rule `rule`.
pub fn match_column(rule: usize) -> String {
    format!("{}set_{rule}_match", scan::META_PREFIX)
}

/// Partitions per task slot that a history's groups are judged in.
const GROUP_SHARES: usize = 8;

/// Internal column names of the plans below.
const PERSON: &str = "__qc_person";
const PERSON_HASH: &str = "__qc_person_hash";
const RECORD: &str = "__qc_record";
const HISTORIES: &str = "__qc_histories";
const VERDICTS: &str = "__qc_verdicts";

/// The plans of `table`'s set-based rules, fewest first: one per group of `unique` rules
/// over the same columns, one per other rule.
pub async fn sources(ctx: &SessionContext, table: &BoundTable) -> Result<Vec<Source>> {
    let what = |i: usize| format!("rule {} of {}", table.rules[i].id, table.qualified_name());
    let set_checks = table
        .rules
        .iter()
        .enumerate()
        .filter_map(|(i, rule)| match &rule.check {
            RuleCheck::Set(Some(check)) => Some((i, &**check)),
            _ => None,
        });
    // `unique` rules grouped by their columns.
    let mut unique: Vec<UniqueGroup<'_>> = Vec::new();
    let mut others = Vec::new();
    for (i, check) in set_checks {
        match &check.native {
            Some(Native::Duplicates { applicable }) => {
                let same = |on: &[BoundColumn]| {
                    on.len() == check.on.len()
                        && on
                            .iter()
                            .zip(&check.on)
                            .all(|(a, b)| a.name == b.name && a.ty == b.ty)
                };
                match unique.iter_mut().find(|(on, _)| same(on)) {
                    Some((_, rules)) => rules.push((i, applicable)),
                    None => unique.push((check.on.clone(), vec![(i, applicable)])),
                }
            }
            _ => others.push((i, check)),
        }
    }
    let mut sources = Vec::new();
    for (on, rules) in unique {
        let s = sources.len();
        let names: Vec<String> = rules.iter().map(|&(i, _)| what(i)).collect();
        let frame = duplicates(ctx, table, s, &on, &rules)
            .await
            .map_err(|e| Error::engine(names.join(", "), e))?;
        sources.push(Source {
            rules: rules.iter().map(|&(i, _)| i).collect(),
            on,
            frame,
        });
    }
    for (i, check) in others {
        let s = sources.len();
        let frame = match &check.native {
            // `close_without_open`'s reference SQL is one join of the closing records with
            // the opening ones by pair, cheaper than gathering each pair's records (10M
            // marriage rows on two one-core executors, single runs: about 1.6 s less than
            // reducing each pair's openings to their first date, 3 s less than judging
            // lists of each pair's records).
            Some(Native::History(h)) if h.find != Find::CloseWithoutOpen => {
                history(ctx, table, s, i, &check.on, h).await
            }
            _ => key_plan(ctx, s, i, check),
        }
        .map_err(|e| Error::engine(what(i), e))?;
        sources.push(Source {
            rules: vec![i],
            on: check.on.clone(),
            frame,
        });
    }
    Ok(sources)
}

type Planned = datafusion::common::Result<DataFrame>;

/// `unique` rules over the same columns: the columns, and each rule's position and the
/// condition of its rows.
type UniqueGroup<'t> = (Vec<BoundColumn>, Vec<(usize, &'t Expr)>);

/// `on`'s values as source `s`'s key columns, from columns named `value(j)`.
fn keys(s: usize, on: &[BoundColumn], value: impl Fn(usize) -> Expr) -> Vec<Expr> {
    on.iter()
        .enumerate()
        .map(|(j, c)| cast_expr(value(j), c.ty.arrow_type()).alias(key_column(s, j)))
        .collect()
}

fn all_present(exprs: impl Iterator<Item = Expr>) -> Expr {
    exprs
        .map(Expr::is_not_null)
        .reduce(Expr::and)
        .unwrap_or_else(|| lit(true))
}

/// `unique` rules over `on`: one aggregation counting, per tuple, each rule's applicable
/// rows; a tuple is anomalous for the rules that count it more than once.
async fn duplicates(
    ctx: &SessionContext,
    table: &BoundTable,
    s: usize,
    on: &[BoundColumn],
    rules: &[(usize, &Expr)],
) -> Planned {
    let counted = |i: usize| format!("__qc_rows_{i}");
    let counts = rules
        .iter()
        .map(|&(i, applicable)| {
            sum(cast_expr(applicable.clone().is_true(), DataType::Int64)).alias(counted(i))
        })
        .collect();
    let duplicated = |i: usize| col(counted(i)).gt(lit(1i64));
    let mut columns: Vec<Expr> = (0..on.len()).map(|j| col(key_column(s, j))).collect();
    columns.extend(
        rules
            .iter()
            .map(|&(i, _)| duplicated(i).alias(match_column(i))),
    );
    ctx.table(table.table_ref().reference())
        .await?
        .filter(all_present(on.iter().map(|c| ident(&c.name))))?
        .aggregate(keys(s, on, |j| ident(&on[j].name)), counts)?
        .filter(
            rules
                .iter()
                .map(|&(i, _)| duplicated(i))
                .reduce(Expr::or)
                .unwrap_or_else(|| lit(false)),
        )?
        .select(columns)
}

/// A rule without a plan of its own here: its key plan, as the embedded engine runs it.
fn key_plan(ctx: &SessionContext, s: usize, i: usize, check: &SetCheck) -> Planned {
    let frame = DataFrame::new(ctx.state(), check.keys.clone());
    let schema = frame.schema().clone();
    let mut columns = keys(s, &check.on, |j| {
        Expr::Column(Column::from(schema.qualified_field(j)))
    });
    columns.push(lit(true).alias(match_column(i)));
    frame
        .select(columns)?
        .filter(all_present(
            (0..check.on.len()).map(|j| col(key_column(s, j))),
        ))?
        .distinct()
}

/// A `history` rule over people (rule `i`, anomalous tuples of `on`): each record in the
/// group of each of its people, the people with one record left out, and each person's
/// records judged together.
async fn history(
    ctx: &SessionContext,
    table: &BoundTable,
    s: usize,
    i: usize,
    on: &[BoundColumn],
    h: &HistoryCheck,
) -> Planned {
    let mut base = ctx.table(table.table_ref().reference()).await?;
    let date = cast_expr(ident(&h.date.name), DataType::Int64);
    let event = |e: &Option<Expr>| e.clone().map_or(lit(false), Expr::is_true);
    let (opens, closes) = (event(&h.opens), event(&h.closes));
    let person_type = h.of[0].ty.arrow_type();

    // The earliest ending event of each of a record's people, as one date.
    let mut ended = None;
    if let Some(ends) = &h.ends {
        let events = ctx
            .table(ends.table.reference())
            .await?
            .filter(
                crate::checks::set::applicable(std::slice::from_ref(&ends.person), None)
                    .and(ident(&ends.date.name).is_not_null()),
            )?
            .aggregate(
                vec![cast_expr(ident(&ends.person.name), person_type.clone()).alias(PERSON)],
                vec![
                    min(cast_expr(
                        cast_expr(ident(&ends.date.name), h.date.arrow.clone()),
                        DataType::Int64,
                    ))
                    .alias("__qc_ended"),
                ],
            )?;
        let mut dates = Vec::new();
        for (role, person) in h.of.iter().enumerate() {
            let (who, on_date) = (format!("__qc_ender_{role}"), format!("__qc_ended_{role}"));
            let events = events.clone().select(vec![
                col(PERSON).alias(&who),
                col("__qc_ended").alias(&on_date),
            ])?;
            base = base.join_on(
                events,
                JoinType::Left,
                vec![cast_expr(ident(&person.name), person_type.clone()).eq(col(&who))],
            )?;
            dates.push(col(on_date));
        }
        ended = Some(if dates.len() == 1 {
            dates.remove(0)
        } else {
            least(dates)
        });
    }

    // Values in their declared types: text as plain strings, not views of the scan's buffers
    // (an aggregate holding views is charged for their whole buffers, again for each view).
    let value = |c: &BoundColumn| cast_expr(ident(&c.name), c.ty.arrow_type());
    let mut fields = Vec::new();
    for (j, c) in on.iter().enumerate() {
        fields.extend([lit(verdicts::key_field(j)), value(c)]);
    }
    for (j, c) in h.pair.iter().enumerate() {
        fields.extend([lit(verdicts::pair_field(j)), value(c)]);
    }
    fields.extend([
        lit(verdicts::DATE),
        date.clone(),
        lit(verdicts::OPENS),
        opens.clone(),
        lit(verdicts::CLOSES),
        closes.clone(),
    ]);
    if let Some(ended) = ended {
        fields.extend([lit(verdicts::ENDED), ended]);
    }
    let record = named_struct(fields).alias(RECORD);

    // A person may be in any `of` column: a record is in each of its people's groups.
    let relevant = match h.find {
        Find::NotLatest => date.is_not_null(),
        _ => date.is_not_null().and(opens.clone().or(closes.clone())),
    };
    let mut by_person: Option<DataFrame> = None;
    for person in &h.of {
        let part = base
            .clone()
            .filter(ident(&person.name).is_not_null().and(relevant.clone()))?
            .select(vec![
                cast_expr(ident(&person.name), person_type.clone()).alias(PERSON),
                record.clone(),
            ])?
            .select(vec![
                col(PERSON),
                verdicts::hash(col(PERSON)).alias(PERSON_HASH),
                col(RECORD),
            ])?;
        by_person = Some(match by_person {
            Some(all) => all.union(part)?,
            None => part,
        });
    }
    let Some(by_person) = by_person else {
        return datafusion::common::plan_err!("a history without `of` columns");
    };
    // A person with one record has nothing to judge it against. People are counted by the
    // hash of their value (as the embedded engine does): a collision only adds people to
    // judge.
    let several = by_person
        .clone()
        .aggregate(
            vec![col(PERSON_HASH)],
            vec![count(lit(1)).alias("__qc_records")],
        )?
        .filter(col("__qc_records").gt(lit(1i64)))?
        .select(vec![col(PERSON_HASH)])?;
    // Each person's records judged together. They are sent to many more partitions than
    // tasks run at once: a task holds the records of its share of the people only (as the
    // embedded engine judges in chunks when the records do not fit its memory).
    let anomalous = semi_join(by_person, several, &[PERSON_HASH.to_string()])?
        .repartition(Partitioning::Hash(
            vec![col(PERSON)],
            GROUP_SHARES * ctx.state().config().target_partitions(),
        ))?
        .aggregate(
            vec![col(PERSON)],
            vec![array_agg(col(RECORD)).alias(HISTORIES)],
        )?
        .select(vec![
            col(HISTORIES),
            verdicts::verdicts(col(HISTORIES), h.find).alias(VERDICTS),
        ])?
        .unnest_columns(&[HISTORIES, VERDICTS])?
        .filter(col(VERDICTS).is_true())?
        .select(keys(s, on, |j| {
            get_field(col(HISTORIES), verdicts::key_field(j))
        }))?;
    distinct_tuples(anomalous, s, i, on.len())
}

/// Source `s`'s distinct tuples (of `width` key columns) from `anomalous`, marked as rule
/// `i`'s.
fn distinct_tuples(anomalous: DataFrame, s: usize, i: usize, width: usize) -> Planned {
    let mut columns: Vec<Expr> = (0..width).map(|j| col(key_column(s, j))).collect();
    columns.push(lit(true).alias(match_column(i)));
    anomalous
        .filter(all_present((0..width).map(|j| col(key_column(s, j)))))?
        .select(columns)?
        .distinct()
}

/// The rows of `frame` whose `group` columns' values are a row of `groups` (columns of the
/// same names).
fn semi_join(frame: DataFrame, groups: DataFrame, group: &[String]) -> Planned {
    let kept = |g: &String| format!("{g}_kept");
    let groups = groups.select(
        group
            .iter()
            .map(|g| col(g.as_str()).alias(kept(g)))
            .collect::<Vec<_>>(),
    )?;
    frame.join_on(
        groups,
        JoinType::LeftSemi,
        group
            .iter()
            .map(|g| col(g.as_str()).eq(col(kept(g))))
            .collect::<Vec<_>>(),
    )
}
