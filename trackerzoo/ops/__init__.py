"""The hot ops of trackerzoo, each with a pure-PyTorch reference and optional C++/CUDA kernels.

    from trackerzoo import ops
    out = ops.dw_xcorr(search, kernel)                       # backend="auto"
    ops.available_backends()  # {"dw_xcorr": ["torch", "cpu"], ...}

Set ``TRACKERZOO_OPS_BACKEND=torch`` to force the reference wherever ``backend="auto"``.
"""

from trackerzoo.ops._backend import available_backends, extension_error
from trackerzoo.ops.functional import (
    dcf_cg,
    dcf_normal_apply,
    dw_xcorr,
    lut_affinity_softmax,
    pyramid_roi_align,
)

__all__ = [
    "available_backends",
    "dcf_cg",
    "dcf_normal_apply",
    "dw_xcorr",
    "extension_error",
    "lut_affinity_softmax",
    "pyramid_roi_align",
]
