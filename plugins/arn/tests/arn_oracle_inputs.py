"""Seeded official-layout OceanPlus state dict and fixed inputs for the equivalence test.

The fixture ``fixtures/oceanplus_oracle.safetensors`` holds what TracKit's OceanPlus
(MMS) network computed on the CPU from exactly these weights and inputs (run outside
this repository); ``fixtures/oceanplus_keys.json`` its state-dict keys, shapes and dtypes
in the official order. Only numbers are committed, no official code.
"""

from __future__ import annotations

import math

import torch

SEARCH_SIZE = 191  # a 17x17 score map: small, and still a square map as TracKit's ARN needs


def seeded_state_dict(keys: list, seed: int) -> dict[str, torch.Tensor]:
    """One tensor per ``(key, shape, dtype)``, drawn in key order from one seeded generator.

    Convolutions get variance 1 / fan_in (activations stay O(1) through ResNet-50),
    BatchNorm scale in [0.5, 1], shift and running mean N(0, 0.1^2), running variance in
    [0.5, 1.5]; Ocean's ``adjust`` 0.1 and box ``bias`` 1 (plus noise); the rest N(0, 0.1^2).
    """
    generator = torch.Generator().manual_seed(seed)
    state: dict[str, torch.Tensor] = {}
    for key, shape, _dtype in keys:
        if "num_batches_tracked" in key:
            state[key] = torch.zeros(shape, dtype=torch.int64)
            continue
        name = key.rsplit(".", 1)[-1]
        if len(shape) == 4:
            fan_in = shape[1] * shape[2] * shape[3]
            value = torch.randn(shape, generator=generator) / math.sqrt(fan_in)
        elif name == "running_var":
            value = 0.5 + torch.rand(shape, generator=generator)
        elif name == "weight" and len(shape) == 1 and not key.endswith("_dw.weight"):
            value = 0.5 + 0.5 * torch.rand(shape, generator=generator)
        elif key.endswith("connect_model.adjust"):
            value = 0.1 + 0.01 * torch.randn(shape, generator=generator)
        elif key.endswith("connect_model.bias"):
            value = 1.0 + 0.1 * torch.randn(shape, generator=generator)
        else:
            value = 0.1 * torch.randn(shape, generator=generator)
        state[key] = value
    return state


def oracle_inputs() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Template ``[1,3,127,127]``, search ``[1,3,191,191]`` (network input, in [0, 2]), mask ``[1,127,127]``."""
    generator = torch.Generator().manual_seed(7)
    # Values in [0, 2]: with random BatchNorm statistics, 0..255 inputs would keep every
    # activation ~40x larger and exp() in the box branch would overflow.
    z = torch.rand(1, 3, 127, 127, generator=generator) * 2.0
    x = torch.rand(1, 3, SEARCH_SIZE, SEARCH_SIZE, generator=generator) * 2.0
    ys, xs = torch.meshgrid(torch.arange(127.0), torch.arange(127.0), indexing="ij")
    ellipse = ((xs - 63) / 30) ** 2 + ((ys - 60) / 20) ** 2 <= 1.0
    mask = ellipse | ((xs - 80).abs() < 6) & ((ys - 75).abs() < 25)
    return z, x, mask.float()[None]
