"""Deterministic inputs of the official-equivalence fixtures (shared by the tests and the oracle run).

``official_state_dict(keys, seed)`` fills the official key layout (``fixtures/rts50_keys.json``,
the key/shape/dtype list of pytracking's ``steepest_descent_resnet50_with_clf_encoder`` as
``rts50.py`` builds it) with seeded values of sensible scale, in the listed key order.
``oracle_inputs()`` is a fixed 3-frame clip (64x96 crops) with masks, boxes and labels.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch

from trackerzoo.labels import gaussian_center_labels

FIXTURES = Path(__file__).parent / "fixtures"


def official_keys(name: str = "rts50_keys.json", part: str = "net") -> list[tuple[str, list[int], str]]:
    return [tuple(entry) for entry in json.loads((FIXTURES / name).read_text())[part]]


def official_state_dict(keys, seed: int) -> dict[str, torch.Tensor]:
    """Seeded tensors for ``keys`` ((name, shape, dtype) in order): He-scaled weights, BN stats near (0, 1)."""
    generator = torch.Generator().manual_seed(seed)
    state = {}
    for name, shape, dtype in keys:
        if dtype != "float32":
            state[name] = torch.zeros(shape, dtype=getattr(torch, dtype))
            continue
        if name.endswith("running_var"):
            value = 0.75 + 0.5 * torch.rand(shape, generator=generator)
        elif name.endswith("running_mean"):
            value = 0.1 * torch.randn(shape, generator=generator)
        elif name.endswith("filter_reg"):
            value = 0.05 + 0.1 * torch.rand(shape, generator=generator)
        elif len(shape) == 1 and name.endswith("weight"):
            value = 1.0 + 0.1 * torch.randn(shape, generator=generator)
        elif len(shape) == 1:
            value = 0.05 * torch.randn(shape, generator=generator)
        else:
            fan_in = math.prod(shape[1:])
            value = torch.randn(shape, generator=generator) * math.sqrt(2.0 / fan_in)
        state[name] = value
    return state


def oracle_inputs(height: int = 64, width: int = 96, frames: int = 3) -> dict[str, torch.Tensor]:
    """``frames [1, J, 3, H, W]`` in [0, 1], ``masks [1, J, 1, H, W]``, ``boxes [1, J, 4]`` (xywh), ``labels``."""
    generator = torch.Generator().manual_seed(7)
    images = torch.rand(1, frames, 3, height, width, generator=generator)
    ys = torch.arange(height, dtype=torch.float32).view(-1, 1) + 0.5
    xs = torch.arange(width, dtype=torch.float32).view(1, -1) + 0.5
    masks, boxes = [], []
    for j in range(frames):
        cx, cy, rx, ry = 40.0 + 6 * j, 30.0 + 2 * j, 18.0 - j, 12.0 + j
        blob = (((xs - cx) / rx) ** 2 + ((ys - cy) / ry) ** 2 <= 1.0).float()
        images[0, j, :, blob > 0] = images[0, j, :, blob > 0] * 0.3 + 0.6
        masks.append(blob)
        boxes.append(torch.tensor([cx - rx, cy - ry, 2 * rx, 2 * ry]))
    boxes_t = torch.stack(boxes)
    labels = gaussian_center_labels(boxes_t, (height // 32 + 1, width // 32 + 1), 32.0, sigma_factor=0.25)
    return {"frames": images, "masks": torch.stack(masks)[None, :, None], "boxes": boxes_t[None],
            "labels": labels[None, :, None]}
