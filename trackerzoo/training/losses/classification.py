"""Per-pixel classification losses: score maps and mask logits against dense labels."""

from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn.functional as F

REDUCTIONS = ("mean", "sum", "none")


def _reduce(values: torch.Tensor, reduction: str, weight: torch.Tensor | None = None) -> torch.Tensor:
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {', '.join(REDUCTIONS)}; got {reduction!r}")
    if weight is not None:
        values = values * weight
    if reduction == "none":
        return values
    if reduction == "sum":
        return values.sum()
    if weight is not None:
        return values.sum() / weight.expand_as(values).sum().clamp_min(torch.finfo(values.dtype).tiny)
    return values.mean()


def bce_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor | None = None,
    reduction: str = "mean",
) -> torch.Tensor:
    """Binary cross-entropy on logits (SiamFC/SiamRPN classification, Ocean, ARN masks).

    With ``weight`` (broadcastable to ``logits``) the mean is the weighted average
    ``sum(w * l) / sum(w)``, so that balancing weights such as SiamFC's 1/(2 N_pos) on
    positives and 1/(2 N_neg) on negatives mean the same thing at any map size.
    """
    losses = F.binary_cross_entropy_with_logits(logits, target.to(logits.dtype), reduction="none")
    return _reduce(losses, reduction, None if weight is None else weight.to(losses.dtype))


def mask_contour(mask: torch.Tensor, thickness: int = 1) -> torch.Tensor:
    """The outline of binary ``mask`` ``[..., H, W]`` as a 0/1 float map of the same shape.

    ARN takes its contour label from OpenCV's contour detection on the mask label; we
    do the same (``findContours`` + ``drawContours`` with ``thickness`` px lines).
    """
    if thickness < 1:
        raise ValueError(f"thickness must be >= 1, got {thickness!r}")
    if mask.dim() < 2:
        raise ValueError(f"mask must have at least 2 dimensions (H, W), got shape {tuple(mask.shape)}")
    flat = (mask.detach() > 0.5).reshape(-1, *mask.shape[-2:]).cpu().numpy().astype(np.uint8)
    outlines = np.zeros_like(flat)
    for index, plane in enumerate(flat):
        contours, _ = cv2.findContours(plane, cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
        if contours:
            cv2.drawContours(outlines[index], contours, -1, 1, thickness)
    return torch.from_numpy(outlines).reshape(mask.shape).to(device=mask.device, dtype=torch.float32)


def bce_contour_loss(
    logits: torch.Tensor,
    mask: torch.Tensor,
    contour: torch.Tensor | None = None,
    contour_weight: float = 0.1,
) -> torch.Tensor:
    """ARN's mask loss (Zhang et al., "Towards Accurate Pixel-wise Object Tracking by
    Attention Retrieval", Eq. 5): ``BCE(p, y) + lambda * BCE(p * y_b, y_b)``.

    ``y_b`` is the contour of the mask label (computed with :func:`mask_contour` when
    not given) and lambda = 0.1 in the paper. Where ``y_b`` = 0 the second term is
    BCE(0, 0) = 0, and on the contour it is -log p, so it is computed stably as
    ``mean(y_b * softplus(-logits))``: an extra push towards foreground on the
    boundary pixels, which plain BCE under-weights because they are few.
    """
    if logits.shape != mask.shape:
        raise ValueError(f"logits {tuple(logits.shape)} and mask {tuple(mask.shape)} must have the same shape")
    if contour is None:
        contour = mask_contour(mask)
    content = bce_loss(logits, mask)
    boundary = (contour.to(logits.dtype) * F.softplus(-logits)).mean()
    return content + contour_weight * boundary


def focal_hinge_mse_loss(
    scores: torch.Tensor,
    labels: torch.Tensor,
    alpha: float = 0.9,
    gamma: float = 0.1,
    tau: float = 0.05,
    squared: bool = True,
    reduction: str = "mean",
) -> torch.Tensor:
    """IBFP's centre loss (Pi et al., "Instance-based Feature Pyramid for Visual Object
    Tracking", Eq. 9), on raw scores ``s`` against Gaussian labels ``y``:

    - ``y >= tau``: ``y**gamma * (s - y)**2`` (positives, weighted up towards the centre),
    - ``y <  tau``: ``alpha * max(0, s)**2`` (negatives cost only when they score above 0).

    alpha 0.9, gamma 0.1, tau 0.05 are the paper's values. The paper's text shows an
    absolute difference where the squares were probably lost in conversion; the loss is
    named "MSE" and follows ATOM's hinge-MSE, which squares, so ``squared=True`` is the
    default and ``squared=False`` gives the literal absolute-value form.
    """
    labels = labels.to(scores.dtype)
    positive = labels >= tau
    positive_error = (scores - labels).abs()
    negative_error = F.relu(scores)
    if squared:
        positive_error = positive_error**2
        negative_error = negative_error**2
    positive_weight = labels.clamp_min(0) ** gamma
    losses = torch.where(positive, positive_weight * positive_error, alpha * negative_error)
    return _reduce(losses, reduction)


def dimp_hinge_loss(
    scores: torch.Tensor,
    labels: torch.Tensor,
    threshold: float = 0.05,
    target_mask: torch.Tensor | None = None,
    reduction: str = "mean",
) -> torch.Tensor:
    """The hinge-like regression loss of DiMP (Bhat et al., "Learning Discriminative
    Model Prediction for Tracking"), used by RTS's instance branch and ATOM's online
    classifier: squared error ``(s - y)**2`` on the target region and ``max(0, s)**2``
    on the background, so that confident negatives below zero cost nothing.

    The target region is ``target_mask`` when given, else ``labels >= threshold``
    (DiMP's hinge threshold 0.05 on its Gaussian labels).
    """
    labels = labels.to(scores.dtype)
    target = labels >= threshold if target_mask is None else target_mask.to(torch.bool)
    prediction = torch.where(target, scores, F.relu(scores))
    goal = torch.where(target, labels, torch.zeros_like(labels))
    return _reduce((prediction - goal) ** 2, reduction)
