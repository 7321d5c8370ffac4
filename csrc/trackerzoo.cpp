// The trackerzoo._C extension module. It holds no op: each op's folder under csrc/ops/ defines
// its schema (TORCH_LIBRARY_FRAGMENT) and registers its CPU, CUDA and Autograd kernels, so
// loading this library is what puts every op under torch.ops.trackerzoo (see csrc/README.md).
#include <Python.h>

#include <string>

#include "ops/dcf_cg/cpu/dcf_gram.h"

// `import trackerzoo._C` only has to load the shared library: the static registration objects
// of the op folders then run. The module's one function is a diagnostic:
//   dcf_cg_plan(n, c, h, w, f, kh, kw, ph, pw, num_iters) -> "flat" | "aten" | "gram",
// the implementation the CPU dcf_cg takes for a problem of that shape.
static PyObject* dcf_cg_plan(PyObject* /*self*/, PyObject* args) {
  long long v[10];
  if (!PyArg_ParseTuple(args, "LLLLLLLLLL", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9])) {
    return nullptr;
  }
  const trackerzoo::ops::DcfShape shape{v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8]};
  const std::string plan = trackerzoo::ops::dcf_cg_plan(shape, v[9] + 1);
  return PyUnicode_FromString(plan.c_str());
}

static PyMethodDef trackerzoo_c_methods[] = {
    {"dcf_cg_plan", dcf_cg_plan, METH_VARARGS, "dcf_cg_plan(n, c, h, w, f, kh, kw, ph, pw, num_iters) -> str"},
    {nullptr, nullptr, 0, nullptr}};

static struct PyModuleDef trackerzoo_c_module = {PyModuleDef_HEAD_INIT, "_C", nullptr, -1, trackerzoo_c_methods};

PyMODINIT_FUNC PyInit__C(void) {
  return PyModule_Create(&trackerzoo_c_module);
}
