//! Hand-counted fixtures. The expected numbers are written in the packs' header comments and
//! here; they were counted by hand from the CSV rows, not taken from qc's output.

use qc::results::summary::{RunSummary, TableSummary, Verdict};

use crate::util::{audit, parquet_rows};

fn table<'a>(s: &'a RunSummary, name: &str) -> &'a TableSummary {
    s.tables
        .iter()
        .find(|t| t.name == name)
        .expect("table in summary")
}

fn failed(t: &TableSummary, id: &str) -> (u64, u64) {
    let r = t
        .rules
        .iter()
        .find(|r| r.id == id)
        .unwrap_or_else(|| panic!("rule {id} in summary"));
    (r.failed_rows, r.applicable_rows)
}

#[test]
fn every_check_kind_counts_exactly() {
    let dir = tempfile::tempdir().unwrap();
    for threads in ["1", "3"] {
        let out = dir.path().join(threads);
        let (code, s) = audit("testdata/cases/kinds.yaml", &out, &["--threads", threads]);
        assert_eq!(code, 1, "rules without a threshold fail on any anomaly");
        let t = table(&s, "kinds");
        assert_eq!((t.rows, t.anomalous_rows, t.passed_rows), (13, 9, 4));
        let expected = [
            ("PARSE-STRUCTURE", 2),
            ("PARSE-ENCODING", 0),
            ("PARSE-TYPE", 2),
            ("K-NN", 1),
            ("K-PAT", 1),
            ("K-ALL", 1),
            ("K-CL", 1),
            ("K-RNG", 1),
            ("K-RNGX", 1),
            ("K-DATE", 1),
            ("K-LEN", 1),
            ("K-ORD", 1),
            ("K-EXPR", 1),
            ("K-WHEN", 1),
        ];
        assert_eq!(t.rules.len(), expected.len());
        for (id, n) in expected {
            assert_eq!(failed(t, id).0, n, "{id} failed rows");
        }
        // Parse rules apply to every row; other rules only to the 9 well-formed ones.
        assert_eq!(failed(t, "PARSE-TYPE").1, 13);
        assert_eq!(failed(t, "K-NN").1, 9);
        // `when: sex = '2'` holds on rows 5 and 7 only.
        assert_eq!(failed(t, "K-WHEN").1, 2);
        let verdict = |id: &str| t.rules.iter().find(|r| r.id == id).unwrap().verdict;
        assert_eq!(verdict("K-WHEN"), Verdict::Warn);
        assert_eq!(verdict("K-NN"), Verdict::Fail);
        assert_eq!(verdict("PARSE-ENCODING"), Verdict::Pass);

        let by: std::collections::BTreeMap<_, _> = t
            .providers
            .iter()
            .map(|p| (p.provider.clone(), (p.rows, p.anomalous_rows)))
            .collect();
        assert_eq!(by[&Some("黄浦区".to_string())], (6, 3));
        assert_eq!(by[&Some("徐汇区".to_string())], (4, 3));
        assert_eq!(by[&Some("长宁区".to_string())], (1, 1));
        assert_eq!(
            by[&None],
            (2, 2),
            "rows 10 and 13 lost their provider field"
        );

        // The export holds each anomalous row once, with its failed rules and, for damaged
        // records, file, line and raw text.
        let rows = parquet_rows(&out.join(t.anomalies_file.as_ref().expect("anomalies exported")));
        assert_eq!(rows.len(), 9);
        let mut ids: Vec<i64> = rows
            .iter()
            .map(|r| r.split('|').next().unwrap().parse().unwrap_or(-1))
            .collect();
        ids.sort_unstable();
        assert_eq!(ids, vec![2, 3, 4, 5, 6, 9, 10, 12, 13]);
        let sixth = rows.iter().find(|r| r.starts_with("6|")).unwrap();
        assert!(sixth.contains("[K-PAT, K-CL, K-LEN, K-EXPR]"), "{sixth}");
        let row10 = rows.iter().find(|r| r.starts_with("10|")).unwrap();
        assert!(
            row10.contains("kinds.csv|11|expected 10 fields, found 6|10,郑十,1,30,50,1990-01-01"),
            "{row10}"
        );
        let row13 = rows.iter().find(|r| r.starts_with("13|")).unwrap();
        assert!(row13.contains("|14|unbalanced quotes|"), "{row13}");
    }
}

#[test]
fn gbk_with_crlf_and_an_invalid_byte() {
    let dir = tempfile::tempdir().unwrap();
    let (code, s) = audit("testdata/cases/gbk.yaml", dir.path(), &[]);
    assert_eq!(code, 1);
    let t = table(&s, "people");
    assert_eq!((t.rows, t.anomalous_rows), (4, 2));
    assert_eq!(failed(t, "PARSE-ENCODING").0, 1);
    assert_eq!(failed(t, "G-NN").0, 1);
    assert_eq!(
        failed(t, "G-PAT").0,
        0,
        "GBK names decode to Han characters"
    );
    let anomalous: Vec<(Option<String>, u64)> = t
        .providers
        .iter()
        .map(|p| (p.provider.clone(), p.anomalous_rows))
        .collect();
    assert!(
        anomalous.contains(&(Some("长宁区".into()), 1)),
        "{anomalous:?}"
    );
    assert!(
        anomalous.contains(&(Some("徐汇区".into()), 1)),
        "{anomalous:?}"
    );
}

