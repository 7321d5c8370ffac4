"""The online discriminator: Gauss-Newton/CG fits lower Eq. 8, sampling rules (memory windows: tests/learners)."""

from __future__ import annotations

import numpy as np
import torch
from trackerzoo_cract.model import Discriminator
from trackerzoo_cract.model.anchors import pairwise_iou
from trackerzoo_cract.online.sampling import distractor_boxes, negative_boxes, positive_boxes

import trackerzoo
from trackerzoo.demo_data import DEMO_CLIP, DEMO_INIT_BOX
from trackerzoo.frames import open_frames
from trackerzoo.learners import gauss_newton_fit


def _separable_samples(count: int, generator: torch.Generator):
    """Pooled features whose mean channel value tells positives from negatives."""
    labels = (torch.arange(count) % 4 == 0).float()
    shift = (labels * 2 - 1).view(-1, 1, 1, 1)
    levels = tuple(torch.randn(count, 8, s, s, generator=generator) + 0.7 * shift for s in (6, 3, 1))
    weights = torch.where(labels > 0, 0.5 / labels.sum(), 0.5 / (count - labels.sum()))
    return levels, labels, weights


def test_first_frame_fit_of_all_layers_lowers_the_objective_every_step():
    generator = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    discriminator = Discriminator(channels=8, positions=46, conv_channels=4, hidden=16)
    samples, labels, weights = _separable_samples(120, generator)
    reg = discriminator.regularization(samples, fc_reg=0.1, conv_reg=1e-4)
    history = gauss_newton_fit(discriminator, samples, labels, weights, reg=reg, gauss_newton_iters=4, cg_iters=10)
    assert len(history) == 5
    # Plain Gauss-Newton has no line search: later steps may wobble, but the fit must hold.
    assert history[1] < history[0]
    assert max(history[1:]) < 0.5 * history[0]
    scores = discriminator(samples)
    assert scores[labels > 0].mean() > scores[labels == 0].mean() + 0.3


def test_update_changes_only_the_fc_layers_and_lowers_the_objective():
    generator = torch.Generator().manual_seed(1)
    torch.manual_seed(1)
    discriminator = Discriminator(channels=8, positions=46, conv_channels=4, hidden=16)
    samples, labels, weights = _separable_samples(80, generator)
    conv_before = discriminator.conv.weight.detach().clone()
    fc_before = discriminator.fc1.weight.detach().clone()
    projected = discriminator.project(samples).detach()
    history = gauss_newton_fit(discriminator, projected, labels, weights, reg=0.1, gauss_newton_iters=1, cg_iters=5)
    assert history[1] < history[0]
    assert torch.equal(discriminator.conv.weight, conv_before)
    assert not torch.equal(discriminator.fc1.weight, fc_before)


def test_sampled_boxes_respect_the_iou_rules():
    generator = torch.Generator().manual_seed(5)
    target = torch.tensor([127.5, 127.5, 40.0, 60.0])
    positives = positive_boxes(target, 200, 0.7, generator)
    negatives = negative_boxes(target, 1000, 0.3, 255.0, generator)
    assert positives.shape == (200, 4) and negatives.shape == (1000, 4)
    assert bool((pairwise_iou(positives, target[None]) >= 0.7).all())
    assert bool((pairwise_iou(negatives, target[None]) < 0.3).all())
    assert len({tuple(row.tolist()) for row in negatives}) > 900  # not padded by repetition


def test_distractor_negatives_are_shared_out_around_each_distractor_and_miss_the_target():
    generator = torch.Generator().manual_seed(6)
    target = torch.tensor([127.5, 127.5, 40.0, 60.0])
    # One distractor far away, one close enough that some of its jittered copies touch the target.
    distractors = torch.tensor([[40.0, 200.0, 38.0, 58.0], [160.0, 127.5, 40.0, 60.0]])
    negatives = distractor_boxes(distractors, target, 101, 0.3, generator)
    assert negatives.shape == (101, 4)
    assert bool((pairwise_iou(negatives, target[None])[:, 0] < 0.3).all())
    nearest = pairwise_iou(negatives, distractors).argmax(dim=1)
    assert nearest.tolist() == [0] * 51 + [1] * 50  # the odd box goes to the first distractor
    assert bool((pairwise_iou(negatives, distractors).amax(dim=1) > 0.4).all())  # copies, not random boxes
    assert distractor_boxes(torch.zeros(0, 4), target, 100, 0.3, generator).shape == (0, 4)
    assert distractor_boxes(distractors, target, 0, 0.3, generator).shape == (0, 4)


