//! Damaged input (README "Guarantees", bad-data policy): record-level damage in CSV is counted
//! and exported as PARSE-* anomalies with file and line; file-level damage is an error naming
//! the file (exit 3, nothing left that looks complete), or under `--keep-going` the file is
//! left out and the run is marked partial.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use qc::execute::export::{Origin, Position, read_export};
use qc::results::summary::{RunStatus, RunSummary};

use crate::truth::{assert_matches_truth, generate_library};
use crate::util::{code, run, stderr};

/// A generated spatial address table (one good Parquet file) and its truth.
fn good_parquet(dir: &Path) -> (PathBuf, qc::generate::truth::TableTruth) {
    let gen_dir = dir.join("gen");
    let truth = generate_library(
        "spatial",
        "address",
        &gen_dir,
        &["--rows", "3000", "--seed", "7", "--anomalies", "20"],
    );
    (gen_dir.join("address.parquet"), truth)
}

/// `qc run --rules PACK` into `dir/out` (history `dir/qc.db`, JSON summary), plus `extra`.
fn run_in(dir: &Path, pack: &str, extra: &[&str]) -> std::process::Output {
    let out = dir.join("out");
    let store = dir.join("qc.db");
    let mut args = vec![
        "run",
        "--rules",
        pack,
        "--out",
        out.to_str().unwrap(),
        "--store",
        store.to_str().unwrap(),
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    run(&args)
}

/// `qc run` of the shipped spatial pack over `glob`, into `dir/out`.
fn run_spatial(dir: &Path, glob: &Path, extra: &[&str]) -> std::process::Output {
    let data = format!("address={}", glob.display());
    run_in(
        dir,
        "rules/spatial.yaml",
        &[&["--data", &data][..], extra].concat(),
    )
}

fn summary(dir: &Path) -> RunSummary {
    let text = std::fs::read_to_string(dir.join("out/summary.json")).expect("summary.json");
    serde_json::from_str(&text).expect("summary parses")
}

/// A failed run leaves no summary and no anomaly export, under any name.
fn assert_nothing_complete(dir: &Path) {
    let out = dir.join("out");
    assert!(
        !out.join("summary.json").exists(),
        "summary.json after a failed run"
    );
    assert!(
        !out.join("anomalies").exists(),
        "anomaly exports after a failed run"
    );
}

/// The good file's rows stay in `parts/good.parquet`; the damaged file beside it is made by
/// `damage` from a copy of the good one.
fn with_damaged_file(name: &str, damage: impl Fn(&Path)) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (good, truth) = good_parquet(dir);
    let parts = dir.join("parts");
    std::fs::create_dir_all(&parts).unwrap();
    std::fs::copy(&good, parts.join("a_good.parquet")).unwrap();
    let bad = parts.join("b_damaged.parquet");
    std::fs::copy(&good, &bad).unwrap();
    damage(&bad);
    let glob = parts.join("*.parquet");

    let o = run_spatial(dir, &glob, &[]);
    assert_eq!(code(&o), 3, "{name}: {}", stderr(&o));
    assert!(
        stderr(&o).contains("b_damaged.parquet"),
        "{name}: the error names the file: {}",
        stderr(&o)
    );
    assert!(
        stderr(&o).contains("--keep-going"),
        "{name}: {}",
        stderr(&o)
    );
    assert_nothing_complete(dir);

    let o = run_spatial(dir, &glob, &["--keep-going"]);
    assert_eq!(code(&o), 3, "{name}: a partial run exits 3: {}", stderr(&o));
    let s = summary(dir);
    assert_eq!(s.status, RunStatus::Partial, "{name}");
    let t = &s.tables[0];
    assert_eq!(t.left_out_files.len(), 1, "{name}");
    assert_eq!(t.left_out_files[0].file, bad, "{name}");
    // The other file was audited in full: its counts are exactly the generator's truth.
    assert_matches_truth(&s, &truth);
    let runs = run(&["runs", "--store", dir.join("qc.db").to_str().unwrap()]);
    assert!(stderr(&runs).is_empty(), "{}", stderr(&runs));
}

fn truncate_to(path: &Path, len: u64) {
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .unwrap()
        .set_len(len)
        .unwrap();
}

#[test]
fn parquet_truncated() {
    with_damaged_file("truncated", |p| {
        let len = std::fs::metadata(p).unwrap().len();
        truncate_to(p, len / 2);
    });
}

