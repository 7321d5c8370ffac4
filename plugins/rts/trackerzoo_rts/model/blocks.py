"""Small layers shared by the RTS heads, in pytracking's parameter layout.

Every module keeps the attribute names of its counterpart in pytracking's ``ltr`` code
(``conv_block``, ``BasicBlock`` with ``conv1``/``bn1``/``conv2``/``bn2``/``downsample``,
``InstanceL2Norm``), so that an official checkpoint's keys map one to one onto ours.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn


def conv_block(in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1, padding: int = 1,
               *, batch_norm: bool = True, relu: bool = True) -> nn.Sequential:
    """Conv (+ BatchNorm) (+ ReLU) as ``nn.Sequential``: keys ``0.weight``, ``0.bias``, ``1.*`` (ltr ``conv_block``)."""
    layers: list[nn.Module] = [nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=padding)]
    if batch_norm:
        layers.append(nn.BatchNorm2d(out_channels))
    if relu:
        layers.append(nn.ReLU(inplace=False))
    return nn.Sequential(*layers)


class ResidualBlock(nn.Module):
    """ResNet basic block with optional BatchNorm and a given shortcut (ltr ``resnet.BasicBlock``).

    ``x [B, C_in, H, W] -> [B, C_out, H/stride, W/stride]``; 3x3 convs without bias.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, downsample: nn.Module | None = None,
                 use_bn: bool = True) -> None:
        super().__init__()
        self.use_bn = use_bn
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        if use_bn:
            self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        if use_bn:
            self.bn2 = nn.BatchNorm2d(out_channels)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv1(x)
        if self.use_bn:
            out = self.bn1(out)
        out = F.relu(out)
        out = self.conv2(out)
        if self.use_bn:
            out = self.bn2(out)
        shortcut = x if self.downsample is None else self.downsample(x)
        return F.relu(out + shortcut)


class InstanceL2Norm(nn.Module):
    """Scales each sample to a fixed mean square: ``x * scale * sqrt(C*H*W / (sum(x**2) + eps))`` (DiMP).

    ``x [B, C, H, W]``; no parameters.
    """

    def __init__(self, scale: float = 1.0, eps: float = 1e-5) -> None:
        super().__init__()
        self.scale = float(scale)
        self.eps = float(eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        energy = (x * x).reshape(x.shape[0], -1).sum(dim=1).reshape(-1, 1, 1, 1)
        return x * (self.scale * (x.shape[1] * x.shape[2] * x.shape[3] / (energy + self.eps)).sqrt())


def interpolate(x: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """Bilinear resize (align_corners=False) of ``x [B, C, h, w]`` to ``size`` (H, W); a no-op at equal size."""
    size = tuple(int(s) for s in size)
    if tuple(x.shape[-2:]) == size:
        return x
    return F.interpolate(x, size, mode="bilinear", align_corners=False)


def he_normal_(module: nn.Module) -> None:
    """ltr's initialisation: conv weights N(0, 2/(k*k*out)), BatchNorm (1, 0)."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            fan = m.kernel_size[0] * m.kernel_size[1] * m.out_channels
            nn.init.normal_(m.weight, 0.0, (2.0 / fan) ** 0.5)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
