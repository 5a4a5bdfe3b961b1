#!/usr/bin/env python3
"""The problem store at scale: its size per problem, and the time and memory of the monthly
report's rectification section and of `qc problems` over it.

Two real runs of a 100,003-row table whose every record fails one rule (October and November)
make the history; the store is then filled to PROBLEMS problems written straight into qc's
schema (version 11; the script stops if the schema is another): keys of 18 characters as ID
numbers are, 30 rules, 16 providers, every problem first seen in October, 30 % of the filled
ones fixed in November. The November report's rectification totals are checked against what
was written before any figure is printed; the store's size (after VACUUM, per table from
dbstat) and the medians of wall time and peak RSS go to benches/results/problems.jsonl.

Usage: python3 benches/problems.py [--problems 10000000] [--runs 3] [--qc PATH]
"""

import argparse
import datetime
import json
import sqlite3
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sets import QC, alone, ROOT, SCRATCH, sh  # noqa: E402

SCHEMA = 11
REAL = 100_003
PACK = """library: { id: pb, name: 问题库容量 }
tables:
  - name: t
    source: { path: t.csv }
    key: [id]
    provider: org
    columns:
      - { name: id, type: string }
      - { name: org, type: string }
      - { name: code, type: string }
    rules:
      - { id: R-000, name: 代码为六位数字, dimension: 规范性, check: { pattern: { column: code, regex: '\\d{6}' } } }
"""


def timed(cmd):
    """One command as its own process: (wall s, peak RSS MiB)."""
    timing = SCRATCH / "problems_time.txt"
    done = subprocess.run(["/usr/bin/time", "-f", "%e %M", "-o", str(timing), *cmd],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)}\nexit {done.returncode}: {done.stderr}")
    wall, rss = timing.read_text().split()[-2:]
    return float(wall), int(rss) / 1024


def build_store(qc, d, problems):
    d.mkdir(parents=True, exist_ok=True)
    (d / "pack.yaml").write_text(PACK)
    (d / "t.csv").write_text("id,org,code\n" + "".join(f"{i},甲,12X\n" for i in range(REAL)))
    store = d / "qc.db"
    store.unlink(missing_ok=True)
    for as_of in ("2026-10-31", "2026-11-30"):
        done = subprocess.run([str(qc), "run", "--rules", str(d / "pack.yaml"), "--store",
                               str(store), "--out", str(d / f"out-{as_of}"), "--as-of", as_of,
                               "--quiet"], capture_output=True, text=True)
        if done.returncode != 1:
            raise SystemExit(f"qc run: exit {done.returncode}: {done.stderr}")
    c = sqlite3.connect(store)
    version = c.execute("PRAGMA user_version").fetchone()[0]
    if version != SCHEMA:
        raise SystemExit(f"store schema {version}: this script writes version {SCHEMA}")
    c.execute("PRAGMA journal_mode=OFF")
    c.execute("PRAGMA synchronous=OFF")
    first, second = (r[0] for r in c.execute("SELECT seq FROM run_seq ORDER BY seq"))
    rules = [r[0] for r in c.execute("SELECT id FROM problem_rule")]
    for k in range(1, 30):
        rules.append(c.execute("INSERT INTO problem_rule (library, table_name, rule_id) "
                               "VALUES ('pb', 't', ?) RETURNING id", (f"R-{k:03d}",)).fetchone()[0])
    providers = [r[0] for r in c.execute("SELECT id FROM problem_provider")]
    for k in range(15):
        providers.append(c.execute("INSERT INTO problem_provider (name) VALUES (?) RETURNING id",
                                   (f"区民政局{k:02d}",)).fetchone()[0])
    filled = problems - REAL
    c.executemany(
        "INSERT INTO problem (rule, record_key, provider, status, first_seen, last_seen, changed) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        ((rules[i % 30], f"3101{i:014d}", providers[i % 16],
          "fixed" if i % 10 < 3 else "open", first, first if i % 10 < 3 else second,
          second) for i in range(filled)))
    c.execute("INSERT INTO problem_event SELECT id, ?, 'new' FROM problem WHERE id > ?",
              (first, REAL))
    c.execute("INSERT INTO problem_event SELECT id, ?, 'fixed' FROM problem "
              "WHERE id > ? AND status = 'fixed'", (second, REAL))
    c.commit()
    fixed = c.execute("SELECT count(*) FROM problem WHERE status = 'fixed'").fetchone()[0]
    c.execute("VACUUM")
    tables = dict(c.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name "
                            "HAVING sum(pgsize) > 1000000 ORDER BY 2 DESC"))
    events = c.execute("SELECT count(*) FROM problem_event").fetchone()[0]
    c.close()
    return store, fixed, events, tables


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--problems", type=int, default=10_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--qc", help="the qc binary (default: a release build)")
    args = ap.parse_args()
    alone()
    SCRATCH.mkdir(parents=True, exist_ok=True)
    qc = Path(args.qc) if args.qc else QC
    if not args.qc:
        sh(["cargo", "build", "--release", "--quiet"], cwd=ROOT)
    d = SCRATCH / "problems"
    store, fixed, events, tables = build_store(qc, d, args.problems)
    size = store.stat().st_size
    report = [str(qc), "report", "--month", "2026-11", "--store", str(store), "--out",
              str(d / "report"), "--format", "json"]
    listing = [str(qc), "problems", "--store", str(store), "--status", "open", "--rule", "R-007",
               "--limit", "10"]
    timings = {"report": [], "problems": []}
    for _ in range(args.runs):
        timings["report"].append(timed(report))
        timings["problems"].append(timed(listing))
    total = json.loads((d / "report" / "report-2026-11.json").read_text())[
        "libraries"][0]["rectification"]["total"]
    if (total["reported"], total["fixed"]) != (args.problems, fixed):
        raise SystemExit(f"report: reported {total['reported']}, fixed {total['fixed']}; "
                         f"written {args.problems}, fixed {fixed}")
    med = {k: [statistics.median(t[i] for t in v) for i in range(2)] for k, v in timings.items()}
    print(f"{args.problems:,} problems, {events:,} statuses: store {size / 2**30:.2f} GiB "
          f"({size / args.problems:.0f} B per problem)")
    for k, (wall, rss) in med.items():
        print(f"  {k:<9} {wall:7.2f} s {rss:7.0f} MiB")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip()
    line = {"bench": "problems", "commit": commit,
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "command": "python3 benches/problems.py " + " ".join(sys.argv[1:]),
            "binary": str(qc), "runs": args.runs, "problems": args.problems, "statuses": events,
            "store_bytes": size, "bytes_per_problem": size / args.problems,
            "bytes_by_table": tables,
            "report_rectification": {"wall_s": med["report"][0], "peak_rss_mib": med["report"][1]},
            "problems_listing": {"wall_s": med["problems"][0],
                                 "peak_rss_mib": med["problems"][1]}}
    with open(ROOT / "benches" / "results" / "problems.jsonl", "a") as f:
        f.write(json.dumps(line, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
