#!/usr/bin/env bash
# The whole benchmark suite, one command, on a fresh clone:
#   bench/run.sh [--smoke] [--precision f32|bf16|f16] [--int8] [--threads N]
#
# Phases: OpenVINO runtime -> models (full-size random SpeechT5, exported once; the Piper voice and
# eSpeak NG from their setup scripts) -> release build -> memory bandwidth -> criterion benches,
# SpeechT5 and Piper (engine.json) -> peers, OpenVINO GenAI + PyTorch (peers.json) -> the paired
# Piper peer, this function against piper-tts on onnxruntime (piper-paired.json) -> load-test
# suites, SpeechT5 then Piper (loadtest.json, loadtest-piper.json) -> report (report.md,
# report.json, *.svg).
# Everything lands in $TTS_BENCH_OUT (default <repo>/target/bench-report); earlier results there are
# removed first so the report never mixes runs. A part that is not in this checkout, or whose
# prerequisites are missing (the peers' Python venv), is skipped with a line saying why; a part that
# fails stops the run with a non-zero status.
#
#   --smoke        tiny committed SpeechT5, the real Piper voice on short inputs, minimal
#                  repetitions, no peers: seconds after the build (CI)
#   --precision    inference precision for every engine (default f32). A CPU without bf16/f16
#                  runs f32 instead: the report's Machine section says what really ran
#   --int8         the int8-weight export (.models/speecht5-full-random-int8), f32 compute
#   --threads N    inference threads for every engine (default: all cores)
# Environment: TTS_BENCH_OUT, TTS_BENCH_TEXT (the sentence of the step benchmark), TTS_BENCH_STEPS (n),
# TTS_BENCH_PAIRED_ROUNDS (rounds of the paired Piper peer, default 8),
# TTS_BENCH_LOADTEST_ARGS, TTS_BENCH_LOADTEST_PIPER_ARGS (load-test settings of each family; `_`
# stands for a space inside one argument).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

smoke=0 precision=f32 int8=0 threads=$(nproc)
while [[ $# -gt 0 ]]; do
  case "$1" in
    --smoke) smoke=1 ;;
    --precision) precision=${2:?--precision needs f32, bf16 or f16}; shift ;;
    --int8) int8=1 ;;
    --threads) threads=${2:?--threads needs a number}; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
    *) echo "bench/run.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
case "$precision" in f32|bf16|f16) ;; *) echo "bench/run.sh: --precision must be f32, bf16 or f16" >&2; exit 2 ;; esac
[[ "$threads" =~ ^[1-9][0-9]*$ ]] || { echo "bench/run.sh: --threads must be a positive number" >&2; exit 2; }

