// The trackerzoo._C extension module: every op schema is defined here, in one place; each op
// registers its CPU, CUDA and Autograd kernels in its own translation unit.
#include <Python.h>
#include <torch/library.h>

// `import trackerzoo._C` only has to load this library: the static TORCH_LIBRARY initialisers
// then register the ops under torch.ops.trackerzoo. The Python module itself is empty.
static struct PyModuleDef trackerzoo_c_module = {PyModuleDef_HEAD_INIT, "_C", nullptr, -1, nullptr};

PyMODINIT_FUNC PyInit__C(void) {
  return PyModule_Create(&trackerzoo_c_module);
}

TORCH_LIBRARY(trackerzoo, m) {
  m.def("dw_xcorr(Tensor search, Tensor kernel) -> Tensor");
  m.def("_dw_xcorr_backward(Tensor grad, Tensor search, Tensor kernel) -> (Tensor, Tensor)");
  m.def(
      "pyramid_roi_align(Tensor features, Tensor rois, int[] output_sizes, float spatial_scale, "
      "int sampling_ratio, bool aligned) -> Tensor");
  m.def(
      "_pyramid_roi_align_backward(Tensor grad, Tensor rois, int[] output_sizes, float spatial_scale, "
      "int sampling_ratio, bool aligned, int batch, int channels, int height, int width) -> Tensor");
  m.def("lut_affinity_softmax(Tensor query, Tensor keys, Tensor values, float scale) -> Tensor");
  m.def(
      "_lut_affinity_softmax_forward(Tensor query, Tensor keys, Tensor values, float scale) "
      "-> (Tensor, Tensor)");
  m.def(
      "_lut_affinity_softmax_backward(Tensor grad, Tensor query, Tensor keys, Tensor values, "
      "Tensor out, Tensor lse, float scale) -> (Tensor, Tensor, Tensor)");
  m.def("dcf_normal_apply(Tensor x, Tensor sample_weights, Tensor filt, float reg, int[2] padding) -> Tensor");
  m.def(
      "dcf_cg(Tensor x, Tensor y, Tensor sample_weights, Tensor filt, float reg, int[2] padding, "
      "int num_iters) -> Tensor");
}
