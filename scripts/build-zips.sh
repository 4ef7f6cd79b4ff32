#!/usr/bin/env bash
# Builds every rule's Lambda zip (provided.al2023, arm64) into dist/<rule-id>.zip, the S3 keys
# the templates expect under their CodeKeyPrefix. Needs cargo-lambda and ziglang (pip).
# The `lambda` feature alone: no dry-run (`cli`) and so no bundled AWS managed policies, which a
# function never reads (it fetches attached managed policies from IAM). Check with
# `cargo tree -p <rule> --no-default-features --features lambda -e normal,features -i shared`
# (scripts/test.sh fails when it shows shared's `cli`, `bundled-policies` or `test-util`).
set -euo pipefail
cd "$(dirname "$0")/.."
rules=$(ls -d rules/*/ | xargs -n1 basename)   # rules/ holds the rule crates only
mkdir -p dist
for rule in $rules; do
  cargo lambda build --release --arm64 --output-format zip -p "$rule" --bin "$rule" --no-default-features --features lambda
  cp "target/lambda/$rule/bootstrap.zip" "dist/$rule.zip"
  echo "dist/$rule.zip $(stat -c %s "dist/$rule.zip") bytes"
done
