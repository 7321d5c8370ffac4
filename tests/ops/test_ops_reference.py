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
