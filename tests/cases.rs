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
        let ids: Vec<&str> = rows.iter().map(|r| r.split('|').next().unwrap()).collect();
        let mut ids: Vec<i64> = ids.iter().map(|i| i.parse().unwrap_or(-1)).collect();
        ids.sort_unstable();
        assert_eq!(ids, vec![2, 3, 4, 5, 6, 9, 10, 12, 13]);
        let row6 = rows.iter().find(|r| r.starts_with("6|")).unwrap();
        assert!(row6.contains("[K-PAT, K-CL, K-LEN, K-EXPR]"), "{row6}");
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
