//! `qc run` as users see it: the text summary (zh, en), summary.json, exit codes.

use crate::util::{audit, code, root, run, settings, stderr, stdout};

#[test]
fn text_summary_in_chinese_and_english() {
    let dir = tempfile::tempdir().unwrap();
    for lang in ["zh", "en"] {
        let out = dir.path().join(lang);
        let out_s = out.to_string_lossy().into_owned();
        let store = out.join("qc.db").to_string_lossy().into_owned();
        let o = run(&[
            "run",
            "--rules",
            "testdata/cases/kinds.yaml",
            "--out",
            &out_s,
            "--store",
            &store,
            "--lang",
            lang,
            "--threads",
            "2",
        ]);
        assert_eq!(code(&o), 1, "{}", stderr(&o));
        settings(dir.path())
            .bind(|| insta::assert_snapshot!(format!("run_text_{lang}"), stdout(&o)));
    }
}

#[test]
fn summary_json_schema() {
    let dir = tempfile::tempdir().unwrap();
    let (exit, _) = audit("testdata/cases/gbk.yaml", dir.path(), &["--threads", "1"]);
    assert_eq!(exit, 1);
    let text = std::fs::read_to_string(dir.path().join("summary.json")).unwrap();
    settings(dir.path()).bind(|| insta::assert_snapshot!("summary_json", text));
}

#[test]
fn the_readme_demo_passes_its_thresholds() {
    let dir = tempfile::tempdir().unwrap();
    let (exit, s) = audit("rules/spatial.yaml", dir.path(), &[]);
    assert_eq!(exit, 0, "the committed sample meets the pack's thresholds");
    let truth: qc::generate::truth::Truth = serde_json::from_str(
        &std::fs::read_to_string(root().join("testdata/spatial/truth.json")).unwrap(),
    )
    .unwrap();
    let (t, e) = (&s.tables[0], &truth.tables["address"]);
    assert_eq!((t.rows, t.anomalous_rows), (e.rows, e.anomalous_rows));
    for r in &t.rules {
        assert_eq!(r.failed_rows, e.rules[&r.id], "{}", r.id);
    }
}

#[test]
fn exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out").to_string_lossy().into_owned();
    let store = dir.path().join("qc.db").to_string_lossy().into_owned();
    // 2: a pack error.
    let o = run(&[
        "run",
        "--rules",
        "testdata/bad_packs/many_errors.yaml",
        "--out",
        &out,
        "--store",
        &store,
    ]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("error[unknown-column]"));
    assert!(!dir.path().join("summary.json").exists());
    // 3: the data cannot be read.
    let o = run(&[
        "run",
        "--rules",
        "testdata/bad_packs/missing_source.yaml",
        "--out",
        &out,
        "--store",
        &store,
    ]);
    assert_eq!(code(&o), 3, "{}", stderr(&o));
    // 2: usage.
    let o = run(&[
        "run",
        "--rules",
        "rules/spatial.yaml",
        "--data",
        "nosuchtable=x.parquet",
        "--out",
        &out,
        "--store",
        &store,
    ]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert_eq!(code(&run(&["run"])), 2);
    // 3: a corrupt Parquet file named in the error.
    let bad = dir.path().join("corrupt.parquet");
    std::fs::write(&bad, b"PAR1 this is not parquet").unwrap();
    let data = format!("address={}", bad.display());
    let o = run(&[
        "run",
        "--rules",
        "rules/spatial.yaml",
        "--data",
        &data,
        "--out",
        &out,
        "--store",
        &store,
    ]);
    assert_eq!(code(&o), 3);
    assert!(stderr(&o).contains("corrupt.parquet"), "{}", stderr(&o));
}

