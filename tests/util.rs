use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use qc::results::summary::RunSummary;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The `qc` binary, run from the repository root.
pub fn qc() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_qc"));
    // The terminal summary's width and the run history's place come from the environment.
    c.current_dir(root())
        .env_remove(qc::results::store::STORE_ENV)
        .env_remove("COLUMNS");
    c
}

pub fn run(args: &[&str]) -> Output {
    qc().args(args).output().expect("qc runs")
}

pub fn code(o: &Output) -> i32 {
    o.status.code().expect("qc exits with a code")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Run an audit into `out` with `--format json`; return the exit code and the summary
/// read back from `summary.json` (after checking stdout holds the same document).
pub fn audit(pack: &str, out: &Path, extra: &[&str]) -> (i32, RunSummary) {
    let out_s = out.to_string_lossy().into_owned();
    // Each audit keeps its own run history, inside its output folder.
    let store = out.join("qc.db").to_string_lossy().into_owned();
    let mut args = vec![
        "run", "--rules", pack, "--out", &out_s, "--format", "json", "--store", &store,
    ];
    args.extend_from_slice(extra);
    let o = run(&args);
    let file = std::fs::read_to_string(out.join("summary.json"))
        .unwrap_or_else(|e| panic!("summary.json missing ({e}); stderr: {}", stderr(&o)));
    assert_eq!(stdout(&o), file, "stdout and summary.json differ");
    (
        code(&o),
        serde_json::from_str(&file).expect("summary.json parses"),
    )
}

/// The terminal summary of `qc run` on `pack`, run into `dir/text` with its own history.
pub fn terminal(pack: &str, dir: &Path, extra: &[&str]) -> String {
    let out = dir.join("text").to_string_lossy().into_owned();
    let store = dir.join("text.db").to_string_lossy().into_owned();
    let mut args = vec!["run", "--rules", pack, "--out", &out, "--store", &store];
    args.extend_from_slice(extra);
    stdout(&run(&args))
}

/// The Markdown monthly report of `month` (`YYYY-MM`) from the run history `store`, written
/// under `out`.
pub fn report_md(store: &Path, month: &str, out: &Path) -> String {
    let o = run(&[
        "report",
        "--month",
        month,
        "--format",
        "md",
        "--store",
        &store.to_string_lossy(),
        "--out",
        &out.to_string_lossy(),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    std::fs::read_to_string(out.join(format!("report-{month}.md"))).expect("report written")
}

/// `qc feedback` of the newest run of the history `store`, into `out`.
pub fn feedback(store: &Path, out: &Path) {
    let o = run(&[
        "feedback",
        "--store",
        &store.to_string_lossy(),
        "--out",
        &out.to_string_lossy(),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
}

/// insta settings that hide what changes between runs: temp paths, timings, run ids.
pub fn settings(tmp: &Path) -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.add_filter(&regex::escape(&tmp.to_string_lossy()), "[TMP]");
    s.add_filter(r"用时 \d+\.\d 秒", "用时 [T] 秒");
    s.add_filter(r"\d+\.\d s;", "[T] s;");
    s.add_filter(r"\d{8}T\d{6}Z-[0-9a-f]{4}", "[RUN-ID]");
    s.add_filter(
        r#""(started_at|finished_at)": "[^"]+""#,
        r#""$1": "[TIME]""#,
    );
    s.add_filter(r#""elapsed_ms": \d+"#, r#""elapsed_ms": "[MS]""#);
    s.add_filter(r#""qc_version": "[^"]+""#, r#""qc_version": "[V]""#);
    s.set_prepend_module_to_snapshot(false);
    s
}

/// All rows of a Parquet file, each rendered as one line (sorted), for set comparisons.
pub fn parquet_rows(path: &Path) -> Vec<String> {
    parquet_rows_except(path, &[])
}

/// [`parquet_rows`] without the columns named in `left_out`.
pub fn parquet_rows_except(path: &Path, left_out: &[&str]) -> Vec<String> {
    use arrow::util::display::{ArrayFormatter, FormatOptions};
    let file = std::fs::File::open(path).expect("anomaly file opens");
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .expect("parquet")
        .build()
        .expect("reader");
    let mut rows = Vec::new();
    for batch in reader {
        let batch = batch.expect("batch");
        let opts = FormatOptions::default().with_null("∅");
        let fmts: Vec<_> = batch
            .columns()
            .iter()
            .zip(batch.schema().fields())
            .filter(|(_, f)| !left_out.contains(&f.name().as_str()))
            .map(|(c, _)| ArrayFormatter::try_new(c.as_ref(), &opts).expect("fmt"))
            .collect();
        for i in 0..batch.num_rows() {
            let cells: Vec<String> = fmts.iter().map(|f| f.value(i).to_string()).collect();
            rows.push(cells.join("|"));
        }
    }
    rows.sort();
    rows
}

/// A headless browser for page tests (Debian's Chromium): `None` skips the test on a machine
/// without one, but under CI (where `.ci/run` installs it) a missing browser fails.
pub fn browser() -> Option<&'static str> {
    let found = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| {
            Command::new(b)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        });
    if found.is_none() {
        assert!(
            std::env::var("CI").is_err(),
            "CI must install chromium (see .ci/run)"
        );
        #[allow(clippy::print_stderr)] // the skip must show in the test log
        {
            eprintln!("skipped: no chromium on this machine");
        }
    }
    found
}
