// trackerzoo::prroi_pool: Precise RoI Pooling (Jiang et al., ECCV 2018), features [B, C, H, W] and
// rois [K, 5] (batch_index, x1, y1, x2, y2) -> [K, C, pooled_height, pooled_width]. The bin
// maths: prroi_math.h; kernels: cpu/ and cuda/; autograd: prroi_pool_autograd.cpp; fake kernel,
// wrapper and reference: trackerzoo/ops/_fake.py, functional.py, _reference.py.
#include <torch/library.h>

TORCH_LIBRARY_FRAGMENT(trackerzoo, m) {
  m.set_python_module("trackerzoo.ops._fake");
  m.def(
      "prroi_pool(Tensor features, Tensor rois, int pooled_height, int pooled_width, float spatial_scale) "
      "-> Tensor");
  // Gradients with respect to (features, rois) for the Autograd kernel; a part whose flag is
  // false is returned as zeros without being computed. The batch-index column gets zero.
  m.def(
      "_prroi_pool_backward(Tensor grad, Tensor features, Tensor rois, int pooled_height, int pooled_width, "
      "float spatial_scale, bool features_grad, bool rois_grad) -> (Tensor, Tensor)");
}
