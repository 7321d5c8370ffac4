"""Which implementation of an op runs: a native kernel, the reference or a stock-PyTorch rival.

The extension ``trackerzoo._C`` is optional. When it is missing or fails to load (built
against another torch, say) every op still works through the pure-PyTorch reference.

``backend="auto"`` takes the kernel for the tensors' device when it is built, unless the
dispatch table (``trackerzoo.ops._table``, measured per device by ``python -m
trackerzoo.ops.tune``) names a faster path for the op and shape bucket: the reference or
one of the alternatives of ``ALTERNATIVES`` (``trackerzoo.ops._alternatives``).
"""

from __future__ import annotations

import os
import warnings

import torch

from trackerzoo.ops import _table

OPS = ("dw_xcorr", "pyramid_roi_align", "prroi_pool", "lut_affinity_softmax", "dcf_cg", "dcf_normal_apply")
BACKENDS = ("auto", "torch", "cpu", "cuda")
ENV_VAR = "TRACKERZOO_OPS_BACKEND"
# The dtypes the native kernels are instantiated for; other dtypes use the reference under "auto".
KERNEL_DTYPES = (torch.float32, torch.float64)
_DISPATCH_KEYS = {"cpu": torch.DispatchKey.CPU, "cuda": torch.DispatchKey.CUDA}
# Per op, the stock-PyTorch paths that compete with the kernel (see _alternatives.py).
ALTERNATIVES: dict[str, tuple[str, ...]] = {
    "dw_xcorr": ("grouped_cl",),
    "pyramid_roi_align": ("gather",),
    "lut_affinity_softmax": ("sdpa",),
    "dcf_cg": ("autograd",),
    "dcf_normal_apply": ("autograd",),
    "prroi_pool": (),
}
# Which input's first dimension sets an op's shape bucket: the batch of the search, feature
# map or query, the number of RoIs of prroi_pool, and the number of filters of the DCF ops.
_BUCKET_INPUT = {
    "dw_xcorr": 0,
    "pyramid_roi_align": 0,
    "prroi_pool": 1,
    "lut_affinity_softmax": 0,
    "dcf_cg": 3,
    "dcf_normal_apply": 2,
}

_extension_error: BaseException | None = None
try:
    from trackerzoo import _C  # noqa: F401  (loading the library registers torch.ops.trackerzoo)
except ImportError as exc:  # not built: silently use the reference
    _extension_error = exc
except Exception as exc:  # built but broken (ABI mismatch, missing symbol): say so once
    _extension_error = exc
    warnings.warn(
        f"trackerzoo._C failed to load ({exc}); using the pure-PyTorch reference ops",
        RuntimeWarning,
        stacklevel=2,
    )
else:
    # The fake (meta) kernels, for torch.compile and FakeTensor tracing of the native ops. The
    # kernels run eagerly without them, so a failure here only costs tracing: say so once.
    try:
        from trackerzoo.ops import _fake  # noqa: F401
    except Exception as exc:
        warnings.warn(f"trackerzoo: fake kernels not registered ({exc})", RuntimeWarning, stacklevel=2)


def extension_error() -> BaseException | None:
    """Why the native extension is unavailable, or ``None`` when it loaded."""
    return _extension_error


# (op, backend) -> whether a kernel is registered: fixed once the extension has loaded,
# and ``resolve`` asks on every op call (several times per tracked frame). A plain dict
# rather than functools.cache, which torch.compile warns about when tracing ``resolve``.
_KERNELS: dict[tuple[str, str], bool] = {}


def _has_kernel(op: str, backend: str) -> bool:
    """Whether ``trackerzoo::<op>`` has a kernel for ``backend`` (``"cpu"`` or ``"cuda"``); cached."""
    key = (op, backend)
    found = _KERNELS.get(key)
    if found is None:
        found = _KERNELS[key] = _lookup_kernel(op, backend)
    return found


def _lookup_kernel(op: str, backend: str) -> bool:
    if _extension_error is not None:
        return False
    try:
        overload = getattr(torch.ops.trackerzoo, op).default
    except (AttributeError, RuntimeError):  # not registered by this build of the extension
        return False
    return bool(overload.has_kernel_for_dispatch_key(_DISPATCH_KEYS[backend]))


