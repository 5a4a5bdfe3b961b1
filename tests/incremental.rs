//! Incremental runs: after any sequence of file additions, in-place rewrites, deletions,
//! pack edits and run-date changes, a run that reuses what the previous run left reports
//! what a full run over the same files reports, and exports the same anomalous rows. The
//! marriage and death packs are used: row rules, rules on the run date, set-based rules, a
//! rule of the death library that reads the marriage library, and table checks.

use std::path::{Path, PathBuf};

use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;

use crate::util::{parquet_rows, qc, root, stderr};

/// Rows per delivered file.
const CHUNK: usize = 1_500;

/// The testdata table at `path` cut into chunks of [`CHUNK`] rows.
fn chunks(path: &Path) -> Vec<RecordBatch> {
    let file = std::fs::File::open(path).unwrap();
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .with_batch_size(CHUNK)
        .build()
        .unwrap();
    reader.map(Result::unwrap).collect()
}

fn write_parquet(path: &Path, batch: &RecordBatch) {
    let tmp = path.with_extension("tmp");
    let file = std::fs::File::create(&tmp).unwrap();
    let mut w = ArrowWriter::try_new(file, batch.schema(), None).unwrap();
    w.write(batch).unwrap();
    w.close().unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// A landing folder per table, its files each holding one chunk of the table's rows.
struct Landing {
    dir: PathBuf,
    pool: Vec<RecordBatch>,
    files: Vec<String>,
    next: usize,
}

impl Landing {
    fn new(dir: PathBuf, source: &Path, initial: usize) -> Landing {
        std::fs::create_dir_all(&dir).unwrap();
        let mut l = Landing {
            dir,
            pool: chunks(source),
            files: Vec::new(),
            next: 0,
        };
        for i in 0..initial {
            l.add(i);
        }
        l
    }

    fn add(&mut self, chunk: usize) {
        let name = format!("part-{:03}.parquet", self.next);
        self.next += 1;
        write_parquet(&self.dir.join(&name), &self.pool[chunk % self.pool.len()]);
        self.files.push(name);
    }

    /// Rewrite a file in place with other rows, keeping its modification time: only its
    /// content tells the change.
    fn rewrite(&mut self, which: usize, chunk: usize) {
        let Some(name) = self.files.get(which % self.files.len().max(1)).cloned() else {
            return;
        };
        let path = self.dir.join(&name);
        let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
        write_parquet(&path, &self.pool[chunk % self.pool.len()]);
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(modified)
            .unwrap();
    }

    fn delete(&mut self, which: usize) {
        if self.files.len() > 1 {
            let name = self.files.remove(which % self.files.len());
            std::fs::remove_file(self.dir.join(name)).unwrap();
        }
    }

    fn glob(&self) -> String {
        self.dir.join("*.parquet").to_string_lossy().into_owned()
    }
}

/// The marriage and death packs, copied so a step can edit them.
fn packs(dir: &Path) -> PathBuf {
    let rules = dir.join("rules");
    std::fs::create_dir_all(rules.join("codelists")).unwrap();
    for f in ["marriage.yaml", "death.yaml"] {
        std::fs::copy(root().join("rules").join(f), rules.join(f)).unwrap();
    }
    for e in std::fs::read_dir(root().join("rules/codelists")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), rules.join("codelists").join(e.file_name())).unwrap();
    }
    rules
}

/// The certificate-number rule, as shipped and as a step edits it (no `BL` prefix).
const SHIPPED: &str = "(J|L|BJ|BL)\\d{6}";
const EDITED: &str = "(J|L|BJ)\\d{6}";

struct Audit<'a> {
    rules: &'a Path,
    marriage: &'a Landing,
    death: &'a Landing,
    as_of: &'a str,
}

