//! A table's `exemptions:`: records the center has agreed a rule does not apply to, without
//! editing the rule — by provider, by record key, or by a SQL condition — each with its
//! reason and an expiry date. An exemption folds into the `when` of every rule it names (all
//! of the table's rules when it names none): the rows it covers are not applicable while the
//! run date (`--as-of`, `current_date()` in rule SQL) is on or before its `until`. An expired
//! exemption applies to nothing and the run says so.

use std::ops::Not as _;

use datafusion::logical_expr::{Expr, ident, lit};
use serde::{Deserialize, Serialize};

use crate::checks::cx::BindCx;
use crate::diagnostic::Code;
use crate::rules::Spanned;

use super::BoundRule;

/// An exemption as written in the pack.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExemptionDoc {
    /// The rules it exempts from; all of the table's when absent.
    #[serde(default)]
    pub rules: Option<Vec<Spanned<String>>>,
    /// Rows of this provider (the table's `provider` column).
    #[serde(default)]
    pub provider: Option<Spanned<String>>,
    /// Rows with these values of the table's (one-column) key.
    #[serde(default)]
    pub key: Option<Spanned<Vec<String>>>,
    /// Rows where this SQL condition holds.
    #[serde(default, rename = "where")]
    pub condition: Option<Spanned<String>>,
    pub reason: String,
    /// The last day it applies, `YYYY-MM-DD`.
    pub until: Spanned<String>,
}

/// An exemption as the run summary lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Exemption {
    /// The rules it exempts from; empty: every rule of the table.
    pub rules: Vec<String>,
    pub provider: Option<String>,
    /// How many record keys it names.
    pub keys: usize,
    #[serde(rename = "where")]
    pub condition: Option<String>,
    pub reason: String,
    pub until: String,
    /// Whether the run date is after `until` (set in the run summary).
    #[serde(default)]
    pub expired: bool,
}

/// Bind `docs` and fold each into the `when` of the rules it covers; return what the summary
/// lists. Problems are reported at their line.
pub fn apply(
    docs: &[ExemptionDoc],
    key: &[String],
    provider: Option<&str>,
    rules: &mut [BoundRule],
    cx: &mut BindCx<'_>,
) -> Vec<Exemption> {
    let mut listed = Vec::new();
    for doc in docs {
        let Some((condition, exemption)) = bind_one(doc, key, provider, rules, cx) else {
            continue;
        };
        for rule in rules.iter_mut().filter(|r| !r.builtin) {
            // An exemption from a rule covers its warning band too.
            let named = |id: &String| exemption.rules.contains(id);
            if !exemption.rules.is_empty()
                && !named(&rule.id)
                && !rule.band_of.as_ref().is_some_and(named)
            {
                continue;
            }
            exempt(rule, condition.clone());
        }
        listed.push(exemption);
    }
    listed
}

/// What the summary says of an exemption made by accepting problems.
pub const ACCEPTED_REASON: &str = "已认可的问题（qc problems accept）";

/// Fold the accepted problems of a table (`rule` → record keys) into its rules' `when`: an
/// accepted record is not applicable to the rule whose problem was accepted (nor to its
/// warning band). Records named by their place have no key to match and stay judged.
/// Returns one exemption per rule for the summary, with no end date.
pub fn accept(
    accepted: Option<&std::collections::BTreeMap<String, Vec<String>>>,
    key: &[String],
    rules: &mut [BoundRule],
) -> Vec<Exemption> {
    let Some(accepted) = accepted else {
        return Vec::new();
    };
    if key.is_empty() {
        return Vec::new();
    }
    let mut listed = Vec::new();
    for rule in rules.iter_mut() {
        let keys: Vec<Expr> = [Some(&rule.id), rule.band_of.as_ref()]
            .into_iter()
            .flatten()
            .filter_map(|id| accepted.get(id))
            .flatten()
            .filter(|k| !k.starts_with('@'))
            .map(|k| lit(k.clone()))
            .collect();
        if keys.is_empty() {
            continue;
        }
        if rule.band_of.is_none() {
            listed.push(Exemption {
                rules: vec![rule.id.clone()],
                provider: None,
                keys: keys.len(),
                condition: None,
                reason: ACCEPTED_REASON.to_string(),
                until: String::new(),
                expired: false,
            });
        }
        exempt(rule, crate::rules::key_text(key).in_list(keys, false));
    }
    listed
}

