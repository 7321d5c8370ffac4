"""Label generator E and weight predictor W (RTS Sec. 3.2, LWL Sec. 3.3), and the score encoder H (Sec. 3.4).

Both are pytracking's ``ResidualDS16SW`` network: a strided conv, a max-pool and two
residual blocks, then two 3x3 heads, one for the label encoding ``E(y)`` and one for the
per-pixel importance weights ``W(y)``. The mask encoder downsamples by 16 (to the
segmentation features); the score encoder H (``ResidualDS16SW_Clf``) keeps the resolution
of the instance score map (all strides 1) and only its label head is used.
"""

from __future__ import annotations

import torch
from torch import nn

from trackerzoo_rts.model.blocks import ResidualBlock, conv_block, he_normal_


class MaskEncoder(nn.Module):
    """``y [B, 1, H, W] -> (E(y) [B, D, H/s^4, W/s^4], W(y) [B, D, ...])`` with ``s = stride``.

    ``layer_dims``: (c0, c1, c2, D), official (16, 32, 64, 16). ``stride`` 2 for the mask
    label encoder (total 16), 1 for the score encoder. Source: pytracking
    ``ltr/models/rts/label_encoder.py`` (``ResidualDS16SW``, ``ResidualDS16SW_Clf``).
    """

    def __init__(self, layer_dims: tuple[int, int, int, int] = (16, 32, 64, 16), *, stride: int = 2,
                 use_bn: bool = False) -> None:
        super().__init__()
        if len(layer_dims) != 4 or min(layer_dims) <= 0:
            raise ValueError(f"layer_dims must be four positive channel counts, got {layer_dims!r}")
        if stride not in (1, 2):
            raise ValueError(f"stride must be 1 or 2, got {stride!r}")
        c0, c1, c2, out = layer_dims
        self.conv_block = conv_block(1, c0, 3, stride=stride, padding=1, batch_norm=use_bn)
        self.pool = nn.MaxPool2d(kernel_size=3, stride=stride, padding=1)
        self.res1 = ResidualBlock(c0, c1, stride, nn.Conv2d(c0, c1, 3, padding=1, stride=stride), use_bn=use_bn)
        self.res2 = ResidualBlock(c1, c2, stride, nn.Conv2d(c1, c2, 3, padding=1, stride=stride), use_bn=use_bn)
        self.label_pred = conv_block(c2, out, 3, stride=1, padding=1, batch_norm=use_bn)
        self.samp_w_pred = nn.Conv2d(c2, out, 3, padding=1)
        he_normal_(self)
        nn.init.zeros_(self.samp_w_pred.weight)
        nn.init.ones_(self.samp_w_pred.bias)

    def forward(self, label: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if label.dim() != 4 or label.shape[1] != 1:
            raise ValueError(f"label maps must be [B, 1, H, W], got {tuple(label.shape)}")
        out = self.res2(self.res1(self.pool(self.conv_block(label))))
        return self.label_pred(out), self.samp_w_pred(out)
