//! Rules in force on some record dates only: a rule's `record_date` names the date column a
//! record is dated by, and `valid_from` / `valid_to` (`YYYY-MM-DD`, both days included) the
//! record dates it applies to — a law change (the divorce cooling-off period from
//! 2021-01-01) is then data, not a hand-written `when`. Dated code lists are judged on the
//! same column ([`crate::checks::allowed`]).

use arrow::datatypes::DataType;
use datafusion::logical_expr::{Expr, cast, ident};

use crate::checks::cx::BindCx;
use crate::diagnostic::Code;
use crate::rules::{ColumnType, Spanned};

use super::parse::RuleDoc;

/// Resolve `r`'s `record_date` into `cx` (for the check's code lists) and return the
/// condition its `valid_from` / `valid_to` put on a row: `Some(None)` when it has none,
/// `None` when a problem was reported. A row without a record date is not applicable to a
/// dated rule.
pub fn validity(r: &RuleDoc, cx: &mut BindCx<'_>) -> Option<Option<Expr>> {
    let mut ok = true;
    if let Some(name) = &r.record_date {
        cx.record_date = cx.column_of(
            name,
            "record_date",
            &[ColumnType::Date, ColumnType::Timestamp],
        );
        ok &= cx.record_date.is_some();
    }
    let mut day = |d: &Option<Spanned<String>>, what: &str| -> Option<i32> {
        let day = cx.pack_date(what, d.as_ref()?);
        ok &= day.is_some();
        day
    };
    let from = day(&r.valid_from, "valid_from");
    let to = day(&r.valid_to, "valid_to");
    if let (Some(f), Some(t), Some(at)) = (from, to, &r.valid_to)
        && f > t
    {
        cx.error(Code::InvalidOption, at, "`valid_to` is before `valid_from`");
        ok = false;
    }
    let dated = r.valid_from.as_ref().or(r.valid_to.as_ref());
    if let (Some(at), None) = (dated, &r.record_date) {
        cx.error(
            Code::InvalidOption,
            at,
            "`valid_from` / `valid_to` are judged on a record's date: name the rule's \
             `record_date` column",
        );
        return None;
    }
    if !ok {
        return None;
    }
    let Some(column) = &cx.record_date else {
        return Some(None);
    };
    let on = cast(ident(&column.name), DataType::Date32);
    Some(crate::checks::dates::in_period(&on, from, to))
}
