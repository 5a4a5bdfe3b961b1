//! The run history, the monthly report and the feedback files.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use calamine::{Reader, Xlsx, open_workbook};

use crate::util::{code, qc, run, settings, stderr, stdout};

fn s(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// Complete runs recorded in `store`.
fn run_count(store: &Path) -> usize {
    let o = run(&[
        "runs",
        "--store",
        &s(store),
        "--format",
        "json",
        "--limit",
        "1000",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    serde_json::from_str::<Vec<serde_json::Value>>(&stdout(&o))
        .unwrap()
        .len()
}

fn audit_into(store: &Path, out: &Path, extra: &[&str]) -> i32 {
    let mut args = vec![
        "run",
        "--rules",
        "testdata/cases/sets/registry.yaml",
        "--store",
        &*Box::leak(s(store).into_boxed_str()),
        "--out",
        &*Box::leak(s(out).into_boxed_str()),
        "--quiet",
        "--as-of",
        "2026-01-20",
    ];
    args.extend_from_slice(extra);
    code(&run(&args))
}

#[test]
fn only_complete_runs_are_recorded_and_concurrent_runs_both_land() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("qc.db");
    assert_eq!(audit_into(&store, &dir.path().join("a"), &[]), 1);
    assert_eq!(
        run_count(&store),
        1,
        "a run that fails a threshold is complete"
    );

    // A run that stops on a data error records nothing.
    let o = run(&[
        "run",
        "--rules",
        "testdata/bad_packs/missing_source.yaml",
        "--store",
        &s(&store),
        "--out",
        &s(&dir.path().join("b")),
    ]);
    assert_ne!(code(&o), 0);
    assert_eq!(run_count(&store), 1);

    // Two runs at once on one store: both land.
    let spawn = |out: &str| {
        qc().args([
            "run",
            "--rules",
            "testdata/cases/sets/registry.yaml",
            "--store",
            &s(&store),
            "--out",
            &s(&dir.path().join(out)),
            "--quiet",
        ])
        .spawn()
        .unwrap()
    };
    let (mut x, mut y) = (spawn("c"), spawn("d"));
    assert!(x.wait().unwrap().code().is_some());
    assert!(y.wait().unwrap().code().is_some());
    assert_eq!(run_count(&store), 3);
}

#[test]
fn the_store_migrates_an_empty_file_and_refuses_a_newer_one() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.db");
    std::fs::write(&empty, b"").unwrap();
    let store = qc::results::store::Store::open(&empty).unwrap();
    assert_eq!(store.version().unwrap(), qc::results::store::SCHEMA_VERSION);
    assert!(store.runs(10).unwrap().is_empty());
    drop(store);

    let newer = dir.path().join("newer.db");
    let conn = rusqlite::Connection::open(&newer).unwrap();
    conn.pragma_update(None, "user_version", 99).unwrap();
    drop(conn);
    let o = run(&["runs", "--store", &s(&newer)]);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("newer than this qc knows"),
        "{}",
        stderr(&o)
    );
}

/// A store with three months of spatial and marriage runs on generated data whose anomaly
/// count changes month by month.
fn three_months(dir: &Path) -> PathBuf {
    let store = dir.join("qc.db");
    for (month, anomalies) in [
        ("2026-08-31", "40"),
        ("2026-09-30", "120"),
        ("2026-10-31", "60"),
    ] {
        let data = dir.join(format!("data-{month}"));
        let o = run(&[
            "gen",
            "--library",
            "spatial,marriage",
            "--rows",
            "6000",
            "--seed",
            "17",
            "--anomalies",
            anomalies,
            "--out",
            &s(&data),
        ]);
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        let o = run(&[
            "run",
            "--rules",
            "rules/spatial.yaml",
            "--rules",
            "rules/marriage.yaml",
            "--data",
            &format!(
                "spatial.address={}",
                data.join("spatial/address.parquet").display()
            ),
            "--data",
            &format!(
                "marriage.registration={}",
                data.join("marriage/registration.parquet").display()
            ),
            "--as-of",
            month,
            "--store",
            &s(&store),
            "--out",
            &s(&dir.join(format!("run-{month}"))),
            "--quiet",
        ]);
        assert!(code(&o) <= 1, "{}", stderr(&o));
    }
    store
}

