//! Set-based rules (unique, reference, query), table-level checks, verdicts and exit codes,
//! on hand-counted rows (`testdata/cases/sets/`, expectations in the pack's header).

use std::path::Path;

use qc::checks::set::KeyUnit;
use qc::results::summary::{RuleSummary, TableSummary, Verdict};

use crate::util::{audit, code, parquet_rows, root, run, settings, stdout};

const REGISTRY: &str = "testdata/cases/sets/registry.yaml";
const AS_OF: [&str; 2] = ["--as-of", "2026-01-20"];

fn rule<'a>(t: &'a TableSummary, id: &str) -> &'a RuleSummary {
    t.rules.iter().find(|r| r.id == id).unwrap()
}

fn person(s: &qc::results::summary::RunSummary) -> &TableSummary {
    s.tables.iter().find(|t| t.name == "person").unwrap()
}

#[test]
fn set_rules_and_table_checks_count_by_hand() {
    let dir = tempfile::tempdir().unwrap();
    for threads in ["1", "2"] {
        let out = dir.path().join(threads);
        let (code, s) = audit(
            REGISTRY,
            &out,
            &[&AS_OF[..], &["--threads", threads]].concat(),
        );
        assert_eq!(code, 1, "S-001 (error, no threshold) fails the table");
        let t = person(&s);
        assert_eq!((t.rows, t.anomalous_rows, t.passed_rows), (10, 7, 3));
        assert_eq!(t.verdict, Verdict::Fail);

        let unique = rule(t, "S-001");
        assert_eq!((unique.applicable_rows, unique.failed_rows), (9, 4));
        let v = unique.anomalous_keys.as_ref().unwrap();
        assert_eq!((v.unit, v.count), (KeyUnit::DuplicatedGroup, 2));
        assert_eq!(unique.verdict, Verdict::Fail);

        let reference = rule(t, "S-002");
        assert_eq!((reference.applicable_rows, reference.failed_rows), (9, 3));
        assert_eq!(reference.anomalous_keys.as_ref().unwrap().count, 2);
        assert_eq!(reference.verdict, Verdict::Pass, "within max_count 5");

        let query = rule(t, "S-003");
        assert_eq!((query.applicable_rows, query.failed_rows), (9, 2));
        assert_eq!(query.anomalous_keys.as_ref().unwrap().count, 1);
        assert_eq!(query.verdict, Verdict::Warn);

        assert_eq!(t.skipped_rules.len(), 1);
        assert_eq!(t.skipped_rules[0].id, "S-004");
        assert!(t.rules.iter().all(|r| r.id != "S-004"));

        let checks: Vec<(&str, Verdict)> = t
            .table_checks
            .iter()
            .map(|c| (c.id.as_str(), c.verdict))
            .collect();
        assert_eq!(
            checks,
            [
                ("S-T1", Verdict::Pass),
                ("S-T2", Verdict::Warn),
                ("S-T3", Verdict::Pass),
                ("S-T4", Verdict::Skipped),
            ]
        );
        assert_eq!(
            t.table_checks[2].measured,
            qc::checks::table::Measured::Freshness {
                column: "joined".into(),
                latest: Some("2026-01-12".into()),
                age_days: Some(8),
                max_age_days: 10,
            }
        );

        // Each anomalous row once, with every rule it fails.
        let rows = parquet_rows(&out.join(t.anomalies_file.as_ref().unwrap()));
        assert_eq!(rows.len(), 7);
        let p7: Vec<&String> = rows.iter().filter(|r| r.starts_with("P7|")).collect();
        assert_eq!(p7.len(), 2);
        assert!(p7.iter().all(|r| r.contains("[S-001, S-003]")), "{p7:?}");
    }
}

