"""The ARN tracker: outputs, presets, initialisation from a box (cyclic) or a mask, determinism, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from trackerzoo_arn.params import PRESETS, VARIANT_MASK_THRESHOLDS, ArnParams, mask_threshold_for

import trackerzoo
from trackerzoo.errors import WeightsNotFoundError
from trackerzoo.geometry import mask_iou
from trackerzoo.registry import use_registry


def _create(registry, **kwargs):
    with use_registry(registry):
        return trackerzoo.create("arn", device="cpu", **kwargs)


def _first_box(boxes: np.ndarray) -> tuple[float, ...]:
    return tuple(float(v) for v in boxes[0])


def test_outputs_box_mask_and_rotated_box_from_box_or_mask(arn_registry, arn_clip):
    frames, masks, boxes = arn_clip
    for init_mask in (None, masks[0]):
        tracker = _create(arn_registry, weights=None, cyclic_steps=1)
        tracker.initialize(frames[0], _first_box(boxes), init_mask)
        prediction = tracker.track(frames[1])
        assert len(prediction.box) == 4 and np.isfinite(prediction.box).all()
        assert 0.0 <= prediction.score <= 1.0
        assert prediction.mask.shape == frames[1].shape[:2] and prediction.mask.dtype == bool
        assert prediction.rotated_box is None or prediction.rotated_box.shape == (4, 2)
        expected = 1 if init_mask is not None else 2  # mask: direct; box: the box plus one refill at most
        assert 1 <= len(tracker.first_frame_masks) <= expected


def test_presets_and_explicit_values(arn_registry):
    davis = _create(arn_registry, weights=None, preset="davis")
    assert (davis.penalty_k, davis.window_influence, davis.lr) == (
        PRESETS["davis"]["penalty_k"], PRESETS["davis"]["window_influence"], PRESETS["davis"]["lr"])
    assert davis.mask_threshold == VARIANT_MASK_THRESHOLDS["mobilenetv2"]  # calibrated for our weights
    assert mask_threshold_for(ArnParams(preset="davis"), "resnet50") == PRESETS["davis"]["mask_threshold"]
    assert mask_threshold_for(ArnParams(mask_threshold=0.7), "mobilenetv2") == 0.7  # an explicit value wins
    default = ArnParams()
    assert default.preset == "vot2020" and default.resolved("mask_threshold") == 0.9
    assert ArnParams(preset="davis", lr=0.5).resolved("lr") == 0.5
    with pytest.raises(ValueError, match="kitti"):
        ArnParams(preset="kitti")
    with pytest.raises(ValueError, match="seed"):
        default.resolved("seed")
    with pytest.raises(ValueError, match="search_size"):
        ArnParams(search_size=127)


def test_bad_input_is_refused(arn_registry, arn_clip):
    frames, _masks, boxes = arn_clip
    tracker = _create(arn_registry, weights=None)
    with pytest.raises(ValueError, match="-5"):
        tracker.initialize(frames[0], (10.0, 10.0, -5.0, 5.0))
    with pytest.raises(ValueError):
        tracker.initialize(frames[0], _first_box(boxes), np.zeros((3, 3), dtype=bool))
    with pytest.raises(ValueError, match="unknown variant"):
        _create(arn_registry, weights=None, variant="vgg")


def test_same_frames_give_the_same_results(arn_registry, arn_clip):
    frames, _masks, boxes = arn_clip
    runs = []
    for _ in range(2):
        torch.manual_seed(123)  # the global state must not matter: the tracker draws from its own seed
        tracker = _create(arn_registry, weights=None, cyclic_steps=1)
        tracker.initialize(frames[0], _first_box(boxes))
        runs.append([tracker.track(frame) for frame in frames[1:3]])
    for a, b in zip(*runs, strict=True):
        assert a.box == b.box and a.score == b.score and np.array_equal(a.mask, b.mask)


def _shipped(registry, **kwargs):
    try:
        return _create(registry, **kwargs)
    except WeightsNotFoundError:
        pytest.skip("no shipped arn mobilenetv2 weights (weights/manifest.json)")


def test_cyclic_initialisation_improves_the_first_frame_mask(arn_registry, arn_clip):
    """Paper Sec. 3.3: from a box, r = 3 refills give a better first-frame mask than the box itself (r = 0)."""
    frames, masks, boxes = arn_clip
    scores = {}
    for steps in (0, 3):
        tracker = _shipped(arn_registry, cyclic_steps=steps)
        tracker.initialize(frames[0], _first_box(boxes))
        truth = tracker._crop(torch.from_numpy(masks[0].astype(np.float32))[None, None],
                              tracker._template_side(), 127)[0][0, 0] > 0.5
        scores[steps] = mask_iou(tracker.first_frame_mask_in_template(), truth.numpy())
    assert scores[3] > scores[0], scores


def test_shipped_weights_stay_on_target(arn_registry, arn_clip):
    frames, masks, boxes = arn_clip
    tracker = _shipped(arn_registry)
    tracker.initialize(frames[0], _first_box(boxes), masks[0])
    overlaps = []
    for frame, box in zip(frames[1:], boxes[1:], strict=True):
        prediction = tracker.track(frame)
        if np.isfinite(box).all():
            overlaps.append(float(trackerzoo.geometry.box_iou(np.array([prediction.box]), box[None])[0, 0]))
    assert np.mean(overlaps) > 0.5, overlaps