#[test]
fn monthly_report_in_markdown_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let store = three_months(dir.path());
    let out = dir.path().join("reports");
    let o = run(&[
        "report",
        "--month",
        "2026-10",
        "--store",
        &s(&store),
        "--out",
        &s(&out),
        "--format",
        "md,json",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report-2026-10.json")).unwrap())
            .unwrap();
    let libraries = json["libraries"].as_array().unwrap();
    assert_eq!(libraries.len(), 2);
    let id_number = regex::Regex::new(r"\b\d{17}[\dX]\b").unwrap();
    for lib in libraries {
        // Month over month from the September run; twelve trend points, three with scores.
        assert!(lib["previous"]["run_id"].is_string());
        assert!(lib["score_change"].is_f64());
        let trend = lib["trend"].as_array().unwrap();
        assert_eq!(trend.len(), 12);
        assert_eq!(trend.iter().filter(|p| p["score"].is_f64()).count(), 3);
        assert_eq!(trend[11]["month"], "2026-10");
        // Samples of marriage rules show masked ID numbers only (18-digit address codes
        // of the spatial library are not personal data).
        if lib["library"] != "marriage" {
            continue;
        }
        let text: String = lib["top_rules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["samples"].to_string())
            .collect();
        assert!(!id_number.is_match(&text), "unmasked ID number in {text}");
    }
    // The scores recorded with each run are the report's, recomputed from the stored counts.
    let db = rusqlite::Connection::open(&store).unwrap();
    for lib in libraries {
        let stored: f64 = db
            .query_row(
                "SELECT score FROM run_score WHERE run_id = ?1 AND scope = 'library' \
                 AND library = ?2 AND dimension = 'total'",
                [
                    lib["run_id"].as_str().unwrap(),
                    lib["library"].as_str().unwrap(),
                ],
                |r| r.get(0),
            )
            .unwrap();
        let reported = lib["score"]["total"].as_f64().unwrap();
        assert!((stored - reported).abs() < 1e-9, "{stored} vs {reported}");
    }
    let st = settings(dir.path());
    st.bind(|| {
        insta::assert_snapshot!(
            "report_md",
            std::fs::read_to_string(out.join("report-2026-10.md")).unwrap()
        );
        insta::assert_json_snapshot!("report_json", json);
    });
}

/// The same month of marriage data scored by each model: the report records the model and
/// counts the providers at the target; the pass-rate model puts every provider within a few
/// points of 100, while the threshold and deduction models spread them.
#[test]
fn scoring_models_spread_providers_and_count_those_at_the_target() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let o = run(&[
        "gen",
        "--library",
        "marriage,death",
        "--rows",
        "6000",
        "--seed",
        "17",
        "--anomalies",
        "120",
        "--out",
        &s(&data),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    // Marriage rules read the death library: its pack goes beside, unchanged.
    let pack = std::fs::read_to_string("rules/marriage.yaml").unwrap();
    let death = std::fs::read_to_string("rules/death.yaml").unwrap();
    let mut spread = std::collections::BTreeMap::new();
    for model in ["pass_rate", "threshold", "deduction"] {
        let at = dir.path().join(model);
        std::fs::create_dir_all(&at).unwrap();
        let pack_file = at.join("marriage.yaml");
        std::fs::write(at.join("death.yaml"), &death).unwrap();
        std::fs::write(
            &pack_file,
            format!(
                "{pack}\nscoring: {{ model: {model}, target: {{ dimension: 准确性, min: 70 }} }}\n"
            ),
        )
        .unwrap();
        let store = at.join("qc.db");
        let o = run(&[
            "run",
            "--rules",
            &s(&pack_file),
            "--rules",
            &s(&at.join("death.yaml")),
            "--data",
            &format!(
                "marriage.registration={}",
                data.join("marriage/registration.parquet").display()
            ),
            "--data",
            &format!(
                "death.record={}",
                data.join("death/record.parquet").display()
            ),
            "--as-of",
            "2026-10-31",
            "--store",
            &s(&store),
            "--out",
            &s(&at.join("run")),
            "--quiet",
        ]);
        assert!(code(&o) <= 1, "{}", stderr(&o));
        let out = at.join("reports");
        let o = run(&[
            "report",
            "--month",
            "2026-10",
            "--store",
            &s(&store),
            "--out",
            &s(&out),
            "--format",
            "md,json",
        ]);
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        let json: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(out.join("report-2026-10.json")).unwrap(),
        )
        .unwrap();
        let lib = json["libraries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["library"] == "marriage")
            .unwrap();
        assert_eq!(lib["scoring"]["model"], model);
        let providers: Vec<&serde_json::Value> = lib["providers"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["provider"].is_string())
            .collect();
        let accuracy: Vec<f64> = providers
            .iter()
            .map(|p| p["score"]["dimensions"]["accuracy"].as_f64().unwrap())
            .collect();
        let target = &lib["target"];
        assert_eq!(target["providers"], providers.len());
        assert_eq!(
            target["met"],
            accuracy.iter().filter(|a| **a >= 70.0).count(),
            "{model}: {accuracy:?}"
        );
        let totals: Vec<f64> = providers
            .iter()
            .map(|p| p["score"]["total"].as_f64().unwrap())
            .collect();
        let (lo, hi) = totals
            .iter()
            .fold((f64::MAX, f64::MIN), |(lo, hi), t| (lo.min(*t), hi.max(*t)));
        spread.insert(model, (lo, hi));
        let md = std::fs::read_to_string(out.join("report-2026-10.md")).unwrap();
        assert!(md.contains("达标情况："), "{md}");
        assert!(md.contains("评分模型："), "{md}");
    }
    let width = |m: &str| spread[m].1 - spread[m].0;
    assert!(spread["pass_rate"].0 > 95.0, "{spread:?}");
    assert!(width("threshold") > 5.0 * width("pass_rate"), "{spread:?}");
    assert!(width("deduction") > 5.0 * width("pass_rate"), "{spread:?}");
}

#[test]
fn feedback_files_per_provider_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("qc.db");
    let o = run(&[
        "run",
        "--rules",
        "rules/marriage.yaml",
        "--store",
        &s(&store),
        "--out",
        &s(&dir.path().join("run")),
        "--format",
        "json",
    ]);
    let summary: qc::results::summary::RunSummary = serde_json::from_str(&stdout(&o)).unwrap();
    // Expected lines from the generator's truth: every failed (row, rule) of the rules this
    // run audits (MAR-022 reads the death library and is skipped here; MAR-023 runs without
    // the deaths, so it also fails the widowers' remarriages the truth lists under `without`).
    let truth: qc::generate::truth::Truth = serde_json::from_str(
        &std::fs::read_to_string(crate::util::root().join("testdata/marriage/truth.json")).unwrap(),
    )
    .unwrap();
    let skipped: Vec<&str> = summary.tables[0]
        .skipped_rules
        .iter()
        .map(|r| r.id.as_str())
        .collect();
    assert_eq!(skipped, ["MAR-022"]);
    let partial: Vec<&str> = summary.tables[0]
        .partial_rules
        .iter()
        .map(|r| r.id.as_str())
        .collect();
    assert_eq!(partial, ["MAR-023"]);
    let registration = &truth.tables["registration"];
    let widowed = registration.without["death"]["MAR-023"];
    assert!(widowed > 0, "the shipped data holds widowers' remarriages");
    let expected: u64 = registration
        .rules
        .iter()
        .filter(|(id, _)| !skipped.contains(&id.as_str()))
        .map(|(_, n)| n)
        .sum::<u64>()
        + widowed;
    let fb = dir.path().join("feedback");
    let o = run(&["feedback", "--store", &s(&store), "--out", &s(&fb)]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));

    let id = regex::Regex::new(r"\b\d{17}[\dX]\b").unwrap();
    let location = regex::Regex::new(r"registration\.parquet 第 \d+ 条记录$").unwrap();
    let date = regex::Regex::new(r"^\d{4}-\d{2}-\d{2}$").unwrap();
    let mut lines = 0u64;
    let mut providers = 0;
    for entry in std::fs::read_dir(&fb).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "csv") {
            providers += 1;
            let bytes = std::fs::read(&path).unwrap();
            assert!(
                bytes.starts_with("\u{FEFF}".as_bytes()),
                "BOM in {}",
                path.display()
            );
            let text = String::from_utf8(bytes).unwrap();
            assert!(text.contains("规则编号"));
            assert!(
                !id.is_match(&text),
                "unmasked ID number in {}",
                path.display()
            );
            let records = text.lines().count() as u64 - 1;
            lines += records;
            // The xlsx twin holds the same rows.
            let mut book: Xlsx<_> = open_workbook(path.with_extension("xlsx")).unwrap();
            let sheet = book.worksheet_range("问题明细").unwrap();
            assert_eq!(sheet.height() as u64, records + 1);
            let head: Vec<String> = sheet
                .rows()
                .next()
                .unwrap()
                .iter()
                .map(ToString::to_string)
                .collect();
            assert_eq!(
                head,
                [
                    "专题库",
                    "表",
                    "记录标识",
                    "来源位置",
                    "规则编号",
                    "规则名称",
                    "问题说明",
                    "问题数据",
                    "问题编号",
                    "问题状态",
                    "首次发现",
                    "处理结果",
                    "说明"
                ]
            );
            let row: Vec<String> = sheet
                .rows()
                .nth(1)
                .unwrap()
                .iter()
                .map(ToString::to_string)
                .collect();
            assert_eq!(row[0], "婚姻专题库");
            assert!(row[4].starts_with("MAR-"), "{row:?}");
            // Every line says where its record is, key or no key.
            assert!(location.is_match(&row[3]), "{row:?}");
            // And which problem it is: the audit is the history's first, so every one is new.
            assert!(row[8].parse::<i64>().is_ok(), "{row:?}");
            assert_eq!(row[9], "新增", "{row:?}");
            assert!(date.is_match(&row[10]), "{row:?}");
        }
    }
    assert_eq!(
        lines, expected,
        "one line per anomalous record and failed rule"
    );
    assert!(providers >= 10);

    // --no-mask shows the numbers.
    let plain = dir.path().join("plain");
    let o = run(&[
        "feedback",
        "--store",
        &s(&store),
        "--out",
        &s(&plain),
        "--no-mask",
    ]);
    assert_eq!(code(&o), 0);
    let any = std::fs::read_dir(&plain)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .any(|p| id.is_match(&std::fs::read_to_string(p).unwrap()));
    assert!(any, "--no-mask shows ID numbers");
}

