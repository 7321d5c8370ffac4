"""The online discriminator D of Eq. 7: one conv layer and two fc layers.

It never sees the template: it is trained during tracking, on samples of the current
sequence, to tell the target from the background around it (Eq. 8). The conv layer is
fitted once, in the first frame; later updates change only the two fc layers, so the
memory can store the conv output (``project``) instead of the pooled features.

``linearize`` gives the derivative of the scores in closed form as two maps, ``J v`` and
``J^T u`` (the tests check them against an autograd Jacobian), so the matrix-free
Gauss-Newton learner never forms the N x P Jacobian (N ~ 1200 samples, P ~ 12k).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from trackerzoo.learners import Linearization
from trackerzoo_cract.model.pyramid import PyramidFeatures


class Discriminator(nn.Module):
    """conv (1x1, shared by the pyramid levels) -> ReLU -> fc -> ReLU -> fc -> score."""

    def __init__(self, channels: int, positions: int, conv_channels: int, hidden: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, conv_channels, 1)
        self.fc1 = nn.Linear(positions * conv_channels, hidden)
        self.fc2 = nn.Linear(hidden, 1)

    def project(self, proposal: PyramidFeatures) -> torch.Tensor:
        """The conv stage: ``[K, positions * conv_channels]`` (each level flattened channel-major)."""
        return torch.cat([torch.relu(self.conv(level)).flatten(1) for level in proposal], dim=1)

    def classify(self, projected: torch.Tensor) -> torch.Tensor:
        """The fc stage: one score per row of ``projected`` (1 = target, 0 = background)."""
        return self.fc2(torch.relu(self.fc1(projected))).squeeze(-1)

    def forward(self, samples: PyramidFeatures | torch.Tensor) -> torch.Tensor:
        """Scores of pooled features (a pyramid tuple) or of already projected rows (a tensor)."""
        projected = self.project(samples) if isinstance(samples, tuple) else samples
        return self.classify(projected)

    # -- what the Gauss-Newton learner needs -------------------------------------------------
    def fitted_parameters(self, samples: PyramidFeatures | torch.Tensor) -> list[nn.Parameter]:
        """All layers when fitting pooled features (first frame), the fc layers for projected rows."""
        fc = [self.fc1.weight, self.fc1.bias, self.fc2.weight, self.fc2.bias]
        return [self.conv.weight, self.conv.bias, *fc] if isinstance(samples, tuple) else fc

    @staticmethod
    def regularization(samples: PyramidFeatures | torch.Tensor, fc_reg: float, conv_reg: float) -> list[float]:
        """Per-tensor weights of the L2 term of Eq. 8, aligned with ``fitted_parameters``."""
        fc = [fc_reg] * 4
        return [conv_reg, conv_reg, *fc] if isinstance(samples, tuple) else fc

    @torch.no_grad()
    def linearize(self, samples: PyramidFeatures | torch.Tensor) -> Linearization:
        """Scores ``[N]`` and closed-form ``J v`` / ``J^T u`` for ``fitted_parameters(samples)``.

        No Jacobian is formed: ``J v`` costs about one forward pass of the linearised layers
        and ``J^T u`` one backward pass (GEMMs over the samples).
        """
        full = isinstance(samples, tuple)
        if full:
            pre_activations = [self.conv(level) for level in samples]
            projected = torch.cat([torch.relu(pre).flatten(1) for pre in pre_activations], dim=1)
        else:
            projected = samples
        hidden_pre = self.fc1(projected)
        hidden = torch.relu(hidden_pre)
        scores = self.fc2(hidden).squeeze(-1)
        # d score / d hidden pre-activation [N, H].
        gate = self.fc2.weight[0] * (hidden_pre > 0).to(hidden)
        # Per level, channel-major so that both products are single GEMMs: d score / d conv
        # output [K, N, positions] (through fc1 and the ReLU) and the features [C, N * positions].
        levels: list[tuple[torch.Tensor, torch.Tensor]] = []
        if full:
            through_fc = gate @ self.fc1.weight
            start = 0
            for level, pre in zip(samples, pre_activations, strict=True):
                size = pre[0].numel()
                delta = through_fc[:, start:start + size].view_as(pre) * (pre > 0).to(pre)
                start += size
                levels.append((delta.flatten(2).transpose(0, 1).contiguous(),
                               level.flatten(2).transpose(0, 1).reshape(level.shape[1], -1)))

        def jvp(tangents: Sequence[torch.Tensor]) -> torch.Tensor:
            d_w1, d_b1, d_w2, d_b2 = tangents[-4:]
            out = (gate * torch.addmm(d_b1, projected, d_w1.T)).sum(1) + hidden @ d_w2[0] + d_b2[0]
            if full:
                d_conv = tangents[0].flatten(1)  # [K, C]
                for delta, feats in levels:
                    d_pre = torch.addmm(tangents[1][:, None], d_conv, feats).view_as(delta)
                    out = out + (delta * d_pre).sum((0, 2))
            return out

        def vjp(cotangent: torch.Tensor) -> tuple[torch.Tensor, ...]:
            gated = gate * cotangent[:, None]
            fc = (gated.T @ projected, gated.sum(0), (cotangent @ hidden)[None], cotangent.sum().reshape(1))
            if not full:
                return fc
            conv_weight = torch.zeros(self.conv.weight.shape[:2], dtype=hidden.dtype, device=hidden.device)
            conv_bias = torch.zeros(self.conv.weight.shape[0], dtype=hidden.dtype, device=hidden.device)
            for delta, feats in levels:
                weighted = delta * cotangent[None, :, None]
                conv_weight += weighted.flatten(1) @ feats.T
                conv_bias += weighted.sum((1, 2))
            return (conv_weight.view_as(self.conv.weight), conv_bias, *fc)

        return Linearization(scores, jvp, vjp)