/// A Parquet fixture written here (typed columns: Int32, Float32, Date32, NULLs, a blank
/// name), audited by the kinds pack's rules with the columns taken from the file.
#[test]
fn parquet_fixture_counts_exactly() {
    use std::sync::Arc;

    use arrow::array::{ArrayRef, Date32Array, Float32Array, Int32Array, StringArray};
    use arrow::record_batch::RecordBatch;

    let dir = tempfile::tempdir().unwrap();
    let day = |y: i32, m: u32, d: u32| {
        i32::try_from(
            (chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap()
                - chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap())
            .num_days(),
        )
        .unwrap()
    };
    let s = |v: &[Option<&str>]| -> ArrayRef { Arc::new(StringArray::from(v.to_vec())) };
    let batch = RecordBatch::try_from_iter(vec![
        (
            "id",
            Arc::new(Int32Array::from((1..=8).collect::<Vec<i32>>())) as ArrayRef,
        ),
        (
            "name",
            s(&[
                Some("张三"),
                None,
                Some("  "),
                Some("李四"),
                Some("王五"),
                Some("欧阳小明明"),
                Some("孙七"),
                Some("周八"),
            ]),
        ),
        (
            "sex",
            s(&[
                Some("1"),
                Some("1"),
                Some("2"),
                Some("3"),
                None,
                Some("2"),
                Some("2"),
                Some("1"),
            ]),
        ),
        (
            "age",
            Arc::new(Int32Array::from(vec![
                Some(30),
                Some(40),
                Some(19),
                Some(150),
                None,
                Some(17),
                Some(22),
                Some(18),
            ])),
        ),
        (
            "score",
            Arc::new(Float32Array::from(vec![
                Some(88.5),
                Some(70.0),
                Some(60.0),
                Some(0.0),
                None,
                Some(99.0),
                Some(100.0),
                Some(100.5),
            ])),
        ),
        (
            "birth_date",
            Arc::new(Date32Array::from(vec![
                Some(day(1990, 1, 1)),
                Some(day(1980, 2, 2)),
                Some(day(2001, 1, 1)),
                Some(day(1870, 1, 1)),
                None,
                Some(day(2008, 3, 3)),
                Some(day(1995, 5, 5)),
                Some(day(1990, 1, 1)),
            ])),
        ),
        (
            "reg_date",
            Arc::new(Date32Array::from(vec![
                Some(day(2020, 5, 1)),
                Some(day(2010, 1, 1)),
                Some(day(2000, 12, 31)),
                Some(day(2021, 1, 1)),
                None,
                Some(day(2024, 1, 1)),
                None,
                Some(day(2019, 1, 1)),
            ])),
        ),
        (
            "code",
            s(&[
                Some("A123"),
                Some("A124"),
                Some("D003"),
                Some("b001"),
                None,
                Some("E004"),
                Some("E005"),
                Some("F006"),
            ]),
        ),
        (
            "district",
            s(&[
                Some("310101"),
                Some("310104"),
                Some("310101"),
                Some("310199"),
                None,
                Some("310104"),
                Some("310104"),
                Some("310101"),
            ]),
        ),
        (
            "provider",
            s(&[
                Some("黄浦区"),
                Some("徐汇区"),
                Some("黄浦区"),
                Some("长宁区"),
                Some("黄浦区"),
                Some("徐汇区"),
                None,
                Some("黄浦区"),
            ]),
        ),
    ])
    .unwrap();
    let data = dir.path().join("kinds.parquet");
    let mut w = parquet::arrow::ArrowWriter::try_new(
        std::fs::File::create(&data).unwrap(),
        batch.schema(),
        None,
    )
    .unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();

    // The kinds pack, its source switched to this file and its column list dropped.
    let text =
        std::fs::read_to_string(crate::util::root().join("testdata/cases/kinds.yaml")).unwrap();
    let (head, rest) = text.split_once("    source:").unwrap();
    let rules = &rest[rest.find("    rules:").unwrap()..];
    let pack = format!(
        "{head}    source:\n      path: kinds.parquet\n    key: [id]\n    provider: provider\n{rules}"
    );
    std::fs::write(dir.path().join("kinds.yaml"), pack).unwrap();
    std::fs::create_dir_all(dir.path().join("codelists")).unwrap();
    std::fs::copy(
        crate::util::root().join("testdata/cases/codelists/mini_districts.csv"),
        dir.path().join("codelists/mini_districts.csv"),
    )
    .unwrap();

    let (code, s) = audit(
        &dir.path().join("kinds.yaml").to_string_lossy(),
        &dir.path().join("out"),
        &[],
    );
    assert_eq!(code, 1);
    let t = table(&s, "kinds");
    assert_eq!((t.rows, t.anomalous_rows, t.passed_rows), (8, 5, 3));
    let expected = [
        ("K-NN", 2),
        ("K-PAT", 1),
        ("K-ALL", 1),
        ("K-CL", 1),
        ("K-RNG", 1),
        ("K-RNGX", 2),
        ("K-DATE", 1),
        ("K-LEN", 1),
        ("K-ORD", 1),
        ("K-EXPR", 1),
        ("K-WHEN", 2),
    ];
    assert_eq!(t.rules.len(), expected.len(), "no parse rules for Parquet");
    for (id, n) in expected {
        assert_eq!(failed(t, id).0, n, "{id}");
    }
    assert_eq!(failed(t, "K-WHEN").1, 3, "rows 3, 6, 7 have sex 2");
    let by: std::collections::BTreeMap<_, _> = t
        .providers
        .iter()
        .map(|p| (p.provider.clone(), (p.rows, p.anomalous_rows)))
        .collect();
    assert_eq!(by[&Some("黄浦区".to_string())], (4, 2));
    assert_eq!(by[&Some("徐汇区".to_string())], (2, 2));
    assert_eq!(by[&Some("长宁区".to_string())], (1, 1));
    assert_eq!(by[&None], (1, 0));
}

