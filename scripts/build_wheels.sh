#!/usr/bin/env bash
# Builds the wheels of trackerzoo and of every plugin distribution into dist/ (or $1).
# Uses the torch already installed in .venv (--no-build-isolation), so no torch is
# ever resolved from the network. Install with, e.g.:
#   pip install --find-links dist "trackerzoo[opencv]"
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-dist}
PYTHON=${PYTHON:-.venv/bin/python}
mkdir -p "$OUT"
packages=(.)
for plugin in plugins/*/; do
    [ -f "$plugin/pyproject.toml" ] && packages+=("$plugin")
done
"$PYTHON" -m pip wheel -q --no-deps --no-build-isolation -w "$OUT" "${packages[@]}"
ls -1 "$OUT"/*.whl
