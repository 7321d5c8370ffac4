// DCF normal-equation operator and conjugate gradient on the CPU.
//
// The operator A f = sum_n w_n X_n^T X_n f + reg f is applied with direct loops over a
// "flat" layout: each zero-padded sample plane is stored row after row with row stride Wp,
// so the correlation output at (i, j) sits at flat position t = i * Wp + j and every filter
// tap (u, v) is one contiguous shifted axpy (forward) or dot product (adjoint) over t. The
// Wp - Wo wrap-around columns are computed and then masked out. When the output is tiny (a
// fully-connected head, kh x kw = H x W) that layout wastes most lanes, and with many filters
// a GEMM reuses loads better, so the operator uses ATen's convolutions there instead. For CG
// with many filters, whose samples are shared, the operator is the same [M, M] Gram matrix for
// every filter: when building it once (dcf_gram_cpu.cpp) costs less than the correlations of
// all CG steps, the steps multiply by it. Either way the CG loop, its reductions and its
// vector updates run in C++ with no per-iteration Python or dispatcher overhead.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "ops/common/cpu_math.h"
#include "dcf_gram.h"

namespace trackerzoo {
namespace ops {
namespace {

constexpr int kChunks = 4;        // accumulator vectors per block
constexpr int64_t kFlatPad = 64;  // flat lengths are multiples of this (>= kChunks * widest vector)

template <typename T>
struct FlatProblem {
  const T* xpad;  // [N * C][plane]
  const T* mask;  // [len]: 1 on real output positions, 0 on wrap-around / padding
  const T* weights;
  int64_t n, c, f, kh, kw, wp, len, plane;
};

// resp[f][t] = w_n * mask[t] * sum_{c,u,v} filt[f][c][u][v] * xpad[n][c][t + u * wp + v]
template <typename T, int kVecBytes>
TZ_INLINE void forward_sample(const FlatProblem<T>& a, const T* filt, int64_t n, T* resp) {
  using S = cpu::Simd<T, kVecBytes>;
  using V = typename S::V;
  constexpr int L = S::kLanes;
  const int64_t taps = a.kh * a.kw;
  const V w = S::splat(a.weights[n]);
  for (int64_t f = 0; f < a.f; ++f) {
    T* out = resp + f * a.len;
    for (int64_t t0 = 0; t0 < a.len; t0 += kChunks * L) {
      V acc[kChunks];
#pragma GCC unroll 4
      for (int q = 0; q < kChunks; ++q) acc[q] = S::zero();
      for (int64_t c = 0; c < a.c; ++c) {
        const T* xp = a.xpad + (n * a.c + c) * a.plane + t0;
        const T* fk = filt + (f * a.c + c) * taps;
        for (int64_t u = 0; u < a.kh; ++u) {
          for (int64_t v = 0; v < a.kw; ++v) {
            const V fv = S::splat(fk[u * a.kw + v]);
            const T* s = xp + u * a.wp + v;
#pragma GCC unroll 4
            for (int q = 0; q < kChunks; ++q) acc[q] += fv * S::load(s + q * L);
          }
        }
      }
#pragma GCC unroll 4
      for (int q = 0; q < kChunks; ++q) {
        S::store(out + t0 + q * L, acc[q] * w * S::load(a.mask + t0 + q * L));
      }
    }
  }
}

// grad[f][c][u][v] += sum_t resp[f][t] * xpad[n][c][t + u * wp + v]
template <typename T, int kVecBytes>
TZ_INLINE void adjoint_sample(const FlatProblem<T>& a, const T* resp, int64_t n, T* grad) {
  using S = cpu::Simd<T, kVecBytes>;
  using V = typename S::V;
  constexpr int L = S::kLanes;
  constexpr int kTaps = 4;  // neighbouring v taps share each residual load
  const int64_t taps = a.kh * a.kw;
  for (int64_t f = 0; f < a.f; ++f) {
    const T* r = resp + f * a.len;
    for (int64_t c = 0; c < a.c; ++c) {
      T* g = grad + (f * a.c + c) * taps;
      const T* xp = a.xpad + (n * a.c + c) * a.plane;
      for (int64_t u = 0; u < a.kh; ++u) {
        for (int64_t v0 = 0; v0 < a.kw; v0 += kTaps) {
          V acc[kTaps];
#pragma GCC unroll 4
          for (int q = 0; q < kTaps; ++q) acc[q] = S::zero();
          const T* s = xp + u * a.wp + v0;
          for (int64_t t0 = 0; t0 < a.len; t0 += L) {
            const V rv = S::load(r + t0);
#pragma GCC unroll 4
            for (int q = 0; q < kTaps; ++q) acc[q] += rv * S::load(s + t0 + q);
          }
          for (int q = 0; q < kTaps && v0 + q < a.kw; ++q) g[u * a.kw + v0 + q] += S::sum(acc[q]);
        }
      }
    }
  }
}

// For samples [begin, end): grad += X_n^T r_n with r_n = W X_n filt (filt given) or the given
// responses (filt null). Forward and adjoint of one sample run back to back, so the sample's
// planes are still in cache for the second pass.
template <typename T, int kVecBytes>
TZ_INLINE void normal_samples(FlatProblem<T> a, const T* filt, const T* given, T* grad, int64_t begin, int64_t end) {
  std::vector<T> local(static_cast<size_t>(given == nullptr ? a.f * a.len : 0));
  for (int64_t n = begin; n < end; ++n) {
    const T* resp = given + (given ? n * a.f * a.len : 0);
    if (given == nullptr) {
      forward_sample<T, kVecBytes>(a, filt, n, local.data());
      resp = local.data();
    }
    adjoint_sample<T, kVecBytes>(a, resp, n, grad);
  }
}

TZ_MULTIVERSION(normal_samples)

enum class Plan { kFlat, kAten, kGram };

// How a problem of this shape is solved when the operator is applied `applies` times: the
// flat layout computes Ho * Wp positions for Ho * Wo useful ones and pays off for a few
// filters on a real map; for a tiny output (a fully-connected head) or many filters, ATen's
// convolutions (GEMMs, essentially) win, unless the Gram matrix is cheaper to build than
// those correlations over all the products (and small enough to keep).
Plan choose_plan(const DcfShape& s, int64_t applies) {
  const int64_t wp = s.w + 2 * s.pw;
  if (s.out_h() * s.out_w() >= 16 && 2 * s.out_w() >= wp && s.f <= 2) return Plan::kFlat;
  if (s.f >= 3 && s.taps() <= 4096 && dcf_gram_cost(s, applies) < 0.8 * dcf_direct_cost(s, applies)) {
    return Plan::kGram;
  }
  return Plan::kAten;
}

const char* plan_name(Plan p) {
  switch (p) {
    case Plan::kFlat: return "flat";
    case Plan::kGram: return "gram";
    default: return "aten";
  }
}

DcfShape shape_of(const at::Tensor& x, int64_t f, int64_t kh, int64_t kw, int64_t ph, int64_t pw) {
  return DcfShape{x.size(0), x.size(1), x.size(2), x.size(3), f, kh, kw, ph, pw};
}

// The normal-equation operator of one problem, with its buffers, in any of the plans.
template <typename T>
class NormalOperator {
 public:
  NormalOperator(const at::Tensor& x, const at::Tensor& weights, int64_t f, int64_t kh, int64_t kw, int64_t ph,
                 int64_t pw, double reg, int64_t applies)
      : x_(x), weights_(weights), n_(x.size(0)), c_(x.size(1)), f_(f), kh_(kh), kw_(kw), ph_(ph), pw_(pw),
        reg_(static_cast<T>(reg)) {
    const int64_t h = x.size(2), w = x.size(3);
    wp_ = w + 2 * pw;
    ho_ = h + 2 * ph - kh + 1;
    wo_ = wp_ - kw + 1;
    plan_ = choose_plan(shape_of(x, f, kh, kw, ph, pw), applies);
    if (plan_ == Plan::kFlat) build_flat(h, w);
    if (plan_ == Plan::kGram) gram_ = std::make_unique<DcfGram>(x_, weights_, kh, kw, ph, pw);
  }

