"""CRACT's results depend on its parameters and the frames only (issue #20, item 4).

Before the fix ``create()`` drew the network's initial weights from torch's global
generator (advancing the caller's state, and making ``weights=None`` networks depend on
it) and ``initialize()`` seeded the global generator inside ``fork_rng`` (not thread-safe).
"""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch
from trackerzoo_cract.model import CractNet
from trackerzoo_cract.params import MODEL_CONFIGS

import trackerzoo
from trackerzoo.errors import WeightsNotFoundError

SMALL = {"update_interval": 2, "init_positives": 50, "init_negatives": 200, "update_negatives": 50}
FRAMES = 4


def _disturb() -> None:
    """Random calls a caller might make between tracker calls."""
    torch.manual_seed(12345)
    torch.rand(11)
    np.random.default_rng().random(3)


def _create(**params):
    return trackerzoo.create("cract", weights=None, device="cpu", **SMALL, **params)


def _track(tracker, frames, box) -> list[tuple[tuple[float, ...], float]]:
    tracker.initialize(frames[0], box)
    return [(tuple(p.box), p.score) for p in (tracker.track(frame) for frame in frames[1:])]


@pytest.fixture(scope="module")
def clip(procedural_clip):
    frames, boxes = procedural_clip
    return frames[:FRAMES], tuple(float(v) for v in boxes[0])


@pytest.fixture(scope="module")
def reference(clip):
    torch.manual_seed(0)
    return _track(_create(), *clip)


@pytest.mark.parametrize("weights", [None, "default"])
def test_create_leaves_the_global_generator_alone(weights):
    torch.manual_seed(7)
    before = torch.get_rng_state()
    trackerzoo.create("cract", weights=weights, device="cpu")
    assert torch.equal(torch.get_rng_state(), before)


def test_random_weights_are_a_function_of_the_seed_parameter():
    states = []
    for global_seed in (1, 2):
        torch.manual_seed(global_seed)
        states.append(_create().network.state_dict())
    assert states[0].keys() == states[1].keys()
    for name, value in states[0].items():
        assert torch.equal(value, states[1][name]), name
    other = _create(seed=1).network.state_dict()
    assert not all(torch.equal(value, other[name]) for name, value in states[0].items())
    # The seed gives the values torch.manual_seed(seed) gives (the numbers CRACT had before).
    torch.manual_seed(0)
    try:
        seeded = CractNet(MODEL_CONFIGS["mobilenetv2"], pretrained_backbone=True).state_dict()
    except WeightsNotFoundError:
        torch.manual_seed(0)
        seeded = CractNet(MODEL_CONFIGS["mobilenetv2"], pretrained_backbone=False).state_dict()
    for name, value in states[0].items():
        assert torch.equal(value, seeded[name]), name


def test_tracking_leaves_the_global_generator_alone_and_ignores_it(clip, reference):
    torch.manual_seed(99)
    tracker = _create()
    before = torch.get_rng_state()
    frames, box = clip
    tracker.initialize(frames[0], box)
    results = []
    for frame in frames[1:]:
        assert torch.equal(torch.get_rng_state(), before)
        results.append(tracker.track(frame))
    assert torch.equal(torch.get_rng_state(), before)
    assert [(tuple(p.box), p.score) for p in results] == reference


def test_interleaved_trackers_match_separate_runs(clip, reference):
    frames, box = clip
    trackers = [_create() for _ in range(2)]
    for tracker in trackers:
        _disturb()
        tracker.initialize(frames[0], box)
    results: list[list] = [[], []]
    for frame in frames[1:]:
        for index, tracker in enumerate(trackers):
            _disturb()
            prediction = tracker.track(frame)
            results[index].append((tuple(prediction.box), prediction.score))
    assert results == [reference, reference]


def test_runs_in_two_threads_at_once_match_a_separate_run(clip, reference):
    start = threading.Barrier(2)
    results: dict[int, list] = {}

    def work(slot: int) -> None:
        tracker = _create()
        start.wait()
        results[slot] = _track(tracker, *clip)

    threads = [threading.Thread(target=work, args=(slot,)) for slot in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert results == {0: reference, 1: reference}
