"""The pure-PyTorch references against independent, literal implementations of the definitions."""

from __future__ import annotations

import math

import pytest
import torch

from trackerzoo import ops


def naive_roi_align(feat, rois, pooled, scale, sampling_ratio, aligned):
    """torchvision's CPU RoIAlign transcribed sample by sample (slow, obviously right)."""
    k_count = rois.shape[0]
    _, c, h, w = feat.shape
    out = torch.zeros(k_count, c, pooled, pooled, dtype=feat.dtype)
    for k in range(k_count):
        b = int(rois[k, 0])
        off = 0.5 if aligned else 0.0
        x1, y1, x2, y2 = (float(v) * scale - off for v in rois[k, 1:])
        rw, rh = x2 - x1, y2 - y1
        if not aligned:
            rw, rh = max(rw, 1.0), max(rh, 1.0)
        bh, bw = rh / pooled, rw / pooled
        gh = sampling_ratio if sampling_ratio > 0 else math.ceil(rh / pooled)
        gw = sampling_ratio if sampling_ratio > 0 else math.ceil(rw / pooled)
        count = max(gh * gw, 1)
        for ph in range(pooled):
            for pw in range(pooled):
                acc = torch.zeros(c, dtype=feat.dtype)
                for iy in range(max(gh, 0)):
                    y = y1 + ph * bh + (iy + 0.5) * bh / gh
                    for ix in range(max(gw, 0)):
                        x = x1 + pw * bw + (ix + 0.5) * bw / gw
                        if y < -1 or y > h or x < -1 or x > w:
                            continue
                        y, x = max(y, 0.0), max(x, 0.0)
                        yl, xl = int(y), int(x)
                        if yl >= h - 1:
                            yl = yh = h - 1
                            y = float(yl)
                        else:
                            yh = yl + 1
                        if xl >= w - 1:
                            xl = xh = w - 1
                            x = float(xl)
                        else:
                            xh = xl + 1
                        ly, lx = y - yl, x - xl
                        acc += (
                            (1 - ly) * (1 - lx) * feat[b, :, yl, xl]
                            + (1 - ly) * lx * feat[b, :, yl, xh]
                            + ly * (1 - lx) * feat[b, :, yh, xl]
                            + ly * lx * feat[b, :, yh, xh]
                        )
                out[k, :, ph, pw] = acc / count
    return out


# RoIs inside, partly outside, wholly outside, zero-area, inverted (x2 < x1) and tiny.
EDGE_ROIS = torch.tensor(
    [
        [0, 1.0, 1.0, 20.0, 15.0],
        [1, -10.0, -5.0, 5.0, 3.0],
        [0, 30.0, 30.0, 40.0, 50.0],
        [1, 3.0, 3.0, 3.0, 3.0],
        [0, 2.5, 4.0, 1.0, 2.0],
        [1, 0.2, 0.1, 0.9, 0.4],
        [0, -50.0, -50.0, -20.0, -30.0],
    ],
    dtype=torch.float64,
)


