// dw_xcorr on the CPU: forward and both input gradients, one plane (b, c) per task.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <tuple>

#include "ops/common/cpu_xcorr2d.h"

namespace trackerzoo {
namespace ops {
namespace {

template <typename T>
void run_planes(const cpu::XcorrPlanes<T>& a, int64_t planes) {
  const int64_t work = std::max<int64_t>(1, a.out_h * a.out_w * a.ker_h * a.ker_w);
  const int64_t grain = std::max<int64_t>(1, (1 << 16) / work);
  at::parallel_for(0, planes, grain, [&](int64_t begin, int64_t end) {
    cpu::xcorr_planes_dispatch<T>(a, begin, end);
  });
}

void check_inputs(const at::Tensor& search, const at::Tensor& kernel) {
  TORCH_CHECK(search.dim() == 4 && kernel.dim() == 4, "dw_xcorr: search and kernel must be 4-D");
  TORCH_CHECK(search.size(0) == kernel.size(0) && search.size(1) == kernel.size(1),
              "dw_xcorr: search and kernel must agree in batch and channels");
  TORCH_CHECK(kernel.size(2) <= search.size(2) && kernel.size(3) <= search.size(3),
              "dw_xcorr: kernel larger than search");
  TORCH_CHECK(search.scalar_type() == kernel.scalar_type(), "dw_xcorr: dtypes differ");
}

at::Tensor dw_xcorr_cpu(const at::Tensor& search_in, const at::Tensor& kernel_in) {
  check_inputs(search_in, kernel_in);
  const at::Tensor search = search_in.contiguous();
  const at::Tensor kernel = kernel_in.contiguous();
  const int64_t b = search.size(0), c = search.size(1), h = search.size(2), w = search.size(3);
  const int64_t kh = kernel.size(2), kw = kernel.size(3);
  at::Tensor out = at::empty({b, c, h - kh + 1, w - kw + 1}, search.options());
  if (out.numel() == 0) return out;
  AT_DISPATCH_FLOATING_TYPES(search.scalar_type(), "dw_xcorr_cpu", [&] {
    cpu::XcorrPlanes<scalar_t> a{search.data_ptr<scalar_t>(), h, w, 0, 0, h * w,
                                 kernel.data_ptr<scalar_t>(), kh, kw, kh * kw, false,
                                 out.data_ptr<scalar_t>(), h - kh + 1, w - kw + 1, (h - kh + 1) * (w - kw + 1)};
    run_planes(a, b * c);
  });
  return out;
}

std::tuple<at::Tensor, at::Tensor> dw_xcorr_backward_cpu(const at::Tensor& grad_in, const at::Tensor& search_in,
                                                         const at::Tensor& kernel_in) {
  check_inputs(search_in, kernel_in);
  const at::Tensor grad = grad_in.contiguous();
  const at::Tensor search = search_in.contiguous();
  const at::Tensor kernel = kernel_in.contiguous();
  const int64_t b = search.size(0), c = search.size(1), h = search.size(2), w = search.size(3);
  const int64_t kh = kernel.size(2), kw = kernel.size(3), ho = h - kh + 1, wo = w - kw + 1;
  TORCH_CHECK(grad.sizes() == at::IntArrayRef({b, c, ho, wo}), "dw_xcorr backward: bad grad shape");
  at::Tensor grad_search = at::empty_like(search);
  at::Tensor grad_kernel = at::empty_like(kernel);
  if (search.numel() == 0) return {grad_search, grad_kernel};
  AT_DISPATCH_FLOATING_TYPES(search.scalar_type(), "dw_xcorr_backward_cpu", [&] {
    // d search = full correlation of the gradient with the flipped kernel.
    cpu::XcorrPlanes<scalar_t> gs{grad.data_ptr<scalar_t>(), ho, wo, kh - 1, kw - 1, ho * wo,
                                  kernel.data_ptr<scalar_t>(), kh, kw, kh * kw, true,
                                  grad_search.data_ptr<scalar_t>(), h, w, h * w};
    run_planes(gs, b * c);
    // d kernel = valid correlation of the search plane with the gradient plane.
    cpu::XcorrPlanes<scalar_t> gk{search.data_ptr<scalar_t>(), h, w, 0, 0, h * w,
                                  grad.data_ptr<scalar_t>(), ho, wo, ho * wo, false,
                                  grad_kernel.data_ptr<scalar_t>(), kh, kw, kh * kw};
    run_planes(gk, b * c);
  });
  return {grad_search, grad_kernel};
}

}  // namespace

TORCH_LIBRARY_IMPL(trackerzoo, CPU, m) {
  m.impl("dw_xcorr", &dw_xcorr_cpu);
  m.impl("_dw_xcorr_backward", &dw_xcorr_backward_cpu);
}

}  // namespace ops
}  // namespace trackerzoo