#[test]
fn identity_number_checks() {
    let dir = tempfile::tempdir().unwrap();
    let (_, s) = audit("testdata/cases/ids.yaml", dir.path(), &[]);
    let t = table(&s, "people");
    assert_eq!((t.rows, t.anomalous_rows, t.passed_rows), (13, 10, 3));
    for (id, n) in [
        ("PARSE-STRUCTURE", 0),
        ("I-VALID", 7),
        ("I-VALIDN", 5),
        ("I-NORM", 2),
        ("I-ADDR", 2),
        ("I-BIRTH", 1),
        ("I-SEX", 1),
        ("I-SQL", 1),
        ("I-MSG", 1),
    ] {
        assert_eq!(failed(t, id).0, n, "{id}");
    }
    // What a failing row says: I-BIRTH, by default, the birth date the number encodes next to
    // the stated one; I-MSG its `message`, the number masked (it is personal data).
    let mut said = Vec::new();
    qc::execute::export::read_export(
        &dir.path().join(t.anomalies_file.as_ref().unwrap()),
        |row| {
            said.extend(
                row.explanations
                    .into_iter()
                    .map(|e| (e.rule, e.text, e.is_reason)),
            );
            true
        },
    )
    .unwrap();
    said.sort();
    assert_eq!(
        said,
        [
            (
                "I-BIRTH".to_string(),
                "id_no: 1985-05-05 ≠ birth_date: 1985-05-06".to_string(),
                false
            ),
            (
                "I-MSG".to_string(),
                "911560********1239 是 foreign 号码，出生于 1990-01-01，第 {1} 类 1".to_string(),
                true
            ),
            ("I-SEX".to_string(), "id_no: 1 ≠ sex: 2".to_string(), false),
        ]
    );
    // In the summary and the feedback the message is the reason.
    let store = dir.path().join("qc.db");
    let fb = dir.path().join("feedback");
    let o = crate::util::run(&[
        "feedback",
        "--store",
        &store.to_string_lossy(),
        "--out",
        &fb.to_string_lossy(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let csv = std::fs::read_to_string(fb.join("徐汇区.csv")).unwrap();
    let line = csv.lines().find(|l| l.contains("I-MSG")).unwrap();
    assert!(
        line.contains("911560********1239 是 foreign 号码，出生于 1990-01-01，第 {1} 类 1"),
        "{line}"
    );
    assert!(!line.contains("911560199001011239"), "{line}");
}

#[test]
fn division_codes_and_district_boundaries() {
    let dir = tempfile::tempdir().unwrap();
    let (_, s) = audit("testdata/cases/admin.yaml", dir.path(), &[]);
    let t = table(&s, "places");
    assert_eq!((t.rows, t.anomalous_rows), (7, 5));
    for (id, n) in [("A-DIST", 4), ("A-ASOF", 3), ("A-STREET", 1), ("A-REG", 1)] {
        assert_eq!(failed(t, id).0, n, "{id}");
    }
    let t = table(&s, "dated");
    for (id, n) in [("D-STRICT", 9), ("D-GRACE", 6), ("D-ELSE", 5)] {
        assert_eq!(failed(t, id).0, n, "{id}");
    }
}

#[test]
fn placeholders_count_as_missing_in_csv_and_parquet_and_are_exported_as_written() {
    let dir = tempfile::tempdir().unwrap();
    for (name, extra) in [
        ("csv", vec![]),
        (
            "parquet",
            vec!["--data", "people=testdata/cases/null_like.parquet"],
        ),
    ] {
        let out = dir.path().join(name);
        let (_, s) = audit("testdata/cases/null_like.yaml", &out, &extra);
        let t = table(&s, "people");
        for (id, n) in [
            ("N-PRESENT", 6),
            ("N-UNIQUE", 2),
            ("N-SHAPE", 1),
            ("N-WHEN", 6),
        ] {
            assert_eq!(failed(t, id).0, n, "{name} {id}");
        }
        let completeness = &t.table_checks[0];
        assert_eq!(
            serde_json::to_value(&completeness.measured).unwrap()["present"],
            4,
            "{name}"
        );
        assert_eq!(completeness.verdict, qc::results::summary::Verdict::Fail);
        assert_eq!(t.anomalous_rows, 9, "{name}: every row but 2");
        // The export shows each placeholder as the provider wrote it.
        let mut written = Vec::new();
        qc::execute::export::read_export(&out.join(t.anomalies_file.as_ref().unwrap()), |row| {
            let person = row.values.iter().find(|(c, _)| c == "person");
            written.push(person.and_then(|(_, v)| v.clone()).unwrap_or_default());
            true
        })
        .unwrap();
        written.sort();
        let mut expected: Vec<String> = [
            " 不详 ",
            "/",
            "000000000000000000",
            "",
            "P001",
            "P001",
            "P00X",
            "无",
            "无",
        ]
        .map(String::from)
        .to_vec();
        expected.sort();
        assert_eq!(written, expected, "{name}");
    }
}

#[test]
fn unique_keep_first_fails_only_the_later_copies() {
    let dir = tempfile::tempdir().unwrap();
    let (_, s) = audit("testdata/cases/keep_first.yaml", dir.path(), &[]);
    let t = table(&s, "certificates");
    for (id, n) in [("K-ALL", 7), ("K-FIRST", 4), ("K-KEY", 4)] {
        assert_eq!(failed(t, id).0, n, "{id}");
    }
    let units: Vec<_> = t
        .rules
        .iter()
        .filter_map(|r| {
            r.anomalous_keys
                .as_ref()
                .map(|k| (r.id.as_str(), k.unit, k.count))
        })
        .collect();
    assert_eq!(
        units,
        [
            ("K-ALL", qc::checks::set::KeyUnit::DuplicatedGroup, 3),
            ("K-FIRST", qc::checks::set::KeyUnit::LaterCopy, 4),
            ("K-KEY", qc::checks::set::KeyUnit::LaterCopy, 4)
        ]
    );
    // `order_by` without `keep: first` is a pack error.
    let pack = dir.path().join("bad.yaml");
    let text = std::fs::read_to_string("testdata/cases/keep_first.yaml")
        .unwrap()
        .replace("keep: first, order_by", "order_by");
    std::fs::write(&pack, text).unwrap();
    std::fs::copy(
        "testdata/cases/keep_first.csv",
        dir.path().join("keep_first.csv"),
    )
    .unwrap();
    let o = crate::util::run(&["check", &pack.to_string_lossy()]);
    let said = crate::util::stdout(&o) + &crate::util::stderr(&o);
    assert_eq!(crate::util::code(&o), 2, "{said}");
    assert!(said.contains("needs `keep: first`"), "{said}");
}

#[test]
fn underlying_causes_exclude_the_z_chapter() {
    let dir = tempfile::tempdir().unwrap();
    let (_, s) = audit("testdata/cases/icd.yaml", dir.path(), &[]);
    assert_eq!(failed(table(&s, "causes"), "C-SHAPE").0, 3);
    // The fixture's rule is the death pack's.
    let pack = std::fs::read_to_string("rules/death.yaml").unwrap();
    assert!(pack.contains("check: { pattern: { column: icd10, regex: '[A-Y]\\d{2}(\\.?\\d)?' } }"));
}

#[test]
fn working_days_follow_the_state_council_calendar() {
    let dir = tempfile::tempdir().unwrap();
    let (_, s) = audit("testdata/cases/workdays.yaml", dir.path(), &[]);
    let t = table(&s, "reports");
    for (id, n) in [("W-BETWEEN", 2), ("W-ADD", 2), ("W-IS", 2)] {
        assert_eq!(failed(t, id).0, n, "{id}");
    }
    assert_eq!(failed(table(&s, "divorces"), "W-60").0, 3);
    // A year the calendar does not hold stops the run with the date and the calendar named.
    let out = dir.path().join("outside");
    let o = crate::util::run(&[
        "run",
        "--rules",
        "testdata/cases/workdays_outside.yaml",
        "--out",
        &out.to_string_lossy(),
        "--store",
        &dir.path().join("outside.db").to_string_lossy(),
    ]);
    let err = crate::util::stderr(&o);
    assert_eq!(crate::util::code(&o), 3, "{err}");
    assert!(
        err.contains("2027-") && err.contains("2010–2026") && err.contains("cn_workdays.csv"),
        "{err}"
    );
    assert!(!out.join("summary.json").exists());
}

#[test]
fn rule_sql_reads_the_run_date_and_one_age_convention() {
    let dir = tempfile::tempdir().unwrap();
    for (as_of, future) in [("2026-10-31", 3), ("2026-11-30", 1)] {
        let out = dir.path().join(as_of);
        let (_, s) = audit("testdata/cases/dates.yaml", &out, &["--as-of", as_of]);
        let t = table(&s, "events");
        assert_eq!(
            failed(t, "D-FUTURE").0,
            future,
            "current_date() is --as-of {as_of}"
        );
        assert_eq!(
            failed(t, "D-ASOF").0,
            future,
            "qc_as_of() is --as-of {as_of}"
        );
        assert_eq!(failed(t, "D-AGE").0, 2, "qc_age_years, 29 February");
        assert_eq!(
            failed(t, "D-INTERVAL").0,
            2,
            "INTERVAL arithmetic, 29 February"
        );
    }
}

#[test]
fn cross_table_rules_join_on_the_person_key() {
    let dir = tempfile::tempdir().unwrap();
    let (_, s) = audit("testdata/cases/person_key.yaml", dir.path(), &[]);
    let t = table(&s, "marriages");
    assert_eq!(
        failed(t, "P-RAW").0,
        0,
        "raw text joins miss the same person"
    );
    assert_eq!(
        failed(t, "P-KEY").0,
        3,
        "15/18 digits, lower-case x, a leading space"
    );
}

#[test]
fn points_find_their_district_and_distance() {
    let dir = tempfile::tempdir().unwrap();
    let (_, s) = audit("testdata/cases/points.yaml", dir.path(), &[]);
    let t = table(&s, "places");
    for (id, n) in [("T-IN", 6), ("T-FAR", 3), ("T-AT", 0), ("T-SAME", 5)] {
        assert_eq!(failed(t, id).0, n, "{id}");
    }
    assert_eq!(failed(t, "T-AT").1, 7, "every row with a point is judged");
    // T-FAR's `explain` says, for each failing row only, where the point lies.
    let mut explained = Vec::new();
    qc::execute::export::read_export(
        &dir.path().join(t.anomalies_file.as_ref().unwrap()),
        |row| {
            let id = row
                .values
                .iter()
                .find(|(c, _)| c == "id")
                .and_then(|(_, v)| v.clone());
            for e in row.explanations {
                assert!(!e.is_reason, "`explain` is said after the reason");
                explained.push((id.clone().unwrap_or_default(), e.rule, e.text));
            }
            true
        },
    )
    .unwrap();
    explained.sort();
    let places: Vec<(&str, &str, bool)> = explained
        .iter()
        .map(|(id, rule, text)| {
            let place = ["黄浦区", "浦东新区", "上海市外"]
                .into_iter()
                .find(|p| text.starts_with(&format!("坐标位于{p}")))
                .unwrap_or(text.as_str());
            (id.as_str(), place, rule == "T-FAR" && text.ends_with(" 米"))
        })
        .collect();
    assert_eq!(
        places,
        [
            ("2", "黄浦区", true),
            ("4", "上海市外", true),
            ("7", "浦东新区", true)
        ]
    );
    // The feedback line carries it after the reason.
    let store = dir.path().join("qc.db");
    let fb = dir.path().join("feedback");
    let o = crate::util::run(&[
        "feedback",
        "--store",
        &store.to_string_lossy(),
        "--out",
        &fb.to_string_lossy(),
    ]);
    assert_eq!(crate::util::code(&o), 0, "{}", crate::util::stderr(&o));
    let text: String = std::fs::read_dir(&fb)
        .unwrap()
        .filter_map(|e| {
            let path = e.ok()?.path();
            (path.extension()? == "csv").then(|| std::fs::read_to_string(path).ok())?
        })
        .collect();
    assert!(text.contains("（坐标位于浦东新区，距所填区 "), "{text}");
}

#[test]
fn common_chinese_codes_and_telephone_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let (_, s) = audit("testdata/cases/codes.yaml", dir.path(), &[]);
    let t = table(&s, "orgs");
    let counts: Vec<u64> = ["K-USCC", "K-ORG", "K-MOB", "K-TEL", "K-PCV", "K-POST"]
        .iter()
        .map(|id| failed(t, id).0)
        .collect();
    assert_eq!(counts, [2, 2, 3, 2, 2, 1]);
    assert_eq!(t.anomalous_rows, 4);
}

#[test]
fn dates_read_the_defaults_or_the_declared_formats_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let (_, s) = audit("testdata/cases/dates_formats.yaml", dir.path(), &[]);
    let t = table(&s, "days");
    assert_eq!(failed(t, "PARSE-TYPE").0, 4);
    assert_eq!(failed(t, "D-SAME").0, 0);
    assert_eq!(t.anomalous_rows, 4);
    // A format chrono cannot read is the pack's error, at the column (the pack is written
    // beside the shipped bad packs, so its source path stays relative).
    let text = std::fs::read_to_string("testdata/cases/dates_formats.yaml")
        .unwrap()
        .replace(
            "path: dates_formats.csv",
            "path: ../cases/dates_formats.csv",
        )
        .replace("'%Y年%m月%d日'", "'%Y-%Q'");
    let bad = tempfile::Builder::new()
        .suffix(".yaml")
        .tempfile_in(crate::util::root().join("testdata/bad_packs"))
        .unwrap();
    std::fs::write(bad.path(), text).unwrap();
    let o = crate::util::run(&["check", &bad.path().to_string_lossy()]);
    assert_eq!(crate::util::code(&o), 2);
    let out = crate::util::stdout(&o);
    assert!(
        out.contains("`%Y-%Q` is not a date format") && out.contains("invalid-option"),
        "{out}"
    );
}

#[test]
fn csv_headers_match_columns_by_name_then_title() {
    let dir = tempfile::tempdir().unwrap();
    let (exit, s) = audit("testdata/cases/titles.yaml", dir.path(), &[]);
    let t = table(&s, "places");
    assert_eq!(t.rows, 3);
    assert_eq!((failed(t, "T-CODE").0, failed(t, "T-DIST").0), (1, 1));
    assert_eq!(exit, 1);
}

/// Every anomalous Parquet row carries its file and its row number in that file, even with an
/// empty key, at any thread count: the number leads back to the very row.
#[test]
fn parquet_rows_are_placed_by_file_and_row_number() {
    use arrow::array::{Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};
    use arrow::record_batch::RecordBatch;
    use parquet::arrow::ArrowWriter;
    use parquet::file::properties::WriterProperties;
    use std::sync::Arc;

    let dir = tempfile::tempdir().unwrap();
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Utf8, true),
        Field::new("n", DataType::Int64, false),
    ]));
    // Two files of groups of 7 rows; every 5th row has no id, every 3rd a negative n.
    let mut expected = Vec::new();
    for (f, rows) in [("a.parquet", 30_i64), ("b.parquet", 11)] {
        let props = WriterProperties::builder()
            .set_max_row_group_row_count(Some(7))
            .build();
        let file = std::fs::File::create(dir.path().join(f)).unwrap();
        let mut w = ArrowWriter::try_new(file, Arc::clone(&schema), Some(props)).unwrap();
        let ids: Vec<Option<String>> = (1..=rows)
            .map(|r| (r % 5 != 0).then(|| format!("{f}-{r}")))
            .collect();
        let ns: Vec<i64> = (1..=rows)
            .map(|r| if r % 3 == 0 { -r } else { r })
            .collect();
        for r in 1..=rows {
            if r % 5 == 0 || r % 3 == 0 {
                expected.push((
                    f.to_string(),
                    u64::try_from(r).unwrap(),
                    if r % 3 == 0 { -r } else { r },
                ));
            }
        }
        let batch = RecordBatch::try_new(
            Arc::clone(&schema),
            vec![
                Arc::new(StringArray::from(ids)),
                Arc::new(Int64Array::from(ns)),
            ],
        )
        .unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
    }
    expected.sort();
    assert_eq!(placed_rows(dir.path(), &["1", "2", "3"]), expected);
}

