// trackerzoo::dw_xcorr: depth-wise valid cross-correlation, [B, C, H, W] x [B, C, h, w] ->
// [B, C, H-h+1, W-w+1]. Kernels: cpu/ and cuda/; autograd: dw_xcorr_autograd.cpp; fake kernel,
// wrapper and reference: trackerzoo/ops/_fake.py, functional.py, _reference.py.
#include <torch/library.h>

TORCH_LIBRARY_FRAGMENT(trackerzoo, m) {
  m.set_python_module("trackerzoo.ops._fake");
  m.def("dw_xcorr(Tensor search, Tensor kernel) -> Tensor");
  // Gradients of dw_xcorr with respect to (search, kernel), for the Autograd kernel.
  m.def("_dw_xcorr_backward(Tensor grad, Tensor search, Tensor kernel) -> (Tensor, Tensor)");
}
