"""The stock-PyTorch alternatives of ``auto`` against the reference: random shapes, float64, edges."""

from __future__ import annotations

import pytest
import torch
from ops_testing import non_contiguous, tolerances
from test_ops_reference import EDGE_ROIS, naive_roi_align

from trackerzoo import ops
from trackerzoo.ops import _reference as ref

DTYPES = [torch.float64, torch.float32]


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _randn(*shape: int, dtype: torch.dtype = torch.float64, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, dtype=dtype, generator=_gen(seed))


def test_alternatives_are_listed_per_op_and_accepted_as_backends():
    alts = ops.alternatives()
    assert alts == {
        "dw_xcorr": ("grouped_cl",),
        "pyramid_roi_align": ("gather",),
        "prroi_pool": (),
        "lut_affinity_softmax": ("sdpa",),
        "dcf_cg": ("autograd",),
        "dcf_normal_apply": ("autograd",),
    }


def test_an_alternative_of_another_op_is_a_value_error():
    x = _randn(1, 2, 5, 5)
    with pytest.raises(ValueError, match=r"dw_xcorr: backend must be one of .*'grouped_cl'.*got 'sdpa'"):
        ops.dw_xcorr(x, x[..., :3, :3], backend="sdpa")


# ---------------------------------------------------------------- dw_xcorr: grouped_cl
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    ("b", "c", "h", "w", "kh", "kw", "seed"),
    [(1, 3, 9, 7, 3, 2, 0), (3, 5, 12, 12, 5, 5, 1), (2, 1, 4, 6, 4, 6, 2), (1, 16, 31, 31, 7, 7, 3)],
)
def test_grouped_cl_matches_reference(dtype, b, c, h, w, kh, kw, seed):
    search, kernel = _randn(b, c, h, w, dtype=dtype, seed=seed), _randn(b, c, kh, kw, dtype=dtype, seed=seed + 7)
    out = ops.dw_xcorr(search, kernel, backend="grouped_cl")
    assert out.shape == (b, c, h - kh + 1, w - kw + 1) and out.dtype == dtype
    torch.testing.assert_close(out, ref.dw_xcorr(search, kernel), **tolerances(dtype))


@pytest.mark.parametrize("layout", ["channels_last", "non_contiguous"])
def test_grouped_cl_takes_any_layout(layout):
    search, kernel = _randn(2, 6, 10, 11), _randn(2, 6, 3, 4, seed=1)
    if layout == "channels_last":
        cl = torch.channels_last
        s, k = search.contiguous(memory_format=cl), kernel.contiguous(memory_format=cl)
    else:
        s, k = non_contiguous(search), non_contiguous(kernel)
    torch.testing.assert_close(ops.dw_xcorr(s, k, backend="grouped_cl"), ref.dw_xcorr(search, kernel))


def test_grouped_cl_backward_matches_reference():
    search, kernel = _randn(2, 3, 8, 8).requires_grad_(), _randn(2, 3, 3, 3, seed=1).requires_grad_()
    grad = _randn(2, 3, 6, 6, seed=2)
    got = torch.autograd.grad(ops.dw_xcorr(search, kernel, backend="grouped_cl"), (search, kernel), grad)
    want = torch.autograd.grad(ref.dw_xcorr(search, kernel), (search, kernel), grad)
    for a, b in zip(got, want, strict=True):
        torch.testing.assert_close(a, b)


# ---------------------------------------------------------------- pyramid_roi_align: gather
@pytest.mark.parametrize("aligned", [True, False])
@pytest.mark.parametrize("sampling_ratio", [-1, 1, 3])
def test_gather_matches_naive_roi_align_on_edge_rois(aligned, sampling_ratio):
    feat = _randn(2, 3, 7, 9, seed=1)
    outs = ops.pyramid_roi_align(feat, EDGE_ROIS, (6, 3, 1), 0.5, sampling_ratio, aligned, backend="gather")
    for size, out in zip((6, 3, 1), outs, strict=True):
        torch.testing.assert_close(out, naive_roi_align(feat, EDGE_ROIS, size, 0.5, sampling_ratio, aligned))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    ("b", "c", "h", "w", "k", "scale", "seed"), [(1, 4, 31, 31, 10, 1 / 8, 0), (3, 2, 5, 13, 17, 0.5, 1)]
)
def test_gather_matches_reference_on_random_rois(dtype, b, c, h, w, k, scale, seed):
    g = _gen(seed)
    feat = _randn(b, c, h, w, dtype=dtype, seed=seed)
    xy = torch.rand(k, 2, generator=g, dtype=dtype) * 200 - 20
    wh = torch.rand(k, 2, generator=g, dtype=dtype) * 120
    rois = torch.cat([torch.randint(0, b, (k, 1), generator=g).to(dtype), xy, xy + wh], 1)
    got = ops.pyramid_roi_align(feat, rois, (7, 4, 2, 1), scale, -1, True, backend="gather")
    want = ref.pyramid_roi_align(feat, rois, (7, 4, 2, 1), scale, -1, True)
    for a, e in zip(got, want, strict=True):
        assert a.is_contiguous()
        torch.testing.assert_close(a, e, **tolerances(dtype))