/// A Parquet file written as one row group of 140,000 rows is cut for the cores, and every
/// anomalous row is still placed by its exact row number, at 1, 2 and 3 threads.
#[test]
fn a_parquet_file_of_one_huge_row_group_is_placed_exactly_at_any_thread_count() {
    use arrow::array::{Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};
    use arrow::record_batch::RecordBatch;
    use parquet::arrow::ArrowWriter;
    use parquet::file::properties::WriterProperties;
    use std::sync::Arc;

    let dir = tempfile::tempdir().unwrap();
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Utf8, true),
        Field::new("n", DataType::Int64, false),
    ]));
    let rows = 140_000_i64;
    let props = WriterProperties::builder()
        .set_max_row_group_row_count(Some(1 << 20))
        .build();
    let file = std::fs::File::create(dir.path().join("one.parquet")).unwrap();
    let mut w = ArrowWriter::try_new(file, Arc::clone(&schema), Some(props)).unwrap();
    let n = |r: i64| if r % 997 == 0 { -r } else { r };
    let ids: Vec<Option<String>> = (1..=rows)
        .map(|r| (r % 1009 != 0).then(|| r.to_string()))
        .collect();
    let batch = RecordBatch::try_new(
        Arc::clone(&schema),
        vec![
            Arc::new(StringArray::from(ids)),
            Arc::new(Int64Array::from_iter_values((1..=rows).map(n))),
        ],
    )
    .unwrap();
    w.write(&batch).unwrap();
    let meta = w.close().unwrap();
    assert_eq!(meta.num_row_groups(), 1);
    let expected: Vec<(String, u64, i64)> = (1..=rows)
        .filter(|r| r % 997 == 0 || r % 1009 == 0)
        .map(|r| ("one.parquet".to_string(), u64::try_from(r).unwrap(), n(r)))
        .collect();
    assert_eq!(placed_rows(dir.path(), &["1", "2", "3"]), expected);
}

