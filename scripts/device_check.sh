#!/usr/bin/env bash
# The GPU check of issue 19 in one call (< 10 minutes): builds the CUDA extension
# (TORCH_CUDA_ARCH_LIST=9.0), runs every CUDA test, times the trackers, ops, batched
# tracking, CUDA graphs and PrRoIPool (benchmarks/bench_prroi.py) on the GPU, and writes device_check.json and logs under $OUT.
# Each step has its own timeout inside one overall budget; see scripts/device_check.py.
#   OUT=/some/dir scripts/device_check.sh            # on the GPU machine
#   scripts/device_check.sh --out /tmp/dc --dry-run  # anywhere: the CPU-side parts
# Set PYTHON to choose the interpreter (default: .venv/bin/python, else python3).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${PYTHON:-}" ]; then
    if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
export PYTHON OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
exec "$PYTHON" scripts/device_check.py "$@"
