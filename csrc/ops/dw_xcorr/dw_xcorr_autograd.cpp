// Autograd kernel of trackerzoo::dw_xcorr. The forward redispatches below autograd (to the CPU
// or CUDA kernel of the inputs' device); the backward calls trackerzoo::_dw_xcorr_backward
// through the dispatcher, so gradients run on the same device kernels, never the reference.
#include <torch/autograd.h>
#include <torch/library.h>

#include <tuple>

#include "ops/common/op_call.h"

namespace trackerzoo {
namespace ops {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

at::Tensor dw_xcorr_call(const at::Tensor& search, const at::Tensor& kernel) {
  static const auto op = typed_op<decltype(dw_xcorr_call)>("trackerzoo::dw_xcorr");
  return op.call(search, kernel);
}

std::tuple<at::Tensor, at::Tensor> dw_xcorr_backward_call(const at::Tensor& grad, const at::Tensor& search,
                                                          const at::Tensor& kernel) {
  static const auto op = typed_op<decltype(dw_xcorr_backward_call)>("trackerzoo::_dw_xcorr_backward");
  return op.call(grad, search, kernel);
}

class DwXcorrFunction : public torch::autograd::Function<DwXcorrFunction> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& search, const at::Tensor& kernel) {
    at::AutoDispatchBelowADInplaceOrView guard;
    ctx->save_for_backward({search, kernel});
    return dw_xcorr_call(search, kernel);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    auto result = dw_xcorr_backward_call(grads[0], saved[0], saved[1]);
    return {std::get<0>(result), std::get<1>(result)};
  }
};

at::Tensor dw_xcorr_autograd(const at::Tensor& search, const at::Tensor& kernel) {
  return DwXcorrFunction::apply(search, kernel);
}

}  // namespace

TORCH_LIBRARY_IMPL(trackerzoo, Autograd, m) {
  m.impl("dw_xcorr", &dw_xcorr_autograd);
}

}  // namespace ops
}  // namespace trackerzoo
