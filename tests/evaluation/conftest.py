"""Fixtures shared by the runner tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from trackerzoo.datasets.synthetic import DatasetSpec, SceneConfig, build_dataset


@pytest.fixture(scope="session")
def small_set(tmp_path_factory) -> Path:
    """Four procedural 160x120 sequences of 24 to 32 frames (and their VOT copy under ``vot/``)."""
    spec = DatasetSpec(sequences=4, frames=(24, 32), seed=11, procedural=True,
                       config=SceneConfig(frame_size=(160, 120), object_size=(60.0, 110.0)))
    root = tmp_path_factory.mktemp("runner_set")
    build_dataset(spec, root, progress=False)
    return root
