// Vectorised building blocks for the CPU kernels: exp() on SIMD vectors and two
// register-blocked matrix micro-kernels (see cpu_simd.h for the vector types).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "ops/common/cpu_simd.h"

namespace trackerzoo {
namespace cpu {

// exp(x) for x <= 0 (softmax arguments after max subtraction), lane-wise, Cephes-style:
// x = n ln2 + r, a polynomial (float) or Pade form (double) in r, times 2^n made from the
// exponent bits. Arguments below the underflow threshold give exactly 0, so -inf masks work.
template <int kBytes>
TZ_INLINE typename Simd<float, kBytes>::V exp_nonpos(typename Simd<float, kBytes>::V x) {
  using V = typename Simd<float, kBytes>::V;
  typedef int32_t I __attribute__((vector_size(kBytes)));
  const I under = x < -87.0f;
  x = under ? V{} - 87.0f : x;
  const V n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;  // round to nearest
  const V r = x - n * 0.693359375f + n * 2.12194440e-4f;
  V p = V{} + 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const I bits = (__builtin_convertvector(n, I) + 127) << 23;
  const V result = p * reinterpret_cast<const V&>(bits);
  return under ? V{} : result;
}

template <int kBytes>
TZ_INLINE typename Simd<double, kBytes>::V exp_nonpos(typename Simd<double, kBytes>::V x) {
  using V = typename Simd<double, kBytes>::V;
  typedef int64_t I __attribute__((vector_size(kBytes)));
  const I under = x < -708.0;
  x = under ? V{} - 708.0 : x;
  const V n = (x * 1.4426950408889634073599 + 6755399441055744.0) - 6755399441055744.0;
  const V r = x - n * 6.93145751953125e-1 - n * 1.42860682030941723212e-6;
  const V r2 = r * r;
  const V px = r * ((r2 * 1.26177193074810590878e-4 + 3.02994407707441961300e-2) * r2 + 9.99999999999999999910e-1);
  const V qx = ((r2 * 3.00198505138664455042e-6 + 2.52448340349684104192e-3) * r2 + 2.27265548208155028766e-1) * r2 +
               2.00000000000000000009e0;
  const V e = 1.0 + 2.0 * px / (qx - px);
  const I bits = (__builtin_convertvector(n, I) + 1023) << 52;
  const V result = e * reinterpret_cast<const V&>(bits);
  return under ? V{} : result;
}

// out[r][j] = sum_c a_r[c] * bt[c][j] for R rows (row pointers) and `cols` columns (a
// multiple of two vectors); bt is "B transposed", row stride bt_stride; out has row stride
// out_stride.
template <typename T, int kBytes, int R>
TZ_INLINE void block_dot(const T* const* a, const T* bt, int64_t bt_stride, int64_t depth, int64_t cols, T* out,
                         int64_t out_stride) {
  using S = Simd<T, kBytes>;
  using V = typename S::V;
  constexpr int L = S::kLanes;
  for (int64_t j = 0; j < cols; j += 2 * L) {
    V acc[R][2];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] = S::zero();
    for (int64_t c = 0; c < depth; ++c) {
      const V b0 = S::load(bt + c * bt_stride + j), b1 = S::load(bt + c * bt_stride + j + L);
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) {
        const V av = S::splat(a[r][c]);
        acc[r][0] += av * b0;
        acc[r][1] += av * b1;
      }
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      S::store(out + r * out_stride + j, acc[r][0]);
      S::store(out + r * out_stride + j + L, acc[r][1]);
    }
  }
}

// acc[r][d] += sum_{j < rows} p[r][j] * m[j][d] for d < width (a multiple of 2 vectors).
template <typename T, int kBytes, int R>
TZ_INLINE void block_accum(const T* p, int64_t p_stride, const T* m, int64_t m_stride, int64_t rows, T* acc,
                           int64_t width) {
  using S = Simd<T, kBytes>;
  using V = typename S::V;
  constexpr int L = S::kLanes;
  for (int64_t d = 0; d < width; d += 2 * L) {
    V a[R][2];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      a[r][0] = S::load(acc + r * width + d);
      a[r][1] = S::load(acc + r * width + d + L);
    }
    for (int64_t j = 0; j < rows; ++j) {
      const V m0 = S::load(m + j * m_stride + d), m1 = S::load(m + j * m_stride + d + L);
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) {
        const V pv = S::splat(p[r * p_stride + j]);
        a[r][0] += pv * m0;
        a[r][1] += pv * m1;
      }
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      S::store(acc + r * width + d, a[r][0]);
      S::store(acc + r * width + d + L, a[r][1]);
    }
  }
}

inline int64_t round_up(int64_t v, int64_t m) {
  return (v + m - 1) / m * m;
}

}  // namespace cpu
}  // namespace trackerzoo
