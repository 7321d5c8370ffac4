"""Lovasz losses (Berman, Rannen Triki, Blaschko, "The Lovasz-Softmax loss: A tractable
surrogate for the optimization of the intersection-over-union measure", CVPR 2018).

RTS (and LWL before it) trains its segmentation branch with the Lovasz hinge because
it optimises the Jaccard index directly, which is what the VOS/VOT mask metrics score.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def lovasz_jaccard_gradient(sorted_labels: torch.Tensor) -> torch.Tensor:
    """Gradient of the Lovasz extension of the Jaccard loss for 0/1 labels that were
    sorted by decreasing error: the increments of ``1 - IoU`` as the prediction wrongly
    includes one more pixel at a time, in that order."""
    positives = sorted_labels.sum()
    intersection = positives - sorted_labels.cumsum(0)
    union = positives + (1.0 - sorted_labels).cumsum(0)
    jaccard = 1.0 - intersection / union
    if jaccard.numel() > 1:
        jaccard = torch.cat([jaccard[:1], jaccard[1:] - jaccard[:-1]])
    return jaccard


def _flat_hinge(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    if logits.numel() == 0:
        return logits.sum() * 0.0
    signs = 2.0 * labels - 1.0
    errors = 1.0 - logits * signs
    errors_sorted, order = torch.sort(errors, descending=True)
    gradient = lovasz_jaccard_gradient(labels[order])
    return torch.dot(F.relu(errors_sorted), gradient)


def _valid(values: torch.Tensor, labels: torch.Tensor, ignore_index: int | None) -> tuple[torch.Tensor, torch.Tensor]:
    if ignore_index is None:
        return values, labels
    keep = labels != ignore_index
    return values[keep], labels[keep]


def lovasz_hinge_loss(
    logits: torch.Tensor,
    labels: torch.Tensor,
    per_image: bool = True,
    ignore_index: int | None = None,
) -> torch.Tensor:
    """Binary Lovasz hinge on mask ``logits`` ``[B, ...]`` against 0/1 ``labels`` of the same shape.

    ``per_image=True`` averages the loss of each image (each image's IoU counts
    equally); ``False`` computes one loss over all pixels of the batch. Pixels whose
    label equals ``ignore_index`` (e.g. DAVIS's void 255) are left out.
    """
    if logits.shape != labels.shape:
        raise ValueError(f"logits {tuple(logits.shape)} and labels {tuple(labels.shape)} must have the same shape")
    labels = labels.to(logits.dtype) if ignore_index is None else labels
    if per_image:
        losses = []
        for image_logits, image_labels in zip(logits, labels, strict=True):
            values, targets = _valid(image_logits.reshape(-1), image_labels.reshape(-1), ignore_index)
            losses.append(_flat_hinge(values, targets.to(logits.dtype)))
        return torch.stack(losses).mean()
    values, targets = _valid(logits.reshape(-1), labels.reshape(-1), ignore_index)
    return _flat_hinge(values, targets.to(logits.dtype))


def _flat_softmax(probabilities: torch.Tensor, labels: torch.Tensor, classes: str) -> torch.Tensor:
    """``probabilities`` [P, C], ``labels`` [P] class indices."""
    losses = []
    for class_index in range(probabilities.shape[1]):
        foreground = (labels == class_index).to(probabilities.dtype)
        if classes == "present" and foreground.sum() == 0:
            continue
        errors = (foreground - probabilities[:, class_index]).abs()
        errors_sorted, order = torch.sort(errors, descending=True)
        losses.append(torch.dot(errors_sorted, lovasz_jaccard_gradient(foreground[order])))
    if not losses:
        return probabilities.sum() * 0.0
    return torch.stack(losses).mean()


def lovasz_softmax_loss(
    probabilities: torch.Tensor,
    labels: torch.Tensor,
    classes: str = "present",
    per_image: bool = False,
    ignore_index: int | None = None,
) -> torch.Tensor:
    """Multi-class Lovasz-Softmax on ``probabilities`` ``[B, C, H, W]`` (after softmax)
    against integer ``labels`` ``[B, H, W]``.

    ``classes="present"`` averages over the classes that occur in the labels (the
    paper's default), ``"all"`` over every class.
    """
    if classes not in ("present", "all"):
        raise ValueError(f"classes must be 'present' or 'all', got {classes!r}")
    if probabilities.dim() != 4 or labels.shape != (probabilities.shape[0], *probabilities.shape[2:]):
        raise ValueError(
            f"probabilities must be [B, C, H, W] and labels [B, H, W]; got {tuple(probabilities.shape)} "
            f"and {tuple(labels.shape)}"
        )

    def flatten(probs: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        flat_probs = probs.movedim(-3, -1).reshape(-1, probs.shape[-3])
        flat_labels = targets.reshape(-1)
        if ignore_index is not None:
            keep = flat_labels != ignore_index
            flat_probs, flat_labels = flat_probs[keep], flat_labels[keep]
        return flat_probs, flat_labels

    if per_image:
        pairs = zip(probabilities, labels, strict=True)
        return torch.stack([_flat_softmax(*flatten(probs, targets), classes) for probs, targets in pairs]).mean()
    return _flat_softmax(*flatten(probabilities, labels), classes)
