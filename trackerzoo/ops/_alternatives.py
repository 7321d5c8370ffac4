"""The strongest alternatives to our kernels, built from stock PyTorch: the rivals ``auto`` weighs.

Each is a correct implementation of its op (tested against the reference) that a user could
write without trackerzoo, so a kernel that does not beat it has no reason to run:

- ``dw_xcorr``: ``"grouped_cl"``, the reference's grouped ``conv2d`` over ``B * C`` groups
  with channels-last (NHWC) operands, which oneDNN serves with its depthwise JIT kernel.
  (The reference itself is the contiguous grouped convolution.)
- ``lut_affinity_softmax``: ``"sdpa"``, ``F.scaled_dot_product_attention`` (fused
  flash-style kernel on CPU and CUDA).
- ``pyramid_roi_align``: ``"gather"``, RoIAlign as four vectorised gathers of bilinear taps
  from a channels-last copy of the map (what torchvision-free RoIAlign code does).
- ``dcf_cg`` / ``dcf_normal_apply``: ``"autograd"``, pytracking's operator: ``J^T W J p``
  through autograd's double backward on the residuals ``conv2d(x, f)``.

The ``"autograd"`` paths are not differentiable themselves (like the kernels); the others are.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

from trackerzoo.ops import _reference as ref


def dw_xcorr_grouped_cl(search: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Depth-wise valid cross-correlation as a channels-last grouped ``conv2d``.

    ``search`` ``[B, C, H, W]``, ``kernel`` ``[B, C, h, w]`` -> ``[B, C, H-h+1, W-w+1]``; the
    result has channels-last strides (NHWC in memory), which a following convolution
    consumes without a copy.
    """
    b, c, h, w = search.shape
    kh, kw = kernel.shape[-2:]
    lhs = search.reshape(1, b * c, h, w).contiguous(memory_format=torch.channels_last)
    rhs = kernel.reshape(b * c, 1, kh, kw).contiguous(memory_format=torch.channels_last)
    out = F.conv2d(lhs, rhs, groups=b * c)
    return out.reshape(b, c, h - kh + 1, w - kw + 1)


def lut_affinity_softmax_sdpa(
    query: torch.Tensor, keys: torch.Tensor, values: torch.Tensor, scale: float
) -> torch.Tensor:
    """``softmax(scale * query @ keys^T) @ values`` by ``F.scaled_dot_product_attention``.

    ``query`` ``[B, N, C]``, ``keys`` ``[B, K, C]``, ``values`` ``[B, K, D]`` -> ``[B, N, D]``.
    The inputs get a head dimension of 1: on CPU torch takes its fused flash kernel only for
    4-D inputs (3-D ones fall back to the unfused math path, 3-5x slower at our shapes).
    """
    out = F.scaled_dot_product_attention(query[:, None], keys[:, None], values[:, None], scale=float(scale))
    return out[:, 0]


def pyramid_roi_align_gather(
    features: torch.Tensor,
    rois: torch.Tensor,
    output_sizes: Sequence[int],
    spatial_scale: float,
    sampling_ratio: int,
    aligned: bool,
) -> tuple[torch.Tensor, ...]:
    """RoIAlign (torchvision semantics) at several sizes by gathering bilinear taps.

    The map is read as ``[B * H * W, C]`` rows; for each of the four (y, x) tap pairs the rows
    of all samples of all bins are gathered at once and summed with their weights, giving
    ``[K, C, s, s]`` per size. Raises ``ValueError`` for a batch index outside ``[0, B)``
    (the reference raises too; the check reads the RoIs on the host).
    """
    b, c, height, width = features.shape
    rois = rois.detach().to(features.dtype)
    batch_index, x1, y1, roi_w, roi_h = ref._roi_boxes(rois, spatial_scale, aligned)
    k = rois.shape[0]
    if k > 0:
        low, high = int(batch_index.min()), int(batch_index.max())
        if low < 0 or high >= b:
            bad = low if low < 0 else high
            raise ValueError(f"pyramid_roi_align: RoI batch index {bad} is outside [0, {b})")
    rows = features.permute(0, 2, 3, 1).reshape(b * height * width, c)
    base = (batch_index * (height * width)).view(k, 1, 1, 1, 1)
    levels = []
    for size in output_sizes:
        grid_h, grid_w = ref._roi_grids(roi_w, roi_h, size, sampling_ratio)
        y_lo, y_hi, wy_lo, wy_hi = ref._axis_taps(y1, roi_h / size, grid_h, size, height)  # [K, s, gh]
        x_lo, x_hi, wx_lo, wx_hi = ref._axis_taps(x1, roi_w / size, grid_w, size, width)  # [K, s, gw]
        gh, gw = y_lo.shape[2], x_lo.shape[2]
        out = features.new_zeros(k, size, size, c)
        for yi, wy in ((y_lo, wy_lo), (y_hi, wy_hi)):
            for xi, wx in ((x_lo, wx_lo), (x_hi, wx_hi)):
                index = base + yi.view(k, size, gh, 1, 1) * width + xi.view(k, 1, 1, size, gw)
                taps = rows.index_select(0, index.reshape(-1)).view(k, size, gh, size, gw, c)
                weight = wy.view(k, size, gh, 1, 1) * wx.view(k, 1, 1, size, gw)
                out += torch.einsum("kaibjc,kaibj->kabc", taps, weight)
        levels.append(out.permute(0, 3, 1, 2).contiguous())
    return tuple(levels)


