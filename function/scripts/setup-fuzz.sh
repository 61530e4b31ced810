#!/usr/bin/env bash
# Installs cargo-fuzz (pinned) from crates.io into the git-ignored .cargo-tools; idempotent.
# `tests/fuzz.sh` runs the libFuzzer targets of function/fuzz with it on the stable toolchain
# (RUSTC_BOOTSTRAP=1 lets stable accept the -Z flags cargo-fuzz passes).
#
# Usage: function/scripts/setup-fuzz.sh   (then put <repo>/.cargo-tools/bin on PATH)
set -euo pipefail
VERSION=0.13.2
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
tools="$repo/.cargo-tools"
if [[ -x "$tools/bin/cargo-fuzz" ]] && "$tools/bin/cargo-fuzz" --version 2>/dev/null | grep -q " $VERSION\$"; then
  exit 0
fi
echo "Installing cargo-fuzz $VERSION (crates.io) into $tools ..."
cargo install cargo-fuzz --version "$VERSION" --locked --root "$tools" --quiet
