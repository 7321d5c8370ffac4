"""The ``cract`` training recipe (``trackerzoo train cract --set data=... --out runs/cract``).

Offline part of section 3.4: the Siamese RPN, the CRAC box regression and the
identifier are trained end to end on template/search pairs with
``L = l_rpn + l_reg + l_ide``. The paper trains with SGD (lr 1e-2, weight decay 1e-4,
50 epochs) on LaSOT, TrackingNet, GOT-10k and COCO; here the data are composited
sequences (``trackerzoo make-dataset``), and the backbone is ImageNet-initialised and
trained at a tenth of the learning rate, as in SiamRPN++.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import torch
from torch import nn

from trackerzoo.geometry import xywh_to_cxcywh
from trackerzoo.training import CropSpec, PairSampler, Recipe, TrainConfig, apply_overrides
from trackerzoo.training.recipe import datasets_from_spec
from trackerzoo_cract.loading import build_network
from trackerzoo_cract.model import CractNet
from trackerzoo_cract.params import DEFAULT_VARIANT, MODEL_CONFIGS, CractParams
from trackerzoo_cract.training.losses import crac_losses, rpn_losses
from trackerzoo_cract.training.targets import ProposalSampling, SamplingRules, anchor_targets


@dataclasses.dataclass
class CractTrainSettings(TrainConfig):
    """Training settings; the base fields (steps, lr, ...) are read by the generic trainer."""

    steps: int = 20000
    batch_size: int = 16
    optimizer: str = "sgd"
    lr: float = 1e-2  # paper
    weight_decay: float = 1e-4  # paper ("decay of 1e-4")
    momentum: float = 0.9
    schedule: str = "cosine"
    final_lr_factor: float = 0.05
    warmup_steps: int = 500
    grad_clip: float | None = 10.0
    val_every: int = 500
    checkpoint_every: int = 500

    variant: str = DEFAULT_VARIANT
    data: str = ""  # comma-separated dataset roots, "kind:path" or a path (kind synthetic)
    val_data: str = ""  # same form; empty = no validation
    backbone_lr_scale: float = 0.1
    freeze_backbone: bool = False  # keep the ImageNet backbone fixed (SiamRPN++ does for its first epochs)
    init_weights: str = ""  # start from this CRACT weight file (e.g. a shorter run's model.safetensors)
    # Ablation (paper Table 7): False trains "parallel" refinement, the identifier seeing the
    # unaligned proposal features; track such weights with align_features=False too.
    align_features: bool = True
    max_gap: int = 100  # frames between template and search
    negative_pair_probability: float = 0.2  # SiamRPN++: search crop from another sequence
    template_scale_jitter: float = 0.05
    template_center_jitter: float = 0.125
    search_scale_jitter: float = 0.18
    search_center_jitter: float = 2.0  # about +-64 px in the 255 crop, SiamRPN++'s shift
    rpn_classification_weight: float = 1.0
    rpn_regression_weight: float = 1.0
    regression_weight: float = 1.0
    identification_weight: float = 1.0

    def validate(self) -> None:
        super().validate()
        if self.variant not in MODEL_CONFIGS:
            raise ValueError(f"variant must be one of {', '.join(MODEL_CONFIGS)}, got {self.variant!r}")
        if not self.data:
            raise ValueError(
                "set data=PATH (a folder made by `trackerzoo make-dataset`, or kind:PATH for another layout)"
            )


def _crops(settings: CractTrainSettings, inference: CractParams) -> tuple[CropSpec, CropSpec]:
    template = CropSpec(
        output_size=(inference.template_size, inference.template_size), area_scale=1.0,
        context_amount=inference.context_amount, scale_jitter=settings.template_scale_jitter,
        center_jitter=settings.template_center_jitter,
    )
    search = CropSpec(
        output_size=(inference.search_size, inference.search_size),
        area_scale=inference.search_size / inference.template_size, context_amount=inference.context_amount,
        scale_jitter=settings.search_scale_jitter, center_jitter=settings.search_center_jitter,
    )
    return template, search


def compute_loss(model: nn.Module, batch: dict[str, torch.Tensor], *, settings: CractTrainSettings,
                 rules: SamplingRules) -> tuple[torch.Tensor, dict[str, float]]:
    template_boxes = xywh_to_cxcywh(batch["template_box"].float())
    search_boxes = xywh_to_cxcywh(batch["search_box"].float())
    positive = batch["positive"] > 0.5
    sampler = ProposalSampling(search_boxes, positive, float(batch["search"].shape[-1]), rules)
    outputs = model(batch["template"], template_boxes, batch["search"], sampler, align=settings.align_features)
    targets = anchor_targets(outputs.anchors, search_boxes, positive, rules)
    rpn_classification, rpn_regression = rpn_losses(outputs, targets)
    regression, identification, accuracy = crac_losses(outputs, search_boxes, positive, rules.proposal_iou)
    total = (
        settings.rpn_classification_weight * rpn_classification
        + settings.rpn_regression_weight * rpn_regression
        + settings.regression_weight * regression
        + settings.identification_weight * identification
    )
    return total, {
        "rpn_cls": rpn_classification.item(), "rpn_loc": rpn_regression.item(), "reg": regression.item(),
        "ide": identification.item(), "ide_acc": accuracy,
    }


def parameter_groups(model: CractNet, *, backbone_lr_scale: float) -> list[dict[str, Any]]:
    backbone = [p for p in model.features.backbone.parameters() if p.requires_grad]
    backbone_ids = {id(p) for p in model.features.backbone.parameters()}
    heads = [p for p in model.parameters() if p.requires_grad and id(p) not in backbone_ids]
    groups: list[dict[str, Any]] = [{"params": heads}]
    if backbone:
        groups.append({"params": backbone, "lr_scale": backbone_lr_scale})
    return groups


def _build_model(settings: CractTrainSettings) -> CractNet:
    weights = settings.init_weights or None
    network = build_network(settings.variant, weights, torch.device("cpu")).train()
    if settings.freeze_backbone:
        network.features.backbone.requires_grad_(False)
    return network


def build_recipe(overrides: dict[str, Any]) -> Recipe:
    settings = apply_overrides(CractTrainSettings(), overrides)
    inference = CractParams()
    template, search = _crops(settings, inference)
    rules = SamplingRules()

    def pairs(spec: str, seed: int, length: int) -> PairSampler:
        return PairSampler(
            datasets_from_spec(spec), template=template, search=search, max_gap=settings.max_gap, seed=seed,
            length=length, masks=False, negative_probability=settings.negative_pair_probability,
        )

    val_data = None
    if settings.val_data:
        val_data = pairs(settings.val_data, settings.seed + 10_000, settings.val_batches * settings.batch_size)
    return Recipe(
        name="cract",
        config=settings,
        build_model=functools.partial(_build_model, settings),
        train_data=pairs(settings.data, settings.seed, max(10_000, settings.steps * settings.batch_size)),
        val_data=val_data,
        compute_loss=functools.partial(compute_loss, settings=settings, rules=rules),
        parameter_groups=functools.partial(parameter_groups, backbone_lr_scale=settings.backbone_lr_scale),
        description=f"CRACT offline training ({settings.variant})",
    )
