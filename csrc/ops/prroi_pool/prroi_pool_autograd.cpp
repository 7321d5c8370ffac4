// Autograd kernel of trackerzoo::prroi_pool. The forward redispatches below autograd (to the CPU
// or CUDA kernel of the inputs' device); the backward calls trackerzoo::_prroi_pool_backward
// through the dispatcher for the gradients of the features and of the box coordinates.
#include <torch/autograd.h>
#include <torch/library.h>

#include <tuple>

#include "ops/common/op_call.h"

namespace trackerzoo {
namespace ops {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

at::Tensor prroi_pool_call(const at::Tensor& features, const at::Tensor& rois, int64_t ph, int64_t pw,
                           double spatial_scale) {
  static const auto op = typed_op<decltype(prroi_pool_call)>("trackerzoo::prroi_pool");
  return op.call(features, rois, ph, pw, spatial_scale);
}

std::tuple<at::Tensor, at::Tensor> prroi_pool_backward_call(const at::Tensor& grad, const at::Tensor& features,
                                                            const at::Tensor& rois, int64_t ph, int64_t pw,
                                                            double spatial_scale, bool features_grad,
                                                            bool rois_grad) {
  static const auto op = typed_op<decltype(prroi_pool_backward_call)>("trackerzoo::_prroi_pool_backward");
  return op.call(grad, features, rois, ph, pw, spatial_scale, features_grad, rois_grad);
}

class PrroiPoolFunction : public torch::autograd::Function<PrroiPoolFunction> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& features, const at::Tensor& rois, int64_t ph,
                            int64_t pw, double spatial_scale) {
    at::AutoDispatchBelowADInplaceOrView guard;
    ctx->save_for_backward({features, rois});
    ctx->saved_data["ph"] = ph;
    ctx->saved_data["pw"] = pw;
    ctx->saved_data["spatial_scale"] = spatial_scale;
    return prroi_pool_call(features, rois, ph, pw, spatial_scale);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    auto result = prroi_pool_backward_call(grads[0], saved[0], saved[1], ctx->saved_data["ph"].toInt(),
                                           ctx->saved_data["pw"].toInt(), ctx->saved_data["spatial_scale"].toDouble(),
                                           ctx->needs_input_grad(0), ctx->needs_input_grad(1));
    return {std::get<0>(result), std::get<1>(result), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

at::Tensor prroi_pool_autograd(const at::Tensor& features, const at::Tensor& rois, int64_t ph, int64_t pw,
                               double spatial_scale) {
  return PrroiPoolFunction::apply(features, rois, ph, pw, spatial_scale);
}

}  // namespace

TORCH_LIBRARY_IMPL(trackerzoo, Autograd, m) {
  m.impl("prroi_pool", &prroi_pool_autograd);
}

}  // namespace ops
}  // namespace trackerzoo
