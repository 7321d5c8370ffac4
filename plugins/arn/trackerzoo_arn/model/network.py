"""The OceanPlus network (TracKit ``lib/models/oceanplus.py``, ``models.py`` class ``OceanPlus``, MMS).

``ArnNet`` = trunk (stride 8) -> neck -> Ocean box tower (score and l,t,r,b maps) and
the MMS mask decoder with ARN attention. With ``ModelConfig`` of variant ``resnet50`` the
module tree is the official one key for key (``features.features.*``, ``neck.*``,
``connect_model.*``, ``mask_model.*``), so an official state dict loads strictly after
:func:`checkpoint_filter`. The official network has no deformable conv: TracKit's DCN is
used only by Ocean's ``AlignHead``, which OceanPlus does not build.
"""

from __future__ import annotations

import dataclasses

import torch
from torch import nn

from trackerzoo.nn.backbones import build_backbone, imagenet_normalize
from trackerzoo_arn.model.arn import LookUpTable
from trackerzoo_arn.model.mms import MMS
from trackerzoo_arn.model.ocean import BoxTower, Neck
from trackerzoo_arn.params import ModelConfig

# TracKit's stride-2 (conv1), stride-4 (layer1), stride-8 (layer2) and deep (layer3) outputs.
_RESNET_LAYERS = ("conv1", "layer1", "layer2", "layer3")
# MobileNetV2 ``features`` slices giving stride 2, 4, 8 and the dilated stride-8 deep map.
_MOBILENET_SLICES = ((0, 2), (2, 4), (4, 7), (7, 14))


class Trunk(nn.Module):
    """Backbone to stride 8 returning (c1, c2, c3, deep) = strides (2, 4, 8, 8).

    ``resnet50``: TracKit's ``ResNet_plus2`` (pysot layout: unpadded stem, layer3 with
    stride 1 and dilation 2), outputs (64, 256, 512, 1024) channels.
    ``mobilenetv2``: our ImageNet MobileNetV2 dilated after stride 8, outputs (16, 24, 32, 96).
    """

    def __init__(self, config: ModelConfig, pretrained: bool = False) -> None:
        super().__init__()
        self.kind = config.backbone
        if config.backbone == "resnet50":
            self.features = build_backbone("resnet50", output_layers=_RESNET_LAYERS, dilated=True, style="pysot",
                                           pretrained=pretrained)
        elif config.backbone == "mobilenetv2":
            self.features = build_backbone("mobilenetv2", output_layers=("stride16",), dilated=True,
                                           pretrained=pretrained)
        else:
            raise ValueError(f"unknown ARN backbone {config.backbone!r}; choose resnet50 or mobilenetv2")

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        if self.kind == "resnet50":
            out = self.features(x)
            return out["conv1"], out["layer1"], out["layer2"], out["layer3"]
        stages = []
        for start, end in _MOBILENET_SLICES:
            x = self.features.features[start:end](x)
            stages.append(x)
        return stages[0], stages[1], stages[2], stages[3]


@dataclasses.dataclass
class TemplateState:
    """What the network keeps from the starting frame: the cropped kernel and the ARN LUT."""

    kernel: torch.Tensor  # [B, C, 7, 7] neck features, centre crop
    features: torch.Tensor  # [B, C, 15, 15] neck features, uncropped (the LUT's addresses)
    lut: LookUpTable


@dataclasses.dataclass
class ArnOutput:
    """Outputs on a search crop of side S (25x25 maps for S = 255)."""

    ltrb: torch.Tensor  # [B, 4, h, w] distances to the box sides, search-crop pixels
    logits: torch.Tensor  # [B, 1, h, w] classification logits
    mask_logits: list[torch.Tensor]  # per MMS stage, [B, 2, S, S]
    mask: torch.Tensor | None  # fused stage logits [B, 2, S, S]; None when masks were not asked for
    search: torch.Tensor | None = None  # [B, C, H, W] neck features of the crop (H = h + kernel side - 1)


