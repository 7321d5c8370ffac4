// The Gram matrix of the DCF data operator, G = sum_n w_n X_n^T X_n, for problems with many
// filters: every filter of one problem sees the same samples, so the normal-equation operator
// is the same [M, M] matrix (M = C * kh * kw) for each of them, and once G is built every CG
// step costs one [F, M] x [M, M] product instead of two correlations over all samples.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <string>

namespace trackerzoo {
namespace ops {

// Problem sizes of one DCF system (x [N, C, H, W], F filters [F, C, kh, kw], zero padding).
struct DcfShape {
  int64_t n, c, h, w, f, kh, kw, ph, pw;
  int64_t out_h() const { return h + 2 * ph - kh + 1; }
  int64_t out_w() const { return w + 2 * pw - kw + 1; }
  int64_t taps() const { return c * kh * kw; }
};

// The samples' spectra and G [M, M] (x's dtype) of one problem: block (c, u, v; c', u', v') =
// sum_n w_n sum over the output window (u, v) of x_c(p) x_c'(p + (u' - u, v' - v)) (p in
// unpadded map coordinates).
class DcfGram {
 public:
  DcfGram(const at::Tensor& x, const at::Tensor& weights, int64_t kh, int64_t kw, int64_t ph, int64_t pw);
  const at::Tensor& matrix() const { return gram_; }
  // The right-hand side sum_n w_n X_n^T y_n, [F, C, kh, kw], for y [N, F, Ho, Wo]: through the
  // samples' spectra when the padding allows it (ph < kh, pw < kw), else two correlations.
  at::Tensor rhs(const at::Tensor& y) const;

 private:
  at::Tensor whole_map_sums();  // fills stacked_; [Lh, Lw, C, C]

  at::Tensor x_, weights_, stacked_, gram_;  // stacked_: [bins, 2N (real, then imaginary), C], or undefined
  DcfShape s_;
  int64_t lh_, lw_;
};

// Estimated multiply-adds of `applies` normal-equation products through G (building it
// included) and through two correlations each, for choosing between the two.
double dcf_gram_cost(const DcfShape& s, int64_t applies);
double dcf_direct_cost(const DcfShape& s, int64_t applies);

// The implementation the CPU dcf_cg takes for `applies` operator products: "flat" (direct
// loops, one or two filters on a real map), "aten" (ATen's correlations) or "gram".
std::string dcf_cg_plan(const DcfShape& s, int64_t applies);

}  // namespace ops
}  // namespace trackerzoo
