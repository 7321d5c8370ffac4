"""Losses against values worked out by hand (the arithmetic is in the comments)."""

from __future__ import annotations

import math

import pytest
import torch

from trackerzoo.training.losses import (
    bce_contour_loss,
    bce_loss,
    dimp_hinge_loss,
    focal_hinge_mse_loss,
    iou_loss,
    l1_loss,
    lovasz_hinge_loss,
    lovasz_softmax_loss,
    mask_contour,
    smooth_l1_loss,
)


def test_bce_plain_and_weighted():
    logits = torch.tensor([0.0, 2.0])
    target = torch.tensor([1.0, 0.0])
    # -log sigmoid(0) = log 2;  -log(1 - sigmoid(2)) = log(1 + e^2)
    per_item = [math.log(2), math.log(1 + math.e**2)]
    assert bce_loss(logits, target).item() == pytest.approx(sum(per_item) / 2, abs=1e-6)
    weighted = bce_loss(logits, target, weight=torch.tensor([3.0, 1.0]))
    assert weighted.item() == pytest.approx((3 * per_item[0] + per_item[1]) / 4, abs=1e-6)
    assert bce_loss(logits, target, reduction="sum").item() == pytest.approx(sum(per_item), abs=1e-6)


def test_mask_contour_is_the_outline_of_a_square():
    mask = torch.zeros(5, 5)
    mask[1:4, 1:4] = 1
    outline = mask_contour(mask)
    expected = mask.clone()
    expected[2, 2] = 0  # the 3x3 square minus its centre
    assert torch.equal(outline, expected)


def test_bce_contour_matches_the_papers_equation():
    mask = torch.zeros(1, 5, 5)
    mask[0, 1:4, 1:4] = 1
    logits = torch.zeros(1, 5, 5)
    # BCE(0.5, y) = log 2 everywhere; the contour term is -log 0.5 on the 8 outline pixels, 0 elsewhere.
    expected = math.log(2) + 0.1 * (8 / 25) * math.log(2)
    assert bce_contour_loss(logits, mask).item() == pytest.approx(expected, abs=1e-6)

    # Eq. 5 literally, with probabilities: BCE(p, y) + lambda * BCE(p * y_b, y_b).
    logits = torch.randn(2, 6, 7, generator=torch.Generator().manual_seed(0))
    masks = torch.zeros(2, 6, 7)
    masks[:, 2:5, 1:6] = 1
    contour = mask_contour(masks)
    p = torch.sigmoid(logits)
    literal = torch.nn.functional.binary_cross_entropy(p, masks) + 0.1 * torch.nn.functional.binary_cross_entropy(
        p * contour, contour
    )
    assert bce_contour_loss(logits, masks, contour_weight=0.1).item() == pytest.approx(literal.item(), abs=1e-5)


SCORES = torch.tensor([0.5, -0.3, 0.2, 0.8])
LABELS = torch.tensor([1.0, 0.0, 0.01, 0.5])


def test_focal_hinge_mse():
    # y=1:    1^0.1 * (0.5 - 1)^2 = 0.25
    # y=0:    0.9 * max(0, -0.3)^2 = 0
    # y=0.01: below tau -> 0.9 * 0.2^2 = 0.036
    # y=0.5:  0.5^0.1 * 0.3^2 = 0.0839730
    expected = (0.25 + 0.0 + 0.036 + 0.5**0.1 * 0.09) / 4
    assert focal_hinge_mse_loss(SCORES, LABELS).item() == pytest.approx(expected, abs=1e-6)
    literal = (0.5 + 0.0 + 0.9 * 0.2 + 0.5**0.1 * 0.3) / 4  # the absolute-value form of the paper's text
    assert focal_hinge_mse_loss(SCORES, LABELS, squared=False).item() == pytest.approx(literal, abs=1e-6)


def test_dimp_hinge():
    # target region (y >= 0.05): (0.5-1)^2 + (0.8-0.5)^2; background: max(0,-0.3)^2 + max(0,0.2)^2
    expected = (0.25 + 0.09 + 0.0 + 0.04) / 4
    assert dimp_hinge_loss(SCORES, LABELS).item() == pytest.approx(expected, abs=1e-6)
    # With an explicit target mask only element 0 is target: (0.5-1)^2, and 0.2, 0.8 are hinged.
    mask = torch.tensor([True, False, False, False])
    assert dimp_hinge_loss(SCORES, LABELS, target_mask=mask).item() == pytest.approx(
        (0.25 + 0.0 + 0.04 + 0.64) / 4, abs=1e-6
    )


