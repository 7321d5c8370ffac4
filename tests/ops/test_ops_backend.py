"""Backend selection, the environment switch and input validation of the public ops."""

from __future__ import annotations

import pytest
import torch

from trackerzoo import ops
from trackerzoo.ops import _backend


def test_available_backends_lists_every_op_with_the_reference():
    backends = ops.available_backends()
    assert set(backends) == {
        "dw_xcorr", "pyramid_roi_align", "prroi_pool", "lut_affinity_softmax", "dcf_cg", "dcf_normal_apply"
    }
    for names in backends.values():
        assert names[0] == "torch"
        assert set(names) <= {"torch", "cpu", "cuda"}


def test_unknown_backend_is_a_value_error():
    x = torch.randn(1, 2, 5, 5)
    with pytest.raises(ValueError, match="'gpu'"):
        ops.dw_xcorr(x, x[..., :3, :3], backend="gpu")


def test_unbuilt_backend_names_itself_and_lists_available(monkeypatch):
    monkeypatch.setattr(_backend, "_has_kernel", lambda op, backend: False)
    x = torch.randn(1, 2, 5, 5)
    with pytest.raises(ValueError, match=r"'cpu' is not built.*available: \['torch'\]"):
        ops.dw_xcorr(x, x[..., :3, :3], backend="cpu")


def test_auto_falls_back_to_reference_without_kernels(monkeypatch):
    monkeypatch.setattr(_backend, "_has_kernel", lambda op, backend: False)
    assert _backend.resolve("dw_xcorr", "auto", (torch.zeros(1),)) == "torch"


def test_environment_forces_reference(monkeypatch):
    monkeypatch.setattr(_backend, "_has_kernel", lambda op, backend: True)
    assert _backend.resolve("lut_affinity_softmax", "auto", (torch.zeros(1),)) == "cpu"
    monkeypatch.setenv("TRACKERZOO_OPS_BACKEND", "torch")
    assert _backend.resolve("lut_affinity_softmax", "auto", (torch.zeros(1),)) == "torch"
    monkeypatch.setenv("TRACKERZOO_OPS_BACKEND", "fast")
    with pytest.raises(ValueError, match="'fast'"):
        _backend.resolve("lut_affinity_softmax", "auto", (torch.zeros(1),))


def test_auto_uses_reference_for_dtypes_without_kernels(monkeypatch):
    monkeypatch.setattr(_backend, "_has_kernel", lambda op, backend: True)
    assert _backend.resolve("dw_xcorr", "auto", (torch.zeros(1, dtype=torch.float16),)) == "torch"
    with pytest.raises(ValueError, match="float16"):
        _backend.resolve("dw_xcorr", "cpu", (torch.zeros(1, dtype=torch.float16),))


def test_cuda_backend_rejects_cpu_tensors(monkeypatch):
    monkeypatch.setattr(_backend, "_has_kernel", lambda op, backend: True)
    with pytest.raises(ValueError, match="needs cuda tensors"):
        _backend.resolve("dw_xcorr", "cuda", (torch.zeros(1),))


@pytest.mark.parametrize(
    ("search", "kernel", "match"),
    [
        ((1, 2, 5, 5), (1, 2, 3), "4-D"),
        ((1, 2, 5, 5), (1, 3, 3, 3), r"\[1, 3, 3, 3\]"),
        ((2, 2, 5, 5), (1, 2, 3, 3), "batch"),
        ((1, 2, 5, 5), (1, 2, 6, 3), "no larger"),
    ],
)
def test_dw_xcorr_shape_errors_name_the_shapes(search, kernel, match):
    with pytest.raises(ValueError, match=match):
        ops.dw_xcorr(torch.zeros(search), torch.zeros(kernel))


def test_roi_align_shape_errors():
    with pytest.raises(ValueError, match=r"\[3, 4\]"):
        ops.pyramid_roi_align(torch.zeros(1, 2, 5, 5), torch.zeros(3, 4))
    with pytest.raises(ValueError, match="features"):
        ops.pyramid_roi_align(torch.zeros(2, 5, 5), torch.zeros(3, 5))
    with pytest.raises(ValueError, match="output_sizes"):
        ops.pyramid_roi_align(torch.zeros(1, 2, 5, 5), torch.zeros(3, 5), output_sizes=(6, 0))


def test_lut_shape_errors():
    q, k, v = torch.zeros(2, 4, 8), torch.zeros(2, 5, 8), torch.zeros(2, 5, 3)
    with pytest.raises(ValueError, match=r"\[2, 5, 7\]"):
        ops.lut_affinity_softmax(q, torch.zeros(2, 5, 7), v)
    with pytest.raises(ValueError, match=r"\[2, 4, 3\]"):
        ops.lut_affinity_softmax(q, k, torch.zeros(2, 4, 3))
    with pytest.raises(ValueError, match="at least one key"):
        ops.lut_affinity_softmax(q, torch.zeros(2, 0, 8), torch.zeros(2, 0, 3))


