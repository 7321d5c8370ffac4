"""The ``Backbone`` contract and the input normalisation every backbone expects.

A tracker asks a backbone for a few named intermediate layers; computing the layers
after the deepest one asked for would only waste time, and building them would add
parameters that official checkpoints (e.g. Ocean's, which stop after ``layer3``) do
not contain. So a backbone is built, and runs, only up to its deepest requested layer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import torch
from torch import nn

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def imagenet_normalize(x: torch.Tensor) -> torch.Tensor:
    """Normalise float RGB in [0, 1] (``[B,3,H,W]`` or ``[3,H,W]``) with ImageNet mean/std.

    All pretrained backbones here were trained on inputs normalised this way, so every
    tracker feeds its crops through this one function instead of its own constants.
    """
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"imagenet_normalize expects a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise ValueError(f"imagenet_normalize expects a float tensor in [0, 1], got dtype {x.dtype}")
    if x.dim() not in (3, 4) or x.shape[-3] != 3:
        raise ValueError(f"imagenet_normalize expects shape [B,3,H,W] or [3,H,W], got {tuple(x.shape)}")
    shape = (3, 1, 1)
    mean = torch.tensor(IMAGENET_MEAN, dtype=x.dtype, device=x.device).view(shape)
    std = torch.tensor(IMAGENET_STD, dtype=x.dtype, device=x.device).view(shape)
    return (x - mean) / std


def resolve_output_layers(output_layers: Iterable[str] | str, available: Sequence[str], model: str) -> list[str]:
    """Validate requested layer names and return them in network order.

    A bare string is accepted as one layer, since iterating ``"layer3"`` character by
    character would otherwise produce a baffling error.
    """
    requested = [output_layers] if isinstance(output_layers, str) else list(output_layers)
    if not requested:
        raise ValueError(f"output_layers of {model} must name at least one of {list(available)}")
    for name in requested:
        if name not in available:
            raise ValueError(f"unknown output layer {name!r} for {model}; valid layers: {list(available)}")
    if len(set(requested)) != len(requested):
        raise ValueError(f"output_layers of {model} contains duplicates: {requested}")
    return [name for name in available if name in requested]


class Backbone(nn.Module):
    """A feature extractor that returns a dict of named intermediate layers.

    Subclasses build their modules up to the deepest requested layer and implement
    ``stages()``: the ordered ``(layer_name, callable)`` pairs whose outputs chain
    (each callable takes the previous stage's output).
    ``out_channels`` and ``strides`` describe exactly the layers ``forward`` returns.
    """

    out_channels: dict[str, int]
    strides: dict[str, int]
    output_layers: tuple[str, ...]

    def __init__(
        self,
        output_layers: list[str],
        all_channels: dict[str, int],
        all_strides: dict[str, int],
    ) -> None:
        super().__init__()
        self.output_layers = tuple(output_layers)
        self.out_channels = {name: all_channels[name] for name in output_layers}
        self.strides = {name: all_strides[name] for name in output_layers}

    def stages(self) -> list[tuple[str, Callable[[torch.Tensor], torch.Tensor]]]:  # pragma: no cover
        raise NotImplementedError

    def unused_prefixes(self) -> tuple[str, ...]:  # pragma: no cover - abstract
        """Key prefixes of a full pretrained file that this (truncated) backbone lacks."""
        raise NotImplementedError

    def trim_pretrained(self, state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Drop exactly the classifier head and the layers not built; strict loading does the rest."""
        unused = self.unused_prefixes()
        return {key: value for key, value in state_dict.items() if not key.startswith(unused)}

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f"{type(self).__name__} expects input [B,3,H,W], got {tuple(x.shape)}")
        wanted = set(self.output_layers)
        outputs: dict[str, torch.Tensor] = {}
        for name, stage in self.stages():
            x = stage(x)
            if name in wanted:
                outputs[name] = x
                if len(outputs) == len(wanted):
                    break
        return outputs
