# Sourced by the shell benchmarks from the repository's root: hold scratch/bench/bench.lock
# until the script ends, or stop. Two benchmarks at once share the cores and the scratch files,
# and both would record wrong figures (the Python benchmarks take the same lock).
mkdir -p scratch/bench
exec 9>scratch/bench/bench.lock
if ! flock -n 9; then
  echo "another benchmark is running (it holds scratch/bench/bench.lock); run one at a time" >&2
  exit 1
fi
