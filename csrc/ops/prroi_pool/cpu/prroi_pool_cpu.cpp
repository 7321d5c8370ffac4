// Precise RoI Pooling on the CPU: forward, and the gradients for the features and the boxes.
//
// A pooled value is sum_ij Wy[p, i] Wx[q, j] v[i, j] (prroi_math.h), where each bin weighs only
// the few samples under it. The weights of every RoI and bin are computed once and shared by
// all channels, and the kernels work on a channels-last copy of the features, so that each
// sample is one contiguous, vectorised axpy (forward, feature gradient) or dot product (box
// gradient) over the channels, as in pyramid_roi_align's CPU kernel.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <algorithm>
#include <tuple>
#include <vector>

#include "ops/common/cpu_simd.h"
#include "ops/common/cpu_vec_ops.h"
#include "ops/prroi_pool/prroi_math.h"

namespace trackerzoo {
namespace ops {
namespace {

// The weights of every bin of every RoI along one axis. Bin e = k * pooled + p weighs the
// samples [lo[e], hi[e]) with w[begin[e] ...]; with grads, d_start/d_end hold the weights'
// derivatives with respect to the RoI's start and end (map units).
template <typename T>
struct AxisWeights {
  std::vector<int64_t> begin, lo, hi;
  std::vector<T> w, d_start, d_end;

