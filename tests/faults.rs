//! Faults during a run (README "Guarantees"): a run killed at any moment, interrupted by
//! Ctrl-C, or writing to a full or read-only disk never leaves an output folder or a run-history
//! record that claims completeness. A run is complete when the store has committed it; its
//! folder's `summary.json` appears only after that.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{code, qc, run, stderr};

/// Marriage and death generated together into `dir` (about 3 s to audit in a test build).
fn generate(dir: &Path) {
    let o = run(&[
        "gen",
        "--library",
        "marriage,death",
        "--rows",
        "300000",
        "--anomalies",
        "3000",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
}

fn audit_command(data: &Path, out: &Path, store: &Path) -> Command {
    let mut c = qc();
    c.args([
        "run",
        "--rules",
        "rules/marriage.yaml",
        "rules/death.yaml",
        "--quiet",
        // Every run reads everything: a run reusing the previous one's results would end
        // before the faults reach it (incremental runs' faults: tests/incremental.rs).
        "--full",
    ])
    .arg("--data")
    .arg(format!(
        "marriage.registration={}",
        data.join("marriage/registration.parquet").display()
    ))
    .arg("--data")
    .arg(format!(
        "death.record={}",
        data.join("death/record.parquet").display()
    ))
    .arg("--out")
    .arg(out)
    .arg("--store")
    .arg(store)
    .stdout(Stdio::null())
    .stderr(Stdio::piped());
    c
}

fn wait_with_limit(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(
            started.elapsed() < limit,
            "qc did not stop within {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A committed run: its id, and per table its anomaly export and anomalous rows.
type StoredRun = (String, Vec<(Option<String>, u64)>);

/// The runs the store holds for the output folder `out` (checking the store's integrity).
fn stored_runs(store: &Path, out: &Path) -> Vec<StoredRun> {
    if !store.exists() {
        return Vec::new();
    }
    let db = rusqlite::Connection::open(store).unwrap();
    let integrity: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    let orphans: i64 = db
        .query_row(
            "SELECT count(*) FROM run_table WHERE run_id NOT IN (SELECT id FROM run)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(orphans, 0, "table records without their run");
    let mut stmt = db.prepare("SELECT id FROM run WHERE out_dir = ?1").unwrap();
    let ids: Vec<String> = stmt
        .query_map([out.to_string_lossy()], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    ids.into_iter()
        .map(|id| {
            let mut t = db
                .prepare("SELECT anomalies_file, anomalous_rows FROM run_table WHERE run_id = ?1")
                .unwrap();
            let tables = t
                .query_map([&id], |r| {
                    Ok((r.get(0)?, r.get::<_, i64>(1)?.unsigned_abs()))
                })
                .unwrap()
                .map(Result::unwrap)
                .collect();
            (id, tables)
        })
        .collect()
}

fn export_rows(path: &Path) -> u64 {
    let mut n = 0;
    qc::execute::export::read_export(path, |_| {
        n += 1;
        true
    })
    .unwrap_or_else(|e| panic!("{}: unreadable export: {e}", path.display()));
    n
}

/// The invariants after a run stopped at any point.
fn assert_consistent(out: &Path, store: &Path) {
    let runs = stored_runs(store, out);
    assert!(runs.len() <= 1, "one run per output folder");
    let summary = out.join("summary.json");
    if summary.exists() {
        let s: qc::results::summary::RunSummary =
            serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
        assert!(
            runs.iter().any(|(id, _)| *id == s.run_id),
            "summary.json of a run the history lacks"
        );
    }
    for (_, tables) in &runs {
        for (file, rows) in tables {
            if let Some(f) = file {
                assert_eq!(export_rows(&out.join(f)), *rows, "{f} of a committed run");
            }
        }
    }
    // Any export under its final name is whole (written under a temporary name, renamed).
    if let Ok(entries) = std::fs::read_dir(out.join("anomalies")) {
        for e in entries.flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "parquet") {
                export_rows(&p);
            }
        }
    }
}

/// Generate the data into `dir/data` and audit it once, uninterrupted, into `dir/full`
/// (history `dir/qc.db`): the data, the history and the run's wall time, the span to
/// interrupt runs within.
fn uninterrupted_run(dir: &Path) -> (PathBuf, PathBuf, Duration) {
    let data = dir.join("data");
    generate(&data);
    let store = dir.join("qc.db");
    let started = Instant::now();
    let full = audit_command(&data, &dir.join("full"), &store)
        .output()
        .unwrap();
    let span = started.elapsed();
    assert_eq!(
        full.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&full.stderr)
    );
    assert_consistent(&dir.join("full"), &store);
    (data, store, span)
}

#[test]
fn killed_at_any_point_nothing_claims_completeness() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, store, span) = uninterrupted_run(tmp.path());

    let kills = 14u32;
    let mut completed = 0;
    for i in 0..kills {
        let out = tmp.path().join(format!("kill-{i}"));
        let mut child = audit_command(&data, &out, &store).spawn().unwrap();
        // From the start to a little past the uninterrupted run's end.
        std::thread::sleep(span * (i + 1) / (kills - 2));
        let _ = child.kill(); // SIGKILL
        let status = child.wait().unwrap();
        if status.code().is_some() {
            completed += 1;
        }
        assert_consistent(&out, &store);
    }
    assert!(
        completed < kills,
        "no run was killed: the kill points missed the runs"
    );
    // The history is still usable: a further run commits.
    let after = audit_command(&data, &tmp.path().join("after"), &store)
        .output()
        .unwrap();
    assert_eq!(after.status.code(), Some(1));
    assert_eq!(stored_runs(&store, &tmp.path().join("after")).len(), 1);
}

#[test]
fn ctrl_c_stops_cleanly_and_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, store, span) = uninterrupted_run(tmp.path());
    let out = tmp.path().join("out");

    let mut child = audit_command(&data, &out, &store).spawn().unwrap();
    std::thread::sleep(span / 3);
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = wait_with_limit(&mut child, span * 4 + Duration::from_secs(10));
    let mut err = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(130), "stderr: {err}");
    assert!(err.contains("interrupted (Ctrl-C)"), "{err}");
    assert!(!out.join("summary.json").exists());
    assert!(
        !out.join("anomalies").exists(),
        "exports of an interrupted run"
    );
    assert!(stored_runs(&store, &out).is_empty());
}

