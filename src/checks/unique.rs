//! `unique`: no two applicable rows share the same values in the given columns.

use datafusion::functions_aggregate::expr_fn::count;
use datafusion::logical_expr::{ident, lit};
use serde::Deserialize;

use super::set::{KeyUnit, Native, SetCheck, SetCx, SetOutcome};
use crate::checks::Reason;
use crate::diagnostic::Code;
use crate::rules::Spanned;

pub const DOC: &str = "\
# unique

## What it checks
No two applicable rows of the table hold the same values in `columns` (one column, or a
combination). **Every row of a duplicated group fails** — the rule cannot know which copy
is right — and the summary also gives the number of duplicated groups. The result does not
depend on row order, partitioning or thread count.

## NULL
A row with NULL in any of the columns is not applicable (as SQL's UNIQUE: NULLs are never
duplicates of each other). A `when` precondition limits which rows compete.

## Parameters
- `columns`: list of column names.

## Example
```yaml
check: { unique: { columns: [id_no] } }
```

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
        let df = match cx.frame(cx.table).await {
            Ok(df) => df,
            Err(stop) => return stop.into(),
        };
        let keys: Vec<_> = on.iter().map(|c| ident(&c.name)).collect();
        let groups = df
            .filter(cx.applicable_rows(&on))
            .and_then(|df| df.aggregate(keys.clone(), vec![count(lit(1)).alias("__qc_n")]))
            .and_then(|df| df.filter(ident("__qc_n").gt(lit(1_i64))))
            .and_then(|df| df.select(keys));
        match groups {
            Ok(df) => SetOutcome::Bound(Box::new(SetCheck {
                native: Some(Native::Duplicates {
                    applicable: cx.applicable_rows(&on),
                }),
                on,
                keys: df.logical_plan().clone(),
                unit: KeyUnit::DuplicatedGroup,
                reads: Vec::new(),
            })),
            Err(e) => cx.engine_error(at, &e).into(),
        }
    }
}
