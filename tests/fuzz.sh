#!/usr/bin/env bash
# Runs every libFuzzer target of function/fuzz (cargo-fuzz) for SECONDS each (default 10), one
# after the other, and prints the executions each made. Seeds the corpora with a few valid inputs
# so the fuzzer starts from requests and text the function really gets. A finding (a panic, a
# failed assertion, a leak, an input over the time or memory limit) stops the run with the input
# saved under function/fuzz/artifacts/<target>/ and the exit status of cargo-fuzz.
#
# Usage: tests/fuzz.sh [SECONDS] [TARGET...]
#   JOBS=2 tests/fuzz.sh 600     # two targets at a time (one per core), ten minutes each
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
seconds=${1:-10}
shift || true
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(speech_request normalize sentences espeak_framing phoneme_ids)
jobs=${JOBS:-1}

function/scripts/setup-fuzz.sh
export PATH="$PWD/.cargo-tools/bin:$PATH"
# cargo-fuzz passes -Z flags (sanitizer coverage): the stable toolchain accepts them this way.
export RUSTC_BOOTSTRAP=1
fuzz=function/fuzz
# AddressSanitizer when this toolchain links it, else coverage-guided fuzzing alone (panics,
# assertions, time and memory limits are still caught; the code under test is safe Rust).
sanitizer=${FUZZ_SANITIZER:-address}

seed() {
  local dir=$fuzz/corpus/$1
  mkdir -p "$dir"
  shift
  local i=0
  for sample in "$@"; do
    printf '%s' "$sample" > "$dir/seed-$i"
    i=$((i + 1))
  done
}
seed speech_request \
  '0{"model":"tts-1","input":"Hello there.","voice":"alloy"}' \
  '1{"model":"speecht5","input":"It costs $3.50.","voice":{"id":"joe"},"response_format":"wav","speed":1.5}' \
  '0{"model":"piper-joe","input":"Stream me.","voice":"joe","stream_format":"sse","instructions":"calm"}' \
  '0{"model":"tts-1","input":"x","voice":"alloy","response_format":"pcm","speed":0.25}'
seed normalize 'Dr. Smith paid $3.50 at 10:30 am on 2024-01-02.' 'It is 1st, 22nd and 103rd; 3.14 and -7 and 1,000,000.' \
  'e.g. 50% of 2/3 km; call 555-0100 at 7pm.' 'Ünïcödé — “quotes” … and emoji 🎉 here'
seed sentences $'\x28Mr. J. R. R. Tolkien wrote it. Did he? Yes!\nNew line… "Quoted." 3.14 is pi.' \
  $'\x05A very long sentence, with commas; and semicolons: and more words than fit in one piece at all.'
seed espeak_framing '{"sentences":["həlˈoʊ."]}' '{"error":"no such voice"}' '{"sentences":[]}'
seed phoneme_ids 'həlˈoʊ wˈɜːld.' 'ðɪs ɪz ɐ tˈɛst, ʃˈʊɹ?'

if [[ $sanitizer != none ]] && ! cargo fuzz build --fuzz-dir "$fuzz" --sanitizer "$sanitizer" -O > target/fuzz-build.log 2>&1; then
  echo "fuzz: the $sanitizer sanitizer does not build here (see target/fuzz-build.log); fuzzing without it"
  sanitizer=none
fi
if [[ $sanitizer == none ]]; then
  cargo fuzz build --fuzz-dir "$fuzz" --sanitizer none -O
fi

run() {
  local target=$1 log=target/fuzz-$1.log
  # -max_len: 64 KiB, past the function's body limit for requests; -rss_limit_mb and -timeout:
  # an input that takes more than 2 GB or 10 s is a finding (unbounded allocation, a hang).
  if cargo fuzz run --fuzz-dir "$fuzz" --sanitizer "$sanitizer" -O "$target" -- \
      -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 -timeout=10 \
      -print_final_stats=1 > "$log" 2>&1; then
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
    echo "fuzz: $target: ${seconds}s, $runs executions, no finding (sanitizer: $sanitizer)"
  else
    echo "fuzz: $target: FINDING (sanitizer: $sanitizer); the end of $log:"
    tail -40 "$log"
    return 1
  fi
}
mkdir -p target
status=0
pids=()
for target in "${targets[@]}"; do
  run "$target" &
  pids+=($!)
  if (( ${#pids[@]} >= jobs )); then
    wait "${pids[0]}" || status=1
    pids=("${pids[@]:1}")
  fi
done
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
exit $status
