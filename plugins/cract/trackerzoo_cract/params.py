"""Hyper-parameters of CRACT, as plain numbers.

Two kinds live here. ``CractParams`` holds what a user may override through
``trackerzoo.create("cract", **params)``: the inference settings of the paper (N, alpha,
beta, K, sample counts) and the SiamRPN++ search/penalty settings the paper inherits.
``ModelConfig`` holds the architecture of one variant; it is fixed by the weights file,
so it is chosen by ``variant`` and not overridable per call.
"""

from __future__ import annotations

import dataclasses
import typing

from trackerzoo.training.config import convert_value
from trackerzoo_cract.online.augmentation import parse_views


@dataclasses.dataclass
class CractParams:
    """Inference settings; sources in the comments (paper = CRACT, notes = SiamRPN++ code)."""

    # Search region (SiamRPN++): exemplar 127, search 255, context margin 0.5 * (w + h).
    template_size: int = 127
    search_size: int = 255
    context_amount: float = 0.5
    # Proposal stage: N = 10 proposals after NMS (paper).
    num_proposals: int = 10
    pre_nms_top_k: int = 60  # our choice: anchors kept before NMS
    nms_iou: float = 0.6  # our choice: the paper does not give the NMS threshold
    proposal_window_influence: float = 0.0  # cosine window when picking the N proposals (README: none)
    # SiamRPN++ penalties and smoothing (notes, section 2).
    penalty_k: float = 0.05
    window_influence: float = 0.42
    lr: float = 0.38
    min_target_size: float = 10.0  # pixels; keeps the box from collapsing
    # Score fusion (paper, Eqs. 9 and 10).
    alpha: float = 0.4
    beta: float = 0.8
    use_discriminator: bool = True  # ablation switch: False scores proposals by the identifier only
    align_features: bool = True  # ablation switch: False classifies the unaligned proposal features
    # Online discriminator (paper, section 3.4; optimiser settings from ATOM, notes section 2).
    update_interval: int = 10  # K
    init_positives: int = 200
    init_negatives: int = 1000
    # Side of the first-frame sampling region, in search regions. MDNet draws half of its
    # first-frame negatives from the whole image, so that the other objects of the scene
    # (the distractors the target will later meet) are known as background from the
    # start; 1.0 restricts the negatives to the search region.
    init_region_factor: float = 2.0
    # Augmented copies of the first-frame region that share the first fit's samples
    # (ATOM): comma-separated from "flip" (mirror image) and "blur" (three Gaussian blurs).
    # Off: "flip,blur" scored zoo-synth-val AUC 0.517 against 0.526 without (stage-2 weights).
    init_augmentations: str = ""
    # First-frame hard negatives (paper: hard negative mining "by increasing the number of
    # similar distractors in negative samples", given for the updates): up to this many of
    # the 1000 first-frame negatives are jittered copies of the RPN's distractor proposals
    # in the first-frame region (never more than half of them: the rest stay random
    # background boxes). Off: 250 scored zoo-synth-val AUC 0.515 against 0.526 without
    # (stage-2 weights).
    init_distractor_negatives: int = 0
    update_positives: int = 50
    update_negatives: int = 200
    positive_iou: float = 0.7  # sampled box counts as positive above this IoU (MDNet rule)
    negative_iou: float = 0.3  # ... and as negative below this one
    hard_negative_pool: int = 4  # candidate negatives drawn per kept negative for hard mining
    # lambda of Eq. 8 for the fc layers. ATOM's 0.1 regularises a filter whose data term sums
    # over a whole score map (~300 residuals per sample); D has one residual per sample, and
    # with 0.1 its first-frame fit collapsed to the trivial all-zero scorer (positives scored
    # below the negatives). 0.01 separates held-out first-frame samples (0.93 vs 0.02, stage-2 weights).
    discriminator_reg: float = 0.01
    discriminator_conv_reg: float = 1e-4  # ... for the conv layer (ATOM projection regularisation)
    init_gauss_newton_iters: int = 6
    init_cg_iters: int = 10
    update_cg_iters: int = 5
    long_term_frames: int = 100  # positives kept this many frames (MDNet long-term memory)
    short_term_frames: int = 20  # negatives kept this many frames (MDNet short-term memory)
    confident_score: float = 0.5  # collect samples only when the fused score s~ reaches this
    seed: int = 0  # random source of the online sampling and of random initial weights (deterministic tracking)
    ops_backend: str = "auto"  # backend of trackerzoo.ops: "auto", "torch", "cpu" or "cuda"

    def __post_init__(self) -> None:
        # Values typed on a command line arrive as text ("false", "0.3"): convert them to
        # the field's type, so that "false" cannot silently mean True.
        hints = typing.get_type_hints(type(self))
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if hints[field.name] is not str and isinstance(value, str):
                setattr(self, field.name, convert_value(field.name, value, hints[field.name]))
            elif hints[field.name] is bool and not isinstance(value, bool):
                raise ValueError(f"{field.name} must be true or false, got {value!r}")
        for name in ("alpha", "beta", "window_influence", "proposal_window_influence", "lr", "positive_iou",
                     "negative_iou", "nms_iou"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must lie in [0, 1], got {value!r}")
        for name in ("num_proposals", "update_interval", "init_positives", "init_negatives",
                     "update_positives", "update_negatives", "template_size", "search_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        parse_views(self.init_augmentations)  # raises ValueError naming an unknown view
        if not isinstance(self.init_distractor_negatives, int) or self.init_distractor_negatives < 0:
            raise ValueError(f"init_distractor_negatives must be a non-negative integer, "
                             f"got {self.init_distractor_negatives!r}")
        if not 1.0 <= self.init_region_factor <= 4.0:
            raise ValueError(f"init_region_factor must lie in [1, 4], got {self.init_region_factor!r}")
        if self.search_size <= self.template_size:
            raise ValueError(f"search_size ({self.search_size}) must exceed template_size ({self.template_size})")
        if self.ops_backend not in ("auto", "torch", "cpu", "cuda"):
            raise ValueError(f"ops_backend must be 'auto', 'torch', 'cpu' or 'cuda', got {self.ops_backend!r}")


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """Architecture of one variant (fixed by its weights)."""

    backbone: str
    block3: str  # backbone output used as phi_3
    block4: str  # backbone output used as phi_4
    neck_channels: int  # phi_4 adjusted for the RPN
    fused_channels: int  # phi_34
    head_conv_channels: int  # width of the single conv of the regression / identification heads
    head_hidden: int  # width of their fc layers
    discriminator_conv_channels: int
    discriminator_hidden: int
    template_feature_size: int = 7  # centre crop of the template map used as correlation kernel
    stride: int = 8
    anchor_ratios: tuple[float, ...] = (0.33, 0.5, 1.0, 2.0, 3.0)
    anchor_scales: tuple[float, ...] = (8.0,)
    pyramid_levels: tuple[int, ...] = (6, 3, 1)

    @property
    def num_anchors(self) -> int:
        return len(self.anchor_ratios) * len(self.anchor_scales)


_MOBILENETV2 = ModelConfig(
    backbone="mobilenetv2", block3="stride8", block4="stride16",
    neck_channels=128, fused_channels=128, head_conv_channels=64, head_hidden=256,
    discriminator_conv_channels=8, discriminator_hidden=32,
)

MODEL_CONFIGS: dict[str, ModelConfig] = {
    # Our default: MobileNetV2 (dilated, stride 8), narrower heads so that it trains on a CPU.
    "mobilenetv2": _MOBILENETV2,
    # The paper's backbone: ResNet-18, layer3 and layer4 dilated to stride 8.
    "r18": ModelConfig(
        backbone="resnet18", block3="layer3", block4="layer4",
        neck_channels=256, fused_channels=256, head_conv_channels=128, head_hidden=256,
        discriminator_conv_channels=8, discriminator_hidden=32,
    ),
    # Ablation (paper Table 7, "PRoIAlign"): one 6x6 RoIAlign level instead of the 6/3/1 pyramid.
    # No shipped weights: trained only to measure what the pyramid brings.
    "mobilenetv2-single-level": dataclasses.replace(_MOBILENETV2, pyramid_levels=(6,)),
}

# The name under which the plugin registers the tracker; weights/manifest.json entries of
# this tracker carry it, and ``trackerzoo_cract.loading`` asks the manifest with it.
TRACKER_NAME = "cract"
# The one statement of the default variant: the registration (hooks.py), the tracker's
# constructor and the training recipe all use it. Which variants have shipped weights,
# and in which file, only weights/manifest.json says.
DEFAULT_VARIANT = "mobilenetv2"
