"""Pure-PyTorch reference implementations of the hot ops.

These are the definition of correctness: the C++ and CUDA kernels are tested against them,
and they are what runs when the native extension is absent. They favour clarity and
exact semantics over speed, but stay vectorised so the reference is usable on its own.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

# RoIs whose gathered feature planes would exceed this many elements are processed in chunks,
# so the reference never needs K x C x H x W memory at once for large batches.
_ROI_GATHER_BUDGET = 1 << 24


def dw_xcorr(search: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Depth-wise valid cross-correlation as one grouped ``conv2d`` over ``B * C`` groups."""
    b, c, h, w = search.shape
    kh, kw = kernel.shape[-2:]
    out = F.conv2d(search.reshape(1, b * c, h, w), kernel.reshape(b * c, 1, kh, kw), groups=b * c)
    return out.reshape(b, c, h - kh + 1, w - kw + 1)


def _axis_taps(
    start: torch.Tensor, bin_size: torch.Tensor, grid: torch.Tensor, pooled: int, size: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The two bilinear taps of every sample of one axis: ``(low, high, w_low, w_high)``.

    Each is ``[K, pooled, G]`` with ``G`` the largest sampling grid of the K RoIs; samples
    past a RoI's own grid and samples off the map (``coord < -1`` or ``coord > size``) have
    zero weight, and the weights already include the ``1 / grid`` of the average.
    """
    dtype, device = start.dtype, start.device
    k = start.shape[0]
    max_grid = max(int(grid.max().item()) if k > 0 else 0, 1)
    p = torch.arange(pooled, device=device, dtype=dtype).view(1, pooled, 1)
    i = torch.arange(max_grid, device=device).view(1, 1, max_grid)
    grid_f = grid.clamp_min(1).to(dtype).view(k, 1, 1)
    start = start.view(k, 1, 1)
    bin_size = bin_size.view(k, 1, 1)
    coord = start + p * bin_size + (i.to(dtype) + 0.5) * bin_size / grid_f
    valid = (i < grid.view(k, 1, 1)) & (coord >= -1.0) & (coord <= size)
    coord = coord.clamp_min(0.0)
    low = coord.floor().long()
    at_edge = low >= size - 1
    low = torch.where(at_edge, torch.full_like(low, size - 1), low)
    high = torch.where(at_edge, low, low + 1)
    coord = torch.where(at_edge, low.to(dtype), coord)
    frac = coord - low.to(dtype)
    scale = valid.to(dtype) / grid_f
    return low, high, (1.0 - frac) * scale, frac * scale


def _axis_interp_matrix(
    start: torch.Tensor, bin_size: torch.Tensor, grid: torch.Tensor, pooled: int, size: int
) -> torch.Tensor:
    """Weights ``[K, pooled, size]`` that average the bilinear samples of one axis.

    RoIAlign's bilinear sample weight is the product of a y-weight and an x-weight, and its
    out-of-map test (``y < -1 or y > H or x < -1 or x > W`` gives zero) is a product of
    per-axis indicators, so each pooled output is ``Wy @ plane @ Wx^T`` exactly.
    """
    low, high, w_low, w_high = _axis_taps(start, bin_size, grid, pooled, size)
    weights = torch.zeros(start.shape[0], pooled, size, dtype=start.dtype, device=start.device)
    weights.scatter_add_(2, low, w_low)
    weights.scatter_add_(2, high, w_high)
    return weights


def _roi_boxes(
    rois: torch.Tensor, spatial_scale: float, aligned: bool
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(batch_index, x1, y1, roi_w, roi_h)`` of ``[K, 5]`` RoIs in feature-map coordinates."""
    batch_index = rois[:, 0].long()
    offset = 0.5 if aligned else 0.0
    x1 = rois[:, 1] * spatial_scale - offset
    y1 = rois[:, 2] * spatial_scale - offset
    roi_w = rois[:, 3] * spatial_scale - offset - x1
    roi_h = rois[:, 4] * spatial_scale - offset - y1
    if not aligned:
        roi_w = roi_w.clamp_min(1.0)
        roi_h = roi_h.clamp_min(1.0)
    return batch_index, x1, y1, roi_w, roi_h


def _roi_grids(
    roi_w: torch.Tensor, roi_h: torch.Tensor, size: int, sampling_ratio: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Samples per bin along y and x, ``[K]`` each: ``sampling_ratio``, or ``ceil(roi / size)``."""
    if sampling_ratio > 0:
        grid = torch.full(roi_w.shape, sampling_ratio, dtype=torch.long, device=roi_w.device)
        return grid, grid
    return torch.ceil(roi_h / size).long(), torch.ceil(roi_w / size).long()


def pyramid_roi_align(
    features: torch.Tensor,
    rois: torch.Tensor,
    output_sizes: Sequence[int] = (6, 3, 1),
    spatial_scale: float = 1.0,
    sampling_ratio: int = -1,
    aligned: bool = True,
) -> tuple[torch.Tensor, ...]:
    """RoIAlign (torchvision semantics) of the same RoIs at several output sizes."""
    _, c, height, width = features.shape
    rois = rois.detach().to(features.dtype)
    batch_index, x1, y1, roi_w, roi_h = _roi_boxes(rois, spatial_scale, aligned)
    k = rois.shape[0]
    axis_weights = []
    for size in output_sizes:
        grid_h, grid_w = _roi_grids(roi_w, roi_h, size, sampling_ratio)
        wy = _axis_interp_matrix(y1, roi_h / size, grid_h, size, height)
        wx = _axis_interp_matrix(x1, roi_w / size, grid_w, size, width)
        axis_weights.append((wy, wx))
    outputs: list[list[torch.Tensor]] = [[] for _ in output_sizes]
    chunk = max(1, _ROI_GATHER_BUDGET // max(1, c * height * width))
    for lo in range(0, k, chunk):
        hi = min(k, lo + chunk)
        planes = features[batch_index[lo:hi]]  # [k', C, H, W]
        for level, (wy, wx) in enumerate(axis_weights):
            rows = torch.matmul(wy[lo:hi, None], planes)  # [k', C, s, W]
            outputs[level].append(torch.matmul(rows, wx[lo:hi, None].transpose(-1, -2)))
    return tuple(
        torch.cat(parts) if parts else features.new_zeros(0, c, size, size)
        for parts, size in zip(outputs, output_sizes, strict=True)
    )


def lut_affinity_softmax(
    query: torch.Tensor, keys: torch.Tensor, values: torch.Tensor, scale: float | None = None
) -> torch.Tensor:
    """``softmax(scale * query @ keys^T) @ values``; torch's softmax is max-subtracted, so stable."""
    if scale is None:
        scale = 1.0 / math.sqrt(query.shape[-1])
    logits = torch.matmul(query, keys.transpose(-1, -2)) * scale
    return torch.matmul(torch.softmax(logits, dim=-1), values)


def _pad_pair(padding: int | Sequence[int]) -> tuple[int, int]:
    if isinstance(padding, int):
        return padding, padding
    ph, pw = padding
    return int(ph), int(pw)


def dcf_forward(x: torch.Tensor, filt: torch.Tensor, padding: int | Sequence[int]) -> torch.Tensor:
    """The data operator ``X f``: each sample correlated with the filter, ``[N, F, Ho, Wo]``."""
    return F.conv2d(x, filt, padding=_pad_pair(padding))


def dcf_transpose(x: torch.Tensor, residual: torch.Tensor, padding: int | Sequence[int]) -> torch.Tensor:
    """The adjoint ``X^T r``: the filter-shaped gradient of ``<X f, r>`` with respect to ``f``.

    It is a correlation of the samples with the residuals in which the sample index plays the
    role of the channel: ``conv2d(x^T [C, N, H, W], r^T [F, N, Ho, Wo]) -> [C, F, kh, kw]``.
    """
    out = F.conv2d(x.transpose(0, 1), residual.transpose(0, 1), padding=_pad_pair(padding))
    return out.transpose(0, 1)


def dcf_normal_apply(
    x: torch.Tensor,
    sample_weights: torch.Tensor,
    filt: torch.Tensor,
    reg: float,
    padding: int | Sequence[int],
) -> torch.Tensor:
    """The normal-equation operator ``A f = sum_n w_n X_n^T X_n f + reg f``."""
    response = dcf_forward(x, filt, padding) * sample_weights.view(-1, 1, 1, 1)
    return dcf_transpose(x, response, padding) + reg * filt


def _safe_div(num: torch.Tensor, den: torch.Tensor) -> torch.Tensor:
    """``num / den`` but 0 where ``|den|`` is below the smallest normal number (converged CG)."""
    tiny = torch.finfo(den.dtype).tiny
    ok = den.abs() > tiny
    return torch.where(ok, num / torch.where(ok, den, torch.ones_like(den)), torch.zeros_like(num))


def dcf_cg(
    x: torch.Tensor,
    y: torch.Tensor,
    sample_weights: torch.Tensor,
    filt: torch.Tensor,
    reg: float,
    padding: int | Sequence[int],
    num_iters: int,
) -> torch.Tensor:
    """Conjugate gradient on ``A f = sum_n w_n X_n^T y_n`` starting from ``filt``.

    Every scalar stays a 0-d tensor, so there is no host synchronisation in the loop.
    """
    if num_iters <= 0:
        return filt.clone()
    weights = sample_weights.view(-1, 1, 1, 1)
    rhs = dcf_transpose(x, y * weights, padding)
    return conjugate_gradient(lambda p: dcf_normal_apply(x, sample_weights, p, reg, padding), rhs, filt, num_iters)


def conjugate_gradient(
    apply: Callable[[torch.Tensor], torch.Tensor], rhs: torch.Tensor, start: torch.Tensor, num_iters: int
) -> torch.Tensor:
    """``num_iters`` CG steps on ``apply(f) = rhs`` from ``start`` (``apply`` symmetric positive).

    Every scalar stays a 0-d tensor, so there is no host synchronisation in the loop;
    ``num_iters <= 0`` returns a copy of ``start``.
    """
    if num_iters <= 0:
        return start.clone()
    f = start.clone()
    r = rhs - apply(f)
    p = r.clone()
    rho = (r * r).sum()
    for _ in range(num_iters):
        q = apply(p)
        alpha = _safe_div(rho, (p * q).sum())
        f = f + alpha * p
        r = r - alpha * q
        rho_new = (r * r).sum()
        p = r + _safe_div(rho_new, rho) * p
        rho = rho_new
    return f


def _tent_antiderivative(t: torch.Tensor) -> torch.Tensor:
    """``T(t)``, the integral of the tent ``max(0, 1 - |s|)`` over ``s <= t`` (0 below -1, 1 above 1)."""
    u = t.clamp(-1.0, 1.0)
    return torch.where(u <= 0, 0.5 * (u + 1.0) ** 2, 1.0 - 0.5 * (1.0 - u) ** 2)


def _prroi_axis_weights(start: torch.Tensor, end: torch.Tensor, pooled: int, size: int) -> torch.Tensor:
    """Weights ``[K, pooled, size]`` of one axis: the integral over each bin, divided by its length.

    Along one axis the bilinearly interpolated map is ``sum_i v_i * tent(x - i)`` over the
    samples ``i = 0 .. size - 1`` (zero beyond), so the integral of a bin ``[a, b]`` is
    ``sum_i v_i * (T(b - i) - T(a - i))``. ``start``/``end`` are the RoI's ends ``[K]`` in map
    coordinates; a RoI of negative extent has extent 0, and bins of zero length get weight 0.
    """
    dtype, device = start.dtype, start.device
    bin_size = (end - start).clamp_min(0.0) / pooled  # [K]
    p = torch.arange(pooled, device=device, dtype=dtype)
    lo = start[:, None] + bin_size[:, None] * p  # [K, pooled]
    hi = lo + bin_size[:, None]
    i = torch.arange(size, device=device, dtype=dtype)
    integral = _tent_antiderivative(hi[..., None] - i) - _tent_antiderivative(lo[..., None] - i)
    positive = bin_size > 0
    safe = torch.where(positive, bin_size, torch.ones_like(bin_size))
    return torch.where(positive[:, None, None], integral / safe[:, None, None], torch.zeros_like(integral))


def prroi_pool(
    features: torch.Tensor, rois: torch.Tensor, output_size: tuple[int, int], spatial_scale: float = 1.0
) -> torch.Tensor:
    """Precise RoI Pooling (Jiang et al., ECCV 2018, Sec. 3.3): ``[K, C, ph, pw]``, differentiable in both inputs.

    Each bin is the exact integral of the bilinearly interpolated map over the bin, divided
    by the bin's area; map samples sit at integer coordinates ``0 .. H-1`` / ``0 .. W-1`` of
    ``rois * spatial_scale`` (no half-pixel shift) and the map is zero outside them. The
    integral is separable, so every output plane is ``Wy @ plane @ Wx^T`` with the per-axis
    weights of ``_prroi_axis_weights``. A batch index outside ``[0, B)`` raises IndexError.
    """
    _, c, height, width = features.shape
    ph, pw = output_size
    rois = rois.to(features.dtype)
    batch_index = rois[:, 0].detach().long()
    boxes = rois[:, 1:] * spatial_scale
    wy = _prroi_axis_weights(boxes[:, 1], boxes[:, 3], ph, height)  # [K, ph, H]
    wx = _prroi_axis_weights(boxes[:, 0], boxes[:, 2], pw, width)  # [K, pw, W]
    k = rois.shape[0]
    if k == 0:
        return features.new_zeros(0, c, ph, pw)
    parts = []
    chunk = max(1, _ROI_GATHER_BUDGET // max(1, c * height * width))
    for lo in range(0, k, chunk):
        hi = min(k, lo + chunk)
        planes = features[batch_index[lo:hi]]  # [k', C, H, W]
        rows = torch.matmul(wy[lo:hi, None], planes)  # [k', C, ph, W]
        parts.append(torch.matmul(rows, wx[lo:hi, None].transpose(-1, -2)))
    return torch.cat(parts)