def test_lovasz_hinge_hand_case_and_perfect_prediction():
    logits = torch.tensor([[2.0, -1.0, 0.5]])
    labels = torch.tensor([[1.0, 0.0, 0.0]])
    # errors 1 - s*sign = [-1, 0, 1.5]; sorted [1.5, 0, -1] with labels [0, 0, 1]
    # Jaccard losses along the order: 1 - 1/2, 1 - 1/3, 1 - 0 -> gradient [1/2, 1/6, 1/3]
    # loss = 1.5 * 1/2 = 0.75
    assert lovasz_hinge_loss(logits, labels).item() == pytest.approx(0.75, abs=1e-6)
    perfect = torch.tensor([[3.0, -3.0, -3.0]])
    assert lovasz_hinge_loss(perfect, labels).item() == pytest.approx(0.0, abs=1e-7)
    # per_image averages images; two copies give the same value
    assert lovasz_hinge_loss(logits.repeat(2, 1), labels.repeat(2, 1)).item() == pytest.approx(0.75, abs=1e-6)


def test_lovasz_softmax_hand_case():
    p1 = torch.tensor([0.9, 0.2, 0.6])
    probabilities = torch.stack([1 - p1, p1]).reshape(1, 2, 1, 3)
    labels = torch.tensor([[[1, 0, 0]]])
    # class 1: errors [0.1, 0.2, 0.6] -> sorted labels [0, 0, 1], gradient [1/2, 1/6, 1/3]: 0.3 + 0.2/6 + 0.1/3
    # class 0: errors [0.1, 0.2, 0.6] -> sorted labels [1, 1, 0], gradient [1/2, 1/2, 0]: 0.3 + 0.1
    expected = ((0.3 + 0.2 / 6 + 0.1 / 3) + 0.4) / 2
    assert lovasz_softmax_loss(probabilities, labels).item() == pytest.approx(expected, abs=1e-6)
    ignored = lovasz_softmax_loss(probabilities, torch.tensor([[[1, 255, 255]]]), ignore_index=255)
    # only pixel 0 (class 1, p=0.9): class 1 error 0.1 with gradient 1 -> 0.1 (class 0 absent)
    assert ignored.item() == pytest.approx(0.1, abs=1e-6)


def test_smooth_l1_and_l1():
    prediction = torch.tensor([0.0, 2.0])
    target = torch.tensor([0.5, 0.0])
    # |0.5| < 1: 0.5 * 0.25 = 0.125;  |2| >= 1: 2 - 0.5 = 1.5
    assert smooth_l1_loss(prediction, target).item() == pytest.approx((0.125 + 1.5) / 2)
    assert l1_loss(prediction, target).item() == pytest.approx(1.25)
    with pytest.raises(ValueError, match="-1"):
        smooth_l1_loss(prediction, target, beta=-1)


@pytest.mark.parametrize(
    ("box_format", "pred", "target"),
    [
        ("xyxy", [0.0, 0.0, 2.0, 2.0], [1.0, 1.0, 3.0, 3.0]),
        ("xywh", [0.0, 0.0, 2.0, 2.0], [1.0, 1.0, 2.0, 2.0]),
        # the same two boxes seen from the point (1.5, 1.5)
        ("ltrb", [1.5, 1.5, 0.5, 0.5], [0.5, 0.5, 1.5, 1.5]),
    ],
)
def test_iou_losses(box_format, pred, target):
    pred_t, target_t = torch.tensor([pred]), torch.tensor([target])
    # intersection 1, union 4 + 4 - 1 = 7, enclosing 3 x 3 = 9
    iou = 1 / 7
    assert iou_loss(pred_t, target_t, box_format=box_format).item() == pytest.approx(1 - iou, abs=1e-6)
    assert iou_loss(pred_t, target_t, box_format=box_format, mode="log").item() == pytest.approx(math.log(7), abs=1e-5)
    giou = iou - (9 - 7) / 9
    assert iou_loss(pred_t, target_t, box_format=box_format, mode="giou").item() == pytest.approx(1 - giou, abs=1e-6)


def test_giou_has_a_gradient_for_disjoint_boxes():
    pred = torch.tensor([[0.0, 0.0, 1.0, 1.0]], requires_grad=True)
    target = torch.tensor([[2.0, 0.0, 3.0, 1.0]])
    loss = iou_loss(pred, target, mode="giou")
    # IoU 0, union 2, enclosing 3 -> GIoU = -1/3
    assert loss.item() == pytest.approx(1 + 1 / 3, abs=1e-6)
    loss.backward()
    assert pred.grad.abs().sum() > 0
    assert iou_loss(pred.detach(), target).item() == pytest.approx(1.0)


def test_bad_arguments_name_the_value():
    with pytest.raises(ValueError, match="'average'"):
        bce_loss(torch.zeros(2), torch.zeros(2), reduction="average")
    with pytest.raises(ValueError, match="'cxcywh'"):
        iou_loss(torch.zeros(1, 4), torch.zeros(1, 4), box_format="cxcywh")
