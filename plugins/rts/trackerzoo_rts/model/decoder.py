"""Segmentation decoder D (RTS Sec. 3.4; LWL's decoder, pytracking ``ltr/models/rts/decoder.py``).

From the deepest backbone level to the shallowest, each level: TSE reduces the backbone
features and concatenates the (resized) fused encoding ``x_f``, RRB refines, CAB gates the
result with a global context vector of the deeper level, RRB again. An upsampler brings
the stride-4 map to the crop resolution and predicts one mask logit per pixel.
Module and parameter names follow the official decoder so that its checkpoint loads.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from trackerzoo_rts.model.blocks import interpolate

# Channel multiplier of each level, deepest first (official: layer4 x4, layer3 x2, layer2 x2, layer1 x1).
LEVEL_MULTIPLIERS = (4, 2, 2, 1)


def _conv(in_channels: int, out_channels: int, kernel_size: int, bias: bool = True) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=bias)


class TSE(nn.Module):
    """Target segmentation encoder: reduce features, concatenate the encoding, three 3x3 convs."""

    def __init__(self, feature_channels: int, encoding_channels: int, out_channels: int) -> None:
        super().__init__()
        self.reduce = nn.Sequential(_conv(feature_channels, out_channels, 1), nn.ReLU(),
                                    _conv(out_channels, out_channels, 1))
        both = encoding_channels + out_channels
        self.transform = nn.Sequential(_conv(both, both, 3), nn.ReLU(), _conv(both, both, 3), nn.ReLU(),
                                       _conv(both, out_channels, 3), nn.ReLU())

    def forward(self, features: torch.Tensor, encoding: torch.Tensor,
                deeper: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.reduce(features)
        context = F.adaptive_avg_pool2d(h, (1, 1)) if deeper is None else deeper
        h = self.transform(torch.cat([h, interpolate(encoding, h.shape[-2:])], dim=1))
        return h, context


class CAB(nn.Module):
    """Channel attention from pooled shallow and deep features; adds the (resized) deeper map."""

    def __init__(self, channels: int, deepest: bool) -> None:
        super().__init__()
        self.convreluconv = nn.Sequential(_conv(2 * channels, channels, 1), nn.ReLU(), _conv(channels, channels, 1))
        self.deepest = deepest

    def forward(self, deeper: torch.Tensor, shallower: torch.Tensor) -> torch.Tensor:
        shallow_pool = F.adaptive_avg_pool2d(shallower, (1, 1))
        deeper_pool = deeper if self.deepest else F.adaptive_avg_pool2d(deeper, (1, 1))
        gate = torch.sigmoid(self.convreluconv(torch.cat([shallow_pool, deeper_pool], dim=1)))
        gated = shallower * gate
        return gated + interpolate(deeper, gated.shape[-2:])


class RRB(nn.Module):
    """Residual refinement block: 1x1 conv, then ``relu(h + conv(bn(relu(conv(h)))))``."""

    def __init__(self, channels: int, use_bn: bool = True) -> None:
        super().__init__()
        self.conv1x1 = _conv(channels, channels, 1)
        if use_bn:
            self.bblock = nn.Sequential(_conv(channels, channels, 3), nn.BatchNorm2d(channels), nn.ReLU(),
                                        _conv(channels, channels, 3, bias=False))
        else:
            self.bblock = nn.Sequential(_conv(channels, channels, 3), nn.ReLU(),
                                        _conv(channels, channels, 3, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv1x1(x)
        return F.relu(h + self.bblock(h))


class Upsampler(nn.Module):
    """x2 bicubic, 3x3 conv + ReLU, bicubic to the crop size, 3x3 conv to one logit channel."""

    def __init__(self, in_channels: int) -> None:
        super().__init__()
        self.conv1 = _conv(in_channels, in_channels // 2, 3)
        self.conv2 = _conv(in_channels // 2, 1, 3)

    def forward(self, x: torch.Tensor, image_size: Sequence[int]) -> torch.Tensor:
        x = F.interpolate(x, (2 * x.shape[-2], 2 * x.shape[-1]), mode="bicubic", align_corners=False)
        x = F.relu(self.conv1(x))
        x = F.interpolate(x, tuple(int(s) for s in image_size[-2:]), mode="bicubic", align_corners=False)
        return self.conv2(x)


class SegmentationDecoder(nn.Module):
    """``D(x_f, backbone features) -> mask logits [B, 1, H, W]``.

    ``feature_channels``: backbone level name -> channels, deepest first (official
    ``layer4, layer3, layer2, layer1`` = 2048, 1024, 512, 256); ``encoding_channels``: the
    channels of ``x_f`` (16); ``width``: decoder width (official ``decoder_mdim`` 64).
    """

    def __init__(self, encoding_channels: int, width: int, feature_channels: Mapping[str, int],
                 use_bn: bool = True) -> None:
        super().__init__()
        if len(feature_channels) != len(LEVEL_MULTIPLIERS):
            raise ValueError(f"the decoder takes {len(LEVEL_MULTIPLIERS)} levels, got {list(feature_channels)}")
        self.levels = tuple(feature_channels)
        self.TSE = nn.ModuleDict()
        self.RRB1 = nn.ModuleDict()
        self.CAB = nn.ModuleDict()
        self.RRB2 = nn.ModuleDict()
        self.proj = nn.ModuleDict()
        previous = None
        for index, (name, channels) in enumerate(feature_channels.items()):
            out = LEVEL_MULTIPLIERS[index] * width
            if previous is not None:
                self.proj[name] = nn.Sequential(_conv(previous, out, 1), nn.ReLU())
            self.TSE[name] = TSE(channels, encoding_channels, out)
            self.RRB1[name] = RRB(out, use_bn=use_bn)
            self.CAB[name] = CAB(out, deepest=index == 0)
            self.RRB2[name] = RRB(out, use_bn=use_bn)
            previous = out
        self.project = Upsampler(width)

    def forward(self, encoding: torch.Tensor, features: Mapping[str, torch.Tensor],
                image_size: Sequence[int]) -> torch.Tensor:
        x = None
        for name in self.levels:
            level = features[name]
            if x is not None:
                x = self.proj[name](x)
            h, context = self.TSE[name](level, interpolate(encoding, level.shape[-2:]), x)
            h = self.RRB1[name](h)
            h = self.CAB[name](context, h)
            x = self.RRB2[name](h)
        return self.project(x, image_size)
