"""Refinement pathways: D3S's single-stage decoder, and RPVT's multi-stage / CSCR decoders.

Levels are numbered by resolution, finest first, as D3S numbers its layers: level 0 is
stride 2 (ResNet ``conv1``), 1 stride 4, 2 stride 8, 3 stride 16 (where the matching and
the mixer work). ``inter`` are the decoder channels per level (D3S: 4, 16, 32, 64).

- :class:`D3SRefinement` is D3S's pathway layer for layer with its parameter names
  (``s0``..``s3``, ``f0``..``f2``, ``post0``..``post2``; ``ltr/models/segm/segm_net.py``):
  ``out = post_n(up(f_n(feat_n) + s_n(out)))`` from level 2 down to 0, nearest upsampling.
- :class:`CSCRRefinement` is the RPVT paper's Sec. 3 (our reading of Eqs. 1-3, see the
  plugin README): three stages, each a decoder from level 3 to level 0; the input of
  stage ``b`` at level ``n`` is the sum of the same-level features of the backbone and of
  every earlier stage (cross-stage, Eq. 1) plus the upsampled level ``n+1`` features of
  stage ``b`` and of stage ``b-1`` (cross-resolution, Eq. 2; both together Eq. 3). Each
  stage ends in a coarse mask; the foreground probability of stage ``b-1``, smoothed by a
  fixed Gaussian, gates stage ``b``'s same-level inputs as ``x * (1 + a)`` (the Gaussian
  attention). The final logits are a learned convex combination (softmax of three
  weights) of the three stage logits, or the last stage alone.
  ``mode="ms"`` is the plain multi-stage pathway of the ablation (D3S-MS): a stage sees
  only the backbone feature at each level and its own coarser level; stages are chained
  through level 3 only.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

MODES = ("ms", "cscr")
FUSIONS = ("weighted", "last")


def conv_bn_relu(in_channels: int, out_channels: int, kernel_size: int = 3) -> nn.Sequential:
    """Conv (bias) + BatchNorm + ReLU, D3S's ``conv``: keys ``0.weight``, ``0.bias``, ``1.*``."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=True),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


def conv_bn(in_channels: int, out_channels: int, kernel_size: int = 3) -> nn.Sequential:
    """Conv (bias) + BatchNorm, D3S's ``conv_no_relu``."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=True),
        nn.BatchNorm2d(out_channels),
    )


def _up(x: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, scale_factor=2, mode="nearest")


def init_like_d3s(module: nn.Module) -> None:
    """Kaiming-normal (fan_in) conv weights and zero biases, as D3S initialises its head."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_in")
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def _check_levels(skips: list[torch.Tensor], top: torch.Tensor) -> None:
    if len(skips) != 3:
        raise ValueError(f"expected 3 skip features (levels 0..2), got {len(skips)}")
    for n, skip in enumerate(skips):
        expected = (top.shape[-2] * 2 ** (3 - n), top.shape[-1] * 2 ** (3 - n))
        if tuple(skip.shape[-2:]) != expected:
            raise ValueError(f"level {n} feature must be {expected} for a level-3 map of "
                             f"{tuple(top.shape[-2:])}, got {tuple(skip.shape[-2:])}")


class D3SRefinement(nn.Module):
    """D3S's upsampling pathway (``SegmNet.forward`` after the mixer).

    Args:
        input_dims: backbone channels at levels 0, 1, 2 (ResNet-50: 64, 256, 512).
        inter: decoder channels at levels 0..3 (D3S: 4, 16, 32, 64).
    """

    def __init__(self, input_dims: tuple[int, int, int], inter: tuple[int, int, int, int] = (4, 16, 32, 64)):
        super().__init__()
        self.s3 = conv_bn_relu(inter[3], inter[2])
        self.s2 = conv_bn_relu(inter[2], inter[2])
        self.s1 = conv_bn_relu(inter[1], inter[1])
        self.s0 = conv_bn_relu(inter[0], inter[0])
        self.f2 = conv_bn_relu(input_dims[2], inter[2])
        self.f1 = conv_bn_relu(input_dims[1], inter[1])
        self.f0 = conv_bn_relu(input_dims[0], inter[0])
        self.post2 = conv_bn_relu(inter[2], inter[1])
        self.post1 = conv_bn_relu(inter[1], inter[0])
        self.post0 = conv_bn(inter[0], 2)

    def forward(self, mixed: torch.Tensor, skips: list[torch.Tensor]) -> dict[str, torch.Tensor]:
        """Logits [B, 2, 16h, 16w] (foreground, background) from the mixer output [B, inter3, h, w].

        ``skips`` are the backbone features of levels 0, 1, 2 ([B, C_n, 2^(3-n) h, ...]).
        Returns ``{"logits": ..., "stages": [logits]}``.
        """
        _check_levels(skips, mixed)
        out = self.s3(_up(mixed))
        out = self.post2(_up(self.f2(skips[2]) + self.s2(out)))
        out = self.post1(_up(self.f1(skips[1]) + self.s1(out)))
        out = self.post0(_up(self.f0(skips[0]) + self.s0(out)))
        return {"logits": out, "stages": [out]}


def gaussian_kernel1d(sigma: float) -> torch.Tensor:
    """Normalised 1-D Gaussian taps, radius ceil(3 sigma)."""
    radius = max(1, math.ceil(3.0 * sigma))
    x = torch.arange(-radius, radius + 1, dtype=torch.float32)
    k = torch.exp(-0.5 * (x / sigma) ** 2)
    return k / k.sum()