/// A run whose tables only warn passes (exit 0), unless `--fail-on warn`: then it fails
/// (exit 1, status `threshold_failed`) and says why; `summary.json` carries the worst
/// verdict and the policy for schedulers either way.
#[test]
fn fail_on_warn_fails_a_run_that_only_warns() {
    let dir = tempfile::tempdir().unwrap();
    let pack = dir.path().join("warn.yaml");
    std::fs::write(dir.path().join("w.csv"), "id,name\n1,张三\n2,\n").unwrap();
    std::fs::write(
        &pack,
        "library: { id: w, name: 警告测试库 }\n\
         tables:\n  - name: kinds\n    source: { path: w.csv }\n    key: [id]\n    columns:\n\
         \x20     - { name: id, type: int }\n\
         \x20     - { name: name, type: string }\n    rules:\n\
         \x20     - { id: W-1, name: 姓名不为空, dimension: 完整性, severity: warn, check: { not_null: { column: name } } }\n",
    )
    .unwrap();
    let pack = pack.to_string_lossy().into_owned();
    for (policy, exit, status) in [
        (None, 0, "passed"),
        (Some("error"), 0, "passed"),
        (Some("warn"), 1, "threshold_failed"),
    ] {
        let out = dir.path().join(policy.unwrap_or("default"));
        let mut args = vec![
            "run".to_string(),
            "--rules".into(),
            pack.clone(),
            "--out".into(),
            out.to_string_lossy().into_owned(),
            "--store".into(),
            dir.path().join("qc.db").to_string_lossy().into_owned(),
        ];
        if let Some(p) = policy {
            args.extend(["--fail-on".to_string(), p.to_string()]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = run(&args);
        assert_eq!(code(&o), exit, "{policy:?}: {}", stderr(&o));
        let summary: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap())
                .unwrap();
        assert_eq!(summary["verdict"], "warn");
        assert_eq!(summary["status"], status);
        assert_eq!(summary["exit_code"], exit);
        assert_eq!(summary["fail_on"], policy.unwrap_or("error"));
        assert_eq!(
            stdout(&o).contains("按 --fail-on warn，有警告的表也判为不通过"),
            policy == Some("warn"),
            "{}",
            stdout(&o)
        );
    }
}

#[test]
fn a_failed_run_leaves_no_summary() {
    let dir = tempfile::tempdir().unwrap();
    let (exit, _) = audit("testdata/cases/gbk.yaml", dir.path(), &[]);
    assert_eq!(exit, 1);
    assert!(dir.path().join("summary.json").exists());
    // Rerun into the same folder with unreadable data: the stale summary must go.
    let out = dir.path().to_string_lossy().into_owned();
    let store = dir.path().join("qc.db").to_string_lossy().into_owned();
    let o = run(&[
        "run",
        "--rules",
        "testdata/bad_packs/missing_source.yaml",
        "--out",
        &out,
        "--store",
        &store,
    ]);
    assert_eq!(code(&o), 3);
    let o = run(&[
        "run",
        "--rules",
        "rules/spatial.yaml",
        "--data",
        "address=Cargo.toml",
        "--out",
        &out,
        "--store",
        &store,
    ]);
    assert_ne!(code(&o), 0);
    assert!(
        !dir.path().join("summary.json").exists(),
        "a failed run must not leave a summary"
    );
}

/// Two runs into one output folder: the second is refused, naming the folder, and leaves the
/// first run's files alone; once the first is done, the folder is free again.
#[test]
fn a_second_run_into_a_busy_output_folder_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (exit, _) = audit("testdata/cases/gbk.yaml", dir.path(), &[]);
    assert_eq!(exit, 1);
    // Another run holds the folder (this test takes its lock, as a running qc does).
    let lock = std::fs::File::options()
        .write(true)
        .open(dir.path().join(qc::results::LOCK_FILE))
        .unwrap();
    lock.try_lock().unwrap();
    let out = dir.path().to_string_lossy().into_owned();
    let store = dir.path().join("qc.db").to_string_lossy().into_owned();
    let args = [
        "run",
        "--rules",
        "testdata/cases/gbk.yaml",
        "--out",
        &out,
        "--store",
        &store,
    ];
    let o = run(&args);
    assert_eq!(code(&o), 3, "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("another qc run is writing to this folder") && err.contains(&out),
        "{err}"
    );
    assert!(
        dir.path().join("summary.json").exists(),
        "the first run's summary stays"
    );
    drop(lock);
    assert_eq!(code(&run(&args)), 1, "the folder is free again");
}

