"""Multi-resolution multi-stage segmentation (ARN paper Sec. 3.2; TracKit ``mask.py`` ``MMS``).

Stage 1 is the multi-resolution pathway: the correlation feature (upsampled to the
stride-8 map) plus the ARN-attended stride-8 features, then 3x3 conv + ReLU, upsample
and add with c3, c2, c1 in turn, and a 2-class 3x3 conv at the input resolution.
Stages 2 and 3 multiply the previous stage's foreground probability (clamped to
[0.7, 1]) into the pathway's features and run the pathway again with halved channels.
The three stage logits are fused with equal weights 0.33 (public code). Names follow
TracKit; ``b0``, ``m1``-``m3`` (training-only side outputs of the public code) and the
stage-2 ``sequential`` exist only when ``official_extras`` is set, for strict loading.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from trackerzoo_arn.model.arn import ARN, LookUpTable


def conv_relu(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, padding=1), nn.ReLU())


def conv(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, padding=1))


def _up(x: torch.Tensor, size: tuple[int, int] | torch.Size) -> torch.Tensor:
    return F.interpolate(x, size=tuple(size), mode="bilinear", align_corners=True)


def _side_outputs(module: nn.Module, widths: tuple[int, int, int]) -> None:
    module.m3 = conv(widths[0], 2)
    module.m2 = conv(widths[1], 2)
    module.m1 = conv(widths[2], 2)


def _init(module: nn.Module) -> None:
    for sub in module.modules():
        if isinstance(sub, nn.Conv2d):
            nn.init.kaiming_uniform_(sub.weight, a=1)


def foreground_gate(logits: torch.Tensor) -> torch.Tensor:
    """``clamp(softmax(logits)[:, 1], 0.7, 1)`` as ``[B, 1, H, W]``: the multi-stage mask gate."""
    return F.softmax(logits, dim=1)[:, 1:2].clamp(0.7, 1.0)


class RefineStage(nn.Module):
    """Stage 2 or 3: gate the previous stage's features by its mask and decode again.

    ``widths`` = (r4, r3/b3, r2/b2, r1/b1) output channels; ``in_widths`` those of the
    incoming features (the previous stage's r4, b3, b2, b1).
    """

    def __init__(self, in_widths: tuple[int, int, int, int], widths: tuple[int, int, int, int],
                 official_extras: bool = False, arn_channels: int = 256) -> None:
        super().__init__()
        self.b3 = conv_relu(in_widths[1], widths[1])
        self.b2 = conv_relu(in_widths[2], widths[2])
        self.b1 = conv_relu(in_widths[3], widths[3])
        self.r4 = conv_relu(in_widths[0], widths[0])
        self.r3 = conv_relu(widths[0], widths[1])
        self.r2 = conv_relu(widths[1], widths[2])
        self.r1 = conv_relu(widths[2], widths[3])
        self.r0 = conv(widths[3], 2)
        if official_extras:
            _side_outputs(self, widths[1:])
            if arn_channels:
                self.sequential = ARN(arn_channels, 64)  # built but unused by the public code
        _init(self)

    def forward(self, features: list[torch.Tensor], previous: torch.Tensor, output_size: tuple[int, int]
                ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        f4, f3, f2, f1 = features
        gate = foreground_gate(previous)
        g4 = _up(gate, f4.shape[-2:])
        f4, f3, f2, f1 = g4 * f4, g4 * f3, _up(gate, f2.shape[-2:]) * f2, _up(gate, f1.shape[-2:]) * f1
        r4 = self.r4(f4)
        b3 = self.b3(f3)
        r3 = _up(self.r3(r4) + b3, f2.shape[-2:])
        b2 = self.b2(f2)
        r2 = _up(self.r2(r3) + b2, f1.shape[-2:])
        b1 = self.b1(f1)
        r1 = _up(self.r1(r2) + b1, output_size)
        return self.r0(r1), [r4, b3, b2, b1]


class MMS(nn.Module):
    """The mask decoder. ``in_channels`` = (c1, c2, c3, c4) of the backbone/neck, ``corr_channels`` of the correlation.

    ``forward(c1, c2, c3, c4, corr, lut, output_size, stages=None)`` returns the stage logits
    ``[B, 2, H, W]`` each (the first ``stages`` of the built ones, all by default); :meth:`fuse`
    mixes them.
    """

    def __init__(self, in_channels: tuple[int, int, int, int], corr_channels: int, *,
                 stages: int = 3, official_extras: bool = False) -> None:
        super().__init__()
        if stages not in (1, 2, 3):
            raise ValueError(f"MMS stages must be 1, 2 or 3, got {stages!r}")
        c1, c2, c3, c4 = in_channels
        self.b4 = conv_relu(c4, 64)
        self.b3 = conv_relu(c3, 32)
        self.b2 = conv_relu(c2, 16)
        self.b1 = conv_relu(c1, 4)
        self.rCo = conv_relu(corr_channels, 64)
        self.r3 = conv_relu(64, 32)
        self.r2 = conv_relu(32, 16)
        self.r1 = conv_relu(16, 4)
        self.r0 = conv(4, 2)
        if official_extras:
            self.b0 = conv_relu(4, 2)
            _side_outputs(self, (32, 16, 4))
        self.sequential = ARN(c4, 64)
        self.num_stages = stages
        if stages >= 2:
            self.iter = RefineStage((64, 32, 16, 4), (32, 32, 16, 4), official_extras, c4)
        if stages >= 3:
            self.iter2 = RefineStage((32, 32, 16, 4), (16, 16, 8, 4), official_extras, 0)
        _init(self)
        self.ratios = (0.33, 0.33, 0.33)

    def forward(self, c1: torch.Tensor, c2: torch.Tensor, c3: torch.Tensor, c4: torch.Tensor,
                corr: torch.Tensor, lut: LookUpTable | None, output_size: tuple[int, int],
                stages: int | None = None) -> list[torch.Tensor]:
        if lut is not None:  # ARN attention added to the conv4 features (paper Eq. 3)
            c4 = c4 + self.sequential(c4, lut).clamp(0.0, 1.0)
        r4 = self.rCo(_up(corr, c4.shape[-2:])) + self.b4(c4)
        b3 = self.b3(c3)
        r3 = _up(self.r3(r4) + b3, c2.shape[-2:])
        b2 = self.b2(c2)
        r2 = _up(self.r2(r3) + b2, c1.shape[-2:])
        b1 = self.b1(c1)
        r1 = _up(self.r1(r2) + b1, output_size)
        logits = [self.r0(r1)]
        features = [r4, b3, b2, b1]
        wanted = self.num_stages if stages is None else min(stages, self.num_stages)
        for index in range(1, wanted):
            stage = self.iter if index == 1 else self.iter2
            stage_logits, features = stage(features, logits[-1], output_size)
            logits.append(stage_logits)
        return logits

    def fuse(self, logits: list[torch.Tensor]) -> torch.Tensor:
        """Weighted sum of the stage logits (0.33 each for three stages; equal weights otherwise)."""
        if len(logits) == 3:
            return self.ratios[0] * logits[0] + self.ratios[1] * logits[1] + self.ratios[2] * logits[2]
        return sum(logits) / len(logits)
