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
from trackerzoo.weights import build_tracker_network
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
        return RpvtNet(MODEL_CONFIGS[variant], refinement, attention=attention, fusion=fusion,
                       pretrained_backbone=pretrained)

    hint = (f"train them with `trackerzoo train rpvt --set data=vot:PATH --set variant={variant}` "
            f"(plugins/rpvt/README.md), pass weights=PATH, or weights=None for an untrained network")
    try:
        network = build_tracker_network(make, tracker=TRACKER_NAME, variant=variant, weights=weights, hint=hint,
                                        generator=generator)
    except WeightsNotFoundError:
        raise
    except ValueError as exc:
        raise ValueError(f"{exc} (refinement {refinement!r}: pass the refinement the file was trained with)") from exc
    return network.to(device).eval()
