"""The tracker through ``trackerzoo.create``: outputs, box/mask initialisation, determinism, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import trackerzoo

SMALL = {"sample_height": 64, "sample_width": 96, "augment_shifts": 1}


def _clip(frames: int = 4) -> tuple[list[np.ndarray], np.ndarray]:
    rng = np.random.default_rng(3)
    base = (rng.random((120, 160, 3)) * 80).astype(np.uint8)
    images, mask0 = [], None
    for t in range(frames):
        image = base.copy()
        image[40:70, 50 + 2 * t:90 + 2 * t] = (230, 60, 40)
        images.append(image)
        if t == 0:
            mask0 = np.zeros((120, 160), dtype=bool)
            mask0[40:70, 50:90] = True
    return images, mask0


def _run(tracker, images, mask=None, box=None):
    tracker.initialize(images[0], box=box, mask=mask)
    return [tracker.track(image) for image in images[1:]]


def test_returns_box_mask_and_rotated_box_fields() -> None:
    images, mask = _clip()
    tracker = trackerzoo.create("rts", weights=None, **SMALL)
    predictions = _run(tracker, images, mask=mask)
    for prediction in predictions:
        assert len(prediction.box) == 4 and np.isfinite(prediction.box).all()
        assert prediction.mask is not None and prediction.mask.shape == (120, 160)
        assert prediction.mask.dtype == bool
        assert prediction.rotated_box is None or prediction.rotated_box.shape == (4, 2)
        assert {"instance_found", "mask_found"} <= set(prediction.extra)


def test_box_initialisation_runs_and_mask_initialisation_skips_the_box_to_mask_step() -> None:
    images, mask = _clip(3)
    tracker = trackerzoo.create("rts", weights=None, **SMALL)
    assert len(_run(tracker, images, box=(50, 40, 40, 30))) == 2
    tracker.initialize(images[0], mask=mask)
    assert tracker.last_box == (50.0, 40.0, 40.0, 30.0)


def test_box_initialisation_through_sta_weights(tmp_path) -> None:
    from trackerzoo_rts.model.sta import StaNet
    from trackerzoo_rts.params import MODEL_CONFIGS

    from trackerzoo.weights import save_safetensors

    torch.manual_seed(0)
    path = tmp_path / "sta.safetensors"
    save_safetensors(StaNet(MODEL_CONFIGS["mobilenetv2"]).state_dict(), path, fp16=False)
    images, _ = _clip(2)
    tracker = trackerzoo.create("rts", weights=None, sta_weights=str(path), **SMALL)
    mask = tracker._initial_mask(images[0], (50.0, 40.0, 40.0, 30.0))
    assert mask.shape == (120, 160) and mask.any()
    assert not mask[:40].any() and not mask[:, :50].any()  # never outside the box


def test_deterministic_for_a_seed() -> None:
    images, mask = _clip(3)
    first = _run(trackerzoo.create("rts", weights=None, **SMALL), images, mask=mask)
    second = _run(trackerzoo.create("rts", weights=None, **SMALL), images, mask=mask)
    for a, b in zip(first, second, strict=True):
        assert a.box == b.box and a.score == b.score
        assert np.array_equal(a.mask, b.mask)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"sample_height": 100}, "sample_height"),
        ({"t_sc": 1.5}, "t_sc"),
        ({"t_ss": 0.0}, "t_ss"),
        ({"segmentation_memory": 1}, "segmentation_memory"),
        ({"max_scale_change_low": 1.5}, "max_scale_change_low"),
        ({"no_such_setting": 1}, "no_such_setting"),
    ],
)
def test_bad_parameters_are_value_errors_naming_the_value(params, message) -> None:
    with pytest.raises(ValueError, match=message):
        trackerzoo.create("rts", weights=None, **params)


def test_bad_target_and_variant() -> None:
    images, _ = _clip(2)
    tracker = trackerzoo.create("rts", weights=None, **SMALL)
    with pytest.raises(ValueError):
        tracker.initialize(images[0], box=(10, 10, -5, 4))
    with pytest.raises(ValueError):
        tracker.initialize(images[0], mask=np.zeros((12, 16), dtype=bool))
    with pytest.raises(ValueError, match="variant"):
        trackerzoo.create("rts", variant="resnet18", weights=None)
