#!/usr/bin/env bash
# Every test, from a clean clone: the README's test command and what CI runs.
# Installs what the tests need (nothing beyond Rust yet; moto, cargo-lambda and cfn-lint join
# as the end-to-end suites land), then checks formatting, lints and runs the whole workspace.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== cargo test"
cargo test --workspace --locked
