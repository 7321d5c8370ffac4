"""First-frame views of the discriminator: the transforms, their parsing, the sample shares."""

from __future__ import annotations

import pytest
import torch
from trackerzoo_cract.online.augmentation import first_frame_views, gaussian_blur, parse_views

import trackerzoo


def test_views_are_parsed_and_unknown_ones_named():
    assert parse_views("") == ()
    assert parse_views(" flip , blur ") == ("flip", "blur")
    with pytest.raises(ValueError, match="'rotate'"):
        parse_views("flip,rotate")
    with pytest.raises(ValueError, match=r"init_augmentations.*'zoom'"):
        trackerzoo.create("cract", weights=None, init_augmentations="zoom")


def test_blur_keeps_constants_and_mass_and_matches_a_dense_convolution():
    constant = torch.full((1, 3, 9, 11), 0.25, dtype=torch.float64)
    assert torch.allclose(gaussian_blur(constant, 3.0, 1.0), constant)

    impulse = torch.zeros(1, 1, 41, 41, dtype=torch.float64)
    impulse[..., 20, 20] = 1.0
    blurred = gaussian_blur(impulse, 3.0, 1.0)
    assert blurred.shape == impulse.shape
    assert torch.isclose(blurred.sum(), torch.tensor(1.0, dtype=torch.float64))
    assert torch.allclose(blurred, torch.flip(blurred, dims=(-1,)))  # symmetric
    # Wider along x (sigma 3) than along y (sigma 1).
    assert blurred[0, 0, 20, 25] > blurred[0, 0, 25, 20]
    # Separable: the impulse response is the outer product of the two 1-D kernels.
    row, column = blurred[0, 0, 20], blurred[0, 0, :, 20]
    assert torch.allclose(blurred[0, 0], torch.outer(column, row) / blurred[0, 0, 20, 20])


def test_views_keep_the_target_centred_and_the_shape():
    crop = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    views = first_frame_views(crop, ("flip", "blur"))
    assert len(views) == 5 and all(view.shape == crop.shape for view in views)
    assert views[0] is crop
    assert torch.equal(torch.flip(views[1], dims=(-1,)), crop)
    assert first_frame_views(crop, ()) == [crop]


def test_augmented_first_fit_shares_the_papers_sample_counts(procedural_clip):
    frames, boxes = procedural_clip
    tracker = trackerzoo.create("cract", device="cpu", init_augmentations="flip,blur")
    tracker.initialize(frames[0], tuple(boxes[0]))
    shares = tracker.discriminator._shares(5)
    assert sum(s[0] for s in shares) == 200 and sum(s[1] for s in shares) == 1000
    memory = tracker.discriminator.memory.initial
    assert memory.labels.numel() == 1200 and int(memory.labels.sum()) == 200
    # The fit over the five views still lowers Eq. 8 well below its starting value.
    history = tracker.discriminator_history
    assert history[-1] < 0.5 * history[0]
    prediction = tracker.track(frames[1])
    assert prediction.score > 0.0
