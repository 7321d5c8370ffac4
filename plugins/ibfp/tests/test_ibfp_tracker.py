"""IBFP end to end: registration, valid boxes, the online branch, determinism, bad input, staying on target."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import trackerzoo
from trackerzoo.geometry import box_iou_elementwise
from trackerzoo.registry import default_registry
from trackerzoo.session import run_tracker


def _run(frames, boxes, **params):
    tracker = trackerzoo.create("ibfp", weights=None, device="cpu", **params)
    steps = list(run_tracker(tracker, frames, init_box=boxes[0]))
    return tracker, [step.prediction for step in steps[1:]]


def test_ibfp_and_its_recipe_are_registered_through_the_entry_point():
    names = {info.name: info for info in trackerzoo.list_trackers()}
    assert names["ibfp"].default_variant == "mobilenetv2"
    assert {"mobilenetv2", "r18"} <= set(names["ibfp"].variants)
    assert names["ibfp"].distribution == "trackerzoo-ibfp"
    assert default_registry().recipes["ibfp"].tracker == "ibfp"


def test_tracking_gives_valid_boxes_and_refits_the_online_branch(procedural_clip):
    frames, boxes = procedural_clip
    tracker, predictions = _run(frames[:6], boxes, update_interval=2, inference="eager")
    height, width = frames[0].shape[:2]
    assert len(predictions) == 5
    for prediction in predictions:
        x, y, w, h = prediction.box
        assert np.isfinite([x, y, w, h, prediction.score]).all()
        assert min(w, h) >= tracker.params.min_target_size and w <= width and h <= height
    assert tracker.online.memory.num_stored >= tracker.online.memory.num_initial
    assert len(tracker.online.learner.losses) == tracker.params.init_gauss_newton_iters
    assert tracker.online.learner.losses[-1] <= tracker.online.learner.losses[0]


def test_tracking_is_deterministic(procedural_clip):
    frames, boxes = procedural_clip
    _, first = _run(frames[:3], boxes, inference="eager")
    _, second = _run(frames[:3], boxes, inference="eager")
    assert [p.box for p in first] == [p.box for p in second]
    assert [p.score for p in first] == [p.score for p in second]


def test_shipped_weights_on_the_default_fast_path_stay_on_a_procedural_target(procedural_clip):
    frames, boxes = procedural_clip
    tracker = trackerzoo.create("ibfp", device="cpu")  # weights/ibfp_mobilenetv2, inference=fast
    assert tracker.step.fallback_reason is None and tracker.step.folded > 0  # the whole frame is one graph
    steps = list(run_tracker(tracker, frames[:14], init_box=boxes[0]))[1:]
    overlaps = [float(box_iou_elementwise(np.array(step.prediction.box), boxes[step.index])) for step in steps]
    assert np.mean(overlaps) > 0.5 and min(overlaps) > 0.3


def test_bad_input_raises_naming_the_value():
    with pytest.raises(ValueError, match="crop_size"):
        trackerzoo.create("ibfp", weights=None, crop_size=200)
    with pytest.raises(ValueError, match="offline_weight"):
        trackerzoo.create("ibfp", weights=None, offline_weight=1.5)
    with pytest.raises(ValueError, match="'r50'"):
        trackerzoo.create("ibfp", weights=None, variant="r50")
    tracker = trackerzoo.create("ibfp", weights=None, inference="eager")
    with pytest.raises(ValueError):
        tracker.initialize(np.zeros((64, 64, 3), dtype=np.uint8), (10, 10, -5, 8))


def test_the_online_branch_alone_stays_on_a_procedural_target(procedural_clip):
    """Random offline weights, mix weight w = 0 (Eq. 11) and no size update: the ATOM branch must follow."""
    frames, boxes = procedural_clip
    torch.manual_seed(0)
    _, predictions = _run(frames[:12], boxes, offline_weight=0.0, lr=0.0, window_influence=0.2, inference="eager")
    pairs = zip(predictions, boxes[1:12], strict=True)
    overlaps = [float(box_iou_elementwise(np.array(p.box), truth)) for p, truth in pairs]
    assert np.mean(overlaps) > 0.5 and min(overlaps) > 0.2
