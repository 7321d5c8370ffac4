"""IBFP's presence score and long-term mode (issue #22): Redetector, frozen state, no updates, loss and return."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import trackerzoo
from trackerzoo.datasets.synthetic.procedural import procedural_background, procedural_sprite
from trackerzoo.geometry import box_iou_elementwise
from trackerzoo.longterm import LongTermTracker, Redetector

WIDTH, HEIGHT, SPRITE = 192, 144, 36
LEAVES, RETURNS, FRAMES = 4, 8, 12  # target visible on 0..3, gone on 4..7, back elsewhere from 8
# One widened frame, then the whole (small) frame every frame: 6 tiles 80 pixels apart, no grown sweep.
LONG_TERM = {"widen_frames": 1, "tiles_per_frame": 6, "tile_stride": 1.0, "grown_scale": 1.0}
# The untraced network (no tracing cost per tracker; the traced one is the same to float tolerance).
SETTINGS = {"device": "cpu", "inference": "eager", "update_interval": 2}


def _position(t: int) -> tuple[int, int] | None:
    """Top-left corner of the sprite on frame ``t`` (pixels), None while it is away."""
    if t < LEAVES:
        return 20 + 5 * t, 30 + 2 * t
    if t < RETURNS:
        return None
    return 104 - 2 * (t - RETURNS), 76 - (t - RETURNS)


@pytest.fixture(scope="module")
def leave_and_return() -> tuple[list[np.ndarray], list[tuple[int, int, int, int] | None]]:
    """``FRAMES`` frames (``HEIGHT`` x ``WIDTH``) of a procedural sprite that leaves and re-enters elsewhere."""
    rng = np.random.default_rng(3)
    background = procedural_background(rng, (WIDTH, HEIGHT)).astype(np.float32)
    rgba = procedural_sprite(rng, SPRITE).rgba.astype(np.float32)
    colour, alpha = rgba[..., :3] * 255.0, rgba[..., 3:]
    rows, cols = alpha.shape[:2]
    frames, boxes = [], []
    for t in range(FRAMES):
        frame = background.copy()
        corner = _position(t)
        if corner is not None:
            x0, y0 = corner
            frame[y0:y0 + rows, x0:x0 + cols] = alpha * colour + (1.0 - alpha) * frame[y0:y0 + rows, x0:x0 + cols]
        frames.append(np.clip(np.round(frame), 0, 255).astype(np.uint8))
        boxes.append(None if corner is None else (corner[0], corner[1], cols, rows))
    return frames, boxes


@pytest.fixture(scope="module")
def long_term_run(leave_and_return):
    """Predictions of ``create("ibfp", long_term=...)`` over the clip (frame 0: the initial box)."""
    frames, boxes = leave_and_return
    tracker = trackerzoo.create("ibfp", long_term=LONG_TERM, **SETTINGS)
    tracker.initialize(frames[0], box=boxes[0])
    return tracker, [trackerzoo.Prediction(boxes[0], 1.0)] + [tracker.track(frame) for frame in frames[1:]]


def _online_state(tracker) -> list[torch.Tensor]:
    online = tracker.online
    return [online.learner.filter.clone(), online.memory.weights.clone(), online.memory["x"].clone()]


def test_ibfp_is_a_redetector_with_thresholds_through_its_calibration():
    tracker = trackerzoo.create("ibfp", **SETTINGS)
    assert isinstance(tracker, Redetector)
    assert tracker.presence_map.calibrated  # weights/manifest.json: presence_calibration of ibfp_mobilenetv2
    for name, raw in tracker.raw_long_term_thresholds.items():
        assert tracker.long_term_defaults[name] == pytest.approx(tracker.presence_map(raw))
    assert tracker.long_term_defaults["lost_threshold"] < tracker.long_term_defaults["reacquire_threshold"]
    untrained = trackerzoo.create("ibfp", device="cpu", weights=None, inference="eager")
    assert not untrained.presence_map.calibrated
    assert untrained.long_term_defaults["lost_threshold"] == type(untrained).raw_long_term_thresholds["lost_threshold"]


def test_score_regions_leaves_the_tracker_untouched(leave_and_return):
    frames, boxes = leave_and_return
    tracker = trackerzoo.create("ibfp", **SETTINGS)
    runs = []
    for probe in (False, True):  # the same sequence again from a fresh initialisation, now probed
        tracker.initialize(frames[0], box=boxes[0])
        predictions = []
        for t in range(1, 4):
            if probe and t in (1, 2):  # frame 2 refits the online filter (update_interval 2)
                before = _online_state(tracker)
                centres = np.array([[60.0, 50.0], [150.0, 100.0]])
                candidates = tracker.score_regions(frames[t], centres, 1.0) + tracker.score_regions(
                    frames[t], centres[:1], 2.0, scale=1.5)
                assert len(candidates) == 3
                for candidate in candidates:
                    assert 0.0 <= candidate.confidence <= 1.0 and set(candidate.checks) == {"initial", "recent"}
                    assert all(0.0 <= value <= 1.0 for value in candidate.checks.values())
                assert all(torch.equal(a, b) for a, b in zip(before, _online_state(tracker), strict=True))
            predictions.append(tracker.track(frames[t]))
        runs.append(predictions)
    assert [(p.box, p.score, p.extra) for p in runs[0]] == [(p.box, p.score, p.extra) for p in runs[1]]


def test_set_online_updates_false_stops_every_online_update(leave_and_return):
    frames, boxes = leave_and_return
    tracker = trackerzoo.create("ibfp", **{**SETTINGS, "update_interval": 1})
    tracker.initialize(frames[0], box=boxes[0])
    calls = {"remember": 0, "update": 0}
    for name in calls:
        original = getattr(tracker.online, name)

        def counted(*args, _name=name, _original=original, **kwargs):
            calls[_name] += 1
            return _original(*args, **kwargs)

        setattr(tracker.online, name, counted)
    tracker.set_online_updates(False)
    before = _online_state(tracker)
    stored = tracker.online.memory.num_stored
    for t in range(1, 3):
        tracker.track(frames[t])
    assert calls == {"remember": 0, "update": 0}
    assert tracker.online.memory.num_stored == stored
    assert all(torch.equal(a, b) for a, b in zip(before, _online_state(tracker), strict=True))
    tracker.set_online_updates(True)
    for t in range(2, 4):
        tracker.track(frames[t])
    assert calls["update"] == 2 and calls["remember"] >= 1  # update_interval 1: a refit every frame


def test_long_term_mode_loses_the_target_after_it_leaves_and_finds_it_again(leave_and_return, long_term_run):
    _frames, boxes = leave_and_return
    tracker, predictions = long_term_run
    assert isinstance(tracker, LongTermTracker)
    lost = tracker.params.lost_threshold
    for prediction in predictions[1:LEAVES]:
        assert prediction.present and lost <= prediction.score <= 1.0
        assert prediction.score == pytest.approx(tracker.inner.presence_map(prediction.extra["presence_raw"]))
    assert all(0.0 <= p.score <= 1.0 for p in predictions[1:])
    assert all(p.score < lost for p in predictions[LEAVES:RETURNS])  # the background scores low
    gone = [t for t in range(LEAVES, RETURNS) if not predictions[t].present]
    assert gone and gone[0] <= LEAVES + tracker.params.lost_after - 1
    assert all(not predictions[t].present for t in range(gone[0], RETURNS))
    back = [t for t in range(RETURNS, FRAMES) if predictions[t].present and float(
        box_iou_elementwise(np.array(predictions[t].box), np.array(boxes[t], dtype=float))) > 0.5]
    assert back and all(predictions[t].present for t in range(back[0], FRAMES))


def test_long_term_mode_is_deterministic(leave_and_return, long_term_run):
    frames, boxes = leave_and_return
    _, predictions = long_term_run
    tracker = trackerzoo.create("ibfp", long_term=LONG_TERM, **SETTINGS)
    tracker.initialize(frames[0], box=boxes[0])
    for t in range(1, RETURNS + 2):  # through the loss, the widened and the global search
        again = tracker.track(frames[t])
        assert (again.box, again.score, again.present) == (predictions[t].box, predictions[t].score,
                                                           predictions[t].present)


def test_bad_regions_and_boxes_raise_naming_the_value(leave_and_return):
    frames, boxes = leave_and_return
    tracker = trackerzoo.create("ibfp", device="cpu", weights=None, inference="eager", use_online=False)
    tracker.initialize(frames[0], box=boxes[0])
    with pytest.raises(ValueError, match=r"got 0\.5"):
        tracker.score_regions(frames[1], np.array([[10.0, 10.0]]), 0.5)
    with pytest.raises(ValueError, match="-2"):
        tracker.score_regions(frames[1], np.array([[10.0, 10.0]]), 1.0, scale=-2.0)
    with pytest.raises(ValueError, match="nan"):
        tracker.reacquire((float("nan"), 0.0, 10.0, 10.0))
    tracker.reacquire((100.0, 80.0, 30.0, 20.0))  # continues from that box: centre (115, 90), 30 x 20
    assert tracker.search_side() == pytest.approx(math.sqrt(tracker.params.area_factor * 30.0 * 20.0))
    assert tracker.state_centre.tolist() == [115.0, 90.0]
