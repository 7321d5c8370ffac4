// dw_xcorr CUDA entry points: ATen glue around dw_xcorr_kernels.cuh.
#include <torch/library.h>

#include <tuple>

#include "ops/common/cuda_glue.h"
#include "ops/dw_xcorr/cuda/dw_xcorr_kernels.cuh"

namespace trackerzoo {
namespace ops {
namespace {

cuda::XcorrShape shape_of(const at::Tensor& search, const at::Tensor& kernel) {
  TORCH_CHECK(search.dim() == 4 && kernel.dim() == 4, "dw_xcorr: search and kernel must be 4-D");
  TORCH_CHECK(search.size(0) == kernel.size(0) && search.size(1) == kernel.size(1),
              "dw_xcorr: search and kernel must agree in batch and channels");
  TORCH_CHECK(kernel.size(2) <= search.size(2) && kernel.size(3) <= search.size(3),
              "dw_xcorr: kernel larger than search");
  TORCH_CHECK(search.scalar_type() == kernel.scalar_type(), "dw_xcorr: dtypes differ");
  check_cuda(search, "search");
  check_cuda(kernel, "kernel");
  const int64_t h = search.size(2), w = search.size(3), kh = kernel.size(2), kw = kernel.size(3);
  return cuda::XcorrShape{search.size(0) * search.size(1), h, w, kh, kw, h - kh + 1, w - kw + 1};
}

at::Tensor dw_xcorr_cuda(const at::Tensor& search_in, const at::Tensor& kernel_in) {
  const cuda::XcorrShape s = shape_of(search_in, kernel_in);
  const c10::cuda::CUDAGuard guard(search_in.device());
  const at::Tensor search = search_in.contiguous(), kernel = kernel_in.contiguous();
  at::Tensor out = at::empty({search.size(0), search.size(1), s.ho, s.wo}, search.options());
  const int64_t total = out.numel();
  if (total == 0) return out;
  AT_DISPATCH_FLOATING_TYPES(search.scalar_type(), "dw_xcorr_cuda", [&] {
    cuda::dw_xcorr_forward_kernel<scalar_t><<<cuda::grid_for(total), cuda::kThreads, 0, current_stream()>>>(
        search.data_ptr<scalar_t>(), kernel.data_ptr<scalar_t>(), out.data_ptr<scalar_t>(), s);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return out;
}

std::tuple<at::Tensor, at::Tensor> dw_xcorr_backward_cuda(const at::Tensor& grad_in, const at::Tensor& search_in,
                                                          const at::Tensor& kernel_in) {
  const cuda::XcorrShape s = shape_of(search_in, kernel_in);
  const c10::cuda::CUDAGuard guard(search_in.device());
  const at::Tensor grad = grad_in.contiguous(), search = search_in.contiguous(), kernel = kernel_in.contiguous();
  TORCH_CHECK(grad.numel() == s.planes * s.ho * s.wo, "dw_xcorr backward: bad grad shape");
  at::Tensor grad_search = at::empty_like(search), grad_kernel = at::empty_like(kernel);
  if (search.numel() == 0) return {grad_search, grad_kernel};
  AT_DISPATCH_FLOATING_TYPES(search.scalar_type(), "dw_xcorr_backward_cuda", [&] {
    cuda::dw_xcorr_grad_search_kernel<scalar_t>
        <<<cuda::grid_for(search.numel()), cuda::kThreads, 0, current_stream()>>>(
            grad.data_ptr<scalar_t>(), kernel.data_ptr<scalar_t>(), grad_search.data_ptr<scalar_t>(), s);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    const int64_t warps_needed = kernel.numel();
    cuda::dw_xcorr_grad_kernel_kernel<scalar_t>
        <<<cuda::grid_for(warps_needed * cuda::kWarp), cuda::kThreads, 0, current_stream()>>>(
            grad.data_ptr<scalar_t>(), search.data_ptr<scalar_t>(), grad_kernel.data_ptr<scalar_t>(), s);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return {grad_search, grad_kernel};
}

}  // namespace

TORCH_LIBRARY_IMPL(trackerzoo, CUDA, m) {
  m.impl("dw_xcorr", &dw_xcorr_cuda);
  m.impl("_dw_xcorr_backward", &dw_xcorr_backward_cuda);
}

}  // namespace ops
}  // namespace trackerzoo
