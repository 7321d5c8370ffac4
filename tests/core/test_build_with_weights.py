"""``trackerzoo.weights.build_with_weights``: the shared weights="default" / path / None rule of the trackers."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from trackerzoo.errors import WeightsNotFoundError
from trackerzoo.weights import build_with_weights, save_safetensors


def _build(pretrained: bool) -> nn.Module:
    return nn.Linear(3, 2)


def test_none_builds_random_weights_from_the_generator_in_eval_mode():
    first = build_with_weights(_build, None, tracker="toy", variant="v", generator=torch.Generator().manual_seed(3))
    second = build_with_weights(_build, None, tracker="toy", variant="v", generator=torch.Generator().manual_seed(3))
    assert not first.training
    assert torch.equal(first.weight, second.weight)


def test_default_without_a_manifest_entry_names_the_tracker_and_the_hint():
    with pytest.raises(WeightsNotFoundError, match=r"toy variant 'v'.*train it yourself"):
        build_with_weights(_build, "default", tracker="toy", variant="v", hint="train it yourself")


def test_a_path_loads_strictly(tmp_path):
    source = nn.Linear(3, 2)
    path = tmp_path / "toy.safetensors"
    save_safetensors(source.state_dict(), path, fp16=False)
    loaded = build_with_weights(_build, path, tracker="toy", variant="v")
    assert torch.equal(loaded.weight, source.weight)
    with pytest.raises(ValueError, match="variant 'w'"):
        build_with_weights(lambda pretrained: nn.Linear(4, 2), path, tracker="toy", variant="w")
