"""A tracker from outside the repository: one small file plus an entry point."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

PLUGIN_MODULE = '''
"""A third-party tracker: it reports the initial box forever."""
import dataclasses
import trackerzoo


@dataclasses.dataclass
class Params:
    shrink: float = 0.0


class FrozenBoxTracker(trackerzoo.Tracker):
    Params = Params

    def _initialize(self, frame, box, mask):
        x, y, w, h = box
        s = self.params.shrink
        self._box = (x + s, y + s, w - 2 * s, h - 2 * s)

    def _track(self, frame):
        return trackerzoo.Prediction(box=self._box, score=0.5)


@trackerzoo.hookimpl
def trackerzoo_register_trackers(registry):
    registry.add("frozenbox", FrozenBoxTracker, paper="none", description="third-party example")
'''

PYPROJECT = """
[build-system]
requires = ["setuptools>=64"]
build-backend = "setuptools.build_meta"

[project]
name = "frozenbox-tracker"
version = "0.0.1"

[project.entry-points.trackerzoo]
frozenbox = "frozenbox_tracker"
"""


@pytest.mark.slow
def test_installed_third_party_plugin_is_found_by_create(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "frozenbox_tracker.py").write_text(textwrap.dedent(PLUGIN_MODULE))
    (package / "pyproject.toml").write_text(textwrap.dedent(PYPROJECT))
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(package),
        ],
        check=True,
    )
    script = textwrap.dedent(
        """
        import numpy as np, trackerzoo
        info = {i.name: i for i in trackerzoo.list_trackers()}["frozenbox"]
        assert info.distribution == "frozenbox-tracker", info.distribution
        tracker = trackerzoo.create("frozenbox", shrink=2.0)
        frame = np.zeros((50, 60, 3), np.uint8)
        tracker.initialize(frame, box=(10, 10, 20, 20))
        print(tracker.track(frame).box)
        """
    )
    env = dict(os.environ, PYTHONPATH=str(target))
    env.pop("TRACKERZOO_DISABLE_PLUGIN_AUTOLOAD", None)
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "(12.0, 12.0, 16.0, 16.0)"
