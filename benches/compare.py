"""Side-by-side benchmark (`just bench-compare`): qc against DuckDB and Polars on the same
files, and against the scan floor, each count checked equal before any figure is printed.

For each dataset (marriage at each --rows, Parquet; at --csv-rows, the same records as CSV),
every tool runs --runs times as its own process; the table gives the median wall time, rows/s, peak RSS and the
ratios qc/DuckDB, qc/Polars, qc/scan floor, qc 2 threads / 1 thread, all from this one run.

- qc: benches/compare/marriage12.yaml (12 rules of the shipped marriage pack);
- DuckDB, Polars: the same 12 rules, benches/compare/duckdb_marriage.py, polars_marriage.py,
  installed from PyPI into scratch/venv (pinned below);
- scan floor: qc reading the same columns under not_null rules only
  (benches/compare/marriage_scan.yaml);
- spatial: the shipped spatial pack (16 rules) against its scan floor.

Usage: python3 benches/compare.py [--rows 1000000,10000000,31411241] [--runs 3] [--csv-rows N]
(--csv-rows: the CSV dataset's size, 10,000,000 by default, 0 for none; see clean_csv.)
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sets import alone  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SCRATCH = ROOT / "scratch" / "bench"
VENV = ROOT / "scratch" / "venv"
PINS = ["duckdb==2.0.1", "polars==2.1.0"]
QC = ROOT / "target" / "release" / "qc"
HERE = ROOT / "benches" / "compare"


def sh(args, **kw):
    return subprocess.run(args, check=True, **kw)


def venv_python():
    py = VENV / "bin" / "python"
    if not py.exists():
        sh([sys.executable, "-m", "venv", str(VENV)])
    probe = subprocess.run(
        [str(py), "-c", "import duckdb, polars; print(duckdb.__version__, polars.__version__)"],
        capture_output=True, text=True,
    )
    want = " ".join(p.split("==")[1] for p in PINS)
    if probe.returncode != 0 or probe.stdout.strip() != want:
        sh([str(py), "-m", "pip", "install", "--quiet", *PINS])
    return str(py)


def generate(library, rows, fmt, py=None):
    if fmt == "csv":
        return clean_csv(library, rows, py)
    d = SCRATCH / f"{library}_{rows}_{fmt}"
    if not (d / "truth.json").exists():
        sh([str(QC), "gen", "--library", library, "--rows", str(rows), "--seed", "60",
            "--format", fmt, "--out", str(d)], stdout=subprocess.DEVNULL)
    table = {"marriage": "registration", "spatial": "address"}[library]
    return d / f"{table}.{fmt}", d


def clean_csv(library, rows, py):
    """The Parquet dataset's records written as UTF-8 CSV by DuckDB. qc's generator damages
    some CSV records on purpose (counted by qc as PARSE-* anomalies, read differently by each
    tool); this copy has none, so every tool must find exactly the Parquet counts."""
    parquet, _ = generate(library, rows, "parquet")
    d = SCRATCH / f"{library}_{rows}_csv"
    path = d / parquet.with_suffix(".csv").name
    if not path.exists():
        d.mkdir(parents=True, exist_ok=True)
        partial = d / (path.name + ".partial")
        sh([py, "-c", "import duckdb, sys; duckdb.sql('SET enable_progress_bar = false'); "
            "duckdb.sql(f\"COPY (SELECT * FROM '{sys.argv[1]}') "
            "TO '{sys.argv[2]}' (HEADER, DELIMITER ',', FORMAT csv)\")", str(parquet),
            str(partial)])
        partial.rename(path)
    return path, d


def timed(cmd):
    """Run cmd; return (wall seconds, peak RSS MiB, stdout). qc exits 1 when a rule fails
    its threshold; the Python tools must exit 0."""
    t = SCRATCH / "time.txt"
    p = subprocess.run(["/usr/bin/time", "-f", "%e %M", "-o", str(t), *cmd],
                       capture_output=True, text=True)
    ok = (0, 1) if Path(cmd[0]) == QC else (0,)
    if p.returncode not in ok:
        raise SystemExit(f"{' '.join(cmd)} failed ({p.returncode}): {p.stderr[-2000:]}")
    wall, rss = t.read_text().split()[-2:]
    return float(wall), int(rss) / 1024, p.stdout


def qc_counts(summary_path):
    s = json.loads(Path(summary_path).read_text())["tables"][0]
    return {"rows": s["rows"], "anomalous_rows": s["anomalous_rows"],
            "rules": {r["id"]: r["failed_rows"] for r in s["rules"]
                      if not r["id"].startswith("PARSE-")}}


def qc_cmd(pack, data, out, threads=None):
    """A full audit each time: with the run history kept between runs, a run over the same
    files would reuse the last one's results (an incremental run) and time nothing."""
    cmd = [str(QC), "run", "--rules", str(pack), "--data", f"registration={data}"
           if "marriage" in str(pack) else f"address={data}",
           "--out", str(out), "--store", str(out.parent / "bench.db"), "--format", "json",
           "--quiet", "--full"]
    if threads:
        cmd += ["--threads", str(threads)]
    return cmd