  int64_t size() const { return f_ * c_ * kh_ * kw_; }

  // out = A filt.
  void apply(const T* filt, T* out) {
    if (plan_ == Plan::kFlat) {
      run_flat(filt, nullptr, out);
    } else if (plan_ == Plan::kGram) {
      const int64_t taps = c_ * kh_ * kw_;
      const at::Tensor f = at::from_blob(const_cast<T*>(filt), {f_, taps}, x_.options());
      at::Tensor o = at::from_blob(out, {f_, taps}, x_.options());
      at::mm_out(o, f, gram_->matrix());  // G is symmetric: (G f^T)^T = f G
    } else {
      const at::Tensor f = at::from_blob(const_cast<T*>(filt), {f_, c_, kh_, kw_}, x_.options());
      const at::Tensor resp = at::conv2d(x_, f, {}, 1, {ph_, pw_}) * weights_.view({-1, 1, 1, 1});
      adjoint_aten(resp, out);
    }
    const int64_t m = size();
    for (int64_t i = 0; i < m; ++i) out[i] += reg_ * filt[i];
  }

  // out = sum_n w_n X_n^T y_n (the right-hand side of the normal equations).
  void rhs(const at::Tensor& y, T* out) {
    if (plan_ == Plan::kFlat) {
      // Lay y out like a response: row stride Wp, zero on wrap-around columns, weighted.
      const at::Tensor yw = y.contiguous() * weights_.view({-1, 1, 1, 1});
      const at::Tensor padded = at::constant_pad_nd(yw, {0, wp_ - wo_}).reshape({n_, f_, ho_ * wp_});
      const at::Tensor flat = at::constant_pad_nd(padded, {0, len_ - ho_ * wp_}).contiguous();
      run_flat(nullptr, flat.data_ptr<T>(), out);
    } else if (plan_ == Plan::kGram) {
      const at::Tensor g = gram_->rhs(y.contiguous());
      std::memcpy(out, g.data_ptr<T>(), sizeof(T) * size());
    } else {
      adjoint_aten(y * weights_.view({-1, 1, 1, 1}), out);
    }
  }

