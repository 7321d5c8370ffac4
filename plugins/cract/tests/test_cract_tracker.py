"""CRACT end to end: registration, tracking a procedural clip, determinism, bad input, weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from trackerzoo_cract import CractTracker

import trackerzoo
from trackerzoo.errors import NotInitializedError, WeightsNotFoundError
from trackerzoo.registry import default_registry
from trackerzoo.session import run_tracker


def _run(frames, boxes, **params):
    torch.manual_seed(0)
    tracker = trackerzoo.create("cract", weights=None, device="cpu", **params)
    steps = list(run_tracker(tracker, frames, init_box=boxes[0]))
    return tracker, [step.prediction for step in steps[1:]]


def test_cract_and_its_recipe_are_registered_through_the_entry_point():
    names = {info.name: info for info in trackerzoo.list_trackers()}
    assert "cract" in names
    assert names["cract"].variants == ("mobilenetv2", "r18", "mobilenetv2-single-level")
    assert names["cract"].default_variant == "mobilenetv2"
    assert names["cract"].distribution == "trackerzoo-cract"
    assert default_registry().recipes["cract"].tracker == "cract"


def test_tracking_a_procedural_clip_gives_valid_boxes_and_updates_online(procedural_clip):
    frames, boxes = procedural_clip
    tracker, predictions = _run(frames, boxes, update_interval=3)
    height, width = frames[0].shape[:2]
    assert len(predictions) == len(frames) - 1
    for prediction in predictions:
        x, y, w, h = prediction.box
        assert np.isfinite([x, y, w, h, prediction.score]).all()
        assert w >= tracker.params.min_target_size and h >= tracker.params.min_target_size
        assert 0 <= x + w / 2 <= width and 0 <= y + h / 2 <= height
    # The first-frame fit of the discriminator (Eq. 8) lowered its objective.
    assert tracker.discriminator_history[-1] < tracker.discriminator_history[0]
    # Frames 3 and 6 were update frames: the memory now holds samples beyond the first frame's.
    assert tracker.discriminator.memory.initial is not None


def test_same_seed_same_output(procedural_clip):
    frames, boxes = procedural_clip
    short = frames[:4]
    small = {"update_interval": 2, "init_positives": 50, "init_negatives": 200, "update_negatives": 50}
    _, first = _run(short, boxes, **small)
    _, second = _run(short, boxes, **small)
    assert [p.box for p in first] == [p.box for p in second]
    assert [p.score for p in first] == [p.score for p in second]


def test_ablation_switches_run(procedural_clip):
    frames, boxes = procedural_clip
    _, predictions = _run(frames[:3], boxes, use_discriminator=False, align_features=False)
    assert len(predictions) == 2
    assert all(np.isfinite(p.box).all() for p in predictions)


@pytest.fixture(scope="module")
def untrained() -> CractTracker:
    torch.manual_seed(0)
    return trackerzoo.create("cract", weights=None, device="cpu")


def test_bad_input_is_rejected_by_the_core_validation(untrained, procedural_clip):
    frames, boxes = procedural_clip
    tracker = CractTracker(weights=None)
    with pytest.raises(NotInitializedError):
        tracker.track(frames[0])
    with pytest.raises(ValueError, match="non-finite"):
        untrained.initialize(frames[0], (np.nan, 10.0, 20.0, 20.0))
    with pytest.raises(ValueError, match="outside"):
        untrained.initialize(frames[0], (1000.0, 1000.0, 20.0, 20.0))
    with pytest.raises(ValueError, match="positive"):
        untrained.initialize(frames[0], (10.0, 10.0, 0.0, 20.0))
    with pytest.raises(ValueError, match="uint8"):
        untrained.initialize(frames[0].astype(np.float32), boxes[0])
    untrained.initialize(frames[0], boxes[0])
    with pytest.raises(ValueError, match="frame size changed"):
        untrained.track(frames[1][:100])


def test_bad_parameters_and_variants_are_named():
    with pytest.raises(ValueError, match="alpha"):
        trackerzoo.create("cract", weights=None, alpha=1.5)
    with pytest.raises(ValueError, match="unknown parameter"):
        trackerzoo.create("cract", weights=None, gamma=0.5)
    with pytest.raises(ValueError, match="variant"):
        trackerzoo.create("cract", variant="vgg", weights=None)
    with pytest.raises(ValueError, match="use_discriminator"):
        trackerzoo.create("cract", weights=None, use_discriminator=2)
    with pytest.raises(ValueError, match=r"init_distractor_negatives.*-5"):
        trackerzoo.create("cract", weights=None, init_distractor_negatives=-5)
    with pytest.raises(ValueError, match=r"init_region_factor.*0\.5"):
        trackerzoo.create("cract", weights=None, init_region_factor=0.5)
    with pytest.raises(ValueError, match=r"proposal_window_influence.*-0\.1"):
        trackerzoo.create("cract", weights=None, proposal_window_influence=-0.1)


def test_parameters_typed_as_text_are_converted():
    """``--param use_discriminator=false`` must switch the discriminator off, not on."""
    from trackerzoo_cract.params import CractParams

    params = CractParams(use_discriminator="false", alpha="0.25", update_interval="5")
    assert params.use_discriminator is False and params.alpha == 0.25 and params.update_interval == 5


def test_missing_default_weights_say_how_to_train_them(tmp_path, monkeypatch):
    monkeypatch.setenv("TRACKERZOO_WEIGHTS_DIR", str(tmp_path))
    with pytest.raises(WeightsNotFoundError, match="trackerzoo train cract"):
        trackerzoo.create("cract", device="cpu")
    with pytest.raises(WeightsNotFoundError, match="no shipped weights"):
        trackerzoo.create("cract", variant="r18", device="cpu")


def test_weights_round_trip_through_a_safetensors_file(tmp_path):
    from trackerzoo.weights import save_safetensors

    torch.manual_seed(3)
    source = CractTracker(weights=None)
    path = tmp_path / "cract.safetensors"
    save_safetensors(source.network.state_dict(), path, fp16=False)
    loaded = CractTracker(weights=str(path))
    for name, value in source.network.state_dict().items():
        assert torch.equal(loaded.network.state_dict()[name], value), name


def test_weights_of_another_variant_name_the_variant(tmp_path):
    from trackerzoo.weights import save_safetensors

    single_level = CractTracker(variant="mobilenetv2-single-level", weights=None)
    path = tmp_path / "single.safetensors"
    save_safetensors(single_level.network.state_dict(), path, fp16=False)
    with pytest.raises(ValueError, match=r"variant 'mobilenetv2'.*mobilenetv2-single-level"):
        CractTracker(weights=str(path))
    assert CractTracker(variant="mobilenetv2-single-level", weights=str(path)).network.pooling.positions == 36
