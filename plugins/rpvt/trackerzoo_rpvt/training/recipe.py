"""The ``rpvt`` training recipe (``trackerzoo train rpvt --set data=vot:PATH --out runs/rpvt``).

As D3S trains its segmentation network (``ltr/train_settings/segm/segm_default.py``):
pairs of frames at most 50 apart; the reference (train) crop is centred on the target
without jitter and carries the ground-truth mask; the search (test) crop is jittered
(centre 1.5, scale 0.25); both are 4x the target size, 384 px in D3S (24x24 level-3 map; 256 px here, for the CPU). The
DCF channel is simulated as D3S does: the distance (px) of every crop pixel to the
target centre, moved uniformly by up to +-1/8 of the box. Loss: BCE with logits on the
two-channel (mask, 1 - mask) output; for the multi-stage pathways the three stage masks
are supervised too (deep supervision: mean of the final and the stage losses). Adam,
lr 1e-3, the backbone frozen (D3S: ``extractor_grad=False``). D3S's batch 64 x 40
epochs x 1000 iterations is scaled down for the CPU (batch 8, a few thousand steps).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from trackerzoo.training import CropSpec, PairSampler, Recipe, TrainConfig, apply_overrides
from trackerzoo.training.recipe import datasets_from_spec
from trackerzoo_rpvt.model.network import MODEL_CONFIGS, REFINEMENTS, RpvtNet, distance_map
from trackerzoo_rpvt.model.refinement import FUSIONS, CSCRRefinement


@dataclasses.dataclass
class RpvtTrainSettings(TrainConfig):
    """Training settings; base fields (steps, lr, ...) are read by the generic trainer."""

    steps: int = 3000
    batch_size: int = 4  # D3S: 64
    optimizer: str = "adam"  # D3S
    lr: float = 1e-3  # D3S
    weight_decay: float = 0.0
    schedule: str = "step"  # D3S: StepLR x0.2 every 15 of 40 epochs
    lr_milestones: tuple[int, ...] = (1500, 2500)
    lr_gamma: float = 0.2
    val_every: int = 500
    checkpoint_every: int = 200

    variant: str = "mobilenetv2"
    refinement: str = "cscr"
    attention: bool = True
    fusion: str = "weighted"
    data: str = ""  # comma-separated "kind:path" roots with masks (e.g. vot:/work/data/train_seg/vot)
    val_data: str = ""
    crop_size: int = 256  # D3S: 384 = 24 * 16; 256 (16 x 16 level-3 map) to fit the CPU
    search_area_factor: float = 4.0  # D3S
    max_gap: int = 50  # D3S
    center_jitter: float = 1.5  # D3S test-frame jitter
    scale_jitter: float = 0.25
    location_jitter: float = 0.25  # D3S: centre moved by 0.25 * (w, h) * U(-0.5, 0.5)
    deep_supervision: bool = True
    init_weights: str = ""

    def validate(self) -> None:
        super().validate()
        if self.variant not in MODEL_CONFIGS:
            raise ValueError(f"variant must be one of {', '.join(MODEL_CONFIGS)}, got {self.variant!r}")
        if self.refinement not in REFINEMENTS:
            raise ValueError(f"refinement must be one of {REFINEMENTS}, got {self.refinement!r}")
        if self.fusion not in FUSIONS:
            raise ValueError(f"fusion must be one of {FUSIONS}, got {self.fusion!r}")
        if self.crop_size % 16:
            raise ValueError(f"crop_size must be a multiple of 16, got {self.crop_size!r}")
        if not self.data:
            raise ValueError("set data=KIND:PATH (a dataset with masks, e.g. vot:/work/data/train_seg/vot)")


def mask_bce(logits: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """D3S's loss: ``BCEWithLogits`` of logits [B, 2, H, W] against (mask, 1 - mask)."""
    return F.binary_cross_entropy_with_logits(logits, torch.cat((masks, 1.0 - masks), dim=1))


