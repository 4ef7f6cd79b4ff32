#!/usr/bin/env bash
# Every test, from a clean clone: the README's test command and what CI runs.
# Installs what the tests need (moto's server for the AWS APIs, pinned), then checks
# formatting, lints and runs the whole workspace.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== installing test tools (pip, pinned)"
python3 -m pip install --quiet --disable-pip-version-check -r tests/requirements.txt

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== cargo test"
cargo test --workspace --locked