def measure(label, cmd, runs, counts_of):
    walls, rsss, counts = [], [], None
    for _ in range(runs):
        wall, rss, stdout = timed(cmd)
        walls.append(wall)
        rsss.append(rss)
        c = counts_of(stdout)
        if counts is not None and c != counts:
            raise SystemExit(f"{label}: counts differ between runs")
        counts = c
    return {"label": label, "wall": statistics.median(walls), "rss": max(rsss),
            "counts": counts}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", default="1000000,10000000,31411241")
    # CSV: the Parquet dataset of that size rewritten as clean CSV (see clean_csv); 0: none.
    ap.add_argument("--csv-rows", type=int, default=10_000_000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    alone()
    SCRATCH.mkdir(parents=True, exist_ok=True)
    sh(["cargo", "build", "--release", "--quiet"], cwd=ROOT)
    py = venv_python()
    out = SCRATCH / "compare_out"
    summary = out / "summary.json"

    datasets = [("marriage", int(r), "parquet") for r in args.rows.split(",")]
    if args.csv_rows:
        datasets.append(("marriage", args.csv_rows, "csv"))
    datasets += [("spatial", int(r), "parquet") for r in args.rows.split(",")]

    rows_out = []
    parquet_counts = {}
    for library, n, fmt in datasets:
        data, _ = generate(library, n, fmt, py)
        name = f"{library} {n:,} {fmt}"
        from_summary = lambda _stdout: qc_counts(summary)
        results = []
        if library == "marriage":
            qc = measure("qc", qc_cmd(HERE / "marriage12.yaml", data, out), args.runs, from_summary)
            results.append(qc)
            for tool in ("duckdb", "polars"):
                results.append(measure(
                    tool, [py, str(HERE / f"{tool}_marriage.py"), str(data)], args.runs,
                    json.loads))
            if fmt == "parquet":
                parquet_counts[n] = qc["counts"]
            elif n in parquet_counts and qc["counts"] != parquet_counts[n]:
                raise SystemExit(f"{name}: qc counts differ from the same records in Parquet")
            for r in results[1:]:
                if r["counts"] != qc["counts"]:
                    raise SystemExit(f"{name}: {r['label']} counts differ from qc:\n"
                                     f"{r['counts']}\n{qc['counts']}")
            floor_pack = HERE / "marriage_scan.yaml"
        else:
            qc = measure("qc", qc_cmd(ROOT / "rules" / "spatial.yaml", data, out), args.runs,
                         from_summary)
            results.append(qc)
            floor_pack = None
        if floor_pack is None:
            floor_pack = SCRATCH / "spatial_scan.yaml"
            write_spatial_floor(floor_pack)
        floor = measure("scan floor", qc_cmd(floor_pack, data, out), args.runs,
                        from_summary)
        if floor["counts"]["rows"] != qc["counts"]["rows"]:
            raise SystemExit(f"{name}: the scan floor read another number of rows")
        results.append(floor)
        if n == 10_000_000 and fmt == "parquet" and library == "marriage":
            results.append(measure("qc 1 thread", qc_cmd(HERE / "marriage12.yaml", data, out, 1),
                                   args.runs, from_summary))
        rows_out.append((name, n, results))
        print(f"{name}: " + ", ".join(f"{r['label']} {r['wall']:.2f} s" for r in results),
              flush=True)

    print(f"\n{'dataset':<28} {'tool':<12} {'wall s':>8} {'rows/s':>12} {'peak RSS':>10}  ratio qc/tool")
    for name, n, results in rows_out:
        qc = results[0]
        for r in results:
            ratio = "" if r is qc else f"{qc['wall'] / r['wall']:.2f}"
            print(f"{name:<28} {r['label']:<12} {r['wall']:>8.2f} {n / r['wall']:>12,.0f} "
                  f"{r['rss']:>8.0f} MiB  {ratio}")
    print("\nAll counts equal across tools (per rule, rows, anomalous rows).")


def write_spatial_floor(path):
    """The spatial pack's columns under not_null rules only (the scan floor for spatial)."""
    text = (ROOT / "rules" / "spatial.yaml").read_text()
    head = text.split("    rules:\n")[0].replace("../testdata", str(ROOT / "testdata"))
    head = head.replace("  id: spatial\n", "  id: spatial_scan\n", 1)
    cols = [line.split("name:")[1].split(",")[0].strip()
            for line in head.splitlines() if line.strip().startswith("- { name:")]
    rules = "".join(
        f"      - {{ id: SCAN-{i + 1:02}, name: 读取 {c}, dimension: 完整性, "
        f"check: {{ not_null: {{ column: {c} }} }} }}\n" for i, c in enumerate(cols))
    path.write_text(head + "    rules:\n" + rules)


if __name__ == "__main__":
    main()
