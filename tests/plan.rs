//! Plan shape: all row rules of a table are evaluated by projections over one scan.

use datafusion::physical_plan::displayable;
use qc::execute::local::physical_plan;
use qc::execute::sets::DEFAULT_STALL_TIMEOUT;
use qc::execute::{TableProgress, session};

fn plan_text(pack: &str) -> String {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let ctx = session::session(2);
        let root = crate::util::root();
        let (packs, diags) = qc::bind::load(
            &[root.join(pack)],
            &ctx,
            &qc::bind::SourceOptions::default(),
        )
        .await
        .unwrap();
        assert!(diags.iter().all(|d| !d.is_error()), "{diags:?}");
        let table = &packs[0].tables[0];
        // Set-based rules' tuples (ADR-019's) are computed first, as a run does.
        let sets = qc::execute::sets::compute(
            &ctx,
            table,
            DEFAULT_STALL_TIMEOUT,
            &qc::execute::sets::hashed::Kept::nothing(),
        )
        .await
        .unwrap()
        .keys;
        let plan =
            qc::plan::compile(table, &qc::plan::keyset::in_sets(table, &sets), true).unwrap();
        let physical = physical_plan(&ctx, &table.source_view(), &plan, &TableProgress::default())
            .await
            .unwrap();
        displayable(physical.as_ref()).indent(true).to_string()
    })
}

#[test]
fn one_scan_one_projection_for_every_rule() {
    for (pack, scan, rules) in [
        ("rules/spatial.yaml", "StreamingTableExec", 16),
        ("testdata/cases/kinds.yaml", "StreamingTableExec", 14),
    ] {
        let text = plan_text(pack);
        assert_eq!(text.matches(scan).count(), 1, "{text}");
        // Projections only (the optimizer may split one to share subexpressions): rows stream
        // through; nothing filters, sorts, joins or aggregates.
        for op in [
            "FilterExec",
            "SortExec",
            "AggregateExec",
            "JoinExec",
            "CoalesceBatchesExec: fetch",
        ] {
            assert!(!text.contains(op), "{op} in {text}");
        }
        for i in 0..rules {
            assert!(
                text.contains(&format!("__qc_rule_{i}")),
                "rule {i} missing: {text}"
            );
        }
    }
}

/// A table with set-based rules still has one scan and no join in its pass: the anomalous
/// tuples are computed first and tested per row against a hash set.
#[test]
fn set_based_rules_keep_the_pass_a_single_scan() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let text = rt.block_on(async {
        let ctx = session::session(2);
        let root = crate::util::root();
        let (packs, diags) = qc::bind::load(
            &[root.join("testdata/cases/sets/registry.yaml")],
            &ctx,
            &qc::bind::SourceOptions::default(),
        )
        .await
        .unwrap();
        assert!(diags.iter().all(|d| !d.is_error()), "{diags:?}");
        let table = &packs[0].tables[0];
        let sets = qc::execute::sets::compute(
            &ctx,
            table,
            DEFAULT_STALL_TIMEOUT,
            &qc::execute::sets::hashed::Kept::nothing(),
        )
        .await
        .unwrap()
        .keys;
        assert_eq!(sets.iter().filter(|s| s.is_some()).count(), 3);
        let plan =
            qc::plan::compile(table, &qc::plan::keyset::in_sets(table, &sets), true).unwrap();
        let physical = physical_plan(&ctx, &table.source_view(), &plan, &TableProgress::default())
            .await
            .unwrap();
        displayable(physical.as_ref()).indent(true).to_string()
    });
    assert_eq!(text.matches("StreamingTableExec").count(), 1, "{text}");
    for op in ["JoinExec", "AggregateExec", "SortExec"] {
        assert!(!text.contains(op), "{op} in {text}");
    }
    assert!(text.contains("qc_in_set"), "{text}");
}

/// How often the marriage pack reads its table before the pass: once to hash both the
/// numbers of its `unique` rules and the people of its two `history` rules (one shared read),
/// then to count the repeated numbers, and to gather the candidates' records; no DataFusion
/// key plan (MAR-022 is skipped: the death pack is not in the run). With the pass, the table
/// is read 4 times, each read only the columns it needs.
#[test]
fn the_marriage_pack_reads_its_table_four_times() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (reads, plans) = rt.block_on(async {
        let ctx = session::session(2);
        let root = crate::util::root();
        let (packs, diags) = qc::bind::load(
            &[root.join("rules/marriage.yaml")],
            &ctx,
            &qc::bind::SourceOptions::default(),
        )
        .await
        .unwrap();
        assert!(diags.iter().all(|d| !d.is_error()), "{diags:?}");
        let sets = qc::execute::sets::compute(
            &ctx,
            &packs[0].tables[0],
            DEFAULT_STALL_TIMEOUT,
            &qc::execute::sets::hashed::Kept::nothing(),
        )
        .await
        .unwrap();
        (sets.reads, sets.plans)
    });
    assert_eq!((reads, plans), (3, 0));
}
