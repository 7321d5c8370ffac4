"""The one tracking loop: ``run_tracker`` and ``track_frames`` built on it."""

from __future__ import annotations

import itertools
import time

import numpy as np
import pytest

from trackerzoo import Prediction, Tracker
from trackerzoo.datasets import ArrayFrames, Sequence
from trackerzoo.session import FrameResult, initial_prediction, run_ope, run_tracker, track_frames


class StepTracker(Tracker):
    """Moves its box one pixel right per frame and records what it was given."""

    def _initialize(self, frame, box, mask):
        self.box = box
        self.init = (box, mask)
        self.seen = [int(frame[0, 0, 0])]

    def _track(self, frame):
        self.seen.append(int(frame[0, 0, 0]))
        x, y, w, h = self.box
        self.box = (x + 1.0, y, w, h)
        return Prediction(self.box, 0.5)


def _frames(count: int, pulled: list[int] | None = None, delay: float = 0.0):
    """Frames whose pixels hold their index; ``pulled`` records every frame the loop asked for."""
    for index in range(count):
        if delay:
            time.sleep(delay)
        if pulled is not None:
            pulled.append(index)
        yield np.full((24, 32, 3), index, dtype=np.uint8)


def test_run_tracker_initialises_then_tracks_every_frame_in_order():
    tracker = StepTracker()
    steps = list(run_tracker(tracker, _frames(5), init_box=(2, 3, 10, 8)))
    assert [step.index for step in steps] == [0, 1, 2, 3, 4]
    assert all(isinstance(step, FrameResult) for step in steps)
    assert tracker.seen == [0, 1, 2, 3, 4]
    assert [int(step.frame[0, 0, 0]) for step in steps] == [0, 1, 2, 3, 4]
    assert steps[0].prediction == Prediction((2.0, 3.0, 10.0, 8.0), 1.0)
    assert [step.prediction.box[0] for step in steps[1:]] == [3.0, 4.0, 5.0, 6.0]
    assert all(step.seconds >= 0 for step in steps)


def test_run_tracker_pulls_frames_lazily():
    pulled: list[int] = []
    steps = run_tracker(StepTracker(), _frames(10, pulled), init_box=(2, 3, 10, 8))
    assert pulled == []  # a generator: nothing runs before the first step is asked for
    assert [step.index for step in itertools.islice(steps, 3)] == [0, 1, 2]
    assert pulled == [0, 1, 2]


def test_seconds_exclude_reading_the_frames():
    steps = list(run_tracker(StepTracker(), _frames(4, delay=0.05), init_box=(2, 3, 10, 8)))
    assert max(step.seconds for step in steps) < 0.04


def test_mask_initialisation_reaches_the_tracker_and_frame_zero():
    mask = np.zeros((24, 32), dtype=bool)
    mask[4:10, 6:16] = True
    tracker = StepTracker()
    first = next(run_tracker(tracker, _frames(3), init_mask=mask))
    assert tracker.init[0] == (6.0, 4.0, 10.0, 6.0) and tracker.init[1] is None  # box-only: mask's box
    assert first.prediction.box == (6.0, 4.0, 10.0, 6.0)
    np.testing.assert_array_equal(first.prediction.mask, mask)


def test_empty_source_and_missing_target_are_value_errors():
    with pytest.raises(ValueError, match="no frames"):
        next(run_tracker(StepTracker(), [], init_box=(0, 0, 4, 4)))
    with pytest.raises(ValueError, match="box=None"):
        initial_prediction(None, np.zeros((4, 4), dtype=bool))
    with pytest.raises(ValueError, match="needs the target"):
        next(run_tracker(StepTracker(), _frames(2)))


def test_track_frames_collects_the_loop_and_calls_back():
    calls: list[tuple[int, int, tuple]] = []
    run = track_frames(StepTracker(), _frames(4), init_box=(2, 3, 10, 8),
                       on_frame=lambda index, frame, prediction: calls.append(
                           (index, int(frame[0, 0, 0]), prediction.box)))
    expected = [step.prediction for step in run_tracker(StepTracker(), _frames(4), init_box=(2, 3, 10, 8))]
    assert run.predictions == expected
    assert len(run.seconds) == 4
    assert calls == [(i, i, p.box) for i, p in enumerate(expected)]
    assert run.fps > 0


def _sequence(count: int, first_box) -> Sequence:
    frames = np.stack([np.full((24, 32, 3), index, dtype=np.uint8) for index in range(count)])
    boxes = np.tile(np.asarray(first_box, dtype=np.float64), (count, 1))
    return Sequence("seq", ArrayFrames(frames), boxes)


def test_run_ope_starts_from_the_ground_truth_box_and_stops_at_max_frames():
    tracker = StepTracker()
    boxes, times = run_ope(tracker, _sequence(6, (2, 3, 10, 8)), max_frames=4)
    assert tracker.seen == [0, 1, 2, 3]
    assert boxes.shape == (4, 4) and len(times) == 4
    np.testing.assert_array_equal(boxes[:, 0], [2.0, 3.0, 4.0, 5.0])
    assert tracker.init == ((2.0, 3.0, 10.0, 8.0), None)


def test_run_ope_refuses_a_first_frame_without_a_box():
    with pytest.raises(ValueError, match="no ground-truth box on frame 0"):
        run_ope(StepTracker(), _sequence(3, (np.nan, 3, 10, 8)))
