// Vectorisable building blocks for the CPU kernels: an exp() the compiler can vectorise and
// two register-blocked matrix micro-kernels. Everything is written as fixed-width lane loops.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "ops/cpu_simd.h"

namespace trackerzoo {
namespace cpu {

// exp(x) for x <= 0 (softmax arguments after max subtraction), Cephes-style: x = n ln2 + r,
// polynomial (float) or Pade (double) in r, times 2^n built from the exponent bits. Arguments
// below the underflow threshold give exactly 0 (so -inf masks work).
TZ_INLINE float exp_nonpos(float x) {
  const bool under = x < -87.0f;
  x = under ? -87.0f : x;
  const float n = std::floor(x * 1.44269504088896341f + 0.5f);
  const float r = x - n * 0.693359375f + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof(scale));
  return under ? 0.0f : p * scale;
}

TZ_INLINE double exp_nonpos(double x) {
  const bool under = x < -708.0;
  x = under ? -708.0 : x;
  const double n = std::floor(x * 1.4426950408889634073599 + 0.5);
  const double r = x - n * 6.93145751953125e-1 - n * 1.42860682030941723212e-6;
  const double r2 = r * r;
  const double px = r * ((1.26177193074810590878e-4 * r2 + 3.02994407707441961300e-2) * r2 +
                         9.99999999999999999910e-1);
  const double qx = ((3.00198505138664455042e-6 * r2 + 2.52448340349684104192e-3) * r2 +
                     2.27265548208155028766e-1) * r2 + 2.00000000000000000009e0;
  const double e = 1.0 + 2.0 * px / (qx - px);
  const int64_t bits = (static_cast<int64_t>(n) + 1023) << 52;
  double scale;
  std::memcpy(&scale, &bits, sizeof(scale));
  return under ? 0.0 : e * scale;
}

// out[r][j] = sum_c a_r[c] * bt[c][j] for R rows (row pointers) and `cols` columns
// (a multiple of 2 * kVW); bt is "B transposed", row stride bt_stride.
template <typename T, int kVW, int R>
TZ_INLINE void block_dot(const T* const* a, const T* bt, int64_t bt_stride, int64_t depth, int64_t cols, T* out) {
  constexpr int W2 = 2 * kVW;
  for (int64_t j = 0; j < cols; j += W2) {
    T acc[R][W2];
    for (int r = 0; r < R; ++r) {
      for (int t = 0; t < W2; ++t) acc[r][t] = T(0);
    }
    for (int64_t c = 0; c < depth; ++c) {
      const T* brow = bt + c * bt_stride + j;
      for (int r = 0; r < R; ++r) {
        const T av = a[r][c];
        for (int t = 0; t < W2; ++t) acc[r][t] += av * brow[t];
      }
    }
    for (int r = 0; r < R; ++r) {
      for (int t = 0; t < W2; ++t) out[r * cols + j + t] = acc[r][t];
    }
  }
}

// acc[r][d] += sum_{j < rows} p[r][j] * m[j][d] for d < width (a multiple of 2 * kVW).
template <typename T, int kVW, int R>
TZ_INLINE void block_accum(const T* p, int64_t p_stride, const T* m, int64_t m_stride, int64_t rows, T* acc,
                           int64_t width) {
  constexpr int W2 = 2 * kVW;
  for (int64_t d = 0; d < width; d += W2) {
    T a[R][W2];
    for (int r = 0; r < R; ++r) {
      for (int t = 0; t < W2; ++t) a[r][t] = acc[r * width + d + t];
    }
    for (int64_t j = 0; j < rows; ++j) {
      const T* mrow = m + j * m_stride + d;
      for (int r = 0; r < R; ++r) {
        const T pv = p[r * p_stride + j];
        for (int t = 0; t < W2; ++t) a[r][t] += pv * mrow[t];
      }
    }
    for (int r = 0; r < R; ++r) {
      for (int t = 0; t < W2; ++t) acc[r * width + d + t] = a[r][t];
    }
  }
}

inline int64_t round_up(int64_t v, int64_t m) {
  return (v + m - 1) / m * m;
}

}  // namespace cpu
}  // namespace trackerzoo
