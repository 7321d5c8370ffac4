"""The tracker's contract: outputs, initialisation from a box or a mask, determinism, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import trackerzoo
from trackerzoo.geometry import box_iou_elementwise, mask_iou
from trackerzoo.session import track_frames


def _untrained(**params):
    # One first-frame sample instead of ATOM's eight views keeps these contract tests short.
    params.setdefault("augment_first_frame", False)
    return trackerzoo.create("rpvt", weights=None, device="cpu", **params)


def test_create_lists_rpvt_with_box_and_mask_outputs():
    info = {t.name: t for t in trackerzoo.list_trackers()}["rpvt"]
    assert set(info.outputs) == {"box", "mask"}
    assert set(info.variants) == {"mobilenetv2", "resnet50"} and info.default_variant == "mobilenetv2"


def test_box_initialisation_gives_box_mask_and_rotated_box(procedural_clip):
    frames, boxes, _masks = procedural_clip
    run = track_frames(_untrained(), frames[:3], init_box=boxes[0])
    for prediction in run.predictions[1:]:
        assert len(prediction.box) == 4 and np.isfinite(prediction.box).all()
        assert prediction.mask is not None and prediction.mask.shape == frames[0].shape[:2]
        assert prediction.mask.dtype == bool
        assert prediction.rotated_box is not None and prediction.rotated_box.shape == (4, 2)


def test_mask_initialisation_uses_the_given_mask(procedural_clip):
    frames, _boxes, masks = procedural_clip
    tracker = _untrained()
    tracker.initialize(frames[0], mask=masks[0])
    crop_area = float(tracker.reference_mask.sum())
    assert crop_area > 0
    # The reference mask is the given mask in crop pixels: its area scales with the crop.
    side = tracker._segm_side(tracker.target_sz)
    expected = masks[0].sum() * (tracker.params.segm_output_size / side) ** 2
    assert crop_area == pytest.approx(expected, rel=0.1)


def test_same_frames_same_results(procedural_clip):
    frames, boxes, _masks = procedural_clip
    torch.manual_seed(123)
    first = track_frames(_untrained(seed=3), frames[:2], init_box=boxes[0]).predictions
    torch.manual_seed(456)  # the global generator must not matter
    second = track_frames(_untrained(seed=3), frames[:2], init_box=boxes[0]).predictions
    for a, b in zip(first, second, strict=False):
        assert a.box == b.box and a.score == b.score
        np.testing.assert_array_equal(a.mask, b.mask)


@pytest.mark.parametrize("name, value", [("refinement", "unet"), ("mask_threshold", 1.5),
                                         ("segm_output_size", 250), ("min_scale_change", 1.2)])
def test_bad_parameters_are_refused_by_name(name, value):
    with pytest.raises(ValueError, match=name):
        _untrained(**{name: value})


def test_bad_targets_are_refused(procedural_clip):
    frames, _boxes, _masks = procedural_clip
    tracker = _untrained()
    with pytest.raises(ValueError):
        tracker.initialize(frames[0], box=(10, 10, -5, 20))
    with pytest.raises(ValueError):
        tracker.initialize(frames[0], mask=np.zeros((5, 5), dtype=bool))
    with pytest.raises(ValueError, match="variant"):
        trackerzoo.create("rpvt", variant="vgg16", weights=None)


def test_shipped_weights_stay_on_a_moving_target(procedural_clip):
    frames, boxes, masks = procedural_clip
    frames, boxes, masks = frames[:14], boxes[:14], masks[:14]
    run = track_frames(trackerzoo.create("rpvt", device="cpu"), frames, init_box=boxes[0], init_mask=masks[0])
    ious = [float(box_iou_elementwise(np.array(p.box), boxes[i])) for i, p in enumerate(run.predictions) if i]
    mask_ious = [mask_iou(p.mask, masks[i]) for i, p in enumerate(run.predictions) if i]
    assert np.mean(ious) > 0.5 and min(ious) > 0.2
    assert np.mean(mask_ious) > 0.5