def available_backends() -> dict[str, list[str]]:
    """Per op, the backends built on this machine (``"torch"`` is always there).

    ``"cuda"`` is listed when the CUDA kernels were compiled into the extension, whether or
    not a GPU is visible right now.
    """
    return {op: ["torch"] + [b for b in ("cpu", "cuda") if _has_kernel(op, b)] for op in OPS}


def shape_bucket(op: str, tensors: tuple[torch.Tensor, ...]) -> str:
    """The dispatch-table bucket of one call: ``"1"``, ``"2-8"`` or ``"9+"`` by batch size.

    The size is the first dimension of the search (``dw_xcorr``), feature map, query, the
    number of RoIs (``prroi_pool``) or the number of filters (DCF ops). ``dw_xcorr`` with a
    channels-last search adds ``"/cl"``.
    """
    n = tensors[_BUCKET_INPUT[op]].shape[0]
    bucket = "1" if n <= 1 else "2-8" if n <= 8 else "9+"
    if op == "dw_xcorr":
        search = tensors[0]
        if not search.is_contiguous() and search.is_contiguous(memory_format=torch.channels_last):
            bucket += "/cl"
    return bucket


def backend_names(op: str) -> tuple[str, ...]:
    """Every ``backend=`` value ``op`` accepts: ``auto``, ``torch``, ``cpu``, ``cuda`` and its alternatives."""
    return BACKENDS + ALTERNATIVES[op]


def resolve(op: str, backend: str, tensors: tuple[torch.Tensor, ...]) -> str:
    """Pick ``"torch"``, ``"cpu"``, ``"cuda"`` or an alternative for one call, or raise a ``ValueError``.

    Under ``"auto"`` a float32 call follows the dispatch table when it names a path that can
    run here (a built kernel of the tensors' device, the reference or an alternative);
    other calls take the device's kernel when built, else the reference.
    """
    if backend not in BACKENDS and backend not in ALTERNATIVES[op]:
        raise ValueError(f"{op}: backend must be one of {backend_names(op)}, got {backend!r}")
    forced = os.environ.get(ENV_VAR, "").strip().lower()
    if forced not in ("", "auto", "torch"):
        raise ValueError(f"{ENV_VAR} must be 'torch' or 'auto', got {forced!r}")
    device = tensors[0].device
    for t in tensors[1:]:
        if t.device != device:
            raise ValueError(f"{op}: all tensors must be on one device, got {device} and {t.device}")
    dtype = tensors[0].dtype
    if backend == "auto":
        if forced == "torch":
            return "torch"
        wanted = "cuda" if device.type == "cuda" else "cpu" if device.type == "cpu" else None
        one_dtype = True
        for t in tensors:  # a plain loop: resolve runs on every op call, all() costs more
            if t.dtype != dtype:
                one_dtype = False
                break
        if wanted is not None and dtype == torch.float32 and one_dtype:
            pick = _table.choice(op, device.type, shape_bucket(op, tensors))
            if pick == "torch" or pick in ALTERNATIVES[op] or (pick == wanted and _has_kernel(op, wanted)):
                return pick
        if wanted is None or dtype not in KERNEL_DTYPES or not _has_kernel(op, wanted):
            return "torch"
        if not one_dtype:
            return "torch"
        return wanted
    if backend == "torch" or backend in ALTERNATIVES[op]:
        return backend
    if not _has_kernel(op, backend):
        available = available_backends()[op]
        why = f" (the extension did not load: {_extension_error})" if _extension_error else ""
        raise ValueError(f"{op}: backend {backend!r} is not built on this machine{why}; available: {available}")
    if device.type != backend:
        raise ValueError(f"{op}: backend {backend!r} needs {backend} tensors, got tensors on {device}")
    if dtype not in KERNEL_DTYPES:
        raise ValueError(f"{op}: backend {backend!r} supports float32 and float64, got {dtype}")
    for t in tensors:
        if t.dtype != dtype:
            raise ValueError(f"{op}: backend {backend!r} needs one dtype for all inputs, got {dtype} and {t.dtype}")
    return backend
