#!/usr/bin/env bash
# Whole-command benchmark of `qc run` with the shipped spatial pack (14 row rules):
#   - peak RSS at 1M and 10M Parquet rows (must stay flat: streaming, no whole-table load);
#   - throughput of the fused single pass (rows/s) at 10M rows;
#   - a 10M-row GBK CSV for the CSV path.
# Data is generated here (scratch/, not committed) with `qc gen`; every run is checked
# against the generator's truth before its figures are printed.
# Usage: bash benches/scale.sh [RUNS]   (median of RUNS runs, default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
source benches/alone.sh
RUNS=${1:-3}
QC=target/release/qc
cargo build --release --quiet
mkdir -p scratch/bench

gen() { # rows format extra...
  local rows=$1 fmt=$2; shift 2
  local dir=scratch/bench/spatial_${rows}_${fmt}
  [ -f "$dir/truth.json" ] || "$QC" gen --library spatial --rows "$rows" --seed 42 --anomaly-rate 0.001 --format "$fmt" "$@" --out "$dir" >&2
  echo "$dir/address.$fmt"
}

# One measured run: prints "wall_seconds peak_rss_kib"; fails when counts differ from truth.
measure() { # pack data
  local pack=$1 data=$2 out=scratch/bench/out
  local truth="$(dirname "$data")/truth.json"
  /usr/bin/time -f "%e %M" -o scratch/bench/time.txt \
    "$QC" run --rules "$pack" --data "address=$data" --out "$out" --format json --quiet > /dev/null || [ $? -eq 1 ]
  python3 - "$out/summary.json" "$truth" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))["tables"][0]
t = json.load(open(sys.argv[2]))["tables"]["address"]
assert (s["rows"], s["anomalous_rows"]) == (t["rows"], t["anomalous_rows"]), (s["rows"], s["anomalous_rows"], t["rows"], t["anomalous_rows"])
for r in s["rules"]:
    assert r["failed_rows"] == t["rules"].get(r["id"], 0), r["id"]
PY
  # GNU time prefixes "Command exited with non-zero status 1" (a threshold verdict) to its figures.
  tail -n 1 scratch/bench/time.txt
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

report() { # label rows pack data
  local label=$1 rows=$2 pack=$3 data=$4 walls=() rss=()
  for _ in $(seq "$RUNS"); do
    read -r w m < <(measure "$pack" "$data")
    walls+=("$w"); rss+=("$m")
  done
  local w m
  w=$(printf '%s\n' "${walls[@]}" | median)
  m=$(printf '%s\n' "${rss[@]}" | median)
  printf '%-28s %12s rows  wall %7.2f s  %12.0f rows/s  peak RSS %7.1f MiB\n' \
    "$label" "$rows" "$w" "$(echo "$rows / $w" | bc -l)" "$(echo "$m / 1024" | bc -l)"
}

P1=$(gen 1000000 parquet)
P10=$(gen 10000000 parquet)
report "parquet 1M"  1000000  rules/spatial.yaml "$P1"
report "parquet 10M" 10000000 rules/spatial.yaml "$P10"

# The same pack reading GBK CSV.
C10=$(gen 10000000 csv --encoding gbk)
sed -e "s#path: ../testdata/spatial/address.parquet#path: ../testdata/spatial/address.parquet\n      format: csv\n      encoding: gbk#" \
  rules/spatial.yaml > rules/.bench_spatial_csv.yaml
trap 'rm -f rules/.bench_spatial_csv.yaml' EXIT
report "csv gbk 10M" 10000000 rules/.bench_spatial_csv.yaml "$C10"
