// Gram matrix of the DCF data operator on the CPU (see dcf_gram.h).
//
// G's block for taps (u, v) and (u', v') = (u, v) + d is a windowed cross-correlation at lag
// d: sum_n w_n sum_{p in window(u, v)} x(p) x(p + d)^T over C x C channel pairs. The windows
// of all taps share their interior, so each block is
//   S(d) - (the same sum over the pixels outside window (u, v)),
// with S(d) the sum over the whole map for all lags at once through the FFT: per frequency
// k, sum_n w_n conj(X_n(k)) X_n(k)^T, a Hermitian product done as real GEMMs on stacked real
// and imaginary parts. The pixels outside a window are thin strips along the map's border;
// their sums are GEMMs over the strips' samples ("cells": runs of rows x runs of columns
// whose window membership is the same). Only lags in one half-plane are computed; G is
// symmetric, so the other half is the transpose.
#include "dcf_gram.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

namespace trackerzoo {
namespace ops {
namespace {

// Along one axis, for lag `lag`: the positions t of the map (length n_in) whose partner
// t + lag is on the map too, cut into runs on which membership in each tap's output window
// is constant. member[v][r] says whether run r lies in the window of tap v, which covers map
// positions [v - pad, v - pad + n_out).
struct AxisRuns {
  std::vector<std::pair<int64_t, int64_t>> runs;
  std::vector<std::vector<char>> member;
};

AxisRuns axis_runs(int64_t n_in, int64_t lag, int64_t k, int64_t pad, int64_t n_out) {
  AxisRuns out;
  const int64_t lo = std::max<int64_t>(0, -lag), hi = std::min(n_in, n_in - lag);
  if (hi <= lo) return out;
  std::vector<int64_t> cuts{lo, hi};
  for (int64_t v = 0; v < k; ++v) {
    for (int64_t b : {v - pad, v - pad + n_out}) {
      if (b > lo && b < hi) cuts.push_back(b);
    }
  }
  std::sort(cuts.begin(), cuts.end());
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
  for (size_t i = 0; i + 1 < cuts.size(); ++i) out.runs.emplace_back(cuts[i], cuts[i + 1]);
  out.member.assign(static_cast<size_t>(k), std::vector<char>(out.runs.size(), 0));
  for (int64_t v = 0; v < k; ++v) {
    for (size_t r = 0; r < out.runs.size(); ++r) {
      const int64_t t = out.runs[r].first;
      out.member[v][r] = (t + pad >= v) && (t + pad < v + n_out);
    }
  }
  return out;
}

// The lags of the half-plane: dy > 0, or dy == 0 and dx >= 0.
template <typename Fn>
void for_each_half_lag(int64_t kh, int64_t kw, Fn&& fn) {
  for (int64_t dy = 0; dy < kh; ++dy) {
    for (int64_t dx = -(kw - 1); dx < kw; ++dx) {
      if (dy == 0 && dx < 0) continue;
      fn(dy, dx);
    }
  }
}

// Taps (u, v) whose partner (u + dy, v + dx) is a tap too.
std::vector<std::pair<int64_t, int64_t>> tap_pairs(int64_t kh, int64_t kw, int64_t dy, int64_t dx) {
  std::vector<std::pair<int64_t, int64_t>> uvs;
  for (int64_t u = std::max<int64_t>(0, -dy); u < std::min(kh, kh - dy); ++u) {
    for (int64_t v = std::max<int64_t>(0, -dx); v < std::min(kw, kw - dx); ++v) uvs.emplace_back(u, v);
  }
  return uvs;
}

bool in_every_window(const AxisRuns& rows, size_t ri, const AxisRuns& cols, size_t ci,
                     const std::vector<std::pair<int64_t, int64_t>>& uvs) {
  for (const auto& [u, v] : uvs) {
    if (!rows.member[u][ri] || !cols.member[v][ci]) return false;
  }
  return true;
}

// Pixels of one lag's overlap in the cells inside every window (the interior) and in the
// others (the border).
struct LagPixels {
  int64_t interior = 0, border = 0;
};

LagPixels lag_pixels(const DcfShape& s, int64_t dy, int64_t dx) {
  const AxisRuns rows = axis_runs(s.h, dy, s.kh, s.ph, s.out_h());
  const AxisRuns cols = axis_runs(s.w, dx, s.kw, s.pw, s.out_w());
  const auto uvs = tap_pairs(s.kh, s.kw, dy, dx);
  LagPixels count;
  for (size_t ri = 0; ri < rows.runs.size(); ++ri) {
    for (size_t ci = 0; ci < cols.runs.size(); ++ci) {
      const int64_t pixels =
          (rows.runs[ri].second - rows.runs[ri].first) * (cols.runs[ci].second - cols.runs[ci].first);
      (in_every_window(rows, ri, cols, ci, uvs) ? count.interior : count.border) += pixels;
    }
  }
  return count;
}

// Sums over all half-plane lags.
LagPixels total_pixels(const DcfShape& s) {
  LagPixels total;
  for_each_half_lag(s.kh, s.kw, [&](int64_t dy, int64_t dx) {
    const LagPixels lag = lag_pixels(s, dy, dx);
    total.interior += lag.interior;
    total.border += lag.border;
  });
  return total;
}

// The spectra of `t` [N, P, H', W'] zero-padded to Lh x Lw, stacked as real GEMM operands:
// [bins, 2N (real parts, then imaginary parts), P].
at::Tensor stacked_spectrum(const at::Tensor& t, int64_t lh, int64_t lw) {
  const at::Tensor spec = at::fft_rfft2(at::constant_pad_nd(t, {0, lw - t.size(3), 0, lh - t.size(2)}));
  return at::view_as_real(spec).permute({2, 3, 4, 0, 1}).reshape({lh * spec.size(3), 2 * t.size(0), t.size(1)});
}

// sum over the pixels p of one cell of sum_n w_n x_n(p) x_n(p + d)^T, [C, C].
at::Tensor cell_sum(const at::Tensor& xt, const at::Tensor& xwt, std::pair<int64_t, int64_t> rows,
                    std::pair<int64_t, int64_t> cols, int64_t dy, int64_t dx) {
  const auto [a0, a1] = rows;
  const auto [b0, b1] = cols;
  const int64_t c = xt.size(3);
  const at::Tensor a = xwt.narrow(0, a0, a1 - a0).narrow(1, b0, b1 - b0).reshape({a1 - a0, -1, c});
  const at::Tensor b = xt.narrow(0, a0 + dy, a1 - a0).narrow(1, b0 + dx, b1 - b0).reshape({a1 - a0, -1, c});
  return at::bmm(a.transpose(1, 2), b).sum(0).contiguous();
}

// Fills G from, per lag, the interior's sum and the border cells' sums. With `full_sums`
// ([Lh, Lw, C, C], the sums over the whole map from the FFT) the interior is the whole map
// minus the border; without it (a small interior, where that difference would be mostly
// cancellation) the interior cells are summed directly.
template <typename T>
void fill_blocks(const DcfShape& s, const at::Tensor& full_sums, const at::Tensor& xt, const at::Tensor& xwt,
                 at::Tensor& gram) {
  const int64_t c = s.c, m = s.taps(), lh = s.h + s.kh - 1, lw = s.w + s.kw - 1, taps = s.kh * s.kw;
  T* g = gram.data_ptr<T>();
  std::vector<T> interior(static_cast<size_t>(c * c)), block(static_cast<size_t>(c * c));
  for_each_half_lag(s.kh, s.kw, [&](int64_t dy, int64_t dx) {
    const AxisRuns rows = axis_runs(s.h, dy, s.kh, s.ph, s.out_h());
    const AxisRuns cols = axis_runs(s.w, dx, s.kw, s.pw, s.out_w());
    const auto uvs = tap_pairs(s.kh, s.kw, dy, dx);
    if (uvs.empty()) return;
    std::fill(interior.begin(), interior.end(), T(0));
    if (full_sums.defined()) {
      const int64_t lag_y = ((dy % lh) + lh) % lh, lag_x = ((dx % lw) + lw) % lw;
      const T* full = full_sums.data_ptr<T>() + (lag_y * lw + lag_x) * c * c;
      std::copy(full, full + c * c, interior.begin());
    }
    struct Cell {
      size_t ri, ci;
      at::Tensor sum;
    };
    std::vector<Cell> border;
    for (size_t ri = 0; ri < rows.runs.size(); ++ri) {
      for (size_t ci = 0; ci < cols.runs.size(); ++ci) {
        const bool inner = in_every_window(rows, ri, cols, ci, uvs);
        if (inner && full_sums.defined()) continue;
        at::Tensor sum = cell_sum(xt, xwt, rows.runs[ri], cols.runs[ci], dy, dx);
        const T* cs = sum.template data_ptr<T>();
        const T sign = inner ? T(1) : (full_sums.defined() ? T(-1) : T(0));
        for (int64_t i = 0; i < c * c; ++i) interior[i] += sign * cs[i];
        if (!inner) border.push_back({ri, ci, sum});
      }
    }
    for (const auto& [u, v] : uvs) {
      std::copy(interior.begin(), interior.end(), block.begin());
      for (const Cell& cell : border) {
        if (!rows.member[u][cell.ri] || !cols.member[v][cell.ci]) continue;
        const T* cs = cell.sum.template data_ptr<T>();
        for (int64_t i = 0; i < c * c; ++i) block[i] += cs[i];
      }
      if (dy == 0 && dx == 0) {  // a diagonal block: symmetric up to the FFT's rounding
        for (int64_t i = 0; i < c; ++i) {
          for (int64_t j = i + 1; j < c; ++j) {
            const T mean = T(0.5) * (block[i * c + j] + block[j * c + i]);
            block[i * c + j] = block[j * c + i] = mean;
          }
        }
      }
      const int64_t tap = u * s.kw + v, partner = (u + dy) * s.kw + (v + dx);
      for (int64_t i = 0; i < c; ++i) {
        const int64_t row = i * taps + tap;
        for (int64_t j = 0; j < c; ++j) {
          const int64_t col = j * taps + partner;
          g[row * m + col] = block[i * c + j];
          g[col * m + row] = block[i * c + j];
        }
      }
    }
  });
}

// Multiply-adds of the interior's sums through the FFT and directly, and whether the FFT is
// used: when cheaper and the interior is at least a quarter of the map (else the whole-map
// sums minus the border would lose digits to cancellation).
struct InteriorCost {
  double fft, direct;
  bool use_fft;
};

InteriorCost interior_cost(const DcfShape& s) {
  const double lh = s.h + s.kh - 1, lw = s.w + s.kw - 1, bins = lh * (std::floor(lw / 2) + 1);
  const double c2 = static_cast<double>(s.c) * s.c;
  const double pixels = static_cast<double>(total_pixels(s).interior);
  // FFTs and the products of the spectra are weighted x2 for their lower arithmetic efficiency.
  const double fft = 2.0 * (s.n * s.c + c2) * lh * lw * std::log2(lh * lw) + 2.0 * 3.0 * bins * s.n * c2;
  const double direct = pixels * s.n * c2;
  return {fft, direct, fft < direct && 4 * lag_pixels(s, 0, 0).interior >= s.h * s.w};
}

}  // namespace

DcfGram::DcfGram(const at::Tensor& x_in, const at::Tensor& weights, int64_t kh, int64_t kw, int64_t ph, int64_t pw)
    : x_(x_in.contiguous()), weights_(weights.contiguous()),
      s_{x_.size(0), x_.size(1), x_.size(2), x_.size(3), 0, kh, kw, ph, pw}, lh_(s_.h + kh - 1), lw_(s_.w + kw - 1) {
  const int64_t n = s_.n, c = s_.c;
  const at::Tensor xt = x_.permute({2, 3, 0, 1}).contiguous();  // [H, W, N, C]
  const at::Tensor xwt = xt * weights_.view({1, 1, n, 1});
  gram_ = at::zeros({s_.taps(), s_.taps()}, x_.options());
  at::Tensor full;
  if (interior_cost(s_).use_fft) full = whole_map_sums();
  AT_DISPATCH_FLOATING_TYPES(x_.scalar_type(), "dcf_gram_cpu", [&] { fill_blocks<scalar_t>(s_, full, xt, xwt, gram_); });
}

at::Tensor DcfGram::whole_map_sums() {
  const int64_t n = s_.n, c = s_.c, lwr = lw_ / 2 + 1;
  // S(d) for every lag: zero-padded to Lh x Lw, so circular lags in (-kh, kh) x (-kw, kw)
  // never wrap onto the map.
  stacked_ = stacked_spectrum(x_, lh_, lw_);
  const at::Tensor weighted = stacked_ * at::cat({weights_, weights_}).view({1, 2 * n, 1});
  // conj(X)^T W X = (Re^T W Re + Im^T W Im) + i (Re^T W Im - Im^T W Re)
  const at::Tensor re = at::bmm(weighted.transpose(1, 2), stacked_);
  at::Tensor im = at::bmm(weighted.narrow(1, 0, n).transpose(1, 2), stacked_.narrow(1, n, n));
  im = im - im.transpose(1, 2);
  const at::Tensor cross = at::complex(re, im).view({lh_, lwr, c, c}).permute({2, 3, 0, 1});
  return at::fft_irfft2(cross, at::IntArrayRef{lh_, lw_}).permute({2, 3, 0, 1}).contiguous();  // [Lh, Lw, C, C]
}

at::Tensor DcfGram::rhs(const at::Tensor& y) const {
  const int64_t n = s_.n, f = y.size(1);
  const at::Tensor yw = y * weights_.view({-1, 1, 1, 1});
  // Without the samples' spectra, or when the output outgrows Lh x Lw: correlate directly.
  if (!stacked_.defined() || s_.ph >= s_.kh || s_.pw >= s_.kw) {
    const at::Tensor g = at::conv2d(x_.transpose(0, 1), yw.transpose(0, 1), {}, 1, {s_.ph, s_.pw});
    return g.transpose(0, 1).contiguous();
  }
  // sum_i y(i) x(i + e) at lags e = (u - ph, v - pw): conj(Y)^T X per frequency, with
  // Re = Yr^T Xr + Yi^T Xi and Im = Yr^T Xi - Yi^T Xr. With ph < kh, lags and outputs fit
  // in Lh = H + kh - 1 without wrapping onto the map.
  const int64_t lwr = lw_ / 2 + 1;
  const at::Tensor ys = stacked_spectrum(yw, lh_, lw_);
  const at::Tensor re = at::bmm(ys.transpose(1, 2), stacked_);
  const at::Tensor im = at::bmm(ys.narrow(1, 0, n).transpose(1, 2), stacked_.narrow(1, n, n)) -
                        at::bmm(ys.narrow(1, n, n).transpose(1, 2), stacked_.narrow(1, 0, n));
  const at::Tensor corr =
      at::fft_irfft2(at::complex(re, im).view({lh_, lwr, f, s_.c}).permute({2, 3, 0, 1}), at::IntArrayRef{lh_, lw_});
  auto lags = [](int64_t k, int64_t pad, int64_t len) {
    std::vector<int64_t> idx;
    for (int64_t u = 0; u < k; ++u) idx.push_back(((u - pad) % len + len) % len);
    return at::tensor(idx, at::kLong);
  };
  return corr.index_select(2, lags(s_.kh, s_.ph, lh_)).index_select(3, lags(s_.kw, s_.pw, lw_)).contiguous();
}

double dcf_direct_cost(const DcfShape& s, int64_t applies) {
  // Each product: a forward and an adjoint correlation over every sample and output pixel.
  return 2.0 * applies * s.n * s.out_h() * s.out_w() * s.taps() * s.f;
}

double dcf_gram_cost(const DcfShape& s, int64_t applies) {
  const double c2 = static_cast<double>(s.c) * s.c;
  const double border = static_cast<double>(total_pixels(s).border);
  const InteriorCost interior = interior_cost(s);
  const double products = static_cast<double>(applies) * s.f * s.taps() * s.taps();
  return (interior.use_fft ? interior.fft : interior.direct) + border * s.n * c2 + products;
}

}  // namespace ops
}  // namespace trackerzoo
