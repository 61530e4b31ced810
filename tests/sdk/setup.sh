#!/usr/bin/env bash
# Installs what the SDK suite (tests/sdk) needs on a fresh machine, without prompts:
#   - .venv-sdk: the pinned Python packages of tests/sdk/requirements.txt (reinstalled when the
#     file changes), among them pocketsphinx with its bundled English model (the recognizer of
#     tests/sdk/asr.py, for the Piper intelligibility test);
#   - .venv-tools: cargo-lambda 1.9.2 from PyPI (the same folder function/run.sh uses);
#   - ffmpeg/ffprobe (the independent decoder the tests check audio with), curl and jq (the
#     README examples), chromium and chromium-driver (the playground's browser test), with
#     apt-get when missing (CI runs as root on a fresh Debian machine).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"

"$repo/tests/apt-install.sh" ffprobe:ffmpeg ffmpeg:ffmpeg curl:curl jq:jq \
  chromium:chromium chromedriver:chromium-driver

venv="$repo/.venv-sdk"
requirements="$repo/tests/sdk/requirements.txt"
stamp="$venv/.requirements.sha256"
want=$(sha256sum "$requirements" | cut -d' ' -f1)
if [[ ! -x "$venv/bin/python" || ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
  echo "Installing the SDK suite's Python packages into $venv ..."
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
  echo "$want" >"$stamp"
fi

"$repo/function/scripts/setup-cargo-lambda.sh"
tools="$repo/.venv-tools"
echo "SDK suite ready: $("$venv/bin/python" -c 'import openai, pocketsphinx; from importlib.metadata import version; print("openai", openai.__version__, "pocketsphinx", version("pocketsphinx"))'), $("$tools/bin/cargo-lambda" lambda --version 2>/dev/null || echo cargo-lambda), $(ffprobe -version | head -1 | cut -d' ' -f1-3)"
