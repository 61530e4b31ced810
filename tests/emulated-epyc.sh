#!/usr/bin/env bash
# Runs a program on an emulated AVX2-only AMD EPYC (qemu's user-mode emulator, CPU model
# EPYC-Milan: no AVX-512, no bf16, no fp16), dropping qemu's notes about CPU features its
# translator lacks. tests/run.sh uses it as cargo's test runner to re-run the numeric parity
# tests on AVX2 kernels when the host itself has AVX-512:
#   CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER=tests/emulated-epyc.sh cargo test ...
set -euo pipefail
exec qemu-x86_64 -cpu EPYC-Milan "$@" 2> >(grep -v "TCG doesn't support requested feature" >&2)
