// Pyramid RoIAlign CUDA entry points: ATen glue around pyramid_roi_align_kernels.cuh; one
// output tensor per level (layout: pyramid_levels.h).
#include <torch/library.h>

#include <vector>

#include "ops/common/cuda_glue.h"
#include "ops/pyramid_roi_align/cuda/pyramid_roi_align_kernels.cuh"
#include "ops/pyramid_roi_align/pyramid_levels.h"

namespace trackerzoo {
namespace ops {
namespace {

// The thread index space of one launch: the elements of level 0, then of level 1, ...
cuda::RoiLevels thread_levels(const PyramidLevels& layout) {
  TORCH_CHECK(layout.count() <= cuda::kMaxRoiLevels, "pyramid_roi_align (CUDA): at most ", cuda::kMaxRoiLevels,
              " output sizes, got ", layout.count());
  cuda::RoiLevels levels{};
  levels.count = static_cast<int>(layout.count());
  levels.offset[0] = 0;
  for (int l = 0; l < levels.count; ++l) {
    levels.size[l] = layout.sizes[l];
    levels.offset[l + 1] = levels.offset[l] + layout.numel(l);
  }
  return levels;
}

// The data pointers of per-level tensors (T or const T).
template <typename T>
cuda::RoiLevelData<T> level_data(const std::vector<at::Tensor>& tensors) {
  cuda::RoiLevelData<T> data{};
  for (size_t l = 0; l < tensors.size(); ++l) data.ptr[l] = static_cast<T*>(tensors[l].data_ptr());
  return data;
}

std::vector<at::Tensor> pyramid_roi_align_cuda(const at::Tensor& features_in, const at::Tensor& rois_in,
                                               at::IntArrayRef output_sizes, double spatial_scale,
                                               int64_t sampling_ratio, bool aligned) {
  TORCH_CHECK(features_in.dim() == 4, "pyramid_roi_align: features must be [B, C, H, W]");
  TORCH_CHECK(rois_in.dim() == 2 && rois_in.size(1) == 5, "pyramid_roi_align: rois must be [K, 5]");
  TORCH_CHECK(features_in.scalar_type() == rois_in.scalar_type(), "pyramid_roi_align: dtypes differ");
  check_cuda(features_in, "features");
  check_cuda(rois_in, "rois");
  const c10::cuda::CUDAGuard guard(features_in.device());
  const at::Tensor features = features_in.contiguous(), rois = rois_in.contiguous();
  const PyramidLevels layout = pyramid_levels(output_sizes, rois.size(0), features.size(1));
  const cuda::RoiLevels levels = thread_levels(layout);
  const cuda::RoiGeometry g{features.size(0), features.size(1), features.size(2), features.size(3), rois.size(0),
                            spatial_scale,    sampling_ratio,   aligned};
  std::vector<at::Tensor> out = layout.empty_outputs(features.options());
  const int64_t total = levels.offset[levels.count];
  if (total == 0) return out;
  AT_DISPATCH_FLOATING_TYPES(features.scalar_type(), "pyramid_roi_align_cuda", [&] {
    cuda::pyramid_roi_align_forward_kernel<scalar_t>
        <<<cuda::grid_for(total), cuda::kThreads, 0, current_stream()>>>(
            features.data_ptr<scalar_t>(), rois.data_ptr<scalar_t>(), level_data<scalar_t>(out), levels, g);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return out;
}

at::Tensor pyramid_roi_align_backward_cuda(at::TensorList grads_in, const at::Tensor& rois_in,
                                           at::IntArrayRef output_sizes, double spatial_scale,
                                           int64_t sampling_ratio, bool aligned, int64_t batch, int64_t channels,
                                           int64_t height, int64_t width) {
  check_cuda(rois_in, "rois");
  const c10::cuda::CUDAGuard guard(rois_in.device());
  const at::Tensor rois = rois_in.contiguous();
  const PyramidLevels layout = pyramid_levels(output_sizes, rois.size(0), channels);
  const std::vector<at::Tensor> grads = layout.contiguous_grads(grads_in);
  for (const at::Tensor& grad : grads) {
    check_cuda(grad, "grad");
    TORCH_CHECK(grad.scalar_type() == rois.scalar_type(), "pyramid_roi_align backward: dtypes differ");
  }
  const cuda::RoiLevels levels = thread_levels(layout);
  const int64_t total = levels.offset[levels.count];
  const cuda::RoiGeometry g{batch, channels, height, width, rois.size(0), spatial_scale, sampling_ratio, aligned};
  at::Tensor grad_features = at::zeros({batch, channels, height, width}, rois.options());
  if (total == 0) return grad_features;
  AT_DISPATCH_FLOATING_TYPES(rois.scalar_type(), "pyramid_roi_align_backward_cuda", [&] {
    cuda::pyramid_roi_align_backward_kernel<scalar_t>
        <<<cuda::grid_for(total), cuda::kThreads, 0, current_stream()>>>(
            level_data<const scalar_t>(grads), rois.data_ptr<scalar_t>(), grad_features.data_ptr<scalar_t>(),
            levels, g);
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
