#!/usr/bin/env bash
# The run command: installs the OpenVINO runtime and cargo-lambda (both from PyPI, into
# git-ignored folders), then serves the function locally with `cargo lambda watch` on
# http://localhost:9000 (POST /v1/audio/speech). Extra arguments go to `cargo lambda watch`.
#
# Set TTS_MODEL_DIR to serve another SpeechT5 export (default: the tiny test model).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

function/scripts/setup-openvino.sh
tools="$repo/.venv-tools"
if [[ ! -x "$tools/bin/cargo-lambda" ]]; then
  echo "Installing cargo-lambda (PyPI) into $tools ..."
  python3 -m venv "$tools"
  "$tools/bin/pip" install --quiet "cargo-lambda==1.9.2"
fi
export PATH="$tools/bin:$PATH"
cd function
exec cargo lambda watch --release --package tts-function --bin bootstrap "$@"
