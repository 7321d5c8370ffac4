// Single-plane valid 2-D cross-correlation, the inner loop of dw_xcorr and its two backward
// passes. Header-only so that the ISA-specific instantiations of cpu_simd.h inline it.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "ops/common/cpu_simd.h"

namespace trackerzoo {
namespace cpu {

// One task: correlate a (zero-padded, optionally) source plane with a (flipped, optionally)
// kernel plane; planes of a batch sit at fixed strides.
template <typename T>
struct XcorrPlanes {
  const T* src;
  int64_t src_h, src_w, pad_y, pad_x, src_stride;
  const T* ker;
  int64_t ker_h, ker_w, ker_stride;
  bool flip_kernel;
  T* out;
  int64_t out_h, out_w, out_stride;
};

// R output rows by kNV vectors of columns per block: R * kNV independent accumulators hide
// the FMA latency, and the source rows are padded so every block may run full width.
template <typename T, int kVecBytes, int R, int kNV>
TZ_INLINE void xcorr_row_block(const T* src, int64_t stride, const T* ker, int64_t kh, int64_t kw, T* out,
                               int64_t out_w, int64_t rows) {
  using S = Simd<T, kVecBytes>;
  using V = typename S::V;
  constexpr int kVW = S::kLanes;
  for (int64_t j = 0; j < out_w; j += kNV * kVW) {
    V acc[R][kNV];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
#pragma GCC unroll 2
      for (int q = 0; q < kNV; ++q) acc[r][q] = S::zero();
    }
    // Source row m feeds output row r through kernel row m - r: each source vector is loaded
    // once per block and used by up to R accumulators.
    for (int64_t m = 0; m < kh + R - 1; ++m) {
      const T* srow = src + m * stride + j;
      for (int64_t v = 0; v < kw; ++v) {
        V sv[kNV];
#pragma GCC unroll 2
        for (int q = 0; q < kNV; ++q) sv[q] = S::load(srow + v + q * kVW);
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r) {
          const int64_t u = m - r;
          if (u < 0 || u >= kh) continue;
          const V kv = S::splat(ker[u * kw + v]);
#pragma GCC unroll 2
          for (int q = 0; q < kNV; ++q) acc[r][q] += kv * sv[q];
        }
      }
    }
    const int64_t n = std::min<int64_t>(kNV * kVW, out_w - j);
    for (int r = 0; r < R && r < rows; ++r) {
      T tmp[kNV * kVW];
      for (int q = 0; q < kNV; ++q) S::store(tmp + q * kVW, acc[r][q]);
      for (int64_t t = 0; t < n; ++t) out[r * out_w + j + t] = tmp[t];
    }
  }
}

template <typename T, int kVecBytes, int kNV>
TZ_INLINE void xcorr_plane(const T* scratch, int64_t stride, const T* ker, int64_t kh, int64_t kw, T* out,
                           int64_t out_h, int64_t out_w) {
  constexpr int R = 5;
  if (out_h < R) {
    for (int64_t i = 0; i < out_h; ++i) {
      xcorr_row_block<T, kVecBytes, 1, kNV>(scratch + i * stride, stride, ker, kh, kw, out + i * out_w, out_w, 1);
    }
    return;
  }
  // Full blocks of R rows; the last block is shifted up to end at the last row (it recomputes
  // a few rows with identical results) instead of running a slow single-row tail.
  for (int64_t i0 = 0; i0 < out_h; i0 += R) {
    const int64_t i = std::min<int64_t>(i0, out_h - R);
    xcorr_row_block<T, kVecBytes, R, kNV>(scratch + i * stride, stride, ker, kh, kw, out + i * out_w, out_w, R);
  }
}

template <typename T, int kVecBytes>
TZ_INLINE void xcorr_planes(XcorrPlanes<T> a, int64_t begin, int64_t end) {
  constexpr int kVW = Simd<T, kVecBytes>::kLanes;
  constexpr int R = 5;
  const int64_t rows = a.src_h + 2 * a.pad_y;
  const int64_t stride = a.src_w + 2 * a.pad_x + 2 * kVW;  // slack so the last block may overrun
  std::vector<T> scratch(static_cast<size_t>((rows + R) * stride), T(0));
  std::vector<T> kbuf(static_cast<size_t>(a.ker_h * a.ker_w));
  for (int64_t p = begin; p < end; ++p) {
    const T* src = a.src + p * a.src_stride;
    for (int64_t y = 0; y < a.src_h; ++y) {
      std::memcpy(scratch.data() + (y + a.pad_y) * stride + a.pad_x, src + y * a.src_w, sizeof(T) * a.src_w);
    }
    const T* ker = a.ker + p * a.ker_stride;
    if (a.flip_kernel) {
      const int64_t n = a.ker_h * a.ker_w;
      for (int64_t i = 0; i < n; ++i) kbuf[i] = ker[n - 1 - i];
      ker = kbuf.data();
    }
    T* out = a.out + p * a.out_stride;
    if (a.out_w > kVW) {
      xcorr_plane<T, kVecBytes, 2>(scratch.data(), stride, ker, a.ker_h, a.ker_w, out, a.out_h, a.out_w);
    } else {
      xcorr_plane<T, kVecBytes, 1>(scratch.data(), stride, ker, a.ker_h, a.ker_w, out, a.out_h, a.out_w);
    }
  }
}

TZ_MULTIVERSION(xcorr_planes)

}  // namespace cpu
}  // namespace trackerzoo