 private:
  void build_flat(int64_t h, int64_t w) {
    len_ = cpu::round_up(ho_ * wp_, kFlatPad);
    // Planes are packed at their padded size: reads past a plane's end only feed masked-out
    // (wrap-around or rounding) positions, where the residual is zero. The buffer's tail
    // slack covers the last plane.
    plane_ = (h + 2 * ph_) * wp_;
    const int64_t slack = len_ - ho_ * wp_ + (kh_ - 1) * wp_ + kw_ + kFlatPad;
    xpad_.assign(static_cast<size_t>(n_ * c_ * plane_ + slack), T(0));
    const T* src = x_.data_ptr<T>();
    T* dst = xpad_.data();
    const int64_t ph = ph_, pw = pw_, wp = wp_, plane = plane_;
    at::parallel_for(0, n_ * c_, 16, [&](int64_t begin, int64_t end) {
      for (int64_t p = begin; p < end; ++p) {
        for (int64_t yy = 0; yy < h; ++yy) {
          std::memcpy(dst + p * plane + (yy + ph) * wp + pw, src + (p * h + yy) * w, sizeof(T) * w);
        }
      }
    });
    mask_.assign(static_cast<size_t>(len_), T(0));
    for (int64_t t = 0; t < ho_ * wp_; ++t) mask_[t] = (t % wp_) < wo_ ? T(1) : T(0);
    problem_ = FlatProblem<T>{xpad_.data(), mask_.data(), weights_.data_ptr<T>(), n_, c_, f_, kh_, kw_, wp_,
                              len_, plane_};
  }

  // out = sum over samples of X_n^T r_n, with per-thread partial sums (no write races).
  void run_flat(const T* filt, const T* given, T* out) {
    const int64_t m = size();
    const int64_t threads = at::get_num_threads();
    partial_.assign(static_cast<size_t>(threads * m), T(0));
    const int64_t grain = std::max<int64_t>(1, n_ / std::max<int64_t>(1, threads));
    at::parallel_for(0, n_, grain, [&](int64_t begin, int64_t end) {
      T* mine = partial_.data() + at::get_thread_num() * m;
      normal_samples_dispatch<T>(problem_, filt, given, mine, begin, end);
    });
    std::fill(out, out + m, T(0));
    for (int64_t t = 0; t < threads; ++t) {
      const T* p = partial_.data() + t * m;
      for (int64_t i = 0; i < m; ++i) out[i] += p[i];
    }
  }

  void adjoint_aten(const at::Tensor& resp, T* out) {
    const at::Tensor g = at::conv2d(x_.transpose(0, 1), resp.transpose(0, 1), {}, 1, {ph_, pw_});
    const at::Tensor gc = g.transpose(0, 1).contiguous();
    std::memcpy(out, gc.data_ptr<T>(), sizeof(T) * size());
  }