impl Audit<'_> {
    /// Run qc into `out` with `store`; the summary.
    fn run(&self, store: &Path, out: &Path, full: bool) -> Value {
        let mut c = qc();
        c.args([
            "run",
            "--rules",
            &self.rules.join("marriage.yaml").to_string_lossy(),
            &self.rules.join("death.yaml").to_string_lossy(),
            "--data",
            &format!("marriage.registration={}", self.marriage.glob()),
            "--data",
            &format!("death.record={}", self.death.glob()),
            "--store",
            &store.to_string_lossy(),
            "--out",
            &out.to_string_lossy(),
            "--as-of",
            self.as_of,
            "--format",
            "json",
            "--threads",
            "2",
        ]);
        if full {
            c.arg("--full");
        }
        let o = c.output().unwrap();
        let text = std::fs::read_to_string(out.join("summary.json"))
            .unwrap_or_else(|e| panic!("summary.json missing ({e}); stderr: {}", stderr(&o)));
        serde_json::from_str(&text).unwrap()
    }
}

/// What must be equal between an incremental and a full run: every table's figures (its
/// rules, providers, table checks and verdict), without times, run ids and what was reused.
fn figures(summary: &Value) -> Value {
    let mut s = summary.clone();
    for key in ["run_id", "started_at", "finished_at"] {
        s.as_object_mut().unwrap().remove(key);
    }
    for t in s["tables"].as_array_mut().unwrap() {
        let t = t.as_object_mut().unwrap();
        for key in ["elapsed_ms", "reuse", "anomalies_file"] {
            t.remove(key);
        }
    }
    s
}

fn export(out: &Path, table: &str) -> Vec<String> {
    let path = out.join("anomalies").join(format!("{table}.parquet"));
    if path.exists() {
        parquet_rows(&path)
    } else {
        Vec::new()
    }
}

fn reuse(summary: &Value, table: usize) -> (u64, u64) {
    let r = &summary["tables"][table]["reuse"];
    (
        r["files_read"].as_u64().unwrap_or(0),
        r["files_reused"].as_u64().unwrap_or(0),
    )
}

/// Random sequences of changes, each followed by an incremental run and a full run on the
/// same files (each with its own history): figures and exports are equal at every step.
#[test]
fn incremental_runs_equal_full_runs_through_random_changes() {
    let tmp = tempfile::tempdir().unwrap();
    let rules = packs(tmp.path());
    let mut marriage = Landing::new(
        tmp.path().join("landing/marriage"),
        &root().join("testdata/marriage/registration.parquet"),
        6,
    );
    let mut death = Landing::new(
        tmp.path().join("landing/death"),
        &root().join("testdata/death/record.parquet"),
        6,
    );
    let incremental_store = tmp.path().join("incremental.db");
    let full_store = tmp.path().join("full.db");
    let mut rng = StdRng::seed_from_u64(17);
    let mut as_of = "2026-11-30";
    let (mut reused_steps, mut unchanged_steps) = (0, 0);
    for step in 0..14 {
        // Step 0 is the first run; step 1 changes nothing.
        let op = if step < 2 { 99 } else { rng.random_range(0..6) };
        let pick = rng.random_range(0..100usize);
        let chunk = rng.random_range(0..100usize);
        let landing = if rng.random_bool(0.5) {
            &mut marriage
        } else {
            &mut death
        };
        match op {
            // A new delivery: its rows may repeat an earlier file's (duplicates, bigamy).
            0 | 1 => landing.add(chunk),
            2 => landing.rewrite(pick, chunk),
            3 => landing.delete(pick),
            4 => {
                let marriage_pack = rules.join("marriage.yaml");
                let text = std::fs::read_to_string(&marriage_pack).unwrap();
                let edited = if text.contains(SHIPPED) {
                    text.replace(SHIPPED, EDITED)
                } else {
                    text.replace(EDITED, SHIPPED)
                };
                assert_ne!(text, edited, "the pack edit changes the pack");
                std::fs::write(&marriage_pack, edited).unwrap();
            }
            5 => {
                as_of = if as_of == "2026-11-30" {
                    "2024-01-15"
                } else {
                    "2026-11-30"
                }
            }
            _ => {}
        }
        let audit = Audit {
            rules: &rules,
            marriage: &marriage,
            death: &death,
            as_of,
        };
        let inc_out = tmp.path().join(format!("inc-{step}"));
        let full_out = tmp.path().join(format!("full-{step}"));
        let inc = audit.run(&incremental_store, &inc_out, false);
        let full = audit.run(&full_store, &full_out, true);
        assert_eq!(
            figures(&inc),
            figures(&full),
            "step {step} (op {op}): figures differ"
        );
        for table in ["marriage.registration", "death.record"] {
            assert_eq!(
                export(&inc_out, table),
                export(&full_out, table),
                "step {step} (op {op}): {table}'s anomaly export differs"
            );
        }
        let (read, reused) = reuse(&inc, 0);
        let (read_d, reused_d) = reuse(&inc, 1);
        // What each step read shows in a failing test's log.
        #[allow(clippy::print_stderr)]
        {
            eprintln!(
                "step {step} op {op}: marriage read {read} reused {reused} ({}), death read {read_d} reused {reused_d} ({})",
                inc["tables"][0]["reuse"]["read_whole"], inc["tables"][1]["reuse"]["read_whole"]
            );
        }
        if reused + reused_d > 0 {
            reused_steps += 1;
        }
        if step == 1 {
            assert_eq!((read, read_d), (0, 0), "nothing changed: nothing is read");
            unchanged_steps += 1;
        }
        assert_eq!(
            reuse(&full, 0).1 + reuse(&full, 1).1,
            0,
            "--full reuses nothing"
        );
    }
    assert_eq!(unchanged_steps, 1);
    assert!(
        reused_steps >= 4,
        "only {reused_steps} incremental runs reused anything: the test exercises too little"
    );
}

