// Pyramid RoIAlign CUDA entry points: ATen glue around pyramid_roi_align_kernels.cuh.
#include <torch/library.h>

#include "ops/cuda_glue.h"
#include "ops/pyramid_roi_align/cuda/pyramid_roi_align_kernels.cuh"

namespace trackerzoo {
namespace ops {
namespace {

cuda::RoiLevels make_levels(at::IntArrayRef sizes, int64_t rois, int64_t channels) {
  TORCH_CHECK(!sizes.empty() && static_cast<int>(sizes.size()) <= cuda::kMaxRoiLevels,
              "pyramid_roi_align (CUDA): between 1 and ", cuda::kMaxRoiLevels, " output sizes, got ", sizes.size());
  cuda::RoiLevels levels{};
  levels.count = static_cast<int>(sizes.size());
  levels.offset[0] = 0;
  for (int l = 0; l < levels.count; ++l) {
    TORCH_CHECK(sizes[l] >= 1, "pyramid_roi_align: output size ", sizes[l], " < 1");
    levels.size[l] = sizes[l];
    levels.offset[l + 1] = levels.offset[l] + rois * channels * sizes[l] * sizes[l];
  }
  return levels;
}

at::Tensor pyramid_roi_align_cuda(const at::Tensor& features_in, const at::Tensor& rois_in,
                                  at::IntArrayRef output_sizes, double spatial_scale, int64_t sampling_ratio,
                                  bool aligned) {
  TORCH_CHECK(features_in.dim() == 4, "pyramid_roi_align: features must be [B, C, H, W]");
  TORCH_CHECK(rois_in.dim() == 2 && rois_in.size(1) == 5, "pyramid_roi_align: rois must be [K, 5]");
  TORCH_CHECK(features_in.scalar_type() == rois_in.scalar_type(), "pyramid_roi_align: dtypes differ");
  check_cuda(features_in, "features");
  check_cuda(rois_in, "rois");
  const c10::cuda::CUDAGuard guard(features_in.device());
  const at::Tensor features = features_in.contiguous(), rois = rois_in.contiguous();
  const cuda::RoiLevels levels = make_levels(output_sizes, rois.size(0), features.size(1));
  const cuda::RoiGeometry g{features.size(0), features.size(1), features.size(2), features.size(3), rois.size(0),
                            spatial_scale,    sampling_ratio,   aligned};
  const int64_t total = levels.offset[levels.count];
  at::Tensor out = at::empty({total}, features.options());
  if (total == 0) return out;
  AT_DISPATCH_FLOATING_TYPES(features.scalar_type(), "pyramid_roi_align_cuda", [&] {
    cuda::pyramid_roi_align_forward_kernel<scalar_t>
        <<<cuda::grid_for(total), cuda::kThreads, 0, current_stream()>>>(
            features.data_ptr<scalar_t>(), rois.data_ptr<scalar_t>(), out.data_ptr<scalar_t>(), levels, g);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return out;
}

at::Tensor pyramid_roi_align_backward_cuda(const at::Tensor& grad_in, const at::Tensor& rois_in,
                                           at::IntArrayRef output_sizes, double spatial_scale,
                                           int64_t sampling_ratio, bool aligned, int64_t batch, int64_t channels,
                                           int64_t height, int64_t width) {
  check_cuda(grad_in, "grad");
  check_cuda(rois_in, "rois");
  const c10::cuda::CUDAGuard guard(grad_in.device());
  const at::Tensor grad = grad_in.contiguous(), rois = rois_in.contiguous();
  const cuda::RoiLevels levels = make_levels(output_sizes, rois.size(0), channels);
  const int64_t total = levels.offset[levels.count];
  TORCH_CHECK(grad.numel() == total, "pyramid_roi_align backward: grad has ", grad.numel(), " elements, expected ",
              total);
  const cuda::RoiGeometry g{batch, channels, height, width, rois.size(0), spatial_scale, sampling_ratio, aligned};
  at::Tensor grad_features = at::zeros({batch, channels, height, width}, grad.options());
  if (total == 0) return grad_features;
  AT_DISPATCH_FLOATING_TYPES(grad.scalar_type(), "pyramid_roi_align_backward_cuda", [&] {
    cuda::pyramid_roi_align_backward_kernel<scalar_t>
        <<<cuda::grid_for(total), cuda::kThreads, 0, current_stream()>>>(
            grad.data_ptr<scalar_t>(), rois.data_ptr<scalar_t>(), grad_features.data_ptr<scalar_t>(), levels, g);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return grad_features;
}

}  // namespace

TORCH_LIBRARY_IMPL(trackerzoo, CUDA, m) {
  m.impl("pyramid_roi_align", &pyramid_roi_align_cuda);
  m.impl("_pyramid_roi_align_backward", &pyramid_roi_align_backward_cuda);
}

}  // namespace ops
}  // namespace trackerzoo
