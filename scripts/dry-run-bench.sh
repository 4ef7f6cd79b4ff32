#!/usr/bin/env bash
# The dry-run throughput and memory benchmark of BENCHMARKS.md (issue 18): generates the
# corpus-based workloads (100 MB, 500 MB and 1 GB snapshots, gzip, GAAD of 100 MB and 1 GB, 1 GB
# of three versions a resource; about 3.8 GB of disk) into DIR, then, ROUNDS times over each workload, side by
# side in one run:
#   - the floors, one core each (`xtask workload scan`): reading the bytes, serde's validating
#     `IgnoredAny` scan of them, and a `serde_json::Value` parse of every list element;
#   - the dry-run, every rule, JSON report: wall time, user and system CPU time, peak RSS; in
#     two builds of the same source, alternating which runs first: the plain release build
#     (`cargo build --release`, what `cargo run --release` runs) and the fast build,
#     profile-guided and for this machine's CPU (`scripts/build-pgo.sh`, which checks its
#     reports byte-identical to the plain build's), its rows marked `+pgo`.
# Then the medians, and the dry-run's wall time as a multiple of each floor, and of reading
# and scanning, and reading and parsing, together ("x r+scan", "x r+value": the median read
# plus the median scan or parse). Those two are the floors issue 18's goal is judged by for a
# `.json.gz`: scanning or parsing a gzip file on one core means inflating it first, and
# inflating alone takes several times the scan (README, "Speed").
# The machine's state (cores, memory, load) is printed first. What the runs print goes to
# standard error too, through `cat` (`tee >(cat >&2)`), not `tee /dev/stderr`: that opened the
# file anew and truncated it, so that `> OUT 2>&1` or `>> OUT 2>&1` lost lines (the copy on
# standard error may now end after the medians).
# Usage: bash scripts/dry-run-bench.sh [DIR] [ROUNDS] [WORKLOAD...]
#   (defaults: /tmp/kms-guardrails-bench, 3, every workload)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-/tmp/kms-guardrails-bench}
rounds=${2:-3}
shift $(($# > 2 ? 2 : $#))
mkdir -p "$dir"
# Release builds of the dry-run and of the workload tool (`cargo xtask workload`), whose
# `scan` gives the floors.
cargo build --release --locked -p kms-guardrails -p xtask
bin=${CARGO_TARGET_DIR:-target}/release
# The fast build: its path is the script's last line; what it says before goes to stderr.
fast=$(bash scripts/build-pgo.sh 2>&1 | tee >(cat >&2) | tail -1)
[ -x "$fast" ] || { echo "dry-run-bench.sh: the fast build failed (scripts/build-pgo.sh)" >&2; exit 1; }
generate() { [ -e "$dir/$1" ] || "$bin/xtask" workload generate "${@:2}" "$dir/$1"; }
generate w100.json --size-mb 100
generate w100.json.gz --size-mb 100 --gzip
generate g100.json --size-mb 100 --form gaad
generate g1000.json --size-mb 1000 --form gaad
generate w500.json --size-mb 500
generate w1000.json --size-mb 1000
generate w1000.json.gz --size-mb 1000 --gzip
# Every resource in three versions, shuffled (a history file): only the newest is judged.
generate v1000.json --size-mb 1000 --versions 3
workloads=("$@")
[ ${#workloads[@]} -gt 0 ] || workloads=(w100.json w100.json.gz g100.json w500.json w1000.json w1000.json.gz v1000.json g1000.json)

echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "commit: $(git rev-parse --short HEAD)$(git diff --quiet || echo ' (with changes)')"
# How much the CPUs were taken from this machine's threads (a contended virtual machine's
# floors move as much as the dry-run): `some avg10` is the share of the last 10 s in which a
# thread waited for a CPU.
[ -r /proc/pressure/cpu ] && echo "cpu pressure: $(head -1 /proc/pressure/cpu)"
for f in "${workloads[@]}"; do
  for round in $(seq "$rounds"); do
    echo "load $(cut -d' ' -f1 /proc/loadavg) $f round $round" >&2
    # xtask reports on stderr.
    "$bin/xtask" workload scan "$dir/$f" 2>&1 | awk -v f="$f" '{ print "floor", f, $1, $2 }'
    # The two builds, the first of them in turn.
    builds=("$f=$bin/kms-guardrails" "$f+pgo=$fast")
    [ $((round % 2)) = 1 ] || builds=("${builds[1]}" "${builds[0]}")
    for build in "${builds[@]}"; do
      # Exit status 1 means findings, which every workload has.
      /usr/bin/time -f "dryrun ${build%%=*} %e %U %M %S" "${build#*=}" dry-run --format json --output /dev/null "$dir/$f" 2>&1 >/dev/null \
        | grep '^dryrun ' || true
    done
  done
done | tee >(cat >&2) | awk '
  function median(list,   n, a, i, j, t) { n = split(list, a, " "); for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }; return a[int((n + 1) / 2)] }
  $1 == "floor" { floor[$2 " " $3] = floor[$2 " " $3] " " $4 }
  # A run of the fast build is named by its workload and "+pgo", and measured against its floors.
  $1 == "dryrun" { wall[$2] = wall[$2] " " $3; user[$2] = user[$2] " " $4; rss[$2] = rss[$2] " " $5; sys[$2] = sys[$2] " " $6; runs[$2] = 1 }
  END {
    printf "%-20s %8s %8s %8s | %9s %9s %8s %8s | %9s %9s %9s %9s\n", "median of runs", "read s", "scan s", "value s", "dry-run s", "user s", "sys s", "RSS MB", "x scan", "x value", "x r+scan", "x r+value"
    fflush()
    for (run in runs) {
      f = run; sub(/\+pgo$/, "", f)
      r = median(floor[f " read"]); s = median(floor[f " scan"]); v = median(floor[f " value"]); w = median(wall[run])
      printf "%-20s %8.2f %8.2f %8.2f | %9.2f %9.2f %8.2f %8d | %9.2f %9.2f %9.2f %9.2f\n", run, r, s, v, w, median(user[run]), median(sys[run]), median(rss[run]) / 1024, w / s, w / v, w / (r + s), w / (r + v) | "sort"
    }
    close("sort")
  }'
