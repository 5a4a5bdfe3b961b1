//! Personal data stays masked in every human-facing output of a run: the terminal summary (zh
//! and en), the monthly report (HTML, Markdown, JSON) and the feedback files (CSV, xlsx). The
//! test collects every ID number and name from the generated data's personal-data columns
//! and looks for each, verbatim, in all of them.

use std::collections::BTreeSet;
use std::path::Path;

use qc::rules::BoundColumn;
use qc::rules::ColumnType;

use crate::truth::csv_pack_only;
use crate::util::{code, run, stderr, stdout};

/// Values of `columns` in a generated CSV file (malformed records included, best effort).
fn values(file: &Path, columns: &[&str]) -> Vec<String> {
    let bound: Vec<BoundColumn> = columns
        .iter()
        .map(|c| BoundColumn::plain(c, ColumnType::String))
        .collect();
    let opts = qc::rules::source::CsvOptions {
        encoding: encoding_rs::UTF_8,
        delimiter: b',',
        quote: b'"',
        header: true,
        null_values: vec![String::new()],
    };
    let mut out = Vec::new();
    qc::scan::csv::read_file(file, &opts, &bound, 8192, &mut |batch| {
        for i in 0..columns.len() {
            let a = arrow::array::AsArray::as_string::<i32>(batch.column(i));
            out.extend(a.iter().flatten().map(str::to_string));
        }
        true
    })
    .unwrap();
    out
}

/// All text of the files under `dir`: UTF-8 files as they are, xlsx cell by cell.
fn texts(dir: &Path) -> Vec<(String, String)> {
    use calamine::Reader as _;
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        let name = p.display().to_string();
        if p.extension().is_some_and(|x| x == "xlsx") {
            let mut book: calamine::Xlsx<_> = calamine::open_workbook(&p).unwrap();
            let mut text = String::new();
            for sheet in book.sheet_names() {
                let range = book.worksheet_range(&sheet).unwrap();
                for cell in range.used_cells() {
                    text.push_str(&cell.2.to_string());
                    text.push('\n');
                }
            }
            out.push((name, text));
        } else {
            out.push((name, String::from_utf8(std::fs::read(&p).unwrap()).unwrap()));
        }
    }
    out
}

#[test]
fn no_personal_data_in_human_facing_outputs() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let data = dir.join("data");
    let o = run(&[
        "gen",
        "--library",
        "marriage,death",
        "--rows",
        "4000",
        "--anomalies",
        "300",
        "--seed",
        "41",
        "--format",
        "csv",
        "--out",
        data.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let marriage_csv = data.join("marriage/registration.csv");
    let death_csv = data.join("death/record.csv");
    let packs = dir.join("packs");
    std::fs::create_dir_all(&packs).unwrap();
    let marriage = csv_pack_only("marriage", &packs, &marriage_csv, "utf-8");
    let death = csv_pack_only("death", &packs, &death_csv, "utf-8");
    let store = dir.join("qc.db");

    let mut outputs: Vec<(String, String)> = Vec::new();
    for lang in ["zh", "en"] {
        let o = run(&[
            "run",
            "--rules",
            marriage.to_str().unwrap(),
            death.to_str().unwrap(),
            "--as-of",
            "2026-10-31",
            "--lang",
            lang,
            "--store",
            store.to_str().unwrap(),
            "--out",
            dir.join(format!("run-{lang}")).to_str().unwrap(),
        ]);
        assert_eq!(code(&o), 1, "{}", stderr(&o));
        outputs.push((format!("terminal ({lang})"), stdout(&o) + &stderr(&o)));
    }
    let report = dir.join("report");
    let o = run(&[
        "report",
        "--month",
        "2026-10",
        "--format",
        "html,md,json",
        "--store",
        store.to_str().unwrap(),
        "--out",
        report.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    outputs.extend(texts(&report));
    let feedback = dir.join("feedback");
    let o = run(&[
        "feedback",
        "--store",
        store.to_str().unwrap(),
        "--out",
        feedback.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    outputs.extend(texts(&feedback));
    // Malformed records are among the feedback lines (their raw text is where data could
    // slip through unmasked).
    assert!(
        outputs.iter().any(|(_, t)| t.contains("PARSE-STRUCTURE")),
        "the generated CSV has malformed records"
    );

    let mut ids: BTreeSet<String> = BTreeSet::new();
    ids.extend(values(&marriage_csv, &["male_id", "female_id"]));
    ids.extend(values(&death_csv, &["id_no"]));
    let ids: Vec<String> = ids.into_iter().filter(|v| v.trim().len() >= 15).collect();
    let mut names: BTreeSet<String> = BTreeSet::new();
    names.extend(values(&marriage_csv, &["male_name", "female_name"]));
    names.extend(values(&death_csv, &["name"]));
    // Names of three or more characters: shorter ones also occur inside ordinary words.
    let names: Vec<String> = names
        .into_iter()
        .filter(|n| n.trim().chars().count() >= 3)
        .collect();
    assert!(ids.len() > 8000, "{} ID numbers collected", ids.len());
    assert!(names.len() > 100, "{} names collected", names.len());

    let total: usize = outputs.iter().map(|(_, t)| t.len()).sum();
    assert!(total > 100_000, "outputs hold data to scan ({total} bytes)");
    let personal = regex::Regex::new(
        &ids.iter()
            .chain(&names)
            .map(|v| regex::escape(v.trim()))
            .collect::<Vec<_>>()
            .join("|"),
    )
    .unwrap();
    for (name, text) in &outputs {
        if let Some(m) = personal.find(text) {
            panic!("unmasked personal data `{}` in {name}", m.as_str());
        }
    }

    // The scan finds what is there: unmasked feedback shows the data.
    let unmasked = dir.join("feedback-unmasked");
    let o = run(&[
        "feedback",
        "--no-mask",
        "--store",
        store.to_str().unwrap(),
        "--out",
        unmasked.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        texts(&unmasked).iter().any(|(_, t)| personal.is_match(t)),
        "--no-mask feedback shows ID numbers or names"
    );
}
