"""The ``arn`` training recipe (``trackerzoo train arn --set data=vot:DATA/vot --out runs/arn``).

Losses (ARN paper Sec. 4.1 / Ocean Sec. 3): BCE on the score map, IoU loss (-log IoU,
UnitBox, as Ocean) on the l,t,r,b maps of the cells inside the box, and for the mask
of every MMS stage BCE plus 0.1 x the contour BCE (paper Eq. 5,
``trackerzoo.training.losses.bce_contour_loss``). Data: template/search pairs with exact
masks (``PairSampler(masks=True)``); the template mask fills the ARN LUT. The
ImageNet backbone is kept fixed by default (``freeze_backbone``), or trained at a tenth
of the head learning rate.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import torch
from torch import nn

from trackerzoo.training import CropSpec, PairSampler, Recipe, TrainConfig, apply_overrides
from trackerzoo.training.losses import bce_contour_loss, bce_loss, iou_loss
from trackerzoo.training.recipe import datasets_from_spec
from trackerzoo_arn.loading import build_network
from trackerzoo_arn.model import ArnNet
from trackerzoo_arn.params import DEFAULT_VARIANT, MODEL_CONFIGS, ArnParams
from trackerzoo_arn.training.targets import ocean_targets


@dataclasses.dataclass
class ArnTrainSettings(TrainConfig):
    steps: int = 4000
    batch_size: int = 8
    optimizer: str = "adamw"
    lr: float = 5e-4
    weight_decay: float = 1e-4
    schedule: str = "cosine"
    final_lr_factor: float = 0.05
    warmup_steps: int = 100
    grad_clip: float | None = 10.0
    val_every: int = 250
    checkpoint_every: int = 100
    checkpoint_minutes: float | None = 4.0

    variant: str = DEFAULT_VARIANT
    data: str = ""  # comma-separated "kind:path" (or a synthetic path)
    val_data: str = ""
    init_weights: str = ""
    backbone_lr_scale: float = 0.1
    # The dilated MobileNetV2's depth-wise backward is ~10x its forward on a CPU: by default the
    # ImageNet trunk stays fixed and only neck, Ocean head, ARN and MMS train.
    freeze_backbone: bool = True
    max_gap: int = 50
    negative_pair_probability: float = 0.1
    template_scale_jitter: float = 0.05
    template_center_jitter: float = 0.1
    search_scale_jitter: float = 0.18
    search_center_jitter: float = 1.5
    classification_weight: float = 1.0
    regression_weight: float = 1.0
    mask_weight: float = 1.0
    contour_weight: float = 0.1  # paper Eq. 5

    def validate(self) -> None:
        super().validate()
        if self.variant not in MODEL_CONFIGS:
            raise ValueError(f"variant must be one of {', '.join(MODEL_CONFIGS)}, got {self.variant!r}")
        if not self.data:
            raise ValueError("set data=KIND:PATH (e.g. vot:DATA/vot of a make-dataset output), a layout with masks")


def foreground_logit(stage_logits: torch.Tensor) -> torch.Tensor:
    """Two-class logits ``[B, 2, H, W]`` -> the foreground logit ``[B, 1, H, W]`` (softmax = sigmoid of it)."""
    return stage_logits[:, 1:2] - stage_logits[:, 0:1]


def compute_loss(model: ArnNet, batch: dict[str, torch.Tensor], *, settings: ArnTrainSettings
                 ) -> tuple[torch.Tensor, dict[str, float]]:
    template = model.normalize(batch["template"]).contiguous(memory_format=torch.channels_last)
    search = model.normalize(batch["search"]).contiguous(memory_format=torch.channels_last)
    outputs = model(template, batch["template_mask"][:, 0], search)
    size = outputs.logits.shape[-1]
    targets = ocean_targets(batch["search_box"].float(), batch["positive"], size, model.config.stride,
                            search.shape[-1])
    classification = bce_loss(outputs.logits[:, 0], targets.labels, targets.label_weights, reduction="sum") / len(
        targets.labels)
    regress = targets.regress
    if regress.any():
        predicted = outputs.ltrb.permute(0, 2, 3, 1)[regress]
        regression = iou_loss(predicted, targets.ltrb[regress], box_format="ltrb", mode="log")
    else:
        regression = outputs.ltrb.sum() * 0.0
    positive = batch["positive"] > 0.5
    mask_loss = outputs.ltrb.sum() * 0.0
    if positive.any():
        labels = batch["search_mask"][positive].float()
        for stage in outputs.mask_logits:
            mask_loss = mask_loss + bce_contour_loss(foreground_logit(stage[positive]), labels,
                                                     contour_weight=settings.contour_weight)
        mask_loss = mask_loss / len(outputs.mask_logits)
    total = (settings.classification_weight * classification + settings.regression_weight * regression
             + settings.mask_weight * mask_loss)
    with torch.no_grad():
        fused = outputs.mask[positive].softmax(1)[:, 1:2] > 0.5 if positive.any() else None
        mask_iou = 0.0
        if fused is not None:
            labels = batch["search_mask"][positive] > 0.5
            inter = (fused & labels).sum((1, 2, 3)).float()
            union = (fused | labels).sum((1, 2, 3)).float().clamp_min(1)
            mask_iou = float((inter / union).mean())
    return total, {"cls": classification.item(), "iou": regression.item(), "mask": mask_loss.item(),
                   "mask_iou": mask_iou}


def parameter_groups(model: ArnNet, *, backbone_lr_scale: float) -> list[dict[str, Any]]:
    trunk = [p for p in model.features.parameters() if p.requires_grad]
    trunk_ids = {id(p) for p in trunk}
    heads = [p for p in model.parameters() if p.requires_grad and id(p) not in trunk_ids]
    groups: list[dict[str, Any]] = [{"params": heads}]
    if trunk:
        groups.append({"params": trunk, "lr_scale": backbone_lr_scale})
    return groups


def _build_model(settings: ArnTrainSettings) -> nn.Module:
    network = build_network(settings.variant, settings.init_weights or None, torch.device("cpu"))
    if settings.freeze_backbone:
        network.freeze_trunk()
    # channels_last: the dilated depth-wise convs run 3-4x faster on a CPU (measured, batch 8).
    return network.to(memory_format=torch.channels_last).train()


def build_recipe(overrides: dict[str, Any]) -> Recipe:
    settings = apply_overrides(ArnTrainSettings(), overrides)
    inference = ArnParams()
    template = CropSpec(output_size=(inference.template_size, inference.template_size), area_scale=1.0,
                        context_amount=inference.context_amount, scale_jitter=settings.template_scale_jitter,
                        center_jitter=settings.template_center_jitter)
    search = CropSpec(output_size=(inference.search_size, inference.search_size),
                      area_scale=inference.search_size / inference.template_size,
                      context_amount=inference.context_amount, scale_jitter=settings.search_scale_jitter,
                      center_jitter=settings.search_center_jitter)

    def pairs(spec: str, seed: int, length: int) -> PairSampler:
        return PairSampler(datasets_from_spec(spec), template=template, search=search, max_gap=settings.max_gap,
                           seed=seed, length=length, masks=True,
                           negative_probability=settings.negative_pair_probability)

    val_data = None
    if settings.val_data:
        val_data = pairs(settings.val_data, settings.seed + 10_000, settings.val_batches * settings.batch_size)
    return Recipe(
        name="arn",
        config=settings,
        build_model=functools.partial(_build_model, settings),
        train_data=pairs(settings.data, settings.seed, max(10_000, settings.steps * settings.batch_size)),
        val_data=val_data,
        compute_loss=functools.partial(compute_loss, settings=settings),
        parameter_groups=functools.partial(parameter_groups, backbone_lr_scale=settings.backbone_lr_scale),
        description=f"ARN offline training ({settings.variant})",
    )
