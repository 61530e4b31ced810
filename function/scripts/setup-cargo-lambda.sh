#!/usr/bin/env bash
# Installs cargo-lambda (and the Zig toolchain it cross-links with) from PyPI into the git-ignored
# .venv-tools; idempotent. `function/run.sh` serves with its `watch`, `function/package.sh` builds
# the glibc-2.34 Lambda binaries with its `build`, the tests run `watch --only-lambda-apis`.
#
# Usage: function/scripts/setup-cargo-lambda.sh   (then put <repo>/.venv-tools/bin on PATH)
set -euo pipefail
VERSION=1.9.2
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
tools="$repo/.venv-tools"
if [[ -x "$tools/bin/cargo-lambda" ]] && "$tools/bin/cargo-lambda" lambda --version 2>/dev/null | grep -q " $VERSION"; then
  exit 0
fi
echo "Installing cargo-lambda $VERSION (PyPI) into $tools ..."
python3 -m venv "$tools"
"$tools/bin/pip" install --quiet --disable-pip-version-check "cargo-lambda==$VERSION"
