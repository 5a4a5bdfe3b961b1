#!/usr/bin/env bash
# Soak: the marriage pack (row rules, set-based rules, table checks; MAR-022 needs the death
# library and is skipped) on a generated table of ROWS rows (default 50M) with `--memory-limit
# 1GiB`, the output folder on a nearly full tmpfs. The run history (with the `unique` rules'
# kept hash lists, 8 bytes a row and rule: 800 MB at 50M rows) is on disk, new for each run,
# so every run is a full one. Prints wall time, peak RSS and the outcome; counts are checked against the
# generator's truth. Then the same run with too little room must fail cleanly: exit 3, a
# clear error, no summary.json, no export, no history record. Needs root (mount).
# Usage: bash benches/soak.sh [ROWS]   (QC=path/to/qc soaks that binary instead of building one)
set -euo pipefail
cd "$(dirname "$0")/.."
source benches/alone.sh
ROWS=${1:-50000000}
if [ -z "${QC:-}" ]; then
  QC=${CARGO_TARGET_DIR:-target}/release/qc
  cargo build --release --quiet
fi
dir=scratch/bench/marriage_$ROWS
[ -f "$dir/marriage/truth.json" ] ||
  "$QC" gen --library marriage --rows "$ROWS" --seed 51 --out "$dir/marriage" >&2

disk=$(mktemp -d)
store=$(mktemp -d -p scratch/bench)
mount -t tmpfs -o size=512m tmpfs "$disk"
trap 'umount "$disk"; rmdir "$disk"; rm -rf "$store"' EXIT

# Leave FREE bytes on the tmpfs, then audit into it.
soak() { # label free_mib
  local label=$1 free=$2 code=0
  rm -rf "${disk:?}"/* "${store:?}"/*
  local avail
  avail=$(df --output=avail -B1 "$disk" | tail -n 1)
  head -c $((avail - free * 1024 * 1024)) /dev/zero > "$disk/filler"
  /usr/bin/time -f "%e %M" -o "$dir/time.txt" \
    "$QC" run --rules rules/marriage.yaml \
      --data "marriage.registration=$dir/marriage/registration.parquet" \
      --memory-limit 1GiB --out "$disk/out" --store "$store/qc.db" --format json --quiet \
      > /dev/null 2> "$dir/stderr.txt" || code=$?
  read -r w m < <(tail -n 1 "$dir/time.txt")
  printf '%-40s %12s rows  wall %7.2f s  peak RSS %7.1f MiB  exit %d\n' \
    "$label" "$ROWS" "$w" "$(echo "$m / 1024" | bc -l)" "$code"
  echo "$code"> "$dir/code.txt"
}

# Whatever the outcome, a run that did not finish leaves nothing that looks complete.
nothing_left() {
  test ! -e "$disk/out/summary.json"
  test ! -e "$disk/out/anomalies"
  echo "nothing left behind; the error:"
  cat "$dir/stderr.txt"
}

soak "marriage pack, 64 MiB free" 64
# The run with room must complete, with every count equal to the truth and peak RSS within
# 1.25 x the limit + 150 MiB.
if [ "$(cat "$dir/code.txt")" -gt 1 ]; then
  echo "the run with room failed:" >&2
  cat "$dir/stderr.txt" >&2
  exit 1
fi
read -r _ m < <(tail -n 1 "$dir/time.txt")
if [ "$m" -gt $(((1024 * 5 / 4 + 150) * 1024)) ]; then
  echo "peak RSS $((m / 1024)) MiB is above 1.25 x 1 GiB + 150 MiB" >&2
  exit 1
fi
python3 - "$disk/out/summary.json" "$dir" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
for t in s["tables"]:
    truth = json.load(open(f"{sys.argv[2]}/{t['library']}/truth.json"))["tables"][t["name"]]
    assert t["rows"] == truth["rows"], (t["name"], t["rows"], truth["rows"])
    skipped = {r["id"] for r in t["skipped_rules"]}
    for r in t["rules"]:
        if r["id"] not in skipped:
            assert r["failed_rows"] == truth["rules"].get(r["id"], 0), (r["id"], r["failed_rows"])
print("counts = truth")
PY
df -h "$disk" | tail -n 1

soak "marriage pack, 1 MiB free" 1
test "$(cat "$dir/code.txt")" -eq 3
nothing_left
