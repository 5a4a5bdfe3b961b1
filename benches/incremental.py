#!/usr/bin/env python3
"""A nightly incremental audit against a full one, side by side on the same files.

The address table (`qc gen --library spatial`, ROWS rows) is written as FILES Parquet files
and audited once in full, and that run's store is kept. Then, as after a night's delivery,
the middle file is rewritten in place with only its first rows, and a new file brings the
rest (the same table generated as 2 x FILES files gives both halves): the table holds the same
rows in other files. From the kept store, an incremental `qc run` and a `qc run --full` audit
the new files, RUNS times each (the store restored before each). Every run's counts are
checked against the generator's truth, the incremental and full summary.json counts (every
rule, provider and table check) must be equal, and so must their anomaly exports (rows
compared in sorted order, `examples/export_digest`). The medians of wall time, CPU time and peak RSS, and what the incremental run
reused, go to benches/results/incremental.jsonl.

The data has ANOMALIES anomalous rows: by default 1,336, the count of the center's report
("31,411,241 spatial records audited, 1,336 anomalous"); `--anomalies 0` keeps the
generator's 0.5 %. Every anomalous record is a tracked problem in the run history, and its
upsert is work an incremental run does as well as a full one.

Usage: python3 benches/incremental.py [--rows 31411241] [--files 100] [--anomalies 1336]
       [--runs 3] [--threads 2]
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sets import QC, alone, ROOT, SCRATCH, record, sh, timed_run  # noqa: E402

# The exports hold a few thousand rows: a debug build of the digest is fast enough, and is
# what the test suite builds already (a release build of the example would build the
# dependencies again with the dev-dependencies' features).
DIGEST = QC.parent.parent / "debug" / "examples" / "export_digest"
TABLE = "spatial.address"


def audit(landing, store, out, threads, full):
    """One audit as its own process: (wall s, CPU s, peak RSS MiB, summary)."""
    cmd = [str(QC), "run", "--rules", str(ROOT / "rules" / "spatial.yaml"), "--data",
           f"{TABLE}={landing}/*.parquet", "--store", str(store), "--out", str(out),
           "--as-of", "2026-11-30", "--format", "json", "--quiet", "--threads", str(threads)]
    if full:
        cmd.append("--full")
    shutil.rmtree(out, ignore_errors=True)
    return timed_run(cmd, "incremental")


def figures(summary):
    """What must be equal: every table's counts, without times and what was reused."""
    tables = []
    for t in summary["tables"]:
        t = {k: v for k, v in t.items() if k not in ("elapsed_ms", "reuse", "anomalies_file")}
        tables.append(t)
    return tables


def check(summary, truth, what):
    """The run's counts equal the generator's truth."""
    t = summary["tables"][0]
    if t["rows"] != truth["rows"] or t["anomalous_rows"] != truth["anomalous_rows"]:
        raise SystemExit(f"{what} run: {t['rows']} rows, {t['anomalous_rows']} anomalous; "
                         f"truth {truth['rows']}, {truth['anomalous_rows']}")
    for r in t["rules"]:
        if r["failed_rows"] != truth["rules"].get(r["id"], 0):
            raise SystemExit(f"{what} run, {r['id']}: {r['failed_rows']} failed, "
                             f"truth {truth['rules'].get(r['id'], 0)}")


def export_digest(out):
    path = out / "anomalies" / f"{TABLE}.parquet"
    if not path.exists():
        return "0"
    done = subprocess.run([str(DIGEST), str(path)], check=True, capture_output=True, text=True)
    return done.stdout.split("\t", 1)[1].strip()


def snapshot(store, to):
    """Copy the store and its kept folder."""
    shutil.rmtree(to, ignore_errors=True)
    to.mkdir(parents=True)
    shutil.copy2(store, to / store.name)
    kept = store.with_suffix(".reuse")
    if kept.exists():
        shutil.copytree(kept, to / kept.name)


