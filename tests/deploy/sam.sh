#!/usr/bin/env bash
# The deployment templates, checked offline: cfn-lint and `sam validate --lint` on the three SAM
# templates (template.yaml: zip + layer; function/deploy/template-image.yaml: container image
# with SnapStart; function/deploy/template-managed.yaml: Lambda Managed Instances), then
# `sam build` of the zip template into target/sam-build, and what it built: the function's
# /var/task and the layer's /opt as Lambda will unpack them. The image template is built too where
# a container engine answers (`docker info`).
#
# No network and no AWS credentials: every sam/cfn-lint command runs in a network namespace of its
# own (`unshare -n`, where it works), with credentials and AWS config hidden. Nothing may be
# written into the source tree (checked with git status).
#
# Usage: tests/deploy/sam.sh   (TTS_PACKAGE_DIR: the package folder, default target/lambda-package;
# built with function/package.sh first if it is missing)
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"

function/scripts/setup-deploy-tools.sh
export PATH="$repo/.venv-deploy/bin:$PATH"
export SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=us-east-1
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE AWS_DEFAULT_PROFILE
export AWS_CONFIG_FILE=/nonexistent/aws-config AWS_SHARED_CREDENTIALS_FILE=/nonexistent/aws-credentials

package=${TTS_PACKAGE_DIR:-$repo/target/lambda-package}
export TTS_PACKAGE_DIR=$package
templates=(template.yaml function/deploy/template-image.yaml function/deploy/template-managed.yaml)
passed=0 failed=0
pass() { passed=$((passed + 1)); echo "ok: $*"; }
fail() { failed=$((failed + 1)); echo "FAILED: $*" >&2; }
check() { # check DESCRIPTION COMMAND...
  local what=$1; shift
  if "$@"; then pass "$what"; else fail "$what"; fi
}

offline=()
if unshare -n true 2>/dev/null; then
  offline=(unshare -n)
  echo "== sam and cfn-lint run without network (unshare -n) =="
else
  echo "== unshare -n is not available here: sam and cfn-lint run with the host's network =="
fi

status_before=$(git status --porcelain)

echo "== cfn-lint ${templates[*]} =="
check "cfn-lint: no errors or warnings" "${offline[@]}" cfn-lint "${templates[@]}"

for t in "${templates[@]}"; do
  echo "== sam validate --lint -t $t =="
  check "sam validate --lint $t" "${offline[@]}" sam validate --lint -t "$t"
done

# The package the Makefile copies from. Building it needs the network (pinned wheels), so it runs
# here, outside the namespace; function/Makefile would run the same command otherwise.
if [[ ! -x "$package/task/bootstrap" || ! -d "$package/opt/openvino" ]]; then
  echo "== no package in $package: function/package.sh --out $package =="
  function/package.sh --out "$package"
fi

echo "== sam build --build-dir target/sam-build (template.yaml) =="
rm -rf target/sam-build
check "sam build (zip + layer)" "${offline[@]}" sam build --build-dir target/sam-build

fn=target/sam-build/TtsFunction
layer=target/sam-build/TtsRuntimeLayer
check "function: executable bootstrap" test -x "$fn/bootstrap"
check "function: bootstrap is the package's" cmp -s "$fn/bootstrap" "$package/task/bootstrap"
check "function: tts.toml" test -s "$fn/tts.toml"
have() { compgen -G "$1" >/dev/null; }
check "layer: lib/libstdc++.so.6" test -e "$layer/lib/libstdc++.so.6"
check "layer: lib/libgcc_s.so.1" test -e "$layer/lib/libgcc_s.so.1"
check "layer: openvino/lib/libopenvino_c.so.*" have "$layer/openvino/lib/libopenvino_c.so.*"
check "layer: openvino/lib/libopenvino_intel_cpu_plugin.so" test -e "$layer/openvino/lib/libopenvino_intel_cpu_plugin.so"
check "layer: executable espeak/espeak-phonemes" test -x "$layer/espeak/espeak-phonemes"
check "layer: espeak/lib/libespeak-ng.so.1" test -e "$layer/espeak/lib/libespeak-ng.so.1"
check "layer: espeak/espeak-ng-data/" test -d "$layer/espeak/espeak-ng-data"
voice() { have "$layer/models/piper-joe/two-stage/split.json" && { have "$layer/models/piper-joe/two-stage/*.xml" || have "$layer/models/piper-joe/two-stage/*.onnx"; }; }
check "layer: models/piper-joe/two-stage/ (the voice's stages, IR or ONNX)" voice
check "layer: models/piper-joe/*.onnx.json" have "$layer/models/piper-joe/*.onnx.json"
check "layer: licenses/" test -d "$layer/licenses"
# Lambda's limit: function + layers at most 250 MB unzipped (262,144,000 bytes).
unzipped=$(du -sb --apparent-size "$fn" "$layer" | awk '{ s += $1 } END { print s }')
echo "function + layer unzipped: $((unzipped / 1000000)) MB (limit 262 MB)"
check "function + layer within 250 MB unzipped" test "$unzipped" -le 262144000
check "built template points at the built folders" \
  grep -q "CodeUri: TtsFunction" target/sam-build/template.yaml

echo "== the image template (function/deploy/template-image.yaml) =="
if docker info >/dev/null 2>&1; then
  rm -rf target/sam-build-image
  check "sam build (image)" sam build -t function/deploy/template-image.yaml --build-dir target/sam-build-image
else
  echo "skipped: no container engine (docker info failed); validated above"
fi

status_after=$(git status --porcelain)
if [[ "$status_after" == "$status_before" ]]; then
  pass "nothing written into the source tree"
else
  fail "the source tree changed (git status --porcelain, before vs after):"
  diff <(echo "$status_before") <(echo "$status_after") >&2 || true
fi

echo "deploy: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
