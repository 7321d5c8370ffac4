// trackerzoo::pyramid_roi_align: RoIAlign (torchvision semantics) of the same RoIs at several
// output sizes, one [K, C, s, s] tensor per size (layout: pyramid_levels.h). Kernels: cpu/ and
// cuda/; autograd: pyramid_roi_align_autograd.cpp; fake kernel, wrapper and reference:
// trackerzoo/ops/_fake.py, functional.py, _reference.py.
#include <torch/library.h>

TORCH_LIBRARY_FRAGMENT(trackerzoo, m) {
  m.set_python_module("trackerzoo.ops._fake");
  m.def(
      "pyramid_roi_align(Tensor features, Tensor rois, int[] output_sizes, float spatial_scale, "
      "int sampling_ratio, bool aligned) -> Tensor[]");
  // Gradient with respect to features [batch, channels, height, width] from one gradient per
  // level. The feature shape is SymInt so that the Autograd kernel can be traced with
  // symbolic shapes (torch.compile, dynamic=True).
  m.def(
      "_pyramid_roi_align_backward(Tensor[] grads, Tensor rois, int[] output_sizes, float spatial_scale, "
      "int sampling_ratio, bool aligned, SymInt batch, SymInt channels, SymInt height, SymInt width) -> Tensor");
}
