#!/usr/bin/env bash
# Local vs cluster, side by side in one run: the shipped marriage pack (row-level and
# set-based rules) on a generated 10M-row Parquet table, audited
#   - locally (embedded engine, all cores), and
#   - on a cluster on this machine: `qc scheduler` and two `qc executor` processes, one core
#     each (so both sides have the machine's two cores);
# then a 20k-row table both ways, whose difference is the cluster's
# fixed cost per audit. Every run's counts must equal the generator's truth, and the cluster's
# summary must equal the local one, before figures are printed.
# Usage: bash benches/cluster.sh [ROWS] [RUNS]   (default 10000000 rows, median of 3 runs)
#   BASE=path/to/older/qc  also audits on the cluster with that client, in the same run (the
#                          cluster's processes stay this build's)
# Records a JSON line in benches/results/cluster.jsonl.
set -euo pipefail
cd "$(dirname "$0")/.."
source benches/alone.sh
ROWS=${1:-10000000}
RUNS=${2:-3}
BASE=${BASE:-}
QC=target/release/qc
cargo build --release --features cluster --quiet
work=scratch/bench/cluster
rm -rf "$work" && mkdir -p "$work"
data=scratch/bench/marriage_${ROWS}_parquet
[ -f "$data/truth.json" ] || "$QC" gen --library marriage --rows "$ROWS" --seed 42 --anomaly-rate 0.001 --out "$data" >&2

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 300); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; echo "nothing on port $1" >&2; return 1; }
SP=$(port)
"$QC" scheduler --port "$SP" 2> "$work/scheduler.log" &
pids=($!)
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
wait_port "$SP"
for i in 1 2; do
  F=$(port); G=$(port)
  mkdir -p "$work/executor$i"
  "$QC" executor --scheduler "127.0.0.1:$SP" --port "$F" --grpc-port "$G" --cores 1 \
    --work-dir "$work/executor$i" --memory-limit 4GiB 2> "$work/executor$i.log" &
  pids+=($!)
  wait_port "$F"
done
CLUSTER="df://127.0.0.1:$SP"

# One measured run: prints "wall_seconds peak_rss_kib" and keeps its summary; fails when a
# count differs from the truth.
measure() { # client name data truth extra...
  local client=$1 name=$2 data=$3 truth=$4; shift 4
  local out="$work/out_$name"
  # A fresh history each run, so row_count_change sees no earlier run on either side.
  rm -rf "$out" "$work/qc.db"
  /usr/bin/time -f "%e %M" -o "$work/time.txt" \
    "$client" run --rules rules/marriage.yaml --data "registration=$data" --as-of 2026-11-01 \
      --out "$out" --store "$work/qc.db" --format json --quiet "$@" > /dev/null || [ $? -eq 1 ]
  python3 - "$out/summary.json" "$truth" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))["tables"][0]
t = json.load(open(sys.argv[2]))["tables"]["registration"]
assert (s["rows"], s["anomalous_rows"]) == (t["rows"], t["anomalous_rows"]), (s["rows"], s["anomalous_rows"])
for r in s["rules"]:
    assert r["failed_rows"] == t["rules"].get(r["id"], 0), r["id"]
PY
  tail -n 1 "$work/time.txt"
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

declare -A WALL
RESULTS=()
report() { # client label name data truth extra...
  local client=$1 label=$2 name=$3; shift 3
  local walls=() rss=()
  for _ in $(seq "$RUNS"); do
    read -r w m < <(measure "$client" "$name" "$@")
    walls+=("$w"); rss+=("$m")
  done
  WALL[$name]=$(printf '%s\n' "${walls[@]}" | median)
  local m
  m=$(printf '%s\n' "${rss[@]}" | median)
  printf '%-34s wall %7.2f s   client peak RSS %7.1f MiB\n' "$label" "${WALL[$name]}" "$(echo "$m / 1024" | bc -l)"
  RESULTS+=("{\"case\": \"$label\", \"walls_s\": [$(IFS=,; echo "${walls[*]}")], \"wall_s\": ${WALL[$name]}, \"client_peak_rss_mib\": $(echo "scale=1; $m / 1024" | bc -l)}")
}

same_counts() { # a b
  python3 - "$work/out_$1/summary.json" "$work/out_$2/summary.json" <<'PY'
import json, sys
def counts(p):
    t = json.load(open(p))["tables"][0]
    t.pop("elapsed_ms", None)
    t.pop("reuse", None)  # what was read again; a cluster run reads every file
    return t
assert counts(sys.argv[1]) == counts(sys.argv[2]), "cluster and local summaries differ"
PY
}

small=scratch/bench/marriage_20000_parquet
[ -f "$small/truth.json" ] || "$QC" gen --library marriage --rows 20000 --seed 42 --anomalies 60 --out "$small" >&2
sample=$small/registration.parquet
sample_truth=$small/truth.json
echo "marriage pack, $ROWS rows (Parquet), $(nproc) cores, median of $RUNS runs"
report "$QC" "local, 2 threads"              local   "$data/registration.parquet" "$data/truth.json" --threads 2
report "$QC" "cluster, 2 executors × 1 core" cluster "$data/registration.parquet" "$data/truth.json" --cluster "$CLUSTER" --threads 2
same_counts local cluster
if [ -n "$BASE" ]; then
  report "$BASE" "cluster, baseline client"    base    "$data/registration.parquet" "$data/truth.json" --cluster "$CLUSTER" --threads 2
  same_counts local base
  printf 'cluster: this build / baseline client: %.2f\n' "$(echo "${WALL[cluster]} / ${WALL[base]}" | bc -l)"
fi
report "$QC" "20k rows, local"               slocal  "$sample" "$sample_truth" --threads 2
report "$QC" "20k rows, cluster"             scluster "$sample" "$sample_truth" --cluster "$CLUSTER" --threads 2
same_counts slocal scluster
printf 'cluster/local: %.2f at %s rows; fixed cost of a cluster audit (sample): %.2f s\n' \
  "$(echo "${WALL[cluster]} / ${WALL[local]}" | bc -l)" "$ROWS" \
  "$(echo "${WALL[scluster]} - ${WALL[slocal]}" | bc -l)"
mkdir -p benches/results
printf '{"bench": "cluster", "commit": "%s", "date": "%s", "command": "%s", "rows": %s, "runs": %s, "baseline": "%s", "results": [%s]}\n' \
  "$(git rev-parse --short HEAD)" "$(date -Iseconds)" "${BASE:+BASE=$BASE }bash benches/cluster.sh $ROWS $RUNS" \
  "$ROWS" "$RUNS" "$BASE" "$(IFS=,; echo "${RESULTS[*]}")" \
  >> benches/results/cluster.jsonl
