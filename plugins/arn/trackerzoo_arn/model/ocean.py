"""Ocean's anchor-free tracking head (Zhang et al., ECCV 2020; TracKit ``lib/models/connect.py``).

Module and parameter names follow TracKit (``matrix11_k``, ``cls_dw.weight``, ``bbox_tower``,
``adjust``, ``bias``) so that an official OceanPlus state dict loads key for key.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from trackerzoo import ops


def conv_bn_relu(in_channels: int, out_channels: int, *, dilation: tuple[int, int] = (1, 1)) -> nn.Sequential:
    """Unpadded 3x3 conv (no bias) + BatchNorm + ReLU: keys ``0.weight``, ``1.*``."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, bias=False, dilation=dilation),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class Neck(nn.Module):
    """1x1 conv + BN to ``out_channels``; the template map is also centre-cropped (7x7 of 15x15).

    TracKit ``AdjustLayer``: the crop removes ``crop`` cells on each side and is applied
    only to maps narrower than 20 cells (the template).
    """

    def __init__(self, in_channels: int, out_channels: int, crop: int = 4) -> None:
        super().__init__()
        self.downsample = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, bias=False),
                                        nn.BatchNorm2d(out_channels))
        self.crop = crop

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, C_in, H, W]`` -> ``[B, C_out, H, W]`` (no crop)."""
        return self.downsample(x)

    def center_crop(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, C, H, W]`` -> ``[B, C, H - 2 crop, W - 2 crop]``; ValueError if nothing would remain."""
        c = self.crop
        if x.shape[-1] <= 2 * c or x.shape[-2] <= 2 * c:
            raise ValueError(f"template map {tuple(x.shape)} too small for a {c}-cell crop on each side")
        return x[:, :, c:-c, c:-c]


class MultiDilationEncoder(nn.Module):
    """TracKit ``matrix``: template/search encodings at dilations (1,1), (2,1) and (1,2).

    Each branch is an unpadded 3x3 conv + BN + ReLU on the input; the three template
    maps of a 7x7 kernel are 5x5, 3x5 and 5x3, so every correlation gives the same
    25x25 map on a 31x31 search map.
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.matrix11_k = conv_bn_relu(in_channels, out_channels)
        self.matrix11_s = conv_bn_relu(in_channels, out_channels)
        self.matrix12_k = conv_bn_relu(in_channels, out_channels, dilation=(2, 1))
        self.matrix12_s = conv_bn_relu(in_channels, out_channels, dilation=(2, 1))
        self.matrix21_k = conv_bn_relu(in_channels, out_channels, dilation=(1, 2))
        self.matrix21_s = conv_bn_relu(in_channels, out_channels, dilation=(1, 2))

    def forward(self, z: torch.Tensor, x: torch.Tensor) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        kernels = [self.matrix11_k(z), self.matrix12_k(z), self.matrix21_k(z)]
        searches = [self.matrix11_s(x), self.matrix12_s(x), self.matrix21_s(x)]
        return kernels, searches


class WeightedDWCorrelation(nn.Module):
    """TracKit ``GroupDW``: softmax-weighted sum of the three depth-wise correlations."""

    def __init__(self, backend: str = "auto") -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(3))
        self.backend = backend

    def forward(self, kernels: list[torch.Tensor], searches: list[torch.Tensor]) -> torch.Tensor:
        weights = F.softmax(self.weight, 0)
        total = weights[0] * ops.dw_xcorr(searches[0], kernels[0], backend=self.backend)
        for i in (1, 2):
            total = total + weights[i] * ops.dw_xcorr(searches[i], kernels[i], backend=self.backend)
        return total


def _tower(channels: int, depth: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    for _ in range(depth):
        layers += [nn.Conv2d(channels, channels, 3, padding=1), nn.BatchNorm2d(channels), nn.ReLU()]
    return nn.Sequential(*layers)


class BoxTower(nn.Module):
    """Ocean's head (TracKit ``box_tower``): encoders, correlations, towers, FCOS-style outputs.

    ``forward(search [B,C,31,31], template [B,C,7,7])`` returns
    ``(ltrb [B,4,25,25] in search-crop pixels, cls logits [B,1,25,25], cls correlation [B,C,25,25])``.
    ``ltrb = exp(adjust * conv + bias)``; the logits carry Ocean's factor 0.1.
    """

    def __init__(self, in_channels: int, channels: int, tower_depth: int = 4) -> None:
        super().__init__()
        self.cls_encode = MultiDilationEncoder(in_channels, channels)
        self.reg_encode = MultiDilationEncoder(in_channels, channels)
        self.cls_dw = WeightedDWCorrelation()
        self.reg_dw = WeightedDWCorrelation()
        self.bbox_tower = _tower(channels, tower_depth)
        self.cls_tower = _tower(channels, tower_depth)
        self.bbox_pred = nn.Conv2d(channels, 4, 3, padding=1)
        self.cls_pred = nn.Conv2d(channels, 1, 3, padding=1)
        self.adjust = nn.Parameter(0.1 * torch.ones(1))
        self.bias = nn.Parameter(torch.ones(1, 4, 1, 1))

    def forward(self, search: torch.Tensor, template: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        cls_z, cls_x = self.cls_encode(template, search)
        reg_z, reg_x = self.reg_encode(template, search)
        cls_corr = self.cls_dw(cls_z, cls_x)
        reg_corr = self.reg_dw(reg_z, reg_x)
        ltrb = torch.exp(self.adjust * self.bbox_pred(self.bbox_tower(reg_corr)) + self.bias)
        logits = 0.1 * self.cls_pred(self.cls_tower(cls_corr))
        return ltrb, logits, cls_corr
