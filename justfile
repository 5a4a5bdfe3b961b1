# qc — the team's verbs. One obvious way to do each thing.

# The README's run: audit the committed sample with the spatial pack (embedded, no server).
demo:
    cargo run --release -- run --rules rules/spatial.yaml

# The README's test command (what .ci/run calls).
test:
    cargo test --all-targets

# Format check, lints, tests, and every shipped pack validated.
check:
    cargo fmt --all -- --check
    cargo clippy --all-targets -- -D warnings
    cargo test --all-targets
    ./target/debug/qc check rules/

fmt:
    cargo fmt --all

lint:
    cargo clippy --all-targets -- -D warnings

# Review changed snapshots.
snap:
    cargo insta review

# Benchmarks: peak memory flat from 1M to 10M rows, throughput of the fused pass, and the
# domain functions per value (criterion).
bench:
    bash benches/scale.sh
    cargo bench --bench domain

# Generate the spatial library at N rows into scratch/ (not committed).
gen rows="1000000":
    cargo run --release -- gen --library spatial --rows {{rows}} --out scratch/spatial_{{rows}}

# The municipal report's figures, reproduced: 31,411,241 addresses, 1,336 anomalous.
headline:
    cargo build --release
    target/release/qc gen --library spatial --rows 31411241 --anomalies 1336 --seed 1 --out scratch/headline
    target/release/qc run --rules rules/spatial.yaml --data address=scratch/headline/address.parquet --out scratch/headline/out