@pytest.mark.parametrize("aligned", [True, False])
@pytest.mark.parametrize("sampling_ratio", [-1, 2])
def test_roi_align_reference_matches_torchvision_semantics(aligned, sampling_ratio):
    feat = torch.randn(2, 3, 7, 9, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    outs = ops.pyramid_roi_align(feat, EDGE_ROIS, (6, 3, 1), 0.5, sampling_ratio, aligned, backend="torch")
    for out, size in zip(outs, (6, 3, 1), strict=True):
        expected = naive_roi_align(feat, EDGE_ROIS, size, 0.5, sampling_ratio, aligned)
        torch.testing.assert_close(out, expected, rtol=1e-12, atol=1e-12)
    # Wholly outside -> exactly zero; zero-area, aligned, adaptive grid -> no samples -> zero.
    assert outs[0][6].abs().max() == 0
    if aligned and sampling_ratio <= 0:
        assert outs[0][3].abs().max() == 0


def test_roi_align_reference_on_a_1x1_map():
    feat = torch.randn(1, 4, 1, 1, dtype=torch.float64)
    rois = torch.tensor([[0, -0.4, -0.4, 0.6, 0.6], [0, 0.0, 0.0, 3.0, 3.0]], dtype=torch.float64)
    for aligned in (True, False):
        (out,) = ops.pyramid_roi_align(feat, rois, (2,), 1.0, -1, aligned, backend="torch")
        torch.testing.assert_close(out, naive_roi_align(feat, rois, 2, 1.0, -1, aligned))


def test_dw_xcorr_reference_is_a_per_channel_valid_correlation():
    g = torch.Generator().manual_seed(2)
    search, kernel = torch.randn(2, 3, 6, 7, generator=g), torch.randn(2, 3, 3, 2, generator=g)
    out = ops.dw_xcorr(search, kernel, backend="torch")
    assert out.shape == (2, 3, 4, 6)
    for b in range(2):
        for c in range(3):
            for i in range(4):
                for j in range(6):
                    expected = (search[b, c, i : i + 3, j : j + 2] * kernel[b, c]).sum()
                    torch.testing.assert_close(out[b, c, i, j], expected)


def test_lut_reference_is_softmax_attention_and_stable():
    g = torch.Generator().manual_seed(3)
    q, k, v = (torch.randn(1, 5, 4, generator=g, dtype=torch.float64) for _ in range(3))
    logits = q[0] @ k[0].T / 2.0
    weights = torch.exp(logits - logits.max(1, keepdim=True).values)
    expected = (weights / weights.sum(1, keepdim=True)) @ v[0]
    torch.testing.assert_close(ops.lut_affinity_softmax(q, k, v, backend="torch")[0], expected)
    big = ops.lut_affinity_softmax(q * 1e6, k, v, backend="torch")
    assert torch.isfinite(big).all()


# ---------------------------------------------------------------- prroi_pool
def brute_force_prroi(feat, rois, pooled, scale, samples=96):
    """PrRoIPool by the midpoint rule on a ``samples x samples`` grid per bin (slow, obviously right).

    The bilinear map at ``(y, x)`` is evaluated pointwise as ``sum_ij v_ij tent(y - i) tent(x - j)``
    over the map's samples (zero beyond them); the bin average is the mean of those values.
    """
    _, c, h, w = feat.shape
    ph, pw = pooled
    out = torch.zeros(rois.shape[0], c, ph, pw, dtype=feat.dtype)
    tent = lambda t: (1 - t.abs()).clamp_min(0)
    mid = (torch.arange(samples, dtype=feat.dtype) + 0.5) / samples
    for k in range(rois.shape[0]):
        b = int(rois[k, 0])
        x1, y1, x2, y2 = (float(v) * scale for v in rois[k, 1:])
        bh, bw = max(y2 - y1, 0.0) / ph, max(x2 - x1, 0.0) / pw
        if bh * bw == 0:
            continue
        for i in range(ph):
            ys = y1 + (i + mid) * bh
            ty = tent(ys[:, None] - torch.arange(h, dtype=feat.dtype))  # [S, H]
            for j in range(pw):
                xs = x1 + (j + mid) * bw
                tx = tent(xs[:, None] - torch.arange(w, dtype=feat.dtype))  # [S, W]
                values = torch.einsum("sh,chw,tw->cst", ty, feat[b], tx)
                out[k, :, i, j] = values.mean(dim=(1, 2))
    return out


PRROI_ROIS = [
    [0, 1.3, 0.6, 5.2, 4.9],  # inside
    [1, -2.5, -1.7, 3.1, 2.2],  # partly above and left of the map
    [0, 4.4, 3.9, 9.8, 8.6],  # partly below and right
    [1, 8.5, 9.0, 12.0, 14.5],  # fully outside
    [0, 2.2, 2.7, 2.9, 3.1],  # smaller than a pixel
    [1, -0.75, 0.25, 6.5, 5.75],  # covers the map
]


@pytest.mark.parametrize(("pooled", "scale"), [((2, 3), 1.0), ((1, 1), 0.5), ((4, 2), 2.0)])
def test_prroi_reference_is_the_integral_of_the_bilinear_map(pooled, scale):
    g = torch.Generator().manual_seed(5)
    feat = torch.randn(2, 3, 6, 7, generator=g, dtype=torch.float64)
    rois = torch.tensor(PRROI_ROIS, dtype=torch.float64)
    rois[:, 1:] /= scale
    got = ops.prroi_pool(feat, rois, pooled, scale, backend="torch")
    want = brute_force_prroi(feat, rois, pooled, scale)
    assert got.shape == (len(PRROI_ROIS), 3, *pooled)
    torch.testing.assert_close(got, want, rtol=0, atol=2e-4)


def test_prroi_reference_on_hand_computed_cases():
    ones = torch.ones(1, 1, 4, 4, dtype=torch.float64)
    rois = torch.tensor(
        [[0, 0.0, 0.0, 3.0, 3.0],  # the whole support: the average of a constant
         [0, 3.0, 0.0, 4.0, 3.0],  # x in [3, 4]: the tent falls from 1 to 0, mean 1/2
         [0, -1.0, -1.0, 0.0, 0.0],  # the corner ramp in both axes: 1/2 * 1/2
         [0, 4.0, 4.0, 6.0, 6.0]],  # beyond the last sample plus one: zero
        dtype=torch.float64,
    )
    got = ops.prroi_pool(ones, rois, 1, backend="torch").flatten()
    torch.testing.assert_close(got, torch.tensor([1.0, 0.5, 0.25, 0.0], dtype=torch.float64))
    # A linear map is reproduced exactly by bilinear interpolation: the bin mean is its centre's value.
    ramp = torch.arange(5, dtype=torch.float64).view(1, 1, 1, 5).expand(1, 1, 5, 5)
    box = torch.tensor([[0, 0.4, 1.0, 3.4, 3.0]], dtype=torch.float64)
    got = ops.prroi_pool(ramp, box, (1, 3), backend="torch").flatten()
    torch.testing.assert_close(got, torch.tensor([0.9, 1.9, 2.9], dtype=torch.float64))


def test_prroi_reference_gives_zero_for_empty_and_negative_boxes():
    feat = torch.randn(1, 2, 5, 5, dtype=torch.float64, requires_grad=True)
    rois = torch.tensor(
        [[0, 1.0, 1.0, 1.0, 3.0], [0, 1.0, 2.0, 3.0, 2.0], [0, 3.0, 3.0, 1.0, 1.0]], dtype=torch.float64,
        requires_grad=True,
    )
    out = ops.prroi_pool(feat, rois, (2, 2), backend="torch")
    assert torch.equal(out, torch.zeros_like(out))
    gf, gr = torch.autograd.grad(out.sum(), (feat, rois))
    assert torch.equal(gf, torch.zeros_like(gf)) and torch.equal(gr, torch.zeros_like(gr))


def test_prroi_reference_gradcheck_features_and_boxes():
    g = torch.Generator().manual_seed(6)
    feat = torch.randn(2, 2, 5, 6, generator=g, dtype=torch.float64, requires_grad=True)
    rois = torch.tensor(PRROI_ROIS[:3] + PRROI_ROIS[4:], dtype=torch.float64)
    index, boxes = rois[:, :1], rois[:, 1:].clone().requires_grad_()
    fn = lambda f, b: ops.prroi_pool(f, torch.cat([index, b], 1), (2, 3), 0.9, backend="torch")
    assert torch.autograd.gradcheck(fn, (feat, boxes), eps=1e-6, atol=1e-7)
