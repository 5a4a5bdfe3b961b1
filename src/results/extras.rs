//! What a run records in the store besides its summary: each pack's hash and scoring model,
//! each rule's reason and columns, each table's key and personal-data columns, and a few
//! anomalous records per rule, read back from the anomaly exports.

use std::collections::BTreeMap;
use std::path::Path;

use crate::bind::{BoundPack, BoundTable};
use crate::error::Result;
use crate::execute::export::read_export;
use crate::results::store::{RuleText, RunExtras, Sample, TableText};
use crate::results::summary::RunSummary;

/// Samples kept per rule and table.
pub const SAMPLES_PER_RULE: usize = 3;

/// What the store keeps of a run besides its summary, from the bound packs and the run's
/// anomaly exports.
pub fn collect(
    packs: &[BoundPack],
    summary: &RunSummary,
    out_dir: &Path,
    as_of: &str,
) -> Result<RunExtras> {
    let mut extras = RunExtras {
        as_of: as_of.to_string(),
        out_dir: out_dir.display().to_string(),
        ..RunExtras::default()
    };
    for p in packs {
        let sha = p.sha256.clone();
        let scoring = serde_json::to_string(&p.scoring).unwrap_or_default();
        extras
            .packs
            .insert(p.path.display().to_string(), (sha, scoring));
        for t in &p.tables {
            let qualified = t.qualified_name();
            for r in &t.rules {
                extras.rules.insert(
                    (qualified.clone(), r.id.clone()),
                    RuleText {
                        reason_zh: r.reason.0.clone(),
                        reason_en: r.reason.1.clone(),
                        columns: r.columns.clone(),
                    },
                );
            }
            extras.tables.insert(
                qualified.clone(),
                TableText {
                    key: t.key.clone(),
                    provider: t.provider.clone(),
                    pii: t
                        .columns
                        .iter()
                        .filter_map(|c| c.pii.map(|p| (c.name.clone(), p)))
                        .collect(),
                },
            );
            let Some(audited) = summary
                .tables
                .iter()
                .find(|s| s.library == t.library.id && s.name == t.name)
            else {
                continue;
            };
            let Some(file) = audited.anomalies_file.as_ref() else {
                extras.problems.insert(qualified, Vec::new());
                continue;
            };
            let export = out_dir.join(file);
            extras
                .samples
                .extend(samples(t, &export, SAMPLES_PER_RULE)?);
            extras
                .problems
                .insert(qualified, crate::results::problems::observe(t, &export)?);
        }
    }
    Ok(extras)
}

/// Up to `per_rule` anomalous records per rule of `table`, from its anomaly export: the key
/// columns and the columns the rule reads.
fn samples(table: &BoundTable, export: &Path, per_rule: usize) -> Result<Vec<Sample>> {
    let mut taken: BTreeMap<&str, usize> = BTreeMap::new();
    let mut out = Vec::new();
    read_export(export, |row| {
        for id in &row.failed_rules {
            let Some(rule) = table.rules.iter().find(|r| r.id == *id) else {
                continue;
            };
            let n = taken.entry(rule.id.as_str()).or_default();
            if *n >= per_rule {
                continue;
            }
            *n += 1;
            let wanted =
                |c: &str| table.key.iter().any(|k| k == c) || rule.columns.iter().any(|r| r == c);
            out.push(Sample {
                library: table.library.id.clone(),
                table: table.name.clone(),
                rule_id: rule.id.clone(),
                provider: table
                    .provider
                    .as_deref()
                    .and_then(|p| row.value(p))
                    .map(str::to_string),
                record: row
                    .values
                    .iter()
                    .filter(|(c, _)| wanted(c))
                    .cloned()
                    .collect(),
            });
        }
        // Stop once every rule of the table has its samples.
        taken.len() < table.rules.len() || taken.values().any(|n| *n < per_rule)
    })?;
    Ok(out)
}
