"""The offline IBFP network: Siamese backbone, IBU and CSCS modules, prediction head (Sec. III).

Data flow for a search crop ``x`` and a template crop ``z`` (both ``crop_size`` square,
288 in the paper), with the paper's layer names (3, 4, 5 = strides 8, 16, 32)::

    z3, z4, z5 = features(z);  k_l = centre crop of z_l (kernel_sizes)      # template, once
    x3, x4, x5 = features(x)                                                # search, per frame
    k5' = CSCS_1(k5, x5);  U1 = IBU_1(x5, k5', x4)                          # Eqs. 6-8, 3-5
    k4' = CSCS_2(k4, U1);  U2 = IBU_2(U1, k4', x3)                          # 36 x 36 x 128
    R = k3 *dw U2;  centre, ltrb = head(R)                                  # Fig. 2, Sec. III-D

Every correlation is padded ("same"), so R keeps the size of its search map (Eq. 3 says
R is H x W). CSCS is built of pointwise operations only (1x1 convs, channel scaling),
so it is applied to the cropped template kernel: the same result as on the full
template map, for less work.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from trackerzoo import ops
from trackerzoo.nn.backbones import build_backbone, imagenet_normalize
from trackerzoo.nn.inference import fold_batchnorm
from trackerzoo_ibfp.params import FUSIONS, ModelConfig

Levels = tuple[torch.Tensor, torch.Tensor, torch.Tensor]


def conv_bn_relu(in_channels: int, out_channels: int, kernel_size: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


def centre_crop(features: torch.Tensor, size: int) -> torch.Tensor:
    """Central ``size x size`` window of a template map ``[B, C, H, W]`` (the whole map if smaller)."""
    height, width = features.shape[-2:]
    size_h, size_w = min(size, height), min(size, width)
    top, left = (height - size_h) // 2, (width - size_w) // 2
    return features[..., top:top + size_h, left:left + size_w]


def same_dw_xcorr(search: torch.Tensor, kernel: torch.Tensor, backend: str = "auto") -> torch.Tensor:
    """Depth-wise correlation ``[B, C, H, W]`` of ``search`` ``[B, C, H, W]`` with an odd ``kernel`` ``[B, C, k, k]``.

    Zero padding by ``k // 2`` keeps the search map's size (Eq. 3: R is H x W).
    """
    pad_h, pad_w = kernel.shape[-2] // 2, kernel.shape[-1] // 2
    return ops.dw_xcorr(F.pad(search, (pad_w, pad_w, pad_h, pad_h)), kernel, backend=backend)


class SiameseFeatures(nn.Module):
    """Shared backbone (both branches) returning the three levels ``(x3, x4, x5)``.

    ``channels`` adds a 1x1 conv + BN + ReLU per level (our MobileNetV2 variant); the
    paper's ResNet-18 levels are used as they are.
    """

    def __init__(self, config: ModelConfig, *, pretrained_backbone: bool) -> None:
        super().__init__()
        self.layers = config.layers
        self.backbone = build_backbone(config.backbone, output_layers=list(config.layers),
                                       pretrained=pretrained_backbone)
        strides = [self.backbone.strides[name] for name in config.layers]
        if strides != [8, 16, 32]:
            raise ValueError(f"IBFP needs levels at strides 8, 16, 32; {config.backbone} {config.layers} "
                             f"gives {strides}")
        raw = [self.backbone.out_channels[name] for name in config.layers]
        if config.channels is None:
            self.adjust = nn.ModuleList(nn.Identity() for _ in raw)
            self.channels = tuple(raw)
        else:
            pairs = zip(raw, config.channels, strict=True)
            self.adjust = nn.ModuleList(conv_bn_relu(c_in, c_out, 1) for c_in, c_out in pairs)
            self.channels = tuple(config.channels)

    def freeze_backbone(self) -> None:
        """Keep the backbone fixed; forward passes then run a BatchNorm-folded copy of it, without gradients.

        Training with a frozen backbone only: the copy is not a submodule, so the state dict
        (and the weight file) keeps the backbone as built. Folding saves the BatchNorm passes.
        """
        self.backbone.requires_grad_(False)
        folded, _ = fold_batchnorm(self.backbone)
        self.__dict__["_frozen_backbone"] = folded.requires_grad_(False)

    def forward(self, images: torch.Tensor) -> Levels:
        """``images`` float RGB ``[B, 3, S, S]`` in [0, 1] -> maps at S/8, S/16, S/32."""
        frozen = self.__dict__.get("_frozen_backbone")
        if frozen is not None and self.training:
            with torch.no_grad():
                outputs = frozen(imagenet_normalize(images))
        else:
            outputs = self.backbone(imagenet_normalize(images))
        x3, x4, x5 = (adjust(outputs[name]) for adjust, name in zip(self.adjust, self.layers, strict=True))
        return x3, x4, x5


class CompressedSpaceChannelSelection(nn.Module):
    """CSCS (Sec. III-C, Eqs. 6-8): re-weight template channels from the search region's statistics.

    ``W = conv(gap(U)) + conv(gmp(U))`` (Eq. 6), ``A = W *dw conv(F_z)`` (Eq. 7; ``W`` is
    1 x 1, so the correlation scales each compressed channel), ``G = conv(A) + F_z`` (Eq. 8).
    ``ratio`` is the compression eta (0.5).
    """

    def __init__(self, template_channels: int, search_channels: int, ratio: float = 0.5) -> None:
        super().__init__()
        compressed = max(1, round(template_channels * ratio))
        self.squeeze_average = nn.Conv2d(search_channels, compressed, 1)
        self.squeeze_max = nn.Conv2d(search_channels, compressed, 1)
        self.compress = nn.Conv2d(template_channels, compressed, 1)
        self.expand = nn.Conv2d(compressed, template_channels, 1)
        nn.init.zeros_(self.expand.weight)  # starts as the identity on F_z (residual)
        nn.init.zeros_(self.expand.bias)

    def forward(self, template: torch.Tensor, search: torch.Tensor) -> torch.Tensor:
        """``template`` ``[B, Ct, h, w]``, ``search`` ``[B, Cs, H, W]`` -> ``[B, Ct, h, w]``."""
        weights = self.squeeze_average(F.adaptive_avg_pool2d(search, 1)) + self.squeeze_max(
            F.adaptive_max_pool2d(search, 1))
        return self.expand(weights * self.compress(template)) + template


class InstanceBasedUpsampling(nn.Module):
    """IBU (Sec. III-B, Eqs. 3-5): deep search map guided by the template, doubled, fused with a shallow map.

    ``R = T *dw U0`` (Eq. 3); ``V = TConv(conv(Concat(R, U0)))`` (Eq. 4, the conv halves the
    channels, the transposed conv doubles H and W and gives ``shallow_channels``);
    ``U1 = conv(Concat(V, F1))`` (Eq. 5).
    """

    def __init__(self, deep_channels: int, shallow_channels: int, backend: str = "auto", fuse_kernel: int = 3) -> None:
        super().__init__()
        self.backend = backend
        self.reduce = conv_bn_relu(2 * deep_channels, deep_channels, 3)
        self.upsample = nn.Sequential(
            nn.ConvTranspose2d(deep_channels, shallow_channels, 4, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(shallow_channels),
            nn.ReLU(inplace=True),
        )
        self.fuse = conv_bn_relu(2 * shallow_channels, shallow_channels, fuse_kernel)

    def forward(self, deep: torch.Tensor, kernel: torch.Tensor, shallow: torch.Tensor) -> torch.Tensor:
        """``deep`` ``[B, C0, H, W]``, ``kernel`` ``[B, C0, k, k]``, ``shallow`` ``[B, C1, 2H, 2W]``.

        Returns ``[B, C1, 2H, 2W]``.
        """
        response = same_dw_xcorr(deep, kernel, self.backend)
        upsampled = self.upsample(self.reduce(torch.cat((response, deep), dim=1)))
        return self.fuse(torch.cat((upsampled, shallow), dim=1))


class PredictionHead(nn.Module):
    """Two towers of ``layers`` 3x3 convs (Sec. III-D): centre map ``[B, 1, H, W]``, l, t, r, b ``[B, 4, H, W]``.

    Distances are in crop pixels: ``stride * exp(raw)`` (positive, SiamCAR/FCOS style).
    """

    def __init__(self, in_channels: int, hidden: int, layers: int, stride: int) -> None:
        super().__init__()
        if layers < 2:
            raise ValueError(f"head_layers must be >= 2, got {layers}")

        def tower() -> nn.Sequential:
            blocks = [conv_bn_relu(in_channels if i == 0 else hidden, hidden, 3) for i in range(layers - 1)]
            return nn.Sequential(*blocks)

        self.centre_tower, self.box_tower = tower(), tower()
        self.centre = nn.Conv2d(hidden, 1, 3, padding=1)
        self.box = nn.Conv2d(hidden, 4, 3, padding=1)
        self.stride = float(stride)
        nn.init.normal_(self.centre.weight, std=0.01)
        nn.init.zeros_(self.centre.bias)
        nn.init.normal_(self.box.weight, std=0.01)
        nn.init.constant_(self.box.bias, math.log(64.0 / stride))  # ~64 px: half a target in a 288 crop

    def forward(self, response: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        centre = self.centre(self.centre_tower(response))
        distances = self.stride * torch.exp(self.box(self.box_tower(response)).clamp(-20.0, 6.0))
        return centre, distances


class IbfpNet(nn.Module):
    """Backbone + upsampling network (IBU/CSCS, or an ablation's fusion) + head."""

    def __init__(self, config: ModelConfig, *, pretrained_backbone: bool = False, backend: str = "auto") -> None:
        super().__init__()
        if config.fusion not in FUSIONS:
            raise ValueError(f"unknown fusion {config.fusion!r}; choose from {FUSIONS}")
        self.config = config
        self.backend = backend
        self.features = SiameseFeatures(config, pretrained_backbone=pretrained_backbone)
        c3, c4, c5 = self.features.channels
        if config.fusion == "ibu":
            self.ibu1 = InstanceBasedUpsampling(c5, c4, backend, config.fuse_kernel)
            self.ibu2 = InstanceBasedUpsampling(c4, c3, backend, config.fuse_kernel)
            if config.cscs:
                self.cscs1 = CompressedSpaceChannelSelection(c5, c5, config.cscs_ratio)
                self.cscs2 = CompressedSpaceChannelSelection(c4, c4, config.cscs_ratio)
            out_channels = c3
        elif config.fusion == "concat":
            self.merge = conv_bn_relu(c3 + c4 + c5, c3, 1)
            out_channels = c3
        else:
            out_channels = c4
        self.head = PredictionHead(out_channels, config.head_channels, config.head_layers, config.stride)

    def set_backend(self, backend: str) -> None:
        """Backend of ``trackerzoo.ops.dw_xcorr`` for every correlation."""
        self.backend = backend
        for module in self.modules():
            if isinstance(module, InstanceBasedUpsampling):
                module.backend = backend

    # -- template branch ------------------------------------------------------------------
    def template_kernels(self, levels: Levels) -> Levels:
        """Correlation kernels ``(k3, k4, k5)`` from the template's levels (centre crops, ``kernel_sizes``)."""
        k3, k4, k5 = self.config.kernel_sizes
        if self.config.fusion == "concat":
            # Table I row 2: one kernel from the merged template map (k4, k5 are unused).
            _, z4, z5 = levels
            return centre_crop(self._merge(levels), k3), centre_crop(z4, k4), centre_crop(z5, k5)
        z3, z4, z5 = levels
        return centre_crop(z3, k3), centre_crop(z4, k4), centre_crop(z5, k5)

    # -- search branch --------------------------------------------------------------------
    def upsampled_response(self, levels: Levels, kernels: Levels) -> torch.Tensor:
        """The head's input ``R`` ``[B, C3, S/8, S/8]`` (Fig. 2) from the search levels and template kernels."""
        x3, x4, x5 = levels
        k3, k4, k5 = kernels
        fusion = self.config.fusion
        if fusion == "ibu":
            if self.config.cscs:
                k5 = self.cscs1(k5, x5)
            u1 = self.ibu1(x5, k5, x4)
            if self.config.cscs:
                k4 = self.cscs2(k4, u1)
            u2 = self.ibu2(u1, k4, x3)
            return same_dw_xcorr(u2, k3, self.backend)
        if fusion == "concat":
            return same_dw_xcorr(self._merge(levels), k3, self.backend)
        response = same_dw_xcorr(x4, k4, self.backend)  # Table I row 1: layer4 only
        return F.interpolate(response, scale_factor=2.0, mode="bilinear", align_corners=False)

    def _merge(self, levels: Levels) -> torch.Tensor:
        x3, x4, x5 = levels
        size = x3.shape[-2:]
        up4 = F.interpolate(x4, size=size, mode="bilinear", align_corners=False)
        up5 = F.interpolate(x5, size=size, mode="bilinear", align_corners=False)
        return self.merge(torch.cat((x3, up4, up5), dim=1))

    def track_step(self, search_images: torch.Tensor, k3: torch.Tensor, k4: torch.Tensor,
                   k5: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One frame: ``(centre [B,1,S/8,S/8], ltrb [B,4,S/8,S/8] in crop pixels, x4 [B,C4,S/16,S/16])``.

        ``x4`` (the paper's layer4 level) feeds the online branch.
        """
        levels = self.features(search_images)
        centre, distances = self.head(self.upsampled_response(levels, (k3, k4, k5)))
        return centre, distances, levels[1]

    def forward(self, template_images: torch.Tensor, search_images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Training pass over ``B`` pairs ``[B, 3, S, S]`` -> ``(centre [B,1,S/8,S/8], ltrb [B,4,S/8,S/8])``."""
        kernels = self.template_kernels(self.features(template_images))
        centre, distances, _ = self.track_step(search_images, *kernels)
        return centre, distances

    def train(self, mode: bool = True) -> IbfpNet:
        """Training mode except the backbone's BatchNorm, which keeps its ImageNet statistics."""
        super().train(mode)
        for module in self.features.backbone.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.eval()
        return self


class TrackStep(nn.Module):
    """``IbfpNet.track_step`` as a module's ``forward``, so that it can be traced as one graph."""

    def __init__(self, network: IbfpNet) -> None:
        super().__init__()
        self.network = network

    def forward(self, search_images: torch.Tensor, k3: torch.Tensor, k4: torch.Tensor,
                k5: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.network.track_step(search_images, k3, k4, k5)


COMPILED_MODULE_PREFIX = "_orig_mod."


def checkpoint_filter(state_dict: dict[str, torch.Tensor], model: IbfpNet | None) -> dict[str, torch.Tensor]:
    """Checkpoint filter for ``trackerzoo convert --tracker ibfp[-VARIANT]``: a training checkpoint's model.

    No official checkpoint exists; a ``torch.compile`` prefix is dropped, the rest passes
    and the converter checks it strictly against ``model``.
    """
    if state_dict and all(key.startswith(COMPILED_MODULE_PREFIX) for key in state_dict):
        return {key[len(COMPILED_MODULE_PREFIX):]: value for key, value in state_dict.items()}
    return dict(state_dict)