#[test]
fn summaries_with_set_rules_and_table_checks() {
    let dir = tempfile::tempdir().unwrap();
    let s = settings(dir.path());
    for lang in ["zh", "en"] {
        let out = dir.path().join(lang).to_string_lossy().into_owned();
        // Each language keeps its own history: S-T4 must find no earlier run.
        let store = dir.path().join(format!("{lang}.db"));
        let store = store.to_string_lossy();
        let o = run(&[
            "run", "--rules", REGISTRY, "--out", &out, "--lang", lang, "--store", &store, AS_OF[0],
            AS_OF[1],
        ]);
        assert_eq!(code(&o), 1);
        s.bind(|| insta::assert_snapshot!(format!("sets_summary_{lang}"), stdout(&o)));
    }
}

#[test]
fn row_count_change_compares_with_the_run_just_before() {
    // Two runs in a row, same store and date: the second compares with the first,
    // even when both start within the same second.
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("qc.db").to_string_lossy().into_owned();
    let mut seen = Vec::new();
    for n in ["1", "2"] {
        let out = dir.path().join(n).to_string_lossy().into_owned();
        let o = run(&[
            "run", "--rules", REGISTRY, "--out", &out, "--format", "json", "--store", &store,
            AS_OF[0], AS_OF[1],
        ]);
        assert_eq!(code(&o), 1);
        let s: qc::results::summary::RunSummary = serde_json::from_str(&stdout(&o)).unwrap();
        let t4 = person(&s)
            .table_checks
            .iter()
            .find(|c| c.id == "S-T4")
            .unwrap()
            .clone();
        seen.push((t4.verdict, t4.measured));
    }
    assert_eq!(
        seen[0].0,
        Verdict::Skipped,
        "first run: nothing to compare with"
    );
    assert_eq!(seen[1].0, Verdict::Pass);
    assert_eq!(
        seen[1].1,
        qc::checks::table::Measured::RowCountChange {
            previous: Some(10),
            rows: 10,
            max_percent: 10.0,
        }
    );
}

/// The pack with `replace` applied, written beside the shipped one's data.
fn variant(dir: &Path, replace: &[(&str, &str)]) -> String {
    let mut text = std::fs::read_to_string(root().join(REGISTRY)).unwrap();
    for (from, to) in replace {
        assert!(text.contains(from), "{from}");
        text = text.replacen(from, to, 1);
    }
    let text = text.replace(
        "path: ../",
        &format!("path: {}/testdata/cases/", root().display()),
    );
    let path = dir.join("variant.yaml");
    std::fs::write(&path, text).unwrap();
    // The library S-004 reads stays beside the pack (and out of the run).
    std::fs::copy(
        root().join("testdata/cases/sets/elsewhere.yaml"),
        dir.join("elsewhere.yaml"),
    )
    .unwrap();
    path.to_string_lossy().into_owned()
}

#[test]
fn verdicts_decide_the_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    // Only warnings: exit 0.
    let warn_only = variant(
        dir.path(),
        &[(
            "dimension: 唯一性\n",
            "dimension: 唯一性\n        severity: warn\n",
        )],
    );
    let (c, s) = audit(&warn_only, &dir.path().join("a"), &AS_OF);
    assert_eq!(c, 0);
    assert_eq!(person(&s).verdict, Verdict::Warn);
    // A failed error-severity table check fails the table although every rule passes.
    let table_fails = variant(
        dir.path(),
        &[
            (
                "dimension: 唯一性\n",
                "dimension: 唯一性\n        severity: warn\n",
            ),
            ("min: 5, max: 20", "min: 50"),
        ],
    );
    let (c, s) = audit(&table_fails, &dir.path().join("b"), &AS_OF);
    assert_eq!(c, 1);
    let t = person(&s);
    assert_eq!(t.verdict, Verdict::Fail);
    assert!(t.rules.iter().all(|r| r.verdict != Verdict::Fail));
    // A rule threshold turns a failing rule into a pass.
    let tolerated = variant(
        dir.path(),
        &[(
            "check: { unique: { columns: [pid] } }",
            "threshold: { max_rate: 0.5 }\n        check: { unique: { columns: [pid] } }",
        )],
    );
    let (c, s) = audit(&tolerated, &dir.path().join("c"), &AS_OF);
    assert_eq!(c, 0);
    assert_eq!(rule(person(&s), "S-001").verdict, Verdict::Pass);
}