/// Every command finds the run history the same way: after `qc run --out` anywhere, `qc runs`
/// from the same folder lists that run (both use `out/qc.db` there); `QC_STORE` moves the
/// history for both.
#[test]
fn the_run_history_is_found_the_same_way_by_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let pack = root().join("testdata/cases/gbk.yaml");
    let pack = pack.to_string_lossy();
    let here = |args: &[&str], store: Option<&std::path::Path>| {
        let mut c = crate::util::qc();
        c.current_dir(dir.path()).args(args);
        if let Some(store) = store {
            c.env(qc::results::store::STORE_ENV, store);
        }
        c.output().unwrap()
    };
    let first = dir.path().join("elsewhere/first");
    let first_s = first.to_string_lossy();
    let o = here(
        &["run", "--rules", &pack, "--out", &first_s, "--quiet"],
        None,
    );
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(dir.path().join("out/qc.db").exists());
    let listing = stdout(&here(&["runs"], None));
    assert!(listing.contains(first_s.as_ref()), "{listing}");

    let moved = dir.path().join("history.db");
    let second = dir.path().join("elsewhere/second");
    let second_s = second.to_string_lossy();
    let o = here(
        &["run", "--rules", &pack, "--out", &second_s, "--quiet"],
        Some(&moved),
    );
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let listing = stdout(&here(&["runs"], Some(&moved)));
    assert!(
        listing.contains(second_s.as_ref()) && !listing.contains(first_s.as_ref()),
        "{listing}"
    );
}

/// The terminal summary at 80 and 160 columns: names give way at 80, a threshold column says
/// why a rule passes or fails, and each table ends with its verdict.
#[test]
fn terminal_summary_fits_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    for columns in ["80", "160"] {
        let out = dir.path().join(columns);
        let o = crate::util::qc()
            .env("COLUMNS", columns)
            .args([
                "run",
                "--rules",
                "rules/building.yaml",
                "--out",
                &out.to_string_lossy(),
                "--store",
                &out.join("qc.db").to_string_lossy(),
                "--as-of",
                "2026-11-30",
            ])
            .output()
            .unwrap();
        let text = stdout(&o);
        let widest = text
            .lines()
            .filter(|l| l.starts_with("  BLD-0"))
            .map(unicode_width::UnicodeWidthStr::width)
            .max()
            .unwrap();
        if columns == "80" {
            assert!(widest <= 84, "{widest} columns:\n{text}");
        }
        assert!(text.contains("  结论："), "{text}");
        settings(dir.path()).bind(|| {
            insta::assert_snapshot!(format!("run_text_building_{columns}"), text);
        });
    }
}

/// `--data` carries source options that replace the pack's, for `qc run` and `qc check`: the
/// GBK sample named by a pack that says UTF-8 reads cleanly with `;encoding=gbk`.
#[test]
fn data_overrides_carry_source_options_for_run_and_check() {
    let dir = tempfile::tempdir().unwrap();
    let pack = "testdata/diagnostics/encoding-mismatch.yaml";
    let data = "people=testdata/cases/people_gbk.csv;encoding=gbk";
    let o = run(&["check", pack, "--data", data]);
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    assert!(!stdout(&o).contains("encoding-mismatch"), "{}", stdout(&o));
    let o = run(&["check", pack]);
    assert!(stdout(&o).contains("encoding-mismatch"), "{}", stdout(&o));
    // The same counts as the pack that declares GBK itself (testdata/cases/gbk.yaml).
    let (_, s) = audit(pack, dir.path(), &["--data", data]);
    let t = &s.tables[0];
    assert_eq!((t.rows, t.anomalous_rows), (4, 2));
    // A table the run does not have is a usage error for check too.
    let o = run(&["check", pack, "--data", "nosuch=x.csv"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("--data names no table `nosuch`"));
}
