# Sourced by bench/peers/piper_reference.sh and tests/fixtures/piper-audio/make.sh: makes sure
# .venv-piper-peer holds bench/peers/requirements-piper.txt (reinstalled when the file changes)
# and sets PIPER_VENV to it. Needs `repo` set to the repository root.
PIPER_VENV="$repo/.venv-piper-peer"
piper_requirements="$repo/bench/peers/requirements-piper.txt"
piper_stamp="$PIPER_VENV/.requirements.sha256"
piper_want=$(sha256sum "$piper_requirements" | cut -d' ' -f1)
if [[ ! -x "$PIPER_VENV/bin/python" || ! -f "$piper_stamp" || "$(cat "$piper_stamp")" != "$piper_want" ]]; then
  echo "Installing the Piper reference pipeline's packages into $PIPER_VENV ..." >&2
  python3 -m venv "$PIPER_VENV"
  "$PIPER_VENV/bin/pip" install --quiet --disable-pip-version-check -r "$piper_requirements"
  echo "$piper_want" >"$piper_stamp"
fi