target=${CARGO_TARGET_DIR:-$repo/target}
out=${TTS_BENCH_OUT:-$repo/target/bench-report}
mkdir -p "$out"
out=$(cd "$out" && pwd)
rm -f "$out"/{engine,loadtest,loadtest-piper,peers,peers-full,piper-paired,bandwidth,report}.json "$out"/report.md "$out"/*.svg

text=${TTS_BENCH_TEXT:-"The quick brown fox jumps over the lazy dog, while the cat watches from the warm windowsill."}
if ((smoke)); then
  model=$repo/tests/fixtures/speecht5-tiny/model
  steps=${TTS_BENCH_STEPS:-4}
elif ((int8)); then
  model=$repo/.models/speecht5-full-random-int8
  steps=${TTS_BENCH_STEPS:-32}
else
  model=$repo/.models/speecht5-full-random
  steps=${TTS_BENCH_STEPS:-32}
fi
export TTS_BENCH_OUT=$out TTS_BENCH_MODEL_DIR=$model TTS_BENCH_THREADS=$threads TTS_BENCH_PRECISION=$precision
export TTS_BENCH_TEXT=$text TTS_BENCH_STEPS=$steps
if ((smoke)); then export TTS_BENCH_SMOKE=1; else unset TTS_BENCH_SMOKE; fi

start=$SECONDS phase_no=0
phase() { phase_no=$((phase_no + 1)); echo; echo "== [$phase_no/9] $* (+$((SECONDS - start)) s)"; }
skip() { echo "   SKIPPED: $*"; }
trap 'rc=$?; ((rc == 0)) || echo "bench/run.sh: FAILED in phase $phase_no (status $rc)" >&2' EXIT

echo "bench/run.sh: model $model, threads $threads, precision $precision$( ((int8)) && echo ', int8 weights')$( ((smoke)) && echo ', smoke')"
echo "             results in $out; load average: $(cut -d' ' -f1-3 /proc/loadavg)"

phase "OpenVINO runtime"
function/scripts/setup-openvino.sh

phase "models"
function/scripts/setup-espeak.sh
function/scripts/setup-piper.sh
if [[ -f "$model/openvino_decoder_model.bin" ]]; then
  echo "   $model"
elif ((smoke)); then
  echo "bench/run.sh: the tiny test model is missing from $model" >&2; exit 1
else
  echo "   $model missing: exporting the full-size random-weight SpeechT5 (tests/fixtures/speecht5/make.sh --full)"
  tests/fixtures/speecht5/make.sh --full
  [[ -f "$model/openvino_decoder_model.bin" ]] || { echo "bench/run.sh: make.sh --full did not produce $model" >&2; exit 1; }
fi

phase "release build"
has_loadtest_suite=0
grep -q 'Suite' loadtest/src/main.rs 2>/dev/null && has_loadtest_suite=1
cargo build --release -p tts-bench --bins
# The function (and the Piper bench) find the eSpeak NG helper in the release folder.
cargo build --release -p tts-function --bin bootstrap -p espeak-phonemes --bin espeak-phonemes
((has_loadtest_suite)) && cargo build --release -p tts-loadtest

phase "memory bandwidth"
if ((smoke)); then bw=(--mib 256 --passes 2); else bw=(--mib 1024 --passes 7); fi
"$target/release/bandwidth" --model-dir "$model" --threads "$threads" "${bw[@]}" --out "$out/bandwidth.json"

phase "engine benches (criterion -> engine.json)"
if grep -q '^\[\[bench\]\]' bench/Cargo.toml; then
  cargo bench -p tts-bench
  [[ -f "$out/engine.json" ]] || { echo "bench/run.sh: cargo bench ran but wrote no $out/engine.json" >&2; exit 1; }
else
  skip "bench/Cargo.toml declares no [[bench]] yet (the criterion benches are not in this checkout)"
fi

phase "peers: OpenVINO GenAI and PyTorch (peers.json)"
py=$repo/.venv-fixtures/bin/python
if ((smoke)); then
  skip "smoke mode (the peers need the full-size export and minutes)"
elif [[ ! -x "$py" ]]; then
  skip "no $py (tests/fixtures/speecht5/make.sh creates it)"
else
  "$py" bench/peers/genai_speecht5.py --model "$model" --text "$text" --n "$steps" --threads "$threads" \
    --precision "$precision" --out "$out/peers.json" > "$out/peers-full.json"
  echo "   peers.json written (details in peers-full.json)"
fi

phase "peer: Piper against piper-tts, paired (piper-paired.json)"
if ((smoke)); then
  skip "smoke mode (the paired peer installs piper-tts and runs minutes)"
else
  bench/peers/piper_paired.sh --threads "$threads" --rounds "${TTS_BENCH_PAIRED_ROUNDS:-8}" \
    --out "$out/piper-paired.json" > /dev/null
  echo "   piper-paired.json written"
fi

phase "load-test suites: SpeechT5 (loadtest.json), Piper (loadtest-piper.json)"
if ((has_loadtest_suite)); then
  lt=(suite --model-dir "$model" --threads "$threads" --precision "$precision" --out "$out/loadtest.json")
  if ((smoke)); then
    lt+=(--smoke)
  else
    # The random-weight export never stops by itself (steps = 10 per token at GenAI's maxlenratio),
    # so the load test speaks a short sentence a bounded number of times. TTS_BENCH_LOADTEST_ARGS
    # replaces these settings. The suite's streamed phase keeps its own ~200-character input and
    # hangs up after 4 s of audio (--stream-input, --stream-listen-seconds), so it ends anyway.
    read -r -a extra <<< "${TTS_BENCH_LOADTEST_ARGS:---input Hello_there,_friend. --requests 8 --cold-runs 2 --max-seconds 90}"
    for a in "${extra[@]}"; do lt+=("${a//_/ }"); done
  fi
  "$target/release/loadtest" "${lt[@]}"
  # Piper is fast (RTF ~0.1): the default eight ~100-character sentences, three cold starts per
  # cache mode and the full sweep take about a minute; the smoke run speaks one short sentence.
  lt=(suite --family piper --threads "$threads" --precision "$precision" --out "$out/loadtest-piper.json")
  if ((smoke)); then
    lt+=(--smoke --input "Hello there, friend.")
  else
    read -r -a extra <<< "${TTS_BENCH_LOADTEST_PIPER_ARGS:---cold-runs 3 --requests 16 --max-seconds 90}"
    for a in "${extra[@]}"; do lt+=("${a//_/ }"); done
  fi
  "$target/release/loadtest" "${lt[@]}"
else
  skip "loadtest has no \`suite\` command yet (the load-test suite is not in this checkout)"
fi

phase "report"
"$target/release/report" --dir "$out" --threads "$threads" --precision "$precision" --model-dir "$model"
echo
echo "bench/run.sh: done in $((SECONDS - start)) s: $out/report.md"
