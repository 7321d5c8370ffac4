// dw_xcorr CUDA kernels: one thread per output element for the forward and the search
// gradient (neighbouring threads read neighbouring pixels, so loads coalesce and the kernel
// taps come from L1), one warp per kernel tap for the kernel gradient (a reduction over the
// whole output plane).
#pragma once

#include "ops/common/cuda_common.cuh"

namespace trackerzoo {
namespace cuda {

struct XcorrShape {
  int64_t planes, h, w, kh, kw, ho, wo;
};

template <typename T>
__global__ void dw_xcorr_forward_kernel(const T* __restrict__ search, const T* __restrict__ kernel,
                                        T* __restrict__ out, XcorrShape s) {
  const int64_t total = s.planes * s.ho * s.wo;
  TZ_GRID_STRIDE(idx, total) {
    const int64_t j = idx % s.wo, i = (idx / s.wo) % s.ho, p = idx / (s.wo * s.ho);
    const T* src = search + (p * s.h + i) * s.w + j;
    const T* ker = kernel + p * s.kh * s.kw;
    T acc = 0;
    for (int64_t u = 0; u < s.kh; ++u) {
      for (int64_t v = 0; v < s.kw; ++v) acc += __ldg(src + u * s.w + v) * __ldg(ker + u * s.kw + v);
    }
    out[idx] = acc;
  }
}

// d search[y][x] = sum_{u,v} grad[y - u][x - v] * kernel[u][v] over the valid taps.
template <typename T>
__global__ void dw_xcorr_grad_search_kernel(const T* __restrict__ grad, const T* __restrict__ kernel,
                                            T* __restrict__ grad_search, XcorrShape s) {
  const int64_t total = s.planes * s.h * s.w;
  TZ_GRID_STRIDE(idx, total) {
    const int64_t x = idx % s.w, y = (idx / s.w) % s.h, p = idx / (s.w * s.h);
    const T* g = grad + p * s.ho * s.wo;
    const T* ker = kernel + p * s.kh * s.kw;
    const int64_t u0 = y - s.ho + 1 > 0 ? y - s.ho + 1 : 0, u1 = y < s.kh - 1 ? y : s.kh - 1;
    const int64_t v0 = x - s.wo + 1 > 0 ? x - s.wo + 1 : 0, v1 = x < s.kw - 1 ? x : s.kw - 1;
    T acc = 0;
    for (int64_t u = u0; u <= u1; ++u) {
      for (int64_t v = v0; v <= v1; ++v) acc += __ldg(g + (y - u) * s.wo + (x - v)) * __ldg(ker + u * s.kw + v);
    }
    grad_search[idx] = acc;
  }
}

// d kernel[u][v] = sum_{i,j} grad[i][j] * search[i + u][j + v]: one warp per (plane, u, v).
template <typename T>
__global__ void dw_xcorr_grad_kernel_kernel(const T* __restrict__ grad, const T* __restrict__ search,
                                            T* __restrict__ grad_kernel, XcorrShape s) {
  const int lane = threadIdx.x % kWarp;
  const int64_t warps = static_cast<int64_t>(gridDim.x) * (blockDim.x / kWarp);
  const int64_t total = s.planes * s.kh * s.kw;
  const int64_t n = s.ho * s.wo;
  for (int64_t o = static_cast<int64_t>(blockIdx.x) * (blockDim.x / kWarp) + threadIdx.x / kWarp; o < total;
       o += warps) {
    const int64_t v = o % s.kw, u = (o / s.kw) % s.kh, p = o / (s.kw * s.kh);
    const T* g = grad + p * n;
    const T* src = search + p * s.h * s.w + u * s.w + v;
    T acc = 0;
    for (int64_t t = lane; t < n; t += kWarp) {
      const int64_t i = t / s.wo, j = t % s.wo;
      acc += __ldg(g + t) * __ldg(src + i * s.w + j);
    }
    acc = warp_sum(acc);
    if (lane == 0) grad_kernel[o] = acc;
  }
}

}  // namespace cuda
}  // namespace trackerzoo
