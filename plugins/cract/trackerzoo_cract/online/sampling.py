"""Discrete training boxes for the discriminator, drawn around the tracked target.

Positives jitter the target box slightly (IoU >= ``positive_iou``); negatives come from
the neighbourhood of the target and from the whole search region (IoU < ``negative_iou``).
All draws use the tracker's own ``torch.Generator``, so tracking is deterministic.
"""

from __future__ import annotations

import torch

from trackerzoo_cract.model.anchors import pairwise_iou

_MAX_ROUNDS = 20


def _jitter(
    target: torch.Tensor, count: int, shift: float, log_scale: float, generator: torch.Generator
) -> torch.Tensor:
    """Boxes around ``target`` (cxcywh): centre moved by ``shift * mean side`` std, size by ``exp(N(0, log_scale))``."""
    side = target[2:].mean()
    centre = target[:2] + torch.randn(count, 2, generator=generator) * shift * side
    size = target[2:] * torch.exp(torch.randn(count, 2, generator=generator) * log_scale)
    return torch.cat((centre, size), dim=1)


def _filtered(draw, keep, count: int) -> torch.Tensor:
    """Draw batches until ``count`` boxes pass ``keep``; pad by repetition if the rule is too strict."""
    kept: list[torch.Tensor] = []
    total = 0
    for _ in range(_MAX_ROUNDS):
        boxes = draw(4 * count)
        boxes = boxes[keep(boxes)]
        kept.append(boxes)
        total += boxes.shape[0]
        if total >= count:
            break
    boxes = torch.cat(kept)
    if boxes.shape[0] == 0:
        raise RuntimeError("could not draw any training box that satisfies the IoU rule")
    if boxes.shape[0] < count:
        boxes = boxes[torch.arange(count) % boxes.shape[0]]
    return boxes[:count]


def positive_boxes(target: torch.Tensor, count: int, min_iou: float, generator: torch.Generator) -> torch.Tensor:
    def draw(n: int) -> torch.Tensor:
        return _jitter(target, n, shift=0.1, log_scale=0.1, generator=generator)

    return _filtered(draw, lambda b: pairwise_iou(b, target[None])[:, 0] >= min_iou, count)


def negative_boxes(
    target: torch.Tensor, count: int, max_iou: float, region_size: float, generator: torch.Generator
) -> torch.Tensor:
    """Half near the target (same object scale, shifted by up to two sides), half anywhere in the region."""

    def draw(n: int) -> torch.Tensor:
        near = _jitter(target, n // 2, shift=1.0, log_scale=0.3, generator=generator)
        far_centre = torch.rand(n - n // 2, 2, generator=generator) * region_size
        far_size = target[2:] * torch.exp(torch.randn(n - n // 2, 2, generator=generator) * 0.3)
        return torch.cat((near, torch.cat((far_centre, far_size), dim=1)))

    return _filtered(draw, lambda b: pairwise_iou(b, target[None])[:, 0] < max_iou, count)


def distractor_boxes(
    distractors: torch.Tensor, target: torch.Tensor, count: int, max_iou: float, generator: torch.Generator
) -> torch.Tensor:
    """``count`` negatives jittered around the distractor boxes ``[D, 4]``, shared out evenly.

    The paper's hard negative mining "increases the number of similar distractors in the
    negative samples": each distractor contributes many slightly shifted copies of itself
    instead of one box, so it carries real weight among the ~1000 negatives. Copies that
    overlap the target by ``max_iou`` or more are dropped (they would be mislabelled).
    Returns ``[0, 4]`` when there is no distractor.
    """
    if distractors.shape[0] == 0 or count == 0:
        return torch.zeros(0, 4)
    per_distractor = [len(share) for share in torch.arange(count).tensor_split(distractors.shape[0])]
    boxes = [
        _filtered(lambda n, d=distractor: _jitter(d, n, shift=0.1, log_scale=0.1, generator=generator),
                  lambda b: pairwise_iou(b, target[None])[:, 0] < max_iou, share)
        for distractor, share in zip(distractors, per_distractor, strict=True) if share > 0
    ]
    return torch.cat(boxes)
