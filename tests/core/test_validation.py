"""Input checking at the API boundary: every bad input is a ValueError naming the value."""

from __future__ import annotations

import numpy as np
import pytest

import trackerzoo
from trackerzoo.errors import NotInitializedError


@pytest.fixture
def frame(rng) -> np.ndarray:
    return rng.integers(0, 256, size=(120, 160, 3), dtype=np.uint8)


@pytest.fixture
def tracker():
    return trackerzoo.create("csrt")


def test_float_frame_is_rejected_with_its_dtype(tracker, frame):
    with pytest.raises(ValueError, match="float32"):
        tracker.initialize(frame.astype(np.float32), box=(10, 10, 20, 20))


def test_wrong_shaped_frame_names_the_shape(tracker):
    with pytest.raises(ValueError, match=r"\(10, 10, 5\)"):
        tracker.initialize(np.zeros((10, 10, 5), np.uint8), box=(1, 1, 3, 3))


def test_non_array_frame(tracker):
    with pytest.raises(ValueError, match="list"):
        tracker.initialize([[0]], box=(1, 1, 3, 3))


@pytest.mark.parametrize("shape", [(120, 160), (120, 160, 1), (120, 160, 4)])
def test_gray_and_rgba_frames_are_converted(tracker, rng, shape):
    frame = rng.integers(0, 256, size=shape, dtype=np.uint8)
    tracker.initialize(frame, box=(40, 30, 40, 40))
    prediction = tracker.track(frame)
    assert len(prediction.box) == 4


@pytest.mark.parametrize(
    ("box", "needle"),
    [
        ((float("nan"), 10, 20, 20), "non-finite"),
        ((10, 10, float("inf"), 20), "non-finite"),
        ((10, 10, -5, 20), "w=-5"),
        ((10, 10, 20, 0), "h=0"),
        ((500, 10, 20, 20), "outside the frame"),
        ((-50, -50, 20, 20), "outside the frame"),
        ((1, 2, 3), "4 values"),
        (("a", 2, 3, 4), "numbers"),
        ("10,10,5,5", "sequence"),
    ],
)
def test_bad_boxes(tracker, frame, box, needle):
    with pytest.raises(ValueError, match=needle):
        tracker.initialize(frame, box=box)


def test_partly_outside_box_is_accepted(tracker, frame):
    tracker.initialize(frame, box=(-10, -10, 40, 40))
    assert tracker.is_initialized


def test_empty_mask(tracker, frame):
    with pytest.raises(ValueError, match="empty"):
        tracker.initialize(frame, mask=np.zeros(frame.shape[:2], bool))


def test_mask_shape_mismatch_names_both_shapes(tracker, frame):
    with pytest.raises(ValueError, match=r"\(60, 80\).*\(120, 160\)"):
        tracker.initialize(frame, mask=np.ones((60, 80), bool))


def test_mask_with_values_other_than_0_1(tracker, frame):
    mask = np.zeros(frame.shape[:2], np.uint8)
    mask[10:20, 10:20] = 7
    with pytest.raises(ValueError, match="7"):
        tracker.initialize(frame, mask=mask)


def test_box_tracker_takes_the_bounding_box_of_a_mask(tracker, frame):
    mask = np.zeros(frame.shape[:2], np.uint8)
    mask[20:50, 30:70] = 1
    tracker.initialize(frame, mask=mask)
    assert tracker.track(frame).box is not None


def test_box_tracker_rejects_box_and_mask_together(tracker, frame):
    mask = np.zeros(frame.shape[:2], bool)
    mask[20:50, 30:70] = True
    with pytest.raises(ValueError, match="not both"):
        tracker.initialize(frame, box=(30, 20, 40, 30), mask=mask)


def test_missing_target(tracker, frame):
    with pytest.raises(ValueError, match="box="):
        tracker.initialize(frame)


def test_track_before_initialize(tracker, frame):
    with pytest.raises(NotInitializedError, match="before initialize"):
        tracker.track(frame)
    assert issubclass(NotInitializedError, ValueError)


def test_frame_size_change_mid_sequence(tracker, frame):
    tracker.initialize(frame, box=(10, 10, 30, 30))
    with pytest.raises(ValueError, match=r"80x60.*160x120"):
        tracker.track(frame[:60, :80])


def test_failed_reinitialisation_leaves_tracker_uninitialised(tracker, frame):
    tracker.initialize(frame, box=(10, 10, 30, 30))
    with pytest.raises(ValueError):
        tracker.initialize(frame, box=(10, 10, 0, 30))
    # The bad call was rejected before any state changed, so the old target stays tracked.
    assert tracker.is_initialized
