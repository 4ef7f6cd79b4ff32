#!/usr/bin/env bash
# The dry-run's fast build (issue 18): `kms-guardrails` compiled with profile-guided
# optimization, then checked to report byte for byte what the plain release build reports.
#
# Why: the dry-run's instructions are spread over many small functions (the parser, the
# conversion of items, the access arithmetic, the report), and no one of them is a large share
# any more (BENCHMARKS.md, "Stop 35"). Told which branches and calls are hot by a run over
# workloads of every form, the compiler lays the code out and inlines accordingly: 10% fewer
# instructions on the 100 MB snapshot, and 7-14% less CPU time on the 1 GB workloads (side by
# side, "Stop 35"). It is also compiled for this machine's CPU (`-Ctarget-cpu=native`: AVX2 and
# BMI where there are, on x86-64), 6% fewer instructions again: the fast build is built where it
# runs, trained and checked there, and may not start on a machine with an older CPU (the
# plain build runs on any CPU of its target). The source is the same; only the compiler's
# choices differ, and the check below holds the reports to that.
#
# Steps, all under ${CARGO_TARGET_DIR:-target}/pgo/:
#   1. training workloads from the corpus (`cargo xtask workload generate`), 20 MB of each form
#      (snapshot, gzipped snapshot, GAAD, three versions a resource), with a seed (11) other than
#      the benchmark's (7), so that the build is not trained on the files it is measured on;
#   2. an instrumented build (`-Cprofile-generate`, for this CPU) run over them and over the
#      embedded sample, in each report format;
#   3. the profiles merged with the toolchain's `llvm-profdata` (rustup's `llvm-tools`
#      component, added when missing);
#   4. the optimized build (`-Cprofile-use`, for this CPU), copied to OUT;
#   5. OUT and the plain release build (`cargo build --release`, for any CPU of the target)
#      run over the same inputs: the JSON, table and SARIF reports, standard error and exit
#      status must be identical, or the script fails.
# Usage: bash scripts/build-pgo.sh [OUT]   (default: ${CARGO_TARGET_DIR:-target}/pgo/kms-guardrails)
# Prints OUT's path last. RUSTFLAGS, when set, is kept and added to.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-target}
# The profiles' paths go to rustc, which runs elsewhere: absolute.
case $target in /*) ;; *) target=$PWD/$target ;; esac
work=$target/pgo
out=${1:-$work/kms-guardrails}

host=$(rustc -vV | sed -n 's/^host: //p')
profdata="$(rustc --print sysroot)/lib/rustlib/$host/bin/llvm-profdata"
if [ ! -x "$profdata" ]; then
  echo "== adding rustup's llvm-tools component (llvm-profdata)"
  rustup component add llvm-tools
fi
if [ ! -x "$profdata" ]; then
  echo "build-pgo.sh: no llvm-profdata at $profdata after adding llvm-tools" >&2
  exit 1
fi

echo "== the plain release build, and the workload tool"
cargo build --release --locked -p kms-guardrails -p xtask
plain=$target/release/kms-guardrails

echo "== training workloads (seed 11)"
train=$work/train
mkdir -p "$train"
# Written under another name first, so that an interrupted run leaves no partial workload.
generate() {
  [ -e "$train/$1" ] && return
  "$target/release/xtask" workload generate --seed 11 --size-mb 20 "${@:2}" "$train/part.$1"
  mv "$train/part.$1" "$train/$1"
}
generate config.json
generate config.json.gz --gzip
generate gaad.json --form gaad
generate versions.json --versions 3
# Every input: the embedded sample (`sample`: dry-run without a file), then each workload.
inputs=(sample "$train/config.json" "$train/config.json.gz" "$train/gaad.json" "$train/versions.json")

# Runs dry-run binary $1 over input $2 in format $3, writing the report to $4 and standard
# error to $4.err; prints the exit status. 0 (no findings) and 1 (findings) are what a run over
# sound input exits with; anything else fails the build.
run() {
  local status=0 args=(dry-run --format "$3" --output "$4")
  [ "$2" = sample ] || args+=("$2")
  "$1" "${args[@]}" 2>"$4.err" || status=$?
  if [ "$status" -gt 1 ]; then
    echo "build-pgo.sh: $1 ${args[*]} exited $status:" >&2
    cat "$4.err" >&2
    exit 1
  fi
  echo "$status"
}

echo "== the instrumented build, run over the training inputs"
profiles=$work/profiles
rm -rf "$profiles"
mkdir -p "$profiles"
RUSTFLAGS="${RUSTFLAGS:-} -Ctarget-cpu=native -Cprofile-generate=$profiles" CARGO_TARGET_DIR=$work/generate \
  cargo build --release --locked -p kms-guardrails
for input in "${inputs[@]}"; do
  for format in json table sarif; do
    run "$work/generate/release/kms-guardrails" "$input" "$format" "$work/trained.out" >/dev/null
  done
done
"$profdata" merge -o "$work/merged.profdata" "$profiles"

echo "== the optimized build"
RUSTFLAGS="${RUSTFLAGS:-} -Ctarget-cpu=native -Cprofile-use=$work/merged.profdata" CARGO_TARGET_DIR=$work/use \
  cargo build --release --locked -p kms-guardrails
mkdir -p "$(dirname "$out")"
cp "$work/use/release/kms-guardrails" "$out"

echo "== the optimized build reports what the plain one does"
for input in "${inputs[@]}"; do
  for format in json table sarif; do
    a=$(run "$plain" "$input" "$format" "$work/plain.out")
    b=$(run "$out" "$input" "$format" "$work/fast.out")
    if [ "$a" != "$b" ] || ! cmp -s "$work/plain.out" "$work/fast.out" || ! cmp -s "$work/plain.out.err" "$work/fast.out.err"; then
      echo "build-pgo.sh: the optimized build's $format report on $input differs from the plain build's (exit $b, $a)" >&2
      exit 1
    fi
  done
done
echo "$out"
