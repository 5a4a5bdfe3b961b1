//! `history`: a record judged against the other records of the same person, in date order
//! (remarried while still married, a divorce with no marriage before it, a death recorded
//! again later). qc computes it over the person's records only, not by joining the table
//! with itself; the equivalent SQL is kept as the reference. The judgement of one history
//! ([`Records`], [`not_latest`], [`overlap`], [`opened`]) is here, shared by qc's own set
//! engine and a cluster's executors.

use std::fmt::Write as _;

use arrow::array::Array;

use datafusion::logical_expr::Expr;
use serde::Deserialize;

use super::set::{
    Absent, EndsCheck, Find, HistoryCheck, KeyUnit, Native, SetCheck, SetCx, SetOutcome, Stop,
};
use crate::checks::Reason;
use crate::diagnostic::Code;
use crate::rules::{BoundColumn, Spanned};

pub const DOC: &str = "\
# history

## What it checks
Each record belongs to the history of the people its `of` columns name (a marriage record to
both parties'), ordered by its `date`. `find` says which records are anomalous:
- `not_latest`: a record of a person who has another record dated strictly later (a death
  recorded again later: every record but the last is anomalous).
- `overlap`: an opening record (`opens`) of a person who has an earlier opening record
  (an earlier date; or the same date, another `pair` and a smaller record key: of two
  marriages to different partners registered on one day, the one with the greater key is
  the second, while the same pair twice on one day is a duplicate record, not a second
  marriage) that no closing record (`closes`)
  of the same `pair` closed on a date from the earlier record's to this one's, both
  included (married again while still married). With `ends`, the earlier record is also
  closed when one of its people has an ending event (a death) dated on or before this
  record (a widowed party's remarriage is not a second marriage).
- `close_without_open`: a closing record with no opening record of its `pair` dated on or
  before it (a divorce with no marriage before it).

Only the records of people with more than one record (or, for `close_without_open`, of
pairs that were closed) are read twice; everything else is read once, on every core.

## NULL
A NULL person joins no history; a record with a NULL date is never earlier or later than
another. For `overlap`, an earlier opening record whose pair has a NULL can never be closed;
for `close_without_open`, a closing record whose pair or date is NULL has no opening record.
Rows with a NULL key are not applicable.

## Parameters
- `of`: the person columns (one or more, compared with each other: a person may appear in
  any of them).
- `date`: a date or timestamp column.
- `find`: `not_latest` | `overlap` | `close_without_open`.
- `opens`, `closes`: SQL conditions on a row (`overlap`, `close_without_open`).
- `pair`: the columns a closing record must share with an opening record to close it
  (default: `of`); every `of` column must be one of them.
- `ends` (`overlap` only): `{ table, person, date }`, a table of events that end every
  opening record of the person they name (a death ends a marriage): `table` is
  `library.table`, `person` its column compared with the `of` values as written (same type;
  a NULL or `null_like` person ends nothing), `date` its date column (a NULL date ends
  nothing). If that table's pack sits beside this one but is not in the run, the rule runs
  **without** `ends` and says so (a `rule-partial` warning and `partial_rules` in the
  summary): its findings then include the remarriages the ending events would excuse.

## Example
```yaml
check:
  history:
    of: [male_id, female_id]
    date: reg_date
    opens: \"business_type = '结婚'\"
    closes: \"business_type = '离婚'\"
    find: overlap
```

## Anomaly reason
zh: 「{of}」的履历中{finding} · en: in the history of `{of}`: {finding_en}
";

/// Why a row fails (documented above under "Anomaly reason").
pub const REASON: Reason = Reason {
    zh: "「{of}」的履历中{finding}",
    en: "in the history of `{of}`: {finding_en}",
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct History {
    pub of: Vec<Spanned<String>>,
    pub date: Spanned<String>,
    pub find: Spanned<String>,
    #[serde(default)]
    pub opens: Option<Spanned<String>>,
    #[serde(default)]
    pub closes: Option<Spanned<String>>,
    #[serde(default)]
    pub pair: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    pub ends: Option<Box<Spanned<Ends>>>,
}

/// `ends:` events of another table that end a person's opening records (a death).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ends {
    pub table: Spanned<String>,
    pub person: Spanned<String>,
    pub date: Spanned<String>,
}

impl History {
    /// Why a row fails, in Chinese and English.
    pub fn reason(&self) -> (String, String) {
        let of = super::column_list(&self.of);
        let (zh, en) = match Find::parse(&self.find.value) {
            Some(Find::NotLatest) => ("有更晚的记录", "a later record exists"),
            Some(Find::Overlap) => (
                "此前开始的状态尚未结束",
                "an earlier opening record was not closed",
            ),
            Some(Find::CloseWithoutOpen) => {
                ("此前没有对应的开始记录", "no opening record before it")
            }
            None => ("", ""),
        };
        REASON.render_each(
            &[("of", &of), ("finding", zh)],
            &[("of", &of), ("finding_en", en)],
        )
    }

    pub async fn bind<T>(&self, at: &Spanned<T>, cx: &mut SetCx<'_>) -> SetOutcome {
        match self.try_bind(at, cx).await {
            Ok(check) => SetOutcome::Bound(Box::new(check)),
            Err(stop) => stop.into(),
        }
    }

    async fn try_bind<T>(&self, at: &Spanned<T>, cx: &mut SetCx<'_>) -> Result<SetCheck, Stop> {
        let Some(find) = Find::parse(&self.find.value) else {
            let names: Vec<&str> = Find::NAMES.iter().map(|(n, _)| *n).collect();
            cx.error(
                Code::InvalidOption,
                &self.find,
                format!(
                    "unknown `find` `{}`; it is one of: {}",
                    self.find.value,
                    names.join(", ")
                ),
            );
            return Err(Stop::Reported);
        };
        if self.of.is_empty() {
            cx.error(
                Code::InvalidOption,
                at,
                "`history` needs at least one `of` column",
            );
            return Err(Stop::Reported);
        }
        let of = cx.own_columns(&self.of).ok_or(Stop::Reported)?;
        let pair = match &self.pair {
            Some(names) => cx.own_columns(names).ok_or(Stop::Reported)?,
            None => of.clone(),
        };
        let date = cx
            .own_columns(std::slice::from_ref(&self.date))
            .ok_or(Stop::Reported)?
            .remove(0);
        if !date.ty.is_temporal() {
            cx.error(
                Code::TypeMismatch,
                &self.date,
                format!(
                    "`date` must be a date or timestamp column; `{}` is {}",
                    date.name, date.ty
                ),
            );
            return Err(Stop::Reported);
        }
        let person = of[0].ty;
        if let Some(c) = of.iter().find(|c| !super::set::comparable(c.ty, person)) {
            cx.error(
                Code::TypeMismatch,
                at,
                format!(
                    "the `of` columns must share a type; `{}` is {}",
                    c.name, c.ty
                ),
            );
            return Err(Stop::Reported);
        }
        if let Some(c) = of.iter().find(|o| !pair.iter().any(|p| p.name == o.name)) {
            cx.error(
                Code::InvalidOption,
                at,
                format!(
                    "every `of` column must be a `pair` column; `{}` is not",
                    c.name
                ),
            );
            return Err(Stop::Reported);
        }
        let needs_events = find != Find::NotLatest;
        let opens = self
            .condition(cx, self.opens.as_ref(), "opens", needs_events)
            .await?;
        let closes = self
            .condition(cx, self.closes.as_ref(), "closes", needs_events)
            .await?;

        let (ends, partial) = match &self.ends {
            Some(e) => self.bind_ends(e, find, person, cx)?,
            None => (None, None),
        };
        let key = cx.key_columns();
        let sql = reference_sql(
            &cx.table.to_string(),
            &key,
            &of,
            &pair,
            &date,
            self.opens.as_ref().map(|s| s.value.as_str()),
            self.closes.as_ref().map(|s| s.value.as_str()),
            ends.as_ref(),
            find,
        );
        let plan = match cx.ctx.sql(&sql).await {
            Ok(df) => df.logical_plan().clone(),
            Err(e) => return Err(cx.engine_error(at, &e)),
        };
        Ok(SetCheck {
            native: Some(Native::History(Box::new(HistoryCheck {
                of,
                pair,
                date,
                opens,
                closes,
                find,
                ends: ends.clone(),
            }))),
            on: key,
            keys: plan,
            unit: KeyUnit::ReturnedKey,
            reads: ends.into_iter().map(|e| e.table).collect(),
            partial,
        })
    }

    /// `ends`, bound against its table; `(None, Some(absent))` when that table's pack is
    /// not in the run (the rule then runs without it).
    fn bind_ends(
        &self,
        ends: &Spanned<Ends>,
        find: Find,
        person: crate::rules::ColumnType,
        cx: &mut SetCx<'_>,
    ) -> Result<(Option<EndsCheck>, Option<Absent>), Stop> {
        if find != Find::Overlap {
            cx.error(
                Code::InvalidOption,
                ends,
                format!(
                    "`ends` applies to `find: overlap` only, not `{}`",
                    self.find.value
                ),
            );
            return Err(Stop::Reported);
        }
        let e = &ends.value;
        let (table, columns) = match cx.resolve_table(&e.table.value, &e.table) {
            Ok(t) => t,
            Err(Stop::Skip(absent)) => return Ok((None, Some(absent))),
            Err(stop) => return Err(stop),
        };
        let mut column = |name: &Spanned<String>| {
            let found = columns.iter().find(|c| c.name == name.value).cloned();
            if found.is_none() {
                let d = super::cx::unknown_column(&name.value, &columns, cx.span(name));
                cx.diagnostics.push(d);
            }
            found
        };
        let (Some(who), Some(when)) = (column(&e.person), column(&e.date)) else {
            return Err(Stop::Reported);
        };
        if !super::set::comparable(who.ty, person) {
            cx.error(
                Code::TypeMismatch,
                &e.person,
                format!(
                    "`ends.person` must have the `of` columns' type ({person}); `{}` is {}",
                    who.name, who.ty
                ),
            );
            return Err(Stop::Reported);
        }
        if !when.ty.is_temporal() {
            cx.error(
                Code::TypeMismatch,
                &e.date,
                format!(
                    "`ends.date` must be a date or timestamp column; `{}` is {}",
                    when.name, when.ty
                ),
            );
            return Err(Stop::Reported);
        }
        Ok((
            Some(EndsCheck {
                table,
                person: who,
                date: when,
            }),
            None,
        ))
    }

    /// A condition (`opens`/`closes`) compiled over the table's row, required for events.
    async fn condition(
        &self,
        cx: &mut SetCx<'_>,
        sql: Option<&Spanned<String>>,
        what: &str,
        required: bool,
    ) -> Result<Option<Expr>, Stop> {
        let Some(sql) = sql else {
            if required {
                cx.error(
                    Code::InvalidOption,
                    &self.find,
                    format!("`find: {}` needs `{what}`", self.find.value),
                );
                return Err(Stop::Reported);
            }
            return Ok(None);
        };
        let frame = cx.frame(cx.table).await?;
        let schema = frame.schema().clone();
        match crate::rules::sql::compile_row_expr(&sql.value, &cx.ctx.state(), &schema) {
            Ok((expr, _)) => Ok(Some(expr)),
            Err(p) => {
                cx.error(p.code, sql, format!("{what}: {}", p.message));
                Err(Stop::Reported)
            }
        }
    }
}

/// `'text'`, quoted for SQL.
fn text_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// `"name"`, quoted for SQL.
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The SQL that answers the check, the reference for qc's own computation.
#[allow(clippy::too_many_arguments)]
fn reference_sql(
    table: &str,
    key: &[BoundColumn],
    of: &[BoundColumn],
    pair: &[BoundColumn],
    date: &BoundColumn,
    opens: Option<&str>,
    closes: Option<&str>,
    ends: Option<&EndsCheck>,
    find: Find,
) -> String {
    let keys = |alias: &str| {
        key.iter()
            .map(|c| format!("{alias}.{}", quoted(&c.name)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let plain_keys = key
        .iter()
        .map(|c| quoted(&c.name))
        .collect::<Vec<_>>()
        .join(", ");
    let pairs = pair
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{} AS __qc_pair_{i}", quoted(&c.name)))
        .collect::<Vec<_>>()
        .join(", ");
    let same_pair = |a: &str, b: &str| {
        (0..pair.len())
            .map(|i| format!("{a}.__qc_pair_{i} = {b}.__qc_pair_{i}"))
            .collect::<Vec<_>>()
            .join(" AND ")
    };
    // `a`'s key sorts before `b`'s: lexicographic over the key columns.
    let key_before = |a: &str, b: &str| {
        (0..key.len())
            .map(|i| {
                let equal: Vec<String> = key[..i]
                    .iter()
                    .map(|c| format!("{a}.{q} = {b}.{q}", q = quoted(&c.name)))
                    .collect();
                let less = format!("{a}.{q} < {b}.{q}", q = quoted(&key[i].name));
                equal
                    .into_iter()
                    .chain([less])
                    .collect::<Vec<_>>()
                    .join(" AND ")
            })
            .map(|t| format!("({t})"))
            .reduce(|a, b| format!("{a} OR {b}"))
            .unwrap_or_else(|| "FALSE".to_string())
    };
    let d = quoted(&date.name);
    let per_person = |filter: &str, extra: &str| {
        of.iter()
            .map(|o| {
                format!(
                    "SELECT {plain_keys}, {d} AS __qc_date, {} AS __qc_person{extra} \
                     FROM {table} WHERE {filter}",
                    quoted(&o.name)
                )
            })
            .collect::<Vec<_>>()
            .join(" UNION ALL ")
    };
    // An earlier opening record ended by one of its people's ending events on or before the
    // later record (the `of` columns are among the pair columns).
    let not_ended = ends
        .map(|e| {
            let person = format!("x.{}", quoted(&e.person.name));
            let present = if e.person.null_like.is_empty() {
                String::new()
            } else {
                format!(
                    " AND btrim({person}, {}) NOT IN ({})",
                    text_literal(super::not_null::BLANK_CHARS),
                    e.person
                        .null_like
                        .iter()
                        .map(|v| text_literal(v))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            let mut sql = String::new();
            for i in of
                .iter()
                .filter_map(|o| pair.iter().position(|p| p.name == o.name))
            {
                // The event's date in the history date's type (a timestamp counts as its
                // day when the history is dated by day), as qc's engine compares them.
                let unit = if date.ty == crate::rules::ColumnType::Date {
                    "DATE"
                } else {
                    "TIMESTAMP"
                };
                let _ = write!(
                    sql,
                    " AND NOT EXISTS (SELECT 1 FROM {} x WHERE {person} = earlier.__qc_pair_{i} \
                     AND CAST(x.{} AS {unit}) <= later.__qc_date{present})",
                    e.table,
                    quoted(&e.date.name)
                );
            }
            sql
        })
        .unwrap_or_default();
    let opens = opens.map(|s| format!("({s}) IS TRUE")).unwrap_or_default();
    let closes = closes.map(|s| format!("({s}) IS TRUE")).unwrap_or_default();
    match find {
        Find::NotLatest => format!(
            "WITH persons AS ({}), last AS (SELECT __qc_person, max(__qc_date) AS __qc_last \
             FROM persons GROUP BY __qc_person) \
             SELECT DISTINCT {} FROM persons p JOIN last l ON p.__qc_person = l.__qc_person \
             WHERE p.__qc_date < l.__qc_last",
            per_person("TRUE", ""),
            keys("p")
        ),
        Find::Overlap => format!(
            "WITH opens AS ({}), closes AS (SELECT {d} AS __qc_date, {pairs} FROM {table} \
             WHERE {closes}) \
             SELECT DISTINCT {} FROM opens later JOIN opens earlier \
             ON earlier.__qc_person = later.__qc_person AND (earlier.__qc_date < later.__qc_date \
             OR (earlier.__qc_date = later.__qc_date AND ({}) AND NOT ({}))) \
             WHERE NOT EXISTS (SELECT 1 FROM closes c WHERE {} \
             AND c.__qc_date >= earlier.__qc_date AND c.__qc_date <= later.__qc_date){not_ended}",
            per_person(&opens, &format!(", {pairs}")),
            keys("later"),
            key_before("earlier", "later"),
            same_pair("earlier", "later"),
            same_pair("c", "earlier")
        ),
        Find::CloseWithoutOpen => format!(
            "WITH opens AS (SELECT {d} AS __qc_date, {pairs} FROM {table} WHERE {opens}), \
             closes AS (SELECT {plain_keys}, {d} AS __qc_date, {pairs} FROM {table} \
             WHERE {closes}) \
             SELECT DISTINCT {} FROM closes c WHERE NOT EXISTS (SELECT 1 FROM opens o \
             WHERE {} AND o.__qc_date <= c.__qc_date)",
            keys("c"),
            same_pair("o", "c")
        ),
    }
}

/// The records of one history (a person's, or a pair's) as an engine holds them, numbered
/// `0..`: what [`not_latest`], [`overlap`] and [`opened`] judge. qc's set engine and a
/// cluster's executors hold them differently and judge them with these same functions.
pub trait Records {
    fn date(&self, r: usize) -> Option<i64>;
    fn opens(&self, r: usize) -> bool;
    fn closes(&self, r: usize) -> bool;
    /// The record's pair, in an encoding where equal pairs have equal bytes (`None`: a NULL).
    fn pair(&self, r: usize) -> Option<&[u8]>;
    /// The record's key, in an encoding whose bytes sort as the values do (`None`: a NULL).
    fn key(&self, r: usize) -> Option<&[u8]>;
}

/// Records' dates (as integers) and events, as read: a NULL date is no date, a NULL event
/// did not happen. How both engines read them from Arrow columns.
pub struct Events {
    dates: arrow::array::Int64Array,
    opens: arrow::array::BooleanArray,
    closes: arrow::array::BooleanArray,
}

impl Events {
    pub fn new(
        dates: arrow::array::Int64Array,
        opens: arrow::array::BooleanArray,
        closes: arrow::array::BooleanArray,
    ) -> Events {
        Events {
            dates,
            opens,
            closes,
        }
    }

    pub fn date(&self, r: usize) -> Option<i64> {
        self.dates.is_valid(r).then(|| self.dates.value(r))
    }

    pub fn opens(&self, r: usize) -> bool {
        self.opens.is_valid(r) && self.opens.value(r)
    }

    pub fn closes(&self, r: usize) -> bool {
        self.closes.is_valid(r) && self.closes.value(r)
    }
}

/// `not_latest` over one person's records `ids`: all but those of the latest date.
pub fn not_latest(records: &impl Records, ids: &[usize], anomalous: &mut Vec<usize>) {
    let latest = ids.iter().filter_map(|&r| records.date(r)).max();
    for &r in ids {
        if records.date(r).zip(latest).is_some_and(|(d, l)| d < l) {
            anomalous.push(r);
        }
    }
}

/// `overlap` over one person's records `ids`: an opening record with an earlier opening
/// record (an earlier date, or the same date, another pair and a smaller key) that no closing
/// record of its pair closed in between (both days included), and that `ended(earlier, to)`
/// (an ending event of one of its people on or before `to`) does not end.
pub fn overlap(
    records: &impl Records,
    ids: &[usize],
    ended: impl Fn(usize, i64) -> bool,
    anomalous: &mut Vec<usize>,
) {
    let key_before = |a: usize, b: usize| {
        records
            .key(a)
            .zip(records.key(b))
            .is_some_and(|(a, b)| a < b)
    };
    let closed = |pair: Option<&[u8]>, from: i64, to: i64| {
        let Some(pair) = pair else { return false };
        ids.iter().any(|&c| {
            records.closes(c)
                && records.date(c).is_some_and(|d| from <= d && d <= to)
                && records.pair(c) == Some(pair)
        })
    };
    for &later in ids.iter().filter(|&&r| records.opens(r)) {
        let Some(to) = records.date(later) else {
            continue;
        };
        // On one day, a record of another pair (the same pair twice is a duplicate record).
        let other_pair = |earlier: usize| {
            records
                .pair(earlier)
                .zip(records.pair(later))
                .is_some_and(|(a, b)| a != b)
        };
        let overlapped = ids.iter().any(|&earlier| {
            records.opens(earlier)
                && records.date(earlier).is_some_and(|from| {
                    (from < to || (from == to && key_before(earlier, later) && other_pair(earlier)))
                        && !closed(records.pair(earlier), from, to)
                        && !ended(earlier, to)
                })
        });
        if overlapped {
            anomalous.push(later);
        }
    }
}

/// The closing records among `ids` (records that may share a pair) that an opening record of
/// their own pair precedes or shares a date with. For `close_without_open`, every other
/// closing record is anomalous (one whose pair or date is NULL included).
pub fn opened(records: &impl Records, ids: &[usize], opened: &mut Vec<usize>) {
    for &c in ids.iter().filter(|&&r| records.closes(r)) {
        let (Some(pair), Some(date)) = (records.pair(c), records.date(c)) else {
            continue;
        };
        let open = ids.iter().any(|&o| {
            records.opens(o)
                && records.date(o).is_some_and(|d| d <= date)
                && records.pair(o) == Some(pair)
        });
        if open {
            opened.push(c);
        }
    }
}
