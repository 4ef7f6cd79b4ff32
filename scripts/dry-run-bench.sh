#!/usr/bin/env bash
# The dry-run throughput and memory benchmark of BENCHMARKS.md: generates the corpus-based
# workloads (100 MB, 500 MB and 1 GB snapshots, gzip, GAAD, 1 GB of three versions a resource;
# about 3.4 GB of disk) into DIR,
# then runs the parse-only pass and the dry-run on each, twice, with wall time, CPU time and
# peak RSS. Usage: bash scripts/dry-run-bench.sh [DIR]   (default /tmp/kms-guardrails-bench)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-/tmp/kms-guardrails-bench}
mkdir -p "$dir"
# Release builds of the dry-run and of the workload tool (`cargo xtask workload`), whose
# parse-only pass is the baseline.
cargo build --release --locked -p kms-guardrails -p xtask
bin=${CARGO_TARGET_DIR:-target}/release
generate() { [ -e "$dir/$1" ] || "$bin/xtask" workload generate "${@:2}" "$dir/$1"; }
generate w100.json --size-mb 100
generate w100.json.gz --size-mb 100 --gzip
generate g100.json --size-mb 100 --form gaad
generate w500.json --size-mb 500
generate w1000.json --size-mb 1000
generate w1000.json.gz --size-mb 1000 --gzip
# Every resource in three versions, shuffled (a history file): only the newest is judged.
generate v1000.json --size-mb 1000 --versions 3
# Exit status 1 of the dry-run (findings) must not stop the loop.
set +o pipefail
for f in w100.json w100.json.gz g100.json w500.json w1000.json w1000.json.gz v1000.json; do
  for round in 1 2; do
    echo "load $(cut -d' ' -f1 /proc/loadavg)"
    /usr/bin/time -f "parse $f %e s wall %U s user %M KB" "$bin/xtask" workload parse "$dir/$f" 2>&1 | grep wall
    # Exit status 1 means findings, which every workload has.
    /usr/bin/time -f "dryrun $f %e s wall %U s user %M KB" "$bin/kms-guardrails" dry-run --format json --output /dev/null "$dir/$f" 2>&1 | grep wall || true
  done
done
