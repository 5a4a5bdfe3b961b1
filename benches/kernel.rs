//! Criterion micro-benchmark of the fused evaluator kernel (`cargo bench --bench kernel`): a
//! table's fused projection — every rule of the pack in one pass — evaluated over batches
//! already in memory, then counted per rule and provider and cut into anomaly batches
//! (`execute::tally`). No file is read inside the loop, so the figure is the rules' own cost.
//!
//! Packs: the 12-rule marriage comparison audit (`benches/compare/marriage12.yaml`) and the
//! shipped spatial pack (polygons, address grammar; its `unique` tuples are computed first),
//! over the committed samples their sources name (20,000 rows each).

use std::path::PathBuf;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use datafusion::catalog::MemTable;
use datafusion::physical_plan::{ExecutionPlan, collect};
use datafusion::prelude::SessionContext;
use qc::execute::counts::TableCounts;
use qc::execute::{export, session, sets, tally};
use qc::plan::{self, TablePlan};

/// The pack's first table bound, its fused plan, and the physical plan of that projection
/// over the table's rows held in memory (in the engine's batch size).
fn prepare(
    rt: &tokio::runtime::Runtime,
    pack: &str,
) -> (SessionContext, TablePlan, Arc<dyn ExecutionPlan>, u64) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    rt.block_on(async {
        let ctx = session::session(2);
        let (packs, diagnostics) = qc::bind::load(
            &[root.join(pack)],
            &ctx,
            &qc::bind::SourceOptions::default(),
        )
        .await
        .expect("pack loads");
        assert!(diagnostics.iter().all(|d| !d.is_error()), "{diagnostics:?}");
        let table = &packs[0].tables[0];
        let sets = sets::compute(
            &ctx,
            table,
            sets::DEFAULT_STALL_TIMEOUT,
            &sets::hashed::Kept::nothing(),
        )
        .await
        .expect("set rules")
        .keys;
        let plan = plan::compile(table, &plan::keyset::in_sets(table, &sets), false).expect("plan");

        // The scan's rows, read once into memory, in two partitions (the engine's threads).
        qc::scan::register(&ctx, &table.source_view()).expect("register");
        let reference = table.table_ref().reference();
        let source = ctx.table(reference.clone()).await.expect("table");
        let schema = Arc::new(source.schema().as_arrow().clone());
        let batches = source.collect().await.expect("rows");
        let rows = batches.iter().map(|b| b.num_rows() as u64).sum();
        let half = batches.len().div_ceil(2);
        let parts = vec![batches[..half].to_vec(), batches[half..].to_vec()];
        let memory = MemTable::try_new(schema, parts).expect("memtable");
        ctx.deregister_table(reference.clone()).expect("deregister");
        ctx.register_table(reference.clone(), Arc::new(memory))
            .expect("register memory");
        let physical = ctx
            .table(reference)
            .await
            .and_then(|df| df.select(plan.projection.clone()))
            .expect("projection")
            .create_physical_plan()
            .await
            .expect("physical plan");
        (ctx, plan, physical, rows)
    })
}

fn bench_pack(c: &mut Criterion, name: &str, pack: &str) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let (ctx, plan, physical, rows) = prepare(&rt, pack);
    let anomaly_schema = export::anomaly_schema(physical.schema().as_ref(), &plan);
    let mut g = c.benchmark_group("fused_kernel");
    g.throughput(Throughput::Elements(rows));
    g.bench_function(name, |b| {
        b.iter(|| {
            rt.block_on(async {
                let batches = collect(Arc::clone(&physical), ctx.task_ctx())
                    .await
                    .expect("evaluates");
                let mut counts = TableCounts::new(plan.rules.len());
                for batch in &batches {
                    tally::tally(batch, &plan, &anomaly_schema, &mut counts).expect("tally");
                }
                assert_eq!(counts.rows, rows);
                counts.anomalous
            })
        });
    });
    g.finish();
}

fn kernel(c: &mut Criterion) {
    bench_pack(c, "marriage12", "benches/compare/marriage12.yaml");
    bench_pack(c, "spatial", "rules/spatial.yaml");
}

criterion_group!(benches, kernel);
criterion_main!(benches);
