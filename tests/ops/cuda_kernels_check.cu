// Compile check of the CUDA kernels without ATen: instantiates every kernel template of
// csrc/ops/*/cuda/*_kernels.cuh for float and double. Used by scripts/check_cuda_compile.sh.
#include "ops/dcf_cg/cuda/dcf_cg_kernels.cuh"
#include "ops/dw_xcorr/cuda/dw_xcorr_kernels.cuh"
#include "ops/lut_affinity_softmax/cuda/lut_affinity_softmax_kernels.cuh"
#include "ops/prroi_pool/cuda/prroi_pool_kernels.cuh"
#include "ops/pyramid_roi_align/cuda/pyramid_roi_align_kernels.cuh"

namespace tz = trackerzoo::cuda;

#define TZ_INSTANTIATE(T)                                                                                    \
  template __global__ void tz::dw_xcorr_forward_kernel<T>(const T*, const T*, T*, tz::XcorrShape);           \
  template __global__ void tz::dw_xcorr_grad_search_kernel<T>(const T*, const T*, T*, tz::XcorrShape);       \
  template __global__ void tz::dw_xcorr_grad_kernel_kernel<T>(const T*, const T*, T*, tz::XcorrShape);       \
  template __global__ void tz::pyramid_roi_align_forward_kernel<T>(const T*, const T*, tz::RoiLevelData<T>,  \
                                                                   tz::RoiLevels, tz::RoiGeometry);          \
  template __global__ void tz::pyramid_roi_align_backward_kernel<T>(tz::RoiLevelData<const T>, const T*, T*, \
                                                                    tz::RoiLevels, tz::RoiGeometry);         \
  template __global__ void tz::lut_forward_kernel<T, 1>(const T*, const T*, const T*, T*, T*, tz::LutShape, T, \
                                                        int64_t, int64_t);                                   \
  template __global__ void tz::lut_forward_kernel<T, 8>(const T*, const T*, const T*, T*, T*, tz::LutShape, T, \
                                                        int64_t, int64_t);                                   \
  template __global__ void tz::lut_delta_kernel<T>(const T*, const T*, T*, int64_t, int64_t);                \
  template __global__ void tz::lut_grad_query_kernel<T, 2>(const T*, const T*, const T*, const T*, const T*, \
                                                           const T*, T*, tz::LutShape, T);                   \
  template __global__ void tz::lut_grad_key_value_kernel<T, 2>(const T*, const T*, const T*, const T*,       \
                                                               const T*, const T*, T*, T*, tz::LutShape, T); \
  template __global__ void tz::cg_dot_kernel<T>(const T*, const T*, int64_t, T*);                            \
  template __global__ void tz::cg_start_kernel<T>(const T*, const T*, T*, T*, int64_t, T*);                  \
  template __global__ void tz::cg_step_kernel<T>(T*, T*, const T*, const T*, int64_t, T*, T);                \
  template __global__ void tz::cg_direction_kernel<T>(const T*, T*, int64_t, T*, T);                        \
  template __global__ void tz::prroi_pool_forward_kernel<T>(const T*, const T*, T*, tz::PrroiShape);         \
  template __global__ void tz::prroi_pool_features_grad_kernel<T>(const T*, const T*, T*, tz::PrroiShape);   \
  template __global__ void tz::prroi_pool_rois_grad_kernel<T>(const T*, const T*, const T*, T*, tz::PrroiShape);

TZ_INSTANTIATE(float)
TZ_INSTANTIATE(double)
