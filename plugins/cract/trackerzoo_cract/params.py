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
from typing import ClassVar

from trackerzoo.params import Relation, param, validate_params
from trackerzoo.training.config import convert_value
from trackerzoo_cract.online.augmentation import VIEW_NAMES, parse_views


def _check_views(text: str) -> None:
    parse_views(text)  # raises ValueError naming an unknown view


@dataclasses.dataclass
class CractParams:
    """Inference settings; sources in the comments (paper = CRACT, notes = SiamRPN++ code).

    Every field is declared with ``trackerzoo.params.param`` (type, default, valid range,
    meaning) and checked, with the ``relations`` below, when the dataclass is built:
    ``trackerzoo list --params cract`` prints the table.
    """

    # Search region (SiamRPN++): exemplar 127, search 255, context margin 0.5 * (w + h).
    template_size: int = param(127, low=64, high=511, help="side of the exemplar crop z, pixels")
    search_size: int = param(255, low=96, high=1023, help="side of the search crop x, pixels")
    context_amount: float = param(0.5, low=0.0, high=2.0,
                                  help="context margin added to the target, as a fraction of w + h")
    # Proposal stage: N = 10 proposals after NMS (paper).
    num_proposals: int = param(10, low=1, high=1000, help="N: proposals kept after NMS and refined by CRAC")
    # our choice: anchors kept before NMS
    pre_nms_top_k: int = param(60, low=1, high=100000, help="anchors ranked by the RPN kept before NMS")
    # our choice: the paper does not give the NMS threshold
    nms_iou: float = param(0.6, low=0.0, high=1.0, low_open=True, help="IoU above which NMS drops a proposal")
    # cosine window when picking the N proposals (README: none)
    proposal_window_influence: float = param(0.0, low=0.0, high=1.0,
                                             help="weight of the cosine window when picking the N proposals")
    # SiamRPN++ penalties and smoothing (notes, section 2).
    penalty_k: float = param(0.05, low=0.0, high=10.0, help="strength of the size/aspect change penalty")
    window_influence: float = param(0.42, low=0.0, high=1.0, help="weight of the cosine window in the final ranking")
    lr: float = param(0.38, low=0.0, high=1.0, help="rate at which the box size follows the chosen proposal")
    # pixels; keeps the box from collapsing
    min_target_size: float = param(10.0, low=1.0, high=10000.0, help="smallest box side tracked, pixels")
    # Score fusion (paper, Eqs. 9 and 10).
    alpha: float = param(0.4, low=0.0, high=1.0, help="alpha of Eq. 9: identifier weight against the discriminator")
    beta: float = param(0.8, low=0.0, high=1.0, help="beta of Eq. 10: classification weight against the RPN score")
    # ablation switch: False scores proposals by the identifier only
    use_discriminator: bool = param(True, help="use the online discriminator (False: identifier only)")
    # ablation switch: False classifies the unaligned proposal features
    align_features: bool = param(True, help="classify the aligned proposal features (False: unaligned)")
    # Online discriminator (paper, section 3.4; optimiser settings from ATOM, notes section 2).
    update_interval: int = param(10, low=1, high=100000, help="K: frames between online updates")
    # At least one sample of each kind per first-frame view (up to 5: image, flip, 3 blurs).
    init_positives: int = param(200, low=5, high=100000, help="positive samples of the first-frame fit")
    init_negatives: int = param(1000, low=5, high=100000, help="negative samples of the first-frame fit")
    # Side of the first-frame sampling region, in search regions. MDNet draws half of its
    # first-frame negatives from the whole image, so that the other objects of the scene
    # (the distractors the target will later meet) are known as background from the
    # start; 1.0 restricts the negatives to the search region.
    init_region_factor: float = param(2.0, low=1.0, high=4.0,
                                      help="side of the first-frame sampling region, in search regions")
    # Augmented copies of the first-frame region that share the first fit's samples
    # (ATOM): comma-separated from "flip" (mirror image) and "blur" (three Gaussian blurs).
    # Off: "flip,blur" scored zoo-synth-val AUC 0.517 against 0.526 without (stage-2 weights).
    init_augmentations: str = param("", check=_check_views,
                                    valid="comma-separated subset of " + ", ".join(VIEW_NAMES) + " (or empty)",
                                    help="augmented first-frame views sharing the first fit's samples")
    # First-frame hard negatives (paper: hard negative mining "by increasing the number of
    # similar distractors in negative samples", given for the updates): up to this many of
    # the 1000 first-frame negatives are jittered copies of the RPN's distractor proposals
    # in the first-frame region (never more than half of them: the rest stay random
    # background boxes). Off: 250 scored zoo-synth-val AUC 0.515 against 0.526 without
    # (stage-2 weights).
    init_distractor_negatives: int = param(0, low=0, high=100000,
                                           help="first-frame negatives drawn on the RPN's distractor proposals")
    update_positives: int = param(50, low=1, high=100000, help="positive samples per online update")
    update_negatives: int = param(200, low=1, high=100000, help="negative samples per online update")
    # sampled box counts as positive above this IoU (MDNet rule) ... and as negative below the other.
    # Above 0.9 the jittered positives (sampling.py) almost never qualify: 0.99 ran out of draws.
    positive_iou: float = param(0.7, low=0.0, high=0.9, low_open=True,
                                help="IoU with the target above which a sampled box is a positive")
    negative_iou: float = param(0.3, low=0.0, high=1.0, low_open=True, high_open=True,
                                help="IoU with the target below which a sampled box is a negative")
    hard_negative_pool: int = param(4, low=1, high=100,
                                    help="candidate negatives drawn per kept negative (hard mining)")
    # lambda of Eq. 8 for the fc layers. ATOM's 0.1 regularises a filter whose data term sums
    # over a whole score map (~300 residuals per sample); D has one residual per sample, and
    # with 0.1 its first-frame fit collapsed to the trivial all-zero scorer (positives scored
    # below the negatives). 0.01 separates held-out first-frame samples (0.93 vs 0.02, stage-2 weights).
    discriminator_reg: float = param(0.01, low=0.0, high=100.0, low_open=True,
                                     help="lambda of Eq. 8 for the discriminator's fc layers")
    # ... for the conv layer (ATOM projection regularisation)
    discriminator_conv_reg: float = param(1e-4, low=0.0, high=100.0, low_open=True,
                                          help="regularisation of the discriminator's conv layer")
    init_gauss_newton_iters: int = param(6, low=1, high=100, help="Gauss-Newton steps of the first-frame fit")
    init_cg_iters: int = param(10, low=1, high=1000, help="conjugate-gradient steps per Gauss-Newton step (first fit)")
    update_cg_iters: int = param(5, low=1, high=1000, help="conjugate-gradient steps per online update")
    # positives kept this many frames (MDNet long-term memory)
    long_term_frames: int = param(100, low=1, high=1000000, help="frames a positive sample is kept (long-term)")
    # negatives kept this many frames (MDNet short-term memory)
    short_term_frames: int = param(20, low=1, high=1000000, help="frames a negative sample is kept (short-term)")
    # collect samples only when the fused score s~ reaches this
    confident_score: float = param(0.5, low=0.0, high=1.0, help="fused score from which a frame's samples are kept")
    # random source of the online sampling (deterministic tracking)
    seed: int = param(0, low=0, high=2**63 - 1,
                      help="seed of the tracker's own random generator (online sampling, random initial weights)")
    # backend of trackerzoo.ops: "auto", "torch", "cpu" or "cuda"
    ops_backend: str = param("auto", choices=("auto", "torch", "cpu", "cuda"), help="backend of trackerzoo.ops")
    # how the shared backbone runs (trackerzoo.nn.inference.prepare_for_inference): "exact" a frozen
    # graph with the same arithmetic (bit-identical boxes), "fast" BatchNorm folded and the graph
    # optimised (boxes drift by float noise, benchmarks/README.md), "eager" the module as built.
    # Default eager: tracing costs ~1.6 s per create() (measured at load 2) for ~5% of track() time.
    inference: str = param("eager", choices=("exact", "fast", "eager"),
                           help="backbone inference path: exact (same arithmetic), fast (folded, optimised), eager")

    relations: ClassVar[tuple[Relation, ...]] = (
        Relation("search_size > template_size", lambda p: p.search_size > p.template_size),
        Relation("positive_iou > negative_iou", lambda p: p.positive_iou > p.negative_iou),
        Relation("pre_nms_top_k >= num_proposals", lambda p: p.pre_nms_top_k >= p.num_proposals),
    )

    def __post_init__(self) -> None:
        # Values typed on a command line arrive as text ("false", "0.3"): convert them to
        # the field's type, so that "false" cannot silently mean True.
        hints = typing.get_type_hints(type(self))
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if hints[field.name] is not str and isinstance(value, str):
                setattr(self, field.name, convert_value(field.name, value, hints[field.name]))
        validate_params(self, TRACKER_NAME)


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