class CSCRRefinement(nn.Module):
    """Three-stage decoder with cross-stage and cross-resolution fusion (RPVT Sec. 3).

    Args:
        input_dims: backbone channels at levels 0, 1, 2.
        inter: decoder channels at levels 0..3.
        mode: ``"cscr"`` (the paper) or ``"ms"`` (plain multi-stage, the ablation).
        attention: gate stage b's inputs by stage b-1's smoothed mask (Gaussian attention).
        fusion: ``"weighted"`` (learned convex weights of the three stage masks) or ``"last"``.
        attention_sigma: std of the Gaussian smoothing of the attention mask, in level-0 cells.

    Raises:
        ValueError: unknown ``mode`` or ``fusion``.
    """

    stages = 3

    def __init__(
        self,
        input_dims: tuple[int, int, int],
        inter: tuple[int, int, int, int] = (4, 16, 32, 64),
        *,
        mode: str = "cscr",
        attention: bool = True,
        fusion: str = "weighted",
        attention_sigma: float = 2.0,
    ):
        super().__init__()
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        if fusion not in FUSIONS:
            raise ValueError(f"fusion must be one of {FUSIONS}, got {fusion!r}")
        self.mode, self.attention, self.fusion = mode, bool(attention), fusion
        self.inter = tuple(inter)
        # F_{n,0}: the backbone feature of levels 0..2 (D3S's f-convs).
        self.f0 = conv_bn_relu(input_dims[0], inter[0])
        self.f1 = conv_bn_relu(input_dims[1], inter[1])
        self.f2 = conv_bn_relu(input_dims[2], inter[2])
        # Per stage: the level-3 node, and per level 0..2 a lift of the coarser features and a node.
        self.top = nn.ModuleList(conv_bn_relu(inter[3], inter[3]) for _ in range(self.stages))
        self.lift = nn.ModuleList(
            nn.ModuleList(conv_bn_relu(inter[n + 1], inter[n]) for n in range(3)) for _ in range(self.stages)
        )
        self.node = nn.ModuleList(
            nn.ModuleList(conv_bn_relu(inter[n], inter[n]) for n in range(3)) for _ in range(self.stages)
        )
        self.head = nn.ModuleList(conv_bn(inter[0], 2) for _ in range(self.stages))
        self.stage_weights = nn.Parameter(torch.zeros(self.stages))
        self.register_buffer("gauss", gaussian_kernel1d(attention_sigma), persistent=False)

    def _attention_maps(self, logits: torch.Tensor, sizes: list[tuple[int, int]]) -> list[torch.Tensor]:
        prob = torch.softmax(logits, dim=1)[:, :1]
        prob = F.avg_pool2d(prob, 2)  # back to level-0 resolution
        k = self.gauss.to(prob)
        pad = k.numel() // 2
        prob = F.conv2d(F.pad(prob, (pad, pad, 0, 0), mode="replicate"), k.view(1, 1, 1, -1))
        prob = F.conv2d(F.pad(prob, (0, 0, pad, pad), mode="replicate"), k.view(1, 1, -1, 1))
        return [F.adaptive_avg_pool2d(prob, size) for size in sizes]

    def forward(self, mixed: torch.Tensor, skips: list[torch.Tensor]) -> dict[str, torch.Tensor]:
        """Final logits [B, 2, 16h, 16w] and the three stage logits (``"stages"``), from the mixer output."""
        _check_levels(skips, mixed)
        # features[b][n] = F_{n,b}; b = 0 is the backbone (level 3: the mixer output).
        base = [self.f0(skips[0]), self.f1(skips[1]), self.f2(skips[2]), mixed]
        features: list[list[torch.Tensor]] = [base]
        stage_logits: list[torch.Tensor] = []
        for b in range(1, self.stages + 1):
            gates = None
            if self.attention and b > 1:
                gates = self._attention_maps(stage_logits[-1], [tuple(t.shape[-2:]) for t in base])
            current: list[torch.Tensor | None] = [None, None, None, None]
            same3 = sum(features[i][3] for i in range(b)) if self.mode == "cscr" else features[b - 1][3]
            if gates is not None:
                same3 = same3 * (1.0 + gates[3])
            current[3] = self.top[b - 1](same3)
            for n in (2, 1, 0):
                if self.mode == "cscr":  # Eq. 3: all earlier stages at level n, stages b and b-1 at n+1
                    same = sum(features[i][n] for i in range(b))
                    coarser = _up(current[n + 1]) + _up(features[b - 1][n + 1])
                else:
                    same = base[n]
                    coarser = _up(current[n + 1])
                if gates is not None:
                    same = same * (1.0 + gates[n])
                current[n] = self.node[b - 1][n](same + self.lift[b - 1][n](coarser))
            features.append(current)  # type: ignore[arg-type]
            # Stage masks are predicted at level 0 (stride 2) and upsampled: a full-resolution
            # conv per stage tripled the CPU cost of the pathway for no measured gain.
            stage_logits.append(F.interpolate(self.head[b - 1](current[0]), scale_factor=2, mode="bilinear",
                                              align_corners=False))
        if self.fusion == "last":
            final = stage_logits[-1]
        else:
            w = torch.softmax(self.stage_weights, dim=0)
            final = sum(w[i] * stage_logits[i] for i in range(self.stages))
        return {"logits": final, "stages": stage_logits}
