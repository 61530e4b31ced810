#!/usr/bin/env bash
# The test command: installs what the tests need on a fresh machine (the OpenVINO runtime, from
# the pinned PyPI wheel), checks formatting and lints, then runs every test of the workspace.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

function/scripts/setup-openvino.sh
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
cargo test --workspace
