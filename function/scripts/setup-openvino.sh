#!/usr/bin/env bash
# Installs the OpenVINO runtime libraries this function needs into a git-ignored folder.
#
# There is no Debian package of OpenVINO; the runtime comes from the pinned `openvino` PyPI wheel.
# Only the libraries the function loads are kept (C API, core, TBB, CPU plugin, IR and ONNX
# frontends): about 93 MB instead of the wheel's 250 MB. The wheel's RPATH ($ORIGIN) lets the
# libraries find each other, so no LD_LIBRARY_PATH is needed.
#
# Usage: function/scripts/setup-openvino.sh [DEST]   (default: <repo>/.openvino)
# The function finds the C library at DEST/lib/libopenvino_c.so.2641 (or OPENVINO_LIB).
set -euo pipefail

VERSION=2026.4.1
WHEEL=openvino-2026.4.1-22982-cp311-cp311-manylinux_2_28_x86_64.whl
SHA256=2d22b1da03f7caf74df30e9f6417d0ab2f637e4a38e08e1dcd294d2c37407aaf
LIBS=(
  libopenvino_c.so.2641
  libopenvino.so.2641
  libopenvino_intel_cpu_plugin.so
  libopenvino_ir_frontend.so.2641
  libopenvino_onnx_frontend.so.2641
  libtbb.so.12
  libtbbbind_2_5.so.3
  libtbbmalloc.so.2
  libhwloc.so.15
)

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
source "$repo/function/scripts/wheel.sh"
dest=${1:-$repo/.openvino}
stamp="$dest/lib/.installed-$VERSION"

# The wheel's licence files go beside the libraries (function/package.sh ships them).
LICENSES=(LICENSE licensing/onednn_third-party-programs.txt licensing/onetbb_third-party-programs.txt
  licensing/runtime-third-party-programs.txt)

if [[ -f "$stamp" && -f "$dest/licenses/LICENSE" ]]; then
  echo "OpenVINO $VERSION runtime already in $dest/lib"
  exit 0
fi
if [[ "$(uname -m)" != x86_64 ]]; then
  echo "setup-openvino: only x86_64 Linux is supported (the pinned wheel is $WHEEL)" >&2
  exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "Downloading the openvino $VERSION wheel from PyPI ..."
# The wheel is tagged cp311 but the C libraries inside do not depend on Python's version.
fetch_wheel "$tmp" "$WHEEL" "$SHA256" --platform manylinux_2_28_x86_64 --python-version 3.11 \
  --implementation cp "openvino==$VERSION"

rm -rf "$dest/lib" "$dest/licenses"
members=()
for name in "${LIBS[@]}"; do
  members+=("openvino/libs/$name=lib/$name")
done
for name in "${LICENSES[@]}"; do
  members+=("openvino-$VERSION.dist-info/licenses/$name=licenses/$(basename "$name")")
done
extract_wheel "$tmp/$WHEEL" "$dest" "${members[@]}"
touch "$stamp"
echo "OpenVINO $VERSION runtime installed in $dest/lib ($(du -sh "$dest/lib" | cut -f1))"
