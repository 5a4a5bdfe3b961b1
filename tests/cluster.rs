//! `qc run --cluster`: a real cluster — `qc scheduler` and two `qc executor` processes on
//! 127.0.0.1 — audits every shipped pack on generated data with exactly the counts of the
//! generator's truth and of a local run, and writes the same anomaly exports. A stock Ballista
//! cluster, which lacks qc's functions, yields an error that names the function.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use qc::results::summary::{RunSummary, TableSummary};

use crate::truth::{TOGETHER, assert_matches_truth, generate_together, parquet_overrides};
use crate::util::{audit, code, parquet_rows_except, qc, root, run, stderr};
use qc::execute::export::{SOURCE_FILE, SOURCE_ROW};

/// Child processes killed when dropped (a failing test leaves no server behind).
struct Processes(Vec<Child>);

impl Drop for Processes {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Wait until something listens on `port`.
fn wait_for(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_mins(1);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "{what} did not start on port {port}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A scheduler and two executors (one core each), as separate `qc` processes.
fn start_cluster(dir: &Path) -> (Processes, String) {
    let scheduler_port = free_port();
    let mut processes = Processes(Vec::new());
    let spawn = |c: &mut Command| {
        c.stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("qc starts")
    };
    let port = scheduler_port.to_string();
    processes.0.push(spawn(qc().args([
        "scheduler",
        "--host",
        "127.0.0.1",
        "--port",
        &port,
    ])));
    wait_for(scheduler_port, "the scheduler");
    for i in 0..2 {
        let (flight, grpc) = (free_port(), free_port());
        let work = dir.join(format!("executor{i}"));
        std::fs::create_dir_all(&work).unwrap();
        processes.0.push(spawn(qc().args([
            "executor",
            "--scheduler",
            &format!("127.0.0.1:{scheduler_port}"),
            "--host",
            "127.0.0.1",
            "--port",
            &flight.to_string(),
            "--grpc-port",
            &grpc.to_string(),
            "--work-dir",
            &work.to_string_lossy(),
            "--cores",
            "1",
            "--memory-limit",
            "1GiB",
        ])));
        wait_for(flight, "an executor");
    }
    (processes, format!("df://127.0.0.1:{scheduler_port}"))
}

/// What must agree between a local and a cluster run of a table (everything but timings and
/// what was reused: a cluster run reads every file).
fn counts_of(t: &TableSummary) -> serde_json::Value {
    let mut v = serde_json::to_value(t).unwrap();
    if let Some(o) = v.as_object_mut() {
        o.remove("elapsed_ms");
        o.remove("reuse");
    }
    v
}

#[test]
fn every_shipped_pack_on_a_cluster_matches_truth_and_the_local_run() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let truths = generate_together(&data, "12000", "360", "parquet");
    let overrides = parquet_overrides(&data);
    let rules = root().join("rules").to_string_lossy().into_owned();
    let mut args: Vec<&str> = overrides.iter().map(String::as_str).collect();
    args.extend(["--as-of", "2026-11-01", "--threads", "2"]);

    let (local_code, local) = audit(&rules, &dir.path().join("local"), &args);
    let (_cluster, url) = start_cluster(dir.path());
    let mut cluster_args = args.clone();
    cluster_args.extend(["--cluster", &url]);
    let (cluster_code, remote) = audit(&rules, &dir.path().join("cluster"), &cluster_args);

    assert_eq!(cluster_code, local_code, "same exit code");
    assert_eq!(remote.status, local.status);
    assert_eq!(remote.tables.len(), TOGETHER.len());
    for (i, (library, table)) in TOGETHER.iter().enumerate() {
        let find = |s: &RunSummary| {
            s.tables
                .iter()
                .find(|t| t.library == *library && t.name == *table)
                .cloned()
                .unwrap()
        };
        let (l, c) = (find(&local), find(&remote));
        let one = |t: &TableSummary| RunSummary {
            tables: vec![t.clone()],
            ..remote.clone()
        };
        assert_matches_truth(&one(&c), &truths[i]);
        assert_eq!(
            counts_of(&c),
            counts_of(&l),
            "{library}.{table}: cluster vs local"
        );
        // The same rows with the same values and failed rules; the embedded engine also
        // says where each Parquet row is, which a cluster's scan cannot.
        let export = |root: &str, t: &TableSummary| {
            parquet_rows_except(
                &dir.path()
                    .join(root)
                    .join(t.anomalies_file.as_ref().unwrap()),
                &[SOURCE_FILE, SOURCE_ROW],
            )
        };
        assert_eq!(
            export("cluster", &c),
            export("local", &l),
            "{library}.{table}: anomaly exports"
        );
    }
    // The cluster run is in the history like any other.
    let o = run(&[
        "runs",
        "--store",
        &dir.path().join("cluster/qc.db").to_string_lossy(),
        "--format",
        "json",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains(&remote.run_id));
    // Nothing the executors wrote besides the exports is left in the output folder.
    let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("cluster/anomalies"))
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".parquet") || n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    assert!(
        !dir.path().join("cluster/.cluster").exists(),
        "scratch files removed"
    );
    // 1 and 3 partitions per stage: the same counts.
    for threads in ["1", "3"] {
        let mut other: Vec<&str> = overrides.iter().map(String::as_str).collect();
        other.extend([
            "--as-of",
            "2026-11-01",
            "--threads",
            threads,
            "--cluster",
            &url,
        ]);
        let (_, again) = audit(
            &rules,
            &dir.path().join(format!("cluster{threads}")),
            &other,
        );
        for t in &again.tables {
            let l = local
                .tables
                .iter()
                .find(|x| x.library == t.library && x.name == t.name)
                .unwrap();
            assert_eq!(
                counts_of(t),
                counts_of(l),
                "{} with {threads} partitions",
                t.name
            );
        }
    }
}

