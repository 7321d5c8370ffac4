// DCF normal operator and conjugate gradient on CUDA. The operator is a cuDNN forward
// convolution (X f), a per-sample weighting and a cuDNN filter-gradient convolution (X^T r);
// the CG reductions and updates are the kernels of dcf_cg_kernels.cuh, with the CG scalars in
// device memory: the loop has no host synchronisation and can be captured in a CUDA graph.
#include <torch/library.h>

#include <array>
#include <limits>

#include "ops/common/cuda_glue.h"
#include "ops/dcf_cg/cuda/dcf_cg_kernels.cuh"

namespace trackerzoo {
namespace ops {
namespace {

void check_problem(const at::Tensor& x, const at::Tensor& w, const at::Tensor& filt, at::IntArrayRef padding) {
  TORCH_CHECK(x.dim() == 4 && filt.dim() == 4, "dcf: x and filt must be 4-D");
  TORCH_CHECK(filt.size(1) == x.size(1), "dcf: filt and x channels differ");
  TORCH_CHECK(w.dim() == 1 && w.size(0) == x.size(0), "dcf: sample_weights must be [N]");
  TORCH_CHECK(padding.size() == 2 && padding[0] >= 0 && padding[1] >= 0, "dcf: padding must be two ints >= 0");
  TORCH_CHECK(x.scalar_type() == filt.scalar_type() && x.scalar_type() == w.scalar_type(), "dcf: dtypes differ");
  check_cuda(x, "x");
  check_cuda(w, "sample_weights");
  check_cuda(filt, "filt");
}

// sum_n w_n X_n^T r_n for responses r = X f already weighted.
at::Tensor adjoint(const at::Tensor& x, const at::Tensor& weighted_resp, const at::Tensor& filt,
                   at::IntArrayRef padding) {
  const std::array<bool, 3> mask{false, true, false};
  auto grads = at::convolution_backward(weighted_resp, x, filt, c10::nullopt, {1, 1}, padding, {1, 1}, false,
                                        {0, 0}, 1, mask);
  return std::get<1>(grads);
}

at::Tensor normal_apply(const at::Tensor& x, const at::Tensor& w, const at::Tensor& filt, double reg,
                        at::IntArrayRef padding) {
  const at::Tensor resp = at::conv2d(x, filt, {}, {1, 1}, padding) * w.view({-1, 1, 1, 1});
  return at::add(adjoint(x, resp, filt, padding), filt, reg).contiguous();
}

at::Tensor dcf_normal_apply_cuda(const at::Tensor& x_in, const at::Tensor& w_in, const at::Tensor& filt_in,
                                 double reg, at::IntArrayRef padding) {
  check_problem(x_in, w_in, filt_in, padding);
  const c10::cuda::CUDAGuard guard(x_in.device());
  return normal_apply(x_in.contiguous(), w_in.contiguous(), filt_in.contiguous(), reg, padding);
}

at::Tensor dcf_cg_cuda(const at::Tensor& x_in, const at::Tensor& y_in, const at::Tensor& w_in,
                       const at::Tensor& filt_in, double reg, at::IntArrayRef padding, int64_t num_iters) {
  check_problem(x_in, w_in, filt_in, padding);
  check_cuda(y_in, "y");
  TORCH_CHECK(num_iters >= 0, "dcf_cg: num_iters must be >= 0");
  const c10::cuda::CUDAGuard guard(x_in.device());
  const at::Tensor x = x_in.contiguous(), w = w_in.contiguous(), y = y_in.contiguous();
  at::Tensor f = filt_in.contiguous().clone();
  if (num_iters == 0 || f.numel() == 0) return f;
  const int64_t m = f.numel();
  const at::Tensor rhs = adjoint(x, y * w.view({-1, 1, 1, 1}), f, padding).contiguous();
  at::Tensor r = at::empty_like(f), p = at::empty_like(f);
  at::Tensor scalars = at::zeros({cuda::kCgScalars}, f.options());
  const cudaStream_t stream = current_stream();
  AT_DISPATCH_FLOATING_TYPES(f.scalar_type(), "dcf_cg_cuda", [&] {
    using T = scalar_t;
    const T tiny = std::numeric_limits<T>::min();
    T* sc = scalars.data_ptr<T>();
    const at::Tensor af = normal_apply(x, w, f, reg, padding);
    cuda::cg_start_kernel<T><<<1, cuda::kCgThreads, 0, stream>>>(rhs.data_ptr<T>(), af.data_ptr<T>(),
                                                                 r.data_ptr<T>(), p.data_ptr<T>(), m, sc);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    for (int64_t it = 0; it < num_iters; ++it) {
      const at::Tensor q = normal_apply(x, w, p, reg, padding);
      cuda::cg_dot_kernel<T><<<1, cuda::kCgThreads, 0, stream>>>(p.data_ptr<T>(), q.data_ptr<T>(), m,
                                                                 sc + cuda::kPq);
      C10_CUDA_KERNEL_LAUNCH_CHECK();
      cuda::cg_step_kernel<T><<<1, cuda::kCgThreads, 0, stream>>>(f.data_ptr<T>(), r.data_ptr<T>(),
                                                                  p.data_ptr<T>(), q.data_ptr<T>(), m, sc, tiny);
      C10_CUDA_KERNEL_LAUNCH_CHECK();
      cuda::cg_direction_kernel<T><<<1, cuda::kCgThreads, 0, stream>>>(r.data_ptr<T>(), p.data_ptr<T>(), m, sc,
                                                                       tiny);
      C10_CUDA_KERNEL_LAUNCH_CHECK();
    }
  });
  return f;
}

}  // namespace

TORCH_LIBRARY_IMPL(trackerzoo, CUDA, m) {
  m.impl("dcf_normal_apply", &dcf_normal_apply_cuda);
  m.impl("dcf_cg", &dcf_cg_cuda);
}

}  // namespace ops
}  // namespace trackerzoo
