#!/usr/bin/env bash
# Set-based rules under a memory limit: the death pack (uniqueness of ID numbers, a death
# recorded again later, 16 row rules) on a generated table of ROWS rows (default 50M), with
# `--memory-limit` at each LIMIT (default 1GiB), then the row rules alone for comparison.
# Counts are checked against the generator's truth before any figure is printed.
# Usage: bash benches/memory.sh [ROWS] [LIMIT...]
set -euo pipefail
cd "$(dirname "$0")/.."
source benches/alone.sh
ROWS=${1:-50000000}
shift || true
LIMITS=("${@:-1GiB}")
QC=target/release/qc
cargo build --release --quiet
dir=scratch/bench/death_$ROWS
[ -f "$dir/truth.json" ] || "$QC" gen --library death --rows "$ROWS" --seed 50 --anomaly-rate 0.0001 --out "$dir" >&2

# The death pack without its set-based rules and table checks (the row rules alone).
python3 - "$dir/row_rules.yaml" <<'PY'
import re, sys
text = open("rules/death.yaml").read().replace("../testdata", "../../../testdata")
head, rules = text.split("    rules:\n", 1)
rules = rules.split("      # ── Set-based rules")[0]
open(sys.argv[1], "w").write(head + "    rules:\n" + rules)
PY

run() { # label pack extra...
  local label=$1 pack=$2; shift 2
  /usr/bin/time -f "%e %M" -o "$dir/time.txt" \
    "$QC" run --rules "$pack" --data "death.record=$dir/record.parquet" --out "$dir/out" \
      --format json --quiet "$@" > /dev/null || [ $? -eq 1 ]
  python3 - "$dir/out/summary.json" "$dir/truth.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))["tables"][0]
t = json.load(open(sys.argv[2]))["tables"]["record"]
assert s["rows"] == t["rows"], (s["rows"], t["rows"])
for r in s["rules"]:
    assert r["failed_rows"] == t["rules"].get(r["id"], 0), (r["id"], r["failed_rows"], t["rules"].get(r["id"]))
PY
  read -r w m < <(tail -n 1 "$dir/time.txt")
  printf '%-34s %12s rows  wall %7.2f s  peak RSS %7.1f MiB\n' "$label" "$ROWS" "$w" "$(echo "$m / 1024" | bc -l)"
}

for limit in "${LIMITS[@]}"; do
  run "death pack, --memory-limit $limit" rules/death.yaml --memory-limit "$limit"
done
run "row rules only" "$dir/row_rules.yaml"
