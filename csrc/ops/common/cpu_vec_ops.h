// Level-1 vector helpers of the CPU kernels (axpy, dot) on the SIMD vectors of cpu_simd.h, for
// use inside TZ_MULTIVERSION bodies (kVecBytes is the ISA's vector width).
#pragma once

#include <cstdint>

#include "ops/common/cpu_simd.h"

namespace trackerzoo {
namespace cpu {

// dst[0:n] += w * src[0:n]
template <typename T, int kVecBytes>
TZ_INLINE void axpy(T* dst, const T* src, T w, int64_t n) {
  using S = Simd<T, kVecBytes>;
  constexpr int L = S::kLanes;
  const typename S::V wv = S::splat(w);
  int64_t i = 0;
  for (; i + L <= n; i += L) S::store(dst + i, S::load(dst + i) + wv * S::load(src + i));
  for (; i < n; ++i) dst[i] += w * src[i];
}

// sum_i a[i] * b[i] over n, with two vector accumulators
template <typename T, int kVecBytes>
TZ_INLINE T dot(const T* a, const T* b, int64_t n) {
  using S = Simd<T, kVecBytes>;
  constexpr int L = S::kLanes;
  typename S::V s0 = S::zero(), s1 = S::zero();
  int64_t i = 0;
  for (; i + 2 * L <= n; i += 2 * L) {
    s0 += S::load(a + i) * S::load(b + i);
    s1 += S::load(a + i + L) * S::load(b + i + L);
  }
  for (; i + L <= n; i += L) s0 += S::load(a + i) * S::load(b + i);
  T s = S::sum(s0 + s1);
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}

}  // namespace cpu
}  // namespace trackerzoo
