"""The ``rts-sta`` training recipe: STA, the box-to-mask network of RTS's box initialisation.

One frame per item, cropped around its box (search area 4, as pytracking's STA helper); the
network sees the crop and the box and predicts the mask twice (first and refined pass,
``StaNet.forward``); the loss is the Lovasz hinge on both, as the official STA is trained
for segmentation.

    trackerzoo train rts-sta --set data=vot:/work/data/train_seg/vot --out runs/rts_sta
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import torch
from torch import nn

from trackerzoo.training import CropSpec, Recipe, SequenceSampler, TrainConfig, apply_overrides
from trackerzoo.training.losses import lovasz_hinge_loss
from trackerzoo.training.recipe import datasets_from_spec
from trackerzoo_rts.model.sta import StaNet
from trackerzoo_rts.params import DEFAULT_VARIANT, MODEL_CONFIGS


@dataclasses.dataclass
class StaTrainSettings(TrainConfig):
    steps: int = 2000
    batch_size: int = 8
    optimizer: str = "adam"
    lr: float = 2e-4
    weight_decay: float = 0.0
    schedule: str = "cosine"
    grad_clip: float | None = 10.0
    checkpoint_every: int = 200

    variant: str = DEFAULT_VARIANT
    data: str = ""
    crop_height: int = 160
    crop_width: int = 256
    search_area_factor: float = 4.0  # pytracking rts50.py: sta_search_area_scale
    scale_jitter: float = 0.1
    center_jitter: float = 0.5
    freeze_backbone: bool = True

    def validate(self) -> None:
        super().validate()
        if self.variant not in MODEL_CONFIGS:
            raise ValueError(f"variant must be one of {', '.join(MODEL_CONFIGS)}, got {self.variant!r}")
        if not self.data:
            raise ValueError("set data=KIND:PATH (sequences with masks, e.g. vot:/work/data/train_seg/vot)")


def compute_loss(model: nn.Module, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
    """Lovasz hinge on the first and the refined mask of each crop."""
    crops, boxes, masks = batch["frames"][:, 0], batch["boxes"][:, 0].float(), batch["masks"][:, 0] > 0.5
    first, final = model(crops, boxes)
    loss = lovasz_hinge_loss(first, masks, per_image=False) + lovasz_hinge_loss(final, masks, per_image=False)
    with torch.no_grad():
        predicted = final > 0
        iou = ((predicted & masks).flatten(1).sum(1) / (predicted | masks).flatten(1).sum(1).clamp(min=1)).mean()
    return loss, {"iou": iou.item()}


def _build_model(settings: StaTrainSettings) -> StaNet:
    from trackerzoo.errors import WeightsNotFoundError

    config = MODEL_CONFIGS[settings.variant]
    try:
        network = StaNet(config, pretrained_backbone=True)
    except WeightsNotFoundError:
        network = StaNet(config, pretrained_backbone=False)
    if settings.freeze_backbone:
        network.feature_extractor.requires_grad_(False)
    return network.train()


def build_recipe(overrides: dict[str, Any]) -> Recipe:
    settings = apply_overrides(StaTrainSettings(), overrides)
    crop = CropSpec(output_size=(settings.crop_height, settings.crop_width), area_scale=settings.search_area_factor,
                    scale_jitter=settings.scale_jitter, center_jitter=settings.center_jitter)
    data = SequenceSampler(datasets_from_spec(settings.data), crop=crop, num_frames=1, seed=settings.seed,
                           length=max(10_000, settings.steps * settings.batch_size), masks=True)
    return Recipe(name="rts-sta", config=settings, build_model=functools.partial(_build_model, settings),
                  train_data=data, compute_loss=compute_loss,
                  description=f"STA box-to-mask training ({settings.variant})")
