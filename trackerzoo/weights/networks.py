"""Building a tracker's network of one variant and filling it with weights: the rule every plugin shares.

- ``weights=None``: random heads on the pretrained backbone when its weights are present
  (the starting point of training), else a fully random network;
- ``weights="default"``: the file ``weights/manifest.json`` lists for the tracker and variant
  (a variant without one is a ``WeightsNotFoundError`` carrying the plugin's hint);
- ``weights=<path or manifest name>``: that file, loaded strictly.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import torch
from torch import nn

from trackerzoo.errors import WeightsNotFoundError
from trackerzoo.nn.seeding import draws_from
from trackerzoo.weights.files import load_into
from trackerzoo.weights.manifest import weights_for

Network = TypeVar("Network", bound=nn.Module)


def build_tracker_network(
    make: Callable[[bool], Network],
    *,
    tracker: str,
    variant: str,
    weights: str | Path | None,
    hint: str,
    generator: torch.Generator | None = None,
) -> Network:
    """``make(pretrained_backbone)`` filled as the module docstring says (the module is returned as built).

    ``generator``: a CPU ``torch.Generator`` every random initial weight is drawn from
    (``trackerzoo.nn.seeding.draws_from``), or ``None`` for torch's global one. ``hint`` (how to
    get the weights) is appended to a ``WeightsNotFoundError``; a weight file of other shapes is
    the ``ValueError`` of :func:`load_into`.
    """
    drawing = draws_from(generator) if generator is not None else contextlib.nullcontext()
    if weights is None:
        try:
            with drawing:
                return make(True)
        except WeightsNotFoundError:
            with drawing:
                return make(False)
    with drawing:
        network = make(False)
    source: str | Path = weights
    if weights == "default":
        entry = weights_for(tracker, variant)
        if entry is None:
            raise WeightsNotFoundError(
                f"{tracker} variant {variant!r} has no shipped weights (weights/manifest.json lists no file for "
                f"tracker {tracker!r}, variant {variant!r}); {hint}"
            )
        source = entry.name
    try:
        load_into(network, source)
    except WeightsNotFoundError as exc:
        raise WeightsNotFoundError(f"{exc} -- {tracker} {variant} weights: {hint}") from exc
    except ValueError as exc:
        raise ValueError(f"{exc} -- built as variant {variant!r}; if the file was trained for another variant, "
                         f"pass variant=...") from exc
    return network
