"""Fixtures of the RPVT plugin tests: a short procedural clip with masks."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from trackerzoo.datasets.synthetic import DatasetSpec, SceneConfig, generate_sequence


@pytest.fixture(scope="session")
def procedural_clip() -> tuple[list[np.ndarray], np.ndarray, list[np.ndarray]]:
    """Twenty 320x240 frames of a procedural target: images, boxes (x, y, w, h), masks."""
    spec = DatasetSpec(sequences=1, frames=(20, 20), seed=11, procedural=True,
                       config=dataclasses.replace(SceneConfig(), frame_size=(320, 240)))
    _scene, frames = generate_sequence(spec, 0)
    truths = list(frames)
    return [t.image for t in truths], np.stack([t.box for t in truths]), [t.mask for t in truths]


@pytest.fixture(autouse=True)
def _seeded():
    torch.manual_seed(0)
