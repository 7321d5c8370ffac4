"""Shared backbone of the template and search branches, and the two feature maps CRACT reads.

Both branches run the same backbone (shared parameters, section 3.1). Two maps come out:

- ``phi4``: block-4 features adjusted by a 1x1 conv for the Siamese RPN (section 3.1);
- ``phi34``: block-3 and block-4 features concatenated and fused by one conv (section
  3.2.1), the map that pyramid RoIAlign pools proposal features from.

The backbone is dilated so that block 3 and block 4 share stride 8 and can be
concatenated without resampling.
"""

from __future__ import annotations

import dataclasses

import torch
from torch import nn

from trackerzoo.nn.backbones import build_backbone, imagenet_normalize
from trackerzoo_cract.params import ModelConfig


@dataclasses.dataclass
class FeatureMaps:
    """Features of one image batch: ``phi4`` for the RPN, ``phi34`` for CRAC."""

    phi4: torch.Tensor
    phi34: torch.Tensor


def conv_bn(in_channels: int, out_channels: int, kernel_size: int, relu: bool) -> nn.Sequential:
    layers: list[nn.Module] = [
        nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=False),
        nn.BatchNorm2d(out_channels),
    ]
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class SharedFeatures(nn.Module):
    """Backbone + RPN neck (``phi4``) + block-3/4 fusion (``phi34``)."""

    def __init__(self, config: ModelConfig, *, pretrained_backbone: bool) -> None:
        super().__init__()
        self.config = config
        self.backbone = build_backbone(
            config.backbone,
            output_layers=[config.block3, config.block4],
            pretrained=pretrained_backbone,
            dilated=True,
        )
        stride3 = self.backbone.strides[config.block3]
        stride4 = self.backbone.strides[config.block4]
        if stride3 != config.stride or stride4 != config.stride:
            raise ValueError(
                f"CRACT needs {config.block3} and {config.block4} at stride {config.stride}; the dilated "
                f"{config.backbone} gives strides {stride3} and {stride4}"
            )
        channels3 = self.backbone.out_channels[config.block3]
        channels4 = self.backbone.out_channels[config.block4]
        self.rpn_neck = conv_bn(channels4, config.neck_channels, 1, relu=False)
        self.fuse34 = conv_bn(channels3 + channels4, config.fused_channels, 1, relu=True)

    def forward(self, images: torch.Tensor) -> FeatureMaps:
        """``images``: float RGB ``[B, 3, H, W]`` in [0, 1]."""
        outputs = self.backbone(imagenet_normalize(images))
        block3, block4 = outputs[self.config.block3], outputs[self.config.block4]
        return FeatureMaps(
            phi4=self.rpn_neck(block4),
            phi34=self.fuse34(torch.cat((block3, block4), dim=1)),
        )


def centre_crop(features: torch.Tensor, size: int) -> torch.Tensor:
    """Central ``size x size`` window of a template map (SiamRPN++ uses 7x7 as the kernel).

    Cropping drops the template border, whose features are dominated by padding, and
    keeps the correlation kernel small.
    """
    height, width = features.shape[-2:]
    if height <= size and width <= size:
        return features
    top, left = (height - size) // 2, (width - size) // 2
    return features[..., top:top + size, left:left + size]