/// The HTML report opens in a real browser (Debian's Chromium, headless): the title, a
/// provider's score and the month-over-month figure are visible text in the DOM, and a data
/// value holding markup shows as text. Runs wherever Chromium is installed; `.ci/run`
/// installs it, and under CI a missing browser fails the test instead of skipping it.
#[test]
fn html_report_renders_in_a_browser_and_escapes_data() {
    let Some(browser) = crate::util::browser() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // One table whose provider and values carry markup.
    std::fs::write(
        dir.path().join("people.csv"),
        "id,name,provider\n\
         1,张三,\"<script>document.title='pwned'</script>\"\n\
         2,,\"<script>document.title='pwned'</script>\"\n\
         3,\"\"\"><img src=x onerror=alert(1)>\",民政局\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("xss.yaml"),
        "library: { id: xss, name: 转义测试库 }\n\
         tables:\n\
         \x20 - name: people\n\
         \x20   source: { path: people.csv }\n\
         \x20   key: [id]\n\
         \x20   provider: provider\n\
         \x20   columns:\n\
         \x20     - { name: id, type: string }\n\
         \x20     - { name: name, type: string }\n\
         \x20     - { name: provider, type: string }\n\
         \x20   rules:\n\
         \x20     - { id: X-1, name: 姓名不能为空, dimension: 完整性, check: { not_null: { column: name } } }\n\
         \x20     - { id: X-2, name: 姓名为汉字, dimension: 规范性, check: { pattern: { column: name, regex: '\\p{Han}+' } } }\n",
    )
    .unwrap();
    let store = dir.path().join("qc.db");
    for month in ["2026-09-30", "2026-10-31"] {
        let o = run(&[
            "run",
            "--rules",
            &s(&dir.path().join("xss.yaml")),
            "--store",
            &s(&store),
            "--out",
            &s(&dir.path().join(month)),
            "--as-of",
            month,
            "--quiet",
        ]);
        assert!(code(&o) <= 1, "{}", stderr(&o));
    }
    let out = dir.path().join("reports");
    let o = run(&[
        "report",
        "--month",
        "2026-10",
        "--store",
        &s(&store),
        "--out",
        &s(&out),
        "--no-mask",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let html_path = out.join("report-2026-10.html");
    let html = std::fs::read_to_string(&html_path).unwrap();
    assert!(!html.contains("<script"), "no script element at all");
    assert!(!html.contains("<img"), "no markup from data");
    // The page opens with an overview of the libraries, each linked to its section.
    let overview = html.find("class=\"overview\"").expect("an overview table");
    assert!(overview < html.find("class=\"library\"").unwrap());
    assert!(html.contains("<a href=\"#library-xss\">转义测试库</a>"));
    for fetch in ["src=\"http", "href=\"http", "url(http", "@import", "<link"] {
        assert!(
            !html.contains(fetch),
            "nothing fetched from a network: {fetch}"
        );
    }
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report-2026-10.json")).unwrap())
            .unwrap();
    let lib = &json["libraries"][0];
    let provider_score = format!(
        "{:.2}",
        lib["providers"][0]["score"]["total"].as_f64().unwrap()
    );

    let url = format!("file://{}", html_path.display());
    let shot = dir.path().join("report.png");
    let base = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
    ];
    let o = Command::new(browser)
        .args(base)
        .arg("--dump-dom")
        .arg(&url)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let dom = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        dom.contains("<title>公共数据质量报告 · 2026-10</title>"),
        "title untouched: {dom}"
    );
    assert!(dom.contains("id=\"title\">公共数据质量报告</h1>"));
    assert!(dom.contains(&format!("class=\"provider-score\">{provider_score}</span>")));
    assert!(
        dom.contains("class=\"score-change\">+0.00</b>"),
        "month over month shown"
    );
    assert!(
        dom.contains("&lt;script&gt;document.title='pwned'&lt;/script&gt;"),
        "the provider's markup is text"
    );
    assert!(!dom.contains("<img"), "no element from data");
    // The browser lays the overview out before the libraries, with its link to each.
    let overview = dom
        .find("class=\"overview\"")
        .expect("the overview in the DOM");
    assert!(overview < dom.find("class=\"library\"").unwrap());
    assert!(dom.contains("<a href=\"#library-xss\">转义测试库</a>"));
    // The rectification section: each provider's problem of September is still open.
    let rect = dom
        .find("<table class=\"rectification\">")
        .expect("the rectification section in the DOM");
    let rect = &dom[rect..rect + dom[rect..].find("</table>").unwrap()];
    assert!(dom.contains("<h3>整改情况</h3>"));
    assert!(
        rect.contains("<td class=\"provider-name\">民政局</td>"),
        "{rect}"
    );
    assert!(
        rect.contains(
            "<td class=\"provider-name\">合计</td><td class=\"num\">2</td><td class=\"num\">0</td>"
        ),
        "{rect}"
    );
    assert!(rect.contains("<td class=\"num\">0.0%</td>"), "{rect}");
    assert!(dom.contains("<table class=\"oldest\">"));
    let o = Command::new(browser)
        .args(base)
        .arg("--window-size=1200,1600")
        .arg(format!("--screenshot={}", shot.display()))
        .arg(&url)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let png = std::fs::read(&shot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "a real screenshot"
    );
}

