"""The ``cract`` recipe: settings, the paper's sampling rules, and one loss evaluation."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from torch.utils.data import default_collate
from trackerzoo_cract.model.anchors import anchor_grid, anchor_shapes, pairwise_iou
from trackerzoo_cract.model.rpn import RpnOutput
from trackerzoo_cract.training.recipe import build_recipe
from trackerzoo_cract.training.targets import ProposalSampling, SamplingRules, anchor_targets

from trackerzoo.datasets.synthetic import DatasetSpec, SceneConfig, build_dataset
from trackerzoo.training import build_recipe as build_registered_recipe


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory):
    spec = DatasetSpec(sequences=2, frames=(6, 6), seed=3, procedural=True,
                       config=dataclasses.replace(SceneConfig(), frame_size=(320, 240)))
    return build_dataset(spec, tmp_path_factory.mktemp("cract-train"))


def test_recipe_is_registered_and_checks_its_settings(tiny_dataset):
    recipe = build_registered_recipe("cract", {"data": str(tiny_dataset), "lr": "0.005", "freeze_backbone": "true"})
    assert recipe.config.lr == pytest.approx(0.005) and recipe.config.freeze_backbone
    with pytest.raises(ValueError, match="data="):
        build_recipe({})
    with pytest.raises(ValueError, match="valid settings"):
        build_recipe({"data": str(tiny_dataset), "learning_rate": "1"})
    with pytest.raises(ValueError, match="variant"):
        build_recipe({"data": str(tiny_dataset), "variant": "vgg"})


def test_anchor_targets_follow_the_paper_thresholds_and_counts():
    torch.manual_seed(0)
    anchors = anchor_grid(25, 255, 8, anchor_shapes(8, (0.33, 0.5, 1.0, 2.0, 3.0), (8.0,))).reshape(-1, 4)
    targets = torch.tensor([[127.5, 127.5, 64.0, 64.0], [100.0, 140.0, 40.0, 90.0]])
    result = anchor_targets(anchors, targets, torch.tensor([True, False]), SamplingRules())
    overlaps = pairwise_iou(anchors, targets[:1])[:, 0]
    positive, negative = result.labels[0] == 1, result.labels[0] == 0
    assert 0 < int(positive.sum()) <= 16
    assert int(positive.sum() + negative.sum()) == 64
    assert bool((overlaps[positive] > 0.6).all()) and bool((overlaps[negative] < 0.3).all())
    # A negative pair trains the RPN on negatives only.
    assert int((result.labels[1] == 1).sum()) == 0 and int((result.labels[1] == 0).sum()) == 64


def test_proposal_sampling_limits_and_iou_rule():
    torch.manual_seed(0)
    anchors = anchor_grid(25, 255, 8, anchor_shapes(8, (0.33, 0.5, 1.0, 2.0, 3.0), (8.0,))).reshape(-1, 4)
    targets = torch.tensor([[127.5, 127.5, 64.0, 48.0], [90.0, 150.0, 40.0, 80.0]])
    rpn = RpnOutput(scores=torch.randn(2, 10, 25, 25), offsets=torch.randn(2, 20, 25, 25) * 0.1)
    proposals = ProposalSampling(targets, torch.tensor([True, True]), 255.0, SamplingRules())(anchors, rpn)
    for b in range(2):
        mine = proposals.batch_index == b
        regression = proposals.boxes[mine & proposals.for_regression]
        assert 0 < regression.shape[0] <= 16
        assert bool((pairwise_iou(regression, targets[b:b + 1]) > 0.5).all())
        assert int((mine & proposals.for_identification).sum()) == 32


def test_one_training_step_gives_finite_losses_and_trains_only_the_heads_when_frozen(tiny_dataset):
    torch.manual_seed(0)
    recipe = build_recipe({"data": str(tiny_dataset), "batch_size": "2", "freeze_backbone": "true"})
    model = recipe.build_model()
    batch = default_collate([recipe.train_data[i] for i in range(2)])
    loss, extras = recipe.compute_loss(model, batch)
    assert torch.isfinite(loss)
    assert set(extras) == {"rpn_cls", "rpn_loc", "reg", "ide", "ide_acc"}
    assert loss.item() == pytest.approx(extras["rpn_cls"] + extras["rpn_loc"] + extras["reg"] + extras["ide"],
                                        rel=1e-4)
    loss.backward()
    assert all(p.grad is None for p in model.features.backbone.parameters())
    for head in (model.rpn, model.regressor, model.identifier, model.features.fuse34):
        assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in head.parameters())
    groups = recipe.parameter_groups(model)
    assert len(groups) == 1  # a frozen backbone gets no optimiser group


def test_ablation_recipes_train_a_single_level_model_and_a_parallel_one(tiny_dataset, monkeypatch):
    torch.manual_seed(0)
    single = build_recipe({"data": str(tiny_dataset), "variant": "mobilenetv2-single-level", "batch_size": "2",
                           "freeze_backbone": "true"})
    model = single.build_model()
    assert model.config.pyramid_levels == (6,) and model.pooling.positions == 36
    batch = default_collate([single.train_data[i] for i in range(2)])
    loss, _ = single.compute_loss(model, batch)
    assert torch.isfinite(loss)

    parallel = build_recipe({"data": str(tiny_dataset), "align_features": "false", "batch_size": "2",
                             "freeze_backbone": "true"})
    model = parallel.build_model()
    seen = []
    original = type(model).refine

    def spy(self, *args, align=True, **kwargs):
        seen.append(align)
        return original(self, *args, align=align, **kwargs)

    monkeypatch.setattr(type(model), "refine", spy)
    loss, _ = parallel.compute_loss(model, batch)
    assert torch.isfinite(loss) and seen == [False]
