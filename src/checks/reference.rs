//! `reference`: the row's values exist in another table (a foreign key, across packs too).

use datafusion::common::JoinType;
use datafusion::logical_expr::{col, ident};
use serde::Deserialize;

use super::set::{KeyUnit, SetCheck, SetCx, SetOutcome, Stop, comparable};
use crate::checks::Reason;
use crate::diagnostic::Code;
use crate::rules::Spanned;

pub const DOC: &str = "\
# reference

## What it checks
The values of `columns` occur in `target_columns` of the `table` named `library.table`
(another table of the same pack, or of another pack in the same run), optionally among the
target's rows where `target_where` holds. A row whose values have no match fails; the summary
also gives the number of distinct unmatched values.

If the target's pack sits beside this pack but is not part of the run, the rule is skipped
with a notice (run `qc run --rules rules/` to include every pack).

## NULL
A row with NULL in any of `columns` is not applicable (as SQL foreign keys). NULL target
values match nothing.

## Parameters
- `columns`: the referencing columns of this table;
- `table`: the target, as `library.table`;
- `target_columns`: the referenced columns (default: the same names as `columns`);
- `target_where`: optional SQL condition over the target's rows.

## Example
```yaml
check:
  reference:
    columns: [address_code]
    table: spatial.address
    target_columns: [address_code]
```

## Anomaly reason
zh: {columns} 在 {table} 中不存在 · en: {columns} not found in {table}
";

/// Why a row fails (documented above under "Anomaly reason").
pub const REASON: Reason = Reason {
    zh: "{columns} 在 {table} 中不存在",
    en: "{columns} not found in {table}",
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reference {
    pub columns: Vec<Spanned<String>>,
    pub table: Spanned<String>,
    #[serde(default)]
    pub target_columns: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    pub target_where: Option<Spanned<String>>,
}

const OWN: &str = "__qc_own";
const TARGET: &str = "__qc_target";

impl Reference {
    /// Why a row fails, in Chinese and English.
    pub fn reason(&self) -> (String, String) {
        REASON.render(&[
            ("columns", &super::column_list(&self.columns)),
            ("table", &self.table.value),
        ])
    }

    pub async fn bind<T>(&self, at: &Spanned<T>, cx: &mut SetCx<'_>) -> SetOutcome {
        match self.try_bind(at, cx).await {
            Ok(check) => SetOutcome::Bound(Box::new(check)),
            Err(stop) => stop.into(),
        }
    }

    async fn try_bind<T>(&self, at: &Spanned<T>, cx: &mut SetCx<'_>) -> Result<SetCheck, Stop> {
        let target_names = self.target_columns.as_ref().unwrap_or(&self.columns);
        if self.columns.is_empty() || target_names.len() != self.columns.len() {
            cx.error(
                Code::InvalidOption,
                at,
                "`reference` needs as many target_columns as columns (at least one)",
            );
            return Err(Stop::Reported);
        }
        let on = cx.own_columns(&self.columns).ok_or(Stop::Reported)?;
        let (target, target_columns) = cx.resolve_table(&self.table.value, &self.table)?;
        let mut targets = Vec::new();
        for (own, t) in on.iter().zip(target_names) {
            let Some(tc) = target_columns.iter().find(|c| c.name == t.value) else {
                let d = super::cx::unknown_column(&t.value, &target_columns, cx.span(t));
                cx.diagnostics.push(d);
                return Err(Stop::Reported);
            };
            if !comparable(own.ty, tc.ty) {
                cx.error(
                    Code::TypeMismatch,
                    t,
                    format!(
                        "`{}` is {} but `{target}.{}` is {}",
                        own.name, own.ty, tc.name, tc.ty
                    ),
                );
                return Err(Stop::Reported);
            }
            targets.push(tc.clone());
        }

        let own_df = cx.frame(cx.table).await?;
        let mut target_df = cx.frame(&target).await?;
        if let Some(w) = &self.target_where {
            let schema = target_df.schema().clone();
            match crate::rules::sql::compile_row_expr(&w.value, &cx.ctx.state(), &schema) {
                Ok((expr, _)) => {
                    target_df = target_df
                        .filter(expr.is_true())
                        .map_err(|e| cx.engine_error(w, &e))?;
                }
                Err(p) => {
                    cx.error(p.code, w, format!("target_where: {}", p.message));
                    return Err(Stop::Reported);
                }
            }
        }
        let own_keys: Vec<_> = on.iter().map(|c| ident(&c.name)).collect();
        let target_keys: Vec<_> = targets
            .iter()
            .enumerate()
            .map(|(i, c)| ident(&c.name).alias(format!("__qc_t{i}")))
            .collect();
        let joined = own_df
            .filter(cx.applicable_rows(&on))
            .and_then(|df| df.select(own_keys))
            .and_then(datafusion::dataframe::DataFrame::distinct)
            .and_then(|df| df.alias(OWN))
            .and_then(|own| {
                let target = target_df.select(target_keys)?.alias(TARGET)?;
                let conditions: Vec<_> = on
                    .iter()
                    .enumerate()
                    .map(|(i, c)| {
                        col(format!("{OWN}.{}", c.name)).eq(col(format!("{TARGET}.__qc_t{i}")))
                    })
                    .collect();
                own.join_on(target, JoinType::LeftAnti, conditions)
            })
            .and_then(|df| {
                df.select(
                    on.iter()
                        .map(|c| col(format!("{OWN}.{}", c.name)).alias(&c.name))
                        .collect::<Vec<_>>(),
                )
            })
            .map_err(|e| cx.engine_error(at, &e))?;
        Ok(SetCheck {
            native: None,
            on,
            keys: joined.logical_plan().clone(),
            unit: KeyUnit::DanglingValue,
            reads: vec![target],
            partial: None,
        })
    }
}
