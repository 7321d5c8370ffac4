"""The online discriminator D of Eq. 7: one conv layer and two fc layers.

It never sees the template: it is trained during tracking, on samples of the current
sequence, to tell the target from the background around it (Eq. 8). The conv layer is
fitted once, in the first frame; later updates change only the two fc layers, so the
memory can store the conv output (``project``) instead of the pooled features.

``linearize`` gives the Jacobian of the scores in closed form. The network is tiny
(about 13k parameters) and the fits see at most ~1200 samples, so the Gauss-Newton
learner forms the Jacobian explicitly; the closed form is ~100x faster on a CPU than
per-sample automatic differentiation (the tests check the two agree).
"""

from __future__ import annotations

import torch
from torch import nn

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
    def linearize(self, samples: PyramidFeatures | torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Scores ``[N]`` and their Jacobian ``[N, P]`` for ``fitted_parameters(samples)``."""
        full = isinstance(samples, tuple)
        if full:
            pre_activations = [self.conv(level) for level in samples]
            projected = torch.cat([torch.relu(pre).flatten(1) for pre in pre_activations], dim=1)
        else:
            projected = samples
        hidden_pre = self.fc1(projected)
        hidden = torch.relu(hidden_pre)
        scores = self.fc2(hidden).squeeze(-1)
        # d score / d hidden pre-activation, then the fc columns: W1, b1, W2, b2.
        gate = self.fc2.weight[0] * (hidden_pre > 0).to(hidden)
        count = projected.shape[0]
        columns = [
            (gate[:, :, None] * projected[:, None, :]).reshape(count, -1),
            gate,
            hidden,
            torch.ones(count, 1, dtype=hidden.dtype, device=hidden.device),
        ]
        if full:
            # d score / d projected, back through the ReLU to each level's conv output.
            through_fc = gate @ self.fc1.weight
            weight_grad = torch.zeros(count, *self.conv.weight.shape[:2], dtype=hidden.dtype, device=hidden.device)
            bias_grad = torch.zeros(count, self.conv.weight.shape[0], dtype=hidden.dtype, device=hidden.device)
            start = 0
            for level, pre in zip(samples, pre_activations, strict=True):
                size = pre[0].numel()
                delta = through_fc[:, start:start + size].view_as(pre) * (pre > 0).to(pre)
                start += size
                weight_grad += torch.einsum("nkp,ncp->nkc", delta.flatten(2), level.flatten(2))
                bias_grad += delta.flatten(2).sum(-1)
            columns = [weight_grad.reshape(count, -1), bias_grad, *columns]
        return scores, torch.cat(columns, dim=1)
