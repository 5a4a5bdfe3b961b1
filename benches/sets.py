"""Set-based rules against the row pass (`just bench-sets`): the shipped marriage and death
packs on generated tables, each with its row rules only and whole, on 1 and 2 threads, under
the default memory limit and --memory-limit 1GiB; then one `unique` rule over the 10M
distinct registration numbers added to the 12-rule comparison audit.

Every run is its own process (wall, CPU, peak RSS from /usr/bin/time); every count is checked
against the generator's truth before a figure is printed. Each run of this script appends
one JSON line to benches/results/sets.jsonl (commit, date, command, figures).

Usage: python3 benches/sets.py [--rows 10000000,50000000] [--runs 1] [--libraries marriage,death]
       [--threads 1core,1,2] [--limits default,1GiB] [--unique-rows 10000000,31411241]

`--threads 1core` is `--threads 1` pinned to one core (`taskset -c 0`). `--threads 1` alone is
not one core's work: each partition's Parquet reader decodes on a thread of its own beside
its worker, so a 1-thread audit on a 2-core machine uses part of the second core too. The
scaling with cores is 1core -> 2; the scaling of the --threads setting is 1 -> 2.
"""

import argparse
import datetime
import fcntl
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRATCH = ROOT / "scratch" / "bench"
QC = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "release" / "qc"
TABLES = {"marriage": "registration", "death": "record"}
SET_KINDS = ("unique:", "reference:", "query:", "history:")


_ALONE = []


def alone():
    """Hold scratch/bench/bench.lock until this process ends, or stop: two benchmarks at once
    share the cores and the scratch files, and both would record wrong figures."""
    if _ALONE:
        return
    SCRATCH.mkdir(parents=True, exist_ok=True)
    lock = open(SCRATCH / "bench.lock", "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise SystemExit("another benchmark is running (it holds scratch/bench/bench.lock); "
                         "run one at a time")
    _ALONE.append(lock)


def sh(args, **kw):
    return subprocess.run(args, check=True, **kw)


def record(bench, runs, figures):
    """Append one benchmark run to benches/results/<bench>.jsonl: commit, date, command."""
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip()
    line = {"bench": bench, "commit": commit,
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "command": f"python3 benches/{bench}.py " + " ".join(sys.argv[1:]),
            "runs": runs, **figures}
    results_dir = ROOT / "benches" / "results"
    results_dir.mkdir(exist_ok=True)
    with open(results_dir / f"{bench}.jsonl", "a") as f:
        f.write(json.dumps(line, ensure_ascii=False) + "\n")


def timed_run(cmd, name):
    """Run a `qc run ... --format json` command as its own process under /usr/bin/time:
    (wall s, CPU s, peak RSS MiB, summary). Exit 1 (a failed verdict) is a result."""
    timing = SCRATCH / f"{name}_time.txt"
    done = subprocess.run(["/usr/bin/time", "-f", "%e %U %S %M", "-o", str(timing), *cmd],
                          capture_output=True, text=True)
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)}\nexit {done.returncode}: {done.stderr}")
    wall, user, system, rss = timing.read_text().split()[-4:]
    return float(wall), float(user) + float(system), int(rss) / 1024, json.loads(done.stdout)


def generate(library, rows):
    d = SCRATCH / f"{library}_{rows}_parquet"
    if not (d / "truth.json").exists():
        sh([str(QC), "gen", "--library", library, "--rows", str(rows), "--seed", "42",
            "--anomaly-rate", "0.001", "--out", str(d)], stdout=subprocess.DEVNULL)
    truth = json.loads((d / "truth.json").read_text())["tables"][TABLES[library]]
    return d / f"{TABLES[library]}.parquet", truth


def row_rules_pack(library):
    """The shipped pack without its set-based rules (its row rules and table checks)."""
    text = (ROOT / "rules" / f"{library}.yaml").read_text()
    text = text.replace("path: ../testdata", f"path: {ROOT / 'testdata'}")
    head, rest = text.split("    rules:\n", 1)
    rules, tail = rest.split("    table_checks:", 1) if "    table_checks:" in rest else (rest, "")
    items = rules.split("\n      - id: ")
    kept = [items[0]] + [i for i in items[1:] if not any(k in i for k in SET_KINDS)]
    path = SCRATCH / f"{library}_row_rules.yaml"
    path.write_text(head + "    rules:\n" + "\n      - id: ".join(kept)
                    + ("\n    table_checks:" + tail if tail else ""))
    return path


def unique_pack():
    """The 12-rule comparison audit plus one `unique` rule on the registration number."""
    text = (ROOT / "benches" / "compare" / "marriage12.yaml").read_text()
    text = text.replace("path: ../../testdata", f"path: {ROOT / 'testdata'}")
    text = text.rstrip() + """
      - id: MAR-021
        name: 登记编号唯一
        dimension: 唯一性
        check: { unique: { columns: [reg_id] } }
"""
    path = SCRATCH / "marriage12_unique.yaml"
    path.write_text(text)
    return path


def threads_option(spec):
    """A --threads spec (`1core`, `1`, `2`, ...): (command prefix, --threads)."""
    if spec.endswith("core"):
        return ["taskset", "-c", "0"], 1
    return [], int(spec)


