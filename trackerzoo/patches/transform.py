"""The exact affine map between image coordinates and the coordinates of a sampled patch.

Both coordinate frames follow the trackerzoo convention (pixel (i, j) covers
[j, j+1) x [i, i+1)). A crop whose top-left image corner is ``origin`` and whose extent in
image pixels is ``crop_size`` is resampled to ``patch_size`` pixels, so

    patch = (image - origin) * scale,    scale = patch_size / crop_size   (per axis)

and the inverse is ``image = patch / scale + origin``. Keeping the map explicit (rather
than a centre and a resize factor) makes round trips exact and lets trackers move score
map peaks, boxes and masks back to the frame without re-deriving the crop.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


def _as_points(points, batch: int, what: str) -> tuple[torch.Tensor, bool]:
    was_numpy = isinstance(points, np.ndarray)
    tensor = torch.as_tensor(points)
    if tensor.dim() not in (2, 3) or tensor.shape[0] != batch or tensor.shape[-1] != 2:
        raise ValueError(f"{what} must have shape [B, 2] or [B, K, 2] with B = {batch}, got {tuple(tensor.shape)}")
    return tensor, was_numpy


def _as_boxes(boxes, batch: int) -> tuple[torch.Tensor, bool]:
    was_numpy = isinstance(boxes, np.ndarray)
    tensor = torch.as_tensor(boxes)
    if tensor.dim() not in (2, 3) or tensor.shape[0] != batch or tensor.shape[-1] != 4:
        raise ValueError(f"boxes must have shape [B, 4] or [B, K, 4] with B = {batch}, got {tuple(tensor.shape)}")
    return tensor, was_numpy


@dataclass(frozen=True)
class PatchTransform:
    """Per-item crop geometry of a batch of patches.

    Attributes:
        origin: [B, 2] (x, y) image position of the patch's top-left corner.
        crop_size: [B, 2] (w, h) extent of the crop in image pixels (after any border-mode
            shrinking, so it is what was really sampled).
        patch_size: (h, w) of the output patches, as passed to ``sample_patches``.
    """

    origin: torch.Tensor
    crop_size: torch.Tensor
    patch_size: tuple[int, int]

    @property
    def batch_size(self) -> int:
        return self.origin.shape[0]

    @property
    def scale(self) -> torch.Tensor:
        """[B, 2] patch pixels per image pixel along (x, y)."""
        out_wh = torch.tensor(
            [self.patch_size[1], self.patch_size[0]], dtype=self.crop_size.dtype, device=self.crop_size.device
        )
        return out_wh / self.crop_size

    @property
    def center(self) -> torch.Tensor:
        """[B, 2] (x, y) image position of the patch centre."""
        return self.origin + 0.5 * self.crop_size

    def _broadcast(self, values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        values = values.to(device=like.device, dtype=like.dtype if like.is_floating_point() else values.dtype)
        return values if like.dim() == 2 else values[:, None, :]

    def image_to_patch(self, points):
        """Map (x, y) image points [B, 2] or [B, K, 2] into patch coordinates (same array type back)."""
        pts, was_numpy = _as_points(points, self.batch_size, "points")
        pts = pts if pts.is_floating_point() else pts.to(self.origin.dtype)
        out = (pts - self._broadcast(self.origin, pts)) * self._broadcast(self.scale, pts)
        return out.cpu().numpy() if was_numpy else out

    def patch_to_image(self, points):
        """Map (x, y) patch points [B, 2] or [B, K, 2] back into image coordinates."""
        pts, was_numpy = _as_points(points, self.batch_size, "points")
        pts = pts if pts.is_floating_point() else pts.to(self.origin.dtype)
        out = pts / self._broadcast(self.scale, pts) + self._broadcast(self.origin, pts)
        return out.cpu().numpy() if was_numpy else out

    def _map_boxes(self, boxes, point_map, size_factor_fn):
        tensor, was_numpy = _as_boxes(boxes, self.batch_size)
        tensor = tensor if tensor.is_floating_point() else tensor.to(self.origin.dtype)
        corner = point_map(tensor[..., :2])
        size = tensor[..., 2:] * self._broadcast(size_factor_fn(), tensor)
        out = torch.cat([torch.as_tensor(corner), size], dim=-1)
        return out.cpu().numpy() if was_numpy else out

    def image_to_patch_boxes(self, boxes_xywh):
        """Map xywh image boxes [B, 4] or [B, K, 4] into patch coordinates."""
        return self._map_boxes(boxes_xywh, self.image_to_patch, lambda: self.scale)

    def patch_to_image_boxes(self, boxes_xywh):
        """Map xywh patch boxes [B, 4] or [B, K, 4] back into image coordinates."""
        return self._map_boxes(boxes_xywh, self.patch_to_image, lambda: 1.0 / self.scale)

    def __getitem__(self, index) -> PatchTransform:
        """Sub-batch (e.g. ``transform[i:i+1]``), keeping the batch dimension."""
        if isinstance(index, int):
            index = slice(index, index + 1)
        return PatchTransform(self.origin[index], self.crop_size[index], self.patch_size)
