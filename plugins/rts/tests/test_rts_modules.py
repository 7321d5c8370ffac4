"""Module shapes of both variants' heads, the learners' objectives, the memory rules (a)-(d) and the schedule."""

from __future__ import annotations

import itertools

import pytest
import torch
from trackerzoo_rts.model.label_encoder import MaskEncoder
from trackerzoo_rts.model.network import RtsNet, normalize_input
from trackerzoo_rts.params import MODEL_CONFIGS
from trackerzoo_rts.tracker import is_update_frame, memory_decision


@pytest.fixture(scope="module")
def network() -> RtsNet:
    torch.manual_seed(0)
    return RtsNet(MODEL_CONFIGS["mobilenetv2"]).eval()


def test_branch_shapes(network: RtsNet) -> None:
    crops = torch.rand(2, 3, 64, 96)
    with torch.no_grad():
        levels = network.backbone(crops)
        seg = network.segmentation_features(levels)
        inst = network.instance_features(levels)
        assert seg.shape == (2, 128, 4, 6) and inst.shape == (2, 128, 2, 3)
        masks = torch.zeros(2, 1, 1, 64, 96)
        masks[..., 16:48, 30:70] = 1
        tau = network.learn_segmentation(seg[:, None], masks, num_iters=2)
        assert tau.shape == (2, 16, 128, 3, 3)
        boxes = torch.tensor([[[30.0, 16, 40, 32]], [[30.0, 16, 40, 32]]])
        labels = torch.rand(2, 1, 1, 3, 4)
        kappas = network.classifier.learn(inst[:, None], boxes, labels, num_iters=3)
        assert len(kappas) == 4 and kappas[-1].shape == (2, 1, 128, 4, 4)
        scores = network.classifier.apply(kappas[-1], inst[:, None])[:, 0]
        assert scores.shape == (2, 1, 3, 4)
        logits = network.segment(tau, seg, levels, scores, (64, 96))
        assert logits.shape == (2, 1, 64, 96)
        assert network.segment(tau, seg, levels, None, (64, 96)).shape == (2, 1, 64, 96)


def test_training_pass_shapes_and_gradients(network: RtsNet) -> None:
    frames = torch.rand(1, 3, 3, 64, 96)
    masks = torch.zeros(1, 3, 1, 64, 96)
    masks[..., 20:40, 30:60] = 1
    boxes = torch.tensor([[[30.0, 20, 30, 20]] * 3])
    labels = torch.rand(1, 3, 1, 3, 4)
    network.train()
    try:
        out = network(frames, boxes, masks, labels, refinement_iters=1)
        assert out.mask_logits.shape == (1, 2, 1, 64, 96)
        assert len(out.instance_scores) == MODEL_CONFIGS["mobilenetv2"].num_iters + 1
        (out.mask_logits.mean() + out.instance_scores[-1].mean()).backward()
        reg = network.target_model.filter_optimizer.residual_module.filter_reg
        assert reg.grad is not None and torch.isfinite(reg.grad).all()
    finally:
        network.eval()
        network.zero_grad()


def test_segmentation_learner_lowers_its_objective(network: RtsNet) -> None:
    torch.manual_seed(1)
    feat = torch.randn(1, 2, 128, 4, 6)
    label = torch.randn(1, 2, 16, 4, 6)
    weights = torch.rand(1, 2, 16, 4, 6)
    learner = network.target_model.filter_optimizer
    reg = float(learner.residual_module.filter_reg.detach()) ** 2

    def objective(filt: torch.Tensor) -> float:
        residual = weights * (network.target_model.apply(filt, feat) - label)
        return float(0.5 * residual.square().sum() + 0.5 * reg * filt.square().sum())

    with torch.no_grad():
        iterates = learner(network.target_model.zero_filter(feat), feat, label, weights, num_iters=4)
    values = [objective(f) for f in iterates]
    assert all(b < a for a, b in itertools.pairwise(values))


def test_score_encoder_keeps_the_resolution_and_mask_encoder_divides_by_16() -> None:
    mask_encoder, score_encoder = MaskEncoder(stride=2), MaskEncoder(stride=1)
    encoding, weights = mask_encoder(torch.rand(3, 1, 64, 96))
    assert encoding.shape == weights.shape == (3, 16, 4, 6)
    assert score_encoder(torch.rand(3, 1, 5, 7))[0].shape == (3, 16, 5, 7)
    with pytest.raises(ValueError, match="label maps"):
        mask_encoder(torch.rand(3, 2, 64, 96))


def test_official_input_normalisation_is_bgr_255_minus_mean() -> None:
    white = torch.ones(1, 3, 2, 2)
    out = normalize_input(white, "bgr255")
    assert torch.allclose(out[0, :, 0, 0], torch.tensor([255 - 102.9801, 255 - 115.9465, 255 - 122.7717]))
    with pytest.raises(ValueError, match="normalisation"):
        normalize_input(white, "rgb")


def test_backbone_rejects_crops_not_multiple_of_32(network: RtsNet) -> None:
    with pytest.raises(ValueError, match="multiples of 32"):
        network.backbone(torch.rand(1, 3, 50, 96))


@pytest.mark.parametrize(
    ("instance_found", "mask_found", "segmentation", "instance", "rule"),
    [
        (True, True, True, True, "a"),
        (False, True, False, False, "b"),
        (True, False, False, True, "c"),
        (False, False, False, False, "d"),
    ],
)
def test_memory_rules(instance_found, mask_found, segmentation, instance, rule) -> None:
    decision = memory_decision(instance_found, mask_found)
    assert (decision.segmentation, decision.instance) == (segmentation, instance), f"rule ({rule})"


def test_update_schedule_every_frame_for_100_then_every_20th() -> None:
    updated = [f for f in range(1, 201) if is_update_frame(f, 100, 20)]
    assert updated == [*range(1, 100), 100, 120, 140, 160, 180, 200]
