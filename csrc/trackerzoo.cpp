// The trackerzoo._C extension module. It holds no op: each op's folder under csrc/ops/ defines
// its schema (TORCH_LIBRARY_FRAGMENT) and registers its CPU, CUDA and Autograd kernels, so
// loading this library is what puts every op under torch.ops.trackerzoo (see csrc/README.md).
#include <Python.h>

// `import trackerzoo._C` only has to load the shared library: the static registration objects
// of the op folders then run. The Python module itself is empty.
static struct PyModuleDef trackerzoo_c_module = {PyModuleDef_HEAD_INIT, "_C", nullptr, -1, nullptr};

PyMODINIT_FUNC PyInit__C(void) {
  return PyModule_Create(&trackerzoo_c_module);
}
