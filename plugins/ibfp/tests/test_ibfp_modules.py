"""IBFP's modules: shapes (36 x 36 x 128 out of 288 crops), CSCS, IBU, the losses and the sample rule."""

from __future__ import annotations

import math

import pytest
import torch
from trackerzoo_ibfp.decode import anchor_points, ltrb_targets, regression_sample_mask
from trackerzoo_ibfp.network import CompressedSpaceChannelSelection, IbfpNet, InstanceBasedUpsampling
from trackerzoo_ibfp.params import MODEL_CONFIGS
from trackerzoo_ibfp.training.recipe import IbfpTrainSettings, ibfp_losses

from trackerzoo.geometry import xyxy_to_cxcywh
from trackerzoo.geometry.anchor_free import decode_ltrb
from trackerzoo.labels import gaussian_center_labels
from trackerzoo.training.losses.classification import focal_hinge_mse_loss


@pytest.mark.parametrize("variant", ["mobilenetv2", "r18"])
def test_upsampled_feature_is_36x36x128_from_288_crops(variant):
    torch.manual_seed(0)
    network = IbfpNet(MODEL_CONFIGS[variant]).eval()
    crops = torch.rand(1, 3, 288, 288)
    with torch.no_grad():
        levels = network.features(crops)
        assert [tuple(level.shape[-2:]) for level in levels] == [(36, 36), (18, 18), (9, 9)]
        kernels = network.template_kernels(levels)
        assert [k.shape[-1] for k in kernels] == [9, 5, 3]
        response = network.upsampled_response(levels, kernels)
        centre, distances = network.head(response)
    assert response.shape == (1, 128, 36, 36)
    assert centre.shape == (1, 1, 36, 36) and distances.shape == (1, 4, 36, 36)
    assert bool((distances > 0).all())


def test_ibu_doubles_the_resolution_and_takes_the_shallow_channels():
    torch.manual_seed(0)
    ibu = InstanceBasedUpsampling(16, 8)
    out = ibu(torch.rand(2, 16, 5, 5), torch.rand(2, 16, 3, 3), torch.rand(2, 8, 10, 10))
    assert out.shape == (2, 8, 10, 10)
    out.sum().backward()
    assert all(p.grad is not None for p in ibu.parameters())


def test_cscs_starts_as_the_identity_and_reweights_by_the_search_statistics():
    torch.manual_seed(0)
    cscs = CompressedSpaceChannelSelection(8, 6, ratio=0.5)
    assert cscs.compress.out_channels == 4
    template, search = torch.rand(2, 8, 3, 3), torch.rand(2, 6, 7, 7)
    assert torch.equal(cscs(template, search), template)  # zero-initialised expansion: residual only
    torch.nn.init.normal_(cscs.expand.weight)
    other = search.clone()
    other[1] *= 3.0
    first, second = cscs(template, search), cscs(template, other)
    assert torch.allclose(first[0], second[0]) and not torch.allclose(first[1], second[1])


def test_focal_hinge_mse_matches_hand_computed_values():
    # Eq. 9 with alpha 0.9, gamma 0.1, tau 0.05 (squared, the MSE form).
    scores = torch.tensor([0.8, 0.2, 0.3, -0.4, 0.01])
    labels = torch.tensor([1.0, 0.5, 0.04, 0.0, 0.05])
    expected = [
        1.0**0.1 * (0.8 - 1.0) ** 2,  # positive: y^gamma (s - y)^2 = 0.04
        0.5**0.1 * (0.2 - 0.5) ** 2,  # positive: 0.93303 * 0.09 = 0.083973
        0.9 * 0.3**2,  # y < tau: alpha max(0, s)^2 = 0.081
        0.0,  # negative scoring below zero costs nothing
        0.05**0.1 * (0.01 - 0.05) ** 2,  # y == tau counts as positive
    ]
    losses = focal_hinge_mse_loss(scores, labels, 0.9, 0.1, 0.05, reduction="none")
    assert torch.allclose(losses, torch.tensor(expected), atol=1e-7)
    assert math.isclose(float(losses[1]), 0.0839730, rel_tol=1e-5)


@pytest.mark.parametrize("w, h", [(64.0, 64.0), (128.0, 32.0), (24.0, 96.0), (6.0, 6.0)])
def test_regression_samples_lie_within_a_quarter_of_the_box_of_its_centre(w, h):
    points = anchor_points(24, 8.0)
    box = torch.tensor([[96.0 - w / 2, 92.0 - h / 2, w, h]])  # centre (96, 92)
    mask = regression_sample_mask(points, box, "ratio", 0.25)[0]
    chosen = points[mask]
    if w < 16:  # no grid point within a quarter of a tiny box: the nearest point alone
        assert int(mask.sum()) == 1 and float((chosen - torch.tensor([96.0, 92.0])).norm()) <= 8.0
        return
    assert bool(((chosen[:, 0] - 96.0).abs() <= 0.25 * w).all() and ((chosen[:, 1] - 92.0).abs() <= 0.25 * h).all())
    # every grid point inside the window is chosen (points every 8 px, at 4 + 8k)
    expected_x = sum(1 for k in range(24) if abs(4 + 8 * k - 96.0) <= 0.25 * w)
    expected_y = sum(1 for k in range(24) if abs(4 + 8 * k - 92.0) <= 0.25 * h)
    assert int(mask.sum()) == max(1, expected_x * expected_y)
    # the ratio 0.5 rule is every point inside the box; a fixed distance ignores the aspect
    inside = regression_sample_mask(points, box, "ratio", 0.5)[0]
    assert int(inside.sum()) >= int(mask.sum())
    fixed = regression_sample_mask(points, box, "distance", 24.0)[0]
    assert bool(((points[fixed] - torch.tensor([96.0, 92.0])).abs() <= 24.0).all())


def test_ltrb_targets_decode_back_to_the_box_and_bad_rules_raise():
    points = anchor_points(6, 8.0)
    boxes = torch.tensor([[10.0, 12.0, 20.0, 30.0]])
    decoded = xyxy_to_cxcywh(decode_ltrb(points, ltrb_targets(points, boxes)[0].t()))
    assert torch.allclose(decoded, torch.tensor([[20.0, 27.0, 20.0, 30.0]]).expand(36, 4))
    with pytest.raises(ValueError, match="'diagonal'"):
        regression_sample_mask(points, boxes, "diagonal", 0.25)
    with pytest.raises(ValueError, match="-1"):
        regression_sample_mask(points, boxes, "ratio", -1.0)


def test_losses_are_zero_on_a_perfect_prediction_and_negative_pairs_train_no_boxes():
    settings = IbfpTrainSettings(data="unused")
    boxes = torch.tensor([[40.0, 50.0, 60.0, 40.0], [10.0, 10.0, 30.0, 30.0]])
    points = anchor_points(12, 8.0)
    labels = gaussian_center_labels(boxes, (12, 12), 8.0, offset=4.0, sigma_factor=settings.label_sigma_factor)
    centre = torch.where(labels >= settings.tau, labels, torch.zeros_like(labels))[:, None]
    centre[1] = -1.0  # the negative pair: anything below zero is free
    distances = ltrb_targets(points, boxes).reshape(2, 4, 12, 12)
    positive = torch.tensor([True, False])
    centre_loss, box_loss = ibfp_losses(centre, distances, boxes, positive, settings, 8.0)
    assert float(centre_loss) < 1e-10 and float(box_loss) < 1e-5
    distances = distances.clone()
    distances[1] += 100.0  # errors on the negative pair do not count
    assert float(ibfp_losses(centre, distances, boxes, positive, settings, 8.0)[1]) < 1e-5
