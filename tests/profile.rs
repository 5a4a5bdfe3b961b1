//! `qc profile`: a hand-counted fixture (placeholders, mixed date formats, GBK, ID numbers
//! with bad check characters, a malformed record), suggested packs that `qc check` accepts
//! and whose audits fail exactly the rows their comments count and find the rows the shipped
//! packs' row rules find, drift, and the page in a browser.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::util::{browser, code, root, run, stderr};

fn s(p: &Path) -> String {
    p.display().to_string()
}

/// Profile `data` (with extra flags) into `out`; the profile.json.
fn profile(data: &Path, out: &Path, extra: &[&str]) -> Value {
    // Profiles are kept in a run history beside the output folder.
    let (data, out_s, store) = (s(data), s(out), s(&out.parent().unwrap().join("qc.db")));
    let mut args = vec![
        "profile",
        "--data",
        data.as_str(),
        "--out",
        out_s.as_str(),
        "--store",
        store.as_str(),
    ];
    args.extend_from_slice(extra);
    args.push("--quiet");
    let o = run(&args);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    serde_json::from_str(&std::fs::read_to_string(out.join("profile.json")).unwrap()).unwrap()
}

fn column<'a>(p: &'a Value, name: &str) -> &'a Value {
    p["columns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no column {name}"))
}

