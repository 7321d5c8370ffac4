"""``build_backbone``: one entry point for every backbone a tracker can ask for.

Backbone choice is a parameter of every tracker (the paper's ResNet for faithfulness
and official weights, MobileNetV2 for the variants we train), so trackers name a
backbone and the layers they need instead of constructing classes themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from trackerzoo.nn.backbones.base import Backbone
from trackerzoo.nn.backbones.mobilenetv2 import MobileNetV2
from trackerzoo.nn.backbones.resnet import ResNet

BACKBONE_BUILDERS: dict[str, Callable[..., Backbone]] = {
    "resnet18": lambda output_layers, dilated, **options: ResNet("resnet18", output_layers, dilated=dilated, **options),
    "resnet50": lambda output_layers, dilated, **options: ResNet("resnet50", output_layers, dilated=dilated, **options),
    "mobilenetv2": lambda output_layers, dilated, **options: MobileNetV2(output_layers, dilated=dilated, **options),
}
BACKBONE_OPTIONS: dict[str, frozenset[str]] = {
    "resnet18": frozenset({"style"}),
    "resnet50": frozenset({"style"}),
    "mobilenetv2": frozenset(),
}


def pretrained_weights_name(name: str) -> str:
    """Manifest name of a backbone's ImageNet weights (``mobilenetv2_imagenet``, ...)."""
    return f"{name}_imagenet"


def build_backbone(
    name: str,
    *,
    output_layers: Iterable[str] | str,
    pretrained: bool | str | Path = False,
    dilated: bool = False,
    **options: Any,
) -> Backbone:
    """Build backbone ``name`` returning ``output_layers``.

    ``pretrained=True`` loads the backbone's ImageNet weights from the weights folder
    (manifest name ``<name>_imagenet``; only MobileNetV2's ship, since no ResNet
    weights can be obtained offline); a string or path loads that weight file instead.
    Either way the file's classifier head and the layers after the deepest requested
    one are dropped, and everything else must match exactly.

    ``options`` are backbone-specific: ResNets take ``style`` (``"torchvision"``,
    ``"mrcnn"`` for RTS's stride-in-1x1 layout, ``"pysot"`` for SiamRPN++/Ocean).
    """
    if name not in BACKBONE_BUILDERS:
        raise ValueError(f"unknown backbone {name!r}; available: {sorted(BACKBONE_BUILDERS)}")
    unknown = sorted(set(options) - BACKBONE_OPTIONS[name])
    if unknown:
        allowed = sorted(BACKBONE_OPTIONS[name]) or "none"
        raise ValueError(f"unknown option(s) {unknown} for backbone {name!r}; it accepts: {allowed}")
    backbone = BACKBONE_BUILDERS[name](output_layers, dilated, **options)
    if pretrained is not False and pretrained is not None:
        source = pretrained_weights_name(name) if pretrained is True else pretrained
        load_pretrained(backbone, source)
    return backbone


def load_pretrained(backbone: Backbone, name_or_path: str | Path) -> Backbone:
    """Load a full-network weight file into a possibly truncated backbone, strictly."""
    from trackerzoo.weights import apply_state_dict, load_state_dict

    state_dict = backbone.trim_pretrained(load_state_dict(name_or_path))
    apply_state_dict(backbone, state_dict, source=str(name_or_path))
    return backbone
