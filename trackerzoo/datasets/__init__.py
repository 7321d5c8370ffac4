"""Datasets: the ``Sequence``/``Dataset`` types and a registry of on-disk layouts.

``load_dataset(kind, root, **options)`` looks the kind up in a name -> loader table.
Loaders register themselves with ``register_loader`` when their module is imported;
the built-in modules are imported lazily on the first lookup so that ``import
trackerzoo.datasets`` stays cheap and a module that fails to import (e.g. an optional
dependency of one loader) cannot break the others.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from trackerzoo.datasets.sequence import (
    ArrayFrames,
    Dataset,
    FrameSource,
    ImageFileFrames,
    Sequence,
    VideoFileFrames,
    read_image_rgb,
)

Loader = Callable[..., Dataset]

_LOADERS: dict[str, Loader] = {}
_DESCRIPTIONS: dict[str, str] = {}

# Modules that register built-in kinds. The synthetic generator registers "synthetic".
_BUILTIN_MODULES = (
    "trackerzoo.datasets.loaders.otb",
    "trackerzoo.datasets.loaders.lasot",
    "trackerzoo.datasets.loaders.got10k",
    "trackerzoo.datasets.loaders.trackingnet",
    "trackerzoo.datasets.loaders.uav123",
    "trackerzoo.datasets.loaders.nfs",
    "trackerzoo.datasets.loaders.vot",
    "trackerzoo.datasets.loaders.davis",
    "trackerzoo.datasets.loaders.youtube_vos",
    "trackerzoo.datasets.loaders.plain",
    "trackerzoo.datasets.synthetic",
)
_builtins_imported = False


def register_loader(kind: str, loader: Loader, *, description: str = "") -> Loader:
    """Make ``load_dataset(kind, root, **options)`` call ``loader(root, **options)``."""
    key = kind.lower()
    if key in _LOADERS and _LOADERS[key] is not loader:
        raise ValueError(f"dataset kind {kind!r} is already registered by {_LOADERS[key].__module__}")
    _LOADERS[key] = loader
    _DESCRIPTIONS[key] = description
    return loader


def _import_builtins() -> None:
    global _builtins_imported
    if _builtins_imported:
        return
    _builtins_imported = True
    for module in _BUILTIN_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            # Only tolerate the module itself being absent (e.g. synthetic not built yet).
            missing = str(exc.name)
            if not (module == missing or module.startswith(missing + ".")):
                raise


def dataset_kinds() -> dict[str, str]:
    """Registered kinds with a one-line description each."""
    _import_builtins()
    return dict(sorted(_DESCRIPTIONS.items()))


def load_dataset(kind: str, root: str | os.PathLike, **options: Any) -> Dataset:
    """Load the dataset of layout ``kind`` found under ``root``.

    Listing is lazy: no image is decoded and annotation files are parsed only when a
    sequence's boxes are first read.
    """
    _import_builtins()
    key = kind.lower()
    if key not in _LOADERS:
        raise ValueError(f"unknown dataset kind {kind!r}; known kinds: {', '.join(sorted(_LOADERS))}")
    path = Path(root)
    if not path.exists():
        raise FileNotFoundError(f"dataset root {os.fspath(root)!r} does not exist")
    return _LOADERS[key](path, **options)


__all__ = [
    "ArrayFrames",
    "Dataset",
    "FrameSource",
    "ImageFileFrames",
    "Sequence",
    "VideoFileFrames",
    "dataset_kinds",
    "load_dataset",
    "read_image_rgb",
    "register_loader",
]
