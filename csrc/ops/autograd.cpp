// Autograd for the differentiable ops. Each forward redispatches below autograd (to the CPU
// or CUDA kernel of the inputs' device) and each backward calls that device's backward
// kernel through the dispatcher, so gradients never silently fall back to the reference.
#include <ATen/core/dispatch/Dispatcher.h>
#include <torch/autograd.h>
#include <torch/library.h>

#include <tuple>

namespace trackerzoo {
namespace ops {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// ---- dw_xcorr --------------------------------------------------------------------------
at::Tensor dw_xcorr_call(const at::Tensor& search, const at::Tensor& kernel) {
  static auto op = c10::Dispatcher::singleton().findSchemaOrThrow("trackerzoo::dw_xcorr", "").typed<decltype(dw_xcorr_call)>();
  return op.call(search, kernel);
}

std::tuple<at::Tensor, at::Tensor> dw_xcorr_backward_call(const at::Tensor& grad, const at::Tensor& search,
                                                          const at::Tensor& kernel) {
  static auto op = c10::Dispatcher::singleton()
                       .findSchemaOrThrow("trackerzoo::_dw_xcorr_backward", "")
                       .typed<decltype(dw_xcorr_backward_call)>();
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

// ---- pyramid_roi_align ----------------------------------------------------------------
at::Tensor roi_call(const at::Tensor& features, const at::Tensor& rois, at::IntArrayRef sizes, double scale,
                    int64_t ratio, bool aligned) {
  static auto op = c10::Dispatcher::singleton()
                       .findSchemaOrThrow("trackerzoo::pyramid_roi_align", "")
                       .typed<decltype(roi_call)>();
  return op.call(features, rois, sizes, scale, ratio, aligned);
}

at::Tensor roi_backward_call(const at::Tensor& grad, const at::Tensor& rois, at::IntArrayRef sizes, double scale,
                             int64_t ratio, bool aligned, int64_t b, int64_t c, int64_t h, int64_t w) {
  static auto op = c10::Dispatcher::singleton()
                       .findSchemaOrThrow("trackerzoo::_pyramid_roi_align_backward", "")
                       .typed<decltype(roi_backward_call)>();
  return op.call(grad, rois, sizes, scale, ratio, aligned, b, c, h, w);
}

class PyramidRoiAlignFunction : public torch::autograd::Function<PyramidRoiAlignFunction> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& features, const at::Tensor& rois,
                            at::IntArrayRef sizes, double scale, int64_t ratio, bool aligned) {
    at::AutoDispatchBelowADInplaceOrView guard;
    ctx->save_for_backward({rois});
    ctx->saved_data["sizes"] = sizes.vec();
    ctx->saved_data["scale"] = scale;
    ctx->saved_data["ratio"] = ratio;
    ctx->saved_data["aligned"] = aligned;
    ctx->saved_data["shape"] = features.sizes().vec();
    return roi_call(features, rois, sizes, scale, ratio, aligned);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto rois = ctx->get_saved_variables()[0];
    const auto sizes = ctx->saved_data["sizes"].toIntVector();
    const auto shape = ctx->saved_data["shape"].toIntVector();
    at::Tensor grad_features =
        roi_backward_call(grads[0], rois, sizes, ctx->saved_data["scale"].toDouble(),
                          ctx->saved_data["ratio"].toInt(), ctx->saved_data["aligned"].toBool(), shape[0], shape[1],
                          shape[2], shape[3]);
    return {grad_features, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

at::Tensor roi_autograd(const at::Tensor& features, const at::Tensor& rois, at::IntArrayRef sizes, double scale,
                        int64_t ratio, bool aligned) {
  return PyramidRoiAlignFunction::apply(features, rois, sizes, scale, ratio, aligned);
}

// ---- lut_affinity_softmax -------------------------------------------------------------
std::tuple<at::Tensor, at::Tensor> lut_forward_call(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                                    double scale) {
  static auto op = c10::Dispatcher::singleton()
                       .findSchemaOrThrow("trackerzoo::_lut_affinity_softmax_forward", "")
                       .typed<decltype(lut_forward_call)>();
  return op.call(q, k, v, scale);
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> lut_backward_call(const at::Tensor& g, const at::Tensor& q,
                                                                 const at::Tensor& k, const at::Tensor& v,
                                                                 const at::Tensor& out, const at::Tensor& lse,
                                                                 double scale) {
  static auto op = c10::Dispatcher::singleton()
                       .findSchemaOrThrow("trackerzoo::_lut_affinity_softmax_backward", "")
                       .typed<decltype(lut_backward_call)>();
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
  m.impl("dw_xcorr", &dw_xcorr_autograd);
  m.impl("pyramid_roi_align", &roi_autograd);
  m.impl("lut_affinity_softmax", &lut_autograd);
}

}  // namespace ops
}  // namespace trackerzoo
