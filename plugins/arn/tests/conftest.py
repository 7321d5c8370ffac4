"""Fixtures of the ARN plugin tests: a short procedural clip with exact masks."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from trackerzoo.datasets.synthetic import DatasetSpec, SceneConfig, generate_sequence


@pytest.fixture(scope="session")
def arn_clip() -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
    """Twelve 320x240 frames of a procedural (non-rectangular) target, its masks and boxes."""
    spec = DatasetSpec(sequences=1, frames=(12, 12), seed=5, procedural=True,
                       config=dataclasses.replace(SceneConfig(), frame_size=(320, 240)))
    _scene, frames = generate_sequence(spec, 0)
    truths = list(frames)
    return [t.image for t in truths], [t.mask for t in truths], np.stack([t.box for t in truths])
