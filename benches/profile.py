#!/usr/bin/env python3
"""`qc profile` against `qc run` with the shipped marriage pack's row rules, on the same file,
alternately, RUNS times each: 10M generated marriage rows as Parquet and as a GBK CSV file.
The audit's counts are checked against truth.json and the profile's row count and its
citizen-ID figures against the generator's rows before any figure is printed; medians of wall,
CPU and peak RSS, and the ratio profile / audit, go to benches/results/profile.jsonl.

Usage: python3 benches/profile.py [--rows 10000000] [--runs 3] [--formats parquet,csv]
"""

import argparse
import datetime
import json
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sets import QC, alone, ROOT, SCRATCH, row_rules_pack, run as audit, sh  # noqa: E402


def generate(rows, fmt):
    d = SCRATCH / f"marriage_{rows}_{fmt}"
    if not (d / "truth.json").exists():
        extra = ["--format", "csv", "--encoding", "gbk"] if fmt == "csv" else []
        sh([str(QC), "gen", "--library", "marriage", "--rows", str(rows), "--seed", "42",
            "--anomaly-rate", "0.001", "--out", str(d), *extra], stdout=subprocess.DEVNULL)
    truth = json.loads((d / "truth.json").read_text())["tables"]["registration"]
    return d / f"registration.{fmt}", truth


def profile(data, fmt, truth):
    """One profile as its own process: (wall s, CPU s, peak RSS MiB), figures checked."""
    out = SCRATCH / "profile_out"
    cmd = [str(QC), "profile", "--data", str(data), "--out", str(out), "--store",
           str(SCRATCH / "profile_qc.db"), "--quiet"]
    if fmt == "csv":
        cmd += ["--encoding", "gbk"]
    timing = SCRATCH / "profile_time.txt"
    done = subprocess.run(["/usr/bin/time", "-f", "%e %U %S %M", "-o", str(timing), *cmd],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)}\nexit {done.returncode}: {done.stderr}")
    p = json.loads((out / "profile.json").read_text())
    if p["rows"] != truth["rows"]:
        raise SystemExit(f"profile: {p['rows']} rows, truth {truth['rows']}")
    for c in p["columns"]:
        if c["rows"] != truth["rows"] - p["malformed"]["total"]:
            raise SystemExit(f"profile: column {c['name']} has {c['rows']} rows")
    wall, user, system, rss = timing.read_text().split()[-4:]
    return float(wall), float(user) + float(system), int(rss) / 1024


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--formats", default="parquet,csv")
    args = ap.parse_args()
    alone()
    SCRATCH.mkdir(parents=True, exist_ok=True)
    sh(["cargo", "build", "--release", "--quiet"], cwd=ROOT)
    pack = row_rules_pack("marriage")
    results = []
    for fmt in args.formats.split(","):
        data, truth = generate(args.rows, fmt)
        spec = str(data) if fmt == "parquet" else f"{data};format=csv;encoding=gbk"
        runs = {"audit": [], "profile": []}
        for _ in range(args.runs):
            runs["audit"].append(audit(pack, "marriage", spec, truth, 2, "default"))
            runs["profile"].append(profile(data, fmt, truth))
        med = {k: [statistics.median(f[i] for f in v) for i in range(3)] for k, v in runs.items()}
        r = {"format": fmt, "rows": args.rows, "threads": 2,
             "audit_row_rules": dict(zip(("wall_s", "cpu_s", "peak_rss_mib"), med["audit"])),
             "profile": dict(zip(("wall_s", "cpu_s", "peak_rss_mib"), med["profile"])),
             "ratio_wall": med["profile"][0] / med["audit"][0]}
        results.append(r)
        print(f"{fmt:<8} {args.rows:>11,} rows  audit (row rules) {med['audit'][0]:6.2f} s "
              f"{med['audit'][2]:6.0f} MiB   profile {med['profile'][0]:6.2f} s "
              f"{med['profile'][2]:6.0f} MiB   profile/audit {r['ratio_wall']:.2f}×", flush=True)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip()
    line = {"bench": "profile", "commit": commit,
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "command": "python3 benches/profile.py " + " ".join(sys.argv[1:]),
            "runs": args.runs, "results": results}
    with open(ROOT / "benches" / "results" / "profile.jsonl", "a") as f:
        f.write(json.dumps(line, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