  void build(const T* rois, int64_t k_count, int start_col, int end_col, T scale, int64_t pooled, int64_t size,
             bool grads) {
    begin.assign(k_count * pooled, 0);
    lo.assign(k_count * pooled, 0);
    hi.assign(k_count * pooled, 0);
    for (int64_t k = 0; k < k_count; ++k) {
      const T start = rois[k * 5 + start_col] * scale, end = rois[k * 5 + end_col] * scale;
      for (int64_t p = 0; p < pooled; ++p) {
        const int64_t e = k * pooled + p;
        const prroi::Bin<T> bin = prroi::axis_bin<T>(start, end, p, pooled, size);
        lo[e] = bin.lo;
        hi[e] = bin.hi;
        begin[e] = static_cast<int64_t>(w.size());
        for (int64_t i = bin.lo; i < bin.hi; ++i) {
          w.push_back(prroi::weight<T>(bin, i));
          if (grads) {
            T ds, de;
            prroi::weight_grads<T>(bin, i, p, pooled, ds, de);
            d_start.push_back(ds);
            d_end.push_back(de);
          }
        }
      }
    }
  }
};

// Everything a task needs, as raw pointers (the multiversioned bodies take it by value). Axis
// arrays are indexed by bin e (begin, lo, hi) and by begin[e] + (sample - lo[e]) (weights).
template <typename T>
struct Task {
  const int64_t *y_begin, *y_lo, *y_hi, *x_begin, *x_lo, *x_hi;
  const T *wy, *wx, *dy_start, *dy_end, *dx_start, *dx_end;
  const int64_t* batch_index;
  int64_t channels, height, width, ph, pw;
};

// Channel blocks: the forward's tasks are (RoI, block of kForwardBlock channels), the feature
// gradient's are blocks of kBackwardBlock channels (each owns its channels of every image).
constexpr int64_t kForwardBlock = 64;
constexpr int64_t kBackwardBlock = 16;

// Forward of tasks [begin, end): feat channels-last [B, H, W, C]; out [K, C, ph, pw].
template <typename T, int kVecBytes>
TZ_INLINE void forward_tasks(Task<T> a, const T* feat, T* out, int64_t begin, int64_t end) {
  const int64_t c = a.channels, blocks = (c + kForwardBlock - 1) / kForwardBlock, bins = a.ph * a.pw;
  T acc[kForwardBlock];
  for (int64_t task = begin; task < end; ++task) {
    const int64_t k = task / blocks, c0 = (task % blocks) * kForwardBlock, nc = std::min(kForwardBlock, c - c0);
    const T* base = feat + a.batch_index[k] * a.height * a.width * c + c0;
    T* o = out + (k * c + c0) * bins;
    for (int64_t p = 0; p < a.ph; ++p) {
      const int64_t ey = k * a.ph + p;
      for (int64_t q = 0; q < a.pw; ++q) {
        const int64_t ex = k * a.pw + q;
        std::fill(acc, acc + nc, T(0));
        for (int64_t i = a.y_lo[ey]; i < a.y_hi[ey]; ++i) {
          const T wi = a.wy[a.y_begin[ey] + i - a.y_lo[ey]];
          const T* row = base + i * a.width * c;
          for (int64_t j = a.x_lo[ex]; j < a.x_hi[ex]; ++j) {
            cpu::axpy<T, kVecBytes>(acc, row + j * c, wi * a.wx[a.x_begin[ex] + j - a.x_lo[ex]], nc);
          }
        }
        for (int64_t ch = 0; ch < nc; ++ch) o[ch * bins + p * a.pw + q] = acc[ch];
      }
    }
  }
}

TZ_MULTIVERSION(forward_tasks)

// Feature gradient of channel blocks [begin, end): grad [K, C, ph, pw] scattered into the
// channels-last gradient [B, H, W, C] with weight Wy[p, i] Wx[q, j].
template <typename T, int kVecBytes>
TZ_INLINE void features_grad_tasks(Task<T> a, int64_t rois, const T* grad, T* grad_feat, int64_t begin,
                                   int64_t end) {
  const int64_t c = a.channels, bins = a.ph * a.pw;
  T gbuf[kBackwardBlock];
  for (int64_t blk = begin; blk < end; ++blk) {
    const int64_t c0 = blk * kBackwardBlock, nc = std::min(kBackwardBlock, c - c0);
    for (int64_t k = 0; k < rois; ++k) {
      T* base = grad_feat + a.batch_index[k] * a.height * a.width * c + c0;
      const T* g = grad + (k * c + c0) * bins;
      for (int64_t p = 0; p < a.ph; ++p) {
        const int64_t ey = k * a.ph + p;
        for (int64_t q = 0; q < a.pw; ++q) {
          const int64_t ex = k * a.pw + q;
          for (int64_t ch = 0; ch < nc; ++ch) gbuf[ch] = g[ch * bins + p * a.pw + q];
          for (int64_t i = a.y_lo[ey]; i < a.y_hi[ey]; ++i) {
            const T wi = a.wy[a.y_begin[ey] + i - a.y_lo[ey]];
            T* row = base + i * a.width * c;
            for (int64_t j = a.x_lo[ex]; j < a.x_hi[ex]; ++j) {
              cpu::axpy<T, kVecBytes>(row + j * c, gbuf, wi * a.wx[a.x_begin[ex] + j - a.x_lo[ex]], nc);
            }
          }
        }
      }
    }
  }
}

TZ_MULTIVERSION(features_grad_tasks)

// Box gradient of RoIs [begin, end): with h_ij = <v[i, j, :], grad[k, :, p, q]>, the derivative
// of the loss with respect to the RoI's x start is sum_pq sum_ij Wy[p, i] dWx_start[q, j] h_ij,
// and likewise for the other three ends; grad_rois [K, 5] gets them times spatial_scale.
template <typename T, int kVecBytes>
TZ_INLINE void rois_grad_tasks(Task<T> a, const T* feat, const T* grad, T scale, T* grad_rois, int64_t begin,
                               int64_t end) {
  const int64_t c = a.channels, bins = a.ph * a.pw;
  std::vector<T> gbuf(static_cast<size_t>(c));
  for (int64_t k = begin; k < end; ++k) {
    const T* base = feat + a.batch_index[k] * a.height * a.width * c;
    T gx1 = 0, gy1 = 0, gx2 = 0, gy2 = 0;
    for (int64_t p = 0; p < a.ph; ++p) {
      const int64_t ey = k * a.ph + p;
      for (int64_t q = 0; q < a.pw; ++q) {
        const int64_t ex = k * a.pw + q;
        if (a.y_hi[ey] <= a.y_lo[ey] || a.x_hi[ex] <= a.x_lo[ex]) continue;
        for (int64_t ch = 0; ch < c; ++ch) gbuf[ch] = grad[(k * c + ch) * bins + p * a.pw + q];
        for (int64_t i = a.y_lo[ey]; i < a.y_hi[ey]; ++i) {
          const int64_t yo = a.y_begin[ey] + i - a.y_lo[ey];
          const T* row = base + i * a.width * c;
          T sx_w = 0, sx_s = 0, sx_e = 0;  // sums over j of h_ij times Wx, dWx_start, dWx_end
          for (int64_t j = a.x_lo[ex]; j < a.x_hi[ex]; ++j) {
            const int64_t xo = a.x_begin[ex] + j - a.x_lo[ex];
            const T h = cpu::dot<T, kVecBytes>(row + j * c, gbuf.data(), c);
            sx_w += a.wx[xo] * h;
            sx_s += a.dx_start[xo] * h;
            sx_e += a.dx_end[xo] * h;
          }
          gx1 += a.wy[yo] * sx_s;
          gx2 += a.wy[yo] * sx_e;
          gy1 += a.dy_start[yo] * sx_w;
          gy2 += a.dy_end[yo] * sx_w;
        }
      }
    }
    T* out = grad_rois + k * 5;
    out[0] = 0;
    out[1] = gx1 * scale;
    out[2] = gy1 * scale;
    out[3] = gx2 * scale;
    out[4] = gy2 * scale;
  }
}

TZ_MULTIVERSION(rois_grad_tasks)

struct Shape {
  int64_t batch, channels, height, width, rois, ph, pw;
};

Shape check_inputs(const at::Tensor& features, const at::Tensor& rois, int64_t ph, int64_t pw, const char* what) {
  TORCH_CHECK(features.dim() == 4, what, ": features must be [B, C, H, W]");
  TORCH_CHECK(rois.dim() == 2 && rois.size(1) == 5, what, ": rois must be [K, 5]");
  TORCH_CHECK(features.scalar_type() == rois.scalar_type(), what, ": features and rois dtypes differ");
  TORCH_CHECK(ph >= 1 && pw >= 1, what, ": the output size must be positive, got ", ph, " x ", pw);
  return Shape{features.size(0), features.size(1), features.size(2), features.size(3), rois.size(0), ph, pw};
}

template <typename T>
std::vector<int64_t> batch_indices(const T* rois, const Shape& s) {
  std::vector<int64_t> index(s.rois);
  for (int64_t k = 0; k < s.rois; ++k) {
    const T v = rois[k * 5];
    const int64_t b = static_cast<int64_t>(v);
    TORCH_CHECK(v == static_cast<T>(b) && b >= 0 && b < s.batch, "prroi_pool: RoI ", k, " has batch index ", v,
                " outside [0, ", s.batch, ")");
    index[k] = b;
  }
  return index;
}

// The weights of both axes and the task description over them (which must outlive the task).
template <typename T>
struct Plan {
  std::vector<int64_t> index;
  AxisWeights<T> ay, ax;

