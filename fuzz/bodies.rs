//! The fuzz targets' bodies, shared by `cargo fuzz` (fuzz/fuzz_targets/) and by the regression
//! test that replays the committed corpus in the normal suite (tests/fuzz_corpus.rs). Each
//! must return normally for any input: a panic is a bug.

// Each fuzz target uses one of the bodies.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use qc::rules::BoundColumn;
use qc::rules::ColumnType;
use qc::rules::source::CsvOptions;

/// A private folder holding the fixture tables of `testdata/cases` (tables and code lists, no
/// packs), for fuzzed packs to read.
fn fixture() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let here = Path::new(env!("CARGO_MANIFEST_DIR"));
        let cases = [here.join("testdata/cases"), here.join("../testdata/cases")]
            .into_iter()
            .find(|p| p.exists())
            .expect("testdata/cases of the qc repository");
        let dir = std::env::temp_dir().join(format!("qc-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("codelists")).expect("fixture folder");
        for sub in ["", "codelists"] {
            for e in std::fs::read_dir(cases.join(sub))
                .expect("fixture source")
                .flatten()
            {
                let p = e.path();
                if p.extension().is_some_and(|x| x == "csv") {
                    std::fs::copy(&p, dir.join(sub).join(e.file_name())).expect("copy");
                }
            }
        }
        dir
    })
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_time()
            .build()
            .expect("runtime")
    })
}

/// A new file name in the fixture folder.
fn scratch(ext: &str) -> PathBuf {
    static N: AtomicU64 = AtomicU64::new(0);
    fixture().join(format!("fuzz-{}.{ext}", N.fetch_add(1, Ordering::Relaxed)))
}

/// A rule pack: parse, bind (both stages, rule SQL included), render every diagnostic, and
/// audit every table that binds.
pub fn pack(data: &[u8]) {
    let path = scratch("yaml");
    std::fs::write(&path, data).expect("write pack");
    let out = path.with_extension("out");
    runtime().block_on(async {
        let ctx = qc::execute::session::session(1);
        let options = qc::bind::SourceOptions::default();
        match qc::bind::load(std::slice::from_ref(&path), &ctx, &options).await {
            Ok((packs, diagnostics)) => {
                for d in &diagnostics {
                    let _ = d.render();
                }
                for table in packs.iter().flat_map(|p| &p.tables) {
                    let progress = Arc::new(qc::execute::TableProgress::default());
                    let _ = qc::execute::local::audit_table(
                        &ctx,
                        table,
                        &out,
                        &progress,
                        &qc::execute::AuditOptions::dated(20_000),
                        &qc::execute::reuse::Incremental::default(),
                    )
                    .await;
                }
            }
            Err(e) => {
                let _ = e.to_string();
            }
        }
    });
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::remove_dir_all(&out);
}

/// A CSV file, read as UTF-8, GBK and headerless GB18030 into typed columns: every record
/// comes out as a row (none dropped), malformed or not.
pub fn csv(data: &[u8]) {
    let path = scratch("csv");
    std::fs::write(&path, data).expect("write csv");
    let column = BoundColumn::plain;
    let columns = [
        column("id", ColumnType::Int),
        column("name", ColumnType::String),
        column("day", ColumnType::Date),
        column("score", ColumnType::Float),
        column("flag", ColumnType::Bool),
        column("at", ColumnType::Timestamp),
    ];
    for (encoding, header) in [
        (encoding_rs::UTF_8, true),
        (encoding_rs::GBK, true),
        (encoding_rs::GB18030, false),
    ] {
        let opts = CsvOptions {
            encoding,
            delimiter: b',',
            quote: b'"',
            header,
            null_values: vec![String::new()],
        };
        let mut rows = 0usize;
        let read = qc::scan::csv::read_file(&path, &opts, &columns, 7, &mut |batch| {
            assert_eq!(
                batch.num_columns(),
                columns.len() + 5,
                "declared + qc's columns"
            );
            rows += batch.num_rows();
            true
        });
        if read.is_ok() && !header {
            // Without a header every non-blank line starts a record: none may be lost.
            let text = encoding.decode_without_bom_handling(data).0;
            let starts = text
                .trim_start_matches('\u{FEFF}')
                .split(['\n', '\r'])
                .filter(|l| !l.is_empty())
                .count();
            assert!(rows <= starts, "{rows} rows from {starts} non-blank lines");
            assert!(
                rows > 0 || starts == 0,
                "records lost: none of {starts} lines came out"
            );
        }
    }
    let _ = std::fs::remove_file(&path);
}

/// An identity number: every function on it, and the relations between them.
pub fn id_number(data: &[u8]) {
    use qc::checks::id_number as id;
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let kind = id::kind(s);
    assert_eq!(id::is_normalized(s), kind != id::IdKind::Malformed);
    if let Some(n) = id::normalize(s) {
        assert!(
            id::is_normalized(&n),
            "normalize({s:?}) = {n:?} is not normal"
        );
        assert_eq!(id::normalize(&n).as_deref(), Some(n.as_ref()), "idempotent");
    }
    if id::is_valid_citizen(s) {
        assert!(id::birth_date(s).is_some());
        assert!(id::sex(s).is_some());
        assert_ne!(id::checksum_ok(s), Some(false));
    }
    if let Some(u) = id::upgrade(s) {
        assert_eq!(u.len(), 18);
        assert_eq!(id::checksum_ok(&u), Some(true));
        assert_eq!(
            id::birth_date(&u),
            id::birth_date(s),
            "upgrade keeps the birth date"
        );
        assert_eq!(id::sex(&u), id::sex(s), "upgrade keeps the sex");
    }
    assert_eq!(
        id::birth_days(s),
        id::birth_date(s).map(qc::values::days),
        "the SQL function's day count is the calendar's"
    );
    let _ = id::address_known(s);
    let _ = id::checksum_ok(s);
}
