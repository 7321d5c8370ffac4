#!/usr/bin/env bash
# Builds the wheels of trackerzoo and of every plugin distribution into dist/ (or $1),
# each once. Uses the torch already installed in .venv (--no-build-isolation), so no
# torch is ever resolved from the network. Install with, e.g.:
#   pip install --find-links dist "trackerzoo[all]"
#
# The core wheel carries the native extension trackerzoo._C. When the in-place build of
# `make venv` is current (scripts/ext_stamp.py: same csrc/, setup.py, torch and build
# settings, library unchanged since), setup.py packs that library instead of compiling it
# again; otherwise it compiles it once, in build/. The plugins are pure Python.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-dist}
PYTHON=${PYTHON:-.venv/bin/python}
export PIP_DISABLE_PIP_VERSION_CHECK=1
mkdir -p "$OUT"
packages=(.)
for plugin in plugins/*/; do
    [ -f "$plugin/pyproject.toml" ] && packages+=("$plugin")
done
# setuptools never empties build/lib*: files left there by an earlier build (a module
# since deleted, an older library) would be packed too. Ninja's objects in build/temp*
# stay, so a compile after a change to csrc/ is incremental.
for package in "${packages[@]}"; do
    rm -rf "$package"/build/lib "$package"/build/lib.* "$package"/build/bdist.*
done
if [ "${TRACKERZOO_NO_EXT:-0}" = "1" ]; then
    echo "trackerzoo._C: left out (TRACKERZOO_NO_EXT=1)"
elif "$PYTHON" scripts/ext_stamp.py check; then
    echo "trackerzoo._C: the in-place build is current (scripts/ext_stamp.py): packing it, no compile"
else
    echo "trackerzoo._C: no current in-place build (run 'make venv' first to reuse it): compiling it (4-6 minutes on 2 cores)"
fi
"$PYTHON" -m pip wheel -q --no-deps --no-build-isolation -w "$OUT" "${packages[@]}"
ls -1 "$OUT"/*.whl
