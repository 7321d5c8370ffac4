"""MobileNetV2 (Sandler et al., 2018), width 1.0, as a multi-layer tracking backbone.

Written from the paper's layer table (expansion t, channels c, repeats n, stride s).
Module names follow torchvision's key layout (``features.<i>.conv.<j>...``,
``classifier.1``) so torchvision's ImageNet file loads with strict keys: that file is
the one real ImageNet-pretrained backbone available offline, and the variants of our
trackers that we train ourselves start from it.

Outputs are taken at the last block of each resolution: ``stride2`` (16 channels,
after ``features.1``; the fine level segmentation decoders need), ``stride4`` (24 channels,
after ``features.3``), ``stride8`` (32, ``features.6``), ``stride16`` (96,
``features.13``) and ``stride32`` (1280, ``features.18``: the full trunk the ImageNet
classifier was trained on). ``dilated=True`` keeps the resolution at stride 8 from
``features.7`` on (dilation 2, then 4 from ``features.14``): the names still say
where the layer sits in the network, ``strides`` says the real stride.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from torch import nn

from trackerzoo.nn.backbones.base import Backbone, resolve_output_layers

MOBILENETV2_LAYERS = ("stride2", "stride4", "stride8", "stride16", "stride32")
# (expansion t, output channels c, repeats n, first stride s) from the paper's Table 2.
INVERTED_RESIDUAL_TABLE = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)
STEM_CHANNELS = 32
LAST_CHANNELS = 1280
# Index of the last ``features`` module of each output layer, its channels and strides.
LAYER_END_INDEX = {"stride2": 1, "stride4": 3, "stride8": 6, "stride16": 13, "stride32": 18}
LAYER_CHANNELS = {"stride2": 16, "stride4": 24, "stride8": 32, "stride16": 96, "stride32": LAST_CHANNELS}
LAYER_STRIDES = {"stride2": 2, "stride4": 4, "stride8": 8, "stride16": 16, "stride32": 32}
DILATED_LAYER_STRIDES = {"stride2": 2, "stride4": 4, "stride8": 8, "stride16": 8, "stride32": 8}
IMAGENET_CLASSES = 1000


def conv_bn_relu6(
    in_channels: int, out_channels: int, kernel_size: int, *, stride: int = 1, groups: int = 1, dilation: int = 1
) -> nn.Sequential:
    """Conv (no bias) + BatchNorm + ReLU6: keys ``0.weight``, ``1.*`` as in the checkpoint."""
    padding = (kernel_size - 1) // 2 * dilation
    return nn.Sequential(
        nn.Conv2d(
            in_channels,
            out_channels,
            kernel_size,
            stride=stride,
            padding=padding,
            dilation=dilation,
            groups=groups,
            bias=False,
        ),
        nn.BatchNorm2d(out_channels),
        nn.ReLU6(inplace=True),
    )


class InvertedResidual(nn.Module):
    """Expand (1x1) -> depthwise 3x3 -> linear projection (1x1), residual when shapes match."""

    def __init__(self, in_channels: int, out_channels: int, *, stride: int, expansion: int, dilation: int) -> None:
        super().__init__()
        hidden = in_channels * expansion
        layers: list[nn.Module] = []
        if expansion != 1:
            layers.append(conv_bn_relu6(in_channels, hidden, 1))
        layers += [
            conv_bn_relu6(hidden, hidden, 3, stride=stride, groups=hidden, dilation=dilation),
            nn.Conv2d(hidden, out_channels, 1, bias=False),
            nn.BatchNorm2d(out_channels),
        ]
        self.conv = nn.Sequential(*layers)
        self.use_residual = stride == 1 and in_channels == out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv(x)
        return x + out if self.use_residual else out


FULL_FEATURE_MODULES = LAYER_END_INDEX["stride32"] + 1


def build_feature_modules(num_modules: int = FULL_FEATURE_MODULES, *, dilated: bool = False) -> nn.Sequential:
    """The first ``num_modules`` entries of MobileNetV2's ``features`` (19 in full).

    With ``dilated`` the stride-2 blocks after stride 8 get stride 1 and every later
    depthwise conv is dilated by the stride that was removed (the first block of a
    dilated stage keeps the previous dilation, as in DeepLab).
    """
    modules: list[nn.Module] = [conv_bn_relu6(3, STEM_CHANNELS, 3, stride=2)]
    in_channels, current_stride, dilation = STEM_CHANNELS, 2, 1
    for expansion, channels, repeats, first_stride in INVERTED_RESIDUAL_TABLE:
        for repeat in range(repeats):
            stride = first_stride if repeat == 0 else 1
            block_dilation = dilation
            if dilated and stride > 1 and current_stride >= 8:
                dilation *= stride  # the rest of this stage (and later ones) use it
                stride = 1
            current_stride *= stride
            modules.append(
                InvertedResidual(in_channels, channels, stride=stride, expansion=expansion, dilation=block_dilation)
            )
            in_channels = channels
    modules.append(conv_bn_relu6(in_channels, LAST_CHANNELS, 1))
    return nn.Sequential(*modules[:num_modules])


def _initialise(module: nn.Module) -> None:
    """He-normal convs, unit BatchNorm, small-normal linear: for training from scratch."""
    for sub in module.modules():
        if isinstance(sub, nn.Conv2d):
            nn.init.kaiming_normal_(sub.weight, mode="fan_out")
        elif isinstance(sub, nn.BatchNorm2d):
            nn.init.ones_(sub.weight)
            nn.init.zeros_(sub.bias)
        elif isinstance(sub, nn.Linear):
            nn.init.normal_(sub.weight, 0.0, 0.01)
            nn.init.zeros_(sub.bias)


class MobileNetV2(Backbone):
    """MobileNetV2 trunk returning any of ``stride2``, ``stride4``, ``stride8``, ``stride16``, ``stride32``."""

    def __init__(self, output_layers: Iterable[str] | str, *, dilated: bool = False) -> None:
        layers = resolve_output_layers(output_layers, MOBILENETV2_LAYERS, "mobilenetv2")
        strides = DILATED_LAYER_STRIDES if dilated else LAYER_STRIDES
        super().__init__(layers, LAYER_CHANNELS, strides)
        self.dilated = dilated
        self.features = build_feature_modules(LAYER_END_INDEX[layers[-1]] + 1, dilated=dilated)
        _initialise(self)

    def unused_prefixes(self) -> tuple[str, ...]:
        unbuilt = tuple(f"features.{i}." for i in range(len(self.features), FULL_FEATURE_MODULES))
        return ("classifier.", *unbuilt)

    def stages(self) -> list[tuple[str, Callable[[torch.Tensor], torch.Tensor]]]:
        built = []
        start = 0
        for name in MOBILENETV2_LAYERS:
            end = LAYER_END_INDEX[name] + 1
            if end > len(self.features):
                break
            built.append((name, self.features[start:end]))
            start = end
        return built


class MobileNetV2Classifier(nn.Module):
    """The full ImageNet classifier (trunk + dropout + linear), same keys as torchvision.

    Trackers never use it; it exists to prove that the converted ImageNet weights are
    right, by classifying real photos.
    """

    def __init__(self, num_classes: int = IMAGENET_CLASSES, dropout: float = 0.2) -> None:
        super().__init__()
        self.features = build_feature_modules()
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(LAST_CHANNELS, num_classes))
        _initialise(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = nn.functional.adaptive_avg_pool2d(self.features(x), 1).flatten(1)
        return self.classifier(pooled)