#[test]
fn parquet_bad_magic() {
    with_damaged_file("bad magic", |p| {
        let mut bytes = std::fs::read(p).unwrap();
        let n = bytes.len();
        bytes[n - 4..].copy_from_slice(b"XXXX");
        std::fs::write(p, bytes).unwrap();
    });
}

#[test]
fn parquet_bad_footer() {
    with_damaged_file("bad footer", |p| {
        let mut bytes = std::fs::read(p).unwrap();
        let n = bytes.len();
        // The metadata just before the length and the magic.
        for b in &mut bytes[n - 60..n - 8] {
            *b = 0xFF;
        }
        std::fs::write(p, bytes).unwrap();
    });
}

#[test]
fn parquet_bad_page() {
    // Footer intact, a data page overwritten: found only while scanning.
    with_damaged_file("bad page", |p| {
        let mut bytes = std::fs::read(p).unwrap();
        let n = bytes.len();
        for (i, b) in bytes[n / 3..n / 3 + 4000].iter_mut().enumerate() {
            *b = u8::try_from(i % 251).unwrap();
        }
        std::fs::write(p, bytes).unwrap();
    });
}

#[test]
fn parquet_empty_file() {
    with_damaged_file("empty", |p| std::fs::write(p, b"").unwrap());
}

/// Rewrite a Parquet file through `change`, which maps its schema and columns.
fn rewrite_parquet(
    path: &Path,
    change: impl Fn(&Schema, Vec<ArrayRef>) -> (Schema, Vec<ArrayRef>),
) {
    let file = std::fs::File::open(path).unwrap();
    let batches: Vec<RecordBatch> = ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let (schema, _) = change(batches[0].schema().as_ref(), batches[0].columns().to_vec());
    let schema = Arc::new(schema);
    let mut w = ArrowWriter::try_new(
        std::fs::File::create(path).unwrap(),
        Arc::clone(&schema),
        None,
    )
    .unwrap();
    for b in batches {
        let (_, columns) = change(b.schema().as_ref(), b.columns().to_vec());
        w.write(&RecordBatch::try_new(Arc::clone(&schema), columns).unwrap())
            .unwrap();
    }
    w.close().unwrap();
}

#[test]
fn parquet_missing_column() {
    with_damaged_file("missing column", |p| {
        rewrite_parquet(p, |schema, mut columns| {
            let i = schema.index_of("address").unwrap();
            let mut fields: Vec<Field> =
                schema.fields().iter().map(|f| f.as_ref().clone()).collect();
            fields.remove(i);
            columns.remove(i);
            (Schema::new(fields), columns)
        });
    });
}

#[test]
fn parquet_wrong_type() {
    with_damaged_file("wrong type", |p| {
        rewrite_parquet(p, |schema, mut columns| {
            let i = schema.index_of("address").unwrap();
            let mut fields: Vec<Field> =
                schema.fields().iter().map(|f| f.as_ref().clone()).collect();
            fields[i] = Field::new("address", DataType::Int64, true);
            columns[i] = Arc::new(Int64Array::from(vec![1_i64; columns[i].len()]));
            (Schema::new(fields), columns)
        });
    });
}

#[test]
fn unreadable_file_among_many() {
    // A dangling link matched by the glob: opening it fails like an unreadable file would
    // (permission bits do not stop root, which CI runs as).
    with_damaged_file("dangling link", |p| {
        std::fs::remove_file(p).unwrap();
        std::os::unix::fs::symlink(p.with_extension("gone"), p).unwrap();
    });
}

#[test]
fn glob_matching_no_file() {
    let tmp = tempfile::tempdir().unwrap();
    let glob = tmp.path().join("nothing/*.parquet");
    for extra in [&[][..], &["--keep-going"][..]] {
        let o = run_spatial(tmp.path(), &glob, extra);
        assert_eq!(code(&o), 3, "{}", stderr(&o));
        assert!(stderr(&o).contains("matches no file"), "{}", stderr(&o));
        assert!(stderr(&o).contains("nothing/*.parquet"), "{}", stderr(&o));
        assert_nothing_complete(tmp.path());
    }
}

/// The CSV pack of the damaged-record fixture: every file under `data/`.
const CSV_PACK: &str = r#"
library: { id: bad, name: 坏数据 }
tables:
  - name: people
    source: { path: "data/*.csv", format: csv, encoding: ENCODING }
    key: [id]
    provider: provider
    columns:
      - { name: id, type: int }
      - { name: name, type: string }
      - { name: provider, type: string }
    rules:
      - { id: B-NN, name: 姓名不能为空, dimension: 完整性, check: { not_null: { column: name } } }
      - { id: B-LEN, name: 姓名长度, dimension: 规范性, check: { length: { column: name, max: 10 } } }
