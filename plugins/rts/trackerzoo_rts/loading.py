"""Building the RTS network of a variant and filling it with weights.

- ``weights="default"``: the file ``weights/manifest.json`` lists for tracker ``rts`` and the
  variant; a variant without one is a ``WeightsNotFoundError`` that says how to get one;
- ``weights=<path or manifest name>``: that file, loaded strictly;
- ``weights=None``: random heads on the ImageNet backbone when its weights are present
  (the starting point of training), else a fully random network.

Random initial weights come from ``generator`` when given (``trackerzoo.nn.seeding``).
"""

from __future__ import annotations

from pathlib import Path

import torch

from trackerzoo.weights import build_tracker_network
from trackerzoo_rts.model.network import RtsNet
from trackerzoo_rts.params import MODEL_CONFIGS, TRACKER_NAME


def training_hint(variant: str) -> str:
    return (
        f"train them with `trackerzoo train rts --set data=vot:DATA/vot --set variant={variant} --out runs/rts` "
        f"and pass weights='runs/rts/model.safetensors'; for variant resnet50 convert the official rts50.pth with "
        f"`trackerzoo convert rts50.pth --tracker rts-resnet50 --out rts50.safetensors`; weights=None gives an "
        f"untrained network"
    )


def build_network(variant: str, weights: str | Path | None, device: torch.device,
                  generator: torch.Generator | None = None) -> RtsNet:
    """The ``RtsNet`` of ``variant`` on ``device`` in eval mode (``trackerzoo.weights.build_tracker_network``).

    Raises ``ValueError`` for an unknown variant or mismatching weights, ``WeightsNotFoundError``
    when the weights are missing.
    """
    if variant not in MODEL_CONFIGS:
        raise ValueError(f"unknown RTS variant {variant!r}; variants: {', '.join(MODEL_CONFIGS)}")
    config = MODEL_CONFIGS[variant]
    network = build_tracker_network(lambda pretrained: RtsNet(config, pretrained_backbone=pretrained),
                                    tracker=TRACKER_NAME, variant=variant, weights=weights,
                                    hint=training_hint(variant), generator=generator)
    return network.to(device).eval()