def run(pack, library, data, truth, threads, limit, ids=None):
    """One audit as its own process: (wall s, CPU s, peak RSS MiB), counts checked;
    `threads` as --threads takes it (see `threads_option`)."""
    out = SCRATCH / "sets_out"
    prefix, threads = threads_option(str(threads))
    cmd = [*prefix, str(QC), "run", "--rules", str(pack), "--data", f"{TABLES[library]}={data}",
           "--out", str(out), "--store", str(SCRATCH / "sets_qc.db"), "--as-of", "2026-11-01",
           "--format", "json", "--quiet", "--threads", str(threads)]
    if limit != "default":
        cmd += ["--memory-limit", limit]
    (SCRATCH / "sets_qc.db").unlink(missing_ok=True)
    wall, cpu, rss, summary = timed_run(cmd, "sets")
    s = summary["tables"][0]
    for r in s["rules"]:
        if ids is not None and r["id"] not in ids:
            continue
        want = truth["rules"].get(r["id"], 0)
        if r["failed_rows"] != want:
            raise SystemExit(f"{pack} {r['id']}: {r['failed_rows']} failed rows, truth {want}")
    if s["rows"] != truth["rows"]:
        raise SystemExit(f"{pack}: {s['rows']} rows, truth {truth['rows']}")
    return wall, cpu, rss


def measure(runs, *args, **kw):
    figures = [run(*args, **kw) for _ in range(runs)]
    return tuple(statistics.median(f[i] for f in figures) for i in range(3))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rows", default="10000000,50000000")
    p.add_argument("--runs", type=int, default=1)
    p.add_argument("--libraries", default="marriage,death")
    p.add_argument("--threads", default="1core,1,2")
    p.add_argument("--limits", default="default,1GiB")
    p.add_argument("--unique-rows", default="10000000,31411241")
    args = p.parse_args()
    alone()
    SCRATCH.mkdir(parents=True, exist_ok=True)
    sh(["cargo", "build", "--release", "--quiet"], cwd=ROOT)
    results = []

    def show(r):
        print(f"{r['case']:<52} {r['rows']:>11,} rows  wall {r['wall_s']:7.2f} s  "
              f"CPU {r['cpu_s']:7.2f} s  peak RSS {r['peak_rss_mib']:7.0f} MiB", flush=True)

    for library in [x for x in args.libraries.split(",") if x]:
        row_pack = row_rules_pack(library)
        for rows in [int(x) for x in args.rows.split(",") if x]:
            data, truth = generate(library, rows)
            for limit in args.limits.split(","):
                for threads in [x for x in args.threads.split(",") if x]:
                    for name, pack in (("row rules", row_pack),
                                       ("whole pack", ROOT / "rules" / f"{library}.yaml")):
                        wall, cpu, rss = measure(args.runs, pack, library, data, truth,
                                                 threads, limit)
                        pinned, n = threads_option(threads)
                        label = "1 core" if pinned else f"{n} thr"
                        r = {"case": f"{library} {name}, {label}, limit {limit}",
                             "library": library, "pack": name, "rows": rows, "threads": n,
                             "one_core": bool(pinned), "limit": limit, "wall_s": wall,
                             "cpu_s": cpu, "peak_rss_mib": rss}
                        results.append(r)
                        show(r)
    for rows in [int(x) for x in args.unique_rows.split(",") if x]:
        data, truth = generate("marriage", rows)
        for name, pack in (("marriage12", ROOT / "benches" / "compare" / "marriage12.yaml"),
                           ("marriage12 + unique(reg_id)", unique_pack())):
            # The truth describes the shipped pack's rules; the comparison audit keeps the
            # 12 rules as they were (benches/compare/marriage12.yaml), so only the rows and
            # the `unique` rule are checked against it here. bench-compare checks the 12
            # rules' counts against DuckDB's and Polars'.
            wall, cpu, rss = measure(args.runs, pack, "marriage", data, truth, 2, "default",
                                     ids=["MAR-021"])
            r = {"case": f"{name}, 2 thr", "library": "marriage", "pack": name, "rows": rows,
                 "threads": 2, "limit": "default", "wall_s": wall, "cpu_s": cpu,
                 "peak_rss_mib": rss}
            results.append(r)
            show(r)

    ratios = scaling(results)
    for name, ratio in ratios.items():
        print(f"{name:<60} {ratio:.2f}x")
    record("sets", args.runs, {"results": results, "ratios": ratios})


def scaling(results):
    """Per library, rows, limit and pack: wall of 1 core / 1 thread over the wall of 2 threads."""
    ratios = {}
    by = {(r["library"], r["rows"], r["limit"], r["pack"],
           "1core" if r.get("one_core") else r["threads"]): r["wall_s"] for r in results}
    for (library, rows, limit, pack, threads), wall in by.items():
        two = by.get((library, rows, limit, pack, 2))
        if threads in ("1core", 1) and two:
            base = "1 core" if threads == "1core" else "1 thr"
            ratios[f"{library} {pack} {rows} rows, limit {limit}: {base} -> 2 thr"] = \
                round(wall / two, 3)
    return ratios


if __name__ == "__main__":
    main()