/// Audits the Parquet files in `dir` for a missing `id` and a negative `n` at each thread
/// count, and returns the anomalous rows placed by file name, row number and `n`, sorted;
/// every thread count must place the same rows.
fn placed_rows(dir: &std::path::Path, threads: &[&str]) -> Vec<(String, u64, i64)> {
    std::fs::write(
        dir.join("pack.yaml"),
        "library: { id: loc, name: 位置测试库 }\n\
         tables:\n  - name: t\n    source: { path: '*.parquet' }\n    key: [id]\n    rules:\n\
         \x20     - { id: L-ID, name: 有编号, dimension: 完整性, check: { not_null: { column: id } } }\n\
         \x20     - { id: L-N, name: 非负, dimension: 准确性, check: { range: { column: n, min: 0 } } }\n",
    )
    .unwrap();
    let mut first: Option<Vec<(String, u64, i64)>> = None;
    for threads in threads {
        let out = dir.join(format!("out{threads}"));
        let pack = dir.join("pack.yaml");
        let (_, s) = audit(&pack.to_string_lossy(), &out, &["--threads", threads]);
        let t = table(&s, "t");
        let mut placed = Vec::new();
        qc::execute::export::read_export(&out.join(t.anomalies_file.as_ref().unwrap()), |row| {
            let n: i64 = row.value("n").unwrap().parse().unwrap();
            let origin = row.origin.expect("a Parquet row is placed");
            let qc::execute::export::Position::Row(r) = origin.at else {
                panic!("a Parquet row is placed by its number");
            };
            let file = std::path::Path::new(&origin.file)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            placed.push((file, r, n));
            true
        })
        .unwrap();
        placed.sort();
        match &first {
            Some(f) => assert_eq!(&placed, f, "{threads} threads"),
            None => first = Some(placed),
        }
    }
    first.unwrap_or_default()
}

/// A CSV file big enough to be cut for several cores (over 16 MiB, GBK, quoted fields holding
/// line breaks, malformed records) audits the same at 1, 2 and 3 threads: the same counts and
/// the same exported rows with the same line numbers, which the generator knows.
#[test]
fn a_big_csv_file_reads_the_same_cut_for_every_core() {
    use std::fmt::Write as _;
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("id,name,code,note\n");
    let mut line = 2u64;
    let (mut bad_code, mut malformed) = (Vec::new(), Vec::new());
    let mut i = 0u64;
    while text.len() < 24 << 20 {
        i += 1;
        if i.is_multiple_of(1013) {
            malformed.push(line);
            writeln!(text, "{i},缺字段").unwrap();
            line += 1;
            continue;
        }
        let code = if i.is_multiple_of(97) {
            bad_code.push(line);
            "X1".to_string()
        } else {
            format!("{:06}", i % 1_000_000)
        };
        // Every 7th note is quoted and spans three lines; every 11th quotes a comma.
        let note = if i.is_multiple_of(7) {
            "\"第一行\n第二行，\"\"引号\"\"\n第三行\"".to_string()
        } else if i.is_multiple_of(11) {
            "\"黄浦区,静安区\"".to_string()
        } else {
            "上海市民政局".to_string()
        };
        writeln!(text, "{i},张三{},{code},{note}", i % 50).unwrap();
        line += if i.is_multiple_of(7) { 3 } else { 1 };
    }
    let (gbk, _, unmappable) = encoding_rs::GBK.encode(&text);
    assert!(!unmappable);
    std::fs::write(dir.path().join("big.csv"), &gbk).unwrap();
    // The file is cut: one range per thread.
    let opts = qc::rules::source::CsvOptions {
        encoding: encoding_rs::GBK,
        delimiter: b',',
        quote: b'"',
        header: true,
        null_values: vec![String::new()],
    };
    let cut = qc::scan::split::Splitter::new(&dir.path().join("big.csv"), &opts, 3);
    assert_eq!(cut.map(|c| c.parts()), Some(3));
    std::fs::write(
        dir.path().join("pack.yaml"),
        "library: { id: big, name: 大文件测试库 }\n\
         tables:\n  - name: t\n    source: { path: big.csv, encoding: gbk }\n    key: [id]\n    columns:\n\
         \x20     - { name: id, type: int }\n\
         \x20     - { name: name, type: string }\n\
         \x20     - { name: code, type: string }\n\
         \x20     - { name: note, type: string }\n    rules:\n\
         \x20     - { id: B-CODE, name: 代码为六位数字, dimension: 规范性, check: { pattern: { column: code, regex: '\\d{6}' } } }\n",
    )
    .unwrap();
    let mut seen = Vec::new();
    for threads in ["1", "2", "3"] {
        let out = dir.path().join(format!("out{threads}"));
        let pack = dir.path().join("pack.yaml");
        let (_, s) = audit(&pack.to_string_lossy(), &out, &["--threads", threads]);
        let t = table(&s, "t");
        assert_eq!(t.rows, i, "{threads} threads");
        assert_eq!(failed(t, "B-CODE").0, bad_code.len() as u64);
        assert_eq!(failed(t, "PARSE-STRUCTURE").0, malformed.len() as u64);
        let mut lines: Vec<(u64, Vec<String>)> = Vec::new();
        qc::execute::export::read_export(&out.join(t.anomalies_file.as_ref().unwrap()), |row| {
            let Some(qc::execute::export::Origin {
                at: qc::execute::export::Position::Line(l),
                ..
            }) = row.origin
            else {
                panic!("a CSV record is placed by its line");
            };
            lines.push((l, row.failed_rules));
            true
        })
        .unwrap();
        lines.sort();
        let mut expected: Vec<(u64, Vec<String>)> = bad_code
            .iter()
            .map(|l| (*l, vec!["B-CODE".to_string()]))
            .chain(
                malformed
                    .iter()
                    .map(|l| (*l, vec!["PARSE-STRUCTURE".to_string()])),
            )
            .collect();
        expected.sort();
        assert_eq!(lines, expected, "{threads} threads");
        seen.push(parquet_rows(&out.join(t.anomalies_file.as_ref().unwrap())));
    }
    assert!(
        seen.windows(2).all(|w| w[0] == w[1]),
        "the exports are equal"
    );
}

/// Exemptions make the rows they name not applicable to the rules they name, until their
/// date; an expired one exempts nothing and the run says so.
#[test]
fn exemptions_cover_their_rows_until_they_expire() {
    let dir = tempfile::tempdir().unwrap();
    let (_, s) = audit(
        "testdata/cases/exemptions.yaml",
        dir.path(),
        &["--as-of", "2026-11-30"],
    );
    let t = table(&s, "people");
    assert_eq!(failed(t, "X-VALID"), (4, 8));
    assert_eq!(failed(t, "X-ADDR"), (1, 12));
    assert_eq!(failed(t, "X-SEX"), (1, 12));
    assert_eq!(t.anomalous_rows, 6);
    let expired: Vec<(&str, bool)> = t
        .exemptions
        .iter()
        .map(|e| (e.reason.as_str(), e.expired))
        .collect();
    assert_eq!(
        expired,
        [
            ("户籍迁移核查中", false),
            ("外省市历史号码，已人工核实", false),
            ("性别代码整改前的旧数据", true)
        ]
    );
    // Before its date, the third one applies: row 8 is exempt from X-SEX.
    let early = dir.path().join("early");
    let (_, s) = audit(
        "testdata/cases/exemptions.yaml",
        &early,
        &["--as-of", "2019-06-30"],
    );
    assert_eq!(failed(table(&s, "people"), "X-SEX"), (0, 9));
    // The terminal lists them, the expired one as expired.
    let text = crate::util::terminal(
        "testdata/cases/exemptions.yaml",
        dir.path(),
        &["--as-of", "2026-11-30"],
    );
    assert!(
        text.contains("豁免至 2099-12-31：提供单位 徐汇区，X-VALID（户籍迁移核查中）"),
        "{text}"
    );
    assert!(
        text.contains("豁免已于 2020-01-01 到期，不再生效"),
        "{text}"
    );
    // The monthly report lists them too, from the run history.
    let md = crate::util::report_md(
        &dir.path().join("qc.db"),
        "2026-11",
        &dir.path().join("reports"),
    );
    assert!(md.contains("### 豁免（不计入判定的记录）"), "{md}");
    assert!(
        md.contains("- people：豁免至 2099-12-31：提供单位 徐汇区，X-VALID（户籍迁移核查中）"),
        "{md}"
    );
    assert!(md.contains("- people：豁免已于 2020-01-01 到期"), "{md}");
}