/// A small tmpfs mounted at `dir` for the test's life (the only way to get a full or
/// read-only disk; needs root, which CI runs as).
struct Mount(PathBuf);

impl Mount {
    fn new(dir: &Path, options: &str) -> Option<Mount> {
        std::fs::create_dir_all(dir).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", options, "tmpfs"])
            .arg(dir)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must be able to mount a tmpfs (run as root)"
            );
            #[allow(clippy::print_stderr)] // the skip must show in the test log
            {
                eprintln!("skipped: cannot mount a tmpfs here (not root)");
            }
            return None;
        }
        Some(Mount(dir.to_path_buf()))
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// Fill `dir` until about `leave` bytes are free.
fn fill(dir: &Path, leave: u64) {
    let probe = Command::new("df")
        .args(["--output=avail", "-B1"])
        .arg(dir)
        .output()
        .unwrap();
    let avail: u64 = String::from_utf8_lossy(&probe.stdout)
        .lines()
        .nth(1)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let filler = vec![0u8; usize::try_from(avail.saturating_sub(leave)).unwrap()];
    std::fs::write(dir.join("filler"), filler).unwrap();
}

fn small_run(out: &Path, store: &Path) -> std::process::Output {
    run(&[
        "run",
        "--rules",
        "rules/marriage.yaml",
        "--out",
        out.to_str().unwrap(),
        "--store",
        store.to_str().unwrap(),
        "--quiet",
    ])
}

#[test]
fn full_disk_for_exports_is_exit_3_and_leaves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(_m) = Mount::new(&tmp.path().join("disk"), "size=4m") else {
        return;
    };
    fill(&tmp.path().join("disk"), 16 * 1024);
    let out = tmp.path().join("disk/out");
    let store = tmp.path().join("qc.db");
    let o = small_run(&out, &store);
    assert_eq!(code(&o), 3, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("No space left on device"),
        "{}",
        stderr(&o)
    );
    assert!(!out.join("summary.json").exists());
    assert!(!out.join("anomalies").exists());
    assert!(stored_runs(&store, &out).is_empty());
}

#[test]
fn full_disk_for_the_run_history_is_exit_3_and_leaves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(_m) = Mount::new(&tmp.path().join("disk"), "size=4m") else {
        return;
    };
    let store = tmp.path().join("disk/qc.db");
    // A first run creates the store while there is room; then the disk fills up.
    let o = small_run(&tmp.path().join("first"), &store);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    fill(&tmp.path().join("disk"), 4 * 1024);
    let out = tmp.path().join("out");
    let o = small_run(&out, &store);
    assert_eq!(code(&o), 3, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("qc.db"),
        "names the store: {}",
        stderr(&o)
    );
    assert!(!out.join("summary.json").exists());
    assert!(!out.join("anomalies").exists());
}

#[test]
fn read_only_output_or_history_is_exit_3() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(_m) = Mount::new(&tmp.path().join("ro"), "ro,size=1m") else {
        return;
    };
    let ro = tmp.path().join("ro");
    let o = small_run(&ro.join("out"), &tmp.path().join("qc.db"));
    assert_eq!(code(&o), 3, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("Read-only file system"),
        "{}",
        stderr(&o)
    );
    assert!(
        stderr(&o).contains(&ro.join("out").display().to_string()),
        "{}",
        stderr(&o)
    );

    let out = tmp.path().join("out");
    let o = small_run(&out, &ro.join("qc.db"));
    assert_eq!(code(&o), 3, "{}", stderr(&o));
    assert!(stderr(&o).contains("qc.db"), "{}", stderr(&o));
    assert!(!out.join("summary.json").exists());
}
