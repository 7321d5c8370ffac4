"""C++ (and, with a GPU, CUDA) kernels against the pure-PyTorch references.

Random shapes through hypothesis, float32 and float64, non-contiguous inputs, batch sizes 1
and 32, the edge cases, gradcheck in float64, and the backward passes against autograd of
the reference.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from ops_testing import device_of, kernel_backends, non_contiguous, tolerances
from test_ops_reference import EDGE_ROIS

from trackerzoo import ops

DTYPES = [torch.float32, torch.float64]
FEW = settings(max_examples=12, deadline=None)


def close(actual, expected, dtype, scale=None):
    tol = tolerances(dtype)
    if scale is None:
        scale = max(1.0, float(expected.abs().max())) if expected.numel() else 1.0
    torch.testing.assert_close(actual, expected, rtol=tol["rtol"], atol=tol["atol"] * scale)


def randn(*shape, dtype=torch.float64, device="cpu", seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=dtype).to(device)


# ---------------------------------------------------------------------------- dw_xcorr
def check_dw_xcorr(backend, search, kernel):
    out = ops.dw_xcorr(search, kernel, backend=backend)
    close(out, ops.dw_xcorr(search, kernel, backend="torch"), search.dtype)


@pytest.mark.parametrize("backend", kernel_backends("dw_xcorr"))
@FEW
@given(
    b=st.integers(1, 3), c=st.integers(1, 4), h=st.integers(1, 12), w=st.integers(1, 12),
    fh=st.floats(0, 1), fw=st.floats(0, 1), dtype=st.sampled_from(DTYPES), seed=st.integers(0, 99),
)
def test_dw_xcorr_random_shapes(backend, b, c, h, w, fh, fw, dtype, seed):
    kh, kw = 1 + int(fh * (h - 1)), 1 + int(fw * (w - 1))
    dev = device_of(backend)
    check_dw_xcorr(backend, randn(b, c, h, w, dtype=dtype, device=dev, seed=seed),
                   randn(b, c, kh, kw, dtype=dtype, device=dev, seed=seed + 1))


@pytest.mark.parametrize("backend", kernel_backends("dw_xcorr"))
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    ("search", "kernel"),
    [((1, 8, 31, 31), (1, 8, 7, 7)), ((32, 4, 15, 15), (32, 4, 5, 5)), ((2, 3, 9, 7), (2, 3, 9, 7)),
     ((3, 2, 1, 1), (3, 2, 1, 1))],
    ids=["tracking", "batch32", "kernel-as-large-as-search", "1x1-map"],
)
def test_dw_xcorr_shapes_and_edges(backend, dtype, search, kernel):
    dev = device_of(backend)
    check_dw_xcorr(backend, randn(*search, dtype=dtype, device=dev), randn(*kernel, dtype=dtype, device=dev, seed=1))


@pytest.mark.parametrize("backend", kernel_backends("dw_xcorr"))
def test_dw_xcorr_non_contiguous(backend):
    dev = device_of(backend)
    search = non_contiguous(randn(2, 3, 11, 13, device=dev))
    kernel = randn(2, 6, 4, 3, device=dev, seed=1)[:, ::2]
    check_dw_xcorr(backend, search, kernel)


@pytest.mark.parametrize("backend", kernel_backends("dw_xcorr"))
@pytest.mark.parametrize("dtype", DTYPES)
def test_dw_xcorr_backward_matches_reference(backend, dtype):
    dev = device_of(backend)
    grads = []
    for be in (backend, "torch"):
        s = randn(3, 4, 10, 9, dtype=dtype, device=dev).requires_grad_()
        k = randn(3, 4, 4, 5, dtype=dtype, device=dev, seed=1).requires_grad_()
        out = ops.dw_xcorr(s, k, backend=be)
        grads.append(torch.autograd.grad(out, (s, k), randn(*out.shape, dtype=dtype, device=dev, seed=2)))
    for got, want in zip(*grads, strict=True):
        close(got, want, dtype)


def test_dw_xcorr_gradcheck_cpu():
    if "cpu" not in ops.available_backends()["dw_xcorr"]:
        pytest.skip("C++ kernel not built")
    s = randn(2, 2, 6, 5).requires_grad_()
    k = randn(2, 2, 3, 2, seed=1).requires_grad_()
    assert torch.autograd.gradcheck(lambda a, b: ops.dw_xcorr(a, b, backend="cpu"), (s, k))


# ---------------------------------------------------------------------------- RoIAlign
def check_roi(backend, feat, rois, sizes, scale, ratio, aligned):
    got = ops.pyramid_roi_align(feat, rois, sizes, scale, ratio, aligned, backend=backend)
    want = ops.pyramid_roi_align(feat, rois, sizes, scale, ratio, aligned, backend="torch")
    assert len(got) == len(sizes)
    for g, w, s in zip(got, want, sizes, strict=True):
        assert g.shape == (rois.shape[0], feat.shape[1], s, s)
        close(g, w, feat.dtype)


def random_rois(k, b, h, w, scale, dtype, seed, device):
    g = torch.Generator().manual_seed(seed)
    idx = torch.randint(0, b, (k, 1), generator=g).to(dtype)
    span = torch.tensor([w, h, w, h], dtype=dtype) / scale
    corners = (torch.rand(k, 4, generator=g, dtype=dtype) * 1.6 - 0.3) * span
    return torch.cat([idx, corners], 1).to(device)


@pytest.mark.parametrize("backend", kernel_backends("pyramid_roi_align"))
@FEW
@given(
    b=st.integers(1, 2), c=st.integers(1, 4), h=st.integers(1, 10), w=st.integers(1, 10), k=st.integers(0, 6),
    scale=st.sampled_from([1.0, 0.5, 0.25]), ratio=st.sampled_from([-1, 0, 1, 2]), aligned=st.booleans(),
    sizes=st.sampled_from([(6, 3, 1), (7,), (2, 5)]), dtype=st.sampled_from(DTYPES), seed=st.integers(0, 99),
)
def test_roi_align_random(backend, b, c, h, w, k, scale, ratio, aligned, sizes, dtype, seed):
    dev = device_of(backend)
    feat = randn(b, c, h, w, dtype=dtype, device=dev, seed=seed)
    check_roi(backend, feat, random_rois(k, b, h, w, scale, dtype, seed, dev), sizes, scale, ratio, aligned)


@pytest.mark.parametrize("backend", kernel_backends("pyramid_roi_align"))
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("aligned", [True, False])
def test_roi_align_edge_rois(backend, dtype, aligned):
    dev = device_of(backend)
    rois = EDGE_ROIS.to(dtype=dtype, device=dev)
    check_roi(backend, randn(2, 3, 7, 9, dtype=dtype, device=dev), rois, (6, 3, 1), 0.5, -1, aligned)
    check_roi(backend, randn(2, 3, 1, 1, dtype=dtype, device=dev), rois, (6, 3, 1), 0.1, -1, aligned)


@pytest.mark.parametrize("backend", kernel_backends("pyramid_roi_align"))
@pytest.mark.parametrize("batch", [1, 32])
def test_roi_align_tracking_shapes(backend, batch):
    dev = device_of(backend)
    feat = non_contiguous(randn(batch, 16, 31, 31, dtype=torch.float32, device=dev))
    rois = random_rois(10 * batch, batch, 248, 248, 1.0, torch.float32, 5, dev)
    check_roi(backend, feat, rois, (6, 3, 1), 1 / 8, -1, True)


@pytest.mark.parametrize("backend", kernel_backends("pyramid_roi_align"))
@pytest.mark.parametrize("dtype", DTYPES)
def test_roi_align_backward_matches_reference(backend, dtype):
    dev = device_of(backend)
    rois = torch.cat([EDGE_ROIS, random_rois(6, 2, 7, 9, 0.5, torch.float64, 3, "cpu")]).to(dtype=dtype, device=dev)
    grads = []
    for be in (backend, "torch"):
        feat = randn(2, 3, 7, 9, dtype=dtype, device=dev).requires_grad_()
        outs = ops.pyramid_roi_align(feat, rois, (6, 3, 1), 0.5, -1, True, backend=be)
        upstream = [randn(*o.shape, dtype=dtype, device=dev, seed=i) for i, o in enumerate(outs)]
        grads.append(torch.autograd.grad(outs, feat, upstream)[0])
    close(grads[0], grads[1], dtype)


def test_roi_align_gradcheck_cpu():
    if "cpu" not in ops.available_backends()["pyramid_roi_align"]:
        pytest.skip("C++ kernel not built")
    feat = randn(2, 1, 5, 6).requires_grad_()
    rois = EDGE_ROIS[:4]
    assert torch.autograd.gradcheck(
        lambda f: ops.pyramid_roi_align(f, rois, (3, 1), 0.5, -1, True, backend="cpu"), (feat,)
    )


# ---------------------------------------------------------------------------- PrRoIPool
# Boxes inside, partly and fully outside the map, sub-pixel, zero-width, zero-height and
# negative-size, on both images (map coordinates of a 7 x 9 map at spatial_scale 0.5).
PRROI_EDGE_ROIS = torch.tensor(
    [[0, 2.0, 3.0, 12.0, 11.0], [1, -6.0, -4.0, 5.0, 7.0], [0, 14.0, 10.0, 22.0, 19.0], [1, 20.0, 16.0, 26.0, 30.0],
     [0, 5.3, 6.1, 5.9, 6.4], [1, 4.0, 2.0, 4.0, 9.0], [0, 3.0, 5.0, 11.0, 5.0], [1, 9.0, 8.0, 3.0, 2.0],
     [0, -40.0, -40.0, 60.0, 60.0], [1, 4.0, 4.0, 6.0, 6.0]],
    dtype=torch.float64,
)


def check_prroi(backend, feat, rois, pooled, scale):
    got = ops.prroi_pool(feat, rois, pooled, scale, backend=backend)
    want = ops.prroi_pool(feat, rois, pooled, scale, backend="torch")
    ph, pw = (pooled, pooled) if isinstance(pooled, int) else pooled
    assert got.shape == (rois.shape[0], feat.shape[1], ph, pw) and got.dtype == feat.dtype
    close(got, want, feat.dtype)


@pytest.mark.parametrize("backend", kernel_backends("prroi_pool"))
@FEW
@given(
    b=st.integers(1, 2), c=st.integers(1, 4), h=st.integers(1, 10), w=st.integers(1, 10), k=st.integers(0, 6),
    scale=st.sampled_from([1.0, 0.5, 0.25]), pooled=st.sampled_from([1, 3, (2, 5), (4, 1)]),
    dtype=st.sampled_from(DTYPES), seed=st.integers(0, 99),
)
def test_prroi_random(backend, b, c, h, w, k, scale, pooled, dtype, seed):
    dev = device_of(backend)
    feat = randn(b, c, h, w, dtype=dtype, device=dev, seed=seed)
    check_prroi(backend, feat, random_rois(k, b, h, w, scale, dtype, seed, dev), pooled, scale)


@pytest.mark.parametrize("backend", kernel_backends("prroi_pool"))
@pytest.mark.parametrize("dtype", DTYPES)
def test_prroi_edge_rois(backend, dtype):
    dev = device_of(backend)
    rois = PRROI_EDGE_ROIS.to(dtype=dtype, device=dev)
    feat = randn(2, 3, 7, 9, dtype=dtype, device=dev)
    check_prroi(backend, feat, rois, (3, 2), 0.5)
    check_prroi(backend, randn(2, 3, 1, 1, dtype=dtype, device=dev), rois, 2, 0.1)
    out = ops.prroi_pool(feat, rois, 2, 0.5, backend=backend)
    assert torch.equal(out[5:8], torch.zeros_like(out[5:8]))  # zero-width, zero-height, negative size


@pytest.mark.parametrize("backend", kernel_backends("prroi_pool"))
def test_prroi_dimp_shapes_non_contiguous(backend):
    dev = device_of(backend)
    feat = non_contiguous(randn(2, 32, 18, 18, dtype=torch.float32, device=dev))
    rois = random_rois(16, 2, 288, 288, 1.0, torch.float32, 7, dev)
    check_prroi(backend, feat, non_contiguous(rois.t().contiguous()).t(), 4, 1 / 16)
    check_prroi(backend, feat[:, ::2], rois, (3, 3), 1 / 16)


@pytest.mark.parametrize("backend", kernel_backends("prroi_pool"))
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("needs", ["both", "features", "rois"])
def test_prroi_backward_matches_reference(backend, dtype, needs):
    dev = device_of(backend)
    boxes = torch.cat([PRROI_EDGE_ROIS, random_rois(6, 2, 7, 9, 0.5, torch.float64, 3, "cpu")])
    upstream = randn(boxes.shape[0], 3, 2, 3, dtype=dtype, device=dev, seed=4)
    grads = []
    for be in (backend, "torch"):
        feat = randn(2, 3, 7, 9, dtype=dtype, device=dev).requires_grad_(needs != "rois")
        rois = boxes.to(dtype=dtype, device=dev).requires_grad_(needs != "features")
        inputs = [t for t in (feat, rois) if t.requires_grad]
        out = ops.prroi_pool(feat, rois, (2, 3), 0.5, backend=be)
        grads.append(torch.autograd.grad(out, inputs, upstream))
    for got, want in zip(*grads, strict=True):
        close(got, want, dtype)


def test_prroi_gradcheck_cpu():
    if "cpu" not in ops.available_backends()["prroi_pool"]:
        pytest.skip("C++ kernel not built")
    feat = randn(2, 2, 5, 6).requires_grad_()
    rois = PRROI_EDGE_ROIS[[0, 1, 2, 4, 9]] * torch.tensor([1, 0.55, 0.45, 0.5, 0.6], dtype=torch.float64)
    index, boxes = rois[:, :1], rois[:, 1:].clone().requires_grad_()
    assert torch.autograd.gradcheck(
        lambda f, b: ops.prroi_pool(f, torch.cat([index, b], 1), (2, 3), 0.9, backend="cpu"), (feat, boxes),
        eps=1e-6, atol=1e-7,
    )


# ---------------------------------------------------------------------------- LUT softmax
def check_lut(backend, q, k, v, scale=None, dtype=None):
    got = ops.lut_affinity_softmax(q, k, v, scale, backend=backend)
    want = ops.lut_affinity_softmax(q.double(), k.double(), v.double(), scale, backend="torch")
    assert torch.isfinite(got).all()
    close(got, want.to(got.dtype), dtype or q.dtype)


@pytest.mark.parametrize("backend", kernel_backends("lut_affinity_softmax"))
@FEW
@given(
    b=st.integers(1, 2), n=st.integers(1, 70), k=st.integers(1, 140), c=st.integers(1, 20), d=st.integers(1, 20),
    dtype=st.sampled_from(DTYPES), seed=st.integers(0, 99),
)
def test_lut_random(backend, b, n, k, c, d, dtype, seed):
    dev = device_of(backend)
    q = randn(b, n, c, dtype=dtype, device=dev, seed=seed)
    k_ = randn(b, k, c, dtype=dtype, device=dev, seed=seed + 1)
    v = randn(b, k, d, dtype=dtype, device=dev, seed=seed + 2)
    check_lut(backend, q, k_, v)


@pytest.mark.parametrize("backend", kernel_backends("lut_affinity_softmax"))
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    ("b", "n", "k", "c", "d"),
    [(1, 625, 225, 64, 64), (32, 25, 9, 8, 4), (2, 7, 1, 5, 3)],
    ids=["tracking", "batch32", "one-key"],
)
def test_lut_shapes_and_edges(backend, dtype, b, n, k, c, d):
    dev = device_of(backend)
    check_lut(backend, randn(b, n, c, dtype=dtype, device=dev), randn(b, k, c, dtype=dtype, device=dev, seed=1),
              randn(b, k, d, dtype=dtype, device=dev, seed=2))


@pytest.mark.parametrize("backend", kernel_backends("lut_affinity_softmax"))
@pytest.mark.parametrize("dtype", DTYPES)
def test_lut_very_large_logits_are_stable(backend, dtype):
    dev = device_of(backend)
    q = randn(2, 30, 16, dtype=dtype, device=dev) * 1e3
    k = randn(2, 150, 16, dtype=dtype, device=dev, seed=1) * 1e3
    v = randn(2, 150, 5, dtype=dtype, device=dev, seed=2)
    # Logits ~1e6: a naive exp overflows; the answer is (nearly) the value of the arg-max key.
    check_lut(backend, q, k, v, scale=1.0)


@pytest.mark.parametrize("backend", kernel_backends("lut_affinity_softmax"))
def test_lut_non_contiguous(backend):
    dev = device_of(backend)
    q = randn(2, 20, 6, device=dev)
    k = non_contiguous(randn(2, 33, 6, device=dev, seed=1))
    v = randn(2, 33, 14, device=dev, seed=2)[..., ::2]
    check_lut(backend, q.transpose(0, 0), k, v)


@pytest.mark.parametrize("backend", kernel_backends("lut_affinity_softmax"))
@pytest.mark.parametrize("dtype", DTYPES)
def test_lut_backward_matches_reference(backend, dtype):
    dev = device_of(backend)
    grads = []
    for be in (backend, "torch"):
        q = randn(2, 70, 9, dtype=dtype, device=dev).requires_grad_()
        k = randn(2, 130, 9, dtype=dtype, device=dev, seed=1).requires_grad_()
        v = randn(2, 130, 5, dtype=dtype, device=dev, seed=2).requires_grad_()
        out = ops.lut_affinity_softmax(q, k, v, backend=be)
        grads.append(torch.autograd.grad(out, (q, k, v), randn(*out.shape, dtype=dtype, device=dev, seed=3)))
    for got, want in zip(*grads, strict=True):
        close(got, want, dtype)


def test_lut_gradcheck_cpu():
    if "cpu" not in ops.available_backends()["lut_affinity_softmax"]:
        pytest.skip("C++ kernel not built")
    q, k, v = randn(1, 5, 3).requires_grad_(), randn(1, 7, 3, seed=1).requires_grad_(), randn(1, 7, 2, seed=2)
    assert torch.autograd.gradcheck(
        lambda a, b, c: ops.lut_affinity_softmax(a, b, c, backend="cpu"), (q, k, v.requires_grad_())
    )


# ---------------------------------------------------------------------------- DCF
DCF_BACKENDS = [pytest.param("torch"), *kernel_backends("dcf_cg")]
DCF_PROBLEMS = {
    # name: (N, C, H, W, F, kh, kw, padding)
    "atom-like": (6, 3, 7, 7, 1, 4, 4, 2),
    "multi-filter": (4, 2, 6, 5, 2, 3, 3, (1, 0)),
    "fully-connected": (7, 2, 4, 3, 3, 4, 3, 0),
}


def dense_solution(x, y, w, reg, kh, kw, padding):
    """Solve the normal equations directly: im2col, a dense Gram matrix and linalg.solve."""
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    cols = F.unfold(x, (kh, kw), padding=(ph, pw))  # [N, C*kh*kw, L]
    gram = torch.einsum("n,nal,nbl->ab", w, cols, cols) + reg * torch.eye(cols.shape[1], dtype=x.dtype)
    rhs = torch.einsum("n,nal,nfl->fa", w, cols, y.flatten(2))
    return torch.linalg.solve(gram, rhs.T).T.reshape(y.shape[1], x.shape[1], kh, kw)


@pytest.mark.parametrize("backend", DCF_BACKENDS)
@pytest.mark.parametrize("problem", list(DCF_PROBLEMS))
def test_dcf_cg_converges_to_direct_solve(backend, problem):
    n, c, h, w, f, kh, kw, padding = DCF_PROBLEMS[problem]
    dev = device_of(backend)
    x = randn(n, c, h, w)
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    y = randn(n, f, h + 2 * ph - kh + 1, w + 2 * pw - kw + 1, seed=1)
    weights = torch.rand(n, generator=torch.Generator().manual_seed(2), dtype=torch.float64) + 0.2
    expected = dense_solution(x, y, weights, 0.3, kh, kw, padding)
    dim = f * c * kh * kw
    got = ops.dcf_cg(x.to(dev), y.to(dev), weights.to(dev), torch.zeros(f, c, kh, kw, dtype=torch.float64, device=dev),
                     0.3, padding, 2 * dim, backend=backend)
    torch.testing.assert_close(got.cpu(), expected, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("backend", kernel_backends("dcf_cg"))
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("problem", list(DCF_PROBLEMS))
def test_dcf_kernels_match_reference(backend, dtype, problem):
    n, c, h, w, f, kh, kw, padding = DCF_PROBLEMS[problem]
    dev = device_of(backend)
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    x = non_contiguous(randn(n, c, h, w, dtype=dtype, device=dev))
    y = randn(n, f, h + 2 * ph - kh + 1, w + 2 * pw - kw + 1, dtype=dtype, device=dev, seed=1)
    weights = torch.rand(n, dtype=dtype).to(dev) + 0.2
    filt = randn(f, c, kh, kw, dtype=dtype, device=dev, seed=3)
    for be in ("dcf_normal_apply",):
        got = getattr(ops, be)(x, weights, filt, 0.1, padding, backend=backend)
        close(got, getattr(ops, be)(x, weights, filt, 0.1, padding, backend="torch"), dtype)
    got = ops.dcf_cg(x, y, weights, filt, 0.1, padding, 4, backend=backend)
    close(got, ops.dcf_cg(x, y, weights, filt, 0.1, padding, 4, backend="torch"), dtype)


@pytest.mark.parametrize("backend", kernel_backends("dcf_cg"))
def test_dcf_tracking_shape(backend):
    dev = device_of(backend)
    x = randn(40, 16, 18, 18, dtype=torch.float32, device=dev)
    y = randn(40, 1, 19, 19, dtype=torch.float32, device=dev, seed=1)
    weights = torch.full((40,), 1 / 40).to(dev)
    filt = torch.zeros(1, 16, 4, 4, device=dev)
    got = ops.dcf_cg(x, y, weights, filt, 0.01, 2, 5, backend=backend)
    close(got, ops.dcf_cg(x, y, weights, filt, 0.01, 2, 5, backend="torch"), torch.float32)


@pytest.mark.parametrize("backend", DCF_BACKENDS)
def test_dcf_cg_zero_iterations_returns_filter(backend):
    dev = device_of(backend)
    x, y, weights = randn(3, 2, 5, 5, device=dev), randn(3, 1, 5, 5, device=dev, seed=1), torch.ones(3).double().to(dev)
    filt = randn(1, 2, 3, 3, device=dev, seed=2)
    got = ops.dcf_cg(x, y, weights, filt, 0.1, 1, 0, backend=backend)
    assert torch.equal(got, filt)
    assert got.data_ptr() != filt.data_ptr()


@pytest.mark.parametrize("backend", DCF_BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_dcf_cg_zero_residual_gives_no_nan(backend, dtype):
    dev = device_of(backend)
    x = randn(3, 2, 5, 5, dtype=dtype, device=dev)
    filt = randn(1, 2, 3, 3, dtype=dtype, device=dev, seed=2)
    y = F.conv2d(x, filt, padding=1)  # filt is the exact solution when reg = 0
    weights = torch.ones(3, dtype=dtype, device=dev)
    got = ops.dcf_cg(x, y, weights, filt, 0.0, 1, 5, backend=backend)
    assert torch.isfinite(got).all()
    close(got, filt, dtype)
    zeros = ops.dcf_cg(x, torch.zeros_like(y), weights, torch.zeros_like(filt), 0.0, 1, 5, backend=backend)
    assert torch.equal(zeros, torch.zeros_like(filt))


@pytest.mark.parametrize("backend", DCF_BACKENDS)
def test_dcf_normal_apply_is_symmetric_positive(backend):
    """<A f, g> = <f, A g> and <A f, f> > 0: the operator is the normal-equation Gram matrix."""
    dev = device_of(backend)
    x, weights = randn(5, 3, 8, 8, device=dev), torch.rand(5, dtype=torch.float64).to(dev) + 0.1
    f, g = randn(2, 3, 4, 4, device=dev, seed=1), randn(2, 3, 4, 4, device=dev, seed=2)
    af = ops.dcf_normal_apply(x, weights, f, 0.2, 2, backend=backend)
    ag = ops.dcf_normal_apply(x, weights, g, 0.2, 2, backend=backend)
    torch.testing.assert_close((af * g).sum(), (f * ag).sum())
    assert (af * f).sum() > 0.2 * (f * f).sum()


def test_dcf_cg_reference_never_synchronises_with_the_host(monkeypatch):
    """No .item() / bool() on tensors inside the CG loop (required for CUDA-graph capture)."""

    def forbidden(*_args, **_kwargs):
        raise AssertionError("host synchronisation inside dcf_cg")

    x, y = randn(4, 2, 6, 6), randn(4, 1, 6, 6, seed=1)
    weights, filt = torch.ones(4, dtype=torch.float64), torch.zeros(1, 2, 3, 3, dtype=torch.float64)
    monkeypatch.setattr(torch.Tensor, "item", forbidden)
    monkeypatch.setattr(torch.Tensor, "__bool__", forbidden)
    monkeypatch.setattr(torch.Tensor, "tolist", forbidden)
    out = ops.dcf_cg(x, y, weights, filt, 0.1, 1, 3, backend="torch")
    monkeypatch.undo()
    assert torch.isfinite(out).all()


@pytest.mark.cuda
@pytest.mark.parametrize("backend", ["torch", "cuda"])
def test_dcf_cg_captures_in_a_cuda_graph(backend):
    """A whole CG solve replays from a CUDA graph: nothing in it waits on the host."""
    if backend != "torch" and backend not in ops.available_backends()["dcf_cg"]:
        pytest.skip("CUDA kernel not built")
    dev = torch.device("cuda")
    x, y = randn(8, 4, 9, 9, dtype=torch.float32, device=dev), randn(8, 1, 10, 10, dtype=torch.float32, device=dev)
    weights, filt = torch.full((8,), 0.125, device=dev), torch.zeros(1, 4, 4, 4, device=dev)
    expected = ops.dcf_cg(x, y, weights, filt, 0.05, 2, 4, backend="torch")
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        ops.dcf_cg(x, y, weights, filt, 0.05, 2, 4, backend=backend)  # warm-up (cuDNN plans)
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        out = ops.dcf_cg(x, y, weights, filt, 0.05, 2, 4, backend=backend)
    graph.replay()
    torch.cuda.synchronize()
    close(out, expected, torch.float32)
