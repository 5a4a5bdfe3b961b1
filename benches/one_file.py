#!/usr/bin/env python3
"""One big file on every core: the address table as ONE file, audited on 1 and on 2 cores.

Three files of the same generated rows (`qc gen --library spatial`):
  - a UTF-8 CSV file and a GBK CSV file (cut at record boundaries for the cores);
  - a Parquet file written as ONE row group (`--row-group-rows` = the rows), which is cut into
    slices of that group.

Each is audited with the shipped spatial pack
  - on one core: `taskset -c 0`, `--threads 1`;
  - with `--threads 1` on every core (the CSV reader runs on a thread of its own beside the
    worker, so this is not one core's work);
  - with `--threads 2` on every core.
Every run's counts (rows, anomalous rows, each rule) are checked against the generator's
truth.json before any figure is printed, and the runs of one file must give equal summaries
and equal anomaly exports (sorted-row digests).
Figures are whole-process medians; one JSON line per invocation goes to
benches/results/one_file.jsonl.

    python3 benches/one_file.py --rows 10000000 --runs 3      (just bench-one-file)
"""

import argparse
import json
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from incremental import DIGEST, check, export_digest, figures  # noqa: E402
from sets import QC, alone, ROOT, SCRATCH, record, sh, timed_run  # noqa: E402

TABLE = "spatial.address"
MODES = {
    "1 core, --threads 1": (["taskset", "-c", "0"], 1),
    "2 cores, --threads 1": ([], 1),
    "2 cores, --threads 2": ([], 2),
}


def generate(rows):
    """The three files of `rows` generated rows, and their truth."""
    files = {}
    for name, args, file in [
        ("csv_utf8", ["--format", "csv"], "address.csv"),
        ("csv_gbk", ["--format", "csv", "--encoding", "gbk"], "address.csv"),
        ("parquet_one_group", ["--row-group-rows", str(rows)], "address.parquet"),
    ]:
        d = SCRATCH / f"one_file_{rows}_{name}"
        if not (d / "truth.json").exists():
            shutil.rmtree(d, ignore_errors=True)
            sh([str(QC), "gen", "--library", "spatial", "--rows", str(rows), "--seed", "7",
                "--anomalies", "1336", "--out", str(d), *args], stdout=subprocess.DEVNULL)
        source = str(d / file)
        if name == "csv_gbk":
            source += ";format=csv;encoding=gbk"
        elif name == "csv_utf8":
            source += ";format=csv"
        truth = json.loads((d / "truth.json").read_text())["tables"]["address"]
        files[name] = (source, truth)
    return files


def audit(prefix, threads, source):
    """One audit as its own process: (wall s, CPU s, peak RSS MiB, summary)."""
    out = SCRATCH / "one_file_out"
    store = SCRATCH / "one_file_qc.db"
    shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(store.with_suffix(".reuse"), ignore_errors=True)
    store.unlink(missing_ok=True)
    cmd = [*prefix, str(QC), "run", "--rules", str(ROOT / "rules" / "spatial.yaml"),
           "--data", f"{TABLE}={source}", "--store", str(store), "--out", str(out),
           "--as-of", "2026-11-30", "--format", "json", "--quiet", "--threads", str(threads)]
    return (*timed_run(cmd, "one_file"), export_digest(out))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rows", type=int, default=10_000_000)
    p.add_argument("--runs", type=int, default=3)
    args = p.parse_args()
    alone()
    SCRATCH.mkdir(parents=True, exist_ok=True)
    sh(["cargo", "build", "--release", "--quiet"], cwd=ROOT)
    if not DIGEST.exists():
        sh(["cargo", "build", "--example", "export_digest", "--features", "cluster"], cwd=ROOT)
    results = []
    for name, (source, truth) in generate(args.rows).items():
        same = None
        medians = {}
        for mode, (prefix, threads) in MODES.items():
            runs = []
            for _ in range(args.runs):
                wall, cpu, rss, summary, digest = audit(prefix, threads, source)
                check(summary, truth, f"{name}, {mode}")
                if same is None:
                    same = (figures(summary), digest)
                elif (figures(summary), digest) != same:
                    raise SystemExit(f"{name}, {mode}: the summary or the export differs from "
                                     "the first run's")
                runs.append((wall, cpu, rss))
            medians[mode] = [statistics.median(r[i] for r in runs) for i in range(3)]
            wall, cpu, rss = medians[mode]
            print(f"{name:18} {mode:22} wall {wall:7.2f} s  cpu {cpu:7.2f} s  "
                  f"peak {rss:7.1f} MiB", flush=True)
        one_core = medians["1 core, --threads 1"][0]
        one_thread = medians["2 cores, --threads 1"][0]
        two = medians["2 cores, --threads 2"][0]
        print(f"{name:18} 1 -> 2 cores {one_core / two:.2f}x, "
              f"--threads 1 -> 2 (2 cores) {one_thread / two:.2f}x", flush=True)
        results.append({
            "file": name, "rows": args.rows,
            "runs": {m: {"wall_s": round(v[0], 3), "cpu_s": round(v[1], 3),
                         "peak_mib": round(v[2], 1)} for m, v in medians.items()},
            "cores_1_to_2": round(one_core / two, 3),
            "threads_1_to_2": round(one_thread / two, 3),
        })
    record("one_file", args.runs, {"figures": results})


if __name__ == "__main__":
    main()
