"""The ``ibfp`` training recipe (``trackerzoo train ibfp --set data=KIND:PATH --out runs/ibfp``).

Sec. III-D and IV-A of the paper: the whole Siamese network is trained end to end on
template/search pairs with the focal hinge MSE on the centre map (Eq. 9, alpha 0.9,
gamma 0.1, tau 0.05, Gaussian labels) and the L1 loss on l, t, r, b at the anchor points
within 0.25 x the box's width/height of its centre (Eq. 10, Fig. 5b), Adam with the
learning rate multiplied by 0.2 at 1/4, 2/4 and 3/4 of the run after a warm-up of 1/12
of it (the paper: 60 epochs, x0.2 every 15, 5 warm-up epochs).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any

import torch
from torch import nn

from trackerzoo.labels import gaussian_center_labels
from trackerzoo.training import CropSpec, PairSampler, Recipe, TrainConfig, apply_overrides
from trackerzoo.training.losses.classification import focal_hinge_mse_loss
from trackerzoo.training.recipe import datasets_from_spec
from trackerzoo_ibfp.decode import SAMPLE_RULES, anchor_points, ltrb_targets, regression_sample_mask
from trackerzoo_ibfp.loading import build_network
from trackerzoo_ibfp.network import IbfpNet
from trackerzoo_ibfp.params import DEFAULT_VARIANT, MODEL_CONFIGS, IbfpParams


@dataclasses.dataclass
class IbfpTrainSettings(TrainConfig):
    """Training settings; the base fields (steps, lr, ...) are read by the generic trainer."""

    steps: int = 300
    batch_size: int = 8
    optimizer: str = "adam"  # paper: ADAM
    lr: float = 1e-3
    weight_decay: float = 1e-4
    schedule: str = "step"
    lr_gamma: float = 0.2  # paper: x0.2 every 15 of 60 epochs
    grad_clip: float | None = 10.0
    val_every: int = 100000
    checkpoint_every: int = 100
    checkpoint_minutes: float | None = 3.0
    log_every: int = 10

    variant: str = DEFAULT_VARIANT
    data: str = ""  # comma-separated dataset roots, "kind:path" (e.g. got10k:/data/train) or a synthetic path
    backbone_lr_scale: float = 0.1
    freeze_backbone: bool = True  # our CPU budget: the ImageNet backbone stays fixed
    init_weights: str = ""  # start from an IBFP weight file
    max_gap: int = 100
    negative_pair_probability: float = 0.1
    template_scale_jitter: float = 0.05
    template_center_jitter: float = 0.1
    search_scale_jitter: float = 0.25
    search_center_jitter: float = 1.5  # up to +-0.75 sqrt(w h): the target edge reaches the crop border
    # Eq. 9 (paper values)
    alpha: float = 0.9
    gamma: float = 0.1
    tau: float = 0.05
    label_sigma_factor: float = 0.1  # Gaussian label sigma, times sqrt(w h) (ours)
    # Eq. 10 and Table II: "ratio" with 0.25 (paper), 0.5 (all points in the box) or "distance" 24 / 36 px
    sample_rule: str = "ratio"
    sample_value: float = 0.25
    centre_weight: float = 1.0
    regression_weight: float = 1.0

    def validate(self) -> None:
        super().validate()
        if self.variant not in MODEL_CONFIGS:
            raise ValueError(f"variant must be one of {', '.join(MODEL_CONFIGS)}, got {self.variant!r}")
        if self.sample_rule not in SAMPLE_RULES:
            raise ValueError(f"sample_rule must be one of {SAMPLE_RULES}, got {self.sample_rule!r}")
        if not self.data:
            raise ValueError("set data=KIND:PATH (e.g. got10k:/work/data/train_seg/got10k) or a synthetic folder")


def crops(settings: IbfpTrainSettings, inference: IbfpParams) -> tuple[CropSpec, CropSpec]:
    """Template and search crops: both ``crop_size`` square with area ``area_factor`` x the target's."""
    side = math.sqrt(inference.area_factor)
    size = (inference.crop_size, inference.crop_size)
    template = CropSpec(output_size=size, area_scale=side, scale_jitter=settings.template_scale_jitter,
                        center_jitter=settings.template_center_jitter)
    search = CropSpec(output_size=size, area_scale=side, scale_jitter=settings.search_scale_jitter,
                      center_jitter=settings.search_center_jitter)
    return template, search


