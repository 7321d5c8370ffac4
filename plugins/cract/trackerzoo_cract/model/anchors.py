"""Anchors of the Siamese RPN and the box parameterisation shared by RPN and CRAC.

Boxes are ``(cx, cy, w, h)`` in pixels of the search crop. The score map is centred on
the crop centre with one cell per ``stride`` pixels, as in SiamRPN++, so the same anchor
grid serves any score-map size the backbone produces.

The offset parameterisation is the one of Eq. 4 of the paper (and of Faster R-CNN):
``cx' = cx + w * dx``, ``w' = w * exp(dw)``. RPN and CRAC regression both use it.
"""

from __future__ import annotations

import math

import torch

from trackerzoo.geometry import box_iou, cxcywh_to_xywh

# exp() of a larger log-scale offset overflows fp16 and means a >50x size change anyway.
MAX_LOG_SCALE = math.log(1000.0 / 16.0)


def anchor_shapes(stride: int, ratios: tuple[float, ...], scales: tuple[float, ...]) -> torch.Tensor:
    """Widths and heights ``[A, 2]`` of the anchors: area ``(stride*scale)^2``, ``h/w = ratio``."""
    shapes = []
    for ratio in ratios:
        for scale in scales:
            side = stride * scale
            shapes.append((side / math.sqrt(ratio), side * math.sqrt(ratio)))
    return torch.tensor(shapes, dtype=torch.float32)


def anchor_grid(score_size: int, search_size: int, stride: int, shapes: torch.Tensor) -> torch.Tensor:
    """All anchors ``[A, S, S, 4]`` (cx, cy, w, h) of an ``S x S`` score map.

    Ordered like the RPN output channels (anchor index first, then row, column), so
    ``anchors.reshape(-1, 4)`` lines up with the flattened scores.
    """
    offsets = (torch.arange(score_size, dtype=torch.float32) - (score_size - 1) / 2.0) * stride
    centre = search_size / 2.0
    cy, cx = torch.meshgrid(centre + offsets, centre + offsets, indexing="ij")
    num = shapes.shape[0]
    grid = torch.empty(num, score_size, score_size, 4)
    grid[..., 0] = cx
    grid[..., 1] = cy
    grid[..., 2] = shapes[:, 0].view(num, 1, 1)
    grid[..., 3] = shapes[:, 1].view(num, 1, 1)
    return grid


def encode(boxes: torch.Tensor, references: torch.Tensor) -> torch.Tensor:
    """Offsets ``(dx, dy, dw, dh)`` that move ``references`` onto ``boxes`` (both cxcywh)."""
    dx = (boxes[..., 0] - references[..., 0]) / references[..., 2]
    dy = (boxes[..., 1] - references[..., 1]) / references[..., 3]
    dw = torch.log(boxes[..., 2] / references[..., 2])
    dh = torch.log(boxes[..., 3] / references[..., 3])
    return torch.stack((dx, dy, dw, dh), dim=-1)


def decode(offsets: torch.Tensor, references: torch.Tensor) -> torch.Tensor:
    """Apply offsets to reference boxes (Eq. 4 of the paper)."""
    cx = references[..., 0] + references[..., 2] * offsets[..., 0]
    cy = references[..., 1] + references[..., 3] * offsets[..., 1]
    w = references[..., 2] * torch.exp(offsets[..., 2].clamp(-MAX_LOG_SCALE, MAX_LOG_SCALE))
    h = references[..., 3] * torch.exp(offsets[..., 3].clamp(-MAX_LOG_SCALE, MAX_LOG_SCALE))
    return torch.stack((cx, cy, w, h), dim=-1)


def pairwise_iou(boxes_a: torch.Tensor, boxes_b: torch.Tensor) -> torch.Tensor:
    """IoU matrix ``[M, K]`` of two sets of cxcywh boxes ``[M, 4]`` and ``[K, 4]``."""
    return box_iou(cxcywh_to_xywh(boxes_a), cxcywh_to_xywh(boxes_b))


def non_maximum_suppression(boxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float, keep: int) -> torch.Tensor:
    """Indices of at most ``keep`` boxes, best first, none overlapping a better one above the threshold.

    Greedy NMS over a few dozen candidates: a plain loop is cheaper than any kernel launch.
    """
    order = torch.argsort(scores, descending=True)
    ious = pairwise_iou(boxes[order], boxes[order])
    suppressed = torch.zeros(order.numel(), dtype=torch.bool, device=boxes.device)
    kept: list[int] = []
    for position in range(order.numel()):
        if suppressed[position]:
            continue
        kept.append(position)
        if len(kept) == keep:
            break
        suppressed |= ious[position] > iou_threshold
    return order[torch.tensor(kept, dtype=torch.long, device=boxes.device)]