  at::Tensor x_, weights_;
  std::unique_ptr<DcfGram> gram_;
  int64_t n_, c_, f_, kh_, kw_, ph_, pw_;
  T reg_;
  int64_t wp_ = 0, ho_ = 0, wo_ = 0, len_ = 0, plane_ = 0;
  Plan plan_ = Plan::kAten;
  std::vector<T> xpad_, mask_, partial_;
  FlatProblem<T> problem_{};
};

template <typename T>
T dot(const T* a, const T* b, int64_t n) {
  T s = 0;
  for (int64_t i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

// num / den, or 0 when |den| is below the smallest normal number (a converged system).
template <typename T>
T safe_div(T num, T den) {
  return std::abs(den) > std::numeric_limits<T>::min() ? num / den : T(0);
}

void check_problem(const at::Tensor& x, const at::Tensor& w, const at::Tensor& filt, at::IntArrayRef padding) {
  TORCH_CHECK(x.dim() == 4 && filt.dim() == 4, "dcf: x and filt must be 4-D");
  TORCH_CHECK(filt.size(1) == x.size(1), "dcf: filt and x channels differ");
  TORCH_CHECK(w.dim() == 1 && w.size(0) == x.size(0), "dcf: sample_weights must be [N]");
  TORCH_CHECK(padding.size() == 2 && padding[0] >= 0 && padding[1] >= 0, "dcf: padding must be two ints >= 0");
  TORCH_CHECK(x.scalar_type() == filt.scalar_type() && x.scalar_type() == w.scalar_type(), "dcf: dtypes differ");
  TORCH_CHECK(x.size(2) + 2 * padding[0] - filt.size(2) + 1 >= 1 && x.size(3) + 2 * padding[1] - filt.size(3) + 1 >= 1,
              "dcf: filter does not fit");
}

at::Tensor dcf_normal_apply_cpu(const at::Tensor& x_in, const at::Tensor& w_in, const at::Tensor& filt_in, double reg,
                                at::IntArrayRef padding) {
  check_problem(x_in, w_in, filt_in, padding);
  const at::Tensor x = x_in.contiguous(), w = w_in.contiguous(), filt = filt_in.contiguous();
  at::Tensor out = at::empty_like(filt);
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "dcf_normal_apply_cpu", [&] {
    NormalOperator<scalar_t> op(x, w, filt.size(0), filt.size(2), filt.size(3), padding[0], padding[1], reg, 1);
    op.apply(filt.data_ptr<scalar_t>(), out.data_ptr<scalar_t>());
  });
  return out;
}

at::Tensor dcf_cg_cpu(const at::Tensor& x_in, const at::Tensor& y_in, const at::Tensor& w_in, const at::Tensor& filt_in,
                      double reg, at::IntArrayRef padding, int64_t num_iters) {
  check_problem(x_in, w_in, filt_in, padding);
  TORCH_CHECK(num_iters >= 0, "dcf_cg: num_iters must be >= 0");
  const at::Tensor x = x_in.contiguous(), w = w_in.contiguous(), y = y_in.contiguous();
  at::Tensor f = filt_in.contiguous().clone();
  if (num_iters == 0) return f;
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "dcf_cg_cpu", [&] {
    using T = scalar_t;
    NormalOperator<T> op(x, w, f.size(0), f.size(2), f.size(3), padding[0], padding[1], reg, num_iters + 1);
    const int64_t m = op.size();
    std::vector<T> r(m), p(m), q(m);
    T* fp = f.data_ptr<T>();
    op.rhs(y, r.data());
    op.apply(fp, q.data());
    for (int64_t i = 0; i < m; ++i) {
      r[i] -= q[i];
      p[i] = r[i];
    }
    T rho = dot(r.data(), r.data(), m);
    for (int64_t it = 0; it < num_iters; ++it) {
      op.apply(p.data(), q.data());
      const T alpha = safe_div(rho, dot(p.data(), q.data(), m));
      T rho_new = 0;
      for (int64_t i = 0; i < m; ++i) {
        fp[i] += alpha * p[i];
        r[i] -= alpha * q[i];
        rho_new += r[i] * r[i];
      }
      const T beta = safe_div(rho_new, rho);
      for (int64_t i = 0; i < m; ++i) p[i] = r[i] + beta * p[i];
      rho = rho_new;
    }
  });
  return f;
}

at::Tensor dcf_gram_op_cpu(const at::Tensor& x, const at::Tensor& w, at::IntArrayRef kernel, at::IntArrayRef padding) {
  TORCH_CHECK(x.dim() == 4, "dcf: x must be 4-D");
  TORCH_CHECK(kernel.size() == 2 && kernel[0] >= 1 && kernel[1] >= 1, "dcf: kernel must be two ints >= 1");
  const at::Tensor filt = at::empty({1, x.size(1), kernel[0], kernel[1]}, x.options());
  check_problem(x, w, filt, padding);
  return DcfGram(x, w, kernel[0], kernel[1], padding[0], padding[1]).matrix();
}

}  // namespace

std::string dcf_cg_plan(const DcfShape& s, int64_t applies) { return plan_name(choose_plan(s, applies)); }

TORCH_LIBRARY_IMPL(trackerzoo, CPU, m) {
  m.impl("dcf_normal_apply", &dcf_normal_apply_cpu);
  m.impl("dcf_cg", &dcf_cg_cpu);
  m.impl("_dcf_gram", &dcf_gram_op_cpu);
}

}  // namespace ops
}  // namespace trackerzoo
