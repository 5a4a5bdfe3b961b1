# qc — the team's verbs. One obvious way to do each thing.

# The README's run: audit the committed sample with the spatial pack (embedded, no server).
demo:
    cargo run --release -- run --rules rules/spatial.yaml

# The README's test command (what .ci/run calls).
test:
    cargo test --all-targets --features cluster

# Format check, lints, tests, and every shipped pack validated.
# (CI lints the cluster build only; run this before pushing a change to the default build.)
check:
    cargo fmt --all -- --check
    cargo clippy --all-targets -- -D warnings
    cargo clippy --all-targets --features cluster -- -D warnings
    cargo test --all-targets --features cluster
    ./target/debug/qc check rules/

fmt:
    cargo fmt --all

lint:
    cargo clippy --all-targets --features cluster -- -D warnings

# Review changed snapshots.
snap:
    cargo insta review

# Benchmarks: peak memory flat from 1M to 10M rows, throughput of the fused pass, the domain
# functions per value and the fused evaluator kernel (criterion).
bench:
    bash benches/scale.sh
    cargo bench --bench domain
    cargo bench --bench kernel

# qc against DuckDB and Polars (PyPI, into scratch/venv) and the scan floor on the same files,
# counts checked equal: marriage at 1M, 10M, 31,411,241 rows (Parquet) and 10M rows (the same
# records as CSV), spatial against its floor.
bench-compare rows="1000000,10000000,31411241" runs="3":
    python3 benches/compare.py --rows {{rows}} --runs {{runs}}

# Local vs a scheduler and two executors on this machine: the marriage pack on 10M rows and on
# the shipped sample (fixed cost per audit), counts checked against the truth and each other.
bench-cluster rows="10000000" runs="3":
    bash benches/cluster.sh {{rows}} {{runs}}

# Set-based rules against the row pass: marriage and death packs at 10M and 50M rows, row rules
# only and whole, 1 and 2 threads, default limit and 1 GiB; one unique rule added to the 12-rule
# audit at 10M and 31,411,241 rows. Counts checked against truth; a JSON line per run in
# benches/results/sets.jsonl.
bench-sets rows="10000000,50000000" runs="1":
    python3 benches/sets.py --rows {{rows}} --runs {{runs}}

# Set-based rules under a memory limit: the death pack on 50M generated rows at 1 GiB.
# An estate of many tables through templates vs the same rules written per table;
# benches/results/estate.jsonl.
bench-estate tables="200" rows="1000" runs="3":
    bash benches/estate.sh {{tables}} {{rows}} {{runs}}

# `qc profile` against the marriage pack's row rules on the same 10M-row file, Parquet and GBK
# CSV (counts checked first); benches/results/profile.jsonl.
bench-profile rows="10000000" runs="3" formats="parquet,csv":
    python3 benches/profile.py --rows {{rows}} --runs {{runs}} --formats {{formats}}

# The problem store at PROBLEMS problems: bytes per problem, the report's rectification and
# `qc problems` (totals checked first); benches/results/problems.jsonl.
bench-problems problems="10000000" runs="3":
    python3 benches/problems.py --problems {{problems}} --runs {{runs}}

# A nightly incremental run against a full run of the same files: the 31,411,241-row address
# table as 100 Parquet files, one rewritten and one added (counts checked against the truth,
# summaries and anomaly exports compared); benches/results/incremental.jsonl.
bench-incremental rows="31411241" files="100" runs="3":
    python3 benches/incremental.py --rows {{rows}} --files {{files}} --runs {{runs}}

# One big file on every core: the address table as one UTF-8 CSV, one GBK CSV and one Parquet
# file of a single row group, each audited on 1 core, with --threads 1 and with --threads 2
# (counts checked against the truth, summaries and exports compared); one_file.jsonl.
bench-one-file rows="10000000" runs="3":
    python3 benches/one_file.py --rows {{rows}} --runs {{runs}}

bench-memory rows="50000000" +limits="1GiB":
    bash benches/memory.sh {{rows}} {{limits}}

# Generate the four libraries together at N rows each into scratch/ (not committed).
gen rows="1000000":
    cargo run --release -- gen --library spatial,marriage,death,building --rows {{rows}} --out scratch/libraries_{{rows}}

# Audit every shipped pack together on the committed samples (cross-library rules included).
demo-all:
    cargo run --release -- run --rules rules/

# Three months of runs of the marriage and spatial libraries (anomalies 40, 120, 60 per
# library), then the latest month's report and the per-provider feedback files, in scratch/demo.
demo-report:
    #!/usr/bin/env bash
    set -euo pipefail
    cargo build --release --quiet
    qc=target/release/qc
    demo=scratch/demo
    rm -rf "$demo" && mkdir -p "$demo"
    for month in "2026-08-31 40" "2026-09-30 120" "2026-10-31 60"; do
      set -- $month
      data="$demo/data-$1"
      "$qc" gen --library spatial,marriage --rows 20000 --seed 7 --anomalies "$2" --out "$data"
      "$qc" run --rules rules/spatial.yaml --rules rules/marriage.yaml \
        --data "spatial.address=$data/spatial/address.parquet" \
        --data "marriage.registration=$data/marriage/registration.parquet" \
        --as-of "$1" --store "$demo/qc.db" --out "$demo/run-$1" --quiet || [ $? -eq 1 ]
    done
    "$qc" runs --store "$demo/qc.db"
    "$qc" report --month 2026-10 --store "$demo/qc.db" --out "$demo/reports"
    "$qc" feedback --store "$demo/qc.db" --out "$demo/feedback"

# The municipal report's figures, reproduced: 31,411,241 addresses, 1,336 anomalous.
headline:
    cargo build --release
    target/release/qc gen --library spatial --rows 31411241 --anomalies 1336 --seed 1 --out scratch/headline
    target/release/qc run --rules rules/spatial.yaml --data address=scratch/headline/address.parquet --out scratch/headline/out

# Fuzz one target (pack, csv, id_number) for SECONDS with cargo-fuzz (nightly; outside CI).
# Inputs that fail land in fuzz/artifacts/TARGET/: copy them to fuzz/regressions/TARGET/,
# where the normal test suite replays them (tests/fuzz_corpus.rs).
# New inputs go to fuzz/scratch/ (not committed); the committed corpus only seeds.
fuzz target seconds="600":
    mkdir -p fuzz/scratch/{{target}}
    cd fuzz && cargo +nightly fuzz run {{target}} scratch/{{target}} corpus/{{target}} -- -max_total_time={{seconds}} -timeout=20 -rss_limit_mb=4096

# Soak: the marriage pack on 50M generated rows, --memory-limit 1GiB, output on a nearly full
# tmpfs (needs root): wall, peak RSS and outcome, then the same with too little room.
soak rows="50000000":
    bash benches/soak.sh {{rows}}
