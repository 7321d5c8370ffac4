// prroi_pool CUDA entry points: ATen glue around prroi_pool_kernels.cuh.
#include <torch/library.h>

#include <tuple>

#include "ops/common/cuda_glue.h"
#include "ops/prroi_pool/cuda/prroi_pool_kernels.cuh"

namespace trackerzoo {
namespace ops {
namespace {

cuda::PrroiShape shape_of(const at::Tensor& features, const at::Tensor& rois, int64_t ph, int64_t pw,
                          double spatial_scale) {
  TORCH_CHECK(features.dim() == 4, "prroi_pool: features must be [B, C, H, W]");
  TORCH_CHECK(rois.dim() == 2 && rois.size(1) == 5, "prroi_pool: rois must be [K, 5]");
  TORCH_CHECK(features.scalar_type() == rois.scalar_type(), "prroi_pool: features and rois dtypes differ");
  TORCH_CHECK(ph >= 1 && pw >= 1, "prroi_pool: the output size must be positive, got ", ph, " x ", pw);
  check_cuda(features, "features");
  check_cuda(rois, "rois");
  return cuda::PrroiShape{features.size(0), features.size(1), features.size(2), features.size(3),
                          rois.size(0),     ph,               pw,               spatial_scale};
}

at::Tensor prroi_pool_cuda(const at::Tensor& features_in, const at::Tensor& rois_in, int64_t ph, int64_t pw,
                           double spatial_scale) {
  const cuda::PrroiShape s = shape_of(features_in, rois_in, ph, pw, spatial_scale);
  const c10::cuda::CUDAGuard guard(features_in.device());
  const at::Tensor features = features_in.contiguous(), rois = rois_in.contiguous();
  at::Tensor out = at::empty({s.rois, s.channels, ph, pw}, features.options());
  const int64_t total = out.numel();
  if (total == 0) return out;
  AT_DISPATCH_FLOATING_TYPES(features.scalar_type(), "prroi_pool_cuda", [&] {
    cuda::prroi_pool_forward_kernel<scalar_t><<<cuda::grid_for(total), cuda::kThreads, 0, current_stream()>>>(
        features.data_ptr<scalar_t>(), rois.data_ptr<scalar_t>(), out.data_ptr<scalar_t>(), s);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return out;
}

std::tuple<at::Tensor, at::Tensor> prroi_pool_backward_cuda(const at::Tensor& grad_in, const at::Tensor& features_in,
                                                            const at::Tensor& rois_in, int64_t ph, int64_t pw,
                                                            double spatial_scale, bool features_grad,
                                                            bool rois_grad) {
  const cuda::PrroiShape s = shape_of(features_in, rois_in, ph, pw, spatial_scale);
  TORCH_CHECK(grad_in.dim() == 4 && grad_in.size(0) == s.rois && grad_in.size(1) == s.channels &&
                  grad_in.size(2) == ph && grad_in.size(3) == pw,
              "prroi_pool backward: grad must be [K, C, ph, pw]");
  TORCH_CHECK(grad_in.scalar_type() == features_in.scalar_type(), "prroi_pool backward: dtypes differ");
  const c10::cuda::CUDAGuard guard(features_in.device());
  const at::Tensor grad = grad_in.contiguous(), features = features_in.contiguous(), rois = rois_in.contiguous();
  at::Tensor grad_features = at::zeros_like(features), grad_rois = at::zeros_like(rois);
  const int64_t total = grad.numel();
  if (total == 0) return {grad_features, grad_rois};
  AT_DISPATCH_FLOATING_TYPES(features.scalar_type(), "prroi_pool_backward_cuda", [&] {
    if (features_grad) {
      cuda::prroi_pool_features_grad_kernel<scalar_t>
          <<<cuda::grid_for(total), cuda::kThreads, 0, current_stream()>>>(
              grad.data_ptr<scalar_t>(), rois.data_ptr<scalar_t>(), grad_features.data_ptr<scalar_t>(), s);
      C10_CUDA_KERNEL_LAUNCH_CHECK();
    }
    if (rois_grad) {
      cuda::prroi_pool_rois_grad_kernel<scalar_t><<<cuda::grid_for(total), cuda::kThreads, 0, current_stream()>>>(
          grad.data_ptr<scalar_t>(), features.data_ptr<scalar_t>(), rois.data_ptr<scalar_t>(),
          grad_rois.data_ptr<scalar_t>(), s);
      C10_CUDA_KERNEL_LAUNCH_CHECK();
    }
  });
  return {grad_features, grad_rois};
}

}  // namespace

TORCH_LIBRARY_IMPL(trackerzoo, CUDA, m) {
  m.impl("prroi_pool", &prroi_pool_cuda);
  m.impl("_prroi_pool_backward", &prroi_pool_backward_cuda);
}

}  // namespace ops
}  // namespace trackerzoo
