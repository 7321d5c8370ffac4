"""RTS's presence score and long-term mode (issue #22): Redetector, no side effects, no updates, determinism.

Random heads (``weights=None``) and tiny crops keep these tests short: they check the
mechanics, not what the shipped weights can detect (README, "Presence and long-term mode").
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

import trackerzoo
from trackerzoo.calibration import PresenceMap
from trackerzoo.datasets.synthetic.procedural import procedural_background, procedural_sprite
from trackerzoo.longterm import ABSENT, PRESENT, Candidate, LongTermTracker, Redetector, make_long_term

SMALL = {"sample_height": 64, "sample_width": 96, "augment_shifts": 1}
WIDTH, HEIGHT = 160, 120
LEAVES = 4  # the target is gone from frame 4 on
LONG_TERM = {"lost_threshold": 1.0, "reacquire_threshold": 1.0, "lost_after": 2, "widen_frames": 1,
             "tiles_per_frame": 2}  # lost_threshold 1.0: frames are low, so the search runs from frame 2 on


def _clip(frames: int = 6) -> tuple[list[np.ndarray], list[tuple[int, int, int, int] | None]]:
    """A procedural sprite moving on a procedural background, gone from frame ``LEAVES`` on."""
    rng = np.random.default_rng(5)
    background = procedural_background(rng, (WIDTH, HEIGHT)).astype(np.float32) / 255.0
    rgba = procedural_sprite(rng, 28).rgba
    images, boxes = [], []
    for t in range(frames):
        image = background.copy()
        box = None
        if t < LEAVES:
            height, width = rgba.shape[:2]
            x0, y0 = 50 + 3 * t, 40 + t
            alpha = rgba[..., 3:]
            image[y0:y0 + height, x0:x0 + width] = rgba[..., :3] + image[y0:y0 + height, x0:x0 + width] * (1 - alpha)
            box = (x0, y0, width, height)
        images.append(np.round(image * 255.0).astype(np.uint8))
        boxes.append(box)
    return images, boxes


@pytest.fixture(scope="module")
def clip():
    return _clip()


@pytest.fixture(scope="module")
def built():
    """One tracker built (network and weights) per module; tests take copies (``_fresh``)."""
    return trackerzoo.create("rts", weights=None, **SMALL)


def _fresh(built, **params):
    tracker = copy.deepcopy(built)
    for name, value in params.items():
        setattr(tracker.params, name, value)
    return tracker


def _same(a: trackerzoo.Prediction, b: trackerzoo.Prediction) -> bool:
    return (a.box == b.box and a.score == b.score and a.present == b.present and a.extra == b.extra
            and (a.mask is None) == (b.mask is None) and (a.mask is None or np.array_equal(a.mask, b.mask)))


def test_rts_is_a_redetector_and_reports_the_raw_and_calibrated_presence(clip, built):
    images, boxes = clip
    tracker = _fresh(built)
    assert isinstance(tracker, Redetector)
    assert not tracker.presence_map.calibrated  # random heads: the raw score clipped to [0, 1]
    tracker.initialize(images[0], box=boxes[0])
    prediction = tracker.track(images[1])
    raw = prediction.extra["presence_raw"]
    assert prediction.score == min(max(raw, 0.0), 1.0) == tracker.presence(prediction)
    assert raw <= prediction.extra["instance_peak"]  # a mean of the score map over the box, never above its peak
    assert tracker.search_side() > max(boxes[0][2:])


def test_raw_score_is_the_mean_instance_score_inside_the_box():
    from trackerzoo_rts.tracker import RtsTracker

    class Identity:  # crop pixels = image pixels
        @staticmethod
        def image_to_patch_boxes(boxes):
            return boxes

    scores = np.zeros((5, 7), dtype=np.float32)
    scores[1, 2], scores[3, 6], scores[4, 0] = 0.4, 0.9, 0.7
    tensor = torch.from_numpy(scores)
    # Cells (rows 1-3, columns 2-3) inside: one of them 0.4, five 0.
    assert RtsTracker._mean_score_in_box(tensor, 10.0, Identity, (15.0, 5.0, 20.0, 30.0)) == pytest.approx(0.4 / 6)
    assert RtsTracker._mean_score_in_box(tensor, 10.0, Identity, (0.0, 0.0, 70.0, 50.0)) == pytest.approx(2.0 / 35)
    # No cell centre inside a box smaller than a cell: the cell nearest to its centre.
    assert RtsTracker._mean_score_in_box(tensor, 10.0, Identity, (1.0, 37.0, 3.0, 2.0)) == pytest.approx(0.7)


def test_shipped_weights_map_the_thresholds_through_their_calibration():
    from trackerzoo_rts.tracker import RtsTracker

    presence = PresenceMap.for_weights("rts", "mobilenetv2", "default")
    assert presence.calibrated  # the manifest's presence_calibration of rts_mobilenetv2 (README)
    calibration = presence.calibration
    assert (calibration.slope, calibration.intercept) == pytest.approx((1.8297, -2.6392))
    mapped = {name: presence(raw) for name, raw in RtsTracker.raw_long_term_thresholds.items()}
    assert mapped["lost_threshold"] == pytest.approx(0.0790, abs=1e-4)
    assert mapped["reacquire_threshold"] == pytest.approx(0.0934, abs=1e-4)


def test_score_regions_leaves_the_tracker_unchanged(clip, built):
    images, boxes = clip
    plain, probed = _fresh(built), _fresh(built)
    for tracker in (plain, probed):
        tracker.initialize(images[0], box=boxes[0])
    centres = np.array([[20.0, 20.0], [80.0, 60.0], [150.0, 110.0]])
    for t in range(1, 3):
        candidates = probed.score_regions(images[t], centres, 2.0, 1.5)
        assert len(candidates) == 3 and all(isinstance(c, Candidate) for c in candidates)
        for candidate in candidates:
            assert 0.0 <= candidate.confidence <= 1.0
            assert set(candidate.checks) == {"initial", "recent"}
            assert all(0.0 <= v <= 1.0 for v in candidate.checks.values())
        assert _same(plain.track(images[t]), probed.track(images[t]))
    assert probed.seg_memory.weights.tolist() == plain.seg_memory.weights.tolist()
    with pytest.raises(ValueError, match="factor"):
        probed.score_regions(images[0], centres, 0.0)


def test_stopped_online_updates_touch_no_memory_and_no_model(clip, built, monkeypatch):
    images, boxes = clip
    import trackerzoo_rts.tracker as module

    tracker = _fresh(built)
    monkeypatch.setattr(module, "memory_decision", lambda *_: module.MemoryDecision(True, True))  # rule (a)
    tracker.initialize(images[0], box=boxes[0])
    calls: list[str] = []

    def counting(owner, name, label):
        original = getattr(owner, name)

        def wrapper(*args, **kwargs):
            calls.append(label)
            return original(*args, **kwargs)

        monkeypatch.setattr(owner, name, wrapper)

    counting(tracker.seg_memory, "insert", "insert")
    counting(tracker.inst_memory, "insert", "insert")
    counting(tracker.network, "learn_segmentation", "learn_segmentation")
    counting(tracker.network.classifier.filter_optimizer, "forward", "filter_optimizer")
    tracker.set_online_updates(False)
    tau, kappa = tracker.tau, tracker.kappa
    for image in images[1:3]:
        tracker.track(image)
    assert calls == []
    assert tracker.tau is tau and tracker.kappa is kappa
    tracker.set_online_updates(True)
    tracker.track(images[3])
    assert sorted(calls) == ["filter_optimizer", "insert", "insert", "learn_segmentation"]


def test_reacquire_moves_the_search_region_to_the_box(clip, built):
    images, boxes = clip
    tracker = _fresh(built)
    tracker.initialize(images[0], box=boxes[0])
    side = tracker.search_side()
    tracker.reacquire((100.0, 70.0, 56.0, 40.0))
    assert tracker.last_box == (100.0, 70.0, 56.0, 40.0)
    assert tracker.state.centre.tolist() == [128.0, 90.0]
    assert tracker.search_side() == pytest.approx(side * np.sqrt(56.0 * 40.0 / (boxes[0][2] * boxes[0][3])))
    with pytest.raises(ValueError, match="positive finite size"):
        tracker.reacquire((1.0, 2.0, 0.0, 5.0))


def _long_term_run(tracker, images, boxes):
    assert isinstance(tracker, LongTermTracker)
    tracker.initialize(images[0], box=boxes[0])
    return [tracker.track(image) for image in images[1:]]


def test_long_term_mode_reports_presence_and_is_deterministic(clip, built):
    images, boxes = clip
    first = _long_term_run(trackerzoo.create("rts", weights=None, long_term=LONG_TERM, **SMALL), images, boxes)
    states = [p.extra["state"] for p in first]
    assert states[0] == PRESENT and first[0].present and "presence_raw" in first[0].extra
    assert ABSENT in states and not first[-1].present and first[-1].extra["regions"] >= 1
    assert all(0.0 <= p.score <= 1.0 for p in first)
    second = _long_term_run(make_long_term(_fresh(built), LONG_TERM), images, boxes)
    assert all(_same(a, b) for a, b in zip(first, second, strict=True))


def test_default_long_term_thresholds_are_valid(built):
    tracker = make_long_term(_fresh(built))
    params = tracker.params
    assert params.reacquire_threshold >= params.lost_threshold
    assert params.verify_threshold == tracker.inner.long_term_defaults["verify_threshold"]
