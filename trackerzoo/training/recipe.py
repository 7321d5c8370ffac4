"""What a training recipe is, and how ``trackerzoo train <name>`` finds one.

A plugin registers ``build(overrides) -> Recipe`` through the
``trackerzoo_register_recipes`` hook. ``build`` applies the overrides to its own
:class:`~trackerzoo.training.config.TrainConfig` subclass (with
:func:`~trackerzoo.training.config.apply_overrides`, which rejects unknown keys) and
returns the pieces the generic trainer needs. Keeping the recipe as plain code - a
dataclass of settings plus the callables that use them - is pytracking's
``ltr/train_settings`` idea: the training of a tracker reads top to bottom in one file,
while the loop, checkpointing and data-parallel machinery live once, here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import nn

from trackerzoo.datasets import load_dataset
from trackerzoo.registry import RecipeInfo, Registry, default_registry
from trackerzoo.training.config import TrainConfig

LossResult = torch.Tensor | tuple[torch.Tensor, Mapping[str, float]]


@dataclasses.dataclass
class Recipe:
    """Everything the trainer needs to train one model.

    - ``build_model()`` constructs the network (called after seeding, so initial
      weights are reproducible).
    - ``train_data`` / ``val_data`` are map-style torch datasets whose item ``i`` is a
      pure function of ``i`` (the samplers in :mod:`trackerzoo.training.samplers` are),
      which is what makes resuming exact and ``num_workers`` irrelevant to the result.
    - ``compute_loss(model, batch)`` calls ``model(...)`` once (DistributedDataParallel
      synchronises gradients through that call) and returns the loss, optionally with
      a dict of extra scalars to log.
    - ``evaluate(model, device)`` (optional) runs the real tracking metric, e.g. success
      AUC on a few validation sequences, and returns named numbers.
    - ``parameter_groups(model)`` (optional) returns optimiser groups; a group may carry
      ``lr_scale`` (e.g. 0.1 for a pretrained backbone).
    """

    name: str
    config: TrainConfig
    build_model: Callable[[], nn.Module]
    train_data: torch.utils.data.Dataset
    compute_loss: Callable[[nn.Module, Any], LossResult]
    val_data: torch.utils.data.Dataset | None = None
    evaluate: Callable[[nn.Module, torch.device], Mapping[str, float]] | None = None
    collate_fn: Callable[[list[Any]], Any] | None = None
    parameter_groups: Callable[[nn.Module], list[dict[str, Any]]] | None = None
    description: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.config, TrainConfig):
            raise TypeError(f"recipe {self.name!r}: config must be a TrainConfig, got {type(self.config).__name__}")
        self.config.validate()


class RecipeNotFoundError(KeyError):
    """``trackerzoo train <name>`` with a name no installed plugin registers."""

    def __init__(self, name: str, available: list[str]) -> None:
        self.name = name
        self.available = sorted(available)
        listing = ", ".join(self.available) if self.available else "(none installed)"
        super().__init__(f"no training recipe named {name!r}; available recipes: {listing}")

    def __str__(self) -> str:
        return str(self.args[0])


def get_recipe_info(name: str, registry: Registry | None = None) -> RecipeInfo:
    recipes = (registry or default_registry()).recipes
    if name not in recipes:
        raise RecipeNotFoundError(name, list(recipes))
    return recipes[name]


def build_recipe(name: str, overrides: Mapping[str, Any] | None = None, registry: Registry | None = None) -> Recipe:
    """Look recipe ``name`` up in the plugin registry and build it with ``overrides``."""
    info = get_recipe_info(name, registry)
    recipe = info.build(dict(overrides or {}))
    if not isinstance(recipe, Recipe):
        raise TypeError(
            f"recipe {name!r} from distribution {info.distribution!r} returned {type(recipe).__name__}, "
            "not a trackerzoo.training.Recipe"
        )
    return recipe


def datasets_from_spec(spec: str, bare_kind: str = "synthetic") -> list[Any]:
    """The datasets of a recipe's ``data=`` setting: a comma-separated list of ``kind:path``.

    An item without a kind (a bare path) is loaded as ``bare_kind``; empty items are skipped.
    Loader errors (unknown kind, missing folder) propagate as the loaders raise them.
    """
    datasets = []
    for item in (part.strip() for part in spec.split(",")):
        if item:
            kind, sep, root = item.partition(":")
            datasets.append(load_dataset(kind, root) if sep and root else load_dataset(bare_kind, item))
    return datasets
