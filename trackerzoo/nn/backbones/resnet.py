"""ResNet-18 / ResNet-50 (He et al., 2016) in the layouts tracking papers use.

Parameter names follow the torchvision/pytracking layout (``conv1``, ``bn1``,
``layer1.0.conv1``, ``layer1.0.downsample.0``, ...), so official checkpoints load
after their prefix (``feature_extractor.``, ``features.features.``) is stripped.

Three layouts exist in the checkpoints we convert, chosen with ``style``:

* ``"torchvision"``: the ImageNet layout (stride in the 3x3 conv of a bottleneck).
* ``"mrcnn"``: the MaskRCNN/Caffe layout that pytracking's RTS/LWL ResNet-50 uses:
  a bottleneck's stride sits in its first 1x1 conv. Same shapes, different function,
  so loading an RTS checkpoint into the torchvision layout would silently be wrong.
* ``"pysot"``: the SiamRPN++/Ocean layout: unpadded 7x7 stem, unpadded strided 3x3
  convs, and 3x3 (not 1x1) shortcut convs wherever a stage changes resolution or is
  dilated. With a 127/255 input it gives the 15x15/31x31 stride-8 maps those trackers
  expect, and its shortcut shapes are what their checkpoints hold.

``dilated=True`` replaces the strides of ``layer3`` and ``layer4`` by dilations 2 and
4 (total stride 8 throughout), the SiamRPN++/Ocean variant; as in DeepLab the first
block of a dilated stage keeps the previous stage's dilation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from torch import nn

from trackerzoo.nn.backbones.base import Backbone, resolve_output_layers

RESNET_LAYERS = ("conv1", "layer1", "layer2", "layer3", "layer4")
RESNET_STYLES = ("torchvision", "mrcnn", "pysot")


def _conv3x3(in_channels: int, out_channels: int, stride: int, dilation: int, padding: int) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=padding, dilation=dilation, bias=False)


def _padding_3x3(stride: int, dilation: int, style: str) -> int:
    """'same'-style padding, except pysot's strided 3x3 convs, which are unpadded."""
    if style == "pysot" and stride > 1:
        return 0
    return dilation


