#!/usr/bin/env bash
# Runs bench/peers/piper_reference.py (Piper's own pipeline, scored with tests/sdk/asr.py) in its
# own venv, .venv-piper-peer, created from bench/peers/requirements-piper.txt (reinstalled when the
# file changes). Arguments pass through, e.g. `--runs 3 --threads 2 --out target/piper-reference`.
# Needs ffmpeg on PATH (tests/sdk/setup.sh installs it). A dev/bench tool: not part of CI.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
venv="$repo/.venv-piper-peer"
requirements="$repo/bench/peers/requirements-piper.txt"
stamp="$venv/.requirements.sha256"
want=$(sha256sum "$requirements" | cut -d' ' -f1)
if [[ ! -x "$venv/bin/python" || ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
  echo "Installing the Piper reference pipeline's packages into $venv ..." >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
  echo "$want" >"$stamp"
fi
command -v ffmpeg >/dev/null 2>&1 || { echo "ffmpeg is missing (tests/sdk/setup.sh installs it)" >&2; exit 1; }
exec "$venv/bin/python" "$repo/bench/peers/piper_reference.py" "$@"