def restore(frm, store):
    store.unlink(missing_ok=True)
    kept = store.with_suffix(".reuse")
    shutil.rmtree(kept, ignore_errors=True)
    shutil.copy2(frm / store.name, store)
    if (frm / kept.name).exists():
        shutil.copytree(frm / kept.name, kept)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rows", type=int, default=31_411_241)
    p.add_argument("--files", type=int, default=100)
    p.add_argument("--anomalies", type=int, default=1336)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    alone()
    if not DIGEST.exists():
        sh(["cargo", "build", "--example", "export_digest", "--features", "cluster"], cwd=ROOT)
    SCRATCH.mkdir(parents=True, exist_ok=True)
    work = SCRATCH / f"incremental_{args.rows}_{args.files}_{args.anomalies}"
    anomalies = ["--anomalies", str(args.anomalies)] if args.anomalies else []
    gen = work / "gen"
    if not (gen / "truth.json").exists():
        sh([str(QC), "gen", "--library", "spatial", "--rows", str(args.rows), "--seed", "42",
            "--files", str(args.files), *anomalies, "--out", str(gen)],
           stdout=subprocess.DEVNULL)
    halves = work / "halves"
    if not (halves / "truth.json").exists():
        sh([str(QC), "gen", "--library", "spatial", "--rows", str(args.rows), "--seed", "42",
            "--files", str(2 * args.files), *anomalies, "--out", str(halves)],
           stdout=subprocess.DEVNULL)
    truth = json.loads((gen / "truth.json").read_text())["tables"]["address"]
    parts = sorted((gen / "address").glob("*.parquet"))

    # The landing folder as first delivered, audited in full: counts against the truth.
    landing = work / "landing"
    shutil.rmtree(landing, ignore_errors=True)
    landing.mkdir(parents=True)
    for f in parts:
        os.link(f, landing / f.name)
    store = work / "qc.db"
    store.unlink(missing_ok=True)
    shutil.rmtree(store.with_suffix(".reuse"), ignore_errors=True)
    check(audit(landing, store, work / "out_first", args.threads, full=True)[3], truth, "first")
    kept = work / "kept"
    snapshot(store, kept)

    # The night's delivery: the middle file rewritten with its first half, the second half
    # added as a new file.
    k = len(parts) // 2
    changed = landing / parts[k].name
    changed.unlink()
    shutil.copy2(halves / "address" / f"part-{2 * k:03d}.parquet", changed)
    shutil.copy2(halves / "address" / f"part-{2 * k + 1:03d}.parquet", landing / "part-new.parquet")

    inc, full = [], []
    for _ in range(args.runs):
        restore(kept, store)
        inc.append(audit(landing, store, work / "out_inc", args.threads, full=False))
        restore(kept, store)
        full.append(audit(landing, store, work / "out_full", args.threads, full=True))
    for i, f in zip(inc, full):
        check(i[3], truth, "incremental")
        check(f[3], truth, "full")
    if figures(inc[-1][3]) != figures(full[-1][3]):
        raise SystemExit("incremental and full summaries differ")
    di, df = export_digest(work / "out_inc"), export_digest(work / "out_full")
    if di != df:
        raise SystemExit(f"anomaly exports differ: {di} vs {df}")
    reuse = inc[-1][3]["tables"][0]["reuse"]

    def med(runs, i):
        return round(statistics.median(r[i] for r in runs), 2)

    result = {
        "rows": full[-1][3]["tables"][0]["rows"],
        "anomalous_rows": full[-1][3]["tables"][0]["anomalous_rows"],
        "files": len(list(landing.glob("*.parquet"))),
        "threads": args.threads,
        "full_wall_s": med(full, 0), "full_cpu_s": med(full, 1), "full_rss_mib": med(full, 2),
        "incremental_wall_s": med(inc, 0), "incremental_cpu_s": med(inc, 1),
        "incremental_rss_mib": med(inc, 2),
        "incremental_share": round(med(inc, 0) / med(full, 0), 4),
        "reuse": reuse,
        "export_rows_digest": di,
        "counts_equal": True,
    }
    print(json.dumps(result, ensure_ascii=False, indent=1))
    record("incremental", args.runs, {"result": result})


if __name__ == "__main__":
    main()
