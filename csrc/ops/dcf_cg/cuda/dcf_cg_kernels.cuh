// CUDA kernels of the conjugate-gradient loop. The normal-equation operator itself is a cuDNN
// convolution and a cuDNN filter-gradient convolution (see dcf_cg_cuda.cu); these kernels do the reductions and the vector
// updates with every CG scalar kept in device memory, so an iteration never waits on the
// host (no .item(), no cudaMemcpy) and a whole solve can be captured in a CUDA graph.
#pragma once

#include "ops/common/cuda_common.cuh"

namespace trackerzoo {
namespace cuda {

constexpr int kCgThreads = 1024;  // the reductions run in one block: CG vectors are small

// Scalars of the CG state, in one small device buffer.
enum CgScalar { kRho = 0, kRhoNew = 1, kPq = 2, kCgScalars = 3 };

template <typename T>
__device__ __forceinline__ T safe_div(T num, T den, T tiny) {
  return fabs(den) > tiny ? num / den : T(0);
}

// out = <a, b> (one block, deterministic order).
template <typename T>
__global__ void cg_dot_kernel(const T* __restrict__ a, const T* __restrict__ b, int64_t n, T* __restrict__ out) {
  T acc = 0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) acc += a[i] * b[i];
  acc = block_sum(acc);
  if (threadIdx.x == 0) *out = acc;
}

// r = rhs - a_f;  p = r;  scalars[kRho] = <r, r>  (the CG start, one block).
template <typename T>
__global__ void cg_start_kernel(const T* __restrict__ rhs, const T* __restrict__ a_f, T* __restrict__ r,
                                T* __restrict__ p, int64_t n, T* __restrict__ scalars) {
  T acc = 0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    const T v = rhs[i] - a_f[i];
    r[i] = v;
    p[i] = v;
    acc += v * v;
  }
  acc = block_sum(acc);
  if (threadIdx.x == 0) scalars[kRho] = acc;
}

// alpha = rho / <p, q>;  f += alpha p;  r -= alpha q;  scalars[kRhoNew] = <r, r>  (one block).
template <typename T>
__global__ void cg_step_kernel(T* __restrict__ f, T* __restrict__ r, const T* __restrict__ p,
                               const T* __restrict__ q, int64_t n, T* __restrict__ scalars, T tiny) {
  const T alpha = safe_div(scalars[kRho], scalars[kPq], tiny);
  T acc = 0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    f[i] += alpha * p[i];
    const T v = r[i] - alpha * q[i];
    r[i] = v;
    acc += v * v;
  }
  acc = block_sum(acc);
  if (threadIdx.x == 0) scalars[kRhoNew] = acc;
}

// beta = rho_new / rho;  p = r + beta p;  then rho = rho_new (one block, so the scalar
// update happens after every thread has read the old rho).
template <typename T>
__global__ void cg_direction_kernel(const T* __restrict__ r, T* __restrict__ p, int64_t n, T* __restrict__ scalars,
                                    T tiny) {
  const T rho_new = scalars[kRhoNew];
  const T beta = safe_div(rho_new, scalars[kRho], tiny);
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) p[i] = r[i] + beta * p[i];
  __syncthreads();
  if (threadIdx.x == 0) scalars[kRho] = rho_new;
}

}  // namespace cuda
}  // namespace trackerzoo
