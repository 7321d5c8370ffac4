"""The offline loss of section 3.4: L = l_rpn + l_reg + l_ide.

- l_rpn: cross-entropy over the sampled anchors + smooth-L1 on the offsets of the
  positive ones;
- l_reg: smooth-L1 between the CRAC offsets and the offsets that move each regression
  proposal onto the target (in the normalised units the head predicts);
- l_ide: cross-entropy of the identifier, labels from the IoU of the *regressed* box
  with the target (the box whose aligned feature the identifier sees).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from trackerzoo.geometry import box_iou_elementwise, cxcywh_to_xywh
from trackerzoo.training.losses import smooth_l1_loss
from trackerzoo_cract.model.anchors import encode
from trackerzoo_cract.model.heads import OFFSET_SCALE
from trackerzoo_cract.model.network import TrainingOutputs
from trackerzoo_cract.training.targets import AnchorTargets


def rpn_losses(outputs: TrainingOutputs, targets: AnchorTargets) -> tuple[torch.Tensor, torch.Tensor]:
    logits = outputs.rpn.flat_scores().float()
    sampled = targets.labels >= 0
    classification = F.cross_entropy(logits[sampled], targets.labels[sampled].long())
    positive = targets.labels > 0
    if bool(positive.any()):
        regression = smooth_l1_loss(outputs.rpn.flat_offsets().float()[positive], targets.offsets[positive])
    else:
        regression = logits.sum() * 0.0
    return classification, regression


def crac_losses(outputs: TrainingOutputs, boxes: torch.Tensor, positive_pair: torch.Tensor,
                proposal_iou: float) -> tuple[torch.Tensor, torch.Tensor, float]:
    """(l_reg, l_ide, identification accuracy) for target boxes [B, 4] (cxcywh)."""
    proposals = outputs.proposals
    refinement = outputs.refinement
    targets = boxes[proposals.batch_index]
    scale = torch.tensor(OFFSET_SCALE, device=boxes.device)
    chosen = proposals.for_regression
    if bool(chosen.any()):
        wanted = encode(targets[chosen], proposals.boxes[chosen]) / scale
        regression = smooth_l1_loss(refinement.offsets.float()[chosen] / scale, wanted)
    else:
        regression = refinement.offsets.sum() * 0.0
    identify = proposals.for_identification
    refined = refinement.boxes.detach()[identify]
    overlaps = box_iou_elementwise(cxcywh_to_xywh(refined), cxcywh_to_xywh(targets[identify]))
    labels = ((overlaps > proposal_iou) & positive_pair[proposals.batch_index[identify]].bool()).long()
    logits = refinement.identity_logits.float()[identify]
    identification = F.cross_entropy(logits, labels)
    accuracy = float((logits.argmax(dim=1) == labels).float().mean()) if labels.numel() else 0.0
    return regression, identification, accuracy