/// Fold `condition` into the rule's `when`: the rows where it is true are not applicable to
/// the rule. NULL (a column the condition reads is NULL) exempts nothing.
fn exempt(rule: &mut BoundRule, condition: Expr) {
    let exempt = condition.is_true();
    rule.when = Some(match rule.when.take() {
        Some(w) => exempt.not().and(w),
        None => exempt.not(),
    });
}

fn bind_one(
    doc: &ExemptionDoc,
    key: &[String],
    provider: Option<&str>,
    rules: &[BoundRule],
    cx: &mut BindCx<'_>,
) -> Option<(Expr, Exemption)> {
    let mut ok = true;
    let until = cx.pack_date("until", &doc.until)?;
    let known: Vec<&str> = rules
        .iter()
        .filter(|r| !r.builtin)
        .map(|r| r.id.as_str())
        .collect();
    for id in doc.rules.iter().flatten() {
        if !known.contains(&id.value.as_str()) {
            cx.unknown_rule("the exemption", id, known.iter().copied());
            ok = false;
        }
    }
    let mut parts: Vec<Expr> = Vec::new();
    if let Some(p) = &doc.provider {
        if let Some(column) = provider {
            parts.push(ident(column).eq(lit(p.value.clone())));
        } else {
            cx.error(
                Code::InvalidOption,
                p,
                "an exemption by provider needs the table's `provider` column",
            );
            ok = false;
        }
    }
    if let Some(k) = &doc.key {
        match key {
            [column] if !k.value.is_empty() => {
                let list = k.value.iter().map(|v| lit(v.clone())).collect();
                // Keys are compared as text, whatever the key column's type.
                let text = crate::rules::key_text(std::slice::from_ref(column));
                parts.push(text.in_list(list, false));
            }
            [_] => {
                cx.error(Code::InvalidOption, k, "`key` lists no value");
                ok = false;
            }
            _ => {
                cx.error(
                    Code::InvalidOption,
                    k,
                    format!(
                        "an exemption by `key` needs a one-column key; this table's is {}: \
                         write `where:` instead",
                        key.join(", ")
                    ),
                );
                ok = false;
            }
        }
    }
    if let Some(w) = &doc.condition {
        match crate::checks::expr::bind_boolean(w, "where", cx) {
            Some(e) => parts.push(e),
            None => ok = false,
        }
    }
    if parts.is_empty() && ok {
        cx.error(
            Code::InvalidOption,
            &doc.until,
            "an exemption names its rows: give `provider`, `key` or `where`",
        );
        return None;
    }
    if !ok {
        return None;
    }
    let current = cx.call("current_date", Vec::new())?;
    let in_force = current.lt_eq(lit(datafusion::common::ScalarValue::Date32(Some(until))));
    let condition = parts.into_iter().fold(in_force, Expr::and);
    Some((
        condition,
        Exemption {
            rules: doc
                .rules
                .iter()
                .flatten()
                .map(|r| r.value.clone())
                .collect(),
            provider: doc.provider.as_ref().map(|p| p.value.clone()),
            keys: doc.key.as_ref().map_or(0, |k| k.value.len()),
            condition: doc.condition.as_ref().map(|w| w.value.clone()),
            reason: doc.reason.clone(),
            until: crate::values::from_days(until).map_or_else(String::new, |d| d.to_string()),
            expired: false,
        },
    ))
}