#[test]
fn rule_sql_cannot_escape() {
    let o = run(&[
        "check",
        "testdata/bad_packs/queries.yaml",
        "--format",
        "json",
    ]);
    assert_eq!(code(&o), 2);
    let doc: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let list = doc["diagnostics"].as_array().unwrap();
    // One error per rule Q-001..Q-015, each at its own line.
    assert_eq!(doc["errors"], 15, "{list:#?}");
    let mut lines: Vec<&str> = list
        .iter()
        .map(|d| d["location"].as_str().unwrap())
        .collect();
    lines.dedup();
    assert_eq!(lines.len(), 15);
    let codes: Vec<&str> = list.iter().map(|d| d["code"].as_str().unwrap()).collect();
    assert_eq!(codes.iter().filter(|c| **c == "forbidden-sql").count(), 8);
    assert_eq!(codes.iter().filter(|c| **c == "unknown-table").count(), 6);
    assert!(codes.contains(&"query-shape"));
    assert!(!Path::new("/tmp/qc_leak.csv").exists(), "COPY never ran");
    let o = run(&["check", "testdata/bad_packs/queries.yaml"]);
    insta::assert_snapshot!("check_queries", stdout(&o));
}

#[test]
fn a_rule_reading_a_library_outside_the_run_is_skipped_and_listed() {
    // With the sibling pack in the run, S-004 runs (every pid is in `elsewhere.people`).
    let dir = tempfile::tempdir().unwrap();
    let (_, s) = audit("testdata/cases/sets/", dir.path(), &AS_OF);
    let t = person(&s);
    assert!(t.skipped_rules.is_empty());
    assert_eq!(rule(t, "S-004").failed_rows, 0);
    assert_eq!(rule(t, "S-004").applicable_rows, 9);
}

#[test]
fn history_rules_on_hand_counted_registrations() {
    let dir = tempfile::tempdir().unwrap();
    let (_, s) = audit("testdata/cases/sets/history.yaml", dir.path(), &[]);
    let t = s.tables.iter().find(|t| t.name == "registration").unwrap();
    let failed = |id: &str| t.rules.iter().find(|r| r.id == id).unwrap().failed_rows;
    assert_eq!(
        (
            failed("H-001"),
            failed("H-002"),
            failed("H-003"),
            failed("H-004"),
            failed("H-005")
        ),
        (8, 3, 10, 6, 6)
    );
    assert!(t.partial_rules.is_empty());
    assert_eq!(t.anomalous_rows, 20);
    let mut anomalous: Vec<String> = Vec::new();
    qc::execute::export::read_export(
        &dir.path().join(t.anomalies_file.as_ref().unwrap()),
        |row| {
            let key = row.values.iter().find(|(c, _)| c == "reg_id");
            anomalous.push(key.and_then(|(_, v)| v.clone()).unwrap_or_default());
            true
        },
    )
    .unwrap();
    anomalous.sort();
    assert_eq!(
        anomalous,
        [
            "R01", "R02", "R04", "R05", "R06", "R11", "R13", "R14", "R18", "R22", "R23", "R24",
            "R25", "R26", "R27", "R28", "R29", "R30", "R31", "R32"
        ]
    );
}

