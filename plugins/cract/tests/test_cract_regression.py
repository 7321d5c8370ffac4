"""CRACT's output on two short fixed sequences is pinned (fixtures/cract_regression.json).

The fixture was written by ``scripts/cract_regression_fixture.py`` before the core's
learners, ops and tracking loop were refactored; a refactor must reproduce it. An
intended change of CRACT's behaviour regenerates the fixture in the same commit.

The script runs in a child process, so that its pinned numeric environment (every library on
AVX2, see ``PINNED_ENV`` there) applies from start-up: this process's libraries have already
chosen their instruction sets, and on an AVX-512 machine the boxes would drift by pixels.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[3]
FIXTURE = Path(__file__).parent / "fixtures" / "cract_regression.json"


@pytest.fixture(scope="module")
def rerun(tmp_path_factory) -> dict:
    """The fixture script's output now, from a child process in the pinned environment."""
    out = tmp_path_factory.mktemp("cract_regression") / "now.json"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "cract_regression_fixture.py"), str(out)],
                   check=True, cwd=ROOT, timeout=600, capture_output=True)
    return json.loads(out.read_text())


@pytest.mark.parametrize("name", ["demo_red_jacket", "procedural_seed11"])
def test_cract_reproduces_the_pinned_boxes_and_scores(rerun, name):
    expected = json.loads(FIXTURE.read_text())[name]
    assert rerun[name]["init_box"] == expected["init_box"]
    boxes, scores = rerun[name]["boxes"], rerun[name]["scores"]
    assert len(boxes) == len(expected["boxes"])
    np.testing.assert_allclose(np.array(boxes), np.array(expected["boxes"]), rtol=0, atol=1e-4)
    np.testing.assert_allclose(np.array(scores), np.array(expected["scores"]), rtol=0, atol=1e-5)
