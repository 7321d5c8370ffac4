"""Tracker speed: frames per second of ``track()`` alone on the bundled clip.

Frames are decoded before timing and nothing is drawn, so the numbers measure the
tracker, not I/O. Each round initialises a fresh tracker (untimed) and then times
``track()`` over the next frames; FPS = frames / median round time, stored in
``extra_info``. Trackers without shipped weights are timed with ``weights=None``
(random heads): the compute is the same, only the output is meaningless.
"""

from __future__ import annotations

import itertools

import pytest

import trackerzoo
from trackerzoo.demo_data import DEMO_CLIP, DEMO_INIT_BOX
from trackerzoo.errors import WeightsNotFoundError
from trackerzoo.io import open_frames

FRAMES = 40
TRACKERS = ("csrt", "kcf", "mil", "cract", "rts", "ibfp", "rpvt")


@pytest.fixture(scope="module")
def clip():
    return list(itertools.islice(open_frames(DEMO_CLIP), FRAMES + 1))


def _make(name: str):
    try:
        return trackerzoo.create(name, device="cpu"), "default"
    except (WeightsNotFoundError, FileNotFoundError):
        return trackerzoo.create(name, device="cpu", weights=None), "none (random heads)"


@pytest.mark.parametrize("name", TRACKERS)
def test_tracker_fps_cpu(benchmark, clip, name):
    if name not in {info.name for info in trackerzoo.list_trackers()}:
        pytest.skip(f"{name} is not installed")
    state = {}

    def setup():
        tracker, weights = _make(name)
        tracker.initialize(clip[0], box=DEMO_INIT_BOX)
        state["weights"] = weights
        return (tracker,), {}

    def run(tracker):
        for frame in clip[1:]:
            tracker.track(frame)

    benchmark.group = "tracker-fps"
    benchmark.pedantic(run, setup=setup, rounds=3, iterations=1)
    benchmark.extra_info["frames_per_round"] = FRAMES
    benchmark.extra_info["fps"] = FRAMES / benchmark.stats.stats.median
    benchmark.extra_info["weights"] = state["weights"]
