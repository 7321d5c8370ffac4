// Precise RoI Pooling on the CPU: forward, and the gradients for the features and the boxes.
//
// The pooled value is separable (prroi_math.h): out[p, q] = sum_ij Wy[p, i] v[i, j] Wx[q, j],
// where each bin weighs only the few samples under it. The weights of every RoI and bin are
// computed once and shared by all channels; a task then works on one (RoI, channel) plane
// in two passes over contiguous rows: rows[p, :] = sum_i Wy[p, i] v[i, :], then the x weights.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <algorithm>
#include <tuple>
#include <vector>

#include "ops/prroi_pool/prroi_math.h"

namespace trackerzoo {
namespace ops {
namespace {

// The weights of every bin of every RoI along one axis. Bin e = k * pooled + p weighs the
// samples [lo[e], hi[e]) with w[begin[e] ...]; span_lo/span_hi bound the RoI's samples.
// With grads, d_start/d_end hold the weights' derivatives with respect to the RoI's ends.
template <typename T>
struct AxisWeights {
  int64_t pooled = 0;
  std::vector<int64_t> begin, lo, hi, span_lo, span_hi;
  std::vector<T> w, d_start, d_end;

  void build(const T* rois, int64_t k_count, int start_col, int end_col, T scale, int64_t pooled_, int64_t size,
             bool grads) {
    pooled = pooled_;
    begin.assign(k_count * pooled + 1, 0);
    lo.assign(k_count * pooled, 0);
    hi.assign(k_count * pooled, 0);
    span_lo.assign(k_count, 0);
    span_hi.assign(k_count, 0);
    w.clear();
    d_start.clear();
    d_end.clear();
    for (int64_t k = 0; k < k_count; ++k) {
      const T start = rois[k * 5 + start_col] * scale, end = rois[k * 5 + end_col] * scale;
      int64_t first = size, last = 0;
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
        if (bin.hi > bin.lo) {
          first = std::min(first, bin.lo);
          last = std::max(last, bin.hi);
        }
      }
      span_lo[k] = first < last ? first : 0;
      span_hi[k] = first < last ? last : 0;
    }
    begin[k_count * pooled] = static_cast<int64_t>(w.size());
  }
};

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

// rows[p, 0:nx] = sum_i Wy[p, i] plane[i, x0:x0 + nx] for the bins p of RoI k.
template <typename T>
void weigh_rows(const AxisWeights<T>& ay, int64_t k, const T* plane, int64_t width, int64_t x0, int64_t nx, T* rows) {
  for (int64_t p = 0; p < ay.pooled; ++p) {
    const int64_t e = k * ay.pooled + p;
    T* row = rows + p * nx;
    std::fill(row, row + nx, T(0));
    const T* wy = ay.w.data() + ay.begin[e];
    for (int64_t i = ay.lo[e]; i < ay.hi[e]; ++i) {
      const T wi = wy[i - ay.lo[e]];
      const T* src = plane + i * width + x0;
      for (int64_t j = 0; j < nx; ++j) row[j] += wi * src[j];
    }
  }
}

at::Tensor prroi_pool_cpu(const at::Tensor& features_in, const at::Tensor& rois_in, int64_t ph, int64_t pw,
                          double spatial_scale) {
  const Shape s = check_inputs(features_in, rois_in, ph, pw, "prroi_pool");
  const at::Tensor features = features_in.contiguous(), rois = rois_in.contiguous();
  at::Tensor out = at::zeros({s.rois, s.channels, ph, pw}, features.options());
  if (out.numel() == 0) return out;
  AT_DISPATCH_FLOATING_TYPES(features.scalar_type(), "prroi_pool_cpu", [&] {
    using T = scalar_t;
    const T* r = rois.data_ptr<T>();
    const std::vector<int64_t> index = batch_indices<T>(r, s);
    AxisWeights<T> ay, ax;
    ay.build(r, s.rois, 2, 4, static_cast<T>(spatial_scale), ph, s.height, false);
    ax.build(r, s.rois, 1, 3, static_cast<T>(spatial_scale), pw, s.width, false);
    const T* feat = features.data_ptr<T>();
    T* dst = out.data_ptr<T>();
    const int64_t plane_work = std::max<int64_t>(1, ph * s.width * 4);
    at::parallel_for(0, s.rois * s.channels, std::max<int64_t>(1, (1 << 14) / plane_work), [&](int64_t b0,
                                                                                                int64_t b1) {
      std::vector<T> rows;
      for (int64_t task = b0; task < b1; ++task) {
        const int64_t k = task / s.channels, c = task % s.channels;
        const int64_t x0 = ax.span_lo[k], nx = ax.span_hi[k] - x0;
        if (nx <= 0 || ay.span_hi[k] <= ay.span_lo[k]) continue;
        rows.resize(static_cast<size_t>(ph * nx));
        const T* plane = feat + (index[k] * s.channels + c) * s.height * s.width;
        weigh_rows<T>(ay, k, plane, s.width, x0, nx, rows.data());
        T* o = dst + task * ph * pw;
        for (int64_t p = 0; p < ph; ++p) {
          const T* row = rows.data() + p * nx - x0;
          for (int64_t q = 0; q < pw; ++q) {
            const int64_t e = k * pw + q;
            const T* wx = ax.w.data() + ax.begin[e] - ax.lo[e];
            T acc = 0;
            for (int64_t j = ax.lo[e]; j < ax.hi[e]; ++j) acc += row[j] * wx[j];
            o[p * pw + q] = acc;
          }
        }
      }
    });
  });
  return out;
}

// d features: each task owns the planes (b, c) and visits the RoIs of image b.
template <typename T>
void features_grad(const AxisWeights<T>& ay, const AxisWeights<T>& ax, const std::vector<int64_t>& index,
                   const Shape& s, const T* grad, T* grad_feat) {
  std::vector<std::vector<int64_t>> by_image(s.batch);
  for (int64_t k = 0; k < s.rois; ++k) by_image[index[k]].push_back(k);
  const int64_t ph = s.ph, pw = s.pw;
  at::parallel_for(0, s.batch * s.channels, 1, [&](int64_t b0, int64_t b1) {
    std::vector<T> tmp;
    for (int64_t plane_id = b0; plane_id < b1; ++plane_id) {
      const int64_t b = plane_id / s.channels, c = plane_id % s.channels;
      T* gplane = grad_feat + plane_id * s.height * s.width;
      for (int64_t k : by_image[b]) {
        const int64_t x0 = ax.span_lo[k], nx = ax.span_hi[k] - x0;
        if (nx <= 0 || ay.span_hi[k] <= ay.span_lo[k]) continue;
        const T* g = grad + (k * s.channels + c) * ph * pw;
        tmp.assign(static_cast<size_t>(ph * nx), T(0));
        for (int64_t p = 0; p < ph; ++p) {  // tmp[p, j] = sum_q g[p, q] Wx[q, j]
          T* row = tmp.data() + p * nx - x0;
          for (int64_t q = 0; q < pw; ++q) {
            const int64_t e = k * pw + q;
            const T gq = g[p * pw + q];
            const T* wx = ax.w.data() + ax.begin[e] - ax.lo[e];
            for (int64_t j = ax.lo[e]; j < ax.hi[e]; ++j) row[j] += gq * wx[j];
          }
        }
        for (int64_t p = 0; p < ph; ++p) {  // grad[i, :] += Wy[p, i] tmp[p, :]
          const int64_t e = k * ph + p;
          const T* row = tmp.data() + p * nx;
          const T* wy = ay.w.data() + ay.begin[e] - ay.lo[e];
          for (int64_t i = ay.lo[e]; i < ay.hi[e]; ++i) {
            T* d = gplane + i * s.width + x0;
            const T wi = wy[i];
            for (int64_t j = 0; j < nx; ++j) d[j] += wi * row[j];
          }
        }
      }
    }
  });
}

// d rois: each task owns RoIs and sums over their channels. With rows = Wy v and
// cols[i, q] = sum_j v[i, j] Wx[q, j], d out[p, q] / d x_end = sum_j rows[p, j] dWx_end[q, j]
// and d out[p, q] / d y_end = sum_i dWy_end[p, i] cols[i, q] (likewise for the starts).
template <typename T>
void rois_grad(const AxisWeights<T>& ay, const AxisWeights<T>& ax, const std::vector<int64_t>& index,
               const Shape& s, const T* feat, const T* grad, T scale, T* grad_rois) {
  const int64_t ph = s.ph, pw = s.pw;
  at::parallel_for(0, s.rois, 1, [&](int64_t k0, int64_t k1) {
    std::vector<T> rows, cols;
    for (int64_t k = k0; k < k1; ++k) {
      const int64_t x0 = ax.span_lo[k], nx = ax.span_hi[k] - x0;
      const int64_t y0 = ay.span_lo[k], ny = ay.span_hi[k] - y0;
      T gx1 = 0, gy1 = 0, gx2 = 0, gy2 = 0;
      if (nx > 0 && ny > 0) {
        rows.resize(static_cast<size_t>(ph * nx));
        cols.resize(static_cast<size_t>(ny * pw));
        for (int64_t c = 0; c < s.channels; ++c) {
          const T* plane = feat + (index[k] * s.channels + c) * s.height * s.width;
          const T* g = grad + (k * s.channels + c) * ph * pw;
          weigh_rows<T>(ay, k, plane, s.width, x0, nx, rows.data());
          for (int64_t i = 0; i < ny; ++i) {
            const T* src = plane + (y0 + i) * s.width;
            for (int64_t q = 0; q < pw; ++q) {
              const int64_t e = k * pw + q;
              const T* wx = ax.w.data() + ax.begin[e] - ax.lo[e];
              T acc = 0;
              for (int64_t j = ax.lo[e]; j < ax.hi[e]; ++j) acc += src[j] * wx[j];
              cols[i * pw + q] = acc;
            }
          }
          for (int64_t q = 0; q < pw; ++q) {
            const int64_t e = k * pw + q;
            const T* ds = ax.d_start.data() + ax.begin[e] - ax.lo[e];
            const T* de = ax.d_end.data() + ax.begin[e] - ax.lo[e];
            for (int64_t p = 0; p < ph; ++p) {
              const T* row = rows.data() + p * nx - x0;
              T as = 0, ae = 0;
              for (int64_t j = ax.lo[e]; j < ax.hi[e]; ++j) {
                as += row[j] * ds[j];
                ae += row[j] * de[j];
              }
              const T gq = g[p * pw + q];
              gx1 += gq * as;
              gx2 += gq * ae;
            }
          }
          for (int64_t p = 0; p < ph; ++p) {
            const int64_t e = k * ph + p;
            const T* ds = ay.d_start.data() + ay.begin[e] - ay.lo[e];
            const T* de = ay.d_end.data() + ay.begin[e] - ay.lo[e];
            for (int64_t q = 0; q < pw; ++q) {
              T as = 0, ae = 0;
              for (int64_t i = ay.lo[e]; i < ay.hi[e]; ++i) {
                const T v = cols[(i - y0) * pw + q];
                as += ds[i] * v;
                ae += de[i] * v;
              }
              const T gq = g[p * pw + q];
              gy1 += gq * as;
              gy2 += gq * ae;
            }
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
  });
}

std::tuple<at::Tensor, at::Tensor> prroi_pool_backward_cpu(const at::Tensor& grad_in, const at::Tensor& features_in,
                                                           const at::Tensor& rois_in, int64_t ph, int64_t pw,
                                                           double spatial_scale, bool features_grad_wanted,
                                                           bool rois_grad_wanted) {
  const Shape s = check_inputs(features_in, rois_in, ph, pw, "prroi_pool backward");
  TORCH_CHECK(grad_in.dim() == 4 && grad_in.size(0) == s.rois && grad_in.size(1) == s.channels &&
                  grad_in.size(2) == ph && grad_in.size(3) == pw,
              "prroi_pool backward: grad must be [K, C, ph, pw]");
  TORCH_CHECK(grad_in.scalar_type() == features_in.scalar_type(), "prroi_pool backward: dtypes differ");
  const at::Tensor grad = grad_in.contiguous(), features = features_in.contiguous(), rois = rois_in.contiguous();
  at::Tensor grad_features = at::zeros_like(features);
  at::Tensor grad_rois = at::zeros_like(rois);
  if (grad.numel() == 0 || (!features_grad_wanted && !rois_grad_wanted)) return {grad_features, grad_rois};
  AT_DISPATCH_FLOATING_TYPES(features.scalar_type(), "prroi_pool_backward_cpu", [&] {
    using T = scalar_t;
    const T* r = rois.data_ptr<T>();
    const std::vector<int64_t> index = batch_indices<T>(r, s);
    AxisWeights<T> ay, ax;
    ay.build(r, s.rois, 2, 4, static_cast<T>(spatial_scale), ph, s.height, rois_grad_wanted);
    ax.build(r, s.rois, 1, 3, static_cast<T>(spatial_scale), pw, s.width, rois_grad_wanted);
    if (features_grad_wanted) {
      features_grad<T>(ay, ax, index, s, grad.data_ptr<T>(), grad_features.data_ptr<T>());
    }
    if (rois_grad_wanted) {
      rois_grad<T>(ay, ax, index, s, features.data_ptr<T>(), grad.data_ptr<T>(), static_cast<T>(spatial_scale),
                   grad_rois.data_ptr<T>());
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
