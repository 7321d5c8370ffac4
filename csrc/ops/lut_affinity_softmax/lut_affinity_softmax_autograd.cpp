// Autograd kernel of trackerzoo::lut_affinity_softmax: the forward runs
// trackerzoo::_lut_affinity_softmax_forward below autograd and keeps its log-sum-exp; the
// backward calls trackerzoo::_lut_affinity_softmax_backward through the dispatcher.
#include <torch/autograd.h>
#include <torch/library.h>

#include <tuple>

#include "ops/common/op_call.h"

namespace trackerzoo {
namespace ops {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

std::tuple<at::Tensor, at::Tensor> lut_forward_call(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                                    double scale) {
  static const auto op = typed_op<decltype(lut_forward_call)>("trackerzoo::_lut_affinity_softmax_forward");
  return op.call(q, k, v, scale);
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> lut_backward_call(const at::Tensor& g, const at::Tensor& q,
                                                                 const at::Tensor& k, const at::Tensor& v,
                                                                 const at::Tensor& out, const at::Tensor& lse,
                                                                 double scale) {
  static const auto op = typed_op<decltype(lut_backward_call)>("trackerzoo::_lut_affinity_softmax_backward");
  return op.call(g, q, k, v, out, lse, scale);
}

class LutFunction : public torch::autograd::Function<LutFunction> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                            double scale) {
    at::AutoDispatchBelowADInplaceOrView guard;
    auto result = lut_forward_call(q, k, v, scale);
    ctx->save_for_backward({q, k, v, std::get<0>(result), std::get<1>(result)});
    ctx->saved_data["scale"] = scale;
    return std::get<0>(result);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto s = ctx->get_saved_variables();
    auto result = lut_backward_call(grads[0], s[0], s[1], s[2], s[3], s[4], ctx->saved_data["scale"].toDouble());
    return {std::get<0>(result), std::get<1>(result), std::get<2>(result), at::Tensor()};
  }
};

at::Tensor lut_autograd(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, double scale) {
  return LutFunction::apply(q, k, v, scale);
}

}  // namespace

TORCH_LIBRARY_IMPL(trackerzoo, Autograd, m) {
  m.impl("lut_affinity_softmax", &lut_autograd);
}

}  // namespace ops
}  // namespace trackerzoo
