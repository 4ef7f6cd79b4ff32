#!/usr/bin/env bash
# Every test, from a clean clone: the README's test command and what CI runs.
# Installs what the tests need (moto's server for the AWS APIs, cfn-lint and checkov, pinned),
# then checks formatting, lints the templates and the code, and runs the whole workspace.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== installing test tools (pip, pinned)"
python3 -m pip install --quiet --disable-pip-version-check -r tests/requirements.txt

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cfn-lint, every rule including the informational ones"
cfn-lint --include-checks I -- cloudformation/*.yaml

echo "== checkov on the templates (its own virtualenv: its pins conflict with botocore's above)"
# Every finding left is skipped in the template (Metadata.checkov.skip) with its reason in the
# template's opening comment; any other finding fails here.
checkov_venv="${CARGO_TARGET_DIR:-target}/checkov-venv"
[ -x "$checkov_venv/bin/checkov" ] || python3 -m venv "$checkov_venv"
"$checkov_venv/bin/pip" install --quiet --disable-pip-version-check -r tests/requirements-checkov.txt
# BC_SKIP_MAPPING: no call to the vendor's API for guideline links (offline CI).
BC_SKIP_MAPPING=TRUE "$checkov_venv/bin/checkov" --quiet --compact --framework cloudformation -d cloudformation

echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== the Lambda zips' build: every rule with its \`lambda\` feature alone (scripts/build-zips.sh)"
# It must compile, and carry neither the dry-run nor the bundled AWS managed policies.
rules=$(ls -d rules/*/ | xargs -n1 basename)
cargo clippy --locked --no-default-features --features lambda $(printf -- '-p %s ' $rules) --bins -- -D warnings
for rule in $rules; do
  # Normal edges only: the zip build compiles no dev-dependency (the test kit's `test-util`).
  if cargo tree --locked -p "$rule" --no-default-features --features lambda -e normal,features -i shared | grep -E 'shared feature "(cli|bundled-policies|test-util)"'; then
    echo "test.sh: $rule's zip build pulls in shared's cli or bundled-policies" >&2
    exit 1
  fi
done

echo "== the README's first command, in a debug build: the dry-run on the embedded sample"
# Exit status 1: the sample shows every rule failing somewhere. Anything else (2, or cargo's
# 101 when it cannot tell which binary to run) means the README's command is broken.
status=0
cargo run --quiet --locked -p kms-guardrails -- dry-run --format table >/dev/null || status=$?
if [ "$status" -ne 1 ]; then
  echo "test.sh: \`cargo run -p kms-guardrails -- dry-run\` exited $status, expected 1 (findings on the sample)" >&2
  exit 1
fi

echo "== the dry-run's fast build (scripts/build-pgo.sh): profile-guided, its reports byte-identical to the plain release build's"
# On every training input (20 MB of each form and the embedded sample) and in every format; it
# fails the run when a report, standard error or the exit status differs, or a build fails.
bash scripts/build-pgo.sh >/dev/null

echo "== cargo test (it builds every binary a test runs: CARGO_BIN_EXE_*, cargo lambda's emulator)"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test --workspace --locked 2>&1 | tee "$log"
# One closing line for the whole workspace (cargo prints one per test binary, many of them
# empty doc-test runs).
awk '/^test result:/ { passed += $4; failed += $6; ignored += $8 }
     END { printf "\nworkspace: %d passed, %d failed, %d skipped\n", passed, failed, ignored }' "$log"
