"""The inverse of cropping: resample patch-space maps (masks, score maps) into the full frame.

Segmentation trackers (RTS, ARN, RPVT) predict a mask on the search patch and must report
it on the original frame; doing that through the same :class:`PatchTransform` that made
the crop keeps the two exactly aligned. Each image pixel centre is mapped into the patch,
the patch is sampled bilinearly there (``align_corners=False``, the same convention as
:func:`sample_patches`), and pixels whose centre falls outside the crop get ``fill``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from .transform import PatchTransform


def paste_patches(
    patches: torch.Tensor,
    transform: PatchTransform,
    image_size: Sequence[int],
    fill: float = 0.0,
) -> torch.Tensor:
    """Resample ``patches`` [B, C, h, w] into frames of ``image_size`` (H, W) -> [B, C, H, W]."""
    if patches.dim() != 4 or not patches.is_floating_point():
        raise ValueError(f"patches must be a float tensor [B, C, h, w], got {tuple(patches.shape)}")
    if patches.shape[0] != transform.batch_size or tuple(patches.shape[-2:]) != tuple(transform.patch_size):
        raise ValueError(
            f"patches {tuple(patches.shape)} do not match the transform (batch {transform.batch_size}, "
            f"patch size {transform.patch_size})"
        )
    if len(image_size) != 2 or min(int(v) for v in image_size) <= 0:
        raise ValueError(f"image_size must be (H, W) positive integers, got {image_size!r}")
    height, width = int(image_size[0]), int(image_size[1])
    out_h, out_w = transform.patch_size
    dtype, device = transform.origin.dtype, transform.origin.device

    xs = torch.arange(width, dtype=dtype, device=device) + 0.5
    ys = torch.arange(height, dtype=dtype, device=device) + 0.5
    scale = transform.scale
    px = (xs[None, :] - transform.origin[:, 0:1]) * scale[:, 0:1]  # [B, W] patch x of each column
    py = (ys[None, :] - transform.origin[:, 1:2]) * scale[:, 1:2]  # [B, H] patch y of each row
    grid = torch.stack(
        [
            (2.0 * px / out_w - 1.0)[:, None, :].expand(-1, height, -1),
            (2.0 * py / out_h - 1.0)[:, :, None].expand(-1, -1, width),
        ],
        dim=-1,
    ).to(patches.dtype)
    pasted = F.grid_sample(patches, grid, mode="bilinear", padding_mode="border", align_corners=False)
    inside_x = (px >= 0) & (px < out_w)
    inside_y = (py >= 0) & (py < out_h)
    inside = (inside_y[:, :, None] & inside_x[:, None, :])[:, None]  # [B, 1, H, W]
    return torch.where(inside, pasted, torch.full_like(pasted, fill))
