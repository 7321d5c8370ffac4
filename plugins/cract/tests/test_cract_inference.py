"""CRACT's backbone prepared for inference at create(): the same features, and the same boxes when exact."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from trackerzoo_cract.model.features import SharedFeatures

import trackerzoo
from trackerzoo.nn.inference import PreparedModule, prepare_for_inference


def _features(config) -> SharedFeatures:
    module = SharedFeatures(config, pretrained_backbone=False)
    generator = torch.Generator().manual_seed(5)
    for sub in module.modules():  # BatchNorm statistics that are not the identity
        if isinstance(sub, torch.nn.BatchNorm2d):
            sub.running_mean.copy_(torch.randn(sub.num_features, generator=generator) * 0.1)
            sub.running_var.copy_(torch.rand(sub.num_features, generator=generator) + 0.5)
    return module.eval()


@pytest.mark.parametrize("exact", [True, False])
def test_prepared_cract_features_equal_the_module(config, exact):
    module = _features(config)
    generator = torch.Generator().manual_seed(6)
    examples = [(torch.rand(1, 3, side, side, generator=generator),) for side in (127, 255)]
    prepared = prepare_for_inference(module, example_inputs=examples, exact=exact)
    assert prepared.path == "traced", prepared.fallback_reason
    assert prepared.folded == (0 if exact else 41)
    for (x,) in examples:
        with torch.no_grad():
            expected, got = module(x), prepared(x)
        for name in ("phi4", "phi34"):
            e, g = getattr(expected, name), getattr(got, name)
            if exact:
                assert torch.equal(e, g), name
            else:
                assert float((e - g).abs().max()) <= 1e-4 * float(e.abs().max()), name


def _boxes(frames, boxes, **params):
    tracker = trackerzoo.create("cract", weights=None, device="cpu", **params)
    tracker.initialize(frames[0], box=tuple(boxes[0]))
    return tracker, np.array([tracker.track(frame).box for frame in frames[1:5]])


def test_exact_inference_tracks_bit_for_bit_like_the_eager_network(procedural_clip):
    frames, boxes = procedural_clip
    exact, exact_boxes = _boxes(frames, boxes, inference="exact")
    eager, eager_boxes = _boxes(frames, boxes, inference="eager")
    assert isinstance(exact.features, PreparedModule) and exact.features.path == "traced"
    assert exact.features.fallback_reason is None
    assert eager.features is eager.network.features
    np.testing.assert_array_equal(exact_boxes, eager_boxes)
    # The network keeps its own (unprepared) modules: its state dict is still the weight file's.
    assert exact.network.state_dict().keys() == eager.network.state_dict().keys()


def test_fast_inference_is_built_and_the_choice_is_checked(procedural_clip):
    frames, boxes = procedural_clip
    fast, fast_boxes = _boxes(frames, boxes, inference="fast")
    assert fast.features.path == "traced" and fast.features.folded == 41
    assert np.isfinite(fast_boxes).all()
    with pytest.raises(ValueError, match="inference"):
        trackerzoo.create("cract", weights=None, device="cpu", inference="turbo")
