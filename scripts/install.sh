#!/usr/bin/env bash
# The one install step of cardsight, shared by the Makefile (so CI's `make test`) and the
# Dockerfile, so the image and CI cannot drift apart.
#
#   scripts/install.sh VENV                 slim serving set: serve, bot, sync, identify, index
#   scripts/install.sh VENV train,dev       plus training (torch) and the test tools
#   scripts/install.sh --editable VENV ...  an editable install of this checkout (development)
#
# PYTHON picks the interpreter that creates VENV (default python3, 3.11+).
set -euo pipefail
editable=()
if [ "${1:-}" = "--editable" ]; then editable=(-e); shift; fi
venv="${1:?usage: scripts/install.sh [--editable] VENV [EXTRAS]}"
extras="${2:-}"
root="$(cd "$(dirname "$0")/.." && pwd)"
target="$root"
if [ -n "$extras" ]; then target="$root[$extras]"; fi
if [ ! -x "$venv/bin/python" ]; then
    "${PYTHON:-python3}" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --disable-pip-version-check --no-input -q "${editable[@]}" "$target"
