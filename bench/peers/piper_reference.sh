#!/usr/bin/env bash
# Runs bench/peers/piper_reference.py (Piper's own pipeline, scored with tests/sdk/asr.py) in its
# own venv, .venv-piper-peer, created from bench/peers/requirements-piper.txt (reinstalled when the
# file changes). Arguments pass through, e.g. `--runs 3 --threads 2 --out target/piper-reference`.
# Needs ffmpeg on PATH (tests/sdk/setup.sh installs it). A dev/bench tool: not part of CI.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
source "$repo/bench/peers/piper_venv.sh"
command -v ffmpeg >/dev/null 2>&1 || { echo "ffmpeg is missing (tests/sdk/setup.sh installs it)" >&2; exit 1; }
exec "$PIPER_VENV/bin/python" "$repo/bench/peers/piper_reference.py" "$@"
