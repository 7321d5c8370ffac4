// Pyramid RoIAlign CUDA kernels: every output element of every level in one launch (one
// thread each, grid-stride over the levels' elements in turn), torchvision's sampling and
// bilinear rules; each level is its own contiguous [K, C, s, s] tensor. The backward scatters
// with atomicAdd (so, like torchvision's, it is not bitwise deterministic).
#pragma once

#include "ops/common/cuda_common.cuh"

namespace trackerzoo {
namespace cuda {

constexpr int kMaxRoiLevels = 8;

struct RoiLevels {
  int count;
  int64_t size[kMaxRoiLevels];
  int64_t offset[kMaxRoiLevels + 1];  // first thread index of each level, then the total
};

// The data of each level's [K, C, s, s] tensor (T or const T).
template <typename T>
struct RoiLevelData {
  T* ptr[kMaxRoiLevels];
};

struct RoiGeometry {
  int64_t batch, channels, height, width, rois;
  double spatial_scale;
  int64_t sampling_ratio;
  bool aligned;
};

// Decodes a thread index into level, element of that level (rel), RoI, channel, bin and the
// RoI's sampling layout.
template <typename T>
struct RoiBin {
  int level;
  int64_t rel, k, c, ph, pw, batch;
  T y_start, x_start, bin_h, bin_w;
  int64_t grid_h, grid_w;
  T count;

  __device__ RoiBin(int64_t idx, const T* rois, const RoiLevels& levels, const RoiGeometry& g) {
    int l = 0;
    while (l + 1 < levels.count && idx >= levels.offset[l + 1]) ++l;
    level = l;
    const int64_t s = levels.size[l];
    rel = idx - levels.offset[l];
    pw = rel % s;
    ph = (rel / s) % s;
    c = (rel / (s * s)) % g.channels;
    k = rel / (s * s * g.channels);
    const T* r = rois + k * 5;
    batch = static_cast<int64_t>(r[0]);
    const T offset = g.aligned ? T(0.5) : T(0);
    const T scale = static_cast<T>(g.spatial_scale);
    x_start = r[1] * scale - offset;
    y_start = r[2] * scale - offset;
    T roi_w = r[3] * scale - offset - x_start;
    T roi_h = r[4] * scale - offset - y_start;
    if (!g.aligned) {
      roi_w = max(roi_w, T(1));
      roi_h = max(roi_h, T(1));
    }
    bin_h = roi_h / static_cast<T>(s);
    bin_w = roi_w / static_cast<T>(s);
    grid_h = g.sampling_ratio > 0 ? g.sampling_ratio : static_cast<int64_t>(ceil(roi_h / static_cast<T>(s)));
    grid_w = g.sampling_ratio > 0 ? g.sampling_ratio : static_cast<int64_t>(ceil(roi_w / static_cast<T>(s)));
    const int64_t n = grid_h * grid_w;
    count = static_cast<T>(n > 1 ? n : 1);
  }
};

// torchvision's bilinear rule: zero outside [-1, size], clamp to the border otherwise.
template <typename T>
__device__ __forceinline__ bool axis_sample(T c, int64_t size, int64_t& lo, int64_t& hi, T& w_lo, T& w_hi) {
  if (c < T(-1) || c > static_cast<T>(size)) return false;
  if (c <= 0) c = 0;
  lo = static_cast<int64_t>(c);
  if (lo >= size - 1) {
    hi = lo = size - 1;
    c = static_cast<T>(lo);
  } else {
    hi = lo + 1;
  }
  w_hi = c - static_cast<T>(lo);
  w_lo = T(1) - w_hi;
  return true;
}

template <typename T>
__global__ void pyramid_roi_align_forward_kernel(const T* __restrict__ features, const T* __restrict__ rois,
                                                 RoiLevelData<T> out, RoiLevels levels, RoiGeometry g) {
  TZ_GRID_STRIDE(idx, levels.offset[levels.count]) {
    const RoiBin<T> b(idx, rois, levels, g);
    T acc = 0;
    if (b.batch >= 0 && b.batch < g.batch) {
      const T* plane = features + (b.batch * g.channels + b.c) * g.height * g.width;
      for (int64_t iy = 0; iy < b.grid_h; ++iy) {
        const T y = b.y_start + static_cast<T>(b.ph) * b.bin_h +
                    static_cast<T>(iy + .5f) * b.bin_h / static_cast<T>(b.grid_h);
        int64_t y0, y1;
        T wy0, wy1;
        if (!axis_sample(y, g.height, y0, y1, wy0, wy1)) continue;
        for (int64_t ix = 0; ix < b.grid_w; ++ix) {
          const T x = b.x_start + static_cast<T>(b.pw) * b.bin_w +
                      static_cast<T>(ix + .5f) * b.bin_w / static_cast<T>(b.grid_w);
          int64_t x0, x1;
          T wx0, wx1;
          if (!axis_sample(x, g.width, x0, x1, wx0, wx1)) continue;
          acc += wy0 * wx0 * __ldg(plane + y0 * g.width + x0) + wy0 * wx1 * __ldg(plane + y0 * g.width + x1) +
                 wy1 * wx0 * __ldg(plane + y1 * g.width + x0) + wy1 * wx1 * __ldg(plane + y1 * g.width + x1);
        }
      }
    }
    out.ptr[b.level][b.rel] = acc / b.count;
  }
}

template <typename T>
__global__ void pyramid_roi_align_backward_kernel(RoiLevelData<const T> grad, const T* __restrict__ rois,
                                                  T* __restrict__ grad_features, RoiLevels levels, RoiGeometry g) {
  TZ_GRID_STRIDE(idx, levels.offset[levels.count]) {
    const RoiBin<T> b(idx, rois, levels, g);
    if (b.batch < 0 || b.batch >= g.batch) continue;
    const T go = grad.ptr[b.level][b.rel] / b.count;
    if (go == T(0)) continue;
    T* plane = grad_features + (b.batch * g.channels + b.c) * g.height * g.width;
    for (int64_t iy = 0; iy < b.grid_h; ++iy) {
      const T y = b.y_start + static_cast<T>(b.ph) * b.bin_h +
                  static_cast<T>(iy + .5f) * b.bin_h / static_cast<T>(b.grid_h);
      int64_t y0, y1;
      T wy0, wy1;
      if (!axis_sample(y, g.height, y0, y1, wy0, wy1)) continue;
      for (int64_t ix = 0; ix < b.grid_w; ++ix) {
        const T x = b.x_start + static_cast<T>(b.pw) * b.bin_w +
                    static_cast<T>(ix + .5f) * b.bin_w / static_cast<T>(b.grid_w);
        int64_t x0, x1;
        T wx0, wx1;
        if (!axis_sample(x, g.width, x0, x1, wx0, wx1)) continue;
        atomicAdd(plane + y0 * g.width + x0, go * wy0 * wx0);
        atomicAdd(plane + y0 * g.width + x1, go * wy0 * wx1);
        atomicAdd(plane + y1 * g.width + x0, go * wy1 * wx0);
        atomicAdd(plane + y1 * g.width + x1, go * wy1 * wx1);
      }
    }
  }
}

}  // namespace cuda
}  // namespace trackerzoo