/// Runs can be labelled, excluded and made official; feedback (and the report) then use the
/// official run, else the newest run not excluded, and say which.
#[test]
fn runs_are_labelled_excluded_and_made_official() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("qc.db");
    let store_s = s(&store);
    let ids: Vec<String> = ["a", "b", "c"]
        .iter()
        .map(|name| {
            assert_eq!(audit_into(&store, &dir.path().join(name), &[]), 1);
            let doc = std::fs::read_to_string(dir.path().join(name).join("summary.json")).unwrap();
            let v: serde_json::Value = serde_json::from_str(&doc).unwrap();
            v["run_id"].as_str().unwrap().to_string()
        })
        .collect();
    let mark = |args: &[&str]| {
        let mut all = vec!["runs"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--store", &store_s]);
        let o = run(&all);
        assert_eq!(code(&o), 0, "{args:?}: {}", stderr(&o));
    };
    // Which run feedback uses, as it says on stderr.
    let used = || {
        let out = dir.path().join(format!("fb-{}", rand_suffix()));
        let o = run(&[
            "feedback",
            "--store",
            &store_s,
            "--out",
            &s(&out),
            "--lang",
            "en",
        ]);
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        stderr(&o).trim().to_string()
    };
    assert_eq!(used(), format!("{} (the latest run not excluded)", ids[2]));
    mark(&["exclude", &ids[2], "--reason", "读错编码的探索性运行"]);
    assert_eq!(used(), format!("{} (the latest run not excluded)", ids[1]));
    mark(&["official", &ids[0]]);
    mark(&["label", &ids[0], "十一月正式稽核"]);
    assert_eq!(used(), format!("{} (the official run)", ids[0]));
    let listing = stdout(&run(&["runs", "--store", &store_s]));
    let lines: Vec<&str> = listing.lines().collect();
    assert!(lines[0].starts_with("run\tas_of\t"), "{listing}");
    assert!(
        lines[1].contains("excluded: 读错编码的探索性运行"),
        "{listing}"
    );
    assert!(lines[3].contains("十一月正式稽核; official"), "{listing}");
    assert!(
        lines[3].contains("\tregistry\t"),
        "the run's library: {listing}"
    );
    // A run that is not in the store is a usage error naming it.
    let o = run(&[
        "runs",
        "official",
        "20990101T000000Z-0000",
        "--store",
        &store_s,
    ]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("no finished run `20990101T000000Z-0000`"));
}

/// A fresh suffix for output folders within one test.
fn rand_suffix() -> String {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        .to_string()
}

/// A GBK file read as UTF-8: its provider names do not decode, so feedback does not name files
/// after them; their lines go to one file that says why.
#[test]
fn feedback_never_names_a_file_after_an_undecodable_provider() {
    let dir = tempfile::tempdir().unwrap();
    let store = s(&dir.path().join("qc.db"));
    let o = run(&[
        "run",
        "--rules",
        "testdata/diagnostics/encoding-mismatch.yaml",
        "--out",
        &s(&dir.path().join("run")),
        "--store",
        &store,
        "--quiet",
    ]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let fb = dir.path().join("fb");
    let o = run(&["feedback", "--store", &store, "--out", &s(&fb)]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let names: Vec<String> = std::fs::read_dir(&fb)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names
            .iter()
            .all(|n| !n.contains(char::REPLACEMENT_CHARACTER)),
        "{names:?}"
    );
    let label = qc::report::feedback::undecodable(qc::text::Lang::Zh);
    assert!(names.contains(&format!("{label}.csv")), "{names:?}");
}

/// Copy a feedback workbook's two sheets, as text, into `to` after `edit` changes the
/// summary's and the lines' cells; with `formula`, line 1's 说明 holds a formula.
fn rewrite_reply(
    from: &Path,
    to: &Path,
    edit: impl FnOnce(&mut Vec<Vec<String>>, &mut Vec<Vec<String>>),
    formula: bool,
) {
    let mut book: Xlsx<_> = open_workbook(from).unwrap();
    let mut sheet = |name: &str| -> Vec<Vec<String>> {
        let range = book.worksheet_range(name).unwrap();
        range
            .rows()
            .map(|r| {
                let mut cells: Vec<String> = r.iter().map(ToString::to_string).collect();
                cells.resize(13, String::new());
                cells
            })
            .collect()
    };
    let (mut summary, mut detail) = (sheet("汇总"), sheet("问题明细"));
    edit(&mut summary, &mut detail);
    let mut out = rust_xlsxwriter::Workbook::new();
    for (name, rows) in [("汇总", &summary), ("问题明细", &detail)] {
        let ws = out.add_worksheet();
        ws.set_name(name).unwrap();
        for (r, row) in (0u32..).zip(rows) {
            for (c, v) in (0u16..).zip(row) {
                if !v.is_empty() {
                    ws.write_string(r, c, v).unwrap();
                }
            }
        }
        if formula && name == "问题明细" {
            ws.write_formula(1, 12, "=1+1").unwrap();
        }
    }
    out.save(to).unwrap();
}

/// An edit of a feedback workbook's summary and lines ([`rewrite_reply`]).
type Edit = fn(&mut Vec<Vec<String>>, &mut Vec<Vec<String>>);

/// The rectification section of the first library in `month`'s report, written (JSON and
/// Markdown) into `out`.
fn rectification(store: &Path, out: &Path, month: &str) -> serde_json::Value {
    let o = run(&[
        "report",
        "--month",
        month,
        "--store",
        &s(store),
        "--out",
        &s(out),
        "--format",
        "json,md",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let doc: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join(format!("report-{month}.json"))).unwrap(),
    )
    .unwrap();
    doc["libraries"][0]["rectification"].clone()
}

/// Per provider of a rectification section: reported, fixed, gone, accepted, still open,
/// new, open now, awaiting acceptance, said fixed but failing, cannot fix.
fn moved(r: &serde_json::Value) -> Vec<(String, [u64; 10])> {
    r["providers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let n = |f: &str| p[f].as_u64().unwrap();
            (
                p["provider"].as_str().unwrap().to_string(),
                [
                    n("reported"),
                    n("fixed"),
                    n("gone"),
                    n("accepted"),
                    n("still_open"),
                    n("new"),
                    n("open"),
                    n("awaiting_acceptance"),
                    n("claimed_fixed_still_failing"),
                    n("cannot_fix"),
                ],
            )
        })
        .collect()
}

