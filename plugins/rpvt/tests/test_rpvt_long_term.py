"""RPVT's presence score and long-term mode (issue #22): Redetector contract, frozen state, no updates, absence."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import trackerzoo
from trackerzoo.datasets.synthetic.procedural import procedural_background, procedural_sprite, sprite_clip
from trackerzoo.geometry import box_iou_elementwise
from trackerzoo.longterm import Candidate, LongTermTracker, Redetector

WIDTH, HEIGHT = 192, 144
LEAVES = 4  # the target is gone from frame 4 on
LONG_TERM = {"widen_frames": 10, "widen_factor": 1.0}  # while absent, one patch at the last box per frame
# Random-weight contract tests: small crops and one first-frame sample keep them cheap.
SMALL = {"weights": None, "dcf_sample_size": 128, "segm_output_size": 128, "augment_first_frame": False}


def _clip(frames: int = 8) -> tuple[list[np.ndarray], list[tuple[int, int, int, int] | None]]:
    """A procedural target on a procedural background that moves, then leaves the frame for good."""
    rng = np.random.default_rng(5)
    background = procedural_background(rng, (WIDTH, HEIGHT))
    sprite = procedural_sprite(rng, 36)
    return sprite_clip(background, sprite, [(60 + 3 * t, 60 + t) if t < LEAVES else None for t in range(frames)])


@pytest.fixture(scope="module")
def clip():
    return _clip()


def _small(**params):
    return trackerzoo.create("rpvt", device="cpu", **{**SMALL, **params})


def _same(a: trackerzoo.Prediction, b: trackerzoo.Prediction) -> None:
    assert a.box == b.box and a.score == b.score and a.extra["presence_raw"] == b.extra["presence_raw"]
    np.testing.assert_array_equal(a.mask, b.mask)
    np.testing.assert_array_equal(a.rotated_box, b.rotated_box)


def test_score_regions_changes_nothing(clip):
    frames, boxes = clip
    probed, plain = _small(), _small()
    for tracker in (probed, plain):
        tracker.initialize(frames[0], box=boxes[0])
    side = probed.search_side()
    assert side == pytest.approx(128 * probed.target_scale)
    centres = np.array([[40.0, 40.0], [150.0, 100.0]])
    candidates = probed.score_regions(frames[1], centres, 2.0, 1.5) + probed.score_regions(frames[1], centres[:1], 1.0)
    assert len(candidates) == 3 and all(isinstance(c, Candidate) for c in candidates)
    for candidate in candidates:
        assert 0.0 <= candidate.confidence <= 1.0 and len(candidate.box) == 4
        assert set(candidate.checks) == {"initial", "recent"}
        assert all(0.0 <= value <= 1.0 for value in candidate.checks.values())
    # A region twice the patch at 1.5x the size: the box is 1.5x the last size.
    np.testing.assert_allclose(candidates[0].box[2:], probed.target_sz * 1.5)
    for frame in frames[1:3]:  # tracking after the probe is bit-identical to tracking without it
        _same(probed.track(frame), plain.track(frame))
    # The peak's cell offset follows localize's convention on a map of the tracking size.
    cells = probed.dcf.output_size
    scores = torch.rand(1, 1, cells, cells, generator=torch.Generator().manual_seed(1))
    displacement, value, _cell = probed.dcf.peak(scores)
    located = probed.dcf.localize(scores, torch.tensor([2.0, 2.0]))
    assert displacement.tolist() == located.displacement.tolist() and value == located.score
    with pytest.raises(ValueError, match="centres"):
        probed.score_regions(frames[2], np.zeros(3), 1.0)
    with pytest.raises(ValueError, match="factor"):
        probed.score_regions(frames[2], centres, 0.0)


def test_set_online_updates_false_stops_every_update(clip):
    frames, boxes = clip
    tracker = _small()
    tracker.initialize(frames[0], box=boxes[0])
    calls = {"insert": 0, "refit": 0}
    memory, learner = tracker.dcf.memory, tracker.dcf.learner
    insert, refit = memory.insert, learner.update

    def counted_insert(*args, **kwargs):
        calls["insert"] += 1
        return insert(*args, **kwargs)

    def counted_refit(*args, **kwargs):
        calls["refit"] += 1
        return refit(*args, **kwargs)

    memory.insert, learner.update = counted_insert, counted_refit
    tracker.track(frames[1])  # frame 1: a sample and a refit (every 10th frame from frame 1)
    assert calls["insert"] == 1 and calls["refit"] >= 1 and len(tracker.peak_history) == 1
    tracker.set_online_updates(False)
    before = dict(calls)
    frozen = (tracker.dcf.learner.filter.clone(), tracker.dcf.memory.weights.clone(), list(tracker.peak_history),
              list(tracker.mask_pixels))
    for frame in frames[2:5]:
        tracker.track(frame)
    assert calls == before
    assert tracker.dcf.learner.filter.equal(frozen[0]) and tracker.dcf.memory.weights.equal(frozen[1])
    assert (tracker.peak_history, tracker.mask_pixels) == (frozen[2], frozen[3])
    tracker.set_online_updates(True)
    tracker.track(frames[5])
    assert calls["insert"] == 2 and len(tracker.peak_history) == 2


def test_rpvt_is_a_redetector_whose_reacquire_moves_to_the_box(clip):
    frames, boxes = clip
    tracker = _small()
    assert isinstance(tracker, Redetector)
    assert not tracker.presence_map.calibrated  # random weights: the raw score clipped to [0, 1]
    for name, raw in tracker.raw_long_term_thresholds.items():
        assert tracker.long_term_defaults[name] == raw
    tracker.initialize(frames[0], box=boxes[0])
    _x, _y, w, h = boxes[0]
    tracker.reacquire((100.0, 50.0, 2.0 * w, 2.0 * h))
    np.testing.assert_allclose(tracker.pos, [100.0 + w, 50.0 + h])
    np.testing.assert_allclose(tracker.target_sz, [2.0 * w, 2.0 * h])
    with pytest.raises(ValueError, match="box"):
        tracker.reacquire((0.0, 0.0, -1.0, 5.0))


@pytest.fixture(scope="module")
def long_term_run(clip):
    """Shipped weights in long-term mode over the clip (the last frames: target gone)."""
    frames, boxes = clip
    tracker = trackerzoo.create("rpvt", device="cpu", long_term=LONG_TERM, augment_first_frame=False)
    assert isinstance(tracker, LongTermTracker)
    tracker.initialize(frames[0], box=boxes[0])
    return [tracker.track(frame) for frame in frames[1:]], tracker


def test_long_term_mode_reports_presence_and_loses_the_target_when_it_leaves(clip, long_term_run):
    frames, boxes = clip
    predictions, tracker = long_term_run
    inner = tracker.inner
    assert inner.presence_map.calibrated  # the shipped file's Platt map; the thresholds go through it
    assert tracker.params.lost_threshold == inner.presence_map(inner.raw_long_term_thresholds["lost_threshold"])
    for prediction in predictions[:LEAVES - 1]:  # frames 1..5: the target is there
        assert prediction.present and prediction.extra["state"] == "present"
        assert 0.5 < prediction.score <= 1.0 and "presence_raw" in prediction.extra
    # A region centred off the target finds it (frame 3, target still there; the tracker is not moved).
    x, y, w, h = boxes[3]
    found = inner.score_regions(frames[3], np.array([[x + w / 2 + 20, y + h / 2 - 15]]), 1.0)[0]
    assert box_iou_elementwise(np.array(found.box), np.array(boxes[3], dtype=float)) > 0.5
    assert found.confidence > 0.5 and min(found.checks.values()) > 0.5
    gone = [t for t, p in enumerate(predictions, start=1) if not p.present]
    assert gone and LEAVES <= gone[0] <= LEAVES + 3  # lost_after (3) low frames after it left
    assert all(not p.present and 0.0 <= p.score < 0.5 for p in predictions[gone[0] - 1:])


def test_long_term_mode_is_deterministic(clip):
    frames, boxes = clip
    runs = []
    # Random weights, small crops, a lost threshold no frame reaches: present, lost, then the widened
    # and the global search (with the current and the grown target size), twice.
    settings = {"lost_threshold": 0.999, "reacquire_threshold": 0.999, "lost_after": 2, "widen_frames": 1,
                "widen_factor": 1.0, "tiles_per_frame": 1}
    for _ in range(2):
        tracker = _small(long_term=settings)
        tracker.initialize(frames[0], box=boxes[0])
        runs.append([tracker.track(frame) for frame in frames[1:6]])
    assert {p.extra["state"] for p in runs[0]} == {"present", "absent"}
    assert sum(p.extra["regions"] for p in runs[0]) > 0
    for again, first in zip(*runs, strict=True):
        assert (again.box, again.score, again.present, again.extra["state"]) == (
            first.box, first.score, first.present, first.extra["state"])
