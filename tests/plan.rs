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

/// The marriage pack's set-based rules computed in a session with `limit` bytes of memory
/// (the default when `None`): how often they read the table, how many DataFusion key plans
/// ran, and in how many chunks the history rules judged their candidates.
fn marriage_reads(limit: Option<u64>) -> (u64, u64, u64) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let ctx = match limit {
            None => session::session(2),
            Some(bytes) => session::session_with_limit(2, bytes),
        };
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
        (sets.reads, sets.plans, sets.chunks)
    })
}

/// How often the marriage pack reads its table before the pass: once to hash both the
/// numbers of its `unique` rules and the people of its two `history` rules (one shared read),
/// then to count the repeated numbers, and to gather the candidates' records; no DataFusion
/// key plan (MAR-022 is skipped: the death pack is not in the run). With the pass, the table
/// is read 4 times, each read only the columns it needs.
#[test]
fn the_marriage_pack_reads_its_table_four_times() {
    assert_eq!(marriage_reads(None), (3, 0, 1));
}

/// When the history rules' candidates do not fit the pool at once, they are judged in
/// chunks; the table is still read once to gather them (each chunk's records go to a file
/// of their own), not once per chunk.
#[test]
fn history_chunks_do_not_read_the_table_again() {
    for limit in [1 << 20, 2 << 20] {
        let (reads, plans, chunks) = marriage_reads(Some(limit));
        assert!(chunks > 2, "{limit} bytes: {chunks} chunk(s)");
        assert_eq!((reads, plans), (3, 0), "{limit} bytes");
    }
}

/// A stage of the shared read that runs out of memory stops alone: the other stages see
/// every row, and only the completed stages hand over what they gathered.
#[test]
fn a_stage_out_of_memory_leaves_the_shared_read_to_the_others() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    use qc::execute::sets::Watchdog;
    use qc::execute::sets::shared::{Consumer, Stage, read};

    /// Counts rows; fails with `Error::Memory` at its first batch when `starved`.
    struct Counter {
        rows: u64,
        starved: bool,
        total: Arc<AtomicU64>,
        finished: Arc<AtomicU64>,
    }
    impl Consumer for Counter {
        fn batch(
            &mut self,
            _file: &str,
            batch: &arrow::record_batch::RecordBatch,
        ) -> qc::error::Result<()> {
            if self.starved {
                return Err(qc::error::Error::Memory {
                    what: "test".into(),
                    message: "starved".into(),
                });
            }
            self.rows += batch.num_rows() as u64;
            Ok(())
        }
        fn finish(self: Box<Self>) {
            self.total.fetch_add(self.rows, Ordering::Relaxed);
            self.finished.fetch_add(1, Ordering::Relaxed);
        }
    }
    let stage = |starved: bool| {
        let (total, finished) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let (t, f) = (Arc::clone(&total), Arc::clone(&finished));
        let stage = Stage {
            exprs: vec![datafusion::prelude::col("reg_id")],
            files: None,
            consumer: Box::new(move || {
                Box::new(Counter {
                    rows: 0,
                    starved,
                    total: Arc::clone(&t),
                    finished: Arc::clone(&f),
                })
            }),
        };
        (stage, total, finished)
    };

    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let ctx = session::session(2);
        let root = crate::util::root();
        let (packs, _) = qc::bind::load(
            &[root.join("rules/marriage.yaml")],
            &ctx,
            &qc::bind::SourceOptions::default(),
        )
        .await
        .unwrap();
        let table = &packs[0].tables[0];
        let (fed, fed_rows, fed_done) = stage(false);
        let (starved, starved_rows, starved_done) = stage(true);
        let watchdog = Watchdog::new(&ctx, DEFAULT_STALL_TIMEOUT);
        let stages = [starved, fed];
        let completed = read(&ctx, table, &table.source.files, &stages, "test", &watchdog)
            .await
            .unwrap();
        assert_eq!(completed, [false, true]);
        let rows = crate::util::parquet_rows(&table.source.files[0]).len() as u64;
        assert!(rows > 0);
        assert_eq!(
            fed_rows.load(Ordering::Relaxed),
            rows,
            "the fed stage saw every row"
        );
        assert!(fed_done.load(Ordering::Relaxed) >= 1);
        assert_eq!(
            starved_done.load(Ordering::Relaxed),
            0,
            "a starved stage hands nothing over"
        );
        assert_eq!(starved_rows.load(Ordering::Relaxed), 0);
    });
}
