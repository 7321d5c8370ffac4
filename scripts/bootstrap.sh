#!/usr/bin/env bash
# Creates .venv in the repository root (if missing) and installs trackerzoo, its C++
# extension and every in-repo plugin into it. Safe to run repeatedly: pip skips what is
# already satisfied and the extension is rebuilt only when its inputs changed.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
PIP=".venv/bin/python -m pip"
export PIP_DISABLE_PIP_VERSION_CHECK=1

# torch is pinned to the CPU wheel of this machine; never let pip resolve a newer one.
$PIP install -q "torch==2.13.0" setuptools wheel pybind11 ninja
$PIP install -q -r requirements-dev.txt
# Ray for `eval --executor ray` and its two-node cluster test (about 45 s the first time on
# 2 cores); before the --no-deps toolkits below, whose missing extras pip would list after it.
$PIP install -q -r requirements-ray.txt
# Reference evaluation toolkits for the metric cross-checks (without their opencv-python).
$PIP install -q -r requirements-eval-check-deps.txt
$PIP install -q --no-deps -r requirements-eval-check.txt
# The core, with its native extension, built against the torch installed above. The
# compile (4-6 minutes on 2 cores) is skipped when csrc/, setup.py, torch and the build
# settings are what the last successful build saw (scripts/ext_stamp.py).
if [ "${TRACKERZOO_NO_EXT:-0}" != "1" ] && .venv/bin/python scripts/ext_stamp.py check; then
    echo "trackerzoo._C is up to date (csrc/, setup.py and torch unchanged): skipping its build"
    TRACKERZOO_NO_EXT=1 $PIP install -q --no-build-isolation --no-deps -e .
else
    $PIP install -q --no-build-isolation --no-deps -e .
    if [ "${TRACKERZOO_NO_EXT:-0}" != "1" ]; then
        .venv/bin/python scripts/ext_stamp.py write
    fi
fi
# Every plugin distribution in plugins/ (each is its own installable package).
for plugin in plugins/*/; do
    if [ -f "$plugin/pyproject.toml" ]; then
        $PIP install -q --no-build-isolation --no-deps -e "$plugin"
    fi
done