fn class(c: &Value, class: &str) -> u64 {
    c["classes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["class"] == class)
        .map_or(0, |k| k["count"].as_u64().unwrap())
}

fn counts(c: &Value) -> [u64; 5] {
    ["rows", "nulls", "blanks", "placeholders", "present"].map(|k| c[k].as_u64().unwrap())
}

/// testdata/profile/people.csv, counted by hand (see the file: 10 well-formed records and a
/// record of two fields at line 7).
fn assert_people(p: &Value) {
    assert_eq!(p["rows"], 11);
    assert_eq!(p["malformed"]["total"], 1);
    assert_eq!(p["malformed"]["samples"][0]["line"], 7);
    assert_eq!(p["malformed"]["samples"][0]["kind"], "structure");

    let id = column(p, "id_no");
    // NULL (empty), blank (two spaces), placeholder 不详; 7 present.
    assert_eq!(counts(id), [10, 1, 1, 1, 7]);
    assert_eq!(id["distinct"], 8);
    assert_eq!(id["distinct_exact"], true);
    assert_eq!(class(id, "citizen_id"), 6);
    assert_eq!(class(id, "citizen_id_valid"), 5, "one bad check character");
    assert_eq!(class(id, "hk_mo_tw_id"), 1);
    assert_eq!(
        id["key"],
        serde_json::json!({"status": "checked", "duplicate_rows": 2, "duplicate_groups": 1})
    );
    assert_eq!(id["pii"], "id_number");
    assert_eq!(id["inferred_type"], "digits");

    let name = column(p, "name");
    assert_eq!(counts(name), [10, 0, 0, 1, 9]);
    assert_eq!(name["distinct"], 9);
    assert_eq!(class(name, "person_name"), 8, "结婚 is no name");

    let district = column(p, "district");
    assert_eq!(
        counts(district),
        [10, 0, 0, 1, 9],
        "000000 is a placeholder"
    );
    assert_eq!(class(district, "division_district"), 7);
    assert_eq!(class(district, "division_retired"), 1);
    assert_eq!(class(district, "division_elsewhere"), 1);
    assert_eq!(
        class(district, "postcode"),
        1,
        "only 320102 reads as a postcode"
    );

    let date = column(p, "reg_date");
    assert_eq!(counts(date), [10, 1, 0, 0, 9]);
    assert_eq!(class(date, "date_text"), 8, "2024-02-30 is no date");
    assert_eq!(
        date["date_formats"],
        serde_json::json!([
            ["YYYY-MM-DD", 4],
            ["YYYY/MM/DD", 1],
            ["YYYYMMDD", 1],
            ["YYYY年MM月DD日", 1],
            ["YYYY.MM.DD", 1]
        ])
    );
    assert_eq!(date["inferred_type"], "text", "8 of 9 dates is below 90 %");

    let phone = column(p, "phone");
    assert_eq!(counts(phone), [10, 0, 0, 1, 9]);
    assert_eq!(class(phone, "mobile"), 7);
    assert_eq!(class(phone, "landline"), 1);

    let note = column(p, "note");
    assert_eq!(counts(note), [10, 1, 0, 1, 8]);
    assert_eq!(note["distinct"], 4);
    assert_eq!(
        note["top"][0],
        serde_json::json!({"value": "复核", "count": 4})
    );
    assert_eq!(note["top_exact"], true);
    assert_eq!(p["candidate_keys"], serde_json::json!([]));
}

/// `profile.json` with what changes from run to run (time, version, paths) replaced.
fn stable_json(p: &Value) -> String {
    let mut p = p.clone();
    p["profiled_at"] = Value::from("[TIME]");
    p["qc_version"] = Value::from("[V]");
    p["source"]["pattern"] = Value::from("[PATH]");
    p["source"]["files"] = Value::from(vec!["[PATH]"]);
    for r in p["relations"].as_array_mut().unwrap() {
        if r["kind"] == "later" {
            r["day"] = Value::from("[TODAY]");
        }
    }
    for m in p["malformed"]["samples"].as_array_mut().unwrap() {
        m["file"] = Value::from("[PATH]");
    }
    serde_json::to_string_pretty(&p).unwrap()
}

#[test]
fn a_hand_counted_table_profiles_the_same_in_utf8_and_gbk() {
    let dir = tempfile::tempdir().unwrap();
    let data = root().join("testdata/profile");
    let utf8 = profile(
        &data.join("people.csv"),
        &dir.path().join("utf8"),
        &["--no-mask"],
    );
    assert_people(&utf8);
    let gbk = profile(
        &data.join("people_gbk.csv"),
        &dir.path().join("gbk"),
        &["--no-mask", "--encoding", "gbk", "--threads", "1"],
    );
    assert_people(&gbk);
    assert_eq!(gbk["source"]["encoding"], "GBK");
    // Masked by default: ID numbers keep their address code and last four characters.
    let masked = profile(&data.join("people.csv"), &dir.path().join("masked"), &[]);
    let top = column(&masked, "id_no")["top"][0]["value"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(top, "310115********1238");
    assert_eq!(column(&masked, "name")["masked"], true);
    assert_eq!(column(&masked, "note")["masked"], false);
    // The whole of profile.json, as written (the figures above are its hand-counted part).
    insta::assert_snapshot!("profile_people", stable_json(&masked));
}

#[test]
fn a_pair_of_columns_is_a_key_when_no_column_is() {
    // 300 rows: each person twice (150 values), each sequence number twice (150 values),
    // never the same person with the same number.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("visits.csv");
    let mut text = String::from("person,seq,kind\n");
    for i in 0..300 {
        let _ = writeln!(text, "p{},{},{}", i % 150, i / 2, i % 3);
    }
    std::fs::write(&data, text).unwrap();
    let p = profile(&data, &dir.path().join("out"), &[]);
    assert_eq!(p["candidate_keys"], serde_json::json!([["person", "seq"]]));
    // A duplicate pair: no key.
    std::fs::write(&data, "person,seq\np1,1\np2,1\np1,2\np1,1\n").unwrap();
    let p = profile(&data, &dir.path().join("again"), &[]);
    assert_eq!(p["candidate_keys"], serde_json::json!([]));
}

#[test]
fn estimates_stay_within_their_stated_bounds_on_known_data() {
    // 150,000 rows: `id` has 150,000 distinct values, `half` 75,000 (each twice), `code`
    // 100; quantiles of `id` (0 … 149,999) are known.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("known.csv");
    let mut text = String::from("id,half,code\n");
    for i in 0..150_000u64 {
        let _ = writeln!(text, "{i},h{},c{}", i % 75_000, i % 100);
    }
    std::fs::write(&data, text).unwrap();
    let p = profile(&data, &dir.path().join("out"), &["--threads", "2"]);
    // Distinct counts beyond 65,536 are HyperLogLog estimates, standard error 0.81 %: the
    // test allows 3 of them.
    for (name, truth) in [("id", 150_000.0), ("half", 75_000.0)] {
        let c = column(&p, name);
        assert_eq!(c["distinct_exact"], false, "{name}");
        let estimate = c["distinct"].as_f64().unwrap();
        let error = (estimate - truth).abs() / truth;
        assert!(error <= 3.0 * 0.0081, "{name}: {estimate} for {truth}");
    }
    let code = column(&p, "code");
    assert_eq!(
        (code["distinct"].as_u64(), code["distinct_exact"].as_bool()),
        (Some(100), Some(true))
    );
    assert_eq!(code["top"][0]["count"], 1500);
    assert_eq!(code["top_exact"], true);
    // Quantiles of more than 65,536 numbers are t-digest estimates (numbers.exact false):
    // within 1 % of the range of the true nearest-rank values.
    let numbers = &column(&p, "id")["numbers"];
    assert_eq!(numbers["exact"], false);
    for q in numbers["quantiles"].as_array().unwrap() {
        let at = q["q"].as_f64().unwrap();
        let estimate = q["value"]["value"].as_f64().unwrap();
        let truth = (at * 150_000.0).ceil() - 1.0;
        assert!(
            (estimate - truth).abs() <= 1_500.0,
            "q{at}: {estimate} for {truth}"
        );
    }
    // Duplicates are exact whatever the size: every `half` value twice.
    assert_eq!(
        column(&p, "half")["key"],
        serde_json::json!({"status": "checked", "duplicate_rows": 150_000, "duplicate_groups": 75_000})
    );
}

/// The figure a suggested rule's comment gives as the rows it fails.
fn evidence(comment: &str) -> u64 {
    let number = |before: &str| -> Option<u64> {
        let head = &comment[..comment.find(before)?];
        let word = head.rsplit(' ').next()?;
        word.replace(',', "").parse().ok()
    };
    for marker in [" are not", " are empty", " rows share", " do not"] {
        if let Some(n) = number(marker) {
            return n;
        }
    }
    // allowed: "left out …: 结 婚 ×2, 男 ×1" or "none".
    let list = comment.rsplit(": ").next().unwrap();
    list.split(", ")
        .filter_map(|item| item.rsplit('×').next()?.parse::<u64>().ok())
        .sum()
}

/// Draft a pack for `data`, check it, audit the data with it: it passes, and every rule fails
/// exactly the rows its comment counts. Returns the pack's text and the audit's summary.
fn suggest_and_audit(
    data: &Path,
    dir: &Path,
    extra: &[&str],
) -> (String, qc::results::summary::RunSummary) {
    let pack = dir.join("draft.yaml");
    let pack_s = s(&pack);
    let mut args = vec!["--suggest", pack_s.as_str()];
    args.extend_from_slice(extra);
    let profiled = profile(data, &dir.join("profile"), &args);
    let text = std::fs::read_to_string(&pack).unwrap();
    let o = run(&["check", &s(&pack)]);
    assert_eq!(code(&o), 0, "{text}\n{}", stderr(&o));
    let (status, summary) = crate::util::audit(&s(&pack), &dir.join("run"), &[]);
    // It passes on the data it was drawn from, but for malformed CSV records: the built-in
    // parse rules tolerate none.
    let failing: Vec<(String, u64)> = summary.tables[0]
        .rules
        .iter()
        .filter(|r| r.verdict != qc::results::summary::Verdict::Pass)
        .map(|r| (r.id.clone(), r.failed_rows))
        .collect();
    let expected: Vec<(String, u64)> = profiled["malformed"]["by_kind"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, n)| (format!("PARSE-{}", k.to_uppercase()), n.as_u64().unwrap()))
        .collect();
    assert_eq!(failing, expected, "only malformed records fail");
    assert_eq!(status, i32::from(!expected.is_empty()));
    let lines: Vec<&str> = text.lines().collect();
    let mut rules = 0;
    for (i, line) in lines.iter().enumerate() {
        let Some(id) = line.trim().strip_prefix("- id: ") else {
            continue;
        };
        let comment = lines[i - 1].trim().trim_start_matches("# ");
        let expected = evidence(comment);
        let rule = summary.tables[0]
            .rules
            .iter()
            .find(|r| r.id == id)
            .unwrap_or_else(|| panic!("{id} not audited"));
        assert_eq!(rule.failed_rows, expected, "{id}: {comment}");
        rules += 1;
    }
    assert!(rules > 0, "the draft has rules");
    (text, summary)
}

#[test]
fn a_suggested_pack_passes_and_fails_exactly_what_its_comments_count() {
    let dir = tempfile::tempdir().unwrap();
    let people = root().join("testdata/profile/people_gbk.csv");
    let (text, summary) = suggest_and_audit(&people, dir.path(), &["--encoding", "gbk"]);
    // By hand (testdata/profile/people.csv): of id_no's 9 non-NULL values, the blank, 不详,
    // the bad check character and the 港澳台 number are no valid citizen's number.
    let failed = |kind: &str| {
        summary.tables[0]
            .rules
            .iter()
            .find(|r| r.kind == kind)
            .map(|r| r.failed_rows)
    };
    assert_eq!(failed("id_number"), Some(4));
    assert_eq!(failed("unique"), Some(0), "reg_date's 9 values all differ");
    for rule in [
        "id_number: { column: 'id_no' }",
        "not_null: { column: 'name' }",
        "unique: { columns: ['reg_date'] }",
    ] {
        assert!(text.contains(rule), "suggests {rule}:\n{text}");
    }
    // 7 of 9 present values (77.8 %) are current district codes, and mobile numbers: below
    // the 80 % a class needs for its rule.
    assert!(!text.contains("admin_code"), "{text}");
    assert!(!text.contains("1[3-9]"), "{text}");
    // 8 of name's 10 values are Chinese names (not 结婚, not the placeholder 无): a rule on
    // how names are written, which only 无 (one character) fails.
    assert!(text.contains("name为 2–4 个汉字或以 · 连接"), "{text}");
    assert_eq!(failed("pattern"), Some(1));
    assert!(text.contains("格式错误的记录（structure ×1）"), "{text}");
    assert!(text.contains("encoding: gbk"));
    insta::assert_snapshot!("suggested_pack_people", strip_dates(&text));
}

fn strip_dates(text: &str) -> String {
    let re = regex::Regex::new(r"\d{4}-\d{2}-\d{2}）").unwrap();
    let text = re.replace_all(text, "DATE）").into_owned();
    let path = regex::Regex::new(r"path: '.*'").unwrap();
    path.replace_all(&text, "path: 'PATH'").into_owned()
}

/// The rows (by `qc_source_row`) each rule fails, from the anomaly export in `dir`.
fn failing_rows(dir: &Path) -> BTreeMap<String, BTreeSet<u64>> {
    use arrow::array::{AsArray, ListArray};
    let mut out: BTreeMap<String, BTreeSet<u64>> = BTreeMap::new();
    for entry in std::fs::read_dir(dir.join("anomalies")).unwrap() {
        let file = std::fs::File::open(entry.unwrap().path()).unwrap();
        let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
            .unwrap()
            .build()
            .unwrap();
        for batch in reader {
            let batch = batch.unwrap();
            let rules: &ListArray = batch.column_by_name("qc_failed_rules").unwrap().as_list();
            let rows = arrow::compute::cast(
                batch.column_by_name("qc_source_row").unwrap(),
                &arrow::datatypes::DataType::UInt64,
            )
            .unwrap();
            let rows = rows.as_primitive::<arrow::datatypes::UInt64Type>();
            for i in 0..batch.num_rows() {
                let ids = rules.value(i);
                for id in ids.as_string::<i32>().iter().flatten() {
                    out.entry(id.to_string()).or_default().insert(rows.value(i));
                }
            }
        }
    }
    out
}

/// A draft rule failing more than one row in this many finds nothing: its rows do not count.
const BROAD: u64 = 100;

#[test]
fn suggested_packs_for_the_four_generated_libraries_audit_as_counted() {
    // Every library is checked before the test fails, so that one run lists all changes.
    let mut wrong = Vec::new();
    for (library, table) in [
        ("marriage", "registration"),
        ("death", "record"),
        ("spatial", "address"),
        ("building", "building"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let data: PathBuf = root().join(format!("testdata/{library}/{table}.parquet"));
        let (text, drafted) = suggest_and_audit(&data, dir.path(), &[]);
        assert!(text.contains("id: SUG-001"), "{library}");
        // The shipped pack's row rules fail exactly the generator's anomalies; the draft
        // finds every row they find.
        let truth: qc::generate::truth::Truth = serde_json::from_str(
            &std::fs::read_to_string(root().join(format!("testdata/{library}/truth.json")))
                .unwrap(),
        )
        .unwrap();
        let shipped_dir = dir.path().join("shipped");
        let pack = s(&root().join(format!("rules/{library}.yaml")));
        let (_, shipped) = crate::util::audit(&pack, &shipped_dir, &[]);
        let shipped_rows = failing_rows(&shipped_dir);
        let rows = drafted.tables[0].rows;
        let broad: Vec<&str> = drafted.tables[0]
            .rules
            .iter()
            .filter(|r| r.failed_rows * BROAD > rows)
            .map(|r| r.id.as_str())
            .collect();
        let drafted_rows: BTreeSet<u64> = failing_rows(&dir.path().join("run"))
            .into_iter()
            .filter(|(id, _)| !broad.contains(&id.as_str()))
            .flat_map(|(_, rows)| rows)
            .collect();
        let set_kinds = ["unique", "reference", "query", "history"];
        let row_rules: Vec<&qc::results::summary::RuleSummary> = shipped.tables[0]
            .rules
            .iter()
            .filter(|r| !r.builtin && !set_kinds.contains(&r.kind.as_str()))
            .collect();
        assert!(row_rules.len() >= 15, "{library}");
        for rule in row_rules {
            assert_eq!(
                rule.failed_rows, truth.tables[table].rules[&rule.id],
                "{library} {}: shipped pack against truth",
                rule.id
            );
            let rows = shipped_rows.get(&rule.id).cloned().unwrap_or_default();
            let missed: Vec<u64> = rows.difference(&drafted_rows).copied().collect();
            if !missed.is_empty() {
                wrong.push(format!(
                    "{library} {} ({}): rows {missed:?} not found by the draft",
                    rule.id, rule.name
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn drift_between_deliveries_is_listed() {
    let dir = tempfile::tempdir().unwrap();
    let before = dir.path().join("before.csv");
    let after = dir.path().join("after.csv");
    let mut a = String::from("id,kind,amount\n");
    let mut b = String::from("id,kind,size,amount\n");
    for i in 0..100 {
        let _ = writeln!(a, "{i},结婚,{}", 100 + i % 10);
        let kind = if i < 60 { "离婚" } else { "结婚" };
        let amount = if i < 30 {
            String::new()
        } else {
            format!("{}", 500 + i % 10)
        };
        let _ = writeln!(b, "{i},{kind},{i},{amount}");
    }
    std::fs::write(&before, a).unwrap();
    std::fs::write(&after, b).unwrap();
    // The first delivery, then the second compared with it by file and from the run history.
    profile(&before, &dir.path().join("p1"), &["--name", "deliveries"]);
    let prev = dir.path().join("p1/profile.json");
    profile(&after, &dir.path().join("p2"), &["--compare", &s(&prev)]);
    profile(
        &after,
        &dir.path().join("p3"),
        &["--name", "deliveries", "--compare", "last"],
    );
    let read = |p: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(dir.path().join(p)).unwrap()).unwrap()
    };
    let drift = read("p2/drift.json");
    assert_eq!(
        drift,
        read("p3/drift.json"),
        "the run history kept the first delivery's profile"
    );
    let kinds: Vec<(String, String)> = drift
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["kind"].as_str().unwrap().to_string(),
                f["column"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    for expected in [
        ("column_added", "size"),
        ("values", "kind"),
        ("missing", "amount"),
        ("numbers", "amount"),
    ] {
        assert!(
            kinds.contains(&(expected.0.to_string(), expected.1.to_string())),
            "{expected:?} in {kinds:?}"
        );
    }
    assert!(
        !kinds.iter().any(|(_, c)| c == "id"),
        "id did not move: {kinds:?}"
    );
}

#[test]
fn the_profile_page_renders_in_a_browser_and_escapes_data() {
    let Some(browser) = browser() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("markup.csv");
    std::fs::write(
        &data,
        "id,note\n1,\"<script>document.title='pwned'</script>\"\n2,\"<img src=x onerror=alert(1)>\"\n",
    )
    .unwrap();
    profile(&data, &dir.path().join("p"), &[]);
    let page = dir.path().join("p/profile.html");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(!html.contains("<script"), "no script element at all");
    assert!(!html.contains("<img"), "no markup from data");
    let o = std::process::Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--dump-dom",
        ])
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let dom = String::from_utf8_lossy(&o.stdout);
    assert!(
        dom.contains("<title>数据画像 · markup</title>"),
        "title untouched: {dom}"
    );
    assert!(dom.contains("&lt;script&gt;document.title='pwned'&lt;/script&gt;"));
    assert!(dom.contains("<h3>note"), "a section per column");
}
