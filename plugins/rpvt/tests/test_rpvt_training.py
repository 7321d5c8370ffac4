"""The training recipe: D3S's loss with deep supervision; only the head learns."""

from __future__ import annotations

import pytest
import torch
from trackerzoo_rpvt.model.network import MODEL_CONFIGS, RpvtNet
from trackerzoo_rpvt.training.recipe import (
    RpvtTrainSettings,
    calibrate_threshold,
    compute_loss,
    mask_bce,
    parameter_groups,
)

from trackerzoo.training import apply_overrides


def _batch(size: int = 64) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    mask = torch.zeros(2, 1, size, size)
    mask[..., 20:44, 16:40] = 1
    return {"template": torch.rand(2, 3, size, size, generator=g), "search": torch.rand(2, 3, size, size, generator=g),
            "template_mask": mask, "search_mask": mask.roll(4, dims=-1),
            "search_box": torch.tensor([[20.0, 20.0, 24.0, 24.0]] * 2)}


def test_mask_bce_is_d3s_two_channel_loss():
    logits = torch.tensor([[[[2.0]], [[-1.0]]]])
    mask = torch.ones(1, 1, 1, 1)
    expected = (torch.nn.functional.softplus(-torch.tensor(2.0)) + torch.nn.functional.softplus(torch.tensor(-1.0))) / 2
    torch.testing.assert_close(mask_bce(logits, mask), expected)


@pytest.mark.parametrize("refinement, stages", [("cscr", 3), ("d3s", 0)])
def test_loss_supervises_every_stage_and_trains_only_the_head(refinement, stages):
    torch.manual_seed(0)
    settings = apply_overrides(RpvtTrainSettings(), {"data": "vot:unused", "refinement": refinement})
    model = RpvtNet(MODEL_CONFIGS["mobilenetv2"], refinement).train()
    loss, stats = compute_loss(model, _batch(), settings=settings)
    assert torch.isfinite(loss) and 0.0 <= stats["iou"] <= 1.0
    assert sum(key.startswith("stage") for key in stats) == stages
    loss.backward()
    assert all(p.grad is None for p in model.backbone.parameters())
    assert all(p.grad is not None for p in model.mixer.parameters())
    assert model.backbone.training is False
    group = parameter_groups(model)[0]["params"]
    assert len(group) == sum(1 for n, _ in model.named_parameters() if not n.startswith("backbone."))


def test_settings_refuse_bad_values():
    with pytest.raises(ValueError, match="refinement"):
        apply_overrides(RpvtTrainSettings(), {"data": "x", "refinement": "unet"}).validate()
    with pytest.raises(ValueError, match="crop_size"):
        apply_overrides(RpvtTrainSettings(), {"data": "x", "crop_size": 250}).validate()


@pytest.mark.parametrize("refinement", ["cscr", "d3s"])
def test_calibration_moves_the_threshold_and_keeps_the_stage_masks(refinement):
    torch.manual_seed(0)
    model = RpvtNet(MODEL_CONFIGS["mobilenetv2"], refinement).eval()
    batch = _batch()
    loc = torch.full((2, 1, 64, 64), 10.0)
    with torch.no_grad():
        before = model(batch["template"], batch["template_mask"], batch["search"], loc)
        calibrate_threshold(model, 0.9)
        after = model(batch["template"], batch["template_mask"], batch["search"], loc)
    p_before = torch.softmax(before["logits"], 1)[:, 0]
    p_after = torch.softmax(after["logits"], 1)[:, 0]
    assert torch.equal(p_after > 0.5, p_before > 0.9) or (
        ((p_after > 0.5) != (p_before > 0.9)).float().mean() < 1e-3)
    for a, b in zip(before["stages"][:-1], after["stages"][:-1], strict=True):
        torch.testing.assert_close(a, b)
    with pytest.raises(ValueError, match="threshold"):
        calibrate_threshold(model, 1.0)