/// qc's own set engine, the rules' reference DataFusion plans and the plans a cluster runs for
/// them (`execute::cluster::sets`) find the same tuples: on the hand-counted registrations and
/// on generated marriage and death libraries.
#[test]
fn native_set_rules_agree_with_their_reference_plans() {
    use qc::bind::{RuleCheck, SourceOptions};
    use qc::checks::set::Native;
    use qc::execute::sets::{DEFAULT_STALL_TIMEOUT, Watchdog, hashed, history, plans};

    let dir = tempfile::tempdir().unwrap();
    let generated = crate::truth::generate_together(dir.path(), "20000", "400", "parquet");
    assert!(!generated.is_empty());
    let mut overrides = std::collections::HashMap::new();
    for (library, table, file) in [
        ("marriage", "registration", "registration.parquet"),
        ("death", "record", "record.parquet"),
    ] {
        overrides.insert(
            format!("{library}.{table}"),
            qc::rules::source::DataOverride::path(dir.path().join(library).join(file)),
        );
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut checked = 0;
        // Counted only where the cluster's plans are built (`--features cluster`).
        #[cfg_attr(not(feature = "cluster"), allow(unused_mut))]
        let mut cluster_checked = 0;
        for (packs, sources) in [
            (
                vec![root().join("testdata/cases/sets/history.yaml")],
                SourceOptions::default(),
            ),
            (
                vec![
                    root().join("rules/marriage.yaml"),
                    root().join("rules/death.yaml"),
                ],
                SourceOptions {
                    overrides: overrides.clone(),
                    ..SourceOptions::default()
                },
            ),
        ] {
            let ctx = qc::execute::session::session(2);
            let (bound, diags) = qc::bind::load(&packs, &ctx, &sources).await.unwrap();
            assert!(diags.iter().all(|d| !d.is_error()), "{diags:?}");
            let watchdog = Watchdog::new(&ctx, DEFAULT_STALL_TIMEOUT);
            let mut references = std::collections::HashMap::new();
            let mut grouped = 0;
            for table in bound.iter().flat_map(|p| &p.tables) {
                for (i, rule) in table.rules.iter().enumerate() {
                    let RuleCheck::Set(Some(check)) = &rule.check else {
                        continue;
                    };
                    let Some(native) = &check.native else {
                        continue;
                    };
                    let (reference, _) = plans::anomalous(&ctx, check, &rule.id, &watchdog)
                        .await
                        .unwrap();
                    let (own, _) = match native {
                        Native::History(h) => history::anomalous(
                            &ctx,
                            table,
                            &check.on,
                            &[&**h],
                            std::slice::from_ref(&rule.id),
                            &watchdog,
                        )
                        .await
                        .unwrap()
                        .unwrap()
                        .remove(0),
                        Native::Duplicates { applicable } => {
                            let d = hashed::Duplicates {
                                rule: i,
                                on: &check.on,
                                applicable,
                            };
                            let found = hashed::duplicates(
                                &ctx,
                                table,
                                &[d],
                                std::slice::from_ref(&rule.id),
                                &watchdog,
                                &hashed::Kept::nothing(),
                            )
                            .await
                            .unwrap()
                            .unwrap()
                            .remove(0);
                            (found.set, found.reservation)
                        }
                    };
                    assert_eq!(own.tuples(), reference.tuples(), "{}", rule.id);
                    references.insert(
                        rule.id.clone(),
                        reference
                            .tuples()
                            .iter()
                            .map(|t| t.to_vec())
                            .collect::<Vec<_>>(),
                    );
                    if let Native::History(h) = native {
                        // In a pool too small for its records at once, a history is judged
                        // chunk by chunk, with the same answer.
                        let small = qc::execute::session::session_with_limit(2, 1 << 20);
                        let (_, diags) = qc::bind::load(&packs, &small, &sources).await.unwrap();
                        assert!(diags.iter().all(|d| !d.is_error()));
                        let (chunked, _) = history::anomalous(
                            &small,
                            table,
                            &check.on,
                            &[&**h],
                            std::slice::from_ref(&rule.id),
                            &Watchdog::new(&small, DEFAULT_STALL_TIMEOUT),
                        )
                        .await
                        .unwrap()
                        .unwrap()
                        .remove(0);
                        assert_eq!(
                            chunked.tuples(),
                            reference.tuples(),
                            "{} in chunks",
                            rule.id
                        );
                    }
                    checked += 1;
                }
                // As a cluster plans them ([`qc::execute::cluster::sets`]), run here: the
                // same tuples.
                #[cfg(feature = "cluster")]
                for source in qc::execute::cluster::sets::sources(&ctx, table)
                    .await
                    .unwrap()
                {
                    use arrow::array::AsArray;
                    let batches = source.frame.collect().await.unwrap();
                    for &i in &source.rules {
                        let id = &table.rules[i].id;
                        let Some(reference) = references.get(id) else {
                            continue;
                        };
                        let mut set = qc::plan::keyset::KeySet::new(&source.on).unwrap();
                        for b in &batches {
                            let matched = b
                                .column_by_name(&qc::execute::cluster::sets::match_column(i))
                                .unwrap()
                                .as_boolean();
                            let b = arrow::compute::filter_record_batch(b, matched).unwrap();
                            set.extend(
                                &b.project(&(0..source.on.len()).collect::<Vec<_>>())
                                    .unwrap(),
                            )
                            .unwrap();
                        }
                        let got: Vec<Vec<u8>> = set.tuples().iter().map(|t| t.to_vec()).collect();
                        assert_eq!(&got, reference, "{id} as a cluster plans it");
                        cluster_checked += 1;
                    }
                }
                // History rules that read the same columns, judged together (one hash
                // read, one gather), in one pool and in a pool that needs chunks.
                let histories: Vec<(&str, &qc::checks::set::HistoryCheck)> = table
                    .rules
                    .iter()
                    .filter_map(|r| match &r.check {
                        RuleCheck::Set(Some(c)) => match &c.native {
                            Some(Native::History(h)) => Some((r.id.as_str(), &**h)),
                            _ => None,
                        },
                        _ => None,
                    })
                    .collect();
                let Some(&(_, first)) = histories.first() else {
                    continue;
                };
                let group: Vec<(&str, &qc::checks::set::HistoryCheck)> = histories
                    .iter()
                    .copied()
                    .filter(|(_, h)| history::same_reads(first, h))
                    .collect();
                if group.len() < 2 {
                    continue;
                }
                grouped += 1;
                let checks: Vec<&qc::checks::set::HistoryCheck> =
                    group.iter().map(|(_, h)| *h).collect();
                let names: Vec<String> = group.iter().map(|(id, _)| id.to_string()).collect();
                let key: Vec<_> = table
                    .key
                    .iter()
                    .map(|k| table.columns.iter().find(|c| c.name == *k).unwrap().clone())
                    .collect();
                for limit in [None, Some(1 << 20)] {
                    let session = match limit {
                        None => qc::execute::session::session(2),
                        Some(bytes) => qc::execute::session::session_with_limit(2, bytes),
                    };
                    let (_, diags) = qc::bind::load(&packs, &session, &sources).await.unwrap();
                    assert!(diags.iter().all(|d| !d.is_error()));
                    let together = history::anomalous(
                        &session,
                        table,
                        &key,
                        &checks,
                        &names,
                        &Watchdog::new(&session, DEFAULT_STALL_TIMEOUT),
                    )
                    .await
                    .unwrap()
                    .unwrap();
                    for (name, (set, _)) in names.iter().zip(together) {
                        let got: Vec<Vec<u8>> = set.tuples().iter().map(|t| t.to_vec()).collect();
                        assert_eq!(&got, &references[name], "{name} judged with its group");
                    }
                }
            }
            // The fixture's H-001 and H-002, the marriage pack's MAR-023 and MAR-024.
            assert_eq!(grouped, 1, "one group of histories per pack set");
        }
        // H-001..5, MAR-021, MAR-023, MAR-024, MAR-033, DEA-017, DEA-018, DEA-027.
        assert_eq!(checked, 12);
        if cfg!(feature = "cluster") {
            assert_eq!(
                cluster_checked, 12,
                "every native rule as a cluster plans it"
            );
        }
    });
}
