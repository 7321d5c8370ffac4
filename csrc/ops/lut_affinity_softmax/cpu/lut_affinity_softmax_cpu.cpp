// lut_affinity_softmax on the CPU: flash-attention style. Each task owns R query rows and
// streams the keys in blocks of kKeyBlock with an online softmax (running max and running
// sum), so only an R x kKeyBlock tile of logits ever exists. The backward pass recomputes the
// probabilities from the saved log-sum-exp, once per query block (for d query) and once per
// key block (for d keys and d values), so it needs no N x K buffer either.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <tuple>
#include <vector>

#include "ops/common/cpu_math.h"

namespace trackerzoo {
namespace ops {
namespace {

constexpr int64_t kKeyBlock = 64;  // columns of a logit tile; a multiple of every 2 * vector width
constexpr int64_t kPad = 32;       // channel padding; a multiple of every 2 * vector width
constexpr int kRows = 4;           // rows of a tile (independent accumulators)

template <typename T>
struct LutForward {
  const T* q;   // [B, N, C]
  const T* kt;  // [B, C, Kp]: keys transposed, zero padded
  const T* vp;  // [B, Kp, Dp]: values, zero padded
  T* out;       // [B, N, D]
  T* lse;       // [B, N]
  int64_t n, c, k, d, kp, dp;
  T scale;
};

template <typename T, int kVecBytes>
TZ_INLINE void lut_forward_tasks(LutForward<T> a, int64_t begin, int64_t end) {
  using S = cpu::Simd<T, kVecBytes>;
  using V = typename S::V;
  constexpr int L = S::kLanes;
  constexpr T kNegInf = -std::numeric_limits<T>::infinity();
  const int64_t row_blocks = (a.n + kRows - 1) / kRows;
  std::vector<T> logits(kRows * kKeyBlock), acc(kRows * a.dp);
  for (int64_t task = begin; task < end; ++task) {
    const int64_t b = task / row_blocks, i0 = (task % row_blocks) * kRows;
    const T* rows[kRows];
    for (int r = 0; r < kRows; ++r) rows[r] = a.q + (b * a.n + std::min(i0 + r, a.n - 1)) * a.c;
    T run_max[kRows], run_sum[kRows];
    for (int r = 0; r < kRows; ++r) {
      run_max[r] = kNegInf;
      run_sum[r] = T(0);
    }
    std::fill(acc.begin(), acc.end(), T(0));
    const T* kt = a.kt + b * a.c * a.kp;
    const T* vp = a.vp + b * a.kp * a.dp;
    for (int64_t j0 = 0; j0 < a.k; j0 += kKeyBlock) {
      const int64_t valid = std::min(kKeyBlock, a.k - j0);
      const int64_t cols = std::min(kKeyBlock, cpu::round_up(valid, 2 * L));  // skip all-padding columns
      cpu::block_dot<T, kVecBytes, kRows>(rows, kt + j0, a.kp, a.c, cols, logits.data(), kKeyBlock);
      for (int r = 0; r < kRows; ++r) {
        T* s = logits.data() + r * kKeyBlock;
        V vmax = S::splat(kNegInf);
        for (int64_t j = 0; j < kKeyBlock; j += L) {
          const V x = S::load(s + j) * a.scale;
          S::store(s + j, x);
        }
        for (int64_t j = valid; j < kKeyBlock; ++j) s[j] = kNegInf;  // padding keys: weight 0
        for (int64_t j = 0; j < kKeyBlock; j += L) {
          const V x = S::load(s + j);
          vmax = x > vmax ? x : vmax;
        }
        const T new_max = std::max(run_max[r], S::max(vmax));
        const T correction = std::exp(run_max[r] - new_max);
        V vsum = S::zero();
        for (int64_t j = 0; j < kKeyBlock; j += L) {
          const V e = cpu::exp_nonpos<kVecBytes>(S::load(s + j) - new_max);
          S::store(s + j, e);
          vsum += e;
        }
        run_sum[r] = run_sum[r] * correction + S::sum(vsum);
        run_max[r] = new_max;
        T* ar = acc.data() + r * a.dp;
        for (int64_t t = 0; t < a.dp; t += L) S::store(ar + t, S::load(ar + t) * correction);
      }
      cpu::block_accum<T, kVecBytes, kRows>(logits.data(), kKeyBlock, vp + j0 * a.dp, a.dp, valid, acc.data(),
                                            a.dp);
    }
    for (int r = 0; r < kRows && i0 + r < a.n; ++r) {
      const T inv = T(1) / run_sum[r];
      T* o = a.out + (b * a.n + i0 + r) * a.d;
      const T* ar = acc.data() + r * a.dp;
      for (int64_t t = 0; t < a.d; ++t) o[t] = ar[t] * inv;
      a.lse[b * a.n + i0 + r] = run_max[r] + std::log(run_sum[r]);
    }
  }
}

TZ_MULTIVERSION(lut_forward_tasks)

// Backward, query side: dQ_i = scale * sum_j P_ij (dP_ij - delta_i) K_j with dP = dO V^T.
template <typename T>
struct LutBackwardQuery {
  const T* q;     // [B, N, C]
  const T* go;    // [B, N, D]
  const T* kt;    // [B, C, Kp]
  const T* vt;    // [B, D, Kp]
  const T* kpad;  // [B, Kp, Cp]
  const T* lse;   // [B, N]
  const T* delta; // [B, N]
  T* gq;          // [B, N, C]
  int64_t n, c, k, d, kp, cp;
  T scale;
};

template <typename T, int kVecBytes>
TZ_INLINE void lut_backward_query_tasks(LutBackwardQuery<T> a, int64_t begin, int64_t end) {
  using S = cpu::Simd<T, kVecBytes>;
  using V = typename S::V;
  constexpr int L = S::kLanes;
  const int64_t row_blocks = (a.n + kRows - 1) / kRows;
  std::vector<T> prob(kRows * kKeyBlock), dprob(kRows * kKeyBlock), acc(kRows * a.cp);
  for (int64_t task = begin; task < end; ++task) {
    const int64_t b = task / row_blocks, i0 = (task % row_blocks) * kRows;
    const T* qrows[kRows];
    const T* grows[kRows];
    T lse[kRows], delta[kRows];
    for (int r = 0; r < kRows; ++r) {
      const int64_t i = b * a.n + std::min(i0 + r, a.n - 1);
      qrows[r] = a.q + i * a.c;
      grows[r] = a.go + i * a.d;
      lse[r] = a.lse[i];
      delta[r] = a.delta[i];
    }
    std::fill(acc.begin(), acc.end(), T(0));
    for (int64_t j0 = 0; j0 < a.k; j0 += kKeyBlock) {
      const int64_t valid = std::min(kKeyBlock, a.k - j0);
      const int64_t cols = std::min(kKeyBlock, cpu::round_up(valid, 2 * L));
      cpu::block_dot<T, kVecBytes, kRows>(qrows, a.kt + b * a.c * a.kp + j0, a.kp, a.c, cols, prob.data(), kKeyBlock);
      cpu::block_dot<T, kVecBytes, kRows>(grows, a.vt + b * a.d * a.kp + j0, a.kp, a.d, cols, dprob.data(),
                                          kKeyBlock);
      for (int r = 0; r < kRows; ++r) {
        T* p = prob.data() + r * kKeyBlock;
        const T* dp = dprob.data() + r * kKeyBlock;
        for (int64_t j = 0; j < kKeyBlock; j += L) {
          V x = S::load(p + j) * a.scale - lse[r];
          x = x < T(0) ? x : S::zero();
          S::store(p + j, cpu::exp_nonpos<kVecBytes>(x) * (S::load(dp + j) - delta[r]) * a.scale);
        }
        for (int64_t j = valid; j < kKeyBlock; ++j) p[j] = T(0);
      }
      cpu::block_accum<T, kVecBytes, kRows>(prob.data(), kKeyBlock, a.kpad + (b * a.kp + j0) * a.cp, a.cp, valid,
                                      acc.data(), a.cp);
    }
    for (int r = 0; r < kRows && i0 + r < a.n; ++r) {
      T* g = a.gq + (b * a.n + i0 + r) * a.c;
      const T* ar = acc.data() + r * a.cp;
      for (int64_t t = 0; t < a.c; ++t) g[t] = ar[t];
    }
  }
}

TZ_MULTIVERSION(lut_backward_query_tasks)

// Backward, key side: dV_j = sum_i P_ij dO_i and dK_j = scale * sum_i P_ij (dP_ij - delta_i) Q_i.
template <typename T>
struct LutBackwardKey {
  const T* keys;   // [B, K, C]
  const T* vals;   // [B, K, D]
  const T* qt;     // [B, C, Np]
  const T* got;    // [B, D, Np]
  const T* qpad;   // [B, Np, Cp]
  const T* gopad;  // [B, Np, Dp]
  const T* lse;    // [B, Np], +inf in the padding
  const T* delta;  // [B, Np]
  T* gk;           // [B, K, C]
  T* gv;           // [B, K, D]
  int64_t n, c, k, d, np, cp, dp;
  T scale;
};

template <typename T, int kVecBytes>
TZ_INLINE void lut_backward_key_tasks(LutBackwardKey<T> a, int64_t begin, int64_t end) {
  using S = cpu::Simd<T, kVecBytes>;
  using V = typename S::V;
  constexpr int L = S::kLanes;
  const int64_t row_blocks = (a.k + kRows - 1) / kRows;
  std::vector<T> prob(kRows * kKeyBlock), dprob(kRows * kKeyBlock), acc_k(kRows * a.cp), acc_v(kRows * a.dp);
  for (int64_t task = begin; task < end; ++task) {
    const int64_t b = task / row_blocks, j0 = (task % row_blocks) * kRows;
    const T* krows[kRows];
    const T* vrows[kRows];
    for (int r = 0; r < kRows; ++r) {
      const int64_t j = b * a.k + std::min(j0 + r, a.k - 1);
      krows[r] = a.keys + j * a.c;
      vrows[r] = a.vals + j * a.d;
    }
    std::fill(acc_k.begin(), acc_k.end(), T(0));
    std::fill(acc_v.begin(), acc_v.end(), T(0));
    const T* lse = a.lse + b * a.np;
    const T* delta = a.delta + b * a.np;
    for (int64_t i0 = 0; i0 < a.n; i0 += kKeyBlock) {
      const int64_t valid = std::min(kKeyBlock, a.n - i0);
      const int64_t cols = std::min(kKeyBlock, cpu::round_up(valid, 2 * L));
      cpu::block_dot<T, kVecBytes, kRows>(krows, a.qt + b * a.c * a.np + i0, a.np, a.c, cols, prob.data(), kKeyBlock);
      cpu::block_dot<T, kVecBytes, kRows>(vrows, a.got + b * a.d * a.np + i0, a.np, a.d, cols, dprob.data(),
                                          kKeyBlock);
      for (int r = 0; r < kRows; ++r) {
        T* p = prob.data() + r * kKeyBlock;
        T* dp = dprob.data() + r * kKeyBlock;
        for (int64_t i = 0; i < kKeyBlock; i += L) {
          V x = S::load(p + i) * a.scale - S::load(lse + i0 + i);
          x = x < T(0) ? x : S::zero();
          const V e = cpu::exp_nonpos<kVecBytes>(x);
          S::store(p + i, e);
          S::store(dp + i, e * (S::load(dp + i) - S::load(delta + i0 + i)) * a.scale);
        }
      }
      cpu::block_accum<T, kVecBytes, kRows>(prob.data(), kKeyBlock, a.gopad + (b * a.np + i0) * a.dp, a.dp, valid,
                                      acc_v.data(), a.dp);
      cpu::block_accum<T, kVecBytes, kRows>(dprob.data(), kKeyBlock, a.qpad + (b * a.np + i0) * a.cp, a.cp, valid,
                                      acc_k.data(), a.cp);
    }
    for (int r = 0; r < kRows && j0 + r < a.k; ++r) {
      T* gk = a.gk + (b * a.k + j0 + r) * a.c;
      T* gv = a.gv + (b * a.k + j0 + r) * a.d;
      for (int64_t t = 0; t < a.c; ++t) gk[t] = acc_k[r * a.cp + t];
      for (int64_t t = 0; t < a.d; ++t) gv[t] = acc_v[r * a.dp + t];
    }
  }
}

TZ_MULTIVERSION(lut_backward_key_tasks)

void check_inputs(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v) {
  TORCH_CHECK(q.dim() == 3 && k.dim() == 3 && v.dim() == 3, "lut_affinity_softmax: inputs must be 3-D");
  TORCH_CHECK(k.size(0) == q.size(0) && k.size(2) == q.size(2), "lut_affinity_softmax: keys must be [B, K, C]");
  TORCH_CHECK(v.size(0) == k.size(0) && v.size(1) == k.size(1), "lut_affinity_softmax: values must be [B, K, D]");
  TORCH_CHECK(k.size(1) >= 1, "lut_affinity_softmax: needs at least one key");
  TORCH_CHECK(q.scalar_type() == k.scalar_type() && q.scalar_type() == v.scalar_type(),
              "lut_affinity_softmax: dtypes differ");
}

// [B, R, X] -> [B, X, Rp]: transposed and zero padded along R.
at::Tensor transposed_padded(const at::Tensor& t, int64_t rp) {
  return at::constant_pad_nd(t.transpose(1, 2), {0, rp - t.size(1)}).contiguous();
}

// [B, R, X] -> [B, Rp, Xp], zero padded.
at::Tensor padded(const at::Tensor& t, int64_t rp, int64_t xp) {
  return at::constant_pad_nd(t, {0, xp - t.size(2), 0, rp - t.size(1)}).contiguous();
}

int64_t grain_for(int64_t work_per_task) {
  return std::max<int64_t>(1, (1 << 15) / std::max<int64_t>(1, work_per_task));
}

// Per batch item: keys transposed to [C, Kp] and values to [Kp, Dp], zero padded, written by
// plain loops (cheaper than a chain of ATen pad/transpose/copy calls at tracking sizes).
template <typename T>
void pack_keys_values(const T* keys, const T* vals, int64_t b, int64_t k, int64_t c, int64_t d, int64_t kp,
                      int64_t dp, T* kt, T* vp) {
  at::parallel_for(0, b, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      T* kti = kt + i * c * kp;
      T* vpi = vp + i * kp * dp;
      std::fill(kti, kti + c * kp, T(0));
      std::fill(vpi, vpi + kp * dp, T(0));
      for (int64_t j = 0; j < k; ++j) {
        const T* krow = keys + (i * k + j) * c;
        for (int64_t ch = 0; ch < c; ++ch) kti[ch * kp + j] = krow[ch];
        std::copy(vals + (i * k + j) * d, vals + (i * k + j + 1) * d, vpi + j * dp);
      }
    }
  });
}

std::tuple<at::Tensor, at::Tensor> lut_forward_cpu(const at::Tensor& query_in, const at::Tensor& keys_in,
                                                   const at::Tensor& values_in, double scale) {
  check_inputs(query_in, keys_in, values_in);
  const at::Tensor q = query_in.contiguous(), keys = keys_in.contiguous(), vals = values_in.contiguous();
  const int64_t b = q.size(0), n = q.size(1), c = q.size(2), k = keys.size(1), d = vals.size(2);
  const int64_t kp = cpu::round_up(k, kKeyBlock), dp = cpu::round_up(std::max<int64_t>(d, 1), kPad);
  at::Tensor out = at::empty({b, n, d}, q.options());
  at::Tensor lse = at::empty({b, n}, q.options());
  if (b * n == 0) return {out, lse};
  const int64_t row_blocks = (n + kRows - 1) / kRows;
  AT_DISPATCH_FLOATING_TYPES(q.scalar_type(), "lut_affinity_softmax_cpu", [&] {
    // ATen's CPU allocator caches blocks, so these scratch buffers do not page-fault per call.
    at::Tensor kt = at::empty({b * c * kp}, q.options()), vp = at::empty({b * kp * dp}, q.options());
    pack_keys_values<scalar_t>(keys.data_ptr<scalar_t>(), vals.data_ptr<scalar_t>(), b, k, c, d, kp, dp,
                               kt.data_ptr<scalar_t>(), vp.data_ptr<scalar_t>());
    LutForward<scalar_t> a{q.data_ptr<scalar_t>(), kt.data_ptr<scalar_t>(), vp.data_ptr<scalar_t>(),
                           out.data_ptr<scalar_t>(),
                           lse.data_ptr<scalar_t>(), n, c, k, d, kp, dp, static_cast<scalar_t>(scale)};
    at::parallel_for(0, b * row_blocks, grain_for(kRows * kp * (c + dp)), [&](int64_t begin, int64_t end) {
      lut_forward_tasks_dispatch<scalar_t>(a, begin, end);
    });
  });
  return {out, lse};
}

at::Tensor lut_cpu(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, double scale) {
  return std::get<0>(lut_forward_cpu(q, k, v, scale));
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> lut_backward_cpu(const at::Tensor& grad_in, const at::Tensor& query_in,
                                                                const at::Tensor& keys_in,
                                                                const at::Tensor& values_in, const at::Tensor& out,
                                                                const at::Tensor& lse_in, double scale) {
  check_inputs(query_in, keys_in, values_in);
  const at::Tensor q = query_in.contiguous(), keys = keys_in.contiguous(), vals = values_in.contiguous();
  const at::Tensor go = grad_in.contiguous(), lse = lse_in.contiguous();
  const int64_t b = q.size(0), n = q.size(1), c = q.size(2), k = keys.size(1), d = vals.size(2);
  const int64_t kp = cpu::round_up(k, kKeyBlock), np = cpu::round_up(std::max<int64_t>(n, 1), kKeyBlock);
  const int64_t cp = cpu::round_up(std::max<int64_t>(c, 1), kPad), dp = cpu::round_up(std::max<int64_t>(d, 1), kPad);
  at::Tensor gq = at::empty_like(q), gk = at::empty_like(keys), gv = at::empty_like(vals);
  if (b == 0) return {gq, gk, gv};
  if (n == 0) return {gq, gk.zero_(), gv.zero_()};
  const at::Tensor delta = (go * out).sum(-1).contiguous();  // [B, N]
  const at::Tensor kt = transposed_padded(keys, kp), vt = transposed_padded(vals, kp);
  const at::Tensor kpad = padded(keys, kp, cp);
  const at::Tensor qt = transposed_padded(q, np), got = transposed_padded(go, np);
  const at::Tensor qpad = padded(q, np, cp), gopad = padded(go, np, dp);
  const at::Tensor lse_pad = at::constant_pad_nd(lse, {0, np - n}, std::numeric_limits<double>::infinity());
  const at::Tensor delta_pad = at::constant_pad_nd(delta, {0, np - n}).contiguous();
  AT_DISPATCH_FLOATING_TYPES(q.scalar_type(), "lut_affinity_softmax_backward_cpu", [&] {
    const scalar_t s = static_cast<scalar_t>(scale);
    LutBackwardQuery<scalar_t> aq{q.data_ptr<scalar_t>(),     go.data_ptr<scalar_t>(),  kt.data_ptr<scalar_t>(),
                                  vt.data_ptr<scalar_t>(),    kpad.data_ptr<scalar_t>(), lse.data_ptr<scalar_t>(),
                                  delta.data_ptr<scalar_t>(), gq.data_ptr<scalar_t>(),  n, c, k, d, kp, cp, s};
    const int64_t q_blocks = (n + kRows - 1) / kRows;
    at::parallel_for(0, b * q_blocks, grain_for(kRows * kp * (c + d + cp)), [&](int64_t begin, int64_t end) {
      lut_backward_query_tasks_dispatch<scalar_t>(aq, begin, end);
    });
    LutBackwardKey<scalar_t> ak{keys.data_ptr<scalar_t>(), vals.data_ptr<scalar_t>(), qt.data_ptr<scalar_t>(),
                                got.data_ptr<scalar_t>(),  qpad.data_ptr<scalar_t>(), gopad.data_ptr<scalar_t>(),
                                lse_pad.data_ptr<scalar_t>(), delta_pad.data_ptr<scalar_t>(),
                                gk.data_ptr<scalar_t>(),   gv.data_ptr<scalar_t>(), n, c, k, d, np, cp, dp, s};
    const int64_t k_blocks = (k + kRows - 1) / kRows;
    at::parallel_for(0, b * k_blocks, grain_for(kRows * np * (c + d + cp + dp)), [&](int64_t begin, int64_t end) {
      lut_backward_key_tasks_dispatch<scalar_t>(ak, begin, end);
    });
  });
  return {gq, gk, gv};
}

}  // namespace

TORCH_LIBRARY_IMPL(trackerzoo, CPU, m) {
  m.impl("lut_affinity_softmax", &lut_cpu);
  m.impl("_lut_affinity_softmax_forward", &lut_forward_cpu);
  m.impl("_lut_affinity_softmax_backward", &lut_backward_cpu);
}

}  // namespace ops
}  // namespace trackerzoo
