"""Datasets: the ``Sequence``/``Dataset`` types and the registry of on-disk layouts.

``load_dataset(kind, root, **options)`` looks the kind up among the dataset loaders of
the plugin registry (``trackerzoo.registry``). Core's layouts come from its built-in
plugin ``trackerzoo.datasets.builtin_plugin``; a plugin adds its own through the
``trackerzoo_register_dataset_loaders`` hook. ``register_loader`` adds one at run time
(to the process-wide registry, so ``reset_default_registry()`` forgets it).
"""

from __future__ import annotations

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
from trackerzoo.registry import default_registry

Loader = Callable[..., Dataset]

# The distribution recorded for loaders added with ``register_loader``.
RUNTIME_DISTRIBUTION = "<register_loader>"


def register_loader(kind: str, loader: Loader, *, description: str = "") -> Loader:
    """Make ``load_dataset(kind, root, **options)`` call ``loader(root, **options)``; returns ``loader``.

    Raises ``ValueError`` naming ``kind`` when another loader already serves it.
    """
    default_registry().scope(RUNTIME_DISTRIBUTION).add_loader(kind, loader, description=description)
    return loader


def dataset_kinds() -> dict[str, str]:
    """Registered kinds with a one-line description each, sorted by kind."""
    loaders = default_registry().loaders
    return {kind: loaders[kind].description for kind in sorted(loaders)}


def load_dataset(kind: str, root: str | os.PathLike, **options: Any) -> Dataset:
    """Load the dataset of layout ``kind`` found under ``root``.

    Listing is lazy: no image is decoded and annotation files are parsed only when a
    sequence's boxes are first read. Raises ``ValueError`` for an unknown kind (listing
    the known ones) and ``FileNotFoundError`` for a missing ``root``.
    """
    info = default_registry().get_loader(kind)
    path = Path(root)
    if not path.exists():
        raise FileNotFoundError(f"dataset root {os.fspath(root)!r} does not exist")
    return info.loader(path, **options)


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
