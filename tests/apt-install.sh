#!/usr/bin/env bash
# Installs Debian packages that are missing, without prompts (CI runs as root on a fresh Debian
# machine; elsewhere through `sudo -n`). Arguments are command:package pairs: the package is
# installed when the command is not on PATH.
#   tests/apt-install.sh ffprobe:ffmpeg curl:curl qemu-x86_64:qemu-user
set -euo pipefail
missing=()
for pair in "$@"; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
done
((${#missing[@]})) || exit 0
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
echo "Installing ${missing[*]} with apt-get ..."
sudo=()
[[ $(id -u) -eq 0 ]] || sudo=(sudo -n)
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
