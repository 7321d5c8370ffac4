"""Attention Retrieval Network (ARN paper Sec. 3.1; TracKit ``lib/models/mask.py`` class ``ARN``).

A look-up table (LUT) is built once from the starting frame: its addresses are 1x1
embeddings (256 -> 64) of the template features, its values the starting mask
downsampled to the template map. For frame t the search features are embedded the
same way and the table is read by ``softmax(F_t A^T / sqrt(C)) V`` through
``trackerzoo.ops.lut_affinity_softmax``; the result is a one-channel attention map.
"""

from __future__ import annotations

import dataclasses

import torch
import torch.nn.functional as F
from torch import nn

from trackerzoo import ops


@dataclasses.dataclass
class LookUpTable:
    """Addresses ``keys`` ``[B, K, C]`` (K = Hz * Wz) and values ``[B, K, 1]`` (mask in [0, 1])."""

    keys: torch.Tensor
    values: torch.Tensor
    size: tuple[int, int]  # (Hz, Wz) of the template map

    def with_mask(self, mask: torch.Tensor) -> LookUpTable:
        """The same addresses with new values: ``mask`` ``[B, h, w]`` in template-crop pixels."""
        return LookUpTable(self.keys, downsample_mask(mask, self.size), self.size)


def downsample_mask(mask: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """``[B, h, w]`` -> ``[B, Hz * Wz, 1]``, bilinear with aligned corners as TracKit does."""
    if mask.dim() != 3:
        raise ValueError(f"template mask must be [B, h, w], got shape {tuple(mask.shape)}")
    mask = mask if mask.is_floating_point() else mask.float()
    small = F.interpolate(mask.unsqueeze(1), size=size, mode="bilinear", align_corners=True)
    return small.flatten(2).transpose(1, 2)


class ARN(nn.Module):
    """``s_embed`` (search) and ``t_embed`` (template): 1x1 convs ``in_channels -> embed_channels``."""

    def __init__(self, in_channels: int = 256, embed_channels: int = 64, backend: str = "auto") -> None:
        super().__init__()
        self.s_embed = nn.Conv2d(in_channels, embed_channels, 1)
        self.t_embed = nn.Conv2d(in_channels, embed_channels, 1)
        self.backend = backend

    def build_lut(self, template_features: torch.Tensor, template_mask: torch.Tensor) -> LookUpTable:
        """LUT from template features ``[B, C, Hz, Wz]`` (uncropped, 15x15) and mask ``[B, h, w]``."""
        keys = self.t_embed(template_features)
        size = (keys.shape[-2], keys.shape[-1])
        return LookUpTable(keys.flatten(2).transpose(1, 2), downsample_mask(template_mask, size), size)

    def forward(self, search_features: torch.Tensor, lut: LookUpTable) -> torch.Tensor:
        """Attention ``[B, 1, H, W]`` for search features ``[B, C, H, W]`` (paper Eq. 1-2)."""
        query = self.s_embed(search_features)
        b, _, h, w = query.shape
        flat = query.flatten(2).transpose(1, 2)
        retrieved = ops.lut_affinity_softmax(flat, lut.keys, lut.values, backend=self.backend)
        return retrieved.transpose(1, 2).reshape(b, 1, h, w)
