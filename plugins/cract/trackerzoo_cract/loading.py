"""Building the CRACT network of a variant and filling it with weights.

- ``weights="default"``: the file ``weights/manifest.json`` lists for tracker ``cract``
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

from pathlib import Path

import torch

from trackerzoo.weights import build_tracker_network
from trackerzoo_cract.model import CractNet
from trackerzoo_cract.params import MODEL_CONFIGS, TRACKER_NAME


def training_hint(variant: str) -> str:
    return (
        f"train them with `trackerzoo make-dataset --out DATA ...` then `trackerzoo train cract --set data=DATA "
        f"--set variant={variant} --out runs/cract_{variant}` and pass "
        f"weights='runs/cract_{variant}/model.safetensors' "
        f"(or install that file as weights/cract_{variant}.safetensors with a manifest entry; "
        f"see plugins/cract/README.md); weights=None gives an untrained network"
    )


def build_network(variant: str, weights: str | Path | None, device: torch.device,
                  generator: torch.Generator | None = None) -> CractNet:
    """The network of ``variant`` on ``device`` in eval mode, filled as the module docstring says
    (``trackerzoo.weights.build_tracker_network``).

    ``generator``: a CPU ``torch.Generator`` for the random initial weights, or ``None`` for
    torch's global one. Raises ``ValueError`` for an unknown variant or weights of another
    shape, ``WeightsNotFoundError`` for missing weights.
    """
    if variant not in MODEL_CONFIGS:
        raise ValueError(f"unknown CRACT variant {variant!r}; variants: {', '.join(MODEL_CONFIGS)}")
    config = MODEL_CONFIGS[variant]
    try:
        network = build_tracker_network(lambda pretrained: CractNet(config, pretrained_backbone=pretrained),
                                        tracker=TRACKER_NAME, variant=variant, weights=weights,
                                        hint=training_hint(variant), generator=generator)
    except ValueError as exc:
        # Shapes differ between variants (e.g. the single-level ablation's heads).
        raise ValueError(
            f"{exc} -- built as variant {variant!r}; if the file was trained for another variant, "
            f"pass variant=... (variants: {', '.join(MODEL_CONFIGS)})"
        ) from exc
    return network.to(device).eval()