def test_gather_without_rois_gives_empty_levels():
    outs = ops.pyramid_roi_align(_randn(1, 3, 6, 6), torch.zeros(0, 5, dtype=torch.float64), (2, 1), backend="gather")
    assert [tuple(o.shape) for o in outs] == [(0, 3, 2, 2), (0, 3, 1, 1)]


@pytest.mark.parametrize("index", [2.0, -1.0])
def test_gather_refuses_a_batch_index_outside_the_batch(index):
    rois = torch.tensor([[0.0, 1, 1, 4, 4], [index, 1, 1, 4, 4]], dtype=torch.float64)
    with pytest.raises(ValueError, match=f"batch index {int(index)} is outside"):
        ops.pyramid_roi_align(_randn(2, 3, 6, 6), rois, (2,), backend="gather")


# ---------------------------------------------------------------- lut_affinity_softmax: sdpa
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    ("b", "n", "k", "c", "d", "seed"), [(1, 625, 225, 64, 64, 0), (3, 7, 1, 5, 3, 1), (2, 1, 9, 8, 16, 2)]
)
def test_sdpa_matches_reference(dtype, b, n, k, c, d, seed):
    q, kk, v = _randn(b, n, c, dtype=dtype, seed=seed), _randn(b, k, c, dtype=dtype, seed=seed + 1), _randn(
        b, k, d, dtype=dtype, seed=seed + 2
    )
    for scale in (None, 0.3):
        out = ops.lut_affinity_softmax(q, kk, v, scale, backend="sdpa")
        want = ref.lut_affinity_softmax(q, kk, v, scale if scale is not None else c**-0.5)
        assert out.shape == (b, n, d)
        torch.testing.assert_close(out, want, **tolerances(dtype))


def test_sdpa_is_stable_with_huge_logits():
    q, k, v = _randn(1, 4, 3) * 1e4, _randn(1, 6, 3, seed=1) * 1e4, _randn(1, 6, 2, seed=2)
    out = ops.lut_affinity_softmax(q, k, v, backend="sdpa")
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out, ref.lut_affinity_softmax(q, k, v, 3**-0.5))


# ---------------------------------------------------------------- dcf ops: autograd (pytracking's operator)
def _dcf_problem(n: int, c: int, f: int, size: int, k: int, dtype=torch.float64, seed: int = 0):
    x = _randn(n, c, size, size, dtype=dtype, seed=seed)
    w = torch.rand(n, dtype=dtype, generator=_gen(seed + 1)) + 0.1
    filt = _randn(f, c, k, k, dtype=dtype, seed=seed + 2)
    return x, w, filt


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("n", "c", "f", "size", "k", "padding"), [(12, 3, 1, 9, 4, 2), (5, 4, 3, 7, 3, (1, 0))])
def test_autograd_normal_apply_matches_reference(dtype, n, c, f, size, k, padding):
    x, w, filt = _dcf_problem(n, c, f, size, k, dtype)
    got = ops.dcf_normal_apply(x, w, filt, 0.05, padding, backend="autograd")
    torch.testing.assert_close(got, ref.dcf_normal_apply(x, w, filt, 0.05, padding), **tolerances(dtype))


@pytest.mark.parametrize(("f", "iters", "padding"), [(1, 5, 2), (3, 4, (2, 1)), (2, 0, 1)])
def test_autograd_cg_matches_reference(f, iters, padding):
    x, w, filt = _dcf_problem(20, 3, f, 8, 4)
    ho, wo = 8 + 2 * (padding if isinstance(padding, int) else padding[0]) - 3, 8 + 2 * (
        padding if isinstance(padding, int) else padding[1]
    ) - 3
    y = _randn(20, f, ho, wo, seed=5)
    got = ops.dcf_cg(x, y, w, filt, 0.1, padding, iters, backend="autograd")
    torch.testing.assert_close(got, ref.dcf_cg(x, y, w, filt, 0.1, padding, iters))


@pytest.mark.parametrize("mode", ["inference_mode", "no_grad"])
def test_autograd_cg_runs_where_trackers_run(mode):
    x, w, filt = _dcf_problem(10, 2, 1, 6, 3)
    y = _randn(10, 1, 6, 6, seed=3)
    want = ref.dcf_cg(x, y, w, filt, 0.1, 1, 3)
    context = torch.inference_mode() if mode == "inference_mode" else torch.no_grad()
    with context:
        got = ops.dcf_cg(x.clone(), y.clone(), w.clone(), filt.clone(), 0.1, 1, 3, backend="autograd")
    torch.testing.assert_close(got, want)


def test_autograd_cg_of_a_zero_residual_has_no_nan():
    x, w, _ = _dcf_problem(6, 2, 1, 5, 3)
    filt = torch.zeros(1, 2, 3, 3, dtype=torch.float64)
    y = torch.zeros(6, 1, 5, 5, dtype=torch.float64)
    out = ops.dcf_cg(x, y, w, filt, 0.1, 1, 4, backend="autograd")
    assert torch.equal(out, torch.zeros_like(out))