/// The pack of the problem-tracking tests, as `pack.yaml` in `dir`: one table `t.csv`
/// (id, org, name, code) keyed by id, provided by org, with a name rule and a code rule.
fn write_registry_pack(dir: &Path) {
    std::fs::write(
        dir.join("pack.yaml"),
        "library: { id: lc, name: 整改测试库 }\n\
         tables:\n  - name: t\n    source: { path: t.csv }\n    key: [id]\n    provider: org\n    columns:\n\
         \x20     - { name: id, type: string }\n\
         \x20     - { name: org, type: string }\n\
         \x20     - { name: name, type: string }\n\
         \x20     - { name: code, type: string }\n    rules:\n\
         \x20     - { id: R-NAME, name: 姓名不能为空, dimension: 完整性, check: { not_null: { column: name } } }\n\
         \x20     - { id: R-CODE, name: 代码为六位数字, dimension: 规范性, check: { pattern: { column: code, regex: '\\d{6}' } } }\n",
    )
    .unwrap();
}

/// Audit `dir`'s `t.csv` with its registry pack ([`write_registry_pack`]) into `dir/qc.db`,
/// writing the run's files to `dir/out`, dated `as_of`.
fn run_registry(dir: &Path, out: &str, as_of: &str) -> std::process::Output {
    run(&[
        "run",
        "--rules",
        &s(&dir.join("pack.yaml")),
        "--store",
        &s(&dir.join("qc.db")),
        "--out",
        &s(&dir.join(out)),
        "--as-of",
        as_of,
        "--quiet",
    ])
}

