"""The hot ops of trackerzoo, each with a pure-PyTorch reference and optional C++/CUDA kernels.

    from trackerzoo import ops
    out = ops.dw_xcorr(search, kernel)                       # backend="auto"
    ops.available_backends()  # {"dw_xcorr": ["torch", "cpu"], ...}

Set ``TRACKERZOO_OPS_BACKEND=torch`` to force the reference wherever ``backend="auto"``.
``ops.alternatives()`` names each op's stock-PyTorch rivals (also valid ``backend=`` values);
``auto`` follows a dispatch table measured per device (``python -m trackerzoo.ops.tune``),
see ``ops.dispatch_table()`` and ``ops.set_dispatch_table()``.
"""

import torch

from trackerzoo.ops._backend import ALTERNATIVES, available_backends, extension_error, resolve, shape_bucket
from trackerzoo.ops._table import current as dispatch_table
from trackerzoo.ops._table import set_table as set_dispatch_table
from trackerzoo.ops.functional import (
    dcf_cg,
    dcf_normal_apply,
    dw_xcorr,
    lut_affinity_softmax,
    prroi_pool,
    pyramid_roi_align,
)


def alternatives() -> dict[str, tuple[str, ...]]:
    """Per op, the names of its stock-PyTorch alternatives (``backend=`` values that always work)."""
    return dict(ALTERNATIVES)


def auto_choice(op: str, *tensors: torch.Tensor) -> str:
    """The path ``backend="auto"`` takes for ``op`` on these input tensors (in the op's order).

    ``"torch"``, ``"cpu"``, ``"cuda"`` or an alternative's name; ``ValueError`` for an unknown
    op or tensors on several devices. The DCF ops' gradient rule (inputs that require grad
    take the reference) is not applied here.
    """
    if op not in ALTERNATIVES:
        raise ValueError(f"unknown op {op!r}; ops: {sorted(ALTERNATIVES)}")
    return resolve(op, "auto", tensors)


__all__ = [
    "alternatives",
    "auto_choice",
    "available_backends",
    "dcf_cg",
    "dcf_normal_apply",
    "dispatch_table",
    "dw_xcorr",
    "extension_error",
    "lut_affinity_softmax",
    "prroi_pool",
    "pyramid_roi_align",
    "set_dispatch_table",
    "shape_bucket",
]
