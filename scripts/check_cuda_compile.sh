#!/usr/bin/env bash
# Compiles the CUDA kernels of csrc/ops/*/cuda/*_kernels.cuh with nvcc, without ATen, so that
# the device code is checked on machines whose torch has no CUDA (CI). The ATen glue
# (csrc/**/*.cu) is only compiled by setup.py when torch itself has CUDA.
# Usage: scripts/check_cuda_compile.sh [arch, default sm_90]. Exits 0 with a note if nvcc is absent.
set -euo pipefail
cd "$(dirname "$0")/.."
NVCC=${NVCC:-$(command -v nvcc || true)}
if [ -z "$NVCC" ] && [ -x /usr/local/cuda/bin/nvcc ]; then NVCC=/usr/local/cuda/bin/nvcc; fi
if [ -z "$NVCC" ]; then
    echo "nvcc not found: CUDA kernel compile check skipped"
    exit 0
fi
ARCH=${1:-sm_90}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
"$NVCC" -c -std=c++17 -O3 -arch="$ARCH" --expt-relaxed-constexpr -Werror all-warnings -Icsrc \
    tests/ops/cuda_kernels_check.cu -o "$OUT/cuda_kernels_check.o"
echo "CUDA kernels compiled for $ARCH with $("$NVCC" --version | tail -1)"