/// `qc run --rules PACK --cluster URL`, output and history inside `dir`.
fn run_on_cluster(pack: &str, dir: &Path, url: &str) -> std::process::Output {
    run(&[
        "run",
        "--rules",
        pack,
        "--out",
        &dir.join("out").to_string_lossy(),
        "--store",
        &dir.join("qc.db").to_string_lossy(),
        "--cluster",
        url,
    ])
}

#[test]
fn csv_tables_are_refused_by_name_on_a_cluster() {
    let dir = tempfile::tempdir().unwrap();
    // No cluster is needed to refuse: the check comes before any query.
    let o = run_on_cluster("testdata/cases/kinds.yaml", dir.path(), "df://127.0.0.1:9");
    assert_eq!(code(&o), 3, "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("reads CSV files"), "{err}");
    assert!(!dir.path().join("out/summary.json").exists());
}

#[test]
fn an_unreachable_scheduler_is_said_plainly() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("df://127.0.0.1:{}", free_port());
    let o = run_on_cluster("rules/spatial.yaml", dir.path(), &url);
    assert_eq!(code(&o), 3, "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains(&url) && err.contains("cannot reach the cluster's scheduler"),
        "{err}"
    );
    assert!(!dir.path().join("out/summary.json").exists());
}

/// A stock Ballista cluster (scheduler and one executor with Ballista's default functions,
/// none of qc's) in this test process; its `df://` address.
fn stock_cluster() -> (tokio::runtime::Runtime, String) {
    use ballista_core::serde::BallistaCodec;
    use ballista_core::serde::protobuf::scheduler_grpc_client::SchedulerGrpcClient;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let url = rt.block_on(async {
        let address = ballista_scheduler::standalone::new_standalone_scheduler()
            .await
            .unwrap();
        let scheduler =
            SchedulerGrpcClient::connect(format!("http://localhost:{}", address.port()))
                .await
                .unwrap();
        ballista_executor::new_standalone_executor(scheduler, 1, BallistaCodec::default())
            .await
            .unwrap();
        format!("df://localhost:{}", address.port())
    });
    (rt, url)
}

#[test]
fn a_cluster_without_qc_functions_is_named_in_the_error() {
    let (_stock, url) = stock_cluster();
    let dir = tempfile::tempdir().unwrap();
    let o = run_on_cluster("rules/spatial.yaml", dir.path(), &url);
    assert_eq!(code(&o), 3, "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("does not know qc's function `qc_"),
        "the error names the missing function: {err}"
    );
    assert!(!dir.path().join("out/summary.json").exists());
}
