//! Generated tables audited with the shipped pack must match the generator's truth exactly:
//! per rule, per provider, rows and anomalous rows, whatever the thread count.

use std::path::Path;

use qc::generate::truth::{TableTruth, Truth};
use qc::results::summary::RunSummary;

use crate::util::{audit, code, parquet_rows, root, run, stderr};

/// Generate `library` into `out`; return the truth of its table `table`.
pub fn generate_library(library: &str, table: &str, out: &Path, args: &[&str]) -> TableTruth {
    let out_s = out.to_string_lossy().into_owned();
    let mut all = vec!["gen", "--library", library, "--out", &out_s];
    all.extend_from_slice(args);
    let o = run(&all);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let truth: Truth =
        serde_json::from_str(&std::fs::read_to_string(out.join("truth.json")).unwrap()).unwrap();
    assert_eq!(truth.library, library);
    truth.tables[table].clone()
}

fn generate(out: &Path, args: &[&str]) -> TableTruth {
    generate_library("spatial", "address", out, args)
}

/// The shipped pack `rules/<library>.yaml` with the source of its (only) table switched to
/// `data` read as CSV in `encoding`; written into `dir` beside a copy of the code lists and
/// of the other shipped packs (so rules reading another library know where it lives).
fn csv_pack(library: &str, dir: &Path, data: &Path, encoding: &str) -> std::path::PathBuf {
    let path = csv_pack_only(library, dir, data, encoding);
    for other in ["spatial", "marriage", "death", "building"] {
        let sibling = dir.join(format!("{other}_csv.yaml"));
        if other != library && !sibling.exists() {
            std::fs::copy(root().join(format!("rules/{other}.yaml")), sibling).unwrap();
        }
    }
    path
}

pub fn csv_pack_only(library: &str, dir: &Path, data: &Path, encoding: &str) -> std::path::PathBuf {
    let text = std::fs::read_to_string(root().join(format!("rules/{library}.yaml"))).unwrap();
    let (head, rest) = text.split_once("    source:\n      path: ").unwrap();
    let rest = &rest[rest.find('\n').unwrap()..];
    let pack = format!(
        "{head}    source:\n      path: {}\n      format: csv\n      encoding: {encoding}{rest}",
        data.display()
    );
    let path = dir.join(format!("{library}_csv.yaml"));
    std::fs::write(&path, pack).unwrap();
    copy_dir(&root().join("rules/codelists"), &dir.join("codelists"));
    path
}

pub fn assert_matches_truth(s: &RunSummary, truth: &TableTruth) {
    let t = &s.tables[0];
    assert_eq!(t.rows, truth.rows, "rows");
    assert_eq!(t.anomalous_rows, truth.anomalous_rows, "anomalous rows");
    for r in &t.rules {
        let expected = truth.rules.get(&r.id).copied().unwrap_or(0);
        assert_eq!(r.failed_rows, expected, "rule {}", r.id);
    }
    for (id, n) in &truth.rules {
        let audited = t.rules.iter().any(|r| &r.id == id);
        // A rule reading a library not in the run is skipped; the generator, making this
        // library alone, injected nothing for it.
        let skipped = t.skipped_rules.iter().any(|r| &r.id == id) && *n == 0;
        assert!(audited || skipped, "rule {id} of the truth is missing");
    }
    assert_eq!(t.providers.len(), truth.providers.len(), "providers");
    for p in &t.providers {
        let name = p
            .provider
            .clone()
            .expect("generated rows all have a provider");
        let e = &truth.providers[&name];
        assert_eq!(
            (p.rows, p.anomalous_rows),
            (e.rows, e.anomalous_rows),
            "provider {name}"
        );
        // The summary lists every rule that applied to the provider; the truth, those with
        // failures.
        let got: std::collections::BTreeMap<String, u64> = p
            .rules
            .iter()
            .filter(|r| r.failed_rows > 0)
            .map(|r| (r.id.clone(), r.failed_rows))
            .collect();
        assert_eq!(got, e.rules, "provider {name} per rule");
    }
}

