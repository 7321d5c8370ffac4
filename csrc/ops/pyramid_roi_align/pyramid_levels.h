// The output layout of trackerzoo::pyramid_roi_align, defined once for its CPU and CUDA
// kernels (the Autograd kernel passes the per-level tensors through): one contiguous
// [K, C, s, s] tensor per output size s, in the order of output_sizes. (Python's one definition is the fake kernel in trackerzoo/ops/_fake.py.)
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

namespace trackerzoo {
namespace ops {

struct PyramidLevels {
  std::vector<int64_t> sizes;  // output size s of each level
  int64_t rois;                // K
  int64_t channels;            // C

  int64_t count() const { return static_cast<int64_t>(sizes.size()); }

  // Elements of level l: K * C * s_l * s_l.
  int64_t numel(int64_t l) const { return rois * channels * sizes[l] * sizes[l]; }

  // Elements of all levels together.
  int64_t total() const {
    int64_t n = 0;
    for (int64_t l = 0; l < count(); ++l) n += numel(l);
    return n;
  }

  // Sum of the output sizes: pooled bins per axis of one RoI over all levels.
  int64_t sum_sizes() const {
    int64_t n = 0;
    for (int64_t s : sizes) n += s;
    return n;
  }

  // Uninitialised outputs, one [K, C, s, s] tensor per level.
  std::vector<at::Tensor> empty_outputs(const at::TensorOptions& options) const {
    std::vector<at::Tensor> out;
    out.reserve(sizes.size());
    for (int64_t s : sizes) out.push_back(at::empty({rois, channels, s, s}, options));
    return out;
  }

  // Contiguous copies of the per-level gradients; throws unless there is one [K, C, s, s]
  // tensor per level.
  std::vector<at::Tensor> contiguous_grads(at::TensorList grads) const {
    TORCH_CHECK(static_cast<int64_t>(grads.size()) == count(), "pyramid_roi_align backward: ", grads.size(),
                " gradients for ", count(), " levels");
    std::vector<at::Tensor> out;
    out.reserve(grads.size());
    for (int64_t l = 0; l < count(); ++l) {
      const int64_t s = sizes[l];
      TORCH_CHECK(grads[l].sizes().equals({rois, channels, s, s}), "pyramid_roi_align backward: grad ",
                  l, " has shape ", grads[l].sizes(), ", expected [", rois, ", ", channels, ", ", s, ", ", s, "]");
      out.push_back(grads[l].contiguous());
    }
    return out;
  }
};

// The layout of K RoIs of C channels at output_sizes; throws unless every size is >= 1.
inline PyramidLevels pyramid_levels(at::IntArrayRef output_sizes, int64_t rois, int64_t channels) {
  TORCH_CHECK(!output_sizes.empty(), "pyramid_roi_align: output_sizes is empty");
  for (int64_t s : output_sizes) TORCH_CHECK(s >= 1, "pyramid_roi_align: output size ", s, " < 1");
  return PyramidLevels{output_sizes.vec(), rois, channels};
}

}  // namespace ops
}  // namespace trackerzoo