  Plan(const T* rois, const Shape& s, double spatial_scale, bool grads) : index(batch_indices<T>(rois, s)) {
    ay.build(rois, s.rois, 2, 4, static_cast<T>(spatial_scale), s.ph, s.height, grads);
    ax.build(rois, s.rois, 1, 3, static_cast<T>(spatial_scale), s.pw, s.width, grads);
  }

  Task<T> task(const Shape& s) const {
    return Task<T>{ay.begin.data(),   ay.lo.data(),    ay.hi.data(),      ax.begin.data(), ax.lo.data(),
                   ax.hi.data(),      ay.w.data(),     ax.w.data(),       ay.d_start.data(), ay.d_end.data(),
                   ax.d_start.data(), ax.d_end.data(), index.data(),      s.channels,      s.height,
                   s.width,           s.ph,            s.pw};
  }
};

at::Tensor prroi_pool_cpu(const at::Tensor& features_in, const at::Tensor& rois_in, int64_t ph, int64_t pw,
                          double spatial_scale) {
  const Shape s = check_inputs(features_in, rois_in, ph, pw, "prroi_pool");
  const at::Tensor rois = rois_in.contiguous();
  at::Tensor out = at::empty({s.rois, s.channels, ph, pw}, features_in.options());
  if (out.numel() == 0) return out;
  const at::Tensor nhwc = features_in.permute({0, 2, 3, 1}).contiguous();
  AT_DISPATCH_FLOATING_TYPES(features_in.scalar_type(), "prroi_pool_cpu", [&] {
    const Plan<scalar_t> plan(rois.data_ptr<scalar_t>(), s, spatial_scale, false);
    const Task<scalar_t> task = plan.task(s);
    const scalar_t* feat = nhwc.data_ptr<scalar_t>();
    scalar_t* dst = out.data_ptr<scalar_t>();
    const int64_t blocks = (s.channels + kForwardBlock - 1) / kForwardBlock;
    at::parallel_for(0, s.rois * blocks, 1, [&](int64_t begin, int64_t end) {
      forward_tasks_dispatch<scalar_t>(task, feat, dst, begin, end);
    });
  });
  return out;
}

std::tuple<at::Tensor, at::Tensor> prroi_pool_backward_cpu(const at::Tensor& grad_in, const at::Tensor& features_in,
                                                           const at::Tensor& rois_in, int64_t ph, int64_t pw,
                                                           double spatial_scale, bool features_grad,
                                                           bool rois_grad) {
  const Shape s = check_inputs(features_in, rois_in, ph, pw, "prroi_pool backward");
  TORCH_CHECK(grad_in.dim() == 4 && grad_in.size(0) == s.rois && grad_in.size(1) == s.channels &&
                  grad_in.size(2) == ph && grad_in.size(3) == pw,
              "prroi_pool backward: grad must be [K, C, ph, pw]");
  TORCH_CHECK(grad_in.scalar_type() == features_in.scalar_type(), "prroi_pool backward: dtypes differ");
  const at::Tensor grad = grad_in.contiguous(), rois = rois_in.contiguous();
  at::Tensor grad_features, grad_rois = at::zeros({s.rois, 5}, rois.options());
  if (grad.numel() == 0 || !features_grad) grad_features = at::zeros(features_in.sizes(), features_in.options());
  if (grad.numel() == 0 || (!features_grad && !rois_grad)) return {grad_features, grad_rois};
  AT_DISPATCH_FLOATING_TYPES(features_in.scalar_type(), "prroi_pool_backward_cpu", [&] {
    using T = scalar_t;
    const Plan<T> plan(rois.data_ptr<T>(), s, spatial_scale, rois_grad);
    const Task<T> task = plan.task(s);
    const T* g = grad.data_ptr<T>();
    if (features_grad) {
      at::Tensor grad_nhwc = at::zeros({s.batch, s.height, s.width, s.channels}, features_in.options());
      T* gdst = grad_nhwc.data_ptr<T>();
      at::parallel_for(0, (s.channels + kBackwardBlock - 1) / kBackwardBlock, 1, [&](int64_t begin, int64_t end) {
        features_grad_tasks_dispatch<T>(task, s.rois, g, gdst, begin, end);
      });
      grad_features = grad_nhwc.permute({0, 3, 1, 2}).contiguous();
    }
    if (rois_grad) {
      const at::Tensor nhwc = features_in.permute({0, 2, 3, 1}).contiguous();
      const T* feat = nhwc.data_ptr<T>();
      T* gr = grad_rois.data_ptr<T>();
      const T scale = static_cast<T>(spatial_scale);
      at::parallel_for(0, s.rois, 1, [&](int64_t begin, int64_t end) {
        rois_grad_tasks_dispatch<T>(task, feat, g, scale, gr, begin, end);
      });
    }
  });
  return {grad_features, grad_rois};
}

}  // namespace

TORCH_LIBRARY_IMPL(trackerzoo, CPU, m) {
  m.impl("prroi_pool", &prroi_pool_cpu);
  m.impl("_prroi_pool_backward", &prroi_pool_backward_cpu);
}

}  // namespace ops
}  // namespace trackerzoo
