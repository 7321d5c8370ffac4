"""Building the RTS network of a variant and filling it with weights.

- ``weights="default"``: the file ``weights/manifest.json`` lists for tracker ``rts`` and the
  variant; a variant without one is a ``WeightsNotFoundError`` that says how to get one;
- ``weights=<path or manifest name>``: that file, loaded strictly;
- ``weights=None``: random heads on the ImageNet backbone when its weights are present
  (the starting point of training), else a fully random network.

Random initial weights come from ``generator`` when given (``trackerzoo.nn.seeding``).
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import torch

from trackerzoo.errors import WeightsNotFoundError
from trackerzoo.nn.seeding import draws_from
from trackerzoo.weights import load_into, weights_for
from trackerzoo_rts.model.network import RtsNet
from trackerzoo_rts.params import MODEL_CONFIGS, TRACKER_NAME


def training_hint(variant: str) -> str:
    return (
        f"train them with `trackerzoo train rts --set data=got10k:DATA --set variant={variant} --out runs/rts` "
        f"and pass weights='runs/rts/model.safetensors'; for variant resnet50 convert the official rts50.pth with "
        f"`trackerzoo convert rts50.pth --tracker rts-resnet50 --out rts50.safetensors`; weights=None gives an "
        f"untrained network"
    )


def build_network(variant: str, weights: str | Path | None, device: torch.device,
                  generator: torch.Generator | None = None) -> RtsNet:
    """The ``RtsNet`` of ``variant`` on ``device`` in eval mode (see the module docstring).

    Raises ``ValueError`` for an unknown variant or mismatching weights, ``WeightsNotFoundError``
    when the weights are missing.
    """
    if variant not in MODEL_CONFIGS:
        raise ValueError(f"unknown RTS variant {variant!r}; variants: {', '.join(MODEL_CONFIGS)}")
    config = MODEL_CONFIGS[variant]
    drawing = draws_from(generator) if generator is not None else contextlib.nullcontext()
    if weights is None:
        try:
            with drawing:
                network = RtsNet(config, pretrained_backbone=True)
        except WeightsNotFoundError:
            with drawing:
                network = RtsNet(config, pretrained_backbone=False)
        return network.to(device).eval()
    with drawing:
        network = RtsNet(config, pretrained_backbone=False)
    source: str | Path = weights
    if weights == "default":
        entry = weights_for(TRACKER_NAME, variant)
        if entry is None:
            raise WeightsNotFoundError(
                f"RTS variant {variant!r} has no shipped weights (weights/manifest.json lists none for tracker "
                f"{TRACKER_NAME!r}, variant {variant!r}); {training_hint(variant)}"
            )
        source = entry.name
    try:
        load_into(network, source)
    except WeightsNotFoundError as exc:
        raise WeightsNotFoundError(f"{exc} -- RTS {variant} weights: {training_hint(variant)}") from exc
    return network.to(device).eval()