def compute_loss(model: nn.Module, batch: dict[str, torch.Tensor], *, settings: RpvtTrainSettings,
                 generator: torch.Generator | None = None) -> tuple[torch.Tensor, dict[str, float]]:
    """Loss of one batch of pairs (see the module docstring)."""
    box = batch["search_box"].float()
    offset = (torch.rand(box.shape[0], 2, generator=generator) - 0.5) * settings.location_jitter
    centers = box[:, :2] + box[:, 2:] / 2 + offset.to(box) * box[:, 2:]
    location = distance_map(tuple(batch["search"].shape[-2:]), centers)
    masks = (batch["search_mask"].float() > 0.5).float()
    out = model(batch["template"], (batch["template_mask"].float() > 0.5).float(), batch["search"], location)
    final = mask_bce(out["logits"], masks)
    stats = {"final": final.item()}
    loss = final
    if settings.deep_supervision and len(out["stages"]) > 1:
        stage_losses = [mask_bce(s, masks) for s in out["stages"]]
        loss = (final + sum(stage_losses)) / (1 + len(stage_losses))
        stats.update({f"stage{i + 1}": s.item() for i, s in enumerate(stage_losses)})
    with torch.no_grad():
        pred = out["logits"][:, :1] > out["logits"][:, 1:]
        inter = (pred & (masks > 0.5)).flatten(1).sum(1).float()
        union = (pred | (masks > 0.5)).flatten(1).sum(1).float().clamp(min=1)
        stats["iou"] = (inter / union).mean().item()
    return loss, stats


def _build_model(settings: RpvtTrainSettings) -> RpvtNet:
    from trackerzoo.weights import load_into

    model = RpvtNet(MODEL_CONFIGS[settings.variant], settings.refinement, attention=settings.attention,
                    fusion=settings.fusion, pretrained_backbone=not settings.init_weights)
    if settings.init_weights:
        load_into(model, settings.init_weights)
    return model.train()


def parameter_groups(model: RpvtNet) -> list[dict[str, Any]]:
    """Only the head trains (D3S optimises ``segm_predictor.parameters()``)."""
    return [{"params": [p for n, p in model.named_parameters() if not n.startswith("backbone.")]}]


def build_recipe(overrides: dict[str, Any]) -> Recipe:
    settings = apply_overrides(RpvtTrainSettings(), overrides)
    size = (settings.crop_size, settings.crop_size)
    reference = CropSpec(output_size=size, area_scale=settings.search_area_factor)
    search = CropSpec(output_size=size, area_scale=settings.search_area_factor,
                      scale_jitter=settings.scale_jitter, center_jitter=settings.center_jitter)

    def pairs(spec: str, seed: int, length: int) -> PairSampler:
        return PairSampler(datasets_from_spec(spec, bare_kind="vot"), template=reference, search=search,
                           max_gap=settings.max_gap, seed=seed, length=length, masks=True)

    val_data = None
    if settings.val_data:
        val_data = pairs(settings.val_data, settings.seed + 10_000, settings.val_batches * settings.batch_size)
    return Recipe(
        name="rpvt",
        config=settings,
        build_model=functools.partial(_build_model, settings),
        train_data=pairs(settings.data, settings.seed, max(10_000, settings.steps * settings.batch_size)),
        val_data=val_data,
        compute_loss=functools.partial(compute_loss, settings=settings),
        parameter_groups=parameter_groups,
        description=f"RPVT segmentation network ({settings.variant}, {settings.refinement})",
    )


def calibrate_threshold(model: RpvtNet, threshold: float) -> float:
    """Shift the final background logit so that P(fg) > 0.5 means what P(fg) > ``threshold`` meant.

    A briefly trained network over-estimates the foreground; the threshold that fits the
    training pairs best is then well above 0.5. Rather than change the tracker's 0.5 (D3S's
    value), the shift ``logit(threshold)`` is folded into the weights: into the last BatchNorm
    bias of the final stage (divided by that stage's fusion weight), so the final logits move
    by exactly that amount and the stage masks used as attention stay as they were. For the
    ``"d3s"`` pathway it goes into ``post0``'s bias. Returns the shift.

    Raises:
        ValueError: ``threshold`` outside (0, 1).
    """
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"threshold must be in (0, 1), got {threshold!r}")
    shift = math.log(threshold / (1.0 - threshold))
    refinement = model.refinement
    with torch.no_grad():
        if isinstance(refinement, CSCRRefinement):
            last = refinement.fusion == "last"
            scale = 1.0 if last else float(torch.softmax(refinement.stage_weights, dim=0)[-1])
            refinement.head[-1][1].bias[1] += shift / scale
        else:
            refinement.post0[1].bias[1] += shift
    return shift
