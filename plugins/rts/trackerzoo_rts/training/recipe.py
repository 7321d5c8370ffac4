"""The ``rts`` training recipe (``trackerzoo train rts --set data=vot:DATA/vot --out runs/rts``).

Sequence training of Sec. 3.5: clips of J frames (sorted in time) from sequences with
exact masks; frame 0 trains the segmentation and instance models, frames 1..J-1 are
segmented with the segmentation model refined along the clip (Eq. 3, Lovasz hinge),
and the instance model's iterates are scored on them (Eq. 4, DiMP hinge averaged over
iterates). Loss = L_s + eta * L_c (Eq. 5, eta = 10). Adam as in the paper; the
backbone can be frozen (a CPU budget) or trained at a tenth of the head rate.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import torch
from torch import nn

from trackerzoo.labels import gaussian_center_labels
from trackerzoo.training import CropSpec, Recipe, SequenceSampler, TrainConfig, apply_overrides
from trackerzoo.training.losses import dimp_hinge_loss, lovasz_hinge_loss
from trackerzoo.training.recipe import datasets_from_spec
from trackerzoo_rts.loading import build_network
from trackerzoo_rts.model.network import RtsNet
from trackerzoo_rts.params import DEFAULT_VARIANT, MODEL_CONFIGS


@dataclasses.dataclass
class RtsTrainSettings(TrainConfig):
    """Training settings; base fields (steps, lr, ...) are read by the generic trainer."""

    steps: int = 4000
    batch_size: int = 4
    optimizer: str = "adam"
    lr: float = 2e-4  # official head rate (rts50.py: 2e-4 instance parts, 8e-5 segmentation parts)
    weight_decay: float = 0.0
    schedule: str = "cosine"
    final_lr_factor: float = 0.1
    warmup_steps: int = 100
    grad_clip: float | None = 10.0
    val_every: int = 500
    checkpoint_every: int = 200

    variant: str = DEFAULT_VARIANT
    data: str = ""  # comma-separated "kind:path" (e.g. vot:/data/train_seg/vot) or synthetic paths
    val_data: str = ""
    num_frames: int = 4  # J (official: 1 train + 3 test frames)
    max_gap: int = 100
    crop_height: int = 160
    crop_width: int = 256
    search_area_factor: float = 5.0  # official training value
    scale_jitter: float = 0.25
    center_jitter: float = 1.5
    label_sigma_factor: float = 0.25
    eta: float = 10.0  # Eq. 5
    refinement_iters: int = 2  # segmentation updates along the clip (official num_refinement_iter)
    conditioning: bool = True  # False: the "without instance conditioning" ablation (Table 1)
    freeze_backbone: bool = True
    backbone_lr_scale: float = 0.1
    init_weights: str = ""

    def validate(self) -> None:
        super().validate()
        if self.variant not in MODEL_CONFIGS:
            raise ValueError(f"variant must be one of {', '.join(MODEL_CONFIGS)}, got {self.variant!r}")
        if not self.data:
            raise ValueError("set data=KIND:PATH (e.g. vot:DATA/vot of a make-dataset output; sequences need masks)")
        if self.num_frames < 2:
            raise ValueError(f"num_frames must be >= 2, got {self.num_frames}")
        if self.crop_height % 32 or self.crop_width % 32:
            raise ValueError(f"crop size must be multiples of 32, got {self.crop_height}x{self.crop_width}")


def instance_labels(boxes: torch.Tensor, crop_height: int, crop_width: int, sigma_factor: float) -> torch.Tensor:
    """Gaussian labels ``[B, J, 1, H/32 + 1, W/32 + 1]`` at the box centres (``boxes [B, J, 4]`` crop px)."""
    size = (crop_height // 32 + 1, crop_width // 32 + 1)
    flat = gaussian_center_labels(boxes.reshape(-1, 4), size, 32.0, sigma_factor=sigma_factor)
    return flat.reshape(*boxes.shape[:2], 1, *size).to(boxes.device)


def compute_loss(model: nn.Module, batch: dict[str, torch.Tensor], *,
                 settings: RtsTrainSettings) -> tuple[torch.Tensor, dict[str, float]]:
    """Eq. 5 on one batch of clips; logs L_s, L_c and the mean IoU of the predicted masks."""
    frames, boxes, masks = batch["frames"], batch["boxes"].float(), batch["masks"].float()
    labels = instance_labels(boxes, settings.crop_height, settings.crop_width, settings.label_sigma_factor)
    outputs = model(frames, boxes, masks, labels, refinement_iters=settings.refinement_iters,
                    conditioning=settings.conditioning)
    truth = masks[:, 1:]
    segmentation = lovasz_hinge_loss(outputs.mask_logits.reshape(-1, *truth.shape[-2:]),
                                     (truth > 0.5).reshape(-1, *truth.shape[-2:]), per_image=False)
    test_labels = labels[:, 1:]
    classification = torch.stack([dimp_hinge_loss(scores, test_labels) for scores in outputs.instance_scores]).mean()
    total = segmentation + settings.eta * classification
    with torch.no_grad():
        predicted = outputs.mask_logits > 0
        target = truth > 0.5
        union = (predicted | target).flatten(2).sum(-1).clamp(min=1)
        iou = ((predicted & target).flatten(2).sum(-1) / union).mean()
    return total, {"seg": segmentation.detach().item(), "clf": classification.detach().item(), "iou": iou.item()}


def parameter_groups(model: RtsNet, *, backbone_lr_scale: float) -> list[dict[str, Any]]:
    backbone_ids = {id(p) for p in model.feature_extractor.parameters()}
    heads = [p for p in model.parameters() if p.requires_grad and id(p) not in backbone_ids]
    backbone = [p for p in model.feature_extractor.parameters() if p.requires_grad]
    groups: list[dict[str, Any]] = [{"params": heads}]
    if backbone:
        groups.append({"params": backbone, "lr_scale": backbone_lr_scale})
    return groups


def _build_model(settings: RtsTrainSettings) -> RtsNet:
    network = build_network(settings.variant, settings.init_weights or None, torch.device("cpu")).train()
    if settings.freeze_backbone:
        network.feature_extractor.requires_grad_(False)
    return network


def build_recipe(overrides: dict[str, Any]) -> Recipe:
    settings = apply_overrides(RtsTrainSettings(), overrides)
    crop = CropSpec(output_size=(settings.crop_height, settings.crop_width), area_scale=settings.search_area_factor,
                    scale_jitter=settings.scale_jitter, center_jitter=settings.center_jitter,
                    border_mode="inside_major")

    def clips(spec: str, seed: int, length: int) -> SequenceSampler:
        return SequenceSampler(datasets_from_spec(spec), crop=crop, num_frames=settings.num_frames,
                               max_gap=settings.max_gap, seed=seed, length=length, masks=True)

    val_data = None
    if settings.val_data:
        val_data = clips(settings.val_data, settings.seed + 10_000, settings.val_batches * settings.batch_size)
    return Recipe(
        name="rts",
        config=settings,
        build_model=functools.partial(_build_model, settings),
        train_data=clips(settings.data, settings.seed, max(10_000, settings.steps * settings.batch_size)),
        val_data=val_data,
        compute_loss=functools.partial(compute_loss, settings=settings),
        parameter_groups=functools.partial(parameter_groups, backbone_lr_scale=settings.backbone_lr_scale),
        description=f"RTS sequence training ({settings.variant})",
    )
