"""The training recipe's targets and loss (one tiny step, random heads)."""

from __future__ import annotations

import torch
from trackerzoo_arn.model import ArnNet
from trackerzoo_arn.params import MODEL_CONFIGS
from trackerzoo_arn.training.recipe import ArnTrainSettings, compute_loss
from trackerzoo_arn.training.targets import ocean_targets


def test_targets_label_the_centre_and_regress_inside_the_box():
    boxes = torch.tensor([[100.0, 110.0, 60.0, 40.0], [100.0, 110.0, 60.0, 40.0]])
    targets = ocean_targets(boxes, torch.tensor([1.0, 0.0]), 25, 8, 255)
    assert targets.labels[0, 16, 16] == 0 and not targets.regress[0, 16, 16]  # (159, 159): outside the box
    assert targets.labels[0].sum() > 0 and targets.labels[1].sum() == 0
    row, col = 12 + round((130 - 127) / 8), 12 + round((130 - 127) / 8)
    assert targets.labels[0, row, col] == 1 and targets.regress[0, row, col]
    px = (col - 12) * 8 + 127
    assert torch.allclose(targets.ltrb[0, row, col, 0], torch.tensor(px - 100.0))
    assert not targets.regress[1].any()
    assert torch.allclose(targets.label_weights[0][targets.labels[0] > 0].sum(), torch.tensor(0.5))


def test_one_step_trains_the_heads_not_the_frozen_trunk():
    torch.manual_seed(0)
    net = ArnNet(MODEL_CONFIGS["mobilenetv2"]).freeze_trunk().train()
    mask = torch.zeros(1, 1, 255, 255)
    mask[..., 100:150, 90:170] = 1
    batch = {
        "template": torch.rand(1, 3, 127, 127), "search": torch.rand(1, 3, 255, 255),
        "template_mask": mask[..., 64:191, 64:191].clone(), "search_mask": mask,
        "search_box": torch.tensor([[90.0, 100.0, 80.0, 50.0]]), "positive": torch.tensor([1.0]),
    }
    loss, info = compute_loss(net, batch, settings=ArnTrainSettings(data="unused"))
    loss.backward()
    assert torch.isfinite(loss) and set(info) == {"cls", "iou", "mask", "mask_iou"}
    assert all(p.grad is None for p in net.features.parameters())
    assert net.connect_model.cls_pred.weight.grad.abs().sum() > 0
    assert net.mask_model.iter2.r0[0].weight.grad.abs().sum() > 0
    assert net.mask_model.sequential.t_embed.weight.grad.abs().sum() > 0
