#!/usr/bin/env bash
# The test command: installs what the tests need on a fresh machine (the OpenVINO runtime, from
# the pinned PyPI wheel), checks formatting and lints, then runs every test of the workspace,
# then the SDK suite (tests/sdk: the official OpenAI Python SDK against the function running
# under `cargo lambda watch`).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

function/scripts/setup-openvino.sh
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
cargo test --workspace

echo "== SDK suite (tests/sdk) =="
tests/sdk/setup.sh
# Bounded: up to 10 minutes for a first build inside the suite, then a few minutes of tests.
timeout --kill-after=30 1200 .venv-sdk/bin/python -m pytest tests/sdk -p no:cacheprovider \
  -o console_output_style=classic -rfE --tb=short -q