/// A run killed at random points (SIGKILL) leaves nothing that a later incremental run
/// would wrongly reuse: the run after it equals a full run.
#[test]
fn a_killed_incremental_run_leaves_nothing_wrong_to_reuse() {
    let tmp = tempfile::tempdir().unwrap();
    let rules = packs(tmp.path());
    let mut marriage = Landing::new(
        tmp.path().join("landing/marriage"),
        &root().join("testdata/marriage/registration.parquet"),
        5,
    );
    let death = Landing::new(
        tmp.path().join("landing/death"),
        &root().join("testdata/death/record.parquet"),
        5,
    );
    let store = tmp.path().join("qc.db");
    let audit = |marriage: &Landing, out: &str, store: &Path, full: bool| {
        Audit {
            rules: &rules,
            marriage,
            death: &death,
            as_of: "2026-11-30",
        }
        .run(store, &tmp.path().join(out), full)
    };
    audit(&marriage, "first", &store, false);
    let started = std::time::Instant::now();
    audit(&marriage, "timed", &store, false);
    let span = started.elapsed();
    let mut rng = StdRng::seed_from_u64(5);
    for i in 0..6u32 {
        marriage.add(rng.random_range(0..100));
        marriage.rewrite(rng.random_range(0..100), rng.random_range(0..100));
        let mut child = qc()
            .args([
                "run",
                "--rules",
                &rules.join("marriage.yaml").to_string_lossy(),
                &rules.join("death.yaml").to_string_lossy(),
                "--data",
                &format!("marriage.registration={}", marriage.glob()),
                "--data",
                &format!("death.record={}", death.glob()),
                "--store",
                &store.to_string_lossy(),
                "--out",
                &tmp.path().join(format!("killed-{i}")).to_string_lossy(),
                "--as-of",
                "2026-11-30",
                "--quiet",
            ])
            .spawn()
            .unwrap();
        std::thread::sleep(span.mul_f64(rng.random_range(0.05..1.1)));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        // The full run gets the same history (table checks compare with earlier runs).
        let full_store = tmp.path().join(format!("full-{i}.db"));
        std::fs::copy(&store, &full_store).unwrap();
        let out = format!("after-{i}");
        let inc = audit(&marriage, &out, &store, false);
        let full = audit(&marriage, &format!("full-{i}"), &full_store, true);
        assert_eq!(
            figures(&inc),
            figures(&full),
            "after kill {i}: figures differ"
        );
        for table in ["marriage.registration", "death.record"] {
            assert_eq!(
                export(&tmp.path().join(&out), table),
                export(&tmp.path().join(format!("full-{i}")), table),
                "after kill {i}: {table}'s export differs"
            );
        }
    }
}
