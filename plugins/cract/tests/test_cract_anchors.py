"""Anchors and the box parameterisation of Eq. 4."""

from __future__ import annotations

import math

import pytest
import torch
from trackerzoo_cract.model.anchors import (
    anchor_grid,
    anchor_shapes,
    decode,
    encode,
    non_maximum_suppression,
    pairwise_iou,
)

RATIOS = (0.33, 0.5, 1.0, 2.0, 3.0)


def test_anchor_shapes_have_the_ratios_and_the_area_of_scale_8_at_stride_8():
    shapes = anchor_shapes(8, RATIOS, (8.0,))
    assert shapes.shape == (5, 2)
    assert torch.allclose(shapes[:, 1] / shapes[:, 0], torch.tensor(RATIOS))
    assert torch.allclose(shapes[:, 0] * shapes[:, 1], torch.full((5,), 64.0 * 64.0))


def test_anchor_grid_is_centred_on_the_crop_with_stride_spacing():
    grid = anchor_grid(25, 255, 8, anchor_shapes(8, RATIOS, (8.0,)))
    assert grid.shape == (5, 25, 25, 4)
    centre = grid[2, 12, 12]
    assert centre[0].item() == pytest.approx(127.5) and centre[1].item() == pytest.approx(127.5)
    assert (grid[0, 0, 1, 0] - grid[0, 0, 0, 0]).item() == pytest.approx(8.0)  # x along columns
    assert (grid[0, 1, 0, 1] - grid[0, 0, 0, 1]).item() == pytest.approx(8.0)  # y along rows


def test_encode_decode_round_trip():
    generator = torch.Generator().manual_seed(3)

    def boxes_with_sizes(low: float, span: float) -> torch.Tensor:
        centres = torch.rand(50, 2, generator=generator) * 255
        return torch.cat((centres, low + torch.rand(50, 2, generator=generator) * span), dim=1)

    references = boxes_with_sizes(10, 90)
    boxes = boxes_with_sizes(5, 150)
    assert torch.allclose(decode(encode(boxes, references), references), boxes, atol=1e-3)


def test_decode_follows_eq4():
    reference = torch.tensor([100.0, 50.0, 20.0, 40.0])
    offsets = torch.tensor([0.5, -0.25, math.log(2.0), 0.0])
    assert torch.allclose(decode(offsets, reference), torch.tensor([110.0, 40.0, 40.0, 40.0]))


def test_nms_keeps_the_best_and_drops_overlaps():
    boxes = torch.tensor([[50.0, 50, 20, 20], [51, 50, 20, 20], [120, 120, 20, 20], [50, 52, 20, 20]])
    scores = torch.tensor([0.9, 0.95, 0.5, 0.1])
    kept = non_maximum_suppression(boxes, scores, 0.5, keep=10)
    assert kept.tolist() == [1, 2]
    assert non_maximum_suppression(boxes, scores, 0.5, keep=1).tolist() == [1]
    assert pairwise_iou(boxes[:1], boxes[:1]).item() == pytest.approx(1.0)
