// lut_affinity_softmax CUDA kernels (flash-attention style, one warp per row).
//
// Forward: a warp owns one query row, keeps it in shared memory and streams the keys in
// chunks of 32 (one key per lane): chunk logits, a running max and a running sum (online
// softmax, so very large logits never overflow) and the value accumulator in registers,
// kPerLane values per lane. Only the output row and its log-sum-exp reach global memory;
// the N x K matrix never does. The backward recomputes probabilities from the log-sum-exp:
// one warp per query row for d query, one warp per key row for d keys and d values, so no
// atomics are needed.
#pragma once

#include "ops/common/cuda_common.cuh"

namespace trackerzoo {
namespace cuda {

struct LutShape {
  int64_t batch, n, k, c, d;
};

constexpr int kLutWarps = 4;  // warps per block

template <typename T>
__device__ __forceinline__ T dot_row(const T* __restrict__ shared_row, const T* __restrict__ row, int64_t len) {
  T acc = 0;
  for (int64_t t = 0; t < len; ++t) acc += shared_row[t] * __ldg(row + t);
  return acc;
}

// values / out may be a column slice [d_begin, d_begin + d_count) of rows with stride d_stride.
template <typename T, int kPerLane>
__global__ void lut_forward_kernel(const T* __restrict__ query, const T* __restrict__ keys,
                                   const T* __restrict__ values, T* __restrict__ out, T* __restrict__ lse,
                                   LutShape s, T scale, int64_t d_begin, int64_t d_count) {
  extern __shared__ unsigned char lut_smem[];
  T* qs = reinterpret_cast<T*>(lut_smem) + (threadIdx.x / kWarp) * s.c;
  const int lane = threadIdx.x % kWarp;
  const int64_t warps = static_cast<int64_t>(gridDim.x) * (blockDim.x / kWarp);
  for (int64_t row = static_cast<int64_t>(blockIdx.x) * (blockDim.x / kWarp) + threadIdx.x / kWarp;
       row < s.batch * s.n; row += warps) {
    const int64_t b = row / s.n;
    for (int64_t t = lane; t < s.c; t += kWarp) qs[t] = query[row * s.c + t];
    __syncwarp();
    T run_max = -positive_infinity<T>(), run_sum = 0, acc[kPerLane];
#pragma unroll
    for (int t = 0; t < kPerLane; ++t) acc[t] = 0;
    for (int64_t j0 = 0; j0 < s.k; j0 += kWarp) {
      const int64_t j = j0 + lane;
      T logit = -positive_infinity<T>();
      if (j < s.k) logit = scale * dot_row(qs, keys + (b * s.k + j) * s.c, s.c);
      const T new_max = max(run_max, warp_max(logit));
      const T correction = exp(run_max - new_max);
      const T p = j < s.k ? exp(logit - new_max) : T(0);
      run_sum = run_sum * correction + warp_sum(p);
      run_max = new_max;
#pragma unroll
      for (int t = 0; t < kPerLane; ++t) acc[t] *= correction;
      const int valid = static_cast<int>(s.k - j0 < kWarp ? s.k - j0 : kWarp);
      for (int jj = 0; jj < valid; ++jj) {
        const T pj = __shfl_sync(kFullMask, p, jj);
        const T* vrow = values + (b * s.k + j0 + jj) * s.d + d_begin;
#pragma unroll
        for (int t = 0; t < kPerLane; ++t) {
          const int64_t dd = lane + t * kWarp;
          if (dd < d_count) acc[t] += pj * __ldg(vrow + dd);
        }
      }
    }
    const T inv = T(1) / run_sum;
#pragma unroll
    for (int t = 0; t < kPerLane; ++t) {
      const int64_t dd = lane + t * kWarp;
      if (dd < d_count) out[row * s.d + d_begin + dd] = acc[t] * inv;
    }
    if (lane == 0 && lse != nullptr) lse[row] = run_max + log(run_sum);
    __syncwarp();
  }
}

// delta[row] = <dO_row, O_row>.
template <typename T>
__global__ void lut_delta_kernel(const T* __restrict__ grad, const T* __restrict__ out, T* __restrict__ delta,
                                 int64_t rows, int64_t d) {
  const int lane = threadIdx.x % kWarp;
  const int64_t warps = static_cast<int64_t>(gridDim.x) * (blockDim.x / kWarp);
  for (int64_t row = static_cast<int64_t>(blockIdx.x) * (blockDim.x / kWarp) + threadIdx.x / kWarp; row < rows;
       row += warps) {
    T acc = 0;
    for (int64_t t = lane; t < d; t += kWarp) acc += grad[row * d + t] * out[row * d + t];
    acc = warp_sum(acc);
    if (lane == 0) delta[row] = acc;
  }
}

// dQ_i = scale * sum_j P_ij (dP_ij - delta_i) K_j, with P_ij = exp(scale q_i.k_j - lse_i), dP_ij = dO_i.v_j.
template <typename T, int kPerLane>
__global__ void lut_grad_query_kernel(const T* __restrict__ query, const T* __restrict__ keys,
                                      const T* __restrict__ values, const T* __restrict__ grad,
                                      const T* __restrict__ lse, const T* __restrict__ delta,
                                      T* __restrict__ grad_query, LutShape s, T scale) {
  extern __shared__ unsigned char lut_smem[];
  T* qs = reinterpret_cast<T*>(lut_smem) + (threadIdx.x / kWarp) * (s.c + s.d);
  T* gs = qs + s.c;
  const int lane = threadIdx.x % kWarp;
  const int64_t warps = static_cast<int64_t>(gridDim.x) * (blockDim.x / kWarp);
  for (int64_t row = static_cast<int64_t>(blockIdx.x) * (blockDim.x / kWarp) + threadIdx.x / kWarp;
       row < s.batch * s.n; row += warps) {
    const int64_t b = row / s.n;
    for (int64_t t = lane; t < s.c; t += kWarp) qs[t] = query[row * s.c + t];
    for (int64_t t = lane; t < s.d; t += kWarp) gs[t] = grad[row * s.d + t];
    __syncwarp();
    const T row_lse = lse[row], row_delta = delta[row];
    T acc[kPerLane];
#pragma unroll
    for (int t = 0; t < kPerLane; ++t) acc[t] = 0;
    for (int64_t j0 = 0; j0 < s.k; j0 += kWarp) {
      const int64_t j = j0 + lane;
      T ds = 0;
      if (j < s.k) {
        const T p = exp(scale * dot_row(qs, keys + (b * s.k + j) * s.c, s.c) - row_lse);
        const T dp = dot_row(gs, values + (b * s.k + j) * s.d, s.d);
        ds = p * (dp - row_delta) * scale;
      }
      const int valid = static_cast<int>(s.k - j0 < kWarp ? s.k - j0 : kWarp);
      for (int jj = 0; jj < valid; ++jj) {
        const T dsj = __shfl_sync(kFullMask, ds, jj);
        const T* krow = keys + (b * s.k + j0 + jj) * s.c;
#pragma unroll
        for (int t = 0; t < kPerLane; ++t) {
          const int64_t cc = lane + t * kWarp;
          if (cc < s.c) acc[t] += dsj * __ldg(krow + cc);
        }
      }
    }
#pragma unroll
    for (int t = 0; t < kPerLane; ++t) {
      const int64_t cc = lane + t * kWarp;
      if (cc < s.c) grad_query[row * s.c + cc] = acc[t];
    }
    __syncwarp();
  }
}

// dV_j = sum_i P_ij dO_i and dK_j = scale * sum_i P_ij (dP_ij - delta_i) q_i, one warp per key.
template <typename T, int kPerLane>
__global__ void lut_grad_key_value_kernel(const T* __restrict__ query, const T* __restrict__ keys,
                                          const T* __restrict__ values, const T* __restrict__ grad,
                                          const T* __restrict__ lse, const T* __restrict__ delta,
                                          T* __restrict__ grad_keys, T* __restrict__ grad_values, LutShape s,
                                          T scale) {
  extern __shared__ unsigned char lut_smem[];
  T* ks = reinterpret_cast<T*>(lut_smem) + (threadIdx.x / kWarp) * (s.c + s.d);
  T* vs = ks + s.c;
  const int lane = threadIdx.x % kWarp;
  const int64_t warps = static_cast<int64_t>(gridDim.x) * (blockDim.x / kWarp);
  for (int64_t row = static_cast<int64_t>(blockIdx.x) * (blockDim.x / kWarp) + threadIdx.x / kWarp;
       row < s.batch * s.k; row += warps) {
    const int64_t b = row / s.k;
    for (int64_t t = lane; t < s.c; t += kWarp) ks[t] = keys[row * s.c + t];
    for (int64_t t = lane; t < s.d; t += kWarp) vs[t] = values[row * s.d + t];
    __syncwarp();
    T acc_k[kPerLane], acc_v[kPerLane];
#pragma unroll
    for (int t = 0; t < kPerLane; ++t) acc_k[t] = acc_v[t] = 0;
    for (int64_t i0 = 0; i0 < s.n; i0 += kWarp) {
      const int64_t i = i0 + lane;
      T p = 0, ds = 0;
      if (i < s.n) {
        const int64_t qi = b * s.n + i;
        p = exp(scale * dot_row(ks, query + qi * s.c, s.c) - lse[qi]);
        ds = p * (dot_row(vs, grad + qi * s.d, s.d) - delta[qi]) * scale;
      }
      const int valid = static_cast<int>(s.n - i0 < kWarp ? s.n - i0 : kWarp);
      for (int ii = 0; ii < valid; ++ii) {
        const T pi = __shfl_sync(kFullMask, p, ii), dsi = __shfl_sync(kFullMask, ds, ii);
        const int64_t qi = b * s.n + i0 + ii;
#pragma unroll
        for (int t = 0; t < kPerLane; ++t) {
          const int64_t e = lane + t * kWarp;
          if (e < s.d) acc_v[t] += pi * __ldg(grad + qi * s.d + e);
          if (e < s.c) acc_k[t] += dsi * __ldg(query + qi * s.c + e);
        }
      }
    }
#pragma unroll
    for (int t = 0; t < kPerLane; ++t) {
      const int64_t e = lane + t * kWarp;
      if (e < s.d) grad_values[row * s.d + e] = acc_v[t];
      if (e < s.c) grad_keys[row * s.c + e] = acc_k[t];
    }
    __syncwarp();
  }
}

}  // namespace cuda
}  // namespace trackerzoo