/// A threshold per provider judges each provider's rows by its own limit (others by the
/// rule's); the rule fails when one provider is beyond its limit.
#[test]
fn thresholds_per_provider_judge_each_provider() {
    let dir = tempfile::tempdir().unwrap();
    let (_, s) = audit("testdata/cases/thresholds.yaml", dir.path(), &[]);
    let t = table(&s, "people");
    let verdict = |id: &str| t.rules.iter().find(|r| r.id == id).unwrap().verdict;
    assert_eq!(failed(t, "T-A").0, 7);
    assert_eq!(verdict("T-A"), Verdict::Pass);
    assert_eq!(verdict("T-B"), Verdict::Fail);
    assert_eq!(t.verdict, Verdict::Fail);
    let a = t.rules.iter().find(|r| r.id == "T-A").unwrap();
    assert_eq!(a.threshold.providers.len(), 2);
    // The terminal says the threshold is per provider.
    let text = crate::util::terminal("testdata/cases/thresholds.yaml", dir.path(), &[]);
    assert!(text.contains("≤2 行（各提供单位，2 家另定）"), "{text}");
}

/// `valid_from` / `valid_to` limit a rule to records dated within them (by its
/// `record_date`), and a dated code list judges each value on the record's date.
#[test]
fn rules_and_code_lists_apply_on_their_record_dates() {
    let dir = tempfile::tempdir().unwrap();
    let (_, s) = audit("testdata/cases/dated.yaml", dir.path(), &[]);
    let t = table(&s, "divorce");
    assert_eq!(failed(t, "D-COOL"), (3, 5));
    assert_eq!(failed(t, "D-OLD"), (1, 8));
    assert_eq!(failed(t, "D-DIST"), (4, 14));
    assert_eq!(t.anomalous_rows, 7);
}

/// A rule's warning band judges only the rows that pass the rule: a row is in the error band,
/// the warning band or neither, never both.
#[test]
fn a_rule_with_a_warning_band_counts_each_row_once() {
    let dir = tempfile::tempdir().unwrap();
    let (_, s) = audit("testdata/cases/tiers.yaml", dir.path(), &[]);
    let t = table(&s, "cremation");
    assert_eq!(failed(t, "T-CREM"), (2, 8));
    assert_eq!(failed(t, "T-CREM.warn"), (2, 6));
    let verdict = |id: &str| t.rules.iter().find(|r| r.id == id).unwrap().verdict;
    assert_eq!(verdict("T-CREM"), Verdict::Fail);
    assert_eq!(verdict("T-CREM.warn"), Verdict::Warn);
    assert_eq!(t.anomalous_rows, 4);
    let rows = crate::util::parquet_rows(&dir.path().join(t.anomalies_file.as_ref().unwrap()));
    // Cells: id, death_date, cremation_date, qc_failed_rules, …
    let bands: Vec<String> = rows
        .iter()
        .map(|r| r.split('|').take(4).collect::<Vec<_>>().join("|"))
        .collect();
    assert_eq!(
        bands,
        [
            "2|2026-01-10|2026-01-09|[T-CREM]",
            "4|2026-01-10|2026-04-11|[T-CREM.warn]",
            "7|2026-03-01|2025-12-01|[T-CREM]",
            "8|2026-03-01|2026-09-30|[T-CREM.warn]",
        ]
    );
}

/// A `metric` judges an aggregate per group (or for the whole table): each group beyond its
/// bounds is a finding, an expected group with no row is judged on no rows, and the findings
/// weigh in the table's and the providers' scores as rules over groups.
#[test]
fn group_metrics_find_groups_and_weigh_in_the_score() {
    use qc::checks::table::Measured;
    /// A finding's group values, value and provider.
    type Finding = (Vec<Option<String>>, f64, Option<String>);
    let dir = tempfile::tempdir().unwrap();
    let (code, s) = audit(
        "testdata/cases/metrics.yaml",
        dir.path(),
        &["--as-of", "2026-11-30"],
    );
    assert_eq!(code, 1, "failed table checks fail the run");
    let t = table(&s, "cremation");
    let found = |id: &str| -> (u64, Vec<Finding>, Verdict) {
        let c = t.table_checks.iter().find(|c| c.id == id).unwrap();
        let Measured::Metric {
            groups, findings, ..
        } = &c.measured
        else {
            panic!("{id} is a metric");
        };
        let f = findings
            .iter()
            .map(|f| (f.group.clone(), f.value, f.provider.clone()))
            .collect();
        (*groups, f, c.verdict)
    };
    let one = |g: &str| vec![Some(g.to_string())];
    let p = |g: &str| Some(g.to_string());
    assert_eq!(
        found("M-SENT"),
        (3, vec![(one("丙医院"), 0.0, p("丙医院"))], Verdict::Fail)
    );
    assert_eq!(
        found("M-NULL"),
        (2, vec![(one("乙医院"), 0.25, p("乙医院"))], Verdict::Fail)
    );
    assert_eq!(
        found("M-ROWS"),
        (1, vec![(vec![], 8.0, None)], Verdict::Fail)
    );
    assert_eq!(found("M-LAG"), (2, vec![], Verdict::Pass));
    // Scores, by hand (see the fixture): the table's completeness pools M-R1 (7/8) with
    // M-SENT (2/3), M-NULL (1/2) and M-ROWS (0/1); conformity (PARSE-TYPE), timeliness
    // (M-LAG) and accessibility (its one file read, PARSE-STRUCTURE, PARSE-ENCODING) are 100.
    let db = rusqlite::Connection::open(dir.path().join("qc.db")).unwrap();
    let score = |scope: &str, provider: Option<&str>| -> f64 {
        db.query_row(
            "SELECT score FROM run_score WHERE scope = ?1 AND provider IS ?2 \
             AND dimension = 'total'",
            rusqlite::params![scope, provider],
            |r| r.get(0),
        )
        .unwrap()
    };
    let completeness = (7.0 / 8.0 + 2.0 / 3.0 + 0.5 + 0.0) / 4.0 * 100.0;
    let table_total = (completeness + 100.0 + 100.0 + 100.0) / 4.0;
    assert!((score("table", None) - table_total).abs() < 1e-9);
    // 乙医院: M-R1 3/4, M-SENT 1/1, M-NULL 0/1; 丙医院 sent nothing: M-SENT 0/1 only.
    let yi = ((0.75 + 1.0 + 0.0) / 3.0 * 100.0 + 100.0 + 100.0 + 100.0) / 4.0;
    assert!((score("provider", Some("乙医院")) - yi).abs() < 1e-9);
    assert!(score("provider", Some("丙医院")).abs() < 1e-9);
    // The terminal names the groups.
    let text = crate::util::terminal("testdata/cases/metrics.yaml", dir.path(), &[]);
    assert!(text.contains("M-NULL 超出范围：乙医院：0.25"), "{text}");
    assert!(text.contains("1 组超出（共 3 组）"), "{text}");
    // Each provider's feedback file carries its groups' findings beside its rows' problems;
    // 丙医院, which sent nothing, gets a file for its missing delivery.
    let fb = dir.path().join("feedback");
    crate::util::feedback(&dir.path().join("qc.db"), &fb);
    let csv = |p: &str| std::fs::read_to_string(fb.join(format!("{p}.csv"))).unwrap();
    assert!(
        csv("丙医院").contains(
            "hospital=丙医院,整组记录（分组指标）,M-SENT,每家医院本期有数据,该组指标为 0，要求 ≥ 1"
        ),
        "{}",
        csv("丙医院")
    );
    let yi = csv("乙医院");
    assert!(
        yi.contains("M-NULL,火化日期缺失比例不超过 20%,该组指标为 0.25，要求 ≤ 0.2"),
        "{yi}"
    );
    assert!(yi.contains(",M-R1,"), "{yi}");
    assert!(!fb.join("甲医院.csv").exists(), "甲医院 has no problem");
    // The monthly report lists the groups, and ranks 丙医院 (no delivery) last.
    let md = crate::util::report_md(
        &dir.path().join("qc.db"),
        "2026-11",
        &dir.path().join("reports"),
    );
    for line in [
        "| M-SENT | 每家医院本期有数据 | cremation | hospital=丙医院 | 0 | ≥ 1 |",
        "| M-NULL | 火化日期缺失比例不超过 20% | cremation | hospital=乙医院 | 0.25 | ≤ 0.2 |",
        "| M-ROWS | 全表至少 10 行 | cremation | — | 8 | ≥ 10 |",
    ] {
        assert!(md.contains(line), "{line} in {md}");
    }
    assert!(md.contains("| 3 | 丙医院 | 0 | 0 |"), "{md}");
}

