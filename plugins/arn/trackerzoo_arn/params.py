"""Hyper-parameters of ARN (OceanPlus), as plain numbers.

``ArnParams``: what ``trackerzoo.create("arn", **params)`` may override. The settings the
public code tunes per benchmark (penalty, window, size rate, mask threshold) come from a
``preset``: ``vot2020`` (default) or ``davis`` (TracKit ``experiments/test/*/OceanPlus.yaml``);
each of them may still be set on its own, which wins over the preset.
``ModelConfig``: the architecture of a variant (fixed by its weights).
"""

from __future__ import annotations

import dataclasses
import typing
from typing import ClassVar

from trackerzoo.params import Relation, param, validate_params
from trackerzoo.training.config import convert_value

TRACKER_NAME = "arn"

# TracKit experiments/test/VOT/OceanPlus.yaml (VOT2020) and DAVIS/OceanPlus.yaml (DAVIS2017).
PRESETS: dict[str, dict[str, float]] = {
    "vot2020": {"penalty_k": 0.06, "window_influence": 0.484, "lr": 0.644, "mask_threshold": 0.9},
    "davis": {"penalty_k": 0.031, "window_influence": 0.35, "lr": 1.0, "mask_threshold": 0.84},
}
PRESET_FIELDS = ("penalty_k", "window_influence", "lr", "mask_threshold")
# The presets' mask thresholds are TracKit's, for its ResNet-50 network. Our CPU-trained
# mobilenetv2 weights give softer masks: their threshold (best mean J over 5 sequences x 11
# frames of the training split, 0.2-0.6 tried) replaces the preset's unless mask_threshold is set.
VARIANT_MASK_THRESHOLDS: dict[str, float] = {"mobilenetv2": 0.4}


@dataclasses.dataclass
class ArnParams:
    """Inference settings of OceanPlus (TracKit ``lib/tracker/oceanplus.py``) and the paper's cyclic init."""

    preset: str = param("vot2020", choices=tuple(PRESETS),
                        help="benchmark settings of penalty_k, window_influence, lr, mask_threshold")
    penalty_k: float | None = param(None, low=0.0, high=10.0,
                                    help="size/aspect change penalty strength (None: from the preset)")
    window_influence: float | None = param(None, low=0.0, high=1.0,
                                           help="weight of the cosine window (None: from the preset)")
    lr: float | None = param(None, low=0.0, high=1.0, help="size smoothing rate (None: from the preset)")
    mask_threshold: float | None = param(None, low=0.0, high=1.0, high_open=True,
                                         help="foreground probability above which a pixel is the target "
                                              "(None: from the preset)")
    template_size: int = param(127, low=63, high=511, help="side of the exemplar crop, pixels")
    search_size: int = param(255, low=127, high=1023, help="side of the search crop, pixels")
    # TracKit: 287 when the box covers less than 0.4% of the image.
    small_target_search_size: int = param(287, low=127, high=1023,
                                          help="search crop side for small targets, pixels")
    small_target_area: float = param(0.004, low=0.0, high=1.0,
                                     help="box area / image area below which the larger search crop is used")
    context_amount: float = param(0.5, low=0.0, high=2.0, help="context margin, fraction of w + h")
    min_target_size: float = param(10.0, low=1.0, high=10000.0, help="smallest box side, pixels")
    # Paper Sec. 3.3: r = 3 refills of the LUT from a box.
    cyclic_steps: int = param(3, low=0, high=20, help="r: cyclic initialisation steps from a box")
    # TracKit binarises the starting mask at 0.5 before it fills the LUT; the refills do the same.
    cyclic_threshold: float = param(0.5, low=0.0, high=1.0, low_open=True, high_open=True,
                                    help="foreground probability above which a refilled LUT value is 1")
    use_arn: bool = param(True, help="add the ARN attention to the conv4 features (False: ablation)")
    # Paper Table 4 ablation: 1 = the multi-resolution pathway alone; fused with equal weights below 3.
    mask_stages: int = param(3, low=1, high=3, help="MMS stages run and fused (ablation: 1 or 2)")
    ops_backend: str = param("auto", choices=("auto", "torch", "cpu", "cuda"), help="backend of trackerzoo.ops")
    seed: int = param(0, low=0, high=2**63 - 1, help="seed of the random initial weights when weights=None")

    relations: ClassVar[tuple[Relation, ...]] = (
        Relation("search_size > template_size", lambda p: p.search_size > p.template_size),
        Relation("small_target_search_size >= search_size", lambda p: p.small_target_search_size >= p.search_size),
    )

    def __post_init__(self) -> None:
        hints = typing.get_type_hints(type(self))
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if hints[field.name] is not str and isinstance(value, str) and value != "":
                setattr(self, field.name, convert_value(field.name, value, hints[field.name]))
        validate_params(self, TRACKER_NAME)

    def resolved(self, name: str) -> float:
        """The value of a preset field: the one given, else the preset's."""
        if name not in PRESET_FIELDS:
            raise ValueError(f"{name!r} is not a preset field; preset fields: {', '.join(PRESET_FIELDS)}")
        value = getattr(self, name)
        return float(PRESETS[self.preset][name] if value is None else value)


def mask_threshold_for(params: ArnParams, variant: str) -> float:
    """The mask threshold a tracker of ``variant`` uses: given, else calibrated for the variant, else the preset's."""
    if params.mask_threshold is None and variant in VARIANT_MASK_THRESHOLDS:
        return VARIANT_MASK_THRESHOLDS[variant]
    return params.resolved("mask_threshold")


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """Architecture of one variant (fixed by its weights)."""

    backbone: str
    trunk_channels: tuple[int, int, int, int]  # c1 (stride 2), c2 (4), c3 (8), deep (8)
    neck_channels: int
    head_channels: int
    tower_depth: int = 4
    template_crop: int = 4  # cells removed on each side of the template map (15x15 -> 7x7)
    mms_stages: int = 3
    input_format: str = "imagenet"  # "bgr255": TracKit's raw BGR 0..255
    official_extras: bool = False  # TracKit's unused side-output layers, for strict loading
    stride: int = 8


MODEL_CONFIGS: dict[str, ModelConfig] = {
    # Ours: ImageNet MobileNetV2 dilated after stride 8, narrower neck/heads to train on a CPU.
    "mobilenetv2": ModelConfig("mobilenetv2", (16, 24, 32, 96), neck_channels=128, head_channels=128),
    # TracKit OceanPlus (MMS), layer for layer.
    "resnet50": ModelConfig("resnet50", (64, 256, 512, 1024), neck_channels=256, head_channels=256,
                            input_format="bgr255", official_extras=True),
}
DEFAULT_VARIANT = "mobilenetv2"