def _autograd_operator(
    x: torch.Tensor, sample_weights: torch.Tensor, filt: torch.Tensor, reg: float, padding: int | Sequence[int]
) -> tuple[Callable[[torch.Tensor], torch.Tensor], Callable[[torch.Tensor], torch.Tensor]]:
    """pytracking's Gauss-Newton operator: ``(apply, adjoint)`` with ``apply(p) = J^T W J p + reg p``.

    ``J`` is the Jacobian of the residuals ``conv2d(x, f)`` in ``f`` and ``adjoint(r) = J^T r``.
    ``J p`` comes from the double-backward trick (the gradient of ``J^T u`` in a dummy ``u``)
    and ``J^T`` from a plain backward, on one graph built here and kept for every call.
    """
    weights = sample_weights.detach().view(-1, 1, 1, 1)
    with torch.inference_mode(False), torch.enable_grad():
        samples = x.detach().clone()  # a normal tensor even when x was made in inference mode
        f = filt.detach().clone().requires_grad_(True)
        residuals = ref.dcf_forward(samples, f, padding)
        dummy = torch.zeros_like(residuals, requires_grad=True)
        (jt_dummy,) = torch.autograd.grad(residuals, f, dummy, create_graph=True)

    def adjoint(r: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode(False), torch.enable_grad():
            return torch.autograd.grad(residuals, f, r.clone(), retain_graph=True)[0]

    def apply(p: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode(False), torch.enable_grad():
            (jp,) = torch.autograd.grad(jt_dummy, dummy, p.clone(), retain_graph=True)
            return torch.autograd.grad(residuals, f, jp * weights, retain_graph=True)[0] + reg * p.clone()

    return apply, adjoint


def dcf_normal_apply_autograd(
    x: torch.Tensor, sample_weights: torch.Tensor, filt: torch.Tensor, reg: float, padding: int | Sequence[int]
) -> torch.Tensor:
    """``sum_n w_n X_n^T X_n f + reg f`` through autograd (pytracking's way); shape of ``filt``."""
    apply, _ = _autograd_operator(x, sample_weights, filt, reg, padding)
    return apply(filt.detach())


def dcf_cg_autograd(
    x: torch.Tensor,
    y: torch.Tensor,
    sample_weights: torch.Tensor,
    filt: torch.Tensor,
    reg: float,
    padding: int | Sequence[int],
    num_iters: int,
) -> torch.Tensor:
    """``dcf_cg`` with pytracking's autograd operator in the reference's CG loop; ``[F, C, kh, kw]``."""
    if num_iters <= 0:
        return filt.clone()
    apply, adjoint = _autograd_operator(x, sample_weights, filt, reg, padding)
    rhs = adjoint(y.detach() * sample_weights.detach().view(-1, 1, 1, 1))
    with torch.inference_mode(False):
        return ref.conjugate_gradient(apply, rhs, filt.detach().clone(), num_iters)