/// Thresholds learned from history: five monthly deliveries audited in turn into one run
/// history; each trend is skipped until its history suffices, and only the anomalous last
/// month is flagged (see testdata/cases/trend.yaml for the hand counts).
#[test]
fn trends_learn_their_bands_from_the_run_history() {
    use qc::checks::table::Measured;
    use qc::checks::trend::TrendSkip;
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("qc.db").to_string_lossy().into_owned();
    let months = [
        ("2025-11", "2025-11-30"),
        ("2026-08", "2026-08-31"),
        ("2026-09", "2026-09-30"),
        ("2026-10", "2026-10-31"),
        ("2026-11", "2026-11-30"),
    ];
    // Per month: each check's verdict, or what it lacked.
    let mut seen: Vec<Vec<String>> = Vec::new();
    let mut last = None;
    for (month, as_of) in months {
        let data = format!("deliveries=testdata/cases/trend/{month}.csv");
        let out = dir.path().join(month);
        let o = crate::util::run(&[
            "run",
            "--rules",
            "testdata/cases/trend.yaml",
            "--out",
            &out.to_string_lossy(),
            "--store",
            &store,
            "--data",
            &data,
            "--as-of",
            as_of,
        ]);
        let summary = std::fs::read_to_string(out.join("summary.json"))
            .unwrap_or_else(|e| panic!("{month}: {e}: {}", crate::util::stderr(&o)));
        let s: qc::results::summary::RunSummary = serde_json::from_str(&summary).unwrap();
        let t = table(&s, "deliveries").clone();
        seen.push(
            t.table_checks
                .iter()
                .map(|c| match &c.measured {
                    Measured::Trend(tr) => match &tr.skipped {
                        Some(TrendSkip::TooFewRuns { needed, found }) => {
                            format!("{} skipped {found}/{needed}", c.id)
                        }
                        Some(TrendSkip::NoRunIn { month }) => format!("{} skipped {month}", c.id),
                        None => format!("{} {:?} {}", c.id, c.verdict, tr.findings.len()),
                    },
                    other => panic!("{} is a trend: {other:?}", c.id),
                })
                .collect(),
        );
        last = Some(t);
    }
    let expected: [[&str; 4]; 5] = [
        [
            "TR-VOL skipped 0/3",
            "TR-YEAR skipped 2024-11",
            "TR-NULL skipped 0/3",
            "TR-RATE skipped 0/1",
        ],
        [
            "TR-VOL skipped 1/3",
            "TR-YEAR skipped 2025-08",
            "TR-NULL skipped 1/3",
            "TR-RATE Pass 0",
        ],
        [
            "TR-VOL skipped 2/3",
            "TR-YEAR skipped 2025-09",
            "TR-NULL skipped 2/3",
            "TR-RATE Pass 0",
        ],
        [
            "TR-VOL Pass 0",
            "TR-YEAR skipped 2025-10",
            "TR-NULL Pass 0",
            "TR-RATE Pass 0",
        ],
        [
            "TR-VOL Fail 1",
            "TR-YEAR Warn 1",
            "TR-NULL Fail 1",
            "TR-RATE Fail 1",
        ],
    ];
    assert_eq!(seen, expected.map(|m| m.map(str::to_string).to_vec()));
    // The last month's findings, and what they were compared with.
    let t = last.unwrap();
    let trend = |id: &str| match &t.table_checks.iter().find(|c| c.id == id).unwrap().measured {
        Measured::Trend(tr) => tr.clone(),
        _ => unreachable!(),
    };
    let vol = trend("TR-VOL");
    assert_eq!(vol.compared_with.len(), 3);
    let f = &vol.findings[0];
    assert_eq!((f.group.as_deref(), f.value), (Some("乙"), 3.0));
    assert!((f.baseline - 29.0 / 3.0).abs() < 1e-9, "{f:?}");
    let year = trend("TR-YEAR");
    assert_eq!(
        (year.findings[0].value, year.findings[0].baseline),
        (13.0, 20.0)
    );
    let null = trend("TR-NULL");
    let f = &null.findings[0];
    assert!((f.value - 8.0 / 13.0).abs() < 1e-9 && (f.baseline - 0.1).abs() < 1e-9);
    assert!((f.high - 0.25).abs() < 1e-9, "{f:?}");
    let rate = trend("TR-RATE");
    assert!((rate.findings[0].value - 3.0 / 13.0).abs() < 1e-9);
}

/// Templates bound by column role: two tables with different column names use the same
/// templates (from the pack and from an included file), each with its own overrides; a
/// rule is known by (rule id, table) and its reasons name the table's columns.
#[test]
fn templates_bind_to_each_tables_columns_by_role() {
    let dir = tempfile::tempdir().unwrap();
    let (_, s) = audit("testdata/cases/templates.yaml", dir.path(), &[]);
    let a = table(&s, "a");
    assert_eq!(failed(a, "T-ID"), (2, 6));
    assert_eq!(failed(a, "T-DIST"), (3, 6));
    assert_eq!(failed(a, "T-LEN"), (1, 5));
    assert_eq!(a.anomalous_rows, 4);
    let b = table(&s, "b");
    assert_eq!(failed(b, "T-ID"), (2, 4));
    assert_eq!(failed(b, "T-DIST"), (1, 3));
    assert_eq!(failed(b, "T-CODE"), (0, 4));
    assert_eq!(
        failed(b, "T-CODE.warn"),
        (1, 4),
        "a band judged on the role's record date"
    );
    assert_eq!(b.anomalous_rows, 2);
    // One table per folder of a glob, reading every file inside it.
    assert_eq!(failed(table(&s, "q1"), "T-ID"), (2, 4));
    let dt = table(&s, "dt_2026_11");
    assert_eq!(failed(dt, "T-ID"), (1, 3));
    assert_eq!(
        failed(dt, "F-UNIQ"),
        (2, 3),
        "a set-based rule of a table-per-folder entry"
    );
    assert_eq!(failed(table(&s, "q1"), "F-UNIQ"), (0, 4));
    // A set-based template, bound to each table's column for its role.
    assert_eq!(failed(table(&s, "q1"), "T-UNIQ"), (4, 4));
    assert_eq!(failed(dt, "T-UNIQ"), (2, 3));
    let rule = |t: &TableSummary, id: &str| t.rules.iter().find(|r| r.id == id).unwrap().clone();
    assert_eq!(
        rule(a, "T-LEN").verdict,
        Verdict::Warn,
        "the table's severity"
    );
    assert_eq!(
        rule(b, "T-ID").verdict,
        Verdict::Pass,
        "the table's threshold"
    );
    // The export's message and the feedback's reason name the table's own columns.
    let fb = dir.path().join("feedback");
    crate::util::feedback(&dir.path().join("qc.db"), &fb);
    let csv = std::fs::read_to_string(fb.join("未标明提供单位.csv")).unwrap();
    assert!(
        csv.contains("T-ID,公民身份号码有效,身份证号「sfzh」不符合要求"),
        "{csv}"
    );
    assert!(
        csv.contains("T-ID,公民身份号码有效,身份证号「id_card」不符合要求"),
        "{csv}"
    );
    assert!(csv.contains("证件号 31011519900307123 不是 18 位"), "{csv}");
    assert!(csv.contains("T-UNIQ,身份证号唯一,id_card 重复"), "{csv}");
}