def ibfp_losses(centre: torch.Tensor, distances: torch.Tensor, boxes: torch.Tensor, positive: torch.Tensor,
                settings: IbfpTrainSettings, stride: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Centre loss (Eq. 9, summed over the map, averaged over pairs) and box loss (Eq. 10).

    ``centre`` ``[B, 1, H, W]``, ``distances`` ``[B, 4, H, W]`` (crop pixels), ``boxes``
    ``[B, 4]`` (x, y, w, h crop pixels), ``positive`` ``[B]`` bool (negative pairs have an
    all-zero label and no box samples). The L1 loss is in units of the stride.
    """
    batch, _, height, width = centre.shape
    labels = gaussian_center_labels(boxes, (height, width), stride, offset=stride / 2.0,
                                    sigma_factor=settings.label_sigma_factor)
    labels = labels * positive.to(labels.dtype)[:, None, None]
    centre_loss = focal_hinge_mse_loss(centre[:, 0], labels, settings.alpha, settings.gamma, settings.tau,
                                       reduction="sum") / batch
    points = anchor_points(height, stride, centre.device)
    samples = regression_sample_mask(points, boxes, settings.sample_rule, settings.sample_value)
    samples = samples & positive[:, None]
    targets = ltrb_targets(points, boxes)  # [B, 4, N]
    predicted = distances.reshape(batch, 4, -1)
    errors = (predicted - targets).abs().sum(dim=1) / stride  # [B, N]
    count = samples.sum().clamp_min(1)
    box_loss = (errors * samples).sum() / count
    return centre_loss, box_loss


def compute_loss(model: nn.Module, batch: dict[str, torch.Tensor], *, settings: IbfpTrainSettings,
                 stride: float) -> tuple[torch.Tensor, dict[str, float]]:
    centre, distances = model(batch["template"], batch["search"])
    positive = batch["positive"] > 0.5
    centre_loss, box_loss = ibfp_losses(centre, distances, batch["search_box"].float(), positive, settings, stride)
    total = settings.centre_weight * centre_loss + settings.regression_weight * box_loss
    return total, {"centre": centre_loss.item(), "box": box_loss.item()}


def parameter_groups(model: IbfpNet, *, backbone_lr_scale: float) -> list[dict[str, Any]]:
    backbone_ids = {id(p) for p in model.features.backbone.parameters()}
    backbone = [p for p in model.features.backbone.parameters() if p.requires_grad]
    rest = [p for p in model.parameters() if p.requires_grad and id(p) not in backbone_ids]
    groups: list[dict[str, Any]] = [{"params": rest}]
    if backbone:
        groups.append({"params": backbone, "lr_scale": backbone_lr_scale})
    return groups


def _build_model(settings: IbfpTrainSettings) -> IbfpNet:
    network = build_network(settings.variant, settings.init_weights or None, torch.device("cpu")).train()
    if settings.freeze_backbone:
        network.features.freeze_backbone()
    return network


def _with_paper_schedule(settings: IbfpTrainSettings) -> IbfpTrainSettings:
    """Milestones at 1/4, 2/4, 3/4 and warm-up 1/12 of ``steps`` unless set explicitly."""
    changes: dict[str, Any] = {}
    if not settings.lr_milestones:
        changes["lr_milestones"] = tuple(settings.steps * k // 4 for k in (1, 2, 3))
    if not settings.warmup_steps:
        changes["warmup_steps"] = settings.steps // 12
    return dataclasses.replace(settings, **changes) if changes else settings


def build_recipe(overrides: dict[str, Any]) -> Recipe:
    settings = _with_paper_schedule(apply_overrides(IbfpTrainSettings(), overrides))
    inference = IbfpParams()
    template, search = crops(settings, inference)
    train_data = PairSampler(
        datasets_from_spec(settings.data), template=template, search=search, max_gap=settings.max_gap,
        seed=settings.seed, length=max(10_000, settings.steps * settings.batch_size), masks=False,
        negative_probability=settings.negative_pair_probability,
    )
    stride = float(MODEL_CONFIGS[settings.variant].stride)
    return Recipe(
        name="ibfp",
        config=settings,
        build_model=functools.partial(_build_model, settings),
        train_data=train_data,
        compute_loss=functools.partial(compute_loss, settings=settings, stride=stride),
        parameter_groups=functools.partial(parameter_groups, backbone_lr_scale=settings.backbone_lr_scale),
        description=f"IBFP offline training ({settings.variant})",
    )
