"""The public ops: shape checks, backend choice, then the kernel or the reference.

Every function takes ``backend="auto" | "torch" | "cpu" | "cuda"`` or the name of one of
its stock-PyTorch alternatives (``ops.alternatives()``). ``"auto"`` uses the CUDA kernel for
CUDA tensors and the C++ kernel for CPU tensors when they are built, and the pure-PyTorch
reference otherwise (or always, under ``TRACKERZOO_OPS_BACKEND=torch``), except where the
dispatch table measured for the device names a faster path for the op and shape bucket.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from trackerzoo.ops import _alternatives as alt
from trackerzoo.ops import _reference as ref
from trackerzoo.ops._backend import resolve


def _shape(t: torch.Tensor) -> str:
    return "[" + ", ".join(str(s) for s in t.shape) + "]"


def _padding_pair(padding: int | Sequence[int]) -> tuple[int, int]:
    pair = (padding, padding) if isinstance(padding, int) else tuple(int(p) for p in padding)
    if len(pair) != 2 or min(pair) < 0:
        raise ValueError(f"padding must be a non-negative int or a pair of them, got {padding!r}")
    return pair


def dw_xcorr(search: torch.Tensor, kernel: torch.Tensor, *, backend: str = "auto") -> torch.Tensor:
    """Depth-wise valid cross-correlation (no flip).

    ``search`` ``[B, C, H, W]`` and ``kernel`` ``[B, C, h, w]`` give ``[B, C, H-h+1, W-w+1]``:
    every channel of every sample is correlated with its own template channel.
    """
    if search.dim() != 4 or kernel.dim() != 4:
        raise ValueError(f"dw_xcorr needs 4-D search and kernel, got {_shape(search)} and {_shape(kernel)}")
    if search.shape[:2] != kernel.shape[:2]:
        raise ValueError(
            f"dw_xcorr: search {_shape(search)} and kernel {_shape(kernel)} must agree in batch and channels"
        )
    if kernel.shape[2] > search.shape[2] or kernel.shape[3] > search.shape[3] or min(kernel.shape[2:]) < 1:
        raise ValueError(
            f"dw_xcorr: kernel {_shape(kernel)} must be non-empty and no larger than search {_shape(search)}"
        )
    chosen = resolve("dw_xcorr", backend, (search, kernel))
    if chosen == "torch":
        return ref.dw_xcorr(search, kernel)
    if chosen == "grouped_cl":
        return alt.dw_xcorr_grouped_cl(search, kernel)
    return torch.ops.trackerzoo.dw_xcorr(search, kernel)


def pyramid_roi_align(
    features: torch.Tensor,
    rois: torch.Tensor,
    output_sizes: Sequence[int] = (6, 3, 1),
    spatial_scale: float = 1.0,
    sampling_ratio: int = -1,
    aligned: bool = True,
    *,
    backend: str = "auto",
) -> tuple[torch.Tensor, ...]:
    """RoIAlign of the same RoIs at several output sizes, one ``[K, C, s, s]`` tensor per size.

    ``rois`` rows are ``(batch_index, x1, y1, x2, y2)`` in input-image coordinates; semantics
    per level are torchvision's ``roi_align`` (bilinear samples, adaptive sampling ratio
    ``ceil(roi_size / s)`` when ``sampling_ratio <= 0``, ``aligned`` half-pixel shift, zero
    outside the map). No gradient flows to ``rois``. A batch index outside ``[0, B)`` is an
    error in the reference and the C++ kernel; the CUDA kernel (which cannot raise without a
    host synchronisation) returns zeros for such a RoI.
    """
    if features.dim() != 4:
        raise ValueError(f"pyramid_roi_align needs features [B, C, H, W], got {_shape(features)}")
    if rois.dim() != 2 or rois.shape[1] != 5:
        raise ValueError(f"pyramid_roi_align needs rois [K, 5] (batch_index, x1, y1, x2, y2), got {_shape(rois)}")
    sizes = tuple(int(s) for s in output_sizes)
    if not sizes or min(sizes) < 1:
        raise ValueError(f"output_sizes must be a non-empty sequence of positive ints, got {output_sizes!r}")
    if min(features.shape[2:]) < 1:
        raise ValueError(f"pyramid_roi_align needs a non-empty feature map, got {_shape(features)}")
    rois = rois.to(features.dtype)
    chosen = resolve("pyramid_roi_align", backend, (features, rois))
    if chosen == "torch":
        return ref.pyramid_roi_align(features, rois, sizes, spatial_scale, sampling_ratio, aligned)
    if chosen == "gather":
        return alt.pyramid_roi_align_gather(features, rois, sizes, spatial_scale, sampling_ratio, aligned)
    levels = torch.ops.trackerzoo.pyramid_roi_align(
        features, rois, list(sizes), float(spatial_scale), int(sampling_ratio), bool(aligned)
    )
    return tuple(levels)


def _output_pair(output_size: int | Sequence[int]) -> tuple[int, int]:
    if isinstance(output_size, int):
        pair: tuple[int, ...] = (output_size, output_size)
    else:
        pair = tuple(output_size)
    if len(pair) != 2 or not all(isinstance(s, int) and s >= 1 for s in pair):
        raise ValueError(f"output_size must be a positive int or a pair (ph, pw) of them, got {output_size!r}")
    return pair[0], pair[1]


def prroi_pool(
    features: torch.Tensor,
    rois: torch.Tensor,
    output_size: int | Sequence[int],
    spatial_scale: float = 1.0,
    *,
    backend: str = "auto",
) -> torch.Tensor:
    """Precise RoI Pooling (PrRoIPool; Jiang et al., ECCV 2018, Sec. 3.3): ``[K, C, ph, pw]``.

    ``features`` ``[B, C, H, W]``; ``rois`` ``[K, 5]`` rows ``(batch_index, x1, y1, x2, y2)``
    in input-image pixels, mapped to the feature map by ``spatial_scale`` (map pixel ``j`` sits
    at coordinate ``j``, no half-pixel shift, as in pytracking's ``PrRoIPool2D``); ``output_size``
    an int or ``(ph, pw)``. Each of the ``ph x pw`` bins of a RoI is the exact integral of the
    bilinearly interpolated map (zero outside ``[0, H-1] x [0, W-1]``) over the bin, divided by
    the bin area; a RoI of zero or negative width or height gives zeros. Differentiable with
    respect to ``features`` and the box coordinates of ``rois`` (not the batch index).

    Raises ``ValueError`` for a wrong shape, an ``output_size`` or ``spatial_scale`` that is
    not positive, non-finite ``rois`` or a batch index outside ``[0, B)`` (or not an integer);
    the ``rois`` checks are skipped under ``torch.compile`` and CUDA-graph capture.
    """
    if features.dim() != 4:
        raise ValueError(f"prroi_pool needs features [B, C, H, W], got {_shape(features)}")
    if rois.dim() != 2 or rois.shape[1] != 5:
        raise ValueError(f"prroi_pool needs rois [K, 5] (batch_index, x1, y1, x2, y2), got {_shape(rois)}")
    size = _output_pair(output_size)
    scale = float(spatial_scale)
    if not math.isfinite(scale) or scale <= 0:
        raise ValueError(f"prroi_pool: spatial_scale must be positive and finite, got {spatial_scale!r}")
    if min(features.shape[2:]) < 1:
        raise ValueError(f"prroi_pool needs a non-empty feature map, got {_shape(features)}")
    if not features.is_floating_point():
        raise ValueError(f"prroi_pool needs floating-point features, got {features.dtype}")
    rois = rois.to(features.dtype)
    # The checks synchronise with the device: skipped while tracing or capturing a CUDA graph
    # (where the CUDA kernel gives zeros for a RoI whose batch index is outside the batch).
    capturing = rois.is_cuda and torch.cuda.is_current_stream_capturing()
    if rois.shape[0] > 0 and not capturing and not torch.compiler.is_compiling():
        _check_prroi_rois(rois.detach(), features.shape[0])
    chosen = resolve("prroi_pool", backend, (features, rois))
    if chosen == "torch":
        return ref.prroi_pool(features, rois, size, scale)
    return torch.ops.trackerzoo.prroi_pool(features, rois, size[0], size[1], scale)


def _check_prroi_rois(rois: torch.Tensor, batch: int) -> None:
    """Non-finite values and batch indices outside ``[0, batch)`` as one ``ValueError`` (one host sync)."""
    bad_value = ~torch.isfinite(rois).all(dim=1)
    index = rois[:, 0]
    bad_index = (index < 0) | (index >= batch) | (index != index.floor())
    bad = torch.nonzero(bad_value | bad_index).flatten()
    if bad.numel():
        row = int(bad[0])
        what = "a non-finite value"
        if not bool(bad_value[row]):
            what = f"batch index {float(index[row])!r} not in [0, {batch})"
        raise ValueError(f"prroi_pool: roi {row} {rois[row].tolist()} has {what}")


def lut_affinity_softmax(
    query: torch.Tensor,
    keys: torch.Tensor,
    values: torch.Tensor,
    scale: float | None = None,
    *,
    backend: str = "auto",
) -> torch.Tensor:
    """``softmax(scale * query @ keys^T, dim=-1) @ values`` without materialising ``N x K``.

    ``query`` ``[B, N, C]``, ``keys`` ``[B, K, C]``, ``values`` ``[B, K, D]`` -> ``[B, N, D]``;
    ``scale`` defaults to ``1 / sqrt(C)``.
    """
    if query.dim() != 3 or keys.dim() != 3 or values.dim() != 3:
        raise ValueError(
            "lut_affinity_softmax needs 3-D query, keys, values, got "
            f"{_shape(query)}, {_shape(keys)}, {_shape(values)}"
        )
    b, _, c = query.shape
    if keys.shape[0] != b or keys.shape[2] != c:
        raise ValueError(f"lut_affinity_softmax: keys {_shape(keys)} must be [B, K, C] for query {_shape(query)}")
    if values.shape[:2] != keys.shape[:2]:
        raise ValueError(f"lut_affinity_softmax: values {_shape(values)} must be [B, K, D] for keys {_shape(keys)}")
    if keys.shape[1] < 1:
        raise ValueError(f"lut_affinity_softmax needs at least one key, got keys {_shape(keys)}")
    if scale is None:
        scale = 1.0 / math.sqrt(c) if c > 0 else 1.0
    chosen = resolve("lut_affinity_softmax", backend, (query, keys, values))
    if chosen == "torch":
        return ref.lut_affinity_softmax(query, keys, values, scale)
    if chosen == "sdpa":
        return alt.lut_affinity_softmax_sdpa(query, keys, values, scale)
    return torch.ops.trackerzoo.lut_affinity_softmax(query, keys, values, float(scale))


def _needs_grad(*tensors: torch.Tensor) -> bool:
    return torch.is_grad_enabled() and any(t.requires_grad for t in tensors)


def _check_dcf(x: torch.Tensor, sample_weights: torch.Tensor, filt: torch.Tensor, padding) -> tuple[int, int]:
    if x.dim() != 4 or filt.dim() != 4:
        raise ValueError(f"dcf ops need x [N, C, H, W] and filt [F, C, kh, kw], got {_shape(x)} and {_shape(filt)}")
    if filt.shape[1] != x.shape[1]:
        raise ValueError(f"dcf ops: filt {_shape(filt)} and x {_shape(x)} must have the same channels")
    if sample_weights.shape != (x.shape[0],):
        raise ValueError(f"dcf ops: sample_weights {_shape(sample_weights)} must be [N] for x {_shape(x)}")
    ph, pw = _padding_pair(padding)
    ho = x.shape[2] + 2 * ph - filt.shape[2] + 1
    wo = x.shape[3] + 2 * pw - filt.shape[3] + 1
    if ho < 1 or wo < 1:
        raise ValueError(f"dcf ops: filt {_shape(filt)} with padding {padding!r} does not fit x {_shape(x)}")
    return ho, wo


def dcf_normal_apply(
    x: torch.Tensor,
    sample_weights: torch.Tensor,
    filt: torch.Tensor,
    reg: float,
    padding: int | Sequence[int],
    *,
    backend: str = "auto",
) -> torch.Tensor:
    """The DCF normal-equation operator ``sum_n w_n X_n^T X_n f + reg f`` (same shape as ``filt``).

    ``X_n f = conv2d(x_n, f, padding)``; ``X_n^T`` is its adjoint. Gauss-Newton learners use
    it as the left-hand side of their linear systems.
    """
    _check_dcf(x, sample_weights, filt, padding)
    sample_weights = sample_weights.to(x.dtype)
    chosen = resolve("dcf_normal_apply", backend, (x, sample_weights, filt))
    if backend == "auto" and _needs_grad(x, sample_weights, filt):
        chosen = "torch"  # the kernels are not differentiable; the reference is, through autograd
    if chosen == "torch":
        return ref.dcf_normal_apply(x, sample_weights, filt, reg, padding)
    if chosen == "autograd":
        return alt.dcf_normal_apply_autograd(x, sample_weights, filt, reg, padding)
    return torch.ops.trackerzoo.dcf_normal_apply(
        x, sample_weights, filt, float(reg), list(_padding_pair(padding))
    )


def dcf_cg(
    x: torch.Tensor,
    y: torch.Tensor,
    sample_weights: torch.Tensor,
    filt: torch.Tensor,
    reg: float,
    padding: int | Sequence[int],
    num_iters: int,
    *,
    backend: str = "auto",
) -> torch.Tensor:
    """Refines a correlation filter by ``num_iters`` conjugate-gradient steps.

    Minimises ``sum_n w_n ||conv2d(x_n, f, padding) - y_n||^2 + reg ||f||^2`` from ``filt``;
    ``x`` ``[N, C, H, W]``, ``y`` ``[N, F, Ho, Wo]``, ``sample_weights`` ``[N]``, ``filt``
    ``[F, C, kh, kw]``. No host synchronisation happens inside the iteration, and
    ``num_iters = 0`` returns (a copy of) ``filt`` unchanged. The kernels are not
    differentiable, nor is the ``"autograd"`` alternative (pytracking's operator): under
    ``"auto"``, inputs that require grad use the reference.
    """
    ho, wo = _check_dcf(x, sample_weights, filt, padding)
    if y.shape != (x.shape[0], filt.shape[0], ho, wo):
        raise ValueError(
            f"dcf_cg: y {_shape(y)} must be [N, F, Ho, Wo] = [{x.shape[0]}, {filt.shape[0]}, {ho}, {wo}] "
            f"for x {_shape(x)}, filt {_shape(filt)} and padding {padding!r}"
        )
    if int(num_iters) < 0:
        raise ValueError(f"num_iters must be >= 0, got {num_iters!r}")
    sample_weights = sample_weights.to(x.dtype)
    chosen = resolve("dcf_cg", backend, (x, y, sample_weights, filt))
    if backend == "auto" and _needs_grad(x, y, sample_weights, filt):
        chosen = "torch"  # the kernels are not differentiable; the reference is, through autograd
    if chosen == "torch":
        return ref.dcf_cg(x, y, sample_weights, filt, reg, padding, int(num_iters))
    if chosen == "autograd":
        return alt.dcf_cg_autograd(x, y, sample_weights, filt, reg, padding, int(num_iters))
    return torch.ops.trackerzoo.dcf_cg(
        x, y, sample_weights, filt, float(reg), list(_padding_pair(padding)), int(num_iters)
    )
