// The per-axis maths of Precise RoI Pooling, shared by the CPU and CUDA kernels (no ATen).
//
// Along one axis the bilinearly interpolated map is sum_i v_i * tent(x - i) over the samples
// i = 0 .. size-1 (zero beyond them), tent(t) = max(0, 1 - |t|). A bin [a, b] of length s > 0
// therefore has the axis weight W_i = (A(b - i) - A(a - i)) / s with A the antiderivative of
// the tent, and a pooled value is sum_ij Wy_i * v_ij * Wx_j. Bin p of a RoI [start, end] (map
// coordinates) is a = start + s p, b = a + s with s = max(end - start, 0) / pooled; s = 0 gives
// zero weights (pytracking's PrRoIPool returns 0 for a zero-area bin). The derivatives of W_i
// with respect to the RoI's start and end (through a, b and s) give the coordinate gradients.
#pragma once

#include <cmath>
#include <cstdint>

#if defined(__CUDACC__)
#define TZ_PRROI_HD __host__ __device__ __forceinline__
#else
#define TZ_PRROI_HD inline
#endif

namespace trackerzoo {
namespace prroi {

template <typename T>
TZ_PRROI_HD T tent(T t) {
  const T u = T(1) - (t < T(0) ? -t : t);
  return u > T(0) ? u : T(0);
}

// Integral of the tent over (-inf, t].
template <typename T>
TZ_PRROI_HD T tent_integral(T t) {
  if (t <= T(-1)) return T(0);
  if (t >= T(1)) return T(1);
  if (t <= T(0)) {
    const T u = t + T(1);
    return T(0.5) * u * u;
  }
  const T u = T(1) - t;
  return T(1) - T(0.5) * u * u;
}

// One bin of one axis: its ends, length, and the samples [lo, hi) it can weigh (clipped to
// the map; empty when the bin has zero length or misses the map).
template <typename T>
struct Bin {
  T a, b, s;
  int64_t lo, hi;
};

template <typename T>
TZ_PRROI_HD Bin<T> axis_bin(T start, T end, int64_t p, int64_t pooled, int64_t size) {
  Bin<T> bin;
  const T extent = end - start;
  bin.s = (extent > T(0) ? extent : T(0)) / static_cast<T>(pooled);
  bin.a = start + bin.s * static_cast<T>(p);
  bin.b = bin.a + bin.s;
  bin.lo = 0;
  bin.hi = 0;
  if (!(bin.s > T(0))) return bin;
  // Samples i with (i - 1, i + 1) meeting (a, b): floor(a) <= i <= ceil(b); the ends are
  // clipped before the conversion so that huge coordinates cannot overflow.
  const T fa = floor(bin.a < T(-2) ? T(-2) : (bin.a > T(size + 1) ? T(size + 1) : bin.a));
  const T cb = ceil(bin.b < T(-2) ? T(-2) : (bin.b > T(size + 1) ? T(size + 1) : bin.b));
  int64_t lo = static_cast<int64_t>(fa), hi = static_cast<int64_t>(cb) + 1;
  if (lo < 0) lo = 0;
  if (hi > size) hi = size;
  if (hi < lo) hi = lo;
  bin.lo = lo;
  bin.hi = hi;
  return bin;
}

// The weight of sample i in a bin of positive length.
template <typename T>
TZ_PRROI_HD T weight(const Bin<T>& bin, int64_t i) {
  const T x = static_cast<T>(i);
  return (tent_integral(bin.b - x) - tent_integral(bin.a - x)) / bin.s;
}

// d weight / d start and d weight / d end of the RoI (map units) for bin p of `pooled`.
template <typename T>
TZ_PRROI_HD void weight_grads(const Bin<T>& bin, int64_t i, int64_t p, int64_t pooled, T& d_start, T& d_end) {
  const T x = static_cast<T>(i);
  const T inv_s = T(1) / bin.s, inv_n = T(1) / static_cast<T>(pooled);
  const T d_a = -tent(bin.a - x) * inv_s;
  const T d_b = tent(bin.b - x) * inv_s;
  const T d_s = -(tent_integral(bin.b - x) - tent_integral(bin.a - x)) * inv_s * inv_s;
  const T pa = static_cast<T>(p) * inv_n, pb = static_cast<T>(p + 1) * inv_n;
  // a = start + s p, b = start + s (p + 1), s = (end - start) / pooled
  d_start = d_a * (T(1) - pa) + d_b * (T(1) - pb) - d_s * inv_n;
  d_end = d_a * pa + d_b * pb + d_s * inv_n;
}

}  // namespace prroi
}  // namespace trackerzoo
