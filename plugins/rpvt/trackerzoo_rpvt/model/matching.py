"""D3S's geometrically invariant module (GIM): foreground/background matching.

Source: D3S (Lukezic et al., CVPR 2020), Sec. 3.1, and ``ltr/models/segm/segm_net.py``
of the public code (``segment0``, ``segment1``, ``similarity_segmentation``); RPVT
keeps it unchanged ("FB module", Sec. 3.4 of the RPVT paper, after VideoMatch).

Every pixel of the search features is compared (cosine similarity) with every pixel of
the reference (first-frame) features; the similarities are masked by the reference
mask (foreground) and its complement (background), and the ``k`` largest of each are
averaged. Masked-out entries are zero, not minus infinity, exactly as in D3S, so a
pixel whose best foreground matches are all negative reads 0.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .refinement import conv_bn, conv_bn_relu


def topk_similarity(
    search: torch.Tensor, reference: torch.Tensor, mask: torch.Tensor, k: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean of the top-``k`` foreground and background cosine similarities per search pixel.

    Args:
        search: features [B, C, H, W] of the search crop.
        reference: features [B, C, Hr, Wr] of the reference crop.
        mask: reference mask [B, 1, Hr, Wr] in [0, 1] (already at the feature size).
        k: matches averaged (D3S: 3); must not exceed Hr * Wr.

    Returns:
        (foreground [B, H, W], background [B, H, W]) similarities in [-1, 1].

    Raises:
        ValueError: on mismatched batch/channels, a mask of the wrong size, or a bad ``k``.
    """
    if search.dim() != 4 or reference.dim() != 4 or search.shape[:2] != reference.shape[:2]:
        raise ValueError(
            f"search/reference must be [B,C,H,W] alike, got {tuple(search.shape)}, {tuple(reference.shape)}"
        )
    if mask.shape != (reference.shape[0], 1, *reference.shape[-2:]):
        raise ValueError(f"mask must be [B,1,{reference.shape[-2]},{reference.shape[-1]}], got {tuple(mask.shape)}")
    cells = reference.shape[-2] * reference.shape[-1]
    if not 1 <= k <= cells:
        raise ValueError(f"k must be in [1, {cells}], got {k!r}")
    sim = torch.einsum("bchw,bcn->bhwn", F.normalize(search, p=2, dim=1),
                       F.normalize(reference, p=2, dim=1).flatten(2))
    weights = mask.flatten(1)[:, None, None, :]
    foreground = torch.topk(sim * weights, k, dim=-1).values.mean(dim=-1)
    background = torch.topk(sim * (1.0 - weights), k, dim=-1).values.mean(dim=-1)
    return foreground, background


class ForegroundBackgroundMatching(nn.Module):
    """GIM: ``segment0`` (1x1 conv-BN-ReLU to 64) + ``segment1`` (3x3 conv-BN), then top-k matching.

    Key names are D3S's (``segment0.0.weight``, ``segment1.1.running_mean``, ...).
    """

    def __init__(self, in_channels: int, dims: tuple[int, int] = (64, 64), topk_pos: int = 3, topk_neg: int = 3):
        super().__init__()
        self.segment0 = conv_bn_relu(in_channels, dims[0], kernel_size=1)
        self.segment1 = conv_bn(dims[0], dims[1])
        self.topk_pos = int(topk_pos)
        self.topk_neg = int(topk_neg)

    def embed(self, features: torch.Tensor) -> torch.Tensor:
        """Matching embedding [B, 64, H, W] of backbone features [B, C, H, W]."""
        return self.segment1(self.segment0(features))

    def forward(
        self, search_embedding: torch.Tensor, reference_embedding: torch.Tensor, reference_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(foreground [B, H, W], background [B, H, W]) for a reference mask [B, 1, h, w] of any size.

        The mask is brought to the feature size by nearest-neighbour interpolation (D3S).
        """
        mask = F.interpolate(reference_mask, size=reference_embedding.shape[-2:])
        if self.topk_pos == self.topk_neg:
            return topk_similarity(search_embedding, reference_embedding, mask, self.topk_pos)
        fg, _ = topk_similarity(search_embedding, reference_embedding, mask, self.topk_pos)
        _, bg = topk_similarity(search_embedding, reference_embedding, mask, self.topk_neg)
        return fg, bg
