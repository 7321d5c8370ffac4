"""Building RPVT's network for a variant and filling it with weights.

- ``weights="default"``: the file ``weights/manifest.json`` lists for tracker ``rpvt`` and the
  variant; its refinement must be the one asked for (the shipped ``mobilenetv2`` file is CSCR);
- ``weights=<path or manifest name>``: that file, loaded strictly;
- ``weights=None``: random head on the ImageNet backbone when its weights are present, else
  fully random.
"""

from __future__ import annotations

from pathlib import Path

import torch

from trackerzoo.errors import WeightsNotFoundError
from trackerzoo.nn.seeding import draws_from
from trackerzoo.weights import load_into, weights_for
from trackerzoo_rpvt.model.network import MODEL_CONFIGS, RpvtNet
from trackerzoo_rpvt.params import TRACKER_NAME


def build_network(variant: str, weights: str | Path | None, device: torch.device, *, refinement: str,
                  attention: bool, fusion: str, generator: torch.Generator) -> RpvtNet:
    """The network of ``variant`` in eval mode on ``device``; random weights drawn from ``generator``.

    Raises:
        ValueError: unknown variant, or weights of another layout.
        WeightsNotFoundError: no shipped file for the variant.
    """
    if variant not in MODEL_CONFIGS:
        raise ValueError(f"unknown RPVT variant {variant!r}; variants: {', '.join(MODEL_CONFIGS)}")

    def make(pretrained: bool) -> RpvtNet:
        with draws_from(generator):
            return RpvtNet(MODEL_CONFIGS[variant], refinement, attention=attention, fusion=fusion,
                           pretrained_backbone=pretrained)

    if weights is None:
        try:
            network = make(True)
        except WeightsNotFoundError:
            network = make(False)
        return network.to(device).eval()
    network = make(False)
    source: str | Path = weights
    if weights == "default":
        entry = weights_for(TRACKER_NAME, variant)
        if entry is None:
            raise WeightsNotFoundError(
                f"RPVT variant {variant!r} has no shipped weights; train them with `trackerzoo train rpvt "
                f"--set data=vot:PATH --set variant={variant}` (plugins/rpvt/README.md), pass weights=PATH, "
                f"or weights=None for an untrained network"
            )
        source = entry.name
    try:
        load_into(network, source)
    except ValueError as exc:
        raise ValueError(f"{exc} -- built as variant {variant!r}, refinement {refinement!r}; pass the "
                         f"refinement/variant the file was trained with") from exc
    return network.to(device).eval()