def _demo_first_frame() -> np.ndarray:
    return next(iter(open_frames(DEMO_CLIP)))


def test_first_frame_hard_negatives_come_from_the_rpn_distractors(monkeypatch):
    # The paper's hard negative mining ("more similar distractors among the negatives"),
    # applied to the first fit: the RPN's proposals away from the target get jittered copies.
    # The demo's first frame has other objects near the target (a tripod, a stone).
    import trackerzoo_cract.online.discriminator_learner as learner

    calls = []

    def recording(distractors, target, count, max_iou, generator):
        calls.append((distractors.clone(), target.clone(), count))
        return distractor_boxes(distractors, target, count, max_iou, generator)

    monkeypatch.setattr(learner, "distractor_boxes", recording)
    frame = _demo_first_frame()
    trackerzoo.create("cract", device="cpu", init_distractor_negatives=0).initialize(frame, DEMO_INIT_BOX)
    assert calls == []
    tracker = trackerzoo.create("cract", device="cpu", init_distractor_negatives=300)
    tracker.initialize(frame, DEMO_INIT_BOX)
    (distractors, target, count), = calls
    assert count == 300
    assert 0 < distractors.shape[0] <= tracker.params.num_proposals
    assert bool((pairwise_iou(distractors, target[None])[:, 0] < tracker.params.negative_iou).all())


def _first_frame_scores(frames, boxes, **params) -> tuple[torch.Tensor, torch.Tensor]:
    """Scores of the fitted discriminator on fresh target and background boxes of the first frame."""
    tracker = trackerzoo.create("cract", device="cpu", **params)
    tracker.initialize(frames[0], boxes[0])
    maps, scale = tracker._search_features(tracker._frame_tensor(frames[0]))
    phi34 = maps.phi34
    target = tracker._target_in_crop(scale, tracker.params.search_size)
    generator = torch.Generator().manual_seed(99)  # boxes the fit has not seen
    discriminator = tracker.discriminator
    with torch.no_grad():
        positives = discriminator.network(discriminator._pool(phi34, positive_boxes(target, 50, 0.7, generator)))
        negatives = discriminator.network(discriminator._pool(phi34, negative_boxes(target, 200, 0.3, 255.0,
                                                                                   generator)))
    return positives, negatives


def test_first_frame_fit_separates_fresh_target_boxes_from_background():
    # Regression test on a real frame (the demo clip's first): with ATOM's lambda = 0.1 the
    # fit collapsed to the all-zero scorer and ranked target boxes below background ones.
    # Measured: positives 0.93 on average with the stage-2 weights, 0.68 (lowest 0.49) with
    # the stage-5 ones; background about 0.0 (highest 0.21). A collapsed fit scores all ~0.
    positives, negatives = _first_frame_scores([_demo_first_frame()], [DEMO_INIT_BOX])
    assert positives.mean() > 0.5 and negatives.mean() < 0.2
    assert positives.min() > negatives.max()


def test_first_frame_negatives_come_from_the_wider_region(procedural_clip, monkeypatch):
    # MDNet draws first-frame negatives from the whole image; init_region_factor sets how
    # far around the target that region reaches (in search regions, at the search scale).
    import trackerzoo_cract.online.discriminator_learner as learner

    regions = []

    def recording(target, count, max_iou, region_size, generator):
        regions.append((target.clone(), region_size))
        return negative_boxes(target, count, max_iou, region_size, generator)

    monkeypatch.setattr(learner, "negative_boxes", recording)
    frames, boxes = procedural_clip
    for factor in (1.0, 2.0):
        tracker = trackerzoo.create("cract", device="cpu", init_region_factor=factor)
        tracker.initialize(frames[0], tuple(boxes[0]))
    (target_1, region_1), (target_2, region_2) = regions
    assert region_1 == 255.0 and region_2 == 510.0
    # Same scale, wider crop: the target keeps its size and sits at the centre of each region.
    assert torch.allclose(target_1[2:], target_2[2:])
    assert torch.allclose(target_1[:2], torch.tensor([127.5, 127.5]))
    assert torch.allclose(target_2[:2], torch.tensor([255.0, 255.0]))
