//! Stage two of binding: set-based rules (`unique`, `reference`, `query`), which may read
//! any table of the run, bind once every table is registered.

use std::collections::BTreeMap;
use std::path::PathBuf;

use datafusion::prelude::SessionContext;

use super::{BoundPack, Pack, RuleCheck, SkippedRule};
use crate::checks::set::{Absent, Native, RunTables, SetCx, SetOutcome};
use crate::diagnostic::{Code, Diagnostic};
use crate::error::Result;
use crate::scan;

/// Stage two of binding: register every table of the run in `ctx`, then bind the set-based
/// rules, which may read any of them. A rule whose other library's pack sits beside the run's
/// packs but is not in the run is skipped, with a warning and a note in the summary; a rule
/// that only partly reads it (a `history`'s `ends`) runs without that part, said the same way.
pub async fn bind_set_rules(
    packs: &mut [(Pack, BoundPack)],
    ctx: &SessionContext,
    elsewhere: BTreeMap<String, PathBuf>,
    diags: &mut Vec<Diagnostic>,
) -> Result<()> {
    let mut run = RunTables {
        tables: BTreeMap::new(),
        elsewhere,
    };
    for (_, bound) in packs.iter() {
        for table in &bound.tables {
            scan::register(ctx, &table.source_view())?;
            run.tables
                .insert(table.qualified_name(), table.columns.clone());
        }
    }
    for (pack, bound) in packs.iter_mut() {
        for table in &mut bound.tables {
            let Some(doc) = pack.doc.tables.iter().find(|d| d.name.value == table.entry) else {
                continue;
            };
            let table_ref = table.table_ref();
            let mut keep = Vec::with_capacity(table.rules.len());
            for mut rule in std::mem::take(&mut table.rules) {
                if !matches!(rule.check, RuleCheck::Set(None)) {
                    keep.push(rule);
                    continue;
                }
                // The rule as written: the table's own, or the template it was bound from
                // (in the pack or a file it includes), read with the table's roles.
                let own = doc.rules.iter().find(|r| r.id.value == rule.id);
                let found = match (own, &rule.template) {
                    (Some(r), _) => Some((&pack.file, r)),
                    (None, Some(t)) => pack.templates().find(|(_, r)| r.id.value == *t),
                    (None, None) => None,
                };
                let Some((file, rdoc)) = found else {
                    continue;
                };
                let roles: BTreeMap<String, String> = if rule.template.is_some() {
                    doc.roles
                        .iter()
                        .map(|(role, column)| (role.clone(), column.value.clone()))
                        .collect()
                } else {
                    BTreeMap::new()
                };
                let mut cx = SetCx {
                    roles: &roles,
                    file,
                    ctx,
                    table: &table_ref,
                    columns: &table.columns,
                    key: &table.key,
                    when: rule.when.clone(),
                    run: &run,
                    diagnostics: diags,
                };
                match rdoc.check.value.bind_set(&rdoc.check, &mut cx).await {
                    Some(SetOutcome::Bound(mut check)) => {
                        if let Some(absent) = check.partial.take() {
                            let note = absent_note(
                                &rule,
                                absent,
                                pack,
                                &rdoc.id,
                                diags,
                                Code::RulePartial,
                            );
                            table.partial.push(note);
                        }
                        // The rule's own columns are exported with its anomalies: the matched
                        // tuple, and a history's people and date.
                        let mut read: Vec<&str> =
                            check.on.iter().map(|c| c.name.as_str()).collect();
                        if let Some(Native::History(h)) = &check.native {
                            read.extend(h.of.iter().map(|c| c.name.as_str()));
                            read.push(&h.date.name);
                        }
                        for c in read {
                            if !rule.columns.iter().any(|r| r == c) {
                                rule.columns.push(c.to_string());
                            }
                        }
                        rule.check = RuleCheck::Set(Some(check));
                        keep.push(rule);
                    }
                    Some(SetOutcome::Skipped(absent)) => {
                        let note =
                            absent_note(&rule, absent, pack, &rdoc.id, diags, Code::RuleSkipped);
                        table.skipped.push(note);
                    }
                    Some(SetOutcome::Failed) | None => {}
                }
            }
            table.rules = keep;
        }
    }
    Ok(())
}

/// A rule that reads a table whose pack is not in the run: the warning that says so
/// (`rule-skipped`: it is left out; `rule-partial`: it runs without the part that reads the
/// table), and the summary's entry.
fn absent_note(
    rule: &super::BoundRule,
    absent: Absent,
    pack: &Pack,
    id: &crate::rules::Spanned<String>,
    diags: &mut Vec<Diagnostic>,
    code: Code,
) -> SkippedRule {
    let what = if code == Code::RulePartial {
        "runs without the part that reads"
    } else {
        "is skipped: it reads"
    };
    diags.push(
        Diagnostic::warning(
            code,
            format!(
                "rule {} {what} `{}`, whose pack {} is not in this run",
                rule.id,
                absent.table,
                absent.pack.display()
            ),
        )
        .at(pack.span(id))
        .help("pass that pack with --rules too (or --rules with the packs' folder)"),
    );
    SkippedRule {
        id: rule.id.clone(),
        name: rule.name.clone(),
        reads: absent.table,
        pack: absent.pack.display().to_string(),
    }
}
