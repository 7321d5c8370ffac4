import numpy as np
import pytest
import torch

from trackerzoo import geometry as geo


def test_conversions_hand_computed_numpy():
    box = np.array([10.0, 20.0, 30.0, 40.0])
    np.testing.assert_allclose(geo.xywh_to_xyxy(box), [10, 20, 40, 60])
    np.testing.assert_allclose(geo.xywh_to_cxcywh(box), [25, 40, 30, 40])
    np.testing.assert_allclose(geo.xyxy_to_xywh([10, 20, 40, 60]), [10, 20, 30, 40])
    np.testing.assert_allclose(geo.cxcywh_to_xywh([25, 40, 30, 40]), [10, 20, 30, 40])
    np.testing.assert_allclose(geo.cxcywh_to_xyxy([25, 40, 30, 40]), [10, 20, 40, 60])
    np.testing.assert_allclose(geo.xyxy_to_cxcywh([10, 20, 40, 60]), [25, 40, 30, 40])


def test_conversions_torch_batched_keep_type_and_round_trip():
    boxes = torch.rand(5, 3, 4, dtype=torch.float64) * 50
    out = geo.xyxy_to_xywh(geo.xywh_to_xyxy(boxes))
    assert isinstance(out, torch.Tensor) and out.shape == (5, 3, 4)
    torch.testing.assert_close(out, boxes)
    torch.testing.assert_close(geo.cxcywh_to_xywh(geo.xywh_to_cxcywh(boxes)), boxes)


def test_conversion_rejects_wrong_shape():
    with pytest.raises(ValueError, match="trailing dimension"):
        geo.xywh_to_xyxy(np.zeros((3, 5)))


def test_box_iou_hand_computed():
    a = np.array([[0.0, 0.0, 10.0, 10.0]])
    b = np.array([[5.0, 5.0, 10.0, 10.0], [0.0, 0.0, 10.0, 10.0], [20.0, 20.0, 5.0, 5.0], [0.0, 0.0, 5.0, 10.0]])
    iou = geo.box_iou(a, b)
    assert iou.shape == (1, 4)
    # overlap 5x5=25, union 100+100-25=175
    np.testing.assert_allclose(iou[0], [25 / 175, 1.0, 0.0, 0.5])


def test_box_iou_pairwise_matches_elementwise_torch():
    gen = torch.Generator().manual_seed(0)
    a = torch.rand(6, 4, generator=gen) * torch.tensor([50, 50, 20, 20]) + torch.tensor([0, 0, 1, 1])
    b = torch.rand(4, 4, generator=gen) * torch.tensor([50, 50, 20, 20]) + torch.tensor([0, 0, 1, 1])
    pairwise = geo.box_iou(a, b)
    for i in range(6):
        for j in range(4):
            torch.testing.assert_close(pairwise[i, j], geo.box_iou_elementwise(a[i], b[j]))


def test_box_iou_empty_boxes_give_zero():
    assert geo.box_iou_elementwise(np.zeros(4), np.zeros(4)) == 0.0


def test_box_iou_rejects_1d_for_pairwise():
    with pytest.raises(ValueError, match="box_iou"):
        geo.box_iou(np.zeros(4), np.zeros((2, 4)))
