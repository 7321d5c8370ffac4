"""Building the IBFP network of a variant and filling it with weights.

- ``weights="default"``: the file ``weights/manifest.json`` lists for tracker ``ibfp``
  and the variant (``trackerzoo.weights.weights_for``); a variant without one is an error;
- ``weights=<path or manifest name>``: that file, loaded strictly;
- ``weights=None``: random heads on the ImageNet backbone when its weights are present
  (the starting point of training), else a fully random network.

With a ``generator`` every random initial weight is drawn from it (``trackerzoo.nn.seeding``),
so building neither reads nor advances torch's global generator (the tracker passes one
seeded from its ``seed``); without one (training, which seeds the global state itself) the
global generator is used as before.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import torch

from trackerzoo.errors import WeightsNotFoundError
from trackerzoo.nn.seeding import draws_from
from trackerzoo.weights import load_into, weights_for
from trackerzoo_ibfp.network import IbfpNet
from trackerzoo_ibfp.params import MODEL_CONFIGS, TRACKER_NAME


def training_hint(variant: str) -> str:
    return (
        f"train them with `trackerzoo train ibfp --set data=DATA "
        f"--set variant={variant} --out runs/ibfp_{variant}` and pass "
        f"weights='runs/ibfp_{variant}/model.safetensors' "
        f"(or install that file as weights/ibfp_{variant}.safetensors with a manifest entry; "
        f"see plugins/ibfp/README.md); weights=None gives an untrained network"
    )


def build_network(variant: str, weights: str | Path | None, device: torch.device,
                  generator: torch.Generator | None = None) -> IbfpNet:
    """The network of ``variant`` on ``device`` in eval mode, filled as the module docstring says.

    ``generator``: a CPU ``torch.Generator`` for the random initial weights, or ``None`` for
    torch's global one. Raises ``ValueError`` for an unknown variant or weights of another
    shape, ``WeightsNotFoundError`` for missing weights.
    """
    if variant not in MODEL_CONFIGS:
        raise ValueError(f"unknown IBFP variant {variant!r}; variants: {', '.join(MODEL_CONFIGS)}")
    config = MODEL_CONFIGS[variant]
    drawing = draws_from(generator) if generator is not None else contextlib.nullcontext()
    if weights is None:
        try:
            with drawing:
                network = IbfpNet(config, pretrained_backbone=True)
        except WeightsNotFoundError:
            with drawing:
                network = IbfpNet(config, pretrained_backbone=False)
    else:
        with drawing:
            network = IbfpNet(config, pretrained_backbone=False)
        source: str | Path = weights
        if weights == "default":
            entry = weights_for(TRACKER_NAME, variant)
            if entry is None:
                raise WeightsNotFoundError(
                    f"IBFP variant {variant!r} has no shipped weights (weights/manifest.json lists no file for "
                    f"tracker {TRACKER_NAME!r}, variant {variant!r}); {training_hint(variant)}"
                )
            source = entry.name
        try:
            load_into(network, source)
        except WeightsNotFoundError as exc:
            raise WeightsNotFoundError(f"{exc} -- IBFP {variant} weights: {training_hint(variant)}") from exc
        except ValueError as exc:
            # Shapes differ between variants (e.g. the ablations' fusion layers).
            raise ValueError(
                f"{exc} -- built as variant {variant!r}; if the file was trained for another variant, "
                f"pass variant=... (variants: {', '.join(MODEL_CONFIGS)})"
            ) from exc
    return network.to(device).eval()
