"""Shapes and pieces of the OceanPlus network (random weights, small inputs)."""

from __future__ import annotations

import math

import pytest
import torch
from trackerzoo_arn.model import ArnNet
from trackerzoo_arn.model.arn import ARN
from trackerzoo_arn.model.mms import MMS
from trackerzoo_arn.model.ocean import Neck
from trackerzoo_arn.params import MODEL_CONFIGS


@pytest.fixture(scope="module")
def net() -> ArnNet:
    torch.manual_seed(0)
    return ArnNet(MODEL_CONFIGS["mobilenetv2"]).eval()


def test_output_shapes_for_both_search_sizes(net):
    z = torch.rand(1, 3, 127, 127)
    mask = torch.zeros(1, 127, 127)
    mask[:, 40:90, 30:100] = 1
    template = net.template(net.normalize(z), mask)
    assert template.kernel.shape == (1, 128, 8, 8)  # 16x16 map, 4 cells cropped each side
    assert template.lut.keys.shape == (1, 256, 64) and template.lut.values.shape == (1, 256, 1)
    with torch.no_grad():
        out = net.track(net.normalize(torch.rand(1, 3, 255, 255)), template)
    assert out.ltrb.shape == (1, 4, 25, 25) and out.logits.shape == (1, 1, 25, 25)
    assert (out.ltrb > 0).all()
    assert len(out.mask_logits) == 3 and out.mask.shape == (1, 2, 255, 255)
    with torch.no_grad():
        big = net.track(net.normalize(torch.rand(1, 3, 287, 287)), template, with_mask=False)
    assert big.logits.shape == (1, 1, 29, 29) and big.mask is None


def test_arn_retrieval_is_the_papers_softmax():
    torch.manual_seed(1)
    arn = ARN(32, 8).double()
    template = torch.randn(2, 32, 5, 5, dtype=torch.float64)
    search = torch.randn(2, 32, 6, 6, dtype=torch.float64)
    mask = (torch.rand(2, 20, 20) > 0.5).double()
    lut = arn.build_lut(template, mask)
    attention = arn(search, lut)
    queries = arn.s_embed(search).flatten(2).transpose(1, 2)
    keys = arn.t_embed(template).flatten(2).transpose(1, 2)
    values = torch.nn.functional.interpolate(mask[:, None], size=(5, 5), mode="bilinear",
                                             align_corners=True).flatten(2).transpose(1, 2)
    expected = torch.softmax(queries @ keys.transpose(1, 2) / math.sqrt(8), dim=-1) @ values
    assert torch.allclose(attention.flatten(2).transpose(1, 2), expected)
    refilled = lut.with_mask(torch.ones(2, 20, 20, dtype=torch.float64))
    assert torch.allclose(arn(search, refilled), torch.ones_like(attention))


def test_mms_stage_count_and_bad_values():
    torch.manual_seed(2)
    c = (torch.rand(1, 4, 32, 32), torch.rand(1, 6, 16, 16), torch.rand(1, 8, 8, 8), torch.rand(1, 10, 8, 8))
    corr = torch.rand(1, 12, 5, 5)
    for stages in (1, 2, 3):
        mms = MMS((4, 6, 8, 10), 12, stages=stages)
        logits = mms(*c, corr, None, (64, 64))
        assert len(logits) == stages and all(t.shape == (1, 2, 64, 64) for t in logits)
    assert len(mms(*c, corr, None, (64, 64), stages=2)) == 2  # inference ablation on 3-stage weights
    with pytest.raises(ValueError, match="4"):
        MMS((4, 6, 8, 10), 12, stages=4)
    with pytest.raises(ValueError, match="too small"):
        Neck(4, 4, crop=4).center_crop(torch.zeros(1, 4, 8, 8))


def test_trunk_is_frozen_for_training(net):
    trainable = ArnNet(MODEL_CONFIGS["mobilenetv2"]).freeze_trunk().train()
    assert not trainable.features.training and trainable.connect_model.training
    assert not any(p.requires_grad for p in trainable.features.parameters())
