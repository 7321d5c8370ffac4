"""ARN in long-term mode (issue #22): the Redetector interface, presence score, no state change, determinism.

Random weights (``weights=None``: none ship yet) and small crops keep these tests short; they
check the mechanics, not whether presence drops when the target leaves (that needs trained
weights; README, "Presence and long-term mode").
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

import trackerzoo
from trackerzoo.longterm import ABSENT, LongTermTracker, Redetector
from trackerzoo.registry import use_registry

# The smallest crops the network takes (template map 14 -> kernel 6 cells), one MMS stage, no refills.
SMALL = {"template_size": 111, "search_size": 175, "small_target_search_size": 175, "mask_stages": 1,
         "cyclic_steps": 0}
# Random weights score about 0.5 everywhere: a lost threshold of 0.9 sends the tracker through
# every state of the machine in four frames (low, absent, widened search, sweep).
LONG_TERM = {"lost_threshold": 0.9, "reacquire_threshold": 0.95, "lost_after": 2, "widen_frames": 1,
             "widen_factor": 1.5, "tiles_per_frame": 1}
FRAMES = 5  # the first frame and four tracked ones


def _create(registry, **kwargs):
    with use_registry(registry):
        return trackerzoo.create("arn", device="cpu", weights=None, **SMALL, **kwargs)


def _box(boxes: np.ndarray) -> tuple[float, ...]:
    return tuple(float(v) for v in boxes[0])


def _template_tensors(tracker) -> list[torch.Tensor]:
    template = tracker.template
    return [template.kernel.clone(), template.features.clone(), template.lut.keys.clone(),
            template.lut.values.clone()]


def _run_long_term(registry, frames, box):
    tracker = _create(registry, long_term=LONG_TERM)
    tracker.initialize(frames[0], box=box)
    return tracker, [tracker.track(frame) for frame in frames[1:FRAMES]]


@pytest.fixture(scope="module")
def long_term_run(arn_registry, arn_clip):
    """The long-term tracker after the clip's first frames, its predictions, the template before, the flags set."""
    frames, _masks, boxes = arn_clip
    tracker = _create(arn_registry, long_term=LONG_TERM)
    assert isinstance(tracker, LongTermTracker)
    inner = tracker.inner
    flags: list[bool] = []
    original = inner.set_online_updates

    def recording(enabled: bool) -> None:
        flags.append(bool(enabled))
        original(enabled)

    inner.set_online_updates = recording
    tracker.initialize(frames[0], box=_box(boxes))
    template = _template_tensors(inner)
    predictions = [tracker.track(frame) for frame in frames[1:FRAMES]]
    return tracker, predictions, template, flags


def test_arn_is_a_redetector_with_uncalibrated_thresholds(arn_registry):
    tracker = _create(arn_registry)
    assert isinstance(tracker, Redetector)
    assert not tracker.presence_map.calibrated  # no weight file: raw score clipped to [0, 1]
    assert tracker.long_term_defaults["lost_threshold"] == tracker.raw_long_term_thresholds["lost_threshold"]
    assert tracker.long_term_defaults["reacquire_threshold"] == tracker.raw_long_term_thresholds[
        "reacquire_threshold"]
    with pytest.raises(ValueError, match=r"\[N, 2\]"):
        tracker.score_regions(np.zeros((60, 80, 3), np.uint8), np.zeros(3), 1.0)
    with pytest.raises(ValueError, match="factor"):
        tracker.score_regions(np.zeros((60, 80, 3), np.uint8), np.zeros((1, 2)), 0.0)


def test_long_term_mode_reports_presence_and_searches(arn_clip, long_term_run):
    _frames, _masks, boxes = arn_clip
    tracker, predictions, _template, _flags = long_term_run
    first, lost, widened, swept = predictions
    assert first.present and first.extra["state"] == "present"
    raw = first.extra["presence_raw"]
    assert 0.0 <= first.score <= 1.0 and first.score == tracker.inner.presence_map(raw) == min(max(raw, 0.0), 1.0)
    assert 0.0 <= first.extra["foreground"] <= 1.0
    # Every frame was low, so the last box reported with enough confidence is the first frame's.
    assert not lost.present and lost.box == _box(boxes)  # two low frames: absent
    assert widened.extra == {"state": ABSENT, "regions": 1}  # one widened region at the last box
    assert swept.extra == {"state": ABSENT, "regions": 2}  # the last box's region and one tile
    assert all(not p.present and p.box == _box(boxes) and 0.0 <= p.score <= 1.0 for p in (widened, swept))


def test_no_online_update_happens_whatever_the_flag(long_term_run):
    """OceanPlus learns nothing online: template kernel, features and LUT stay as initialised."""
    tracker, _predictions, template, flags = long_term_run
    assert flags[0] is True and False in flags  # the long-term layer did switch updates off
    assert tracker.inner.online_updates is False
    for before, after in zip(template, _template_tensors(tracker.inner), strict=True):
        assert torch.equal(before, after)


def test_long_term_tracking_is_deterministic(arn_registry, arn_clip, long_term_run):
    frames, _masks, boxes = arn_clip
    _tracker, predictions, _template, _flags = long_term_run
    _again, repeated = _run_long_term(arn_registry, frames, _box(boxes))
    for a, b in zip(predictions, repeated, strict=True):
        assert (a.box, a.score, a.present, a.extra) == (b.box, b.score, b.present, b.extra)


def test_score_regions_and_reacquire(arn_registry, arn_clip):
    """The check compares with the template; scoring regions leaves the tracker as it was; reacquire moves it."""
    frames, _masks, boxes = arn_clip
    tracker = _create(arn_registry)
    tracker.initialize(frames[0], box=_box(boxes))
    # The verifier's check: on the first frame the neck window under the centre cell is the
    # template kernel's own content (cosine near 1), three cells away it is not.
    with torch.no_grad():
        out, _, _ = tracker._search(tracker._image(frames[0]), tracker.template, with_mask=False)
    middle = out.logits.shape[-1] // 2
    similarity = [tracker._template_similarity(out, (middle + d, middle)) for d in (0, 3)]
    assert similarity[0] > 0.9 > 0.5 > similarity[1], similarity
    tracker.track(frames[1])
    untouched = copy.deepcopy(tracker)
    centres = np.array([[40.0, 50.0], [250.0, 180.0]])
    candidates = tracker.score_regions(frames[2], centres, 1.5, 2.0)
    assert len(candidates) == 2
    for candidate in candidates:
        assert np.isfinite(candidate.box).all() and candidate.box[2] > 0 and candidate.box[3] > 0
        assert 0.0 <= candidate.confidence <= 1.0 and set(candidate.checks) == {"initial"}
        assert all(0.0 <= value <= 1.0 for value in candidate.checks.values())
    assert np.array_equal(tracker.state.centre, untouched.state.centre)
    assert np.array_equal(tracker.state.size, untouched.state.size)
    after, plain = tracker.track(frames[2]), untouched.track(frames[2])
    assert (after.box, after.score, after.extra) == (plain.box, plain.score, plain.extra)
    assert np.array_equal(after.mask, plain.mask)

    tracker.reacquire((100.0, 80.0, 40.0, 30.0))
    assert np.array_equal(tracker.state.centre, [120.0, 95.0]) and np.array_equal(tracker.state.size, [40.0, 30.0])
    assert tracker.search_side() == pytest.approx(tracker._template_side() * 175 / 111)
