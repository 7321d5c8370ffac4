"""Building the IBFP network of a variant and filling it with weights (``trackerzoo.weights.build_tracker_network``).

``weights="default"``: the manifest's file for tracker ``ibfp`` and the variant;
a path or manifest name: that file, strictly; ``None``: random heads on the ImageNet backbone.
"""

from __future__ import annotations

import functools
from pathlib import Path

import torch

from trackerzoo.weights import build_tracker_network
from trackerzoo_ibfp.network import IbfpNet
from trackerzoo_ibfp.params import MODEL_CONFIGS, TRACKER_NAME


def training_hint(variant: str) -> str:
    return (
        f"train them with `trackerzoo train ibfp --set data=KIND:PATH --set variant={variant} "
        f"--out runs/ibfp_{variant}` and pass weights='runs/ibfp_{variant}/model.safetensors' "
        f"(see plugins/ibfp/README.md); weights=None gives an untrained network"
    )


def build_network(variant: str, weights: str | Path | None, device: torch.device,
                  generator: torch.Generator | None = None) -> IbfpNet:
    """The network of ``variant`` on ``device`` in eval mode; ``ValueError`` names an unknown variant."""
    if variant not in MODEL_CONFIGS:
        raise ValueError(f"unknown IBFP variant {variant!r}; variants: {', '.join(MODEL_CONFIGS)}")
    build = functools.partial(lambda config, pretrained: IbfpNet(config, pretrained_backbone=pretrained),
                              MODEL_CONFIGS[variant])
    network = build_tracker_network(build, tracker=TRACKER_NAME, variant=variant, weights=weights,
                                    hint=training_hint(variant), generator=generator)
    return network.to(device).eval()
