"""Which anchors and proposals train what, following section 3.4 of the paper.

- RPN: an anchor is positive above IoU 0.6 with the target, negative below 0.3; up to
  64 anchors per pair are sampled, at most 16 of them positive (SiamRPN++'s split of
  the 64). A negative pair (search crop showing another object) has only negatives.
- CRAC: up to 16 proposals per pair train the box regression (IoU > 0.5 with the
  target) and up to 32 train the identifier (half positive where possible, IoU > 0.5
  after regression, the rest negative).

Sampling draws from torch's global generator, which the trainer seeds and restores on
resume, so a resumed run samples exactly as an uninterrupted one.
"""

from __future__ import annotations

import dataclasses

import torch

from trackerzoo_cract.model.anchors import decode, encode, pairwise_iou
from trackerzoo_cract.model.network import ProposalBatch
from trackerzoo_cract.model.rpn import RpnOutput


@dataclasses.dataclass(frozen=True)
class SamplingRules:
    anchor_positive_iou: float = 0.6
    anchor_negative_iou: float = 0.3
    anchor_samples: int = 64
    anchor_max_positives: int = 16
    regression_proposals: int = 16
    identification_proposals: int = 32
    proposal_iou: float = 0.5
    rpn_candidates: int = 32  # top-scoring RPN boxes offered to the CRAC sampler
    jittered_candidates: int = 32  # boxes around the target, so early training sees positives
    random_candidates: int = 16  # boxes anywhere in the search crop, background variety


def _random_subset(mask: torch.Tensor, count: int) -> torch.Tensor:
    """Indices of at most ``count`` random True entries of ``mask``."""
    indices = torch.nonzero(mask, as_tuple=False).view(-1)
    if indices.numel() > count:
        indices = indices[torch.randperm(indices.numel(), device=indices.device)[:count]]
    return indices


@dataclasses.dataclass
class AnchorTargets:
    labels: torch.Tensor  # [B, M]: 1 positive, 0 negative, -1 not sampled
    offsets: torch.Tensor  # [B, M, 4] regression targets (valid where labels == 1)


def anchor_targets(anchors: torch.Tensor, targets: torch.Tensor, positive_pair: torch.Tensor,
                   rules: SamplingRules) -> AnchorTargets:
    """RPN labels and offset targets for ``anchors`` [M, 4] and target boxes [B, 4] (cxcywh)."""
    batch, count = targets.shape[0], anchors.shape[0]
    labels = torch.full((batch, count), -1.0, device=anchors.device)
    offsets = torch.zeros(batch, count, 4, device=anchors.device)
    for b in range(batch):
        overlaps = pairwise_iou(anchors, targets[b:b + 1])[:, 0]
        if bool(positive_pair[b]):
            positives = _random_subset(overlaps > rules.anchor_positive_iou, rules.anchor_max_positives)
        else:
            positives = overlaps.new_zeros(0, dtype=torch.long)
        negatives = _random_subset(
            overlaps < rules.anchor_negative_iou if bool(positive_pair[b]) else torch.ones_like(overlaps, dtype=bool),
            rules.anchor_samples - positives.numel(),
        )
        labels[b, negatives] = 0.0
        labels[b, positives] = 1.0
        offsets[b] = encode(targets[b].expand(count, 4), anchors)
    return AnchorTargets(labels=labels, offsets=offsets)


def _jittered(target: torch.Tensor, count: int) -> torch.Tensor:
    side = target[2:].mean()
    centre = target[:2] + torch.randn(count, 2, device=target.device) * 0.15 * side
    size = target[2:] * torch.exp(torch.randn(count, 2, device=target.device) * 0.2)
    return torch.cat((centre, size), dim=1)


def _random_boxes(reference: torch.Tensor, count: int, crop_size: float) -> torch.Tensor:
    centre = torch.rand(count, 2, device=reference.device) * crop_size
    size = reference[2:] * torch.exp(torch.randn(count, 2, device=reference.device) * 0.4)
    return torch.cat((centre, size), dim=1)


class ProposalSampling:
    """The ``sample_proposals`` callable of ``CractNet.forward`` for one batch."""

    def __init__(self, targets: torch.Tensor, positive_pair: torch.Tensor, crop_size: float,
                 rules: SamplingRules) -> None:
        self.targets = targets
        self.positive_pair = positive_pair
        self.crop_size = crop_size
        self.rules = rules

    def __call__(self, anchors: torch.Tensor, rpn: RpnOutput) -> ProposalBatch:
        rules = self.rules
        scores = torch.softmax(rpn.flat_scores().detach().float(), dim=-1)[..., 1]
        decoded = decode(rpn.flat_offsets().detach().float(), anchors)
        boxes, batch_index, for_regression, for_identification = [], [], [], []
        for b in range(self.targets.shape[0]):
            target = self.targets[b]
            top = torch.topk(scores[b], min(rules.rpn_candidates, scores.shape[1])).indices
            candidates = torch.cat((
                decoded[b, top],
                _jittered(target, rules.jittered_candidates),
                _random_boxes(target, rules.random_candidates, self.crop_size),
            ))
            candidates[:, 2:] = candidates[:, 2:].clamp(min=4.0, max=2.0 * self.crop_size)
            overlaps = pairwise_iou(candidates, target[None])[:, 0]
            positive = overlaps > rules.proposal_iou
            if not bool(self.positive_pair[b]):
                positive = torch.zeros_like(positive)
            regression = _random_subset(positive, rules.regression_proposals)
            id_positive = _random_subset(positive, rules.identification_proposals // 2)
            id_negative = _random_subset(~positive, rules.identification_proposals - id_positive.numel())
            chosen = torch.zeros(candidates.shape[0], dtype=torch.bool, device=candidates.device)
            regress_flag = torch.zeros_like(chosen)
            identify_flag = torch.zeros_like(chosen)
            regress_flag[regression] = True
            identify_flag[id_positive] = True
            identify_flag[id_negative] = True
            chosen = regress_flag | identify_flag
            boxes.append(candidates[chosen])
            batch_index.append(torch.full((int(chosen.sum()),), b, dtype=torch.long, device=candidates.device))
            for_regression.append(regress_flag[chosen])
            for_identification.append(identify_flag[chosen])
        return ProposalBatch(
            boxes=torch.cat(boxes), batch_index=torch.cat(batch_index),
            for_regression=torch.cat(for_regression), for_identification=torch.cat(for_identification),
        )