"#;

fn csv_run(dir: &Path, encoding: &str, extra: &[&str]) -> std::process::Output {
    let pack = dir.join("bad.yaml");
    std::fs::write(&pack, CSV_PACK.replace("ENCODING", encoding)).unwrap();
    run_in(dir, pack.to_str().unwrap(), extra)
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::create_dir_all(dir.join("data")).unwrap();
    std::fs::write(dir.join("data").join(name), bytes).unwrap();
}

/// An exported row: file name, line, failed rules, parse error, raw text.
type Exported = (String, u64, Vec<String>, Option<String>, Option<String>);

/// Exported rows, sorted by file name and line.
fn exported(dir: &Path, s: &RunSummary) -> Vec<Exported> {
    let file = dir
        .join("out")
        .join(s.tables[0].anomalies_file.as_ref().unwrap());
    let mut rows = Vec::new();
    read_export(&file, |row| {
        let Origin {
            file,
            at,
            parse_error,
            raw,
        } = row
            .origin
            .clone()
            .expect("CSV exports say where each record is");
        let name = Path::new(&file)
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let Position::Line(line) = at else {
            panic!("a CSV record is placed by its line");
        };
        rows.push((name, line, row.failed_rules, parse_error, raw));
        true
    })
    .unwrap();
    rows.sort();
    rows
}

#[test]
fn csv_record_damage_is_counted_and_exported_with_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let big = "长".repeat(350_000); // a 1 MB field
    write(
        dir,
        "a_ok.csv",
        "id,name,provider\n1,张三,A\n2,,B\n".as_bytes(),
    );
    write(dir, "b_header_only.csv", b"id,name,provider\n");
    write(
        dir,
        "c_ragged.csv",
        "id,name,provider\n3,李四\n4,王五,C,extra\n5,赵六,C\n".as_bytes(),
    );
    write(
        dir,
        "d_nul.csv",
        "id,name,provider\n6,张\u{0}三,A\n".as_bytes(),
    );
    write(
        dir,
        "e_big.csv",
        format!("id,name,provider\n7,{big},A\n").as_bytes(),
    );
    // LF, CR and CRLF line ends mixed: records on lines 2, 3, 4, 5.
    write(
        dir,
        "f_mixed.csv",
        "id,name,provider\r\n8,甲,A\n9,乙,B\r10,丙,C\r\n11,丁,C".as_bytes(),
    );
    let mut gbk = b"id,name,provider\n12,".to_vec();
    gbk.extend_from_slice(&encoding_rs::GBK.encode("钱七").0);
    gbk.extend_from_slice(b",A\n13,ok,A\n");
    write(dir, "g_gbk_in_utf8.csv", &gbk);
    write(
        dir,
        "h_unterminated.csv",
        "id,name,provider\n14,\"孙八,A\n15,周九,A\n".as_bytes(),
    );

    let o = csv_run(dir, "utf-8", &[]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let s = summary(dir);
    let t = &s.tables[0];
    // By hand: 2 + 0 + 3 + 1 + 1 + 4 + 2 + 1 rows (the unterminated quote swallows line 3).
    assert_eq!(t.rows, 14);
    let failed = |id: &str| t.rules.iter().find(|r| r.id == id).unwrap().failed_rows;
    assert_eq!(failed("PARSE-STRUCTURE"), 3, "lines c:2, c:3, h:2");
    assert_eq!(failed("PARSE-ENCODING"), 2, "NUL byte, GBK bytes");
    assert_eq!(failed("PARSE-TYPE"), 0);
    assert_eq!(failed("B-NN"), 1, "a_ok line 3");
    assert_eq!(failed("B-LEN"), 1, "the 1 MB name");
    assert_eq!(t.anomalous_rows, 7);

    let rows = exported(dir, &s);
    let at = |f: &str, line: u64| {
        rows.iter()
            .find(|r| r.0 == f && r.1 == line)
            .unwrap_or_else(|| panic!("{f}:{line} not exported: {rows:?}"))
    };
    assert_eq!(at("a_ok.csv", 3).2, ["B-NN"]);
    assert_eq!(
        at("c_ragged.csv", 2).3.as_deref(),
        Some("expected 3 fields, found 2")
    );
    assert_eq!(
        at("c_ragged.csv", 3).3.as_deref(),
        Some("expected 3 fields, found 4")
    );
    assert_eq!(at("c_ragged.csv", 3).4.as_deref(), Some("4,王五,C,extra"));
    assert!(at("d_nul.csv", 2).3.as_deref().unwrap().contains("NUL"));
    assert_eq!(at("e_big.csv", 2).2, ["B-LEN"]);
    assert_eq!(at("g_gbk_in_utf8.csv", 2).2, ["PARSE-ENCODING"]);
    assert_eq!(at("h_unterminated.csv", 2).2, ["PARSE-STRUCTURE"]);
    assert_eq!(rows.len(), 7);
    // The 1 MB value is exported whole.
    let file = dir.join("out").join(t.anomalies_file.as_ref().unwrap());
    let mut longest = 0;
    read_export(&file, |row| {
        for (c, v) in &row.values {
            if c == "name" {
                longest = longest.max(v.as_ref().map_or(0, |v| v.chars().count()));
            }
        }
        true
    })
    .unwrap();
    assert_eq!(longest, 350_000);
    // Mixed line ends: clean records, each on its own line (none exported, none lost).
    assert!(!rows.iter().any(|r| r.0 == "f_mixed.csv"));
}

