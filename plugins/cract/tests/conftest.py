"""Fixtures of the CRACT plugin tests: small configs and a short procedural sequence."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from trackerzoo_cract.params import MODEL_CONFIGS

from trackerzoo.datasets.synthetic import DatasetSpec, SceneConfig, generate_sequence


@pytest.fixture
def config():
    return MODEL_CONFIGS["mobilenetv2"]


@pytest.fixture(scope="session")
def procedural_clip() -> tuple[list[np.ndarray], np.ndarray]:
    """Eight 320x240 frames of a procedural target and its boxes (x, y, w, h)."""
    spec = DatasetSpec(sequences=1, frames=(8, 8), seed=7, procedural=True,
                       config=dataclasses.replace(SceneConfig(), frame_size=(320, 240)))
    _scene, frames = generate_sequence(spec, 0)
    truths = list(frames)
    return [t.image for t in truths], np.stack([t.box for t in truths])


@pytest.fixture(autouse=True)
def _seeded():
    torch.manual_seed(0)
