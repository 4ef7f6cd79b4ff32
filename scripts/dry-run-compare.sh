#!/usr/bin/env bash
# Two dry-run binaries side by side on the same workloads, alternating, ROUNDS runs each:
# wall time, user time, system time and peak RSS of every run, then the median of each. For
# "no slower than before" claims (BENCHMARKS.md): build the old commit in its own worktree and
# target dir.
# Each run's line is copied to standard error through `cat`, not `tee /dev/stderr`, which
# truncated the output when both streams went to one file (see dry-run-bench.sh).
# Usage: bash scripts/dry-run-compare.sh OLD_BINARY NEW_BINARY ROUNDS FILE...
set -uo pipefail
old=$1 new=$2 rounds=$3
shift 3
for f in "$@"; do
  for round in $(seq "$rounds"); do
    for which in old new; do
      bin=${!which}
      # Exit status 1 means findings, which every workload has.
      /usr/bin/time -f "$which $(basename "$f") %e %U %M %S" "$bin" dry-run --format json --output /dev/null "$f" 2>&1 >/dev/null \
        | grep -E "^$which " || true
    done
  done
done | tee >(cat >&2) | awk '{ key = $1 " " $2; wall[key] = wall[key] " " $3; user[key] = user[key] " " $4; rss[key] = rss[key] " " $5; sys[key] = sys[key] " " $6 }
  function median(list,   n, a, i, j, t) { n = split(list, a, " "); for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }; return a[int((n + 1) / 2)] }
  END { for (k in wall) printf "median %s: %s s wall, %s s user, %s s system, %d MB peak RSS\n", k, median(wall[k]), median(user[k]), median(sys[k]), median(rss[k]) / 1024 }' | sort
