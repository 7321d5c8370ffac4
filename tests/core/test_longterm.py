"""The long-term state machine (trackerzoo.longterm) with a scripted tracker: loss, search, verification."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pytest

import trackerzoo
from trackerzoo import Prediction, Tracker
from trackerzoo.longterm import ABSENT, CONFIRM, PRESENT, Candidate, LongTermParams, LongTermTracker, global_tiles

SIDE = 40  # the fake tracker's search region, pixels
H, W = 120, 200


def _frame(square: tuple[int, int] | None = None, look_alike: tuple[int, int] | None = None) -> np.ndarray:
    """Black frame; the target is a white 10x10 square at ``square`` (x, y), a look-alike a grey one."""
    frame = np.zeros((H, W, 3), dtype=np.uint8)
    for corner, value in ((square, 255), (look_alike, 128)):
        if corner is not None:
            frame[corner[1]:corner[1] + 10, corner[0]:corner[0] + 10] = value
    return frame


class FakeTracker(Tracker):
    """Finds bright squares in a window around its state; the grey look-alike fails the initial-appearance check."""

    long_term_defaults: ClassVar[dict[str, Any]] = {"lost_threshold": 0.5, "reacquire_threshold": 0.5}

    def _initialize(self, frame, box, mask):
        self.centre = np.array([box[0] + box[2] / 2.0, box[1] + box[3] / 2.0])
        self.updates_enabled = True
        self.update_log: list[bool] = []

    def _window(self, frame, centre, side):
        x0, y0 = (np.asarray(centre) - side / 2.0).astype(int)
        window = frame[max(y0, 0):max(y0 + int(side), 0), max(x0, 0):max(x0 + int(side), 0), 0]
        for value, checks in ((255, 0.9), (128, 0.1)):
            ys, xs = np.nonzero(window == value)
            if xs.size:
                box = (float(xs.min() + max(x0, 0)), float(ys.min() + max(y0, 0)), 10.0, 10.0)
                return box, 0.9, checks
        return (float(centre[0]) - 5.0, float(centre[1]) - 5.0, 10.0, 10.0), 0.0, 0.0

    def _track(self, frame):
        box, confidence, _checks = self._window(frame, self.centre, SIDE)
        if confidence > 0:
            self.centre = np.array([box[0] + 5.0, box[1] + 5.0])
        self.update_log.append(self.updates_enabled)
        return Prediction(box, confidence)

    def presence(self, prediction):
        return prediction.score

    def search_side(self):
        return float(SIDE)

    def score_regions(self, frame, centres, factor, scale=1.0):
        found = []
        for centre in centres:
            box, confidence, checks = self._window(frame, centre, SIDE * factor * scale)
            found.append(Candidate(box, confidence, {"initial": checks, "recent": checks}))
        return found

    def set_online_updates(self, enabled):
        self.updates_enabled = enabled

    def reacquire(self, box):
        self.centre = np.array([box[0] + 5.0, box[1] + 5.0])


def _long_term(**overrides) -> LongTermTracker:
    tracker = trackerzoo.create(FakeTracker, long_term=overrides or True)
    assert isinstance(tracker, LongTermTracker)
    tracker.initialize(_frame((20, 20)), box=(20, 20, 10, 10))
    return tracker


def test_lost_after_n_low_frames_keeps_the_last_box_and_stops_updates():
    tracker = _long_term(lost_after=3, widen_frames=0)
    assert tracker.track(_frame((22, 21))).present
    states = [tracker.track(_frame()) for _ in range(4)]
    assert [p.present for p in states] == [True, True, False, False]
    assert all(p.box == (22.0, 21.0, 10.0, 10.0) for p in states[2:])
    assert tracker.inner.update_log == [True, True, False, False]  # off from the first low frame on
    assert not tracker.inner.updates_enabled


def test_search_widens_then_slides_over_the_whole_frame_at_two_sizes():
    tracker = _long_term(lost_after=1, widen_frames=2, tiles_per_frame=3, grown_scale=2.0)
    tracker.track(_frame())  # lost
    regions = [tracker.track(_frame()).extra["regions"] for _ in range(2)]
    assert regions == [1, 1]  # the widened region around the last box
    tiles = global_tiles((H, W), SIDE, tracker.params.tile_stride)
    grown = global_tiles((H, W), 2 * SIDE, tracker.params.tile_stride)
    assert len(tracker._sweep(_frame())) == len(tiles) + len(grown) and len(grown) < len(tiles)
    frames = -(-(len(tiles) + len(grown)) // 3)
    seen = [tracker.track(_frame()).extra["regions"] for _ in range(frames)]
    assert set(seen) == {4}  # the region at the last box and 3 tiles per frame


def test_global_tiles_cover_the_frame():
    tiles = global_tiles((H, W), SIDE, 0.5)
    ys, xs = np.mgrid[0:H:3, 0:W:3]
    points = np.stack([xs.ravel(), ys.ravel()], axis=1)
    nearest = np.abs(points[:, None, :] - tiles[None]).max(axis=-1).min(axis=1)
    assert nearest.max() <= 0.5 * SIDE / 2.0 + 1.0


def test_reacquires_the_target_elsewhere_but_not_a_look_alike():
    tracker = _long_term(lost_after=1, widen_frames=0, tiles_per_frame=100)
    tracker.track(_frame())
    for _ in range(3):  # a look-alike alone: found, but it fails the appearance check
        prediction = tracker.track(_frame(look_alike=(150, 90)))
        assert not prediction.present and tracker.state == ABSENT
    first = tracker.track(_frame((150, 20), look_alike=(150, 90)))
    assert not first.present and tracker.state == CONFIRM  # found once: confirmed on the next frame
    log = len(tracker.inner.update_log)
    second = tracker.track(_frame((152, 21), look_alike=(150, 90)))
    assert second.present and second.box == (152.0, 21.0, 10.0, 10.0) and tracker.state == PRESENT
    assert len(tracker.inner.update_log) == log  # the inner tracker was not run while absent
    assert tracker.inner.updates_enabled
    assert tracker.track(_frame((154, 22))).box == (154.0, 22.0, 10.0, 10.0)


def test_a_candidate_that_moved_too_far_is_not_confirmed():
    tracker = _long_term(lost_after=1, widen_frames=0, tiles_per_frame=100, confirm_distance=1.0)
    tracker.track(_frame())
    tracker.track(_frame((150, 20)))
    assert tracker.state == CONFIRM
    assert not tracker.track(_frame((30, 90))).present  # the confirming region does not see it
    assert tracker.state == ABSENT


def test_long_term_options_are_checked():
    assert Prediction((1, 2, 3, 4), 0.5).present is True
    with pytest.raises(ValueError, match="long_term must be true or false"):
        trackerzoo.create(FakeTracker, long_term="maybe")
    with pytest.raises(ValueError, match="unknown long-term parameter"):
        trackerzoo.create(FakeTracker, long_term={"lost_frames": 3})
    with pytest.raises(ValueError, match="reacquire_threshold >= lost_threshold"):
        trackerzoo.create(FakeTracker, long_term={"lost_threshold": 0.9, "reacquire_threshold": 0.5})
    with pytest.raises(ValueError, match="has no long-term mode"):
        trackerzoo.create(_PlainTracker, long_term=True)
    assert not isinstance(trackerzoo.create(FakeTracker, long_term="false"), LongTermTracker)
    assert LongTermParams().lost_after == 3


class _PlainTracker(Tracker):
    def _initialize(self, frame, box, mask):
        self.box = box

    def _track(self, frame):
        return Prediction(self.box, 1.0)
