//! `unique`: no two applicable rows share the same values in the given columns.

use datafusion::functions_aggregate::expr_fn::count;
use datafusion::functions_window::expr_fn::row_number;
use datafusion::logical_expr::{ExprFunctionExt, ident, lit};
use serde::Deserialize;

use super::set::{KeyUnit, Native, SetCheck, SetCx, SetOutcome};
use crate::checks::Reason;
use crate::diagnostic::Code;
use crate::rules::{BoundColumn, Spanned};

pub const DOC: &str = "\
# unique

## What it checks
No two applicable rows of the table hold the same values in `columns` (one column, or a
combination). By default **every row of a duplicated group fails** — the rule cannot know
which copy is right — and the summary also gives the number of duplicated groups. With
`keep: first`, the group's first row in `order_by` order (then the table's key) passes and
only the later copies fail, each matched by the table's key: the count is then the extra
copies (a 重复率), and feedback can say which record came first. The result does not depend
on row order, partitioning or thread count.

## NULL
A row with NULL in any of the columns is not applicable (as SQL's UNIQUE: NULLs are never
duplicates of each other); so is a row holding one of a column's `null_like` placeholders
(the rows written 无 form no duplicated group). A `when` precondition limits which rows compete.

## Parameters
- `columns`: list of column names.
- `keep`: `all_fail` (default) or `first`.
- `order_by`: with `keep: first`, the columns that say which copy came first (ascending;
  NULLs last; ties broken by the table's key). Default: the table's key.

## Example
```yaml
check: { unique: { columns: [record_id], keep: first, order_by: [issue_date] } }
```
(`check: { unique: { columns: [id_no] } }` fails every copy.)

## Anomaly reason
zh: {columns} 重复 · en: duplicate {columns}
";

/// Why a row fails (documented above under "Anomaly reason").
pub const REASON: Reason = Reason {
    zh: "{columns} 重复",
    en: "duplicate {columns}",
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Unique {
    pub columns: Vec<Spanned<String>>,
    #[serde(default)]
    pub keep: Option<Spanned<String>>,
    #[serde(default)]
    pub order_by: Option<Vec<Spanned<String>>>,
}

impl Unique {
    /// Why a row fails, in Chinese and English.
    pub fn reason(&self) -> (String, String) {
        REASON.render(&[("columns", &super::column_list(&self.columns))])
    }

    pub async fn bind<T>(&self, at: &Spanned<T>, cx: &mut SetCx<'_>) -> SetOutcome {
        if self.columns.is_empty() {
            cx.error(
                Code::InvalidOption,
                at,
                "`unique` needs at least one column",
            );
            return SetOutcome::Failed;
        }
        let Some(on) = cx.own_columns(&self.columns) else {
            return SetOutcome::Failed;
        };
        match &self.keep {
            Some(k) if k.value == "first" => return self.bind_keep_first(at, cx, on).await,
            Some(k) if k.value != "all_fail" => {
                cx.error(
                    Code::InvalidOption,
                    k,
                    format!(
                        "unknown `keep` `{}`; it is `all_fail` (the default) or `first`",
                        k.value
                    ),
                );
                return SetOutcome::Failed;
            }
            _ => {
                if let Some(o) = self.order_by.as_ref().and_then(|o| o.first()) {
                    cx.error(
                        Code::InvalidOption,
                        o,
                        "`order_by` says which copy is kept: it needs `keep: first`",
                    );
                    return SetOutcome::Failed;
                }
            }
        }
        let df = match cx.frame(cx.table).await {
            Ok(df) => df,
            Err(stop) => return stop.into(),
        };
        let groups = duplicated_groups(df, &on, cx.applicable_rows(&on));
        match groups {
            Ok(df) => SetOutcome::Bound(Box::new(SetCheck {
                native: Some(Native::Duplicates {
                    applicable: cx.applicable_rows(&on),
                }),
                on,
                keys: df.logical_plan().clone(),
                unit: KeyUnit::DuplicatedGroup,
                reads: Vec::new(),
                partial: None,
            })),
            Err(e) => cx.engine_error(at, &e).into(),
        }
    }
}

impl Unique {
    /// `keep: first`: the table keys of every row of a duplicated group but its first in
    /// `order_by` (then key) order. A window over the applicable rows; no native form.
    async fn bind_keep_first<T>(
        &self,
        at: &Spanned<T>,
        cx: &mut SetCx<'_>,
        on: Vec<BoundColumn>,
    ) -> SetOutcome {
        let key = cx.key_columns();
        if key.is_empty() {
            cx.error(
                Code::MissingKey,
                at,
                "`keep: first` marks the later copies by the table's key: declare `key:`",
            );
            return SetOutcome::Failed;
        }
        let Some(order) = cx.own_columns(self.order_by.as_deref().unwrap_or_default()) else {
            return SetOutcome::Failed;
        };
        let df = match cx.frame(cx.table).await {
            Ok(df) => df,
            Err(stop) => return stop.into(),
        };
        let sort: Vec<_> = order
            .iter()
            .chain(&key)
            .map(|c| ident(&c.name).sort(true, false))
            .collect();
        let rank = row_number()
            .partition_by(on.iter().map(|c| ident(&c.name)).collect())
            .order_by(sort)
            .build();
        let keys: Vec<_> = key.iter().map(|c| ident(&c.name)).collect();
        // Only the rows of duplicated groups are ranked: the groups come from one hash
        // aggregate, as for `keep: all_fail`, and a semi join keeps their rows.
        let names: Vec<&str> = on.iter().map(|c| c.name.as_str()).collect();
        let aliases: Vec<String> = (0..on.len()).map(|i| format!("__qc_dup_{i}")).collect();
        let groups = duplicated_groups(df.clone(), &on, cx.applicable_rows(&on)).and_then(|d| {
            d.select(
                names
                    .iter()
                    .zip(&aliases)
                    .map(|(n, a)| ident(*n).alias(a))
                    .collect::<Vec<_>>(),
            )
        });
        let later = rank.and_then(|rank| {
            let aliases: Vec<&str> = aliases.iter().map(String::as_str).collect();
            df.filter(cx.applicable_rows(&on))?
                .join(
                    groups?,
                    datafusion::common::JoinType::LeftSemi,
                    &names,
                    &aliases,
                    None,
                )?
                .window(vec![rank.alias("__qc_rank")])?
                .filter(ident("__qc_rank").gt(lit(1_u64)))?
                .select(keys)?
                .distinct()
        });
        match later {
            Ok(df) => SetOutcome::Bound(Box::new(SetCheck {
                native: None,
                on: key,
                keys: df.logical_plan().clone(),
                unit: KeyUnit::LaterCopy,
                reads: Vec::new(),
                partial: None,
            })),
            Err(e) => cx.engine_error(at, &e).into(),
        }
    }
}

/// The tuples of `on` held by more than one row where `applicable` is true.
fn duplicated_groups(
    df: datafusion::dataframe::DataFrame,
    on: &[BoundColumn],
    applicable: datafusion::logical_expr::Expr,
) -> datafusion::error::Result<datafusion::dataframe::DataFrame> {
    let keys: Vec<_> = on.iter().map(|c| ident(&c.name)).collect();
    df.filter(applicable)?
        .aggregate(keys.clone(), vec![count(lit(1)).alias("__qc_n")])?
        .filter(ident("__qc_n").gt(lit(1_i64)))?
        .select(keys)
}