#[test]
fn parquet_audit_matches_truth_at_every_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let truth = generate(
        dir.path(),
        &["--rows", "150000", "--seed", "11", "--anomalies", "4321"],
    );
    assert_eq!(truth.anomalous_rows, 4321);
    let data_s = dir
        .path()
        .join("address.parquet")
        .to_string_lossy()
        .into_owned();
    let over = format!("address={data_s}");
    let mut exports = Vec::new();
    for threads in ["1", "2", "4"] {
        let out = dir.path().join(format!("out{threads}"));
        let (_, s) = audit(
            "rules/spatial.yaml",
            &out,
            &["--data", &over, "--threads", threads],
        );
        assert_matches_truth(&s, &truth);
        exports.push(parquet_rows(
            &out.join(s.tables[0].anomalies_file.as_ref().unwrap()),
        ));
    }
    assert_eq!(exports[0].len() as u64, truth.anomalous_rows);
    assert_eq!(
        exports[0], exports[1],
        "1 vs 2 threads: same anomalous rows"
    );
    assert_eq!(
        exports[0], exports[2],
        "1 vs 4 threads: same anomalous rows"
    );
}

#[test]
fn gbk_csv_with_damaged_records_matches_truth() {
    let dir = tempfile::tempdir().unwrap();
    let truth = generate(
        dir.path(),
        &[
            "--rows",
            "40000",
            "--seed",
            "5",
            "--anomaly-rate",
            "0.02",
            "--format",
            "csv",
            "--encoding",
            "gbk",
        ],
    );
    assert_eq!(truth.anomalous_rows, 800);
    for rule in ["PARSE-STRUCTURE", "PARSE-ENCODING", "PARSE-TYPE"] {
        assert!(
            truth.rules.get(rule).copied().unwrap_or(0) > 0,
            "{rule} injected"
        );
    }
    let pack_path = csv_pack(
        "spatial",
        dir.path(),
        &dir.path().join("address.csv"),
        "gbk",
    );
    for threads in ["1", "2", "3"] {
        let out = dir.path().join(format!("out{threads}"));
        let (_, s) = audit(&pack_path.to_string_lossy(), &out, &["--threads", threads]);
        assert_matches_truth(&s, &truth);
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

#[test]
fn generation_is_identical_whatever_the_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a");
    let b = dir.path().join("b");
    let args = [
        "--rows",
        "140000",
        "--seed",
        "3",
        "--anomalies",
        "70",
        "--format",
        "csv",
        "--encoding",
        "gbk",
    ];
    let ta = generate(&a, &[&args[..], &["--threads", "1"]].concat());
    let tb = generate(&b, &[&args[..], &["--threads", "2"]].concat());
    assert_eq!(ta, tb);
    assert_eq!(
        std::fs::read(a.join("address.csv")).unwrap(),
        std::fs::read(b.join("address.csv")).unwrap()
    );
}

#[test]
fn marriage_matches_truth_in_parquet_and_csv() {
    let dir = tempfile::tempdir().unwrap();
    let pq = dir.path().join("pq");
    let truth = generate_library(
        "marriage",
        "registration",
        &pq,
        &["--rows", "60000", "--seed", "8", "--anomalies", "1500"],
    );
    assert_eq!(truth.anomalous_rows, 1500);
    // 35 kinds of injury take turns (MAR-022 needs the death library): 42 rows each; some
    // injuries break two rules by construction.
    assert!(
        truth
            .rules
            .iter()
            .all(|(id, n)| *n >= 42 || (id == "MAR-022" && *n == 0)),
        "every rule gets its share: {:?}",
        truth.rules
    );
    let over = format!("registration={}", pq.join("registration.parquet").display());
    for threads in ["1", "2", "3"] {
        let out = dir.path().join(format!("out{threads}"));
        let (_, s) = audit(
            "rules/marriage.yaml",
            &out,
            &["--data", &over, "--threads", threads],
        );
        assert_matches_truth(&s, &truth);
    }
    for encoding in ["utf-8", "gbk"] {
        let d = dir.path().join(encoding);
        let truth = generate_library(
            "marriage",
            "registration",
            &d,
            &[
                "--rows",
                "30000",
                "--seed",
                "9",
                "--anomalies",
                "480",
                "--format",
                "csv",
                "--encoding",
                encoding,
            ],
        );
        let pack = csv_pack("marriage", &d, &d.join("registration.csv"), encoding);
        let (_, s) = audit(&pack.to_string_lossy(), &d.join("out"), &[]);
        assert_matches_truth(&s, &truth);
    }
}

#[test]
fn death_matches_truth_in_parquet_and_gbk_csv() {
    let dir = tempfile::tempdir().unwrap();
    let pq = dir.path().join("pq");
    let truth = generate_library(
        "death",
        "record",
        &pq,
        &["--rows", "50000", "--seed", "4", "--anomalies", "1400"],
    );
    assert!(
        truth
            .rules
            .iter()
            .all(|(id, n)| *n >= 40 || (id == "DEA-019" && *n == 0)),
        "every rule gets its share: {:?}",
        truth.rules
    );
    let over = format!("record={}", pq.join("record.parquet").display());
    for threads in ["1", "2", "3"] {
        let (_, s) = audit(
            "rules/death.yaml",
            &dir.path().join(format!("out{threads}")),
            &["--data", &over, "--threads", threads],
        );
        assert_matches_truth(&s, &truth);
    }
    let d = dir.path().join("gbk");
    let truth = generate_library(
        "death",
        "record",
        &d,
        &[
            "--rows",
            "30000",
            "--seed",
            "6",
            "--anomalies",
            "400",
            "--format",
            "csv",
            "--encoding",
            "gbk",
        ],
    );
    let pack = csv_pack("death", &d, &d.join("record.csv"), "gbk");
    let (_, s) = audit(&pack.to_string_lossy(), &d.join("out"), &["--threads", "1"]);
    assert_matches_truth(&s, &truth);
}

#[test]
fn every_library_matches_truth_in_parquet_and_csv_utf8_and_gbk() {
    let dir = tempfile::tempdir().unwrap();
    let libraries = [
        ("spatial", "address"),
        ("marriage", "registration"),
        ("death", "record"),
        ("building", "building"),
    ];
    for (library, table) in libraries {
        for (seed, format, encoding) in [
            ("21", "parquet", "utf-8"),
            ("22", "csv", "utf-8"),
            ("23", "csv", "gbk"),
        ] {
            let d = dir.path().join(format!("{library}-{format}-{encoding}"));
            let truth = generate_library(
                library,
                table,
                &d,
                &[
                    "--rows",
                    "12000",
                    "--seed",
                    seed,
                    "--anomalies",
                    "360",
                    "--format",
                    format,
                    "--encoding",
                    encoding,
                ],
            );
            assert_eq!(truth.anomalous_rows, 360, "{library}");
            let (pack, extra) = if format == "csv" {
                (
                    csv_pack(library, &d, &d.join(format!("{table}.csv")), encoding),
                    vec![],
                )
            } else {
                let over = format!("{table}={}", d.join(format!("{table}.parquet")).display());
                (
                    root().join(format!("rules/{library}.yaml")),
                    vec!["--data".to_string(), over],
                )
            };
            let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
            let (_, s) = audit(&pack.to_string_lossy(), &d.join("out"), &extra);
            assert_matches_truth(&s, &truth);
        }
    }
}

/// The four libraries generated together, as (library, table).
pub const TOGETHER: [(&str, &str); 4] = [
    ("spatial", "address"),
    ("marriage", "registration"),
    ("death", "record"),
    ("building", "building"),
];

/// Generate the four libraries together (marriages × deaths, buildings on addresses) into
/// `d` in `format`; return each table's truth, in [`TOGETHER`] order.
pub fn generate_together(d: &Path, rows: &str, anomalies: &str, format: &str) -> Vec<TableTruth> {
    let d_s = d.to_string_lossy().into_owned();
    let o = run(&[
        "gen",
        "--library",
        "spatial,marriage,death,building",
        "--rows",
        rows,
        "--seed",
        "31",
        "--anomalies",
        anomalies,
        "--format",
        format,
        "--out",
        &d_s,
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    TOGETHER
        .iter()
        .map(|(library, table)| {
            let t: Truth = serde_json::from_str(
                &std::fs::read_to_string(d.join(library).join("truth.json")).unwrap(),
            )
            .unwrap();
            t.tables[*table].clone()
        })
        .collect()
}

/// `--data` arguments pointing the shipped packs at the Parquet tables generated into `d`.
pub fn parquet_overrides(d: &Path) -> Vec<String> {
    TOGETHER
        .iter()
        .flat_map(|(library, table)| {
            [
                "--data".to_string(),
                format!(
                    "{library}.{table}={}",
                    d.join(library).join(format!("{table}.parquet")).display()
                ),
            ]
        })
        .collect()
}

/// The four libraries generated together (marriages × deaths, buildings on addresses), then
/// audited together: set-based and cross-library rules match the truth exactly, in Parquet
/// and CSV, at 1, 2 and 3 threads, and the anomaly exports agree row for row.
#[test]
fn libraries_generated_together_match_truth_with_cross_library_rules() {
    let dir = tempfile::tempdir().unwrap();
    let libraries = TOGETHER;
    for format in ["parquet", "csv"] {
        let d = dir.path().join(format);
        let truths = generate_together(&d, "24000", "720", format);
        // Every set-based scenario was injected.
        for (i, rule) in [
            (1, "MAR-021"),
            (1, "MAR-022"),
            (1, "MAR-023"),
            (1, "MAR-024"),
            (2, "DEA-017"),
            (2, "DEA-018"),
            (2, "DEA-019"),
            (3, "BLD-019"),
            (3, "BLD-020"),
        ] {
            assert!(truths[i].rules[rule] > 0, "{format}: {rule} injected");
        }
        // Widowers' remarriages (MAR-023 must not flag them: the wives' deaths are recorded).
        assert!(
            truths[1].without["death"]["MAR-023"] > 0,
            "{format}: widowers"
        );
        let (rules_arg, extra): (String, Vec<String>) = if format == "csv" {
            let packs = d.join("packs");
            std::fs::create_dir_all(&packs).unwrap();
            for (library, table) in libraries {
                csv_pack_only(
                    library,
                    &packs,
                    &d.join(library).join(format!("{table}.csv")),
                    "utf-8",
                );
            }
            (packs.to_string_lossy().into_owned(), Vec::new())
        } else {
            (
                root().join("rules").to_string_lossy().into_owned(),
                parquet_overrides(&d),
            )
        };
        let mut exports: Vec<Vec<Vec<String>>> = Vec::new();
        for threads in ["1", "2", "3"] {
            let out = d.join(format!("out{threads}"));
            let mut args: Vec<&str> = extra.iter().map(String::as_str).collect();
            args.extend(["--threads", threads]);
            let (_, s) = audit(&rules_arg, &out, &args);
            assert_eq!(s.tables.len(), 4);
            let mut rows = Vec::new();
            for (i, (library, table)) in libraries.iter().enumerate() {
                let t = s
                    .tables
                    .iter()
                    .find(|t| t.library == *library && t.name == *table)
                    .unwrap();
                assert!(t.skipped_rules.is_empty(), "{library}: nothing skipped");
                let one = RunSummary {
                    tables: vec![t.clone()],
                    ..s.clone()
                };
                assert_matches_truth(&one, &truths[i]);
                rows.push(parquet_rows(&out.join(t.anomalies_file.as_ref().unwrap())));
            }
            exports.push(rows);
        }
        assert_eq!(exports[0], exports[1], "{format}: 1 vs 2 threads");
        assert_eq!(exports[0], exports[2], "{format}: 1 vs 3 threads");
    }
}

/// Under a memory limit far too small for its set-based rules, the marriage pack either
/// completes with the truth's counts or stops with an error naming the rule, well within a
/// bounded time: never a hang.
#[test]
fn a_memory_starved_set_rule_completes_or_names_the_rule() {
    let dir = tempfile::tempdir().unwrap();
    let truth = generate_library(
        "marriage",
        "registration",
        dir.path(),
        &["--rows", "60000", "--seed", "11", "--anomalies", "600"],
    );
    let data = format!(
        "registration={}",
        dir.path().join("registration.parquet").display()
    );
    let out = dir.path().join("out");
    let (out_s, store) = (
        out.to_string_lossy().into_owned(),
        dir.path().join("qc.db").to_string_lossy().into_owned(),
    );
    let started = std::time::Instant::now();
    let o = run(&[
        "run",
        "--rules",
        "rules/marriage.yaml",
        "--data",
        &data,
        "--out",
        &out_s,
        "--store",
        &store,
        "--memory-limit",
        "4MiB",
        "--stall-timeout",
        "20",
        "--format",
        "json",
        "--quiet",
    ]);
    assert!(
        started.elapsed() < std::time::Duration::from_mins(2),
        "took {:?}",
        started.elapsed()
    );
    match code(&o) {
        0 | 1 => {
            let s: RunSummary = serde_json::from_str(&crate::util::stdout(&o)).unwrap();
            assert_matches_truth(&s, &truth);
        }
        3 => {
            let text = stderr(&o);
            assert!(
                text.contains("rule MAR-0"),
                "the error names no rule: {text}"
            );
            assert!(
                !out.join("summary.json").exists(),
                "a failed run left a summary"
            );
        }
        other => panic!("exit {other}: {}", stderr(&o)),
    }
}

/// The estate: 200 tables over six departments' folders, each naming its columns its own
/// way, audited with one pack of templates bound by role. The shipped sample is the
/// generator's (regenerated here byte for byte), and every table's counts equal its truth.
#[test]
fn an_estate_of_200_tables_matches_truth_through_templates() {
    let dir = tempfile::tempdir().unwrap();
    let fresh = dir.path().join("estate");
    let args = [
        "--tables",
        "200",
        "--rows",
        "20",
        "--anomalies",
        "3",
        "--seed",
        "2026",
    ];
    let _ = generate_library("estate", "t001", &fresh, &args);
    let shipped = root().join("testdata/estate");
    let mut files = 0;
    for dept in qc::generate::estate::DEPARTMENTS.map(|(d, _)| d) {
        for entry in std::fs::read_dir(fresh.join(dept)).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap();
            assert_eq!(
                std::fs::read(&path).unwrap(),
                std::fs::read(shipped.join(dept).join(name)).unwrap(),
                "{dept}/{name:?} is the generator's"
            );
            files += 1;
        }
    }
    assert_eq!(files, 200);
    let truth: Truth =
        serde_json::from_str(&std::fs::read_to_string(shipped.join("truth.json")).unwrap())
            .unwrap();
    assert_eq!(
        std::fs::read_to_string(fresh.join("truth.json")).unwrap(),
        std::fs::read_to_string(shipped.join("truth.json")).unwrap()
    );
    let out = dir.path().join("out");
    // Last month's run of the same deliveries, then this month's.
    let _ = audit("rules/estate/estate.yaml", &out, &["--as-of", "2026-10-31"]);
    let (_, s) = audit("rules/estate/estate.yaml", &out, &["--as-of", "2026-11-30"]);
    assert_eq!(s.tables.len(), 200);
    for t in &s.tables {
        let expected = &truth.tables[&t.name];
        assert_eq!(
            (t.rows, t.anomalous_rows),
            (expected.rows, expected.anomalous_rows)
        );
        for r in t.rules.iter().filter(|r| !r.builtin) {
            assert_eq!(
                Some(&r.failed_rows),
                expected.rules.get(&r.id),
                "{} {}",
                t.name,
                r.id
            );
        }
    }
    // The monthly report pools each template over the tables that use it, this month and
    // last.
    let md = crate::util::report_md(&out.join("qc.db"), "2026-11", &dir.path().join("reports"));
    for (id, name) in [
        ("T-ID", "公民身份号码有效"),
        ("T-DIST", "区县代码在记录日期有效"),
    ] {
        let failed: u64 = truth.tables.values().map(|t| t.rules[id]).sum();
        let failing = truth.tables.values().filter(|t| t.rules[id] > 0).count();
        let rows: u64 = truth.tables.values().map(|t| t.rows).sum();
        #[allow(clippy::cast_precision_loss)]
        let rate = failed as f64 / rows as f64 * 100.0;
        let line =
            format!("| {id} | {name} | 200（{failing}） | {failed}（{rate:.4}%） | {rate:.4}% |");
        assert!(md.contains(&line), "{line} in {md}");
    }
}
