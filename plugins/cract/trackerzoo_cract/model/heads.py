"""The CRAC heads that compare a proposal with the initial target: regression R and identifier I.

Both follow the paper's description (Eqs. 3 and 6): the proposal feature and the
initial target feature ``f_init`` are concatenated, one conv layer mixes them, three
fc layers give the output. With a feature pyramid the conv is a 1x1 conv shared by all
levels (it is the only kernel size that also applies to the 1x1 level); the levels
are flattened and concatenated before the fc layers.
"""

from __future__ import annotations

import torch
from torch import nn

from trackerzoo_cract.model.pyramid import PyramidFeatures

# Faster R-CNN's normalisation of box offsets: the fc layer predicts offsets / these,
# which keeps its outputs near unit scale.
OFFSET_SCALE = (0.1, 0.1, 0.2, 0.2)


class PairHead(nn.Module):
    """concat(f_proposal, f_init) -> conv -> fc -> fc -> fc."""

    def __init__(self, channels: int, positions: int, conv_channels: int, hidden: int, outputs: int) -> None:
        super().__init__()
        self.mix = nn.Sequential(nn.Conv2d(2 * channels, conv_channels, 1), nn.ReLU(inplace=True))
        self.fc = nn.Sequential(
            nn.Linear(positions * conv_channels, hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, outputs),
        )

    def forward(self, proposal: PyramidFeatures, initial: PyramidFeatures) -> torch.Tensor:
        mixed = [
            self.mix(torch.cat((level, init.expand_as(level)), dim=1)).flatten(1)
            for level, init in zip(proposal, initial, strict=True)
        ]
        return self.fc(torch.cat(mixed, dim=1))


class BoxRegressor(nn.Module):
    """R of Eq. 3: offsets ``(r_x, r_y, r_w, r_h)`` of each proposal, in the units of Eq. 4."""

    def __init__(self, channels: int, positions: int, conv_channels: int, hidden: int) -> None:
        super().__init__()
        self.head = PairHead(channels, positions, conv_channels, hidden, 4)
        self.register_buffer("offset_scale", torch.tensor(OFFSET_SCALE), persistent=False)

    def forward(self, proposal: PyramidFeatures, initial: PyramidFeatures) -> torch.Tensor:
        return self.head(proposal, initial) * self.offset_scale


class Identifier(nn.Module):
    """I of Eq. 6: a relation network giving (background, target) logits for each proposal."""

    def __init__(self, channels: int, positions: int, conv_channels: int, hidden: int) -> None:
        super().__init__()
        self.head = PairHead(channels, positions, conv_channels, hidden, 2)

    def forward(self, proposal: PyramidFeatures, initial: PyramidFeatures) -> torch.Tensor:
        return self.head(proposal, initial)

    @staticmethod
    def target_probability(logits: torch.Tensor) -> torch.Tensor:
        """``nu~+`` of Eq. 9: the softmax probability of the target class."""
        return torch.softmax(logits, dim=-1)[..., 1]
