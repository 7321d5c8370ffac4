"""``torch.library.opcheck`` of every native op: schema, autograd registration, fake kernel.

Each op (the ``_*_backward`` / ``_*_forward`` helpers too) runs on a few shapes in float32
and float64; inputs of the differentiable ops require grad, so the Autograd kernels and the
fake kernels of their helper ops are traced as well (``test_aot_dispatch_dynamic``). The
CUDA variants are marked ``cuda`` and skip without a GPU or without the CUDA kernels.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from trackerzoo import ops
from trackerzoo.ops import extension_error

pytestmark = pytest.mark.skipif(
    extension_error() is not None, reason=f"trackerzoo._C is not built/loaded: {extension_error()}"
)

ROOT = Path(__file__).resolve().parents[2]
DTYPES = [torch.float32, torch.float64]
Args = tuple


def _randn(shape, dtype, device, seed, grad=False) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=dtype).to(device).requires_grad_(grad)


def _rois(k: int, batch: int, h: int, w: int, dtype, device, seed: int) -> torch.Tensor:
    """``k`` RoIs ``(b, x1, y1, x2, y2)`` in a ``2h x 2w`` image, some reaching past its border."""
    g = torch.Generator().manual_seed(seed)
    b = torch.randint(0, batch, (k, 1), generator=g).to(torch.float64)
    xy = torch.rand(k, 2, generator=g, dtype=torch.float64) * torch.tensor([2.0 * w, 2.0 * h])
    wh = torch.rand(k, 2, generator=g, dtype=torch.float64) * torch.tensor([1.2 * w, 1.2 * h]) + 0.5
    return torch.cat([b, xy, xy + wh], dim=1).to(dtype=dtype, device=device)


# One case: (case id, builder(dtype, device) -> positional args of the op).
Case = tuple[str, Callable[[torch.dtype, str], Args]]


def _dw_xcorr_cases(grad: bool) -> list[Case]:
    def make(search, kernel):
        return lambda dtype, dev: (
            _randn(search, dtype, dev, 0, grad),
            _randn(kernel, dtype, dev, 1, grad),
        )

    return [
        ("tracking", make((1, 4, 11, 11), (1, 4, 5, 5))),
        ("batch3-rect", make((3, 2, 9, 6), (3, 2, 4, 2))),
        ("kernel-as-large", make((2, 1, 5, 5), (2, 1, 5, 5))),
    ]


def _dw_xcorr_backward_cases() -> list[Case]:
    def make(search, kernel):
        def build(dtype, dev):
            out = (search[0], search[1], search[2] - kernel[2] + 1, search[3] - kernel[3] + 1)
            return (_randn(out, dtype, dev, 2), _randn(search, dtype, dev, 0), _randn(kernel, dtype, dev, 1))

        return build

    return [("tracking", make((1, 4, 11, 11), (1, 4, 5, 5))), ("batch3-rect", make((3, 2, 9, 6), (3, 2, 4, 2)))]


ROI_PROBLEMS = [
    # id, features shape, RoIs, output sizes, spatial scale, sampling ratio, aligned
    ("pyramid", (2, 3, 9, 11), 5, [6, 3, 1], 0.5, -1, True),
    ("one-level-fixed-ratio", (1, 2, 7, 7), 3, [4], 1.0, 2, False),
    ("1x1-map", (2, 2, 1, 1), 4, [3, 1], 0.25, -1, True),
]


def _roi_cases() -> list[Case]:
    def make(shape, k, sizes, scale, ratio, aligned):
        def build(dtype, dev):
            feat = _randn(shape, dtype, dev, 0, grad=True)
            rois = _rois(k, shape[0], shape[2], shape[3], dtype, dev, 1)
            return (feat, rois, sizes, scale, ratio, aligned)

        return build

    return [(name, make(*problem)) for name, *problem in ROI_PROBLEMS]


def _roi_backward_cases() -> list[Case]:
    def make(shape, k, sizes, scale, ratio, aligned):
        def build(dtype, dev):
            b, c, h, w = shape
            grads = [_randn((k, c, s, s), dtype, dev, 2 + i) for i, s in enumerate(sizes)]
            rois = _rois(k, b, h, w, dtype, dev, 1)
            return (grads, rois, sizes, scale, ratio, aligned, b, c, h, w)

        return build

    return [(name, make(*problem)) for name, *problem in ROI_PROBLEMS]


PRROI_PROBLEMS = [
    # id, features shape, RoIs, pooled height, pooled width, spatial scale
    ("iou-net-3x3", (2, 3, 9, 11), 5, 3, 3, 0.5),
    ("rect-1x4-on-1x1-map", (2, 2, 1, 1), 4, 1, 4, 0.25),
]


def _prroi_cases() -> list[Case]:
    def make(shape, k, ph, pw, scale):
        def build(dtype, dev):
            feat = _randn(shape, dtype, dev, 0, grad=True)
            rois = _rois(k, shape[0], shape[2], shape[3], dtype, dev, 1).requires_grad_()
            return (feat, rois, ph, pw, scale)

        return build

    return [(name, make(*problem)) for name, *problem in PRROI_PROBLEMS]


def _prroi_backward_cases() -> list[Case]:
    def make(shape, k, ph, pw, scale):
        def build(dtype, dev):
            grad = _randn((k, shape[1], ph, pw), dtype, dev, 2)
            feat = _randn(shape, dtype, dev, 0)
            rois = _rois(k, shape[0], shape[2], shape[3], dtype, dev, 1)
            return (grad, feat, rois, ph, pw, scale, True, True)

        return build

    return [(name, make(*problem)) for name, *problem in PRROI_PROBLEMS]


LUT_SHAPES = [("square", 2, 9, 7, 5, 4), ("one-key", 1, 6, 1, 3, 2), ("wide", 1, 17, 33, 8, 6)]


def _lut_cases(grad: bool) -> list[Case]:
    def make(b, n, k, c, d):
        return lambda dtype, dev: (
            _randn((b, n, c), dtype, dev, 0, grad),
            _randn((b, k, c), dtype, dev, 1, grad),
            _randn((b, k, d), dtype, dev, 2, grad),
            c**-0.5,
        )

    return [(name, make(*shape)) for name, *shape in LUT_SHAPES]


def _lut_backward_cases() -> list[Case]:
    def make(b, n, k, c, d):
        def build(dtype, dev):
            q, keys, v = (_randn(s, dtype, dev, i) for i, s in enumerate([(b, n, c), (b, k, c), (b, k, d)]))
            out, lse = torch.ops.trackerzoo._lut_affinity_softmax_forward(q, keys, v, c**-0.5)
            return (_randn((b, n, d), dtype, dev, 3), q, keys, v, out, lse, c**-0.5)

        return build

    return [(name, make(*shape)) for name, *shape in LUT_SHAPES]


DCF_PROBLEMS = [
    # id, x shape [N, C, H, W], filt shape [F, C, kh, kw], padding
    ("padded", (3, 2, 8, 8), (1, 2, 3, 3), [1, 1]),
    ("two-filters-rect", (2, 3, 7, 9), (2, 3, 4, 2), [2, 0]),
]


def _dcf_apply_cases() -> list[Case]:
    def make(x, filt, padding):
        return lambda dtype, dev: (
            _randn(x, dtype, dev, 0),
            torch.rand(x[0], dtype=dtype).to(dev) + 0.5,
            _randn(filt, dtype, dev, 1),
            0.1,
            padding,
        )

    return [(name, make(*problem)) for name, *problem in DCF_PROBLEMS]


def _dcf_cg_cases() -> list[Case]:
    def make(x, filt, padding, num_iters):
        def build(dtype, dev):
            ho = x[2] + 2 * padding[0] - filt[2] + 1
            wo = x[3] + 2 * padding[1] - filt[3] + 1
            y = _randn((x[0], filt[0], ho, wo), dtype, dev, 2)
            w = torch.rand(x[0], dtype=dtype).to(dev) + 0.5
            return (_randn(x, dtype, dev, 0), y, w, _randn(filt, dtype, dev, 1), 0.1, padding, num_iters)

        return build

    return [(f"{name}-{iters}it", make(*problem, iters)) for name, *problem in DCF_PROBLEMS for iters in (0, 3)]


def _dcf_gram_cases() -> list[Case]:
    def make(x, filt, padding):
        return lambda dtype, dev: (
            _randn(x, dtype, dev, 0), torch.rand(x[0], dtype=dtype).to(dev) + 0.5, list(filt[2:]), padding
        )

    return [(name, make(*problem)) for name, *problem in DCF_PROBLEMS]


# op -> (public op whose backends it shares, its cases)
OPS: dict[str, tuple[str, list[Case]]] = {
    "dw_xcorr": ("dw_xcorr", _dw_xcorr_cases(grad=True)),
    "_dw_xcorr_backward": ("dw_xcorr", _dw_xcorr_backward_cases()),
    "pyramid_roi_align": ("pyramid_roi_align", _roi_cases()),
    "_pyramid_roi_align_backward": ("pyramid_roi_align", _roi_backward_cases()),
    "prroi_pool": ("prroi_pool", _prroi_cases()),
    "_prroi_pool_backward": ("prroi_pool", _prroi_backward_cases()),
    "lut_affinity_softmax": ("lut_affinity_softmax", _lut_cases(grad=True)),
    "_lut_affinity_softmax_forward": ("lut_affinity_softmax", _lut_cases(grad=False)),
    "_lut_affinity_softmax_backward": ("lut_affinity_softmax", _lut_backward_cases()),
    "dcf_normal_apply": ("dcf_normal_apply", _dcf_apply_cases()),
    "dcf_cg": ("dcf_cg", _dcf_cg_cases()),
    "_dcf_gram": ("dcf_cg", _dcf_gram_cases()),
}
CPU_ONLY = {"_dcf_gram"}  # internal to the CPU solver: no CUDA kernel


def _device_params(public_op: str) -> list:
    built = ops.available_backends()[public_op]
    return [
        pytest.param("cpu", marks=pytest.mark.skipif("cpu" not in built, reason="C++ kernel not built")),
        pytest.param(
            "cuda",
            marks=[pytest.mark.cuda, pytest.mark.skipif("cuda" not in built, reason="CUDA kernel not built")],
        ),
    ]


def _params() -> list:
    params = []
    for name, (public_op, cases) in OPS.items():
        for device in _device_params(public_op):
            if name in CPU_ONLY and device.values[0] != "cpu":
                continue
            for case_id, build in cases:
                for dtype in DTYPES:
                    params.append(
                        pytest.param(
                            name, build, device.values[0], dtype,
                            marks=device.marks, id=f"{name}-{case_id}-{device.values[0]}-{str(dtype)[6:]}",
                        )
                    )
    return params


@pytest.mark.parametrize(("name", "build", "device", "dtype"), _params() if extension_error() is None else [])
def test_opcheck(name: str, build: Callable[[torch.dtype, str], Args], device: str, dtype: torch.dtype):
    op = getattr(torch.ops.trackerzoo, name).default
    args = build(dtype, device)
    results = torch.library.opcheck(op, args)
    assert results, "opcheck ran no test"
    assert set(results.values()) == {"SUCCESS"}, results


def test_every_defined_op_is_opchecked_and_has_a_fake_kernel():
    sources = sorted((ROOT / "csrc" / "ops").glob("*/*.cpp"))
    defined = {m.group(1) for src in sources for m in re.finditer(r'm\.def\(\s*"(\w+)\(', src.read_text())}
    assert defined == set(OPS)
    for name in defined:
        overload = getattr(torch.ops.trackerzoo, name).default
        assert overload.has_kernel_for_dispatch_key(torch.DispatchKey.Meta), name


def test_pyramid_roi_align_kernel_returns_one_tensor_per_level():
    feat = _randn((2, 3, 9, 11), torch.float32, "cpu", 0)
    rois = _rois(4, 2, 9, 11, torch.float32, "cpu", 1)
    levels = torch.ops.trackerzoo.pyramid_roi_align(feat, rois, [6, 3, 1], 0.5, -1, True)
    assert isinstance(levels, list)
    assert [tuple(t.shape) for t in levels] == [(4, 3, 6, 6), (4, 3, 3, 3), (4, 3, 1, 1)]
    assert all(t.is_contiguous() for t in levels)
    assert len({t.untyped_storage().data_ptr() for t in levels}) == 3  # no views of one buffer
    reference = ops.pyramid_roi_align(feat, rois, (6, 3, 1), 0.5, -1, True, backend="torch")
    for got, want in zip(levels, reference, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4)


def test_pyramid_roi_align_backward_rejects_a_missing_level():
    rois = _rois(2, 1, 5, 5, torch.float64, "cpu", 1)
    grads = [torch.zeros(2, 1, 3, 3, dtype=torch.float64)]
    with pytest.raises(RuntimeError, match="1 gradients for 2 levels"):
        torch.ops.trackerzoo._pyramid_roi_align_backward(grads, rois, [3, 1], 1.0, -1, True, 1, 1, 5, 5)


def test_public_ops_trace_under_torch_compile():
    feat = _randn((2, 3, 9, 11), torch.float32, "cpu", 0)
    rois = _rois(4, 2, 9, 11, torch.float32, "cpu", 1)

    def pooled(f: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
        levels = ops.pyramid_roi_align(f, r, (6, 3, 1), 0.5, -1, True, backend="cpu")
        return torch.cat([t.flatten(1) for t in levels], dim=1)

    compiled = torch.compile(pooled, backend="eager", fullgraph=False)
    torch.testing.assert_close(compiled(feat, rois), pooled(feat, rois))