def test_dcf_shape_errors():
    x, w, f = torch.zeros(3, 4, 9, 9), torch.ones(3), torch.zeros(1, 4, 3, 3)
    with pytest.raises(ValueError, match=r"y \[3, 1, 8, 8\] must be \[N, F, Ho, Wo\] = \[3, 1, 9, 9\]"):
        ops.dcf_cg(x, torch.zeros(3, 1, 8, 8), w, f, 0.1, 1, 2)
    with pytest.raises(ValueError, match=r"sample_weights \[4\]"):
        ops.dcf_normal_apply(x, torch.ones(4), f, 0.1, 1)
    with pytest.raises(ValueError, match="channels"):
        ops.dcf_normal_apply(x, w, torch.zeros(1, 5, 3, 3), 0.1, 1)
    with pytest.raises(ValueError, match="num_iters"):
        ops.dcf_cg(x, torch.zeros(3, 1, 9, 9), w, f, 0.1, 1, -1)
    with pytest.raises(ValueError, match="padding"):
        ops.dcf_normal_apply(x, w, f, 0.1, -1)


def test_dcf_auto_uses_the_differentiable_reference_when_grad_is_needed():
    x = torch.randn(3, 2, 6, 6, dtype=torch.float64, requires_grad=True)
    y, w = torch.randn(3, 1, 6, 6, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    filt = torch.zeros(1, 2, 3, 3, dtype=torch.float64)
    out = ops.dcf_cg(x, y, w, filt, 0.1, 1, 2)
    assert out.requires_grad
    (grad,) = torch.autograd.grad(out.sum(), x)
    assert torch.isfinite(grad).all() and grad.abs().sum() > 0


def test_has_kernel_asks_the_op_overloads():
    if ops.extension_error() is not None:
        pytest.skip(f"trackerzoo._C is not built/loaded: {ops.extension_error()}")
    assert all(_backend._has_kernel(op, "cpu") for op in _backend.OPS)
    assert not _backend._has_kernel("no_such_op", "cpu")
    if torch.version.cuda is None:  # a CPU-only torch cannot have built the CUDA kernels
        assert not any(_backend._has_kernel(op, "cuda") for op in _backend.OPS)


@pytest.mark.parametrize(
    ("rois", "kwargs", "match"),
    [
        (torch.zeros(3, 4), {}, r"rois \[K, 5\].*\[3, 4\]"),
        (torch.tensor([[0.0, 1, 1, 3, 3], [2.0, 1, 1, 3, 3]]), {}, r"roi 1 .*batch index 2.0 not in \[0, 2\)"),
        (torch.tensor([[-1.0, 1, 1, 3, 3]]), {}, r"batch index -1.0"),
        (torch.tensor([[0.5, 1, 1, 3, 3]]), {}, r"batch index 0.5"),
        (torch.tensor([[0.0, 1, float("nan"), 3, 3]]), {}, "roi 0 .*non-finite"),
        (torch.tensor([[0.0, 1, 1, float("inf"), 3]]), {}, "non-finite"),
        (torch.zeros(1, 5), {"output_size": 0}, "output_size .* got 0"),
        (torch.zeros(1, 5), {"output_size": (2, -1)}, r"output_size .* got \(2, -1\)"),
        (torch.zeros(1, 5), {"output_size": (2, 2, 2)}, "output_size"),
        (torch.zeros(1, 5), {"spatial_scale": 0.0}, "spatial_scale .* got 0.0"),
        (torch.zeros(1, 5), {"spatial_scale": float("nan")}, "spatial_scale .* got nan"),
    ],
)
def test_prroi_bad_input_names_the_value(rois, kwargs, match):
    args = {"output_size": 2, **kwargs}
    with pytest.raises(ValueError, match=match):
        ops.prroi_pool(torch.zeros(2, 3, 5, 5), rois, **args)


def test_prroi_feature_shape_errors():
    with pytest.raises(ValueError, match=r"features \[B, C, H, W\], got \[3, 5, 5\]"):
        ops.prroi_pool(torch.zeros(3, 5, 5), torch.zeros(1, 5), 2)
    with pytest.raises(ValueError, match="non-empty"):
        ops.prroi_pool(torch.zeros(1, 3, 0, 5), torch.zeros(1, 5), 2)
    with pytest.raises(ValueError, match="floating-point"):
        ops.prroi_pool(torch.zeros(1, 3, 5, 5, dtype=torch.long), torch.zeros(1, 5), 2)