class BasicBlock(nn.Module):
    """Two 3x3 convs with an identity shortcut (ResNet-18/34)."""

    expansion = 1

    def __init__(
        self, in_channels: int, planes: int, stride: int, dilation: int, style: str, downsample: nn.Module | None
    ) -> None:
        super().__init__()
        self.conv1 = _conv3x3(in_channels, planes, stride, dilation, _padding_3x3(stride, dilation, style))
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = _conv3x3(planes, planes, 1, dilation, dilation)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + shortcut)


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3, 1x1 expand (ResNet-50); where the stride sits depends on ``style``."""

    expansion = 4

    def __init__(
        self, in_channels: int, planes: int, stride: int, dilation: int, style: str, downsample: nn.Module | None
    ) -> None:
        super().__init__()
        stride_1x1, stride_3x3 = (stride, 1) if style == "mrcnn" else (1, stride)
        self.conv1 = nn.Conv2d(in_channels, planes, 1, stride=stride_1x1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = _conv3x3(planes, planes, stride_3x3, dilation, _padding_3x3(stride_3x3, dilation, style))
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * self.expansion, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + shortcut)


RESNET_SPECS: dict[str, tuple[type[BasicBlock] | type[Bottleneck], tuple[int, int, int, int]]] = {
    "resnet18": (BasicBlock, (2, 2, 2, 2)),
    "resnet50": (Bottleneck, (3, 4, 6, 3)),
}


class ResNet(Backbone):
    """ResNet feature extractor returning any of ``conv1``, ``layer1`` .. ``layer4``."""

    def __init__(
        self,
        depth: str,
        output_layers: Iterable[str] | str,
        *,
        dilated: bool = False,
        style: str = "torchvision",
    ) -> None:
        if depth not in RESNET_SPECS:
            raise ValueError(f"unknown ResNet {depth!r}; choose one of {sorted(RESNET_SPECS)}")
        if style not in RESNET_STYLES:
            raise ValueError(f"unknown ResNet style {style!r}; choose one of {list(RESNET_STYLES)}")
        layers = resolve_output_layers(output_layers, RESNET_LAYERS, depth)
        block, blocks_per_stage = RESNET_SPECS[depth]
        widths = (64, 128, 256, 512)
        stage_strides = (1, 2, 1, 1) if dilated else (1, 2, 2, 2)
        stage_dilations = (1, 1, 2, 4) if dilated else (1, 1, 1, 1)
        total = {"conv1": 2}
        for index, stride in enumerate(stage_strides):
            total[f"layer{index + 1}"] = (total["conv1"] * 2 if index == 0 else total[f"layer{index}"]) * stride
        channels = {"conv1": 64} | {f"layer{i + 1}": w * block.expansion for i, w in enumerate(widths)}
        super().__init__(layers, channels, total)
        self.depth = depth
        self.style = style
        self.dilated = dilated

        deepest = RESNET_LAYERS.index(layers[-1])
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=0 if style == "pysot" else 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        in_channels, dilation = 64, 1
        for index in range(deepest):
            stage_dilation = stage_dilations[index]
            # The first block of a dilated stage keeps the dilation of the previous one.
            first_dilation = dilation if stage_dilation > dilation else stage_dilation
            layer, in_channels = self._make_stage(
                block,
                in_channels,
                widths[index],
                blocks_per_stage[index],
                stage_strides[index],
                first_dilation,
                stage_dilation,
                resolution_change=stage_dilation > dilation or stage_strides[index] > 1,
            )
            dilation = stage_dilation
            setattr(self, f"layer{index + 1}", layer)
        self._initialise()

    def _make_stage(
        self,
        block: type[BasicBlock] | type[Bottleneck],
        in_channels: int,
        planes: int,
        num_blocks: int,
        stride: int,
        first_dilation: int,
        dilation: int,
        *,
        resolution_change: bool,
    ) -> tuple[nn.Sequential, int]:
        out_channels = planes * block.expansion
        downsample = None
        if stride != 1 or in_channels != out_channels:
            if self.style == "pysot" and resolution_change:
                # pysot: a 3x3 shortcut, padded only when the stage is dilated.
                padding = first_dilation if dilation > 1 else 0
                conv = nn.Conv2d(
                    in_channels, out_channels, 3, stride=stride, padding=padding, dilation=first_dilation, bias=False
                )
            else:
                conv = nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False)
            downsample = nn.Sequential(conv, nn.BatchNorm2d(out_channels))
        blocks = [block(in_channels, planes, stride, first_dilation, self.style, downsample)]
        blocks += [block(out_channels, planes, 1, dilation, self.style, None) for _ in range(num_blocks - 1)]
        return nn.Sequential(*blocks), out_channels

    def _initialise(self) -> None:
        """He initialisation for training from scratch; pretrained loads overwrite it."""
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    def unused_prefixes(self) -> tuple[str, ...]:
        unbuilt = tuple(f"layer{i}." for i in range(1, 5) if not hasattr(self, f"layer{i}"))
        return ("fc.", *unbuilt)

    def _forward_stem(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.bn1(self.conv1(x)))

    def _forward_layer1(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer1(self.maxpool(x))

    def stages(self) -> list[tuple[str, Callable[[torch.Tensor], torch.Tensor]]]:
        built: list[tuple[str, Callable[[torch.Tensor], torch.Tensor]]] = [("conv1", self._forward_stem)]
        if hasattr(self, "layer1"):
            built.append(("layer1", self._forward_layer1))
        built += [(f"layer{i}", getattr(self, f"layer{i}")) for i in range(2, 5) if hasattr(self, f"layer{i}")]
        return built
