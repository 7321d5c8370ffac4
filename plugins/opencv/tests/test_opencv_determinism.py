"""MIL's results depend on its parameters and frames only (issue #20, item 4).

OpenCV's MIL draws its Haar features from the C ``rand()`` and seeds its sampler from
``cv::theRNG()`` inside ``init()``; before the fix a second run in the same process, a run
after other random calls, and ``eval --workers 1`` vs ``2`` all gave different boxes.
"""

from __future__ import annotations

import ctypes
import sys
import threading

import cv2
import numpy as np
import pytest
import torch

import trackerzoo
from trackerzoo.cli.main import main
from trackerzoo.datasets import load_dataset
from trackerzoo.datasets.synthetic import DatasetSpec, SceneConfig, build_dataset
from trackerzoo.formats import results_io

Boxes = list[tuple[float, float, float, float]]


def _clip(seed: int, length: int = 8) -> tuple[list[np.ndarray], tuple[int, int, int, int]]:
    """A textured 24x20 patch drifting over noise on 160x120 frames, and its first box."""
    rng = np.random.default_rng(seed)
    background = rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)
    patch = rng.integers(0, 256, (24, 20, 3), dtype=np.uint8)
    frames = []
    for t in range(length):
        frame = background.copy()
        x, y = 40 + 2 * t, 30 + t
        frame[y:y + 24, x:x + 20] = patch
        frames.append(frame)
    return frames, (40, 30, 20, 24)


CLIPS = [_clip(0), _clip(1)]


def _run(clip, **params) -> Boxes:
    frames, box = clip
    tracker = trackerzoo.create("mil", **params)
    tracker.initialize(frames[0], box)
    return [tracker.track(frame).box for frame in frames[1:]]


def _disturb_every_generator() -> None:
    """Random calls a caller might make before creating a tracker."""
    torch.rand(7)
    np.random.default_rng().random(3)
    np.random.rand(5)  # numpy's global state, on purpose
    cv2.setRNGSeed(987654)
    cv2.randu(np.zeros((4, 4), np.float32), 0.0, 1.0)
    if sys.platform != "win32":
        libc = ctypes.CDLL(None)
        libc.srand(4242)
        libc.rand()


@pytest.fixture(scope="module")
def separate() -> list[Boxes]:
    return [_run(clip) for clip in CLIPS]


def test_repeated_runs_in_one_process_agree(separate):
    _disturb_every_generator()
    assert [_run(clip) for clip in CLIPS] == separate
    assert [_run(clip) for clip in CLIPS] == separate


def test_interleaved_trackers_match_separate_runs(separate):
    trackers = [trackerzoo.create("mil") for _ in CLIPS]
    for tracker, (frames, box) in zip(trackers, CLIPS, strict=True):
        tracker.initialize(frames[0], box)
        _disturb_every_generator()
    results: list[Boxes] = [[] for _ in CLIPS]
    for step in range(1, len(CLIPS[0][0])):
        for index, (tracker, (frames, _)) in enumerate(zip(trackers, CLIPS, strict=True)):
            _disturb_every_generator()
            results[index].append(tracker.track(frames[step]).box)
    assert results == separate


def test_runs_in_two_threads_at_once_match_separate_runs(separate):
    start = threading.Barrier(len(CLIPS) * 2)
    results: dict[int, Boxes] = {}

    def work(slot: int) -> None:
        start.wait()
        results[slot] = _run(CLIPS[slot % len(CLIPS)])

    threads = [threading.Thread(target=work, args=(slot,)) for slot in range(len(CLIPS) * 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(results) == list(range(len(CLIPS) * 2))
    for slot, boxes in results.items():
        assert boxes == separate[slot % len(CLIPS)], f"thread {slot}"


def test_the_seed_is_a_parameter(separate):
    assert _run(CLIPS[0], seed=0) == separate[0]
    # Other seeds draw other Haar features: at least one of a few changes the track.
    assert any(_run(CLIPS[0], seed=seed) != separate[0] for seed in (1, 2, 3))
    assert _run(CLIPS[0], seed=3) == _run(CLIPS[0], seed=3)


@pytest.mark.parametrize("seed", [-1, 2**31, 10**400, 1.0, True, "0", None])
def test_bad_seeds_are_refused_at_create(seed):
    with pytest.raises(ValueError, match="seed"):
        trackerzoo.create("mil", seed=seed)


@pytest.mark.parametrize("seed", [0, 2**31 - 1])
def test_seed_range_ends_are_accepted(seed):
    frames, box = CLIPS[0]
    tracker = trackerzoo.create("mil", seed=seed)
    tracker.initialize(frames[0], box)
    assert len(tracker.track(frames[1]).box) == 4


def test_eval_with_one_or_two_workers_writes_identical_results(tmp_path):
    # Seed 11 starts every target at least 28 px wide (a box a few pixels thin is another
    # kind of fault of OpenCV's MIL, issue #20 item 3).
    tiny_set = tmp_path / "data"
    scene = SceneConfig(frame_size=(160, 120), object_size=(100.0, 140.0))
    build_dataset(DatasetSpec(sequences=3, frames=(10, 10), seed=11, procedural=True, config=scene), tiny_set,
                  progress=False)
    outputs = {}
    for workers in (1, 2):
        out = tmp_path / f"workers{workers}"
        assert main(["eval", "--tracker", "mil", "--dataset", f"synthetic:{tiny_set}", "--out", str(out),
                     "--workers", str(workers), "--no-progress"]) == 0
        outputs[workers] = out
    for name in load_dataset("synthetic", tiny_set).names:
        one = results_io.box_result_path(outputs[1], name).read_text()
        two = results_io.box_result_path(outputs[2], name).read_text()
        assert one == two, name
        assert len(one.splitlines()) >= 10
