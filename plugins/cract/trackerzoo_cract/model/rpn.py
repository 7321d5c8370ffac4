"""Siamese region proposal head (SiamRPN++ depth-wise correlation, section 3.1).

For each of classification and regression the template and the search features pass
through their own 3x3 conv, are correlated channel by channel (``ops.dw_xcorr``) and a
small 1x1 head maps the correlation to ``2A`` scores or ``4A`` offsets for the ``A``
anchors of every score-map cell.
"""

from __future__ import annotations

import dataclasses

import torch
from torch import nn

from trackerzoo import ops
from trackerzoo_cract.model.features import conv_bn


@dataclasses.dataclass
class RpnOutput:
    """``scores`` ``[B, 2A, S, S]`` (background/target logits) and ``offsets`` ``[B, 4A, S, S]``."""

    scores: torch.Tensor
    offsets: torch.Tensor

    def flat_scores(self) -> torch.Tensor:
        """Logits ``[B, A*S*S, 2]`` in the anchor order of ``anchors.anchor_grid``."""
        batch, channels, height, width = self.scores.shape
        anchors = channels // 2
        return self.scores.view(batch, 2, anchors, height, width).permute(0, 2, 3, 4, 1).reshape(batch, -1, 2)

    def flat_offsets(self) -> torch.Tensor:
        """Offsets ``[B, A*S*S, 4]`` in the anchor order of ``anchors.anchor_grid``."""
        batch, channels, height, width = self.offsets.shape
        anchors = channels // 4
        return self.offsets.view(batch, 4, anchors, height, width).permute(0, 2, 3, 4, 1).reshape(batch, -1, 4)


class DepthwiseCorrelationBranch(nn.Module):
    """One output branch: template/search convs -> depth-wise correlation -> 1x1 head."""

    def __init__(self, channels: int, out_channels: int, backend: str = "auto") -> None:
        super().__init__()
        self.template_conv = conv_bn(channels, channels, 3, relu=True)
        self.search_conv = conv_bn(channels, channels, 3, relu=True)
        self.head = nn.Sequential(conv_bn(channels, channels, 1, relu=True), nn.Conv2d(channels, out_channels, 1))
        self.backend = backend

    def kernel(self, template_features: torch.Tensor) -> torch.Tensor:
        """The correlation kernel of a template; computed once per sequence when tracking."""
        return self.template_conv(template_features)

    def forward(self, kernel: torch.Tensor, search_features: torch.Tensor) -> torch.Tensor:
        correlation = ops.dw_xcorr(self.search_conv(search_features), kernel, backend=self.backend)
        return self.head(correlation)


class SiameseRpn(nn.Module):
    """Classification and regression branches over ``A`` anchors."""

    def __init__(self, channels: int, num_anchors: int) -> None:
        super().__init__()
        self.classification = DepthwiseCorrelationBranch(channels, 2 * num_anchors)
        self.regression = DepthwiseCorrelationBranch(channels, 4 * num_anchors)

    def set_backend(self, backend: str) -> None:
        self.classification.backend = backend
        self.regression.backend = backend

    def kernels(self, template_features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.classification.kernel(template_features), self.regression.kernel(template_features)

    def forward(self, kernels: tuple[torch.Tensor, torch.Tensor], search_features: torch.Tensor) -> RpnOutput:
        return RpnOutput(
            scores=self.classification(kernels[0], search_features),
            offsets=self.regression(kernels[1], search_features),
        )
