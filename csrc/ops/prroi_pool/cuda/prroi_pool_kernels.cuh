// Precise RoI Pooling CUDA kernels: one thread per output element (RoI, channel, bin) in a
// grid-stride loop; the bin weights come from prroi_math.h (shared with the CPU kernel). The
// backward kernels scatter with atomicAdd, so their sums are not bitwise deterministic. A RoI
// whose batch index is outside [0, B) gives zeros and no gradient (a kernel cannot raise;
// trackerzoo.ops.prroi_pool checks the indices before the launch).
#pragma once

#include "ops/common/cuda_common.cuh"
#include "ops/prroi_pool/prroi_math.h"

namespace trackerzoo {
namespace cuda {

struct PrroiShape {
  int64_t batch, channels, height, width, rois, ph, pw;
  double spatial_scale;
};

// The RoI, channel and bins of output element idx, and the start of its feature plane.
template <typename T>
struct PrroiElement {
  int64_t k, c, batch;
  prroi::Bin<T> by, bx;
  bool valid;

  __device__ PrroiElement(int64_t idx, const T* rois, const PrroiShape& s) {
    const int64_t q = idx % s.pw, p = (idx / s.pw) % s.ph;
    c = (idx / (s.pw * s.ph)) % s.channels;
    k = idx / (s.pw * s.ph * s.channels);
    const T* r = rois + k * 5;
    batch = static_cast<int64_t>(r[0]);
    valid = batch >= 0 && batch < s.batch && r[0] == static_cast<T>(batch);
    const T scale = static_cast<T>(s.spatial_scale);
    by = prroi::axis_bin<T>(r[2] * scale, r[4] * scale, p, s.ph, s.height);
    bx = prroi::axis_bin<T>(r[1] * scale, r[3] * scale, q, s.pw, s.width);
    valid = valid && by.hi > by.lo && bx.hi > bx.lo;
  }

  __device__ int64_t plane_offset(const PrroiShape& s) const { return (batch * s.channels + c) * s.height * s.width; }
};

template <typename T>
__global__ void prroi_pool_forward_kernel(const T* features, const T* rois, T* out, PrroiShape s) {
  const int64_t total = s.rois * s.channels * s.ph * s.pw;
  TZ_GRID_STRIDE(idx, total) {
    const PrroiElement<T> e(idx, rois, s);
    T acc = T(0);
    if (e.valid) {
      const T* plane = features + e.plane_offset(s);
      for (int64_t i = e.by.lo; i < e.by.hi; ++i) {
        T row = T(0);
        for (int64_t j = e.bx.lo; j < e.bx.hi; ++j) row += prroi::weight<T>(e.bx, j) * plane[i * s.width + j];
        acc += prroi::weight<T>(e.by, i) * row;
      }
    }
    out[idx] = acc;
  }
}

template <typename T>
__global__ void prroi_pool_features_grad_kernel(const T* grad, const T* rois, T* grad_features, PrroiShape s) {
  const int64_t total = s.rois * s.channels * s.ph * s.pw;
  TZ_GRID_STRIDE(idx, total) {
    const PrroiElement<T> e(idx, rois, s);
    const T g = grad[idx];
    if (!e.valid || g == T(0)) continue;
    T* plane = grad_features + e.plane_offset(s);
    for (int64_t i = e.by.lo; i < e.by.hi; ++i) {
      const T gi = g * prroi::weight<T>(e.by, i);
      for (int64_t j = e.bx.lo; j < e.bx.hi; ++j) atomicAdd(plane + i * s.width + j, gi * prroi::weight<T>(e.bx, j));
    }
  }
}

// grad_rois must be zero on entry; column 0 (the batch index) stays zero.
template <typename T>
__global__ void prroi_pool_rois_grad_kernel(const T* grad, const T* features, const T* rois, T* grad_rois,
                                            PrroiShape s) {
  const int64_t total = s.rois * s.channels * s.ph * s.pw;
  TZ_GRID_STRIDE(idx, total) {
    const PrroiElement<T> e(idx, rois, s);
    const T g = grad[idx];
    if (!e.valid || g == T(0)) continue;
    const int64_t p = (idx / s.pw) % s.ph, q = idx % s.pw;
    const T* plane = features + e.plane_offset(s);
    T gx1 = T(0), gx2 = T(0), gy1 = T(0), gy2 = T(0);
    for (int64_t i = e.by.lo; i < e.by.hi; ++i) {
      T wy_ds, wy_de;
      prroi::weight_grads<T>(e.by, i, p, s.ph, wy_ds, wy_de);
      const T wy = prroi::weight<T>(e.by, i);
      T row_w = T(0), row_ds = T(0), row_de = T(0);
      for (int64_t j = e.bx.lo; j < e.bx.hi; ++j) {
        T wx_ds, wx_de;
        prroi::weight_grads<T>(e.bx, j, q, s.pw, wx_ds, wx_de);
        const T v = plane[i * s.width + j];
        row_w += prroi::weight<T>(e.bx, j) * v;
        row_ds += wx_ds * v;
        row_de += wx_de * v;
      }
      gx1 += wy * row_ds;
      gx2 += wy * row_de;
      gy1 += wy_ds * row_w;
      gy2 += wy_de * row_w;
    }
    const T gs = g * static_cast<T>(s.spatial_scale);
    T* out = grad_rois + e.k * 5;
    atomicAdd(out + 1, gs * gx1);
    atomicAdd(out + 2, gs * gy1);
    atomicAdd(out + 3, gs * gx2);
    atomicAdd(out + 4, gs * gy2);
  }
}

}  // namespace cuda
}  // namespace trackerzoo
