// Pyramid RoIAlign on the CPU: all output sizes of all RoIs in one pass.
//
// torchvision's RoIAlign weight of a bilinear sample is (y-weight) x (x-weight) and its
// out-of-map test is per axis, so the sample taps of each pooled row and column are computed
// once per RoI and level (index, weight / grid count) and shared by every channel.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <cmath>
#include <cstdint>
#include <vector>

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

// Taps for every (RoI, level, bin) along y and x; entry (k, l, p) is k * sum(sizes) + off[l] + p.
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

Geometry make_geometry(at::IntArrayRef output_sizes, double spatial_scale, int64_t sampling_ratio, bool aligned,
                       int64_t b, int64_t c, int64_t h, int64_t w) {
  TORCH_CHECK(!output_sizes.empty(), "pyramid_roi_align: output_sizes is empty");
  for (int64_t s : output_sizes) TORCH_CHECK(s >= 1, "pyramid_roi_align: output size ", s, " < 1");
  return Geometry{output_sizes.vec(), spatial_scale, sampling_ratio, aligned, b, c, h, w};
}

at::Tensor pyramid_roi_align_cpu(const at::Tensor& features_in, const at::Tensor& rois_in,
                                 at::IntArrayRef output_sizes, double spatial_scale, int64_t sampling_ratio,
                                 bool aligned) {
  TORCH_CHECK(features_in.dim() == 4, "pyramid_roi_align: features must be [B, C, H, W]");
  TORCH_CHECK(rois_in.dim() == 2 && rois_in.size(1) == 5, "pyramid_roi_align: rois must be [K, 5]");
  TORCH_CHECK(features_in.scalar_type() == rois_in.scalar_type(), "pyramid_roi_align: dtypes differ");
  const at::Tensor features = features_in.contiguous();
  const at::Tensor rois = rois_in.contiguous();
  const Geometry g = make_geometry(output_sizes, spatial_scale, sampling_ratio, aligned, features.size(0),
                                   features.size(1), features.size(2), features.size(3));
  const int64_t k_count = rois.size(0), c = g.channels;
  int64_t sum_sizes = 0, total = 0;
  std::vector<int64_t> level_offset;
  for (int64_t s : g.sizes) {
    level_offset.push_back(total);
    total += k_count * c * s * s;
    sum_sizes += s;
  }
  at::Tensor out = at::zeros({total}, features.options());
  if (total == 0) return out;
  AT_DISPATCH_FLOATING_TYPES(features.scalar_type(), "pyramid_roi_align_cpu", [&] {
    Taps<scalar_t> ty, tx;
    std::vector<int64_t> batch_index;
    build_taps<scalar_t>(rois.data_ptr<scalar_t>(), k_count, g, ty, tx, batch_index);
    const scalar_t* feat = features.data_ptr<scalar_t>();
    scalar_t* dst = out.data_ptr<scalar_t>();
    const int64_t plane = g.height * g.width;
    at::parallel_for(0, k_count * c, 16, [&](int64_t begin, int64_t end) {
      for (int64_t kc = begin; kc < end; ++kc) {
        const int64_t k = kc / c, ch = kc % c;
        const scalar_t* src = feat + (batch_index[k] * c + ch) * plane;
        int64_t entry = k * sum_sizes;
        for (size_t l = 0; l < g.sizes.size(); ++l) {
          const int64_t s = g.sizes[l];
          scalar_t* o = dst + level_offset[l] + kc * s * s;
          for (int64_t ph = 0; ph < s; ++ph) {
            const int64_t y0 = ty.begin[entry + ph], y1 = ty.begin[entry + ph + 1];
            for (int64_t pw = 0; pw < s; ++pw) {
              const int64_t x0 = tx.begin[entry + pw], x1 = tx.begin[entry + pw + 1];
              scalar_t acc = 0;
              for (int64_t yt = y0; yt < y1; ++yt) {
                const scalar_t* row = src + ty.index[yt] * g.width;
                scalar_t a = 0;
                for (int64_t xt = x0; xt < x1; ++xt) a += tx.weight[xt] * row[tx.index[xt]];
                acc += ty.weight[yt] * a;
              }
              o[ph * s + pw] = acc;
            }
          }
          entry += s;
        }
      }
    });
  });
  return out;
}