/// The hand-counted figures of `testdata/cases/partitioned.yaml` (see its header).
fn assert_partitioned(s: &RunSummary, what: &str) {
    let t = table(s, "deliveries");
    assert_eq!((t.rows, t.anomalous_rows), (7, 6), "{what}");
    assert_eq!(failed(t, "P-DATE"), (2, 7), "{what}");
    assert_eq!(failed(t, "P-PROV"), (1, 7), "{what}");
    assert_eq!(failed(t, "P-UNIQ"), (2, 7), "{what}");
    assert_eq!(failed(t, "P-WHEN"), (1, 3), "{what}");
    let providers: Vec<(Option<&str>, u64, u64)> = t
        .providers
        .iter()
        .map(|p| (p.provider.as_deref(), p.rows, p.anomalous_rows))
        .collect();
    assert_eq!(
        providers,
        vec![(None, 1, 1), (Some("310101"), 4, 4), (Some("310104"), 2, 1)],
        "{what}"
    );
    let check = serde_json::to_value(&t.table_checks[0].measured).unwrap();
    assert_eq!(check["groups"], 2, "{what}");
    assert_eq!(check["findings"][0]["group"][0], "2026-11-29", "{what}");
    assert_eq!(check["findings"][0]["value"], 3.0, "{what}");
}

/// A table in Hive-style partition folders: `dt` and `provider` are columns read from the
/// folders, in rules, `when`, a `unique` rule's rows, the provider and a table check; the same
/// figures from CSV folders named in a list, and from Parquet files under one folder.
#[test]
fn partition_folders_are_columns() {
    use std::sync::Arc;

    use arrow::array::{Date32Array, Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};

    let dir = tempfile::tempdir().unwrap();
    for threads in ["1", "2"] {
        let (_, s) = audit(
            "testdata/cases/partitioned.yaml",
            &dir.path().join(format!("csv-{threads}")),
            &["--threads", threads, "--as-of", "2026-11-30"],
        );
        assert_partitioned(&s, &format!("CSV, {threads} threads"));
    }
    // The same rows as Parquet, in the same folders.
    let root = crate::util::root().join("testdata/cases/partitioned");
    let data = dir.path().join("parquet");
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, true),
        Field::new("reg_date", DataType::Date32, true),
        Field::new("code", DataType::Utf8, true),
    ]));
    let day = |d: &str| qc::values::days(chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap());
    for (folder, rows) in [
        (
            "dt=2026-11-28/provider=310101",
            vec![(1, "2026-11-27", "A1"), (2, "2026-11-29", "A5")],
        ),
        (
            "dt=2026-11-28/provider=310104",
            vec![(3, "2026-11-28", "A2"), (4, "2026-11-20", "A1")],
        ),
        (
            "dt=2026-11-29/provider=310101",
            vec![(5, "2026-11-29", "A3"), (6, "2026-11-30", "A6")],
        ),
        (
            "dt=2026-11-29/provider=__HIVE_DEFAULT_PARTITION__",
            vec![(7, "2026-11-01", "A4")],
        ),
    ] {
        let csv = std::fs::read_to_string(root.join(folder).join("part-0.csv")).unwrap();
        assert_eq!(
            csv.lines().count(),
            rows.len() + 1,
            "the Parquet rows are the CSV's"
        );
        std::fs::create_dir_all(data.join(folder)).unwrap();
        let batch = arrow::record_batch::RecordBatch::try_new(
            Arc::clone(&schema),
            vec![
                Arc::new(Int64Array::from(
                    rows.iter().map(|r| r.0).collect::<Vec<i64>>(),
                )),
                Arc::new(Date32Array::from(
                    rows.iter().map(|r| day(r.1)).collect::<Vec<_>>(),
                )),
                Arc::new(StringArray::from(
                    rows.iter().map(|r| r.2).collect::<Vec<_>>(),
                )),
            ],
        )
        .unwrap();
        let file = std::fs::File::create(data.join(folder).join("part-0.parquet")).unwrap();
        let mut w = parquet::arrow::ArrowWriter::try_new(file, Arc::clone(&schema), None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
    }
    std::fs::write(data.join("_SUCCESS"), "").unwrap();
    let pack = std::fs::read_to_string(crate::util::root().join("testdata/cases/partitioned.yaml"))
        .unwrap()
        .replace(
            "path: [partitioned/dt=2026-11-28, partitioned/dt=2026-11-29]\n      format: csv",
            &format!("path: {}", data.display()),
        );
    assert!(
        pack.contains("path: /"),
        "the pack reads the Parquet folder"
    );
    let pack_path = dir.path().join("partitioned_parquet.yaml");
    std::fs::write(&pack_path, pack).unwrap();
    for threads in ["1", "2"] {
        let (_, s) = audit(
            &pack_path.to_string_lossy(),
            &dir.path().join(format!("parquet-{threads}")),
            &["--threads", threads, "--as-of", "2026-11-30"],
        );
        assert_partitioned(&s, &format!("Parquet, {threads} threads"));
    }
}

/// `qc check` validates partition folders against their column's declared type, naming the
/// file and the folder.
#[test]
fn a_partition_folder_not_of_its_type_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let pack = std::fs::read_to_string(crate::util::root().join("testdata/cases/partitioned.yaml"))
        .unwrap()
        .replace(
            "path: [partitioned/",
            &format!(
                "path: [{}/partitioned/",
                crate::util::root().join("testdata/cases").display()
            ),
        )
        .replace(
            ", partitioned/dt=2026-11-29]",
            &format!(
                ", {}/partitioned/dt=2026-11-29]",
                crate::util::root().join("testdata/cases").display()
            ),
        )
        .replace("{ name: dt, type: date }", "{ name: dt, type: int }");
    let path = dir.path().join("bad.yaml");
    std::fs::write(&path, pack).unwrap();
    let o = crate::util::run(&["check", &path.to_string_lossy()]);
    let text = crate::util::stderr(&o) + &crate::util::stdout(&o);
    assert_eq!(crate::util::code(&o), 2, "{text}");
    assert!(
        text.contains("partition folder of") && text.contains("`dt=2026-11-28` is not an integer"),
        "{text}"
    );
}
