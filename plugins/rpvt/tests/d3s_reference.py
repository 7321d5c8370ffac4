"""Deterministic stand-ins for the official D3S checkpoint and the inputs of the oracle fixture.

``fixtures/d3s_segmnet_keys.json`` lists the keys and shapes of D3S's ``SegmNet``
(``segm_resnet50``, mixer of 3 channels) in the order of its ``state_dict()``;
``official_state_dict`` fills them from a seed, so the test needs no stored checkpoint.
``fixtures/d3s_segmnet_outputs.npz`` holds what D3S's own modules (run on the CPU in
float64, outside this repository) computed from that state dict on ``oracle_inputs``.
"""

from __future__ import annotations

import functools
import json
import math
from collections import OrderedDict
from pathlib import Path

import torch

FIXTURES = Path(__file__).parent / "fixtures"
SEED = 1717
IMAGE_SIZE = 64


def official_keys() -> list[tuple[str, tuple[int, ...]]]:
    """(key, shape) of the official checkpoint's ``net`` state dict, in its order."""
    return [(key, tuple(shape)) for key, shape in json.loads((FIXTURES / "d3s_segmnet_keys.json").read_text())]


def official_state_dict(seed: int = SEED, dtype: torch.dtype = torch.float64) -> OrderedDict[str, torch.Tensor]:
    """Seeded values for every official key: conv/linear weights N(0, 1/fan_in), BatchNorm near identity.

    Drawn once per seed in float64 (about 25 M values) and cast; callers get their own dict.
    """
    return OrderedDict((k, v if k.endswith("num_batches_tracked") else v.to(dtype))
                       for k, v in _float64_state_dict(seed).items())


@functools.lru_cache(maxsize=2)
def _float64_state_dict(seed: int) -> OrderedDict[str, torch.Tensor]:
    dtype = torch.float64
    g = torch.Generator().manual_seed(seed)
    out: OrderedDict[str, torch.Tensor] = OrderedDict()
    for key, shape in official_keys():
        if key.endswith("num_batches_tracked"):
            out[key] = torch.tensor(0, dtype=torch.int64)
        elif key.endswith("running_var"):
            out[key] = (torch.rand(shape, generator=g, dtype=torch.float64) * 0.5 + 0.75).to(dtype)
        elif key.endswith("running_mean"):
            out[key] = (torch.randn(shape, generator=g, dtype=torch.float64) * 0.1).to(dtype)
        elif len(shape) == 1 and key.endswith("weight"):
            out[key] = (1.0 + 0.1 * torch.randn(shape, generator=g, dtype=torch.float64)).to(dtype)
        elif len(shape) == 1:
            out[key] = (0.1 * torch.randn(shape, generator=g, dtype=torch.float64)).to(dtype)
        else:
            fan_in = math.prod(shape[1:])
            out[key] = (torch.randn(shape, generator=g, dtype=torch.float64) / math.sqrt(fan_in)).to(dtype)
    return out


def oracle_inputs(seed: int = SEED + 1) -> dict[str, torch.Tensor]:
    """Reference/search images [1, 3, 64, 64] in [0, 1], reference mask [1, 1, 64, 64], distance map [1, 1, 64, 64]."""
    g = torch.Generator().manual_seed(seed)
    size = IMAGE_SIZE
    reference = torch.rand(1, 3, size, size, generator=g, dtype=torch.float64)
    search = torch.rand(1, 3, size, size, generator=g, dtype=torch.float64)
    mask = torch.zeros(1, 1, size, size, dtype=torch.float64)
    mask[..., 20:44, 16:40] = 1.0
    ys, xs = torch.meshgrid(torch.arange(size, dtype=torch.float64), torch.arange(size, dtype=torch.float64),
                            indexing="ij")
    distance = torch.sqrt((xs - 30.0) ** 2 + (ys - 34.0) ** 2)[None, None]
    return {"reference": reference, "search": search, "mask": mask, "distance": distance}
