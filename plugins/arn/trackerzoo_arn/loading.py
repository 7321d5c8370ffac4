"""Building the ARN network of a variant and filling it with weights.

``weights="default"``: the file ``weights/manifest.json`` lists for tracker ``arn`` and
the variant; ``weights=<path or manifest name>``: that file, strictly; ``weights=None``:
random heads on the ImageNet backbone when it is present (the start of training), else
fully random. Random draws come from ``generator`` when given (``trackerzoo.nn.seeding``).
"""

from __future__ import annotations

from pathlib import Path

import torch

from trackerzoo.weights import build_tracker_network
from trackerzoo_arn.model import ArnNet
from trackerzoo_arn.params import MODEL_CONFIGS, TRACKER_NAME


def training_hint(variant: str) -> str:
    if variant == "resnet50":
        return ("convert TracKit's OceanPlus checkpoint with `trackerzoo convert OceanPlusMMS.pth "
                "--tracker arn-resnet50 --out arn_resnet50.safetensors` and pass weights='arn_resnet50.safetensors'")
    return (f"train them with `trackerzoo train arn --set data=vot:DATA/vot --set variant={variant} --out runs/arn` "
            "and pass weights='runs/arn/model.safetensors'; weights=None gives an untrained network")


def build_network(variant: str, weights: str | Path | None, device: torch.device,
                  generator: torch.Generator | None = None) -> ArnNet:
    """The network of ``variant`` on ``device`` in eval mode.

    Raises ``ValueError`` for an unknown variant or a file of another layout and
    ``WeightsNotFoundError`` when the weights are missing.
    """
    if variant not in MODEL_CONFIGS:
        raise ValueError(f"unknown ARN variant {variant!r}; variants: {', '.join(MODEL_CONFIGS)}")
    config = MODEL_CONFIGS[variant]
    network = build_tracker_network(
        lambda pretrained: ArnNet(config, pretrained_backbone=pretrained and config.backbone == "mobilenetv2"),
        tracker=TRACKER_NAME, variant=variant, weights=weights, hint=training_hint(variant), generator=generator)
    return network.to(device).eval()