at::Tensor pyramid_roi_align_backward_cpu(const at::Tensor& grad_in, const at::Tensor& rois_in,
                                          at::IntArrayRef output_sizes, double spatial_scale,
                                          int64_t sampling_ratio, bool aligned, int64_t batch, int64_t channels,
                                          int64_t height, int64_t width) {
  const at::Tensor grad = grad_in.contiguous();
  const at::Tensor rois = rois_in.contiguous();
  TORCH_CHECK(grad.scalar_type() == rois.scalar_type(), "pyramid_roi_align backward: dtypes differ");
  const Geometry g =
      make_geometry(output_sizes, spatial_scale, sampling_ratio, aligned, batch, channels, height, width);
  const int64_t k_count = rois.size(0), c = channels;
  int64_t sum_sizes = 0, total = 0;
  std::vector<int64_t> level_offset;
  for (int64_t s : g.sizes) {
    level_offset.push_back(total);
    total += k_count * c * s * s;
    sum_sizes += s;
  }
  TORCH_CHECK(grad.numel() == total, "pyramid_roi_align backward: grad has ", grad.numel(), " elements, expected ",
              total);
  at::Tensor grad_features = at::zeros({batch, channels, height, width}, grad.options());
  if (total == 0) return grad_features;
  AT_DISPATCH_FLOATING_TYPES(grad.scalar_type(), "pyramid_roi_align_backward_cpu", [&] {
    Taps<scalar_t> ty, tx;
    std::vector<int64_t> batch_index;
    build_taps<scalar_t>(rois.data_ptr<scalar_t>(), k_count, g, ty, tx, batch_index);
    const scalar_t* gsrc = grad.data_ptr<scalar_t>();
    scalar_t* gdst = grad_features.data_ptr<scalar_t>();
    const int64_t plane = height * width;
    // One channel per task: every RoI scatters into its own channel plane, so no two threads
    // ever write the same element and no atomics are needed.
    at::parallel_for(0, c, 1, [&](int64_t begin, int64_t end) {
      for (int64_t ch = begin; ch < end; ++ch) {
        for (int64_t k = 0; k < k_count; ++k) {
          scalar_t* dst = gdst + (batch_index[k] * c + ch) * plane;
          int64_t entry = k * sum_sizes;
          for (size_t l = 0; l < g.sizes.size(); ++l) {
            const int64_t s = g.sizes[l];
            const scalar_t* go = gsrc + level_offset[l] + (k * c + ch) * s * s;
            for (int64_t ph = 0; ph < s; ++ph) {
              const int64_t y0 = ty.begin[entry + ph], y1 = ty.begin[entry + ph + 1];
              for (int64_t pw = 0; pw < s; ++pw) {
                const scalar_t gv = go[ph * s + pw];
                if (gv == scalar_t(0)) continue;
                const int64_t x0 = tx.begin[entry + pw], x1 = tx.begin[entry + pw + 1];
                for (int64_t yt = y0; yt < y1; ++yt) {
                  scalar_t* row = dst + ty.index[yt] * width;
                  const scalar_t gy = gv * ty.weight[yt];
                  for (int64_t xt = x0; xt < x1; ++xt) row[tx.index[xt]] += gy * tx.weight[xt];
                }
              }
            }
            entry += s;
          }
        }
      }
    });
  });
  return grad_features;
}

}  // namespace

TORCH_LIBRARY_IMPL(trackerzoo, CPU, m) {
  m.impl("pyramid_roi_align", &pyramid_roi_align_cpu);
  m.impl("_pyramid_roi_align_backward", &pyramid_roi_align_backward_cpu);
}

}  // namespace ops
}  // namespace trackerzoo
