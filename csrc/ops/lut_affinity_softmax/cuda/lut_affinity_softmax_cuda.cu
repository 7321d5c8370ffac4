// lut_affinity_softmax CUDA entry points: ATen glue around lut_affinity_softmax_kernels.cuh.
#include <torch/library.h>

#include <algorithm>
#include <tuple>

#include "ops/common/cuda_glue.h"
#include "ops/lut_affinity_softmax/cuda/lut_affinity_softmax_kernels.cuh"

namespace trackerzoo {
namespace ops {
namespace {

constexpr int64_t kMaxPerLane = 8;  // values per lane: a warp covers up to 256 channels at once
constexpr int kBlock = cuda::kLutWarps * cuda::kWarp;

cuda::LutShape shape_of(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v) {
  TORCH_CHECK(q.dim() == 3 && k.dim() == 3 && v.dim() == 3, "lut_affinity_softmax: inputs must be 3-D");
  TORCH_CHECK(k.size(0) == q.size(0) && k.size(2) == q.size(2), "lut_affinity_softmax: keys must be [B, K, C]");
  TORCH_CHECK(v.size(0) == k.size(0) && v.size(1) == k.size(1), "lut_affinity_softmax: values must be [B, K, D]");
  TORCH_CHECK(k.size(1) >= 1, "lut_affinity_softmax: needs at least one key");
  TORCH_CHECK(q.scalar_type() == k.scalar_type() && q.scalar_type() == v.scalar_type(),
              "lut_affinity_softmax: dtypes differ");
  check_cuda(q, "query");
  check_cuda(k, "keys");
  check_cuda(v, "values");
  return cuda::LutShape{q.size(0), q.size(1), k.size(1), q.size(2), v.size(2)};
}

int per_lane(int64_t width) {
  const int64_t need = (width + cuda::kWarp - 1) / cuda::kWarp;
  return need <= 1 ? 1 : need <= 2 ? 2 : need <= 4 ? 4 : 8;
}

// Calls fn(std::integral_constant<int, P>) with P the per-lane count for `width`.
template <typename Fn>
void with_per_lane(int64_t width, Fn&& fn) {
  switch (per_lane(width)) {
    case 1: fn(std::integral_constant<int, 1>()); break;
    case 2: fn(std::integral_constant<int, 2>()); break;
    case 4: fn(std::integral_constant<int, 4>()); break;
    default: fn(std::integral_constant<int, 8>());
  }
}

std::tuple<at::Tensor, at::Tensor> lut_forward_cuda(const at::Tensor& q_in, const at::Tensor& k_in,
                                                    const at::Tensor& v_in, double scale) {
  const cuda::LutShape s = shape_of(q_in, k_in, v_in);
  const c10::cuda::CUDAGuard guard(q_in.device());
  const at::Tensor q = q_in.contiguous(), k = k_in.contiguous(), v = v_in.contiguous();
  at::Tensor out = at::empty({s.batch, s.n, s.d}, q.options());
  at::Tensor lse = at::empty({s.batch, s.n}, q.options());
  const int64_t rows = s.batch * s.n;
  if (rows == 0) return {out, lse};
  const unsigned blocks = cuda::grid_for(rows, cuda::kLutWarps, 65535);
  AT_DISPATCH_FLOATING_TYPES(q.scalar_type(), "lut_affinity_softmax_cuda", [&] {
    const size_t smem = sizeof(scalar_t) * cuda::kLutWarps * s.c;
    // Values wider than one warp pass are done in column slices; each slice recomputes the
    // (cheap) logits, and the first one writes the log-sum-exp.
    const int64_t slice = kMaxPerLane * cuda::kWarp;
    for (int64_t d0 = 0; d0 < std::max<int64_t>(s.d, 1); d0 += slice) {
      const int64_t count = std::min(slice, s.d - d0);
      with_per_lane(count, [&](auto per) {
        cuda::lut_forward_kernel<scalar_t, decltype(per)::value><<<blocks, kBlock, smem, current_stream()>>>(
            q.data_ptr<scalar_t>(), k.data_ptr<scalar_t>(), v.data_ptr<scalar_t>(), out.data_ptr<scalar_t>(),
            d0 == 0 ? lse.data_ptr<scalar_t>() : nullptr, s, static_cast<scalar_t>(scale), d0, count);
        C10_CUDA_KERNEL_LAUNCH_CHECK();
      });
    }
  });
  return {out, lse};
}

at::Tensor lut_cuda(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, double scale) {
  return std::get<0>(lut_forward_cuda(q, k, v, scale));
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> lut_backward_cuda(const at::Tensor& grad_in, const at::Tensor& q_in,
                                                                 const at::Tensor& k_in, const at::Tensor& v_in,
                                                                 const at::Tensor& out_in, const at::Tensor& lse_in,
                                                                 double scale) {
  const cuda::LutShape s = shape_of(q_in, k_in, v_in);
  TORCH_CHECK(std::max(s.c, s.d) <= kMaxPerLane * cuda::kWarp,
              "lut_affinity_softmax CUDA backward supports C, D <= ", kMaxPerLane * cuda::kWarp, ", got C=", s.c,
              " D=", s.d);
  const c10::cuda::CUDAGuard guard(q_in.device());
  const at::Tensor q = q_in.contiguous(), k = k_in.contiguous(), v = v_in.contiguous();
  const at::Tensor grad = grad_in.contiguous(), out = out_in.contiguous(), lse = lse_in.contiguous();
  at::Tensor gq = at::zeros_like(q), gk = at::zeros_like(k), gv = at::zeros_like(v);
  if (s.batch * s.n == 0) return {gq, gk, gv};
  at::Tensor delta = at::empty({s.batch, s.n}, q.options());
  AT_DISPATCH_FLOATING_TYPES(q.scalar_type(), "lut_affinity_softmax_backward_cuda", [&] {
    const scalar_t sc = static_cast<scalar_t>(scale);
    const int64_t rows = s.batch * s.n;
    cuda::lut_delta_kernel<scalar_t><<<cuda::grid_for(rows, cuda::kLutWarps, 65535), kBlock, 0, current_stream()>>>(
        grad.data_ptr<scalar_t>(), out.data_ptr<scalar_t>(), delta.data_ptr<scalar_t>(), rows, s.d);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    const size_t smem = sizeof(scalar_t) * cuda::kLutWarps * (s.c + s.d);
    with_per_lane(std::max(s.c, s.d), [&](auto per) {
      constexpr int P = decltype(per)::value;
      cuda::lut_grad_query_kernel<scalar_t, P>
          <<<cuda::grid_for(rows, cuda::kLutWarps, 65535), kBlock, smem, current_stream()>>>(
              q.data_ptr<scalar_t>(), k.data_ptr<scalar_t>(), v.data_ptr<scalar_t>(), grad.data_ptr<scalar_t>(),
              lse.data_ptr<scalar_t>(), delta.data_ptr<scalar_t>(), gq.data_ptr<scalar_t>(), s, sc);
      C10_CUDA_KERNEL_LAUNCH_CHECK();
      cuda::lut_grad_key_value_kernel<scalar_t, P>
          <<<cuda::grid_for(s.batch * s.k, cuda::kLutWarps, 65535), kBlock, smem, current_stream()>>>(
              q.data_ptr<scalar_t>(), k.data_ptr<scalar_t>(), v.data_ptr<scalar_t>(), grad.data_ptr<scalar_t>(),
              lse.data_ptr<scalar_t>(), delta.data_ptr<scalar_t>(), gk.data_ptr<scalar_t>(),
              gv.data_ptr<scalar_t>(), s, sc);
      C10_CUDA_KERNEL_LAUNCH_CHECK();
    });
  });
  return {gq, gk, gv};
}

}  // namespace

TORCH_LIBRARY_IMPL(trackerzoo, CUDA, m) {
  m.impl("lut_affinity_softmax", &lut_cuda);
  m.impl("_lut_affinity_softmax_forward", &lut_forward_cuda);
  m.impl("_lut_affinity_softmax_backward", &lut_backward_cuda);
}

}  // namespace ops
}  // namespace trackerzoo
