// trackerzoo::dcf_cg and its building block trackerzoo::dcf_normal_apply: conjugate gradient
// on the DCF normal equations and the normal-equation operator itself. They share the
// correlation kernels of cpu/ and cuda/ and have no Autograd kernel (the reference is
// differentiable). Fake kernels, wrappers and reference: trackerzoo/ops/_fake.py,
// functional.py, _reference.py.
#include <torch/library.h>

TORCH_LIBRARY_FRAGMENT(trackerzoo, m) {
  m.set_python_module("trackerzoo.ops._fake");
  // sum_n w_n X_n^T X_n filt + reg * filt, shaped like filt [F, C, kh, kw].
  m.def("dcf_normal_apply(Tensor x, Tensor sample_weights, Tensor filt, float reg, int[2] padding) -> Tensor");
  // num_iters conjugate-gradient steps from filt, shaped like filt.
  m.def(
      "dcf_cg(Tensor x, Tensor y, Tensor sample_weights, Tensor filt, float reg, int[2] padding, "
      "int num_iters) -> Tensor");
  // Internal (CPU, for tests): the Gram matrix sum_n w_n X_n^T X_n, [C * kh * kw, C * kh * kw],
  // that dcf_cg multiplies by when it has many filters (trackerzoo._C.dcf_cg_plan says when).
  m.def("_dcf_gram(Tensor x, Tensor sample_weights, int[2] kernel, int[2] padding) -> Tensor");
}
