// Autograd kernel of trackerzoo::pyramid_roi_align: the forward redispatches below autograd;
// the backward calls trackerzoo::_pyramid_roi_align_backward with the gradients of all levels
// (a level whose output was unused arrives as zeros). No gradient flows to the RoIs.
#include <torch/autograd.h>
#include <torch/library.h>

#include <vector>

#include "ops/common/op_call.h"

namespace trackerzoo {
namespace ops {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

std::vector<at::Tensor> roi_call(const at::Tensor& features, const at::Tensor& rois, at::IntArrayRef sizes,
                                 double scale, int64_t ratio, bool aligned) {
  static const auto op = typed_op<decltype(roi_call)>("trackerzoo::pyramid_roi_align");
  return op.call(features, rois, sizes, scale, ratio, aligned);
}

at::Tensor roi_backward_call(at::TensorList grads, const at::Tensor& rois, at::IntArrayRef sizes, double scale,
                             int64_t ratio, bool aligned, c10::SymInt b, c10::SymInt c, c10::SymInt h,
                             c10::SymInt w) {
  static const auto op = typed_op<decltype(roi_backward_call)>("trackerzoo::_pyramid_roi_align_backward");
  return op.call(grads, rois, sizes, scale, ratio, aligned, std::move(b), std::move(c), std::move(h),
                 std::move(w));
}

class PyramidRoiAlignFunction : public torch::autograd::Function<PyramidRoiAlignFunction> {
 public:
  static variable_list forward(AutogradContext* ctx, const at::Tensor& features, const at::Tensor& rois,
                               at::IntArrayRef sizes, double scale, int64_t ratio, bool aligned) {
    at::AutoDispatchBelowADInplaceOrView guard;
    ctx->save_for_backward({rois});
    ctx->saved_data["sizes"] = sizes.vec();
    ctx->saved_data["scale"] = scale;
    ctx->saved_data["ratio"] = ratio;
    ctx->saved_data["aligned"] = aligned;
    ctx->saved_data["shape"] = features.sym_sizes();
    return roi_call(features, rois, sizes, scale, ratio, aligned);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto rois = ctx->get_saved_variables()[0];
    const auto sizes = ctx->saved_data["sizes"].toIntVector();
    const auto shape = ctx->saved_data["shape"].toList();
    at::Tensor grad_features = roi_backward_call(
        grads, rois, sizes, ctx->saved_data["scale"].toDouble(), ctx->saved_data["ratio"].toInt(),
        ctx->saved_data["aligned"].toBool(), shape.get(0).toSymInt(), shape.get(1).toSymInt(),
        shape.get(2).toSymInt(), shape.get(3).toSymInt());
    return {grad_features, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

std::vector<at::Tensor> roi_autograd(const at::Tensor& features, const at::Tensor& rois, at::IntArrayRef sizes,
                                     double scale, int64_t ratio, bool aligned) {
  return PyramidRoiAlignFunction::apply(features, rois, sizes, scale, ratio, aligned);
}

}  // namespace

TORCH_LIBRARY_IMPL(trackerzoo, Autograd, m) {
  m.impl("pyramid_roi_align", &roi_autograd);
}

}  // namespace ops
}  // namespace trackerzoo
