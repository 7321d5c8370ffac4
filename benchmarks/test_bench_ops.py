"""Kernel vs reference vs stock-PyTorch alternatives for each op, at tracking shapes (B = 1)
and batched (B = 32 sequences), plus ``backend="auto"`` (whose pick is in ``extra_info``).

Run: ``.venv/bin/python -m pytest benchmarks`` (results saved per device, see conftest.py),
then ``.venv/bin/python scripts/bench_table.py`` for the op / shape / backend / median /
speed-up table. CUDA timings synchronise inside the timed function. pytest-benchmark runs
one path after the other; ``benchmarks/ops_alternatives.py`` times them interleaved.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch

from trackerzoo import ops

BUILT = ops.available_backends()
BACKENDS = ["torch", "cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def _device(backend: str) -> torch.device:
    return torch.device("cuda" if backend == "cuda" else "cpu")


def _params(op: str, shapes: dict) -> list:
    """(shape name, backend, device) triples; the reference, the alternatives and ``auto`` run
    on the GPU when there is one (what a CUDA kernel competes with) and on the CPU too."""
    out = []
    everywhere = ("torch", "auto", *ops.alternatives()[op])
    for shape in shapes:
        for backend in [*BACKENDS, *ops.alternatives()[op], "auto"]:
            devices = ["cpu"] + (["cuda"] if backend in everywhere and torch.cuda.is_available() else [])
            if backend not in everywhere:
                devices = [_device(backend).type]
            for dev in devices:
                marks = pytest.mark.skipif(backend not in everywhere and backend not in BUILT[op], reason="not built")
                out.append(pytest.param(shape, backend, dev, marks=marks, id=f"{shape}-{backend}-{dev}"))
    return out


def _run(benchmark, op: str, shape: str, backend: str, device: str, fn: Callable[[], object], rounds: int,
         inputs: tuple[torch.Tensor, ...]):
    benchmark.group = f"{op} {shape} {device}"
    benchmark.extra_info.update({"op": op, "shape": shape, "backend": backend, "device": device})
    if backend == "auto":
        benchmark.extra_info["auto_picks"] = ops.auto_choice(op, *inputs)
    if device == "cuda":

        def timed():
            fn()
            torch.cuda.synchronize()
    else:
        timed = fn
    benchmark.pedantic(timed, rounds=rounds, iterations=1, warmup_rounds=2)


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# ---------------------------------------------------------------- dw_xcorr
XCORR = {"B1-256x31x31-k7": 1, "B32-256x31x31-k7": 32}


@pytest.mark.parametrize(("shape", "backend", "device"), _params("dw_xcorr", XCORR))
def test_dw_xcorr(benchmark, shape, backend, device):
    b = XCORR[shape]
    search = torch.randn(b, 256, 31, 31, generator=_gen()).to(device)
    kernel = torch.randn(b, 256, 7, 7, generator=_gen(1)).to(device)
    _run(benchmark, "dw_xcorr", shape, backend, device, lambda: ops.dw_xcorr(search, kernel, backend=backend),
         rounds=50 if b == 1 else 10, inputs=(search, kernel))


# ---------------------------------------------------------------- pyramid RoIAlign
ROI = {"B1-256x31x31-10rois": 1, "B32-256x31x31-320rois": 32}


def _rois(b: int, per_seq: int = 10) -> torch.Tensor:
    g = _gen(2)
    k = b * per_seq
    idx = torch.arange(b).repeat_interleave(per_seq).float()[:, None]
    xy = torch.rand(k, 2, generator=g) * 150
    wh = torch.rand(k, 2, generator=g) * 90 + 10
    return torch.cat([idx, xy, xy + wh], 1)  # input-image coordinates of a 248-px search crop


@pytest.mark.parametrize(("shape", "backend", "device"), _params("pyramid_roi_align", ROI))
def test_pyramid_roi_align(benchmark, shape, backend, device):
    b = ROI[shape]
    feat = torch.randn(b, 256, 31, 31, generator=_gen()).to(device)
    rois = _rois(b).to(device)
    _run(benchmark, "pyramid_roi_align", shape, backend, device,
         lambda: ops.pyramid_roi_align(feat, rois, (6, 3, 1), 1 / 8, -1, True, backend=backend),
         rounds=30 if b == 1 else 5, inputs=(feat, rois))


# ---------------------------------------------------------------- Precise RoI Pooling
# DiMP's IoU-Net: layer3 of a 288-px crop (256 x 36 x 36, stride 8) pooled to 3 x 3 for 1 box
# and for 64 proposals; benchmarks/bench_prroi.py adds layer4 1 x 1, the 4 x 4 filter
# initialiser, the gradients and the RoIAlign rival, interleaved.
PRROI = {"256x36x36-1roi-3x3": 1, "256x36x36-64rois-3x3": 64}


@pytest.mark.parametrize(("shape", "backend", "device"), _params("prroi_pool", PRROI))
def test_prroi_pool(benchmark, shape, backend, device):
    from bench_prroi import dimp_rois

    k = PRROI[shape]
    feat = torch.randn(1, 256, 36, 36, generator=_gen()).to(device)
    rois = dimp_rois(k).to(device)
    _run(benchmark, "prroi_pool", shape, backend, device, lambda: ops.prroi_pool(feat, rois, 3, 1 / 8, backend=backend),
         rounds=30 if k == 1 else 10, inputs=(feat, rois))


# ---------------------------------------------------------------- LUT affinity softmax
LUT = {"B1-625q-225k-64c": 1, "B32-625q-225k-64c": 32}


@pytest.mark.parametrize(("shape", "backend", "device"), _params("lut_affinity_softmax", LUT))
def test_lut_affinity_softmax(benchmark, shape, backend, device):
    b = LUT[shape]
    q = torch.randn(b, 625, 64, generator=_gen()).to(device)
    k = torch.randn(b, 225, 64, generator=_gen(1)).to(device)
    v = torch.randn(b, 225, 64, generator=_gen(2)).to(device)
    _run(benchmark, "lut_affinity_softmax", shape, backend, device,
         lambda: ops.lut_affinity_softmax(q, k, v, backend=backend), rounds=50 if b == 1 else 10, inputs=(q, k, v))


# ---------------------------------------------------------------- DCF conjugate gradient
# dcf_cg solves one sequence's filter (its API has no sequence dimension), so the batched
# case is the same problem with 32 filters (F = 32), as a multi-channel DCF head would have.
DCF = {"N250-64x18x18-f1x4x4-5it": 1, "N250-64x18x18-f32x4x4-5it": 32}


@pytest.mark.parametrize(("shape", "backend", "device"), _params("dcf_cg", DCF))
def test_dcf_cg(benchmark, shape, backend, device):
    f = DCF[shape]
    x = torch.randn(250, 64, 18, 18, generator=_gen()).to(device)
    y = torch.randn(250, f, 19, 19, generator=_gen(1)).to(device)
    w = torch.full((250,), 1 / 250).to(device)
    filt = torch.zeros(f, 64, 4, 4).to(device)
    _run(benchmark, "dcf_cg", shape, backend, device,
         lambda: ops.dcf_cg(x, y, w, filt, 0.01, 2, 5, backend=backend), rounds=5, inputs=(x, y, w, filt))


@pytest.mark.parametrize(("shape", "backend", "device"), _params("dcf_normal_apply", {"N250-64x18x18-f1x4x4": 1}))
def test_dcf_normal_apply(benchmark, shape, backend, device):
    x = torch.randn(250, 64, 18, 18, generator=_gen()).to(device)
    w = torch.full((250,), 1 / 250).to(device)
    filt = torch.randn(1, 64, 4, 4, generator=_gen(1)).to(device)
    _run(benchmark, "dcf_normal_apply", shape, backend, device,
         lambda: ops.dcf_normal_apply(x, w, filt, 0.01, 2, backend=backend), rounds=10, inputs=(x, w, filt))