class ArnNet(nn.Module):
    """OceanPlus: tracking model + ARN + MMS (ARN paper Fig. 2)."""

    def __init__(self, config: ModelConfig, *, pretrained_backbone: bool = False) -> None:
        super().__init__()
        self.config = config
        self.features = Trunk(config, pretrained=pretrained_backbone)
        c1, c2, c3, deep = config.trunk_channels
        self.neck = Neck(deep, config.neck_channels, crop=config.template_crop)
        self.connect_model = BoxTower(config.neck_channels, config.head_channels, config.tower_depth)
        self.mask_model = MMS((c1, c2, c3, config.neck_channels), config.head_channels,
                              stages=config.mms_stages, official_extras=config.official_extras)
        self.trunk_frozen = False

    def freeze_trunk(self) -> ArnNet:
        """Keep the trunk fixed (no gradients, BatchNorm statistics as loaded) while the rest trains."""
        self.trunk_frozen = True
        self.features.requires_grad_(False)
        self.features.eval()
        return self

    def train(self, mode: bool = True) -> ArnNet:
        super().train(mode)
        if self.trunk_frozen:
            self.features.eval()
        return self

    def normalize(self, images: torch.Tensor) -> torch.Tensor:
        """RGB in [0, 1] ``[B, 3, H, W]`` -> the network's input (TracKit: BGR 0..255; ours: ImageNet)."""
        if self.config.input_format == "bgr255":
            return images.flip(1) * 255.0
        return imagenet_normalize(images)

    def template(self, z: torch.Tensor, mask: torch.Tensor) -> TemplateState:
        """Template crop ``[B, 3, 127, 127]`` (normalised) and its mask ``[B, 127, 127]`` in [0, 1]."""
        deep = self.features(z)[3]
        features = self.neck(deep)
        return TemplateState(self.neck.center_crop(features), features,
                             self.mask_model.sequential.build_lut(features, mask))

    def track(self, x: torch.Tensor, template: TemplateState, *, with_mask: bool = True,
              use_arn: bool = True, mask_stages: int | None = None) -> ArnOutput:
        """Search crop ``[B, 3, S, S]`` (normalised) -> score, box and (optionally) mask maps."""
        c1, c2, c3, deep = self.features(x)
        search = self.neck(deep)
        ltrb, logits, corr = self.connect_model(search, template.kernel)
        if not with_mask:
            return ArnOutput(ltrb, logits, [], None, search)
        stage_logits = self.mask_model(c1, c2, c3, search, corr, template.lut if use_arn else None,
                                       (x.shape[-2], x.shape[-1]), mask_stages)
        return ArnOutput(ltrb, logits, stage_logits, self.mask_model.fuse(stage_logits), search)

    def forward(self, z: torch.Tensor, z_mask: torch.Tensor, x: torch.Tensor) -> ArnOutput:
        """Training pass on normalised template/search crops; see :meth:`template` and :meth:`track`."""
        return self.track(x, self.template(z, z_mask))


COMPILED_MODULE_PREFIX = "_orig_mod."
# TracKit builds ``layeronline`` (a stride-16 copy of layer3 for its online classifier)
# when run with ``online=True``; our online branch does not use it.
_ONLINE_TRUNK = "features.features.layeronline."


def checkpoint_filter(state_dict: dict[str, torch.Tensor], model: ArnNet | None) -> dict[str, torch.Tensor]:
    """``trackerzoo convert OceanPlus.pth --tracker arn-resnet50``: official keys -> ours.

    Accepts TracKit's plain state dict or one saved from ``nn.DataParallel``
    (``module.`` prefix) or ``torch.compile`` (``_orig_mod.``); drops the online trunk
    ``features.features.layeronline.*`` if present. The module tree is the official one,
    so every other key passes unchanged and the converter checks the result strictly
    against ``model``: a missing or extra key is an error naming it.
    """
    out = {}
    for key, value in state_dict.items():
        for prefix in ("module.", COMPILED_MODULE_PREFIX):
            if key.startswith(prefix):
                key = key[len(prefix):]
        if key.startswith(_ONLINE_TRUNK):
            continue
        out[key] = value
    return out