#[test]
fn csv_line_numbers_follow_mixed_line_ends() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // Every record is malformed (2 fields), so each is exported with its line.
    write(
        dir,
        "mixed.csv",
        b"id,name,provider\r\n1,a\n2,b\r3,c\r\n\r\n4,d\r\r5,e",
    );
    let o = csv_run(dir, "utf-8", &[]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let s = summary(dir);
    let lines: Vec<u64> = exported(dir, &s).iter().map(|r| r.1).collect();
    assert_eq!(lines, [2, 3, 4, 6, 8]);
}

#[test]
fn utf8_bytes_in_a_gbk_file_are_encoding_anomalies() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mut bytes = b"id,name,provider\n1,".to_vec();
    bytes.extend_from_slice(&encoding_rs::GBK.encode("张三").0);
    // Then two records in UTF-8, which are not valid GBK.
    bytes.extend_from_slice(",A\n2,张三丰,B\n3,中华人民共和国,B\n".as_bytes());
    write(dir, "people.csv", &bytes);
    let o = csv_run(dir, "gbk", &[]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let s = summary(dir);
    let t = &s.tables[0];
    assert_eq!(t.rows, 3);
    let enc = t.rules.iter().find(|r| r.id == "PARSE-ENCODING").unwrap();
    assert_eq!(enc.failed_rows, 2, "the two UTF-8 records");
    let rows = exported(dir, &s);
    assert_eq!(rows.iter().map(|r| r.1).collect::<Vec<_>>(), [3, 4]);
}

#[test]
fn csv_empty_file_is_file_level_damage() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write(dir, "a.csv", "id,name,provider\n1,张三,A\n".as_bytes());
    write(dir, "b_empty.csv", b"");
    let o = csv_run(dir, "utf-8", &[]);
    assert_eq!(code(&o), 3, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("b_empty.csv: the file is empty"),
        "{}",
        stderr(&o)
    );
    assert_nothing_complete(dir);

    let o = csv_run(dir, "utf-8", &["--keep-going"]);
    assert_eq!(code(&o), 3, "{}", stderr(&o));
    let s = summary(dir);
    assert_eq!(s.status, RunStatus::Partial);
    assert_eq!(s.tables[0].rows, 1);
    assert_eq!(
        s.tables[0].left_out_files[0].file,
        dir.join("data/b_empty.csv")
    );
}

#[test]
fn csv_header_missing_a_column_in_one_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write(dir, "a.csv", "id,name,provider\n1,张三,A\n".as_bytes());
    write(dir, "b.csv", "id,nom,provider\n2,李四,B\n".as_bytes());
    let o = csv_run(dir, "utf-8", &[]);
    assert_eq!(code(&o), 3, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("b.csv: the header has no column `name`"),
        "{}",
        stderr(&o)
    );
    let o = csv_run(dir, "utf-8", &["--keep-going"]);
    assert_eq!(code(&o), 3, "{}", stderr(&o));
    assert_eq!(summary(dir).tables[0].rows, 1);
}

#[test]
fn csv_header_only_is_an_empty_table() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write(dir, "a.csv", b"id,name,provider\n");
    let o = csv_run(dir, "utf-8", &[]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let s = summary(dir);
    assert_eq!((s.tables[0].rows, s.status), (0, RunStatus::Passed));
}
