#!/usr/bin/env bash
# Runs bench/peers/piper_paired.py (this function against piper-tts on onnxruntime, paired and
# alternating in one run) in .venv-piper-peer, after building the release function, its eSpeak NG
# helper and the voice's stages. Arguments pass through, e.g. `--rounds 8 --threads 2 --out
# target/bench-report/piper-paired.json`. bench/run.sh runs it as one of its phases.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"
source "$repo/bench/peers/piper_venv.sh"
function/scripts/setup-openvino.sh >/dev/null
function/scripts/setup-espeak.sh >/dev/null
function/scripts/setup-piper.sh >/dev/null
cargo build --quiet --release -p tts-function --bin bootstrap -p espeak-phonemes --bin espeak-phonemes
exec "$PIPER_VENV/bin/python" "$repo/bench/peers/piper_paired.py" "$@"