/// A problem as the history test names it: record, rule, status.
type Problem = (&'static str, &'static str, &'static str);

/// Three months of a hand-made registry: each problem's status after each run, and what
/// `qc problems` selects by status, age and provider.
#[test]
fn problems_are_followed_from_run_to_run() {
    let dir = tempfile::tempdir().unwrap();
    write_registry_pack(dir.path());
    let store = dir.path().join("qc.db");
    let month = |as_of: &str, rows: &str| {
        std::fs::write(
            dir.path().join("t.csv"),
            format!("id,org,name,code\n{rows}"),
        )
        .unwrap();
        let o = run_registry(dir.path(), &format!("out-{as_of}"), as_of);
        assert!(code(&o) <= 1, "{}", stderr(&o));
    };
    let statuses = |extra: &[&str]| -> Vec<(String, String, String)> {
        let mut args = vec![
            "problems",
            "--store",
            &*Box::leak(s(&store).into_boxed_str()),
        ];
        args.extend_from_slice(&["--format", "json"]);
        args.extend_from_slice(extra);
        let o = run(&args);
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        let doc: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
        let mut out: Vec<(String, String, String)> = doc["problems"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                let record = p["record"].as_str().unwrap();
                // A record without a key is named by its place in t.csv.
                let record = if record.starts_with('@') {
                    "place"
                } else {
                    record
                };
                (
                    record.to_string(),
                    p["rule"].as_str().unwrap().to_string(),
                    p["status"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        out.sort();
        out
    };
    let want = |rows: &[(&str, &str, &str)]| -> Vec<(String, String, String)> {
        let mut v: Vec<_> = rows
            .iter()
            .map(|(a, b, c)| ((*a).to_string(), (*b).to_string(), (*c).to_string()))
            .collect();
        v.sort();
        v
    };
    // Each month's delivery and every problem's status after its run.
    let months: [(&str, &str, &[Problem]); 3] = [
        (
            "2026-01-31",
            "1,甲,张三,123456\n2,甲,,123456\n3,乙,李四,12X\n4,乙,,12X\n5,乙,王五,654321\n,甲,,000000\n",
            &[
                ("2", "R-NAME", "new"),
                ("3", "R-CODE", "new"),
                ("4", "R-NAME", "new"),
                ("4", "R-CODE", "new"),
                ("place", "R-NAME", "new"),
            ],
        ),
        // 2 still fails; 3 is fixed; 4 is no longer delivered; 5 newly fails; the keyless
        // record's file is still delivered and it no longer fails there.
        (
            "2026-02-28",
            "1,甲,张三,123456\n2,甲,,123456\n3,乙,李四,123456\n5,乙,,654321\n",
            &[
                ("2", "R-NAME", "open"),
                ("3", "R-CODE", "fixed"),
                ("4", "R-NAME", "gone"),
                ("4", "R-CODE", "gone"),
                ("5", "R-NAME", "new"),
                ("place", "R-NAME", "fixed"),
            ],
        ),
        // 2 and 5 are fixed; 4 comes back with a name but its code still wrong.
        (
            "2026-03-31",
            "1,甲,张三,123456\n2,甲,赵六,123456\n3,乙,李四,123456\n4,乙,孙七,12X\n5,乙,王五,654321\n",
            &[
                ("2", "R-NAME", "fixed"),
                ("3", "R-CODE", "fixed"),
                ("4", "R-NAME", "fixed"),
                ("4", "R-CODE", "open"),
                ("5", "R-NAME", "fixed"),
                ("place", "R-NAME", "fixed"),
            ],
        ),
    ];
    for (as_of, rows, expected) in months {
        month(as_of, rows);
        assert_eq!(statuses(&[]), want(expected), "after {as_of}");
    }
    // 4's code problem was first seen on 2026-01-31, 59 days before the newest run.
    assert_eq!(
        statuses(&["--status", "open,new", "--older-than", "30d"]),
        want(&[("4", "R-CODE", "open")])
    );
    assert!(statuses(&["--status", "open", "--older-than", "59d"]).is_empty());
    assert_eq!(
        statuses(&["--provider", "乙", "--status", "fixed"]).len(),
        3
    );
    // Text counts in Chinese, CSV one line per problem.
    let o = run(&["problems", "--store", &s(&store)]);
    assert!(
        stdout(&o).contains("问题 6 个：新增 0 · 未整改 1 · 已整改 5 · 已消失 0 · 已认可 0"),
        "{}",
        stdout(&o)
    );
    let o = run(&["problems", "--store", &s(&store), "--format", "csv"]);
    assert_eq!(stdout(&o).lines().count(), 7, "{}", stdout(&o));
    let o = run(&["problems", "--store", &s(&store), "--status", "late"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    // The last run's feedback names each line's problem: 4's code, open since January.
    let feedback = dir.path().join("feedback");
    let o = run(&["feedback", "--store", &s(&store), "--out", &s(&feedback)]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let text = std::fs::read_to_string(feedback.join("乙.csv")).unwrap();
    let line = text.lines().find(|l| l.contains("R-CODE")).unwrap();
    assert!(line.ends_with(",未整改,2026-01-31"), "{line}");
    assert_eq!(text.lines().count(), 2, "{text}");

    // 乙 answers in its workbook: the reply is recorded. Hostile or edited workbooks are
    // refused with their reasons, and record nothing.
    let book = feedback.join("乙.xlsx");
    let import = |file: &Path| run(&["feedback", "import", &s(file), "--store", &s(&store)]);
    let replies = || -> i64 {
        rusqlite::Connection::open(&store)
            .unwrap()
            .query_row("SELECT count(*) FROM problem_reply", [], |r| r.get(0))
            .unwrap()
    };
    let answered = dir.path().join("answered.xlsx");
    rewrite_reply(
        &book,
        &answered,
        |_, d| {
            d[1][11] = "确认无误".into();
            d[1][12] = "档案原件如此".into();
        },
        false,
    );
    let o = import(&answered);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(replies(), 1);
    let hostile: [(&str, &str, Edit, bool); 6] = [
        (
            "other provider",
            "is 乙's, not 甲's",
            |sum, d| {
                sum[0][1] = "甲".into();
                d[1][11] = "已整改".into();
            },
            false,
        ),
        (
            "edited key",
            "record key cell",
            |_, d| {
                d[1][2] = "9".into();
                d[1][11] = "已整改".into();
            },
            false,
        ),
        (
            "duplicate",
            "answered twice",
            |_, d| {
                d[1][11] = "已整改".into();
                let again = d[1].clone();
                d.push(again);
            },
            false,
        ),
        (
            "unknown answer",
            "is none of",
            |_, d| d[1][11] = "也许".into(),
            false,
        ),
        (
            "another run",
            "is not in the run history",
            |sum, d| {
                sum[1][1] = "20990101T000000Z-0000".into();
                d[1][11] = "已整改".into();
            },
            false,
        ),
        (
            "formula",
            "formula",
            |_, d| d[1][11] = "已整改".into(),
            true,
        ),
    ];
    for (what, reason, edit, formula) in hostile {
        let file = dir.path().join(format!("{what}.xlsx"));
        rewrite_reply(&book, &file, edit, formula);
        let o = import(&file);
        assert_eq!(code(&o), 2, "{what}: {}", stderr(&o));
        assert!(stderr(&o).contains(reason), "{what}: {}", stderr(&o));
        // Named by file and row (the duplicate at its second line, row 3).
        let row = if what == "duplicate" {
            "xlsx row 3"
        } else {
            "xlsx row 2"
        };
        assert!(stderr(&o).contains(row), "{what}: {}", stderr(&o));
    }
    let text_file = dir.path().join("text.xlsx");
    std::fs::write(&text_file, "不是表格").unwrap();
    let o = import(&text_file);
    assert!(
        stderr(&o).contains("not an xlsx workbook"),
        "{}",
        stderr(&o)
    );
    // A good file beside a bad one: nothing of either is recorded.
    let o = run(&[
        "feedback",
        "import",
        &s(&answered),
        &s(&text_file),
        "--store",
        &s(&store),
    ]);
    assert_eq!(code(&o), 2);
    assert_eq!(replies(), 1);
    // The report's rectification section: February against January, March against
    // February, with 乙's reply waiting for the center in March.
    let report =
        |month: &str| rectification(&store, &dir.path().join(format!("report-{month}")), month);
    let february = report("2026-02");
    // 甲: 2 still open, the keyless record fixed. 乙: 3 fixed, both of 4's gone, 5 new.
    assert_eq!(
        moved(&february),
        vec![
            ("乙".to_string(), [3, 1, 2, 0, 0, 1, 1, 0, 0, 0]),
            ("甲".to_string(), [2, 1, 0, 0, 1, 0, 1, 0, 0, 0]),
        ]
    );
    assert_eq!(february["providers"][0]["rate"].as_f64(), Some(1.0 / 3.0));
    assert_eq!(february["rate"].as_f64(), Some(0.4));
    let march = report("2026-03");
    // Both reported problems fixed; 4's code failing again is open, neither reported nor
    // new; 乙's reply says 确认无误.
    assert_eq!(
        moved(&march),
        vec![
            ("乙".to_string(), [1, 1, 0, 0, 0, 0, 1, 1, 0, 0]),
            ("甲".to_string(), [1, 1, 0, 0, 0, 0, 0, 0, 0, 0]),
        ]
    );
    let oldest = &march["providers"][0]["oldest"][0];
    assert_eq!(
        (
            &oldest["rule"],
            &oldest["record"],
            &oldest["first_seen"],
            &oldest["age_days"]
        ),
        (
            &serde_json::json!("R-CODE"),
            &serde_json::json!("4"),
            &serde_json::json!("2026-01-31"),
            &serde_json::json!(59)
        )
    );
    let md = std::fs::read_to_string(dir.path().join("report-2026-03/report-2026-03.md")).unwrap();
    assert!(md.contains("### 整改情况"), "{md}");
    assert!(
        md.contains("| 合计 | 2 | 2 | 0 | 0 | 0 | 0 | 1 | 100.0% | 1 | 0 | 0 |"),
        "{md}"
    );
    let o = run(&[
        "problems",
        "--store",
        &s(&store),
        "--format",
        "json",
        "--status",
        "open",
    ]);
    let doc: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(
        doc["problems"][0]["reply"],
        serde_json::json!(["correct", "档案原件如此"])
    );

    // The center accepts 乙's explanation of 4's code: in the next run the record is exempt
    // from R-CODE (not applicable, not failed) and the problem stays accepted. A fixed
    // problem cannot be accepted, nor an unknown one; nothing changes then.
    let id = |record: &str, rule: &str| -> String {
        let o = run(&["problems", "--store", &s(&store), "--format", "json"]);
        let doc: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
        doc["problems"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["record"] == record && p["rule"] == rule)
            .unwrap()["id"]
            .to_string()
    };
    let accept = |ids: &[&str]| {
        let mut args = vec!["problems", "accept"];
        args.extend_from_slice(ids);
        args.extend_from_slice(&["--reason", "历史档案如此", "--store"]);
        let store = s(&store);
        args.push(&store);
        code(&run(&args))
    };
    let (open, fixed) = (id("4", "R-CODE"), id("3", "R-CODE"));
    assert_eq!(accept(&[&open, &fixed]), 2);
    assert_eq!(accept(&[&open, "99999"]), 2);
    assert_eq!(statuses(&["--status", "accepted"]), want(&[]));
    assert_eq!(accept(&[&open]), 0);
    month("2026-04-30", months[2].1);
    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("out-2026-04-30/summary.json")).unwrap(),
    )
    .unwrap();
    let code_rule = summary["tables"][0]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "R-CODE")
        .unwrap();
    assert_eq!(
        (&code_rule["applicable_rows"], &code_rule["failed_rows"]),
        (&serde_json::json!(4), &serde_json::json!(0))
    );
    // The summary lists the exemption the acceptance made.
    let exemptions = &summary["tables"][0]["exemptions"];
    assert_eq!(exemptions[0]["rules"], serde_json::json!(["R-CODE"]));
    assert_eq!(exemptions[0]["keys"], 1);
    assert_eq!(exemptions[0]["expired"], false);
    assert_eq!(
        statuses(&["--status", "accepted"]),
        want(&[("4", "R-CODE", "accepted")])
    );
    // April: 4's code, reported in March, is accepted; nothing waits any more. Rebuilt after
    // later runs, February's and March's sections are as they were.
    let april = report("2026-04");
    assert_eq!(
        moved(&april),
        vec![("乙".to_string(), [1, 0, 0, 1, 0, 0, 0, 0, 0, 0])]
    );
    assert_eq!(april["providers"][0]["rate"].as_f64(), Some(0.0));
    let trend: Vec<Option<u64>> = april["providers"][0]["trend"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["movement"]["open"].as_u64())
        .collect();
    let mut want_trend = vec![None; 8];
    want_trend.extend([Some(3), Some(1), Some(1), Some(0)]);
    assert_eq!(trend, want_trend);
    assert_eq!(report("2026-02"), february);
    assert_eq!(report("2026-03"), march);
}

/// What a record of the scripted history is in a month: not delivered, clean, or failing
/// one rule.
#[derive(Clone, Copy, PartialEq)]
enum Fate {
    Absent,
    Clean,
    BadCode,
    NoName,
}

/// Record `i`'s fate in month `m` (1 to 4), by its class `i % 10`: 0 fails all along; 1 is
/// fixed in month 2; 2 vanishes in month 2 and comes back clean in month 3; 3 fails another
/// rule in months 2 and 3; 4 is fixed in month 2 and fails again from month 3; 5 vanishes
/// for good in month 2; 6 to 9 are clean.
fn fate(i: usize, m: usize) -> Fate {
    use Fate::{Absent, BadCode, Clean, NoName};
    match (i % 10, m) {
        (0, _) | (1 | 2 | 4 | 5, 1) | (4, 3 | 4) => BadCode,
        (2 | 5, 2) | (5, _) => Absent,
        (3, 2 | 3) => NoName,
        _ => Clean,
    }
}

/// Four months of a scripted registry of 3,000 records from three providers (each class of
/// [`fate`] holds 100 records of each provider), with replies of every kind to the second
/// month's feedback and a quarter of the 确认无误 replies accepted: every provider's
/// rectification figures each month, and the problems' statuses at the end, are those the
/// script implies.
#[test]
fn rectification_follows_a_scripted_history() {
    const RECORDS: usize = 3000;
    const ORGS: [&str; 3] = ["甲", "乙", "丙"];
    let dir = tempfile::tempdir().unwrap();
    write_registry_pack(dir.path());
    let store = dir.path().join("qc.db");
    let months = ["2026-05-31", "2026-06-30", "2026-07-31", "2026-08-31"];
    let audit = |m: usize| {
        let mut csv = String::from("id,org,name,code\n");
        for i in 0..RECORDS {
            let (name, code) = match fate(i, m) {
                Fate::Absent => continue,
                Fate::Clean => ("张三", "123456"),
                Fate::BadCode => ("张三", "12X"),
                Fate::NoName => ("", "123456"),
            };
            writeln!(csv, "{i},{},{name},{code}", ORGS[i % 3]).unwrap();
        }
        std::fs::write(dir.path().join("t.csv"), csv).unwrap();
        let o = run_registry(dir.path(), &format!("out-{m}"), months[m - 1]);
        assert_eq!(code(&o), 1, "{}", stderr(&o));
    };
    audit(1);
    audit(2);
    // Replies to the second month's feedback: class 0 answers 确认无误 (i % 20 == 0) or
    // 无法整改 (i % 20 == 10); class 3 says 已整改 and still fails in month 3.
    let feedback = dir.path().join("feedback");
    let o = run(&["feedback", "--store", &s(&store), "--out", &s(&feedback)]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let mut answered = Vec::new();
    for org in ORGS {
        let file = dir.path().join(format!("reply-{org}.xlsx"));
        rewrite_reply(
            &feedback.join(format!("{org}.xlsx")),
            &file,
            |_, lines| {
                assert_eq!(lines.len(), 1 + 200, "class 0 and 3 of {org}");
                for line in &mut lines[1..] {
                    let i: usize = line[2].parse().unwrap();
                    line[11] = match (i % 10, i % 20) {
                        (0, 0) => "确认无误",
                        (0, 10) => "无法整改",
                        (3, _) => "已整改",
                        _ => "",
                    }
                    .to_string();
                }
            },
            false,
        );
        answered.push(s(&file));
    }
    let mut args = vec!["feedback", "import"];
    args.extend(answered.iter().map(String::as_str));
    let store_arg = s(&store);
    args.extend(["--store", &store_arg]);
    let o = run(&args);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    // The center accepts half of the 确认无误 (i % 40 == 0): exempt from month 3 on.
    let o = run(&[
        "problems", "--store", &store_arg, "--format", "json", "--rule", "R-CODE", "--status",
        "open",
    ]);
    let doc: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let accepted: Vec<String> = doc["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["record"].as_str().unwrap().parse::<usize>().unwrap() % 40 == 0)
        .map(|p| p["id"].to_string())
        .collect();
    assert_eq!(accepted.len(), 75);
    let mut args = vec!["problems", "accept"];
    args.extend(accepted.iter().map(String::as_str));
    args.extend(["--reason", "原始档案如此", "--store", &store_arg]);
    assert_eq!(code(&run(&args)), 0);
    audit(3);
    audit(4);

    // Per provider (the same for all three): reported, fixed, gone, accepted, still open,
    // new, open now, awaiting acceptance, said fixed but failing, cannot fix; and 整改率.
    let expected: [(&str, [u64; 10], Option<f64>); 4] = [
        // Classes 0, 1, 2, 4, 5 fail for the first time.
        ("2026-05", [0, 0, 0, 0, 0, 500, 500, 0, 0, 0], None),
        // Of those 500: 1 and 4 fixed, 2 and 5 gone, 0 still open; 3 new. The replies to
        // this month's feedback wait: 50 确认无误, 50 无法整改.
        (
            "2026-06",
            [500, 200, 200, 0, 100, 100, 200, 50, 0, 50],
            Some(0.4),
        ),
        // Of classes 0 and 3: 25 accepted, the rest open; 4 fails again; 25 确认无误 wait;
        // class 3 said 已整改 and fails.
        (
            "2026-07",
            [200, 0, 0, 25, 175, 0, 275, 25, 100, 50],
            Some(0.0),
        ),
        // Class 3 fixed at last; 0 (75) and 4 (100) still open.
        (
            "2026-08",
            [275, 100, 0, 0, 175, 0, 175, 25, 0, 50],
            Some(100.0 / 275.0),
        ),
    ];
    let mut total_open = Vec::new();
    for (month, figures, rate) in expected {
        let r = rectification(&store, &dir.path().join(format!("report-{month}")), month);
        let mut got = moved(&r);
        got.sort();
        let mut want: Vec<(String, [u64; 10])> =
            ORGS.iter().map(|o| ((*o).to_string(), figures)).collect();
        want.sort();
        assert_eq!(got, want, "{month}");
        for p in r["providers"].as_array().unwrap() {
            let got = p["rate"].as_f64();
            assert_eq!(got.is_some(), rate.is_some(), "{month}");
            assert!(
                got.zip(rate).is_none_or(|(a, b)| (a - b).abs() < 1e-12),
                "{month}"
            );
        }
        assert_eq!(r["total"]["reported"].as_u64(), Some(3 * figures[0]));
        total_open.push(r["total"]["open"].as_u64().unwrap());
        // The trend ends with this month's figures.
        let last = &r["providers"][0]["trend"][11];
        assert_eq!(
            (&last["month"], last["movement"]["open"].as_u64()),
            (&serde_json::json!(month), Some(figures[6]))
        );
    }
    assert_eq!(total_open, [1500, 600, 825, 525]);
    // A reply to the second month's feedback about record 4 (乙's, class 4: failing in months
    // 1, 3 and 4 but fixed in month 2) is refused: it did not fail in that file's run.
    let o = run(&[
        "problems", "--store", &store_arg, "--format", "json", "--rule", "R-CODE",
    ]);
    let doc: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let four = doc["problems"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["record"] == "4")
        .unwrap()["id"]
        .to_string();
    let forged = dir.path().join("forged.xlsx");
    rewrite_reply(
        &feedback.join("乙.xlsx"),
        &forged,
        |_, lines| {
            lines.truncate(2);
            lines[1][2] = "4".into();
            lines[1][4] = "R-CODE".into();
            lines[1][8].clone_from(&four);
            lines[1][11] = "已整改".into();
        },
        false,
    );
    let o = run(&["feedback", "import", &s(&forged), "--store", &store_arg]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!("problem {four} did not fail in run")),
        "{}",
        stderr(&o)
    );
    // The statuses at the end: 0 accepted (75) or open (225); 1, 2, 3 fixed; 4 open; 5 gone.
    let o = run(&["problems", "--store", &store_arg]);
    assert!(
        stdout(&o)
            .contains("问题 1,800 个：新增 0 · 未整改 525 · 已整改 900 · 已消失 300 · 已认可 75"),
        "{}",
        stdout(&o)
    );
}

/// A provider answers every line of a feedback workbook of 100,003 problems: all of them are
/// read and recorded, none dropped (a workbook with an edited line recording nothing is
/// checked by `problems_are_followed_from_run_to_run`).
#[test]
fn a_reply_of_100k_lines_is_recorded_whole() {
    const RECORDS: usize = 100_003;
    let dir = tempfile::tempdir().unwrap();
    write_registry_pack(dir.path());
    let mut csv = String::from("id,org,name,code\n");
    for i in 0..RECORDS {
        writeln!(csv, "{i},甲,张三,12X").unwrap();
    }
    std::fs::write(dir.path().join("t.csv"), csv).unwrap();
    let store = dir.path().join("qc.db");
    let o = run_registry(dir.path(), "out", "2026-11-30");
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let feedback = dir.path().join("feedback");
    let o = run(&["feedback", "--store", &s(&store), "--out", &s(&feedback)]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let whole = dir.path().join("whole.xlsx");
    rewrite_reply(
        &feedback.join("甲.xlsx"),
        &whole,
        |_, lines| {
            assert_eq!(lines.len(), 1 + RECORDS);
            for line in &mut lines[1..] {
                line[11] = "无法整改".into();
                line[12] = "系统迁移前的历史数据".into();
            }
        },
        false,
    );
    let replies = || -> i64 {
        rusqlite::Connection::open(&store)
            .unwrap()
            .query_row("SELECT count(*) FROM problem_reply", [], |r| r.get(0))
            .unwrap()
    };
    let o = run(&["feedback", "import", &s(&whole), "--store", &s(&store)]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(replies(), i64::try_from(RECORDS).unwrap());
}

/// Records without a provider get a feedback file of their own (未标明提供单位), and its
/// replies are that file's provider's: they are recorded.
#[test]
fn replies_to_the_feedback_of_records_without_a_provider_are_recorded() {
    let dir = tempfile::tempdir().unwrap();
    write_registry_pack(dir.path());
    std::fs::write(
        dir.path().join("t.csv"),
        "id,org,name,code\n1,,,123456\n2,,张三,12X\n3,甲,张三,123456\n",
    )
    .unwrap();
    let o = run_registry(dir.path(), "out", "2026-11-30");
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let store = dir.path().join("qc.db");
    let feedback = dir.path().join("feedback");
    let o = run(&["feedback", "--store", &s(&store), "--out", &s(&feedback)]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let answered = dir.path().join("answered.xlsx");
    rewrite_reply(
        &feedback.join("未标明提供单位.xlsx"),
        &answered,
        |summary, lines| {
            assert_eq!(summary[0][1], "未标明提供单位");
            assert_eq!(lines.len(), 3, "records 1 and 2");
            for line in &mut lines[1..] {
                line[11] = "无法整改".into();
            }
        },
        false,
    );
    let o = run(&["feedback", "import", &s(&answered), "--store", &s(&store)]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).contains("已记录 2 条答复"), "{}", stdout(&o));
}
