"""Fixtures of the ARN plugin tests: a short procedural clip with exact masks."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from trackerzoo_arn import hooks

from trackerzoo.datasets.synthetic import DatasetSpec, SceneConfig, generate_sequence
from trackerzoo.registry import Registry, load_registry


@pytest.fixture(scope="module")
def arn_registry() -> Registry:
    """A registry holding only this plugin (the tests do not depend on what else is installed)."""
    return load_registry([(hooks, "trackerzoo-arn")], autoload=False)


@pytest.fixture(scope="session")
def arn_clip() -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
    """Twelve 320x240 frames of a procedural (non-rectangular) target, its masks and boxes."""
    spec = DatasetSpec(sequences=1, frames=(12, 12), seed=5, procedural=True,
                       config=dataclasses.replace(SceneConfig(), frame_size=(320, 240)))
    _scene, frames = generate_sequence(spec, 0)
    truths = list(frames)
    return [t.image for t in truths], [t.mask for t in truths], np.stack([t.box for t in truths])
