// Run-time ISA selection for the CPU kernels.
//
// The extension is built with plain -O3 (no -march), so that one wheel runs everywhere. The
// hot loops are written as fixed-width "lane" loops that the compiler vectorises, and each
// kernel body is instantiated three times: for AVX-512, for AVX2+FMA and for the baseline
// ISA, picked once at run time from CPUID. On non-x86 targets only the baseline exists.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <cstring>

#define TZ_INLINE inline __attribute__((always_inline))

#if defined(__GNUC__) && defined(__x86_64__)
#define TZ_X86_MULTIVERSION 1
#define TZ_TARGET_AVX512 __attribute__((target("avx512f,avx512vl,avx512dq,avx2,fma")))
#define TZ_TARGET_AVX2 __attribute__((target("avx2,fma")))
#else
#define TZ_X86_MULTIVERSION 0
#define TZ_TARGET_AVX512
#define TZ_TARGET_AVX2
#endif

namespace trackerzoo {
namespace cpu {

enum class Isa { kBaseline, kAvx2, kAvx512 };

// The environment variable TRACKERZOO_CPU_ISA=avx2|baseline caps the choice (like oneDNN's
// ONEDNN_MAX_CPU_ISA), so that results can be reproduced bit for bit on CPUs with a wider ISA.
inline Isa isa_cap() {
  const char* cap = std::getenv("TRACKERZOO_CPU_ISA");
  if (cap == nullptr) return Isa::kAvx512;
  if (std::strcmp(cap, "avx2") == 0 || std::strcmp(cap, "AVX2") == 0) return Isa::kAvx2;
  if (std::strcmp(cap, "baseline") == 0 || std::strcmp(cap, "BASELINE") == 0) return Isa::kBaseline;
  return Isa::kAvx512;
}

inline Isa best_isa() {
  static const Isa isa = [] {
    const Isa cap = isa_cap();
#if TZ_X86_MULTIVERSION
    __builtin_cpu_init();
    if (cap == Isa::kAvx512 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512dq")) {
      return Isa::kAvx512;
    }
    if (cap != Isa::kBaseline && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
      return Isa::kAvx2;
    }
#endif
    (void)cap;
    return Isa::kBaseline;
  }();
  return isa;
}

}  // namespace cpu
}  // namespace trackerzoo

// TZ_MULTIVERSION(body) takes a function template `template <typename T, int kVecBytes>
// TZ_INLINE void body(...)` and defines `body_dispatch<T>(...)`, which runs `body` compiled
// for the best ISA of this CPU with kVecBytes set to that ISA's vector width.
#if TZ_X86_MULTIVERSION
#define TZ_MULTIVERSION(NAME)                                                      \
  template <typename T, typename... A>                                            \
  TZ_TARGET_AVX512 void NAME##_avx512(A... a) {                                   \
    NAME<T, 64>(a...);                                                            \
  }                                                                               \
  template <typename T, typename... A>                                            \
  TZ_TARGET_AVX2 void NAME##_avx2(A... a) {                                       \
    NAME<T, 32>(a...);                                                            \
  }                                                                               \
  template <typename T, typename... A>                                            \
  void NAME##_baseline(A... a) {                                                  \
    NAME<T, 16>(a...);                                                            \
  }                                                                               \
  template <typename T, typename... A>                                            \
  void NAME##_dispatch(A... a) {                                                  \
    switch (::trackerzoo::cpu::best_isa()) {                                      \
      case ::trackerzoo::cpu::Isa::kAvx512:                                       \
        NAME##_avx512<T>(a...);                                                   \
        break;                                                                    \
      case ::trackerzoo::cpu::Isa::kAvx2:                                         \
        NAME##_avx2<T>(a...);                                                     \
        break;                                                                    \
      default:                                                                    \
        NAME##_baseline<T>(a...);                                                 \
    }                                                                             \
  }
#else
#define TZ_MULTIVERSION(NAME)     \
  template <typename T, typename... A> \
  void NAME##_dispatch(A... a) {  \
    NAME<T, 16>(a...);            \
  }
#endif

// Portable SIMD vectors (GCC/Clang vector extensions): kBytes-wide registers of T. Inside a
// TZ_TARGET_AVX512 function a 64-byte vector is one zmm register; in the baseline build the
// compiler splits it into SSE registers. Loads and stores are unaligned.
#pragma GCC diagnostic ignored "-Wpsabi"

namespace trackerzoo {
namespace cpu {

template <typename T, int kBytes>
struct Simd {
  typedef T V __attribute__((vector_size(kBytes)));
  typedef T Unaligned __attribute__((vector_size(kBytes), aligned(sizeof(T))));
  static constexpr int kLanes = kBytes / static_cast<int>(sizeof(T));

  static TZ_INLINE V load(const T* p) { return *reinterpret_cast<const Unaligned*>(p); }
  static TZ_INLINE void store(T* p, V v) { *reinterpret_cast<Unaligned*>(p) = v; }
  static TZ_INLINE V zero() { return V{}; }
  static TZ_INLINE V splat(T x) { return V{} + x; }
  static TZ_INLINE T sum(V v) {
    T s = 0;
    for (int i = 0; i < kLanes; ++i) s += v[i];
    return s;
  }
  static TZ_INLINE T max(V v) {
    T m = v[0];
    for (int i = 1; i < kLanes; ++i) m = v[i] > m ? v[i] : m;
    return m;
  }
};

}  // namespace cpu
}  // namespace trackerzoo
