"""The C++ DCF solver's Gram-matrix plan (csrc/ops/dcf_cg/cpu/dcf_gram_cpu.cpp).

With many filters, ``dcf_cg`` on the CPU builds G = sum_n w_n X_n^T X_n once (FFT over the
samples for the map's interior, GEMMs for its border strips) and multiplies by it in each CG
step. G is checked against an im2col Gram matrix, the plan choice against the cost model's
intent, and the solve against the reference: in float64 to rounding, in float32 against the
float64 solution, as accurate as the float32 reference.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from trackerzoo import ops
from trackerzoo.ops import _reference as ref

pytestmark = pytest.mark.skipif(
    "cpu" not in ops.available_backends()["dcf_cg"] or not hasattr(torch.ops.trackerzoo, "_dcf_gram"),
    reason="C++ kernel not built",
)


def randn(*shape, dtype=torch.float64, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def im2col_gram(x, w, kh, kw, ph, pw):
    cols = F.unfold(x, (kh, kw), padding=(ph, pw))  # [N, C*kh*kw, L]
    return torch.einsum("n,nal,nbl->ab", w, cols, cols)


def plan(x, filt, padding, iters):
    from trackerzoo import _C

    return _C.dcf_cg_plan(*x.shape, filt.shape[0], *filt.shape[2:], *padding, iters)


@pytest.mark.parametrize(
    ("n", "c", "h", "w", "kh", "kw", "ph", "pw"),
    [
        (7, 3, 9, 8, 4, 4, 2, 2),  # ATOM-like: 4 x 4 filter, padding 2
        (5, 2, 6, 5, 3, 3, 1, 0),  # asymmetric padding
        (4, 3, 5, 4, 5, 4, 0, 0),  # filter as large as the map (a fully-connected head)
        (6, 2, 7, 7, 1, 1, 0, 0),  # 1 x 1
        (3, 2, 6, 6, 2, 3, 4, 5),  # padding larger than the filter
        (1, 1, 1, 1, 1, 1, 0, 0),  # one pixel
        (2, 3, 3, 9, 2, 7, 1, 3),  # wide map, wide filter
    ],
)
def test_gram_equals_im2col(n, c, h, w, kh, kw, ph, pw):
    x, weights = randn(n, c, h, w), torch.rand(n, dtype=torch.float64) + 0.2
    got = torch.ops.trackerzoo._dcf_gram(x, weights, [kh, kw], [ph, pw])
    want = im2col_gram(x, weights, kh, kw, ph, pw)
    torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-10 * float(want.abs().max()))
    torch.testing.assert_close(got, got.T, rtol=0, atol=0)  # exactly symmetric


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 6), c=st.integers(1, 4), h=st.integers(1, 9), w=st.integers(1, 9),
    kh=st.integers(1, 5), kw=st.integers(1, 5), ph=st.integers(0, 4), pw=st.integers(0, 4),
    seed=st.integers(0, 2**16),
)
def test_gram_equals_im2col_on_random_shapes(n, c, h, w, kh, kw, ph, pw, seed):
    if h + 2 * ph < kh or w + 2 * pw < kw:
        return  # the filter does not fit (the op refuses it; test_ops_backend checks that)
    x = randn(n, c, h, w, seed=seed)
    weights = torch.rand(n, generator=torch.Generator().manual_seed(seed + 1), dtype=torch.float64)
    got = torch.ops.trackerzoo._dcf_gram(x, weights, [kh, kw], [ph, pw])
    want = im2col_gram(x, weights, kh, kw, ph, pw)
    torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-10 * max(1.0, float(want.abs().max())))


def test_gram_of_a_map_of_zeros_is_zero():
    got = torch.ops.trackerzoo._dcf_gram(torch.zeros(3, 2, 6, 6), torch.ones(3), [3, 3], [1, 1])
    assert got.shape == (18, 18) and not got.any()


def test_plan_takes_the_gram_for_many_filters_and_the_flat_kernel_for_one():
    x = torch.zeros(250, 64, 18, 18)
    assert plan(x, torch.zeros(32, 64, 4, 4), (2, 2), 5) == "gram"
    assert plan(x, torch.zeros(1, 64, 4, 4), (2, 2), 5) == "flat"
    # One CG step does not pay for building G.
    assert plan(torch.zeros(250, 64, 18, 18), torch.zeros(3, 64, 4, 4), (2, 2), 0) != "gram"


# (N, C, H, W, F, kh, kw, padding): each takes the Gram plan (asserted).
GRAM_PROBLEMS = {
    "atom-shape": (40, 8, 12, 12, 16, 4, 4, (2, 2)),
    "asymmetric": (9, 3, 9, 8, 6, 3, 3, (1, 0)),
    "large-padding": (12, 3, 7, 7, 8, 2, 2, (3, 2)),  # right-hand side through correlations
    "fully-connected": (60, 2, 4, 3, 16, 4, 3, (0, 0)),
}


def problem(name, dtype, seed=0):
    n, c, h, w, f, kh, kw, (ph, pw) = GRAM_PROBLEMS[name]
    x = randn(n, c, h, w, seed=seed)
    y = randn(n, f, h + 2 * ph - kh + 1, w + 2 * pw - kw + 1, seed=seed + 1)
    weights = torch.rand(n, generator=torch.Generator().manual_seed(seed + 2), dtype=torch.float64) + 0.2
    filt = randn(f, c, kh, kw, seed=seed + 3)
    return [t.to(dtype) for t in (x, y, weights, filt)], (ph, pw)


@pytest.mark.parametrize("name", list(GRAM_PROBLEMS))
def test_gram_plan_matches_the_reference_in_float64(name):
    (x, y, weights, filt), padding = problem(name, torch.float64)
    assert plan(x, filt, padding, 4) == "gram"
    got = ops.dcf_cg(x, y, weights, filt, 0.1, padding, 4, backend="cpu")
    want = ops.dcf_cg(x, y, weights, filt, 0.1, padding, 4, backend="torch")
    torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-9 * float(want.abs().max()))


@pytest.mark.parametrize("name", list(GRAM_PROBLEMS))
def test_gram_plan_in_float32_is_as_accurate_as_the_reference(name):
    inputs64, padding = problem(name, torch.float64)
    truth = ref.dcf_cg(*inputs64, 0.1, padding, 4)
    inputs32 = [t.float() for t in inputs64]
    assert plan(inputs32[0], inputs32[3], padding, 4) == "gram"
    got = ops.dcf_cg(*inputs32, 0.1, padding, 4, backend="cpu").double()
    reference = ref.dcf_cg(*inputs32, 0.1, padding, 4).double()
    scale = float(truth.abs().max())
    err, ref_err = float((got - truth).abs().max()) / scale, float((reference - truth).abs().max()) / scale
    assert err <= 2 * ref_err + 1e-6, (err, ref_err)


def test_gram_plan_converges_to_the_direct_solve():
    (x, y, weights, _), padding = problem("asymmetric", torch.float64)
    f, c, kh, kw = 6, 3, 3, 3
    zeros = torch.zeros(f, c, kh, kw, dtype=torch.float64)
    assert plan(x, zeros, padding, 2 * c * kh * kw) == "gram"
    got = ops.dcf_cg(x, y, weights, zeros, 0.3, padding, 2 * c * kh * kw, backend="cpu")
    cols = F.unfold(x, (kh, kw), padding=padding)
    gram = torch.einsum("n,nal,nbl->ab", weights, cols, cols) + 0.3 * torch.eye(c * kh * kw, dtype=x.dtype)
    rhs = torch.einsum("n,nal,nfl->fa", weights, cols, y.flatten(2))
    want = torch.linalg.solve(gram, rhs.T).T.reshape(f, c, kh, kw)
    torch.testing.assert_close(got, want, rtol=1e-6, atol=1e-8)


def test_gram_plan_zero_problem_gives_zeros_not_nan():
    (x, y, weights, filt), padding = problem("atom-shape", torch.float32)
    got = ops.dcf_cg(x, torch.zeros_like(y), weights, torch.zeros_like(filt), 0.0, padding, 5, backend="cpu")
    assert torch.isfinite(got).all() and not got.any()
