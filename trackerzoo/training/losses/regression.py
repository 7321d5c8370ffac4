"""Box regression losses: (smooth) L1 on offsets and IoU / GIoU on boxes.

SiamRPN++ and CRACT regress anchor offsets with smooth-L1; IBFP regresses the
distances (l, t, r, b) from a map point to the box sides with L1; Ocean (the tracker
under ARN) trains the same distances with an IoU loss. These losses are
differentiable torch code; ``trackerzoo.geometry`` measures IoU for evaluation.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from trackerzoo.training.losses.classification import _reduce

BOX_FORMATS = ("ltrb", "xyxy", "xywh")
IOU_MODES = ("linear", "log", "giou")


def smooth_l1_loss(
    prediction: torch.Tensor,
    target: torch.Tensor,
    beta: float = 1.0,
    weight: torch.Tensor | None = None,
    reduction: str = "mean",
) -> torch.Tensor:
    """Smooth-L1 (Huber with slope 1; Girshick, Fast R-CNN): ``0.5 x**2 / beta`` below
    ``beta``, ``|x| - beta / 2`` above. ``beta=0`` is plain L1. A ``weight`` makes the
    mean a weighted average (SiamRPN's per-anchor regression weights)."""
    if beta < 0:
        raise ValueError(f"beta must be >= 0, got {beta!r}")
    losses = F.smooth_l1_loss(prediction, target, beta=beta, reduction="none") if beta > 0 else (
        (prediction - target).abs()
    )
    return _reduce(losses, reduction, None if weight is None else weight.to(losses.dtype))


def l1_loss(
    prediction: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor | None = None,
    reduction: str = "mean",
) -> torch.Tensor:
    """L1 regression (IBFP's Eq. 10 on (l, t, r, b) distances)."""
    return smooth_l1_loss(prediction, target, beta=0.0, weight=weight, reduction=reduction)


def _to_xyxy(boxes: torch.Tensor, box_format: str) -> torch.Tensor:
    if box_format == "xyxy":
        return boxes
    x, y, w, h = boxes.unbind(-1)
    return torch.stack([x, y, x + w, y + h], dim=-1)


def _areas_and_overlap(
    prediction: torch.Tensor, target: torch.Tensor, box_format: str
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(intersection, union, enclosing area) of corresponding boxes ``[..., 4]``."""
    if box_format == "ltrb":
        # Distances from one shared point to the four sides: both boxes contain the point.
        p_l, p_t, p_r, p_b = prediction.unbind(-1)
        g_l, g_t, g_r, g_b = target.unbind(-1)
        p_area = (p_l + p_r) * (p_t + p_b)
        g_area = (g_l + g_r) * (g_t + g_b)
        inter_w = torch.minimum(p_l, g_l) + torch.minimum(p_r, g_r)
        inter_h = torch.minimum(p_t, g_t) + torch.minimum(p_b, g_b)
        enclosing = (torch.maximum(p_l, g_l) + torch.maximum(p_r, g_r)) * (
            torch.maximum(p_t, g_t) + torch.maximum(p_b, g_b)
        )
        intersection = inter_w.clamp_min(0) * inter_h.clamp_min(0)
    else:
        p = _to_xyxy(prediction, box_format)
        g = _to_xyxy(target, box_format)
        p_area = (p[..., 2] - p[..., 0]).clamp_min(0) * (p[..., 3] - p[..., 1]).clamp_min(0)
        g_area = (g[..., 2] - g[..., 0]).clamp_min(0) * (g[..., 3] - g[..., 1]).clamp_min(0)
        lo = torch.maximum(p[..., :2], g[..., :2])
        hi = torch.minimum(p[..., 2:], g[..., 2:])
        intersection = (hi - lo).clamp_min(0).prod(-1)
        enclosing = (torch.maximum(p[..., 2:], g[..., 2:]) - torch.minimum(p[..., :2], g[..., :2])).prod(-1)
    union = p_area + g_area - intersection
    return intersection, union, enclosing


def iou_loss(
    prediction: torch.Tensor,
    target: torch.Tensor,
    box_format: str = "xyxy",
    mode: str = "linear",
    weight: torch.Tensor | None = None,
    reduction: str = "mean",
    eps: float = 1e-7,
) -> torch.Tensor:
    """IoU loss of corresponding boxes ``[..., 4]``.

    ``mode``: ``"linear"`` 1 - IoU, ``"log"`` -log IoU (UnitBox, as in Ocean's
    regression), ``"giou"`` 1 - GIoU (Rezatofighi et al., CVPR 2019), which still has a
    gradient when the boxes do not overlap. ``box_format``: ``"xyxy"``, ``"xywh"`` or
    ``"ltrb"`` (distances from a map point to the left, top, right, bottom sides).
    """
    if box_format not in BOX_FORMATS:
        raise ValueError(f"box_format must be one of {', '.join(BOX_FORMATS)}; got {box_format!r}")
    if mode not in IOU_MODES:
        raise ValueError(f"mode must be one of {', '.join(IOU_MODES)}; got {mode!r}")
    if prediction.shape != target.shape or prediction.shape[-1] != 4:
        raise ValueError(
            f"prediction {tuple(prediction.shape)} and target {tuple(target.shape)} must both be [..., 4]"
        )
    intersection, union, enclosing = _areas_and_overlap(prediction, target, box_format)
    iou = intersection / union.clamp_min(eps)
    if mode == "linear":
        losses = 1.0 - iou
    elif mode == "log":
        losses = -torch.log(iou.clamp_min(eps))
    else:
        giou = iou - (enclosing - union) / enclosing.clamp_min(eps)
        losses = 1.0 - giou
    return _reduce(losses, reduction, None if weight is None else weight.to(losses.dtype))
