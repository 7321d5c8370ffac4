"""CRACT's output on two short fixed sequences is pinned (fixtures/cract_regression.json).

The fixture was written by ``scripts/cract_regression_fixture.py`` before the core's
learners, ops and tracking loop were refactored; a refactor must reproduce it. An
intended change of CRACT's behaviour regenerates the fixture in the same commit.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[3]
FIXTURE = Path(__file__).parent / "fixtures" / "cract_regression.json"


def _script():
    spec = importlib.util.spec_from_file_location("cract_regression_fixture",
                                                  ROOT / "scripts" / "cract_regression_fixture.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def sequences():
    return _script().fixture_sequences()


@pytest.mark.parametrize("name", ["demo_red_jacket", "procedural_seed11"])
def test_cract_reproduces_the_pinned_boxes_and_scores(sequences, name):
    expected = json.loads(FIXTURE.read_text())[name]
    frames, init_box = sequences[name]
    assert list(init_box) == expected["init_box"]
    boxes, scores = _script().run_cract(frames, init_box)
    assert len(boxes) == len(expected["boxes"]) == len(frames) - 1
    np.testing.assert_allclose(np.array(boxes), np.array(expected["boxes"]), rtol=0, atol=1e-4)
    np.testing.assert_allclose(np.array(scores), np.array(expected["scores"]), rtol=0, atol=1e-5)
