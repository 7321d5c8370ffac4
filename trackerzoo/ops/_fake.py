"""Fake (meta) kernels of the native ops: output shapes, dtypes and devices without data.

``torch.compile``, ``torch.export`` and ``FakeTensor`` tracing call these instead of the C++
or CUDA kernels. Each mirrors its kernel's outputs exactly (contiguous, the inputs' dtype and
device); the shapes may be symbolic. The C++ schemas name this module
(``m.set_python_module("trackerzoo.ops._fake")`` in ``csrc/ops/<op>/<op>.cpp``), so torch
imports it by itself when a fake kernel is needed. Importing it without the extension loaded
raises ``RuntimeError`` (``torch.ops.trackerzoo`` has no such op); ``trackerzoo.ops._backend``
imports it right after loading ``trackerzoo._C``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch.library import register_fake


@register_fake("trackerzoo::dw_xcorr")
def _dw_xcorr_fake(search: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """``[B, C, H, W]`` x ``[B, C, h, w]`` -> ``[B, C, H-h+1, W-w+1]``."""
    b, c, h, w = search.shape
    return search.new_empty((b, c, h - kernel.shape[2] + 1, w - kernel.shape[3] + 1))


@register_fake("trackerzoo::_dw_xcorr_backward")
def _dw_xcorr_backward_fake(
    grad: torch.Tensor, search: torch.Tensor, kernel: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Gradients shaped like ``search`` and ``kernel``."""
    return search.new_empty(search.shape), kernel.new_empty(kernel.shape)


def pyramid_level_shapes(
    rois: int | torch.SymInt, channels: int | torch.SymInt, output_sizes: Sequence[int]
) -> list[tuple]:
    """The output layout of ``pyramid_roi_align``: one ``(K, C, s, s)`` per output size ``s``.

    Python's single definition of the layout (the C++ one is
    ``csrc/ops/pyramid_roi_align/pyramid_levels.h``); raises ``ValueError`` for an empty
    ``output_sizes`` or a size below 1.
    """
    sizes = [int(s) for s in output_sizes]
    if not sizes or min(sizes) < 1:
        raise ValueError(f"output_sizes must be a non-empty sequence of positive ints, got {list(output_sizes)!r}")
    return [(rois, channels, s, s) for s in sizes]


@register_fake("trackerzoo::pyramid_roi_align")
def _pyramid_roi_align_fake(
    features: torch.Tensor,
    rois: torch.Tensor,
    output_sizes: Sequence[int],
    spatial_scale: float,
    sampling_ratio: int,
    aligned: bool,
) -> list[torch.Tensor]:
    """One ``[K, C, s, s]`` tensor per output size."""
    shapes = pyramid_level_shapes(rois.shape[0], features.shape[1], output_sizes)
    return [features.new_empty(shape) for shape in shapes]


@register_fake("trackerzoo::_pyramid_roi_align_backward")
def _pyramid_roi_align_backward_fake(
    grads: Sequence[torch.Tensor],
    rois: torch.Tensor,
    output_sizes: Sequence[int],
    spatial_scale: float,
    sampling_ratio: int,
    aligned: bool,
    batch: int | torch.SymInt,
    channels: int | torch.SymInt,
    height: int | torch.SymInt,
    width: int | torch.SymInt,
) -> torch.Tensor:
    """The features' gradient ``[batch, channels, height, width]``."""
    return rois.new_empty((batch, channels, height, width))


@register_fake("trackerzoo::lut_affinity_softmax")
def _lut_affinity_softmax_fake(
    query: torch.Tensor, keys: torch.Tensor, values: torch.Tensor, scale: float
) -> torch.Tensor:
    """``[B, N, C]``, ``[B, K, C]``, ``[B, K, D]`` -> ``[B, N, D]``."""
    return query.new_empty((query.shape[0], query.shape[1], values.shape[2]))


@register_fake("trackerzoo::_lut_affinity_softmax_forward")
def _lut_affinity_softmax_forward_fake(
    query: torch.Tensor, keys: torch.Tensor, values: torch.Tensor, scale: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """The output ``[B, N, D]`` and the per-row log-sum-exp ``[B, N]``."""
    b, n = query.shape[0], query.shape[1]
    return query.new_empty((b, n, values.shape[2])), query.new_empty((b, n))


@register_fake("trackerzoo::_lut_affinity_softmax_backward")
def _lut_affinity_softmax_backward_fake(
    grad: torch.Tensor,
    query: torch.Tensor,
    keys: torch.Tensor,
    values: torch.Tensor,
    out: torch.Tensor,
    lse: torch.Tensor,
    scale: float,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Gradients shaped like ``query``, ``keys`` and ``values``."""
    return query.new_empty(query.shape), keys.new_empty(keys.shape), values.new_empty(values.shape)


@register_fake("trackerzoo::dcf_normal_apply")
def _dcf_normal_apply_fake(
    x: torch.Tensor, sample_weights: torch.Tensor, filt: torch.Tensor, reg: float, padding: Sequence[int]
) -> torch.Tensor:
    """Shaped like ``filt`` ``[F, C, kh, kw]``."""
    return filt.new_empty(filt.shape)


@register_fake("trackerzoo::dcf_cg")
def _dcf_cg_fake(
    x: torch.Tensor,
    y: torch.Tensor,
    sample_weights: torch.Tensor,
    filt: torch.Tensor,
    reg: float,
    padding: Sequence[int],
    num_iters: int,
) -> torch.Tensor:
    """Shaped like ``filt`` ``[F, C, kh, kw]``."""
    return filt.new_empty(filt.shape)


# An extension built before prroi_pool existed (a stale in-place build) still loads: its other
# ops keep their fake kernels, and prroi_pool runs on the reference (no kernel is registered).
if hasattr(torch.ops.trackerzoo, "prroi_pool"):

    @register_fake("trackerzoo::prroi_pool")
    def _prroi_pool_fake(
        features: torch.Tensor, rois: torch.Tensor, pooled_height: int, pooled_width: int, spatial_scale: float
    ) -> torch.Tensor:
        """``[B, C, H, W]`` and ``[K, 5]`` -> ``[K, C, pooled_height, pooled_width]``."""
        return features.new_empty((rois.shape[0], features.shape[1], pooled_height, pooled_width))


    @register_fake("trackerzoo::_prroi_pool_backward")
    def _prroi_pool_backward_fake(
        grad: torch.Tensor,
        features: torch.Tensor,
        rois: torch.Tensor,
        pooled_height: int,
        pooled_width: int,
        spatial_scale: float,
        features_grad: bool,
        rois_grad: bool,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Gradients shaped like ``features`` and ``rois``."""
        return features.new_empty(features.shape), rois.new_empty(rois.shape)


# Internal DCF op (csrc/ops/dcf_cg/cpu/dcf_gram_cpu.cpp), absent from extensions built before it.
if hasattr(torch.ops.trackerzoo, "_dcf_gram"):

    @register_fake("trackerzoo::_dcf_gram")
    def _dcf_gram_fake(
        x: torch.Tensor, sample_weights: torch.Tensor, kernel: Sequence[int], padding: Sequence[int]
    ) -> torch.Tensor:
        """``[C * kh * kw, C * kh * kw]`` for ``x`` ``[N, C, H, W]``."""
        taps = x.shape[1] * kernel[0] * kernel[1]
        return x.new_empty((taps, taps))
