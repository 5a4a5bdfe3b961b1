#!/usr/bin/env bash
# An estate of TABLES tables (default 200) of ROWS rows (default 1000) audited through the
# estate pack's templates (rules/estate, one entry per department, `{file}` tables) and
# through the same rules written out table by table, RUNS times each, alternately. Both
# runs' counts are checked against the generator's truth before any figure is printed; the
# medians are appended to benches/results/estate.jsonl.
# Usage: bash benches/estate.sh [TABLES] [ROWS] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
source benches/alone.sh
TABLES=${1:-200}
ROWS=${2:-1000}
RUNS=${3:-3}
QC=target/release/qc
cargo build --release --quiet
dir=scratch/bench/estate_${TABLES}x$ROWS
[ -f "$dir/data/truth.json" ] || "$QC" gen --library estate --tables "$TABLES" --rows "$ROWS" \
  --anomalies 3 --seed 2026 --out "$dir/data" >&2

# The template pack pointed at this estate, and the same rules written out per table.
python3 - "$dir" "$TABLES" <<'PY'
import os, re, sys
dir, tables = sys.argv[1], int(sys.argv[2])
data = os.path.abspath(os.path.join(dir, "data"))
text = open("rules/estate/estate.yaml").read().replace("../../testdata/estate", data)
open(os.path.join(dir, "templates_pack.yaml"), "w").write(text)
import shutil; shutil.copy("rules/estate/templates.yaml", os.path.join(dir, "templates.yaml"))
depts = re.findall(r"path: [^ ]*/(\w+)/\*\.csv.*?roles: \{ citizen_id: (\w+), district: (\w+), record_date: (\w+) \}", text, re.S)
out = "library:\n  id: estate\n  name: 数据资产示例库\ntables:\n"
for i in range(1, tables + 1):
    d, cid, dist, date = depts[(i - 1) % len(depts)]
    out += f"""  - name: t{i:03}
    source: {{ path: {data}/{d}/t{i:03}.csv }}
    key: [id]
    columns:
      - {{ name: id, type: int }}
      - {{ name: {cid}, type: string, pii: id_number }}
      - {{ name: {dist}, type: string }}
      - {{ name: {date}, type: date }}
    rules:
      - {{ id: T-ID, name: 公民身份号码有效, dimension: 准确性, check: {{ id_number: {{ column: {cid} }} }} }}
      - {{ id: T-DIST, name: 区县代码在记录日期有效, dimension: 规范性, check: {{ admin_code: {{ column: {dist}, level: district, as_of: {date} }} }} }}
      - {{ id: T-DATE, name: 记录日期不早于 1950 年, dimension: 准确性, check: {{ range: {{ column: {date}, min: '1950-01-01' }} }} }}
"""
open(os.path.join(dir, "explicit_pack.yaml"), "w").write(out)
PY

run() { # pack label → "wall peak_kib"
  /usr/bin/time -f "%e %M" -o "$dir/time.txt" "$QC" run --rules "$1" --out "$dir/out_$2" \
    --store "$dir/$2.db" --format json --quiet > /dev/null || [ $? -eq 1 ]
  python3 - "$dir/out_$2/summary.json" "$dir/data/truth.json" <<'PY'
import json, sys
s, t = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))["tables"]
assert len(s["tables"]) == len(t), (len(s["tables"]), len(t))
for tb in s["tables"]:
    want = t[tb["name"]]
    assert (tb["rows"], tb["anomalous_rows"]) == (want["rows"], want["anomalous_rows"]), tb["name"]
    for r in tb["rules"]:
        if not r["builtin"]:
            assert r["failed_rows"] == want["rules"][r["id"]], (tb["name"], r["id"])
PY
  tail -n 1 "$dir/time.txt"
}

: > "$dir/runs.txt"
for _ in $(seq "$RUNS"); do
  echo "templates $(run "$dir/templates_pack.yaml" templates)" >> "$dir/runs.txt"
  echo "explicit $(run "$dir/explicit_pack.yaml" explicit)" >> "$dir/runs.txt"
done
python3 - "$dir/runs.txt" "$TABLES" "$ROWS" "$RUNS" <<'PY'
import json, statistics, subprocess, sys, datetime
runs = [l.split() for l in open(sys.argv[1])]
med = lambda k, i: statistics.median(float(r[i]) for r in runs if r[0] == k)
fig = {"tables": int(sys.argv[2]), "rows_per_table": int(sys.argv[3]), "runs": int(sys.argv[4]),
       "wall_s_templates": med("templates", 1), "wall_s_explicit": med("explicit", 1),
       "peak_mib_templates": round(med("templates", 2) / 1024, 1),
       "peak_mib_explicit": round(med("explicit", 2) / 1024, 1)}
fig["wall_templates_over_explicit"] = round(fig["wall_s_templates"] / fig["wall_s_explicit"], 4)
line = {"commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip(),
        "date": datetime.date.today().isoformat(),
        "command": f"bash benches/estate.sh {sys.argv[2]} {sys.argv[3]} {sys.argv[4]}: qc run on a generated estate through the template pack vs the same rules written per table; counts equal the truth in both; medians, whole process",
        "figures": fig}
print(json.dumps(fig))
open("benches/results/estate.jsonl", "a").write(json.dumps(line, ensure_ascii=False) + "\n")
PY
