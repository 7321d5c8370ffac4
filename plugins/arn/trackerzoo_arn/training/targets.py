"""Training targets of the Ocean head on the score-map grid (Ocean Sec. 3.1, FCOS).

Every cell's point in the search crop (:func:`trackerzoo.geometry.anchor_free.score_map_points`)
regresses the distances to the ground-truth box's sides when it lies inside the box;
a cell is a classification positive when it lies inside the box shrunk by
``positive_fraction`` around its centre (Ocean labels the central region), a negative
outside the box, and ignored in between. Negative pairs have only negatives.
"""

from __future__ import annotations

import dataclasses

import torch

from trackerzoo.geometry.anchor_free import score_map_points


@dataclasses.dataclass
class OceanTargets:
    labels: torch.Tensor  # [B, h, w] 1 positive, 0 negative
    label_weights: torch.Tensor  # [B, h, w] balanced weights, 0 where ignored
    ltrb: torch.Tensor  # [B, h, w, 4] distances to the sides, crop pixels
    regress: torch.Tensor  # [B, h, w] bool, cells whose box is regressed


def ocean_targets(boxes_xywh: torch.Tensor, positive: torch.Tensor, size: int, stride: int, crop_size: int,
                  positive_fraction: float = 0.5) -> OceanTargets:
    """Targets for ``boxes_xywh`` ``[B, 4]`` (search-crop pixels) on a ``size x size`` map."""
    points = score_map_points(size, stride, crop_size).to(boxes_xywh.device, torch.float32)  # [h, w, 2]
    x1, y1 = boxes_xywh[:, 0, None, None], boxes_xywh[:, 1, None, None]
    x2, y2 = x1 + boxes_xywh[:, 2, None, None], y1 + boxes_xywh[:, 3, None, None]
    px, py = points[..., 0], points[..., 1]
    ltrb = torch.stack((px - x1, py - y1, x2 - px, y2 - py), dim=-1)  # [B, h, w, 4]
    inside = ltrb.min(dim=-1).values > 0
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    half_w = boxes_xywh[:, 2, None, None] * positive_fraction / 2
    half_h = boxes_xywh[:, 3, None, None] * positive_fraction / 2
    central = ((px - cx).abs() <= half_w.clamp_min(stride / 2)) & ((py - cy).abs() <= half_h.clamp_min(stride / 2))
    is_pair = (positive > 0.5)[:, None, None]
    labels = (central & is_pair).float()
    negatives = ~inside | ~is_pair
    weights = torch.zeros_like(labels)
    for b in range(labels.shape[0]):
        pos, neg = labels[b] > 0, negatives[b]
        if pos.any():
            weights[b][pos] = 0.5 / pos.sum()
            weights[b][neg] = 0.5 / neg.sum().clamp_min(1)
        else:
            weights[b][neg] = 1.0 / neg.sum().clamp_min(1)
    return OceanTargets(labels, weights, ltrb.clamp_min(0.0), inside & is_pair)
