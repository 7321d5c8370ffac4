// Pyramid RoIAlign on the CPU: all output sizes of all RoIs in one pass, one output tensor
// per level (layout: pyramid_levels.h).
//
// torchvision's RoIAlign weight of a bilinear sample is (y-weight) x (x-weight) and its
// out-of-map test is per axis, so the sample taps of each pooled row and column are computed
// once per RoI and level (index, weight / grid count) and shared by every channel. The
// kernels work on a channels-last copy of the features, so that each bilinear tap is one
// contiguous, vectorised axpy over all channels.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "ops/common/cpu_simd.h"
#include "ops/common/cpu_vec_ops.h"
#include "ops/pyramid_roi_align/pyramid_levels.h"

namespace trackerzoo {
namespace ops {
namespace {

template <typename T>
struct Taps {
  std::vector<int64_t> begin{0};  // taps of entry e are [begin[e], begin[e + 1])
  std::vector<int64_t> index;
  std::vector<T> weight;
};

// The bilinear taps of `pooled` bins along one axis, exactly as torchvision places them.
template <typename T>
void add_axis_taps(T start, T bin, int64_t grid, int64_t pooled, int64_t size, Taps<T>& taps) {
  for (int64_t p = 0; p < pooled; ++p) {
    for (int64_t i = 0; i < grid; ++i) {
      T c = start + static_cast<T>(p) * bin + static_cast<T>(i + .5f) * bin / static_cast<T>(grid);
      if (c < T(-1) || c > static_cast<T>(size)) continue;
      if (c <= 0) c = 0;
      int64_t lo = static_cast<int64_t>(c), hi;
      if (lo >= size - 1) {
        hi = lo = size - 1;
        c = static_cast<T>(lo);
      } else {
        hi = lo + 1;
      }
      const T frac = c - static_cast<T>(lo);
      taps.index.push_back(lo);
      taps.weight.push_back((T(1) - frac) / static_cast<T>(grid));
      taps.index.push_back(hi);
      taps.weight.push_back(frac / static_cast<T>(grid));
    }
    taps.begin.push_back(static_cast<int64_t>(taps.index.size()));
  }
}

struct Geometry {
  std::vector<int64_t> sizes;
  double spatial_scale;
  int64_t sampling_ratio;
  bool aligned;
  int64_t batch, channels, height, width;
};

// Taps for every (RoI, level, bin) along y and x; entry (k, l, p) is k * sum(sizes) + off[l] + p
// with off[l] the sum of the sizes of the levels before l.
template <typename T>
void build_taps(const T* rois, int64_t k_count, const Geometry& g, Taps<T>& ty, Taps<T>& tx,
                std::vector<int64_t>& batch_index) {
  const T offset = g.aligned ? T(0.5) : T(0);
  const T scale = static_cast<T>(g.spatial_scale);
  batch_index.resize(k_count);
  for (int64_t k = 0; k < k_count; ++k) {
    const T* r = rois + k * 5;
    const int64_t b = static_cast<int64_t>(r[0]);
    TORCH_CHECK(b >= 0 && b < g.batch, "pyramid_roi_align: RoI ", k, " has batch index ", b,
                " outside [0, ", g.batch, ")");
    batch_index[k] = b;
    const T x1 = r[1] * scale - offset, y1 = r[2] * scale - offset;
    const T x2 = r[3] * scale - offset, y2 = r[4] * scale - offset;
    T roi_w = x2 - x1, roi_h = y2 - y1;
    if (!g.aligned) {
      roi_w = std::max(roi_w, T(1));
      roi_h = std::max(roi_h, T(1));
    }
    for (int64_t s : g.sizes) {
      const T bin_h = roi_h / static_cast<T>(s), bin_w = roi_w / static_cast<T>(s);
      const int64_t grid_h = g.sampling_ratio > 0 ? g.sampling_ratio : static_cast<int64_t>(std::ceil(roi_h / s));
      const int64_t grid_w = g.sampling_ratio > 0 ? g.sampling_ratio : static_cast<int64_t>(std::ceil(roi_w / s));
      add_axis_taps<T>(y1, bin_h, grid_h, s, g.height, ty);
      add_axis_taps<T>(x1, bin_w, grid_w, s, g.width, tx);
    }
  }
}

// Everything a task needs, as raw pointers (the multiversioned bodies take it by value).
template <typename T>
struct RoiTask {
  const int64_t* ty_begin;
  const int64_t* ty_index;
  const T* ty_weight;
  const int64_t* tx_begin;
  const int64_t* tx_index;
  const T* tx_weight;
  const int64_t* batch_index;
  const int64_t* sizes;
  int64_t levels, sum_sizes, channels, height, width;
};

// Forward over RoIs [begin, end): features channels-last [B, H, W, C]; out[l] is level l's
// [K, C, s, s] output.
template <typename T, int kVecBytes>
TZ_INLINE void roi_forward_tasks(RoiTask<T> a, const T* feat, T* const* out, int64_t begin, int64_t end) {
  const int64_t c = a.channels;
  std::vector<T> acc(static_cast<size_t>(c));
  for (int64_t k = begin; k < end; ++k) {
    const T* base = feat + a.batch_index[k] * a.height * a.width * c;
    int64_t entry = k * a.sum_sizes;
    for (int64_t l = 0; l < a.levels; ++l) {
      const int64_t s = a.sizes[l];
      T* o = out[l] + k * c * s * s;
      for (int64_t ph = 0; ph < s; ++ph) {
        for (int64_t pw = 0; pw < s; ++pw) {
          std::fill(acc.begin(), acc.end(), T(0));
          for (int64_t yt = a.ty_begin[entry + ph]; yt < a.ty_begin[entry + ph + 1]; ++yt) {
            const T* row = base + a.ty_index[yt] * a.width * c;
            for (int64_t xt = a.tx_begin[entry + pw]; xt < a.tx_begin[entry + pw + 1]; ++xt) {
              cpu::axpy<T, kVecBytes>(acc.data(), row + a.tx_index[xt] * c, a.ty_weight[yt] * a.tx_weight[xt], c);
            }
          }
          T* dst = o + ph * s + pw;
          for (int64_t ch = 0; ch < c; ++ch) dst[ch * s * s] = acc[ch];
        }
      }
      entry += s;
    }
  }
}

TZ_MULTIVERSION(roi_forward_tasks)

// Backward over channel blocks [begin, end) of kChannelBlock: each task owns its channels
// of the channels-last gradient, so RoIs of one image never race.
constexpr int64_t kChannelBlock = 32;

template <typename T, int kVecBytes>
TZ_INLINE void roi_backward_tasks(RoiTask<T> a, int64_t rois, const T* const* grad, T* grad_feat, int64_t begin,
                                  int64_t end) {
  const int64_t c = a.channels;
  T gbuf[kChannelBlock];
  for (int64_t blk = begin; blk < end; ++blk) {
    const int64_t c0 = blk * kChannelBlock, nc = std::min(kChannelBlock, c - c0);
    for (int64_t k = 0; k < rois; ++k) {
      T* base = grad_feat + a.batch_index[k] * a.height * a.width * c + c0;
      int64_t entry = k * a.sum_sizes;
      for (int64_t l = 0; l < a.levels; ++l) {
        const int64_t s = a.sizes[l];
        const T* g = grad[l] + (k * c + c0) * s * s;
        for (int64_t ph = 0; ph < s; ++ph) {
          for (int64_t pw = 0; pw < s; ++pw) {
            for (int64_t ch = 0; ch < nc; ++ch) gbuf[ch] = g[ch * s * s + ph * s + pw];
            for (int64_t yt = a.ty_begin[entry + ph]; yt < a.ty_begin[entry + ph + 1]; ++yt) {
              T* row = base + a.ty_index[yt] * a.width * c;
              for (int64_t xt = a.tx_begin[entry + pw]; xt < a.tx_begin[entry + pw + 1]; ++xt) {
                cpu::axpy<T, kVecBytes>(row + a.tx_index[xt] * c, gbuf, a.ty_weight[yt] * a.tx_weight[xt], nc);
              }
            }
          }
        }
        entry += s;
      }
    }
  }
}

TZ_MULTIVERSION(roi_backward_tasks)

template <typename T>
RoiTask<T> make_task(const Taps<T>& ty, const Taps<T>& tx, const std::vector<int64_t>& batch_index,
                     const PyramidLevels& levels, int64_t h, int64_t w) {
  return RoiTask<T>{ty.begin.data(),     ty.index.data(), ty.weight.data(),   tx.begin.data(),
                    tx.index.data(),     tx.weight.data(), batch_index.data(), levels.sizes.data(),
                    levels.count(),      levels.sum_sizes(), levels.channels, h, w};
}

Geometry make_geometry(const PyramidLevels& levels, double spatial_scale, int64_t sampling_ratio, bool aligned,
                       int64_t b, int64_t h, int64_t w) {
  return Geometry{levels.sizes, spatial_scale, sampling_ratio, aligned, b, levels.channels, h, w};
}

// Raw data pointers of per-level tensors, for the multiversioned task bodies.
template <typename P>
std::vector<P> level_pointers(const std::vector<at::Tensor>& levels) {
  std::vector<P> ptrs;
  ptrs.reserve(levels.size());
  for (const at::Tensor& t : levels) ptrs.push_back(static_cast<P>(t.data_ptr()));
  return ptrs;
}

std::vector<at::Tensor> pyramid_roi_align_cpu(const at::Tensor& features_in, const at::Tensor& rois_in,
                                              at::IntArrayRef output_sizes, double spatial_scale,
                                              int64_t sampling_ratio, bool aligned) {
  TORCH_CHECK(features_in.dim() == 4, "pyramid_roi_align: features must be [B, C, H, W]");
  TORCH_CHECK(rois_in.dim() == 2 && rois_in.size(1) == 5, "pyramid_roi_align: rois must be [K, 5]");
  TORCH_CHECK(features_in.scalar_type() == rois_in.scalar_type(), "pyramid_roi_align: dtypes differ");
  const at::Tensor features = features_in.contiguous();
  const at::Tensor rois = rois_in.contiguous();
  const PyramidLevels levels = pyramid_levels(output_sizes, rois.size(0), features.size(1));
  const Geometry g = make_geometry(levels, spatial_scale, sampling_ratio, aligned, features.size(0),
                                   features.size(2), features.size(3));
  const int64_t k_count = levels.rois;
  std::vector<at::Tensor> out = levels.empty_outputs(features.options());
  if (levels.total() == 0) return out;
  const at::Tensor nhwc = features.permute({0, 2, 3, 1}).contiguous();
  AT_DISPATCH_FLOATING_TYPES(features.scalar_type(), "pyramid_roi_align_cpu", [&] {
    Taps<scalar_t> ty, tx;
    std::vector<int64_t> batch_index;
    build_taps<scalar_t>(rois.data_ptr<scalar_t>(), k_count, g, ty, tx, batch_index);
    const RoiTask<scalar_t> task = make_task(ty, tx, batch_index, levels, g.height, g.width);
    const scalar_t* feat = nhwc.data_ptr<scalar_t>();
    const std::vector<scalar_t*> dst = level_pointers<scalar_t*>(out);
    at::parallel_for(0, k_count, 1, [&](int64_t begin, int64_t end) {
      roi_forward_tasks_dispatch<scalar_t>(task, feat, dst.data(), begin, end);
    });
  });
  return out;
}

at::Tensor pyramid_roi_align_backward_cpu(at::TensorList grads_in, const at::Tensor& rois_in,
                                          at::IntArrayRef output_sizes, double spatial_scale,
                                          int64_t sampling_ratio, bool aligned, int64_t batch, int64_t channels,
                                          int64_t height, int64_t width) {
  const at::Tensor rois = rois_in.contiguous();
  const PyramidLevels levels = pyramid_levels(output_sizes, rois.size(0), channels);
  const std::vector<at::Tensor> grads = levels.contiguous_grads(grads_in);
  for (const at::Tensor& grad : grads) {
    TORCH_CHECK(grad.scalar_type() == rois.scalar_type(), "pyramid_roi_align backward: dtypes differ");
  }
  const Geometry g = make_geometry(levels, spatial_scale, sampling_ratio, aligned, batch, height, width);
  const int64_t k_count = levels.rois, c = channels;
  at::Tensor grad_features = at::zeros({batch, channels, height, width}, rois.options());
  if (levels.total() == 0) return grad_features;
  at::Tensor grad_nhwc = at::zeros({batch, height, width, channels}, rois.options());
  AT_DISPATCH_FLOATING_TYPES(rois.scalar_type(), "pyramid_roi_align_backward_cpu", [&] {
    Taps<scalar_t> ty, tx;
    std::vector<int64_t> batch_index;
    build_taps<scalar_t>(rois.data_ptr<scalar_t>(), k_count, g, ty, tx, batch_index);
    const RoiTask<scalar_t> task = make_task(ty, tx, batch_index, levels, height, width);
    const std::vector<const scalar_t*> gsrc = level_pointers<const scalar_t*>(grads);
    scalar_t* gdst = grad_nhwc.data_ptr<scalar_t>();
    at::parallel_for(0, (c + kChannelBlock - 1) / kChannelBlock, 1, [&](int64_t begin, int64_t end) {
      roi_backward_tasks_dispatch<scalar_t>(task, k_count, gsrc.data(), gdst, begin, end);
    });
  });
  grad_features = grad_nhwc.permute({0, 3, 1, 2}).contiguous();
  return grad_features;
}

}  // namespace

TORCH_LIBRARY_IMPL(trackerzoo, CPU, m) {
  m.impl("pyramid_roi_align", &pyramid_roi_align_cpu);
  m.impl("_pyramid_roi_align_backward", &pyramid_roi_align_backward_cpu);
}

}  // namespace ops
}  // namespace trackerzoo
