// Typed dispatcher handles of the trackerzoo ops, for kernels that call another op (the
// Autograd kernels call the device kernels of the forward and backward ops this way).
#pragma once

#include <ATen/core/dispatch/Dispatcher.h>

namespace trackerzoo {
namespace ops {

// The operator `trackerzoo::<name>` (default overload) with C++ signature Signature, looked up
// once per call site. Throws c10::Error when no schema of that name is registered.
template <typename Signature>
c10::TypedOperatorHandle<Signature> typed_op(const char* name) {
  return c10::Dispatcher::singleton().findSchemaOrThrow(name, "").typed<Signature>();
}

}  // namespace ops
}  // namespace trackerzoo
