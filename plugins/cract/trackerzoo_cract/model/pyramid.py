"""Pyramid RoIAlign (section 3.3): the same proposal pooled at 6x6, 3x3 and 1x1.

The 6x6 level keeps local structure, the 1x1 level is a global summary that does not
change when the target rotates or deforms; the heads see all levels together.
"""

from __future__ import annotations

import torch

from trackerzoo import ops
from trackerzoo.geometry import cxcywh_to_xyxy

PyramidFeatures = tuple[torch.Tensor, ...]


class PyramidRoiPooling:
    """Pools proposal boxes (cxcywh, image pixels of the crop) from a stride-``stride`` map."""

    def __init__(self, levels: tuple[int, ...], stride: int, backend: str = "auto") -> None:
        self.levels = tuple(levels)
        self.stride = stride
        self.backend = backend

    @property
    def positions(self) -> int:
        """Number of pooled cells over all levels (36 + 9 + 1 = 46 for the paper's pyramid)."""
        return sum(size * size for size in self.levels)

    def __call__(self, features: torch.Tensor, boxes: torch.Tensor, batch_index: torch.Tensor) -> PyramidFeatures:
        """``features`` ``[B, C, H, W]``, ``boxes`` ``[K, 4]``, ``batch_index`` ``[K]`` -> one tensor per level."""
        rois = torch.cat((batch_index.to(boxes.dtype).view(-1, 1), cxcywh_to_xyxy(boxes.detach())), dim=1)
        return ops.pyramid_roi_align(
            features, rois, self.levels, spatial_scale=1.0 / self.stride, sampling_ratio=2, aligned=True,
            backend=self.backend,
        )


def select(features: PyramidFeatures, index: torch.Tensor) -> PyramidFeatures:
    """Rows ``index`` of every level (e.g. the template feature of each proposal's pair)."""
    return tuple(level[index] for level in features)


def concatenate(parts: list[PyramidFeatures]) -> PyramidFeatures:
    """Stack the rows of several pyramid feature sets level by level."""
    return tuple(torch.cat(levels) for levels in zip(*parts, strict=True))
