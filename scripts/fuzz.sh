#!/usr/bin/env bash
# Runs every fuzz target (fuzz/fuzz_targets) for N seconds each, one after the other, one job
# each: `bash scripts/fuzz.sh [--seconds N] [TARGET...]` (N defaults to 60).
#
# cargo-fuzz needs nightly compiler features; this runs it on the stable toolchain with
# RUSTC_BOOTSTRAP=1. It installs cargo-fuzz when missing and builds the seed corpora
# (fuzz/corpus/<target>/, not committed) from the managed-policy corpus, the rules' fixtures and
# the sample export. Where cargo-fuzz cannot be installed or the targets cannot be built (no
# network, no sanitizer runtime), it says why and exits 0: the regression inputs
# (fuzz/regressions/) are replayed by `cargo test --workspace` either way.
# Exit status: 0 when every target ran clean (or fuzzing is unavailable), 1 when one crashed,
# hung or ran out of memory (the input is under fuzz/artifacts/<target>/), 2 on usage errors.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=60
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds="${2:?--seconds needs a number}"; shift 2 ;;
    --seconds=*) seconds="${1#--seconds=}"; shift ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    -*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
if [ ${#targets[@]} -eq 0 ]; then
  targets=(policy_document config_item config_event export_stream exceptions_file)
fi

export RUSTC_BOOTSTRAP=1

echo "== cargo-fuzz"
if ! command -v cargo-fuzz >/dev/null 2>&1; then
  if ! cargo install cargo-fuzz --locked; then
    echo "fuzz.sh: cargo-fuzz could not be installed (no network?); fuzzing skipped" >&2
    exit 0
  fi
fi

echo "== seed corpora (fuzz/corpus)"
cargo --quiet --locked xtask fuzz-seeds --out fuzz/corpus

echo "== building the fuzz targets"
if ! (cd fuzz && cargo fuzz build --debug-assertions); then
  echo "fuzz.sh: the fuzz targets could not be built (no network for fuzz/Cargo.lock's crates, or no sanitizer runtime); fuzzing skipped" >&2
  exit 0
fi

mkdir -p fuzz/logs
failed=()
for target in "${targets[@]}"; do
  echo "== fuzzing $target for ${seconds}s"
  log="fuzz/logs/$target.log"
  # Policy documents: inputs up to IAM's key-policy limit (32 KB) rather than the largest seed
  # (a 130 KB managed policy), which keeps executions per second up.
  limits=()
  if [ "$target" = policy_document ]; then limits=(-max_len=32768); fi
  # -timeout: an input taking 10 s is a hang; -rss_limit_mb: over 2 GB is a memory blow-up.
  if (cd fuzz && cargo fuzz run --debug-assertions "$target" -- \
        -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 ${limits[@]+"${limits[@]}"}) >"$log" 2>&1; then
    grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss_mb)' "$log" || true
  else
    echo "fuzz.sh: $target failed; log: $log, input: fuzz/artifacts/$target/" >&2
    tail -40 "$log" >&2
    failed+=("$target")
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz.sh: failed: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz.sh: every target ran ${seconds}s clean"
