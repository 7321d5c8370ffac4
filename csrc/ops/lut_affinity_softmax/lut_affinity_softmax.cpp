// trackerzoo::lut_affinity_softmax: softmax(scale * query @ keys^T) @ values without the N x K
// matrix; query [B, N, C], keys [B, K, C], values [B, K, D] -> [B, N, D]. Kernels: cpu/ and
// cuda/; autograd: lut_affinity_softmax_autograd.cpp; fake kernel, wrapper and reference:
// trackerzoo/ops/_fake.py, functional.py, _reference.py.
#include <torch/library.h>

TORCH_LIBRARY_FRAGMENT(trackerzoo, m) {
  m.set_python_module("trackerzoo.ops._fake");
  m.def("lut_affinity_softmax(Tensor query, Tensor keys, Tensor values, float scale) -> Tensor");
  // The forward that also returns the per-row log-sum-exp [B, N] the backward needs.
  m.def(
      "_lut_affinity_softmax_forward(Tensor query, Tensor keys, Tensor values, float scale) "
      "-> (Tensor, Tensor)");
  // Gradients with respect to (query, keys, values) from the saved output and log-sum-exp.
  m.def(
      "_lut_affinity_softmax_backward(Tensor grad, Tensor query, Tensor keys, Tensor values, "
      "Tensor out, Tensor lse, float scale) -> (Tensor, Tensor, Tensor)");
}
